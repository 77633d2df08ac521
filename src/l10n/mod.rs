//! Localized messages (feature `l10n`): catalogs in [Fluent] syntax, English and Hebrew
//! shipped; plural rules, dates, times and numbers from ICU4X's compiled CLDR data; every
//! inserted value isolated for right-to-left text; an SMS budget on every SMS.
//!
//! ```
//! use incidents::l10n::{Catalogs, IncidentFacts, Message};
//! use incidents::{IncidentId, Severity};
//!
//! let catalogs = Catalogs::builder().build()?;
//! let incident = IncidentFacts {
//!     id: IncidentId::from_bytes([7; 16]),
//!     title: "הקופה השנייה לא מקבלת אשראי",
//!     service: "קופות",
//!     severity: Severity::High,
//! };
//! let page = Message::Escalation { incident, step: 1, minutes: 20 };
//! let he = catalogs.render("he-IL", chrono_tz::Asia::Jerusalem, &page);
//! let sms = he.sms.unwrap();
//! assert!(sms.text.contains("ללא מענה כבר \u{2068}20\u{2069} דק׳"));
//! assert_eq!(sms.segments.segments, 1);
//! let en = catalogs.render("en", chrono_tz::Asia::Jerusalem, &page);
//! assert!(en.body.contains("for \u{2068}20\u{2069} minutes"));
//! # Ok::<(), incidents::l10n::L10nError>(())
//! ```
//!
//! # Messages and their values
//!
//! Each [`Message`] variant is one message of the catalogs, with the values it is given as
//! typed fields: a message cannot be rendered with a value missing, and
//! [`Catalogs::render`] cannot fail. A message's text lives in its attributes: `.subject`,
//! `.body` and, where a text message makes sense, `.sms` (each id's parts are listed in the
//! shipped `locales/en/incidents.ftl`). The variables a message may use, and how, are fixed
//! by its variant:
//!
//! - **text** (`$title`, `$service`, `$message`, …): inserted, isolated;
//! - **counts** (`$minutes`, `$days`, `$hours`, `$step`): inserted with the locale's digits
//!   and grouping, isolated; and the argument of `PLURAL`;
//! - **dates and times** (`$due`, `$since`, `$starts`, `$ends`, `$expires`): inserted in the
//!   shop's time zone, in the locale's words and order ([`Formats::date_time`]), isolated;
//! - **keywords** (`$severity`: `critical`, `high`, `medium`, `low`; `$target`:
//!   `acknowledge`, `resolve`, `customer-update`): only selectors, so each language words
//!   them itself.
//!
//! # Plural rules: `PLURAL($n)`
//!
//! `fluent-bundle` 0.16 chooses the variant of a numeric selector with its own, older plural
//! rules: for Hebrew it picks `many` for 20, 30 and 100, where current CLDR says `other`. So
//! counts never reach Fluent as numbers. A count is passed as a value that shows as its
//! formatted, isolated digits and carries its CLDR category, computed by ICU4X
//! (`icu_plurals`) for the locale; the function `PLURAL($n)` returns that category, and
//! variants are chosen by it:
//!
//! ```ftl
//! { PLURAL($minutes) ->
//!     [one] דקה אחת
//!     [two] שתי דקות
//!    *[other] { $minutes } דקות
//! }
//! ```
//!
//! A catalog that selects on a bare count (`{ $minutes -> … }`), on text, or on a number
//! literal is refused when it is loaded, as is a `PLURAL` variant key that is not a CLDR
//! category; no catalog can fall into fluent-bundle's rules.
//!
//! # Right-to-left text: isolation
//!
//! Every inserted value — text, counts, dates and times — is wrapped in FSI (U+2068) … PDI
//! (U+2069) by [`isolate`], line by line, after the bidirectional controls inside it are
//! balanced: whatever a title holds, it cannot reorder the message around it. Fluent's own
//! isolation is switched off (`set_use_isolating(false)`), so no value is wrapped twice. The
//! catalogs' own text may not hold embedding, override or isolate controls (refused at load).
//!
//! # SMS
//!
//! Every rendered SMS part carries its cost, [`SmsSegments`]. An SMS with no right-to-left
//! letter and otherwise all GSM-7 loses its isolation marks (they change nothing on screen
//! there, and would make it UCS-2: 70 characters to an SMS instead of 160). If the SMS
//! still takes more than one segment, its longest free text (the title, the update's text,
//! the maintenance's description) is shortened, ending in `...`, until it fits one. The
//! shipped SMS texts leave room for a 60-character title in English and most of one in
//! Hebrew.
//!
//! # HTML e-mail
//!
//! [`email_html`] makes a rendered message into a small HTML e-mail, and
//! [`sms_preview_html`] shows an SMS as one bubble, both with `lang` and `dir` from the
//! locale ([`direction`], from CLDR) on the root and every block, every piece of text
//! escaped, and each isolate as `<bdi>`. Pass [`Rendered::locale`], the language the text
//! is in. `notifiers::SmtpNotifier` (feature `smtp`) sends it beside the plain text
//! when built with `html_alternative(locale)`.
//!
//! # Locales, fallback and overrides
//!
//! [`Catalogs::render`] takes the recipient's BCP 47 tag (`he`, `he-IL`, `en-GB`): the
//! catalog of that exact tag, else of its language, else English. A message missing from
//! the chosen catalog is rendered from the English one, and a warning is logged once per
//! locale and message ([`Catalogs::fallbacks`] lists them). Hosts add locales and replace
//! messages through [`CatalogsBuilder`]; everything that could go wrong with a catalog is an
//! [`L10nError`] from [`CatalogsBuilder::build`], with file, line and column: a syntax
//! error, an unknown message id, a variable the message is not given or used the wrong way,
//! a reference to a message, term or function that does not exist.
//!
//! [Fluent]: https://projectfluent.org/

mod bidi;
mod builder;
mod catalogs;
mod check;
mod error;
mod format;
mod html;
mod message;
pub(crate) mod outbox;
mod sms;

pub use bidi::isolate;
pub use builder::CatalogsBuilder;
pub use catalogs::{Catalogs, Rendered, Sms};
pub use error::{L10nError, Problem};
pub use format::{Formats, Money, plural_category};
pub use html::{Direction, direction, email_html, sms_preview_html};
pub use message::{IncidentFacts, Message, MessageId, NoticeRecipient, UnknownMessageId};
pub use sms::{Encoding, SmsSegments, sms_segments};
