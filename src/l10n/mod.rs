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
//! - **dates and times** (`$due`, `$since`, `$starts`, `$expires`): inserted in the shop's
//!   time zone, in the locale's words and order ([`Formats::date_time`]), isolated;
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
mod check;
mod error;
mod format;
mod message;
mod sms;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::Mutex;

use chrono_tz::Tz;
use fluent_bundle::types::{AnyEq, FluentType};
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

pub use bidi::isolate;
pub use error::{L10nError, Problem};
pub use format::{Formats, Money, plural_category};
pub use message::{IncidentFacts, Message, MessageId, UnknownMessageId};
pub use sms::{Encoding, SmsSegments, sms_segments};

use message::Value;

type Bundle = fluent_bundle::concurrent::FluentBundle<FluentResource>;

const ENGLISH: &str = "en";
const SHIPPED: [(&str, &str, &str); 2] = [
    (
        ENGLISH,
        include_str!("../../locales/en/incidents.ftl"),
        "locales/en/incidents.ftl",
    ),
    (
        "he",
        include_str!("../../locales/he/incidents.ftl"),
        "locales/he/incidents.ftl",
    ),
];

/// Loaded, checked message catalogs, one per locale; English is always there.
///
/// Build them with [`Catalogs::builder`]; render with [`Catalogs::render`]. `Send + Sync`:
/// share one between threads.
pub struct Catalogs {
    /// English first.
    locales: Vec<Locale>,
    fallbacks: Mutex<BTreeSet<(String, MessageId)>>,
}

struct Locale {
    tag: String,
    formats: Formats,
    bundle: Bundle,
    defined: BTreeSet<MessageId>,
}

impl fmt::Debug for Catalogs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalogs")
            .field("locales", &self.locales())
            .finish_non_exhaustive()
    }
}

/// A message rendered for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rendered {
    /// The tag of the catalog the text came from: the recipient's, its language's, or `en`
    /// after a fallback.
    pub locale: String,
    /// The subject line (`None` for the unsubscribe footer, which is a body only).
    pub subject: Option<String>,
    /// The body.
    pub body: String,
    /// The SMS text and its cost, for the messages that have one.
    pub sms: Option<Sms>,
}

/// An SMS text and what it costs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sms {
    /// The text.
    pub text: String,
    /// Its encoding, length and segment count.
    pub segments: SmsSegments,
}

/// Collects catalogs and overrides; [`build`](CatalogsBuilder::build) checks them all.
///
/// ```
/// use incidents::l10n::Catalogs;
///
/// let catalogs = Catalogs::builder()
///     .override_messages(
///         "en",
///         "unsubscribe-footer =\n    .body = No more mail from the bakery: { $link }\n",
///         "bakery-en.ftl",
///     )
///     .build()?;
/// let footer = catalogs.render(
///     "en",
///     chrono_tz::UTC,
///     &incidents::l10n::Message::UnsubscribeFooter { link: "https://x.test/u/1" },
/// );
/// assert_eq!(footer.body, "No more mail from the bakery: \u{2068}https://x.test/u/1\u{2069}");
/// # Ok::<(), incidents::l10n::L10nError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CatalogsBuilder {
    locales: Vec<Added>,
    overrides: Vec<Added>,
}

#[derive(Debug, Clone)]
struct Added {
    tag: String,
    text: Cow<'static, str>,
    name: Cow<'static, str>,
}

impl Catalogs {
    /// A builder holding the shipped English and Hebrew catalogs.
    pub fn builder() -> CatalogsBuilder {
        CatalogsBuilder {
            locales: SHIPPED
                .iter()
                .map(|&(tag, text, name)| Added {
                    tag: tag.into(),
                    text: Cow::Borrowed(text),
                    name: Cow::Borrowed(name),
                })
                .collect(),
            overrides: Vec::new(),
        }
    }

    /// The tags of the loaded catalogs, English first.
    ///
    /// ```
    /// let catalogs = incidents::l10n::Catalogs::builder().build()?;
    /// assert_eq!(catalogs.locales(), ["en", "he"]);
    /// # Ok::<(), incidents::l10n::L10nError>(())
    /// ```
    pub fn locales(&self) -> Vec<&str> {
        self.locales.iter().map(|l| l.tag.as_str()).collect()
    }

    /// The formatters of the catalog [`render`](Catalogs::render) would pick for `locale`.
    ///
    /// ```
    /// let catalogs = incidents::l10n::Catalogs::builder().build()?;
    /// assert_eq!(catalogs.formats("he-IL").integer(12_345), "12,345");
    /// # Ok::<(), incidents::l10n::L10nError>(())
    /// ```
    pub fn formats(&self, locale: &str) -> &Formats {
        &self.pick(locale).formats
    }

    /// The (locale, message) pairs that fell back to English so far, each logged once.
    ///
    /// ```
    /// use incidents::l10n::{Catalogs, Message, MessageId};
    ///
    /// let catalogs = Catalogs::builder().build()?;
    /// catalogs.render("ru", chrono_tz::UTC, &Message::UnsubscribeFooter { link: "x" });
    /// assert_eq!(catalogs.fallbacks(), [("ru".to_string(), MessageId::UnsubscribeFooter)]);
    /// # Ok::<(), incidents::l10n::L10nError>(())
    /// ```
    pub fn fallbacks(&self) -> Vec<(String, MessageId)> {
        self.fallbacks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    fn pick(&self, locale: &str) -> &Locale {
        self.find(locale).unwrap_or(&self.locales[0])
    }

    /// The catalog of `locale`, else of its language.
    fn find(&self, locale: &str) -> Option<&Locale> {
        let language = locale.split(['-', '_']).next().unwrap_or(locale);
        self.locales
            .iter()
            .find(|l| l.tag.eq_ignore_ascii_case(locale))
            .or_else(|| {
                self.locales
                    .iter()
                    .find(|l| l.tag.eq_ignore_ascii_case(language))
            })
    }

    /// `message` for a recipient who reads `locale` (a BCP 47 tag), its dates and times in
    /// the shop's time zone `zone`.
    ///
    /// The catalog is that of `locale`, else of its language; a message it lacks, or a locale
    /// without a catalog, falls back to English, logged once per locale and message (see
    /// [`Catalogs::fallbacks`]).
    pub fn render(&self, locale: &str, zone: Tz, message: &Message<'_>) -> Rendered {
        let id = message.id();
        let catalog = match self.find(locale) {
            Some(c) if c.defined.contains(&id) => c,
            // No catalog for the locale, or one without this message.
            _ => {
                let english = &self.locales[0];
                if !english.tag.eq_ignore_ascii_case(locale) {
                    let mut logged = self
                        .fallbacks
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if logged.insert((locale.to_string(), id)) {
                        log::warn!(
                            "l10n: no `{id}` message for locale `{locale}`; it falls back to English"
                        );
                    }
                }
                english
            }
        };
        let mut id_text = String::new();
        let values = message.values(&mut id_text);
        let args = catalog.args(&values, zone, None);
        let subject = catalog.part(id, "subject", &args);
        let body = catalog.part(id, "body", &args).unwrap_or_default();
        let sms = catalog.sms(id, &values, zone, &args);
        Rendered {
            locale: catalog.tag.clone(),
            subject,
            body,
            sms,
        }
    }
}

/// A count as Fluent sees it: shown as its formatted, isolated digits; `PLURAL` reads its
/// CLDR category.
#[derive(Debug, Clone, PartialEq)]
struct Count {
    shown: String,
    category: &'static str,
}

impl FluentType for Count {
    fn duplicate(&self) -> Box<dyn FluentType + Send> {
        Box::new(self.clone())
    }

    fn as_string(&self, _: &intl_memoizer::IntlLangMemoizer) -> Cow<'static, str> {
        Cow::Owned(self.shown.clone())
    }

    fn as_string_threadsafe(
        &self,
        _: &intl_memoizer::concurrent::IntlLangMemoizer,
    ) -> Cow<'static, str> {
        Cow::Owned(self.shown.clone())
    }
}

/// `PLURAL($n)`: the CLDR category of a count.
fn plural<'a>(positional: &[FluentValue<'a>], _: &FluentArgs<'_>) -> FluentValue<'a> {
    match positional {
        // `as_any` on the trait object, not on its `Box` (which is `Any` too).
        [FluentValue::Custom(value)] => AnyEq::as_any(value.as_ref())
            .downcast_ref::<Count>()
            .map_or(FluentValue::Error, |c| {
                FluentValue::String(Cow::Borrowed(c.category))
            }),
        _ => FluentValue::Error,
    }
}

impl Locale {
    /// The Fluent arguments: every value formatted and isolated, keywords bare. `shorten`
    /// replaces one text value (for an SMS that must fit).
    fn args<'a>(
        &self,
        values: &[(&'static str, Value<'a>)],
        zone: Tz,
        shorten: Option<(&str, &'a str)>,
    ) -> FluentArgs<'a> {
        let mut args = FluentArgs::with_capacity(values.len());
        for &(name, value) in values {
            let v = match value {
                Value::Text(t) => {
                    let t = match shorten {
                        Some((n, short)) if n == name => short,
                        _ => t,
                    };
                    FluentValue::String(Cow::Owned(isolate(t)))
                }
                Value::Count(n) => FluentValue::Custom(Box::new(Count {
                    shown: isolate(&self.formats.integer(i64::try_from(n).unwrap_or(i64::MAX))),
                    category: plural_category(&self.formats, n),
                })),
                Value::Time(at) => {
                    FluentValue::String(Cow::Owned(isolate(&self.formats.date_time(at, zone))))
                }
                Value::Keyword(k) => FluentValue::String(Cow::Borrowed(k)),
            };
            args.set(name, v);
        }
        args
    }

    /// One part of a message; `None` if the message has no such part.
    fn part(&self, id: MessageId, part: &str, args: &FluentArgs<'_>) -> Option<String> {
        let message = self.bundle.get_message(id.as_str())?;
        let pattern = message.get_attribute(part)?.value();
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, Some(args), &mut errors);
        if !errors.is_empty() {
            // The load-time checks rule these out; say so loudly if one slips through.
            log::error!(
                "l10n: `{id}.{part}` in `{}` rendered with errors: {errors:?}",
                self.tag
            );
        }
        Some(text.into_owned())
    }

    /// The SMS part, shortened to one segment if it has a text to shorten.
    fn sms(
        &self,
        id: MessageId,
        values: &[(&'static str, Value<'_>)],
        zone: Tz,
        args: &FluentArgs<'_>,
    ) -> Option<Sms> {
        let finish = |text: String| {
            let text = crate::notifiers::sms::drop_isolates_if_gsm7(&text).into_owned();
            let segments = sms_segments(&text);
            Sms { text, segments }
        };
        let sms = finish(self.part(id, "sms", args)?);
        if sms.segments.is_single() {
            return Some(sms);
        }
        let Some((name, Value::Text(long))) = id
            .shortened_in_sms()
            .and_then(|n| values.iter().find(|(v, _)| *v == n).copied())
        else {
            return Some(sms);
        };
        let mut keep = long.chars().count();
        let mut best = sms;
        while keep > 0 && !best.segments.is_single() {
            let over = best
                .segments
                .chars
                .saturating_sub(best.segments.encoding.single());
            keep = keep.saturating_sub(over.max(1));
            let cut: String = long.chars().take(keep).collect();
            let short = format!("{}{}", cut.trim_end(), crate::notifiers::sms::ELLIPSIS);
            let args = self.args(values, zone, Some((name, short.as_str())));
            match self.part(id, "sms", &args) {
                Some(text) => best = finish(text),
                None => break,
            }
        }
        Some(best)
    }
}

impl CatalogsBuilder {
    /// Adds the catalog `ftl_source` for the locale `tag` (a BCP 47 tag: `ar`, `ru`,
    /// `fr-CA`), named `name` in errors. It need not have every message: those it lacks fall
    /// back to English.
    ///
    /// ```
    /// use incidents::l10n::{Catalogs, Message};
    ///
    /// let ru = "unsubscribe-footer =\n    .body = Отписаться: { $link }\n";
    /// let catalogs = Catalogs::builder().add_locale("ru", ru, "ru.ftl").build()?;
    /// let footer = catalogs.render("ru-RU", chrono_tz::UTC, &Message::UnsubscribeFooter { link: "x" });
    /// assert_eq!(footer.body, "Отписаться: \u{2068}x\u{2069}");
    /// # Ok::<(), incidents::l10n::L10nError>(())
    /// ```
    #[must_use]
    pub fn add_locale(
        mut self,
        tag: &str,
        ftl_source: impl Into<String>,
        name: impl Into<String>,
    ) -> CatalogsBuilder {
        self.locales.push(Added {
            tag: tag.to_string(),
            text: Cow::Owned(ftl_source.into()),
            name: Cow::Owned(name.into()),
        });
        self
    }

    /// Replaces messages of the locale `tag` (shipped or added) by those in `ftl_source`,
    /// named `name` in errors: each message there replaces the whole message (all its
    /// parts) of the same id, and must be one the crate sends. Terms may be added or
    /// replaced too. Later overrides win.
    #[must_use]
    pub fn override_messages(
        mut self,
        tag: &str,
        ftl_source: impl Into<String>,
        name: impl Into<String>,
    ) -> CatalogsBuilder {
        self.overrides.push(Added {
            tag: tag.to_string(),
            text: Cow::Owned(ftl_source.into()),
            name: Cow::Owned(name.into()),
        });
        self
    }

    /// Checks every catalog and override and loads them.
    ///
    /// # Errors
    /// The first problem found, with the file's name, line and column: see [`Problem`].
    pub fn build(self) -> Result<Catalogs, L10nError> {
        let whole_file = |added: &Added, what| L10nError::at(&added.name, &added.text, 0, what);
        let mut tags = HashSet::new();
        for added in &self.locales {
            if !tags.insert(added.tag.to_ascii_lowercase()) {
                return Err(whole_file(
                    added,
                    Problem::Locale(format!(
                        "a catalog for `{}` is loaded already: use override_messages",
                        added.tag
                    )),
                ));
            }
        }
        if let Some(stray) = self
            .overrides
            .iter()
            .find(|o| !tags.contains(&o.tag.to_ascii_lowercase()))
        {
            return Err(whole_file(
                stray,
                Problem::Locale(format!("no catalog for `{}` to override", stray.tag)),
            ));
        }
        let mut locales = Vec::with_capacity(self.locales.len());
        for added in &self.locales {
            let overrides: Vec<&Added> = self
                .overrides
                .iter()
                .filter(|o| o.tag.eq_ignore_ascii_case(&added.tag))
                .collect();
            locales.push(load(added, &overrides)?);
        }
        let english = locales.iter().position(|l| l.tag == ENGLISH);
        match english {
            Some(0) => {}
            Some(i) => locales.swap(0, i),
            None => {
                return Err(L10nError::at(
                    "",
                    "",
                    0,
                    Problem::Locale("no English catalog".into()),
                ));
            }
        }
        if let Some(missing) = MessageId::ALL
            .into_iter()
            .find(|id| !locales[0].defined.contains(id))
        {
            let added = self.locales.iter().find(|a| a.tag == ENGLISH);
            return Err(match added {
                Some(a) => whole_file(a, Problem::MissingInEnglish(missing.as_str().into())),
                None => L10nError::at(
                    "",
                    "",
                    0,
                    Problem::MissingInEnglish(missing.as_str().into()),
                ),
            });
        }
        Ok(Catalogs {
            locales,
            fallbacks: Mutex::new(BTreeSet::new()),
        })
    }
}

/// Checks and loads one locale's catalog and overrides.
fn load(added: &Added, overrides: &[&Added]) -> Result<Locale, L10nError> {
    let sources: Vec<check::Source<'_>> = std::iter::once(added)
        .chain(overrides.iter().copied())
        .map(|a| check::Source {
            name: &a.name,
            text: &a.text,
        })
        .collect();
    let defined = check::check(&sources)?;
    let formats = Formats::new(&added.tag).ok_or_else(|| {
        L10nError::at(
            &added.name,
            &added.text,
            0,
            Problem::BadLocale(added.tag.clone()),
        )
    })?;
    let mut bundle = Bundle::new_concurrent(Vec::new());
    bundle.set_use_isolating(false);
    let internal =
        |a: &Added, what: String| L10nError::at(&a.name, &a.text, 0, Problem::Syntax(what));
    bundle
        .add_function("PLURAL", plural)
        .map_err(|e| internal(added, e.to_string()))?;
    for (i, a) in std::iter::once(added)
        .chain(overrides.iter().copied())
        .enumerate()
    {
        let resource = FluentResource::try_new(a.text.to_string())
            .map_err(|(_, errors)| internal(a, format!("{errors:?}")))?;
        if i == 0 {
            bundle
                .add_resource(resource)
                .map_err(|errors| internal(a, format!("{errors:?}")))?;
        } else {
            bundle.add_resource_overriding(resource);
        }
    }
    let locale = Locale {
        tag: added.tag.clone(),
        formats,
        bundle,
        defined,
    };
    locale.try_every_message().map_err(|(id, what)| {
        L10nError::at(
            &added.name,
            &added.text,
            0,
            Problem::Render {
                message: id.as_str().into(),
                what,
            },
        )
    })?;
    Ok(locale)
}

impl Locale {
    /// Renders every part of every message with sample values — each count category and
    /// each keyword's keys — so that what the static checks cannot see (a reference cycle)
    /// fails here, at load, and never at send time.
    fn try_every_message(&self) -> Result<(), (MessageId, String)> {
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        for &id in &self.defined {
            let vars = id.variables();
            // Every combination of keywords' keys: at most 4 × 3 here.
            let combinations: usize = vars
                .iter()
                .map(|(_, kind)| match kind {
                    message::Kind::Keyword(keys) => keys.len(),
                    _ => 1,
                })
                .product();
            for n in [0, 1, 2, 3, 5, 11, 20, 100, 1_000_001] {
                for mut combination in 0..combinations {
                    let values: Vec<(&'static str, Value<'_>)> = vars
                        .iter()
                        .map(|&(name, kind)| {
                            let value = match kind {
                                message::Kind::Text => Value::Text("x"),
                                message::Kind::Count => Value::Count(n),
                                message::Kind::Time => Value::Time(at),
                                message::Kind::Keyword(keys) => {
                                    let key = keys[combination % keys.len()];
                                    combination /= keys.len();
                                    Value::Keyword(key)
                                }
                            };
                            (name, value)
                        })
                        .collect();
                    let args = self.args(&values, Tz::UTC, None);
                    for part in id.parts() {
                        let Some(message) = self.bundle.get_message(id.as_str()) else {
                            return Err((id, "missing".into()));
                        };
                        let Some(pattern) = message.get_attribute(part.name()).map(|a| a.value())
                        else {
                            return Err((id, format!("no `.{}`", part.name())));
                        };
                        let mut errors = Vec::new();
                        self.bundle
                            .format_pattern(pattern, Some(&args), &mut errors);
                        if let Some(e) = errors.first() {
                            return Err((id, format!("`.{}`: {e}", part.name())));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn catalogs_are_send_and_sync() {
        send_sync::<Catalogs>();
    }

    #[test]
    fn shipped_catalogs_load_and_balance() {
        let catalogs = Catalogs::builder().build().unwrap();
        let facts = IncidentFacts {
            id: crate::IncidentId::from_bytes([7; 16]),
            title: "\u{202E}evil\u{2066} title",
            service: "shop",
            severity: crate::Severity::Critical,
        };
        for message in message::tests::samples(facts) {
            for tag in ["en", "he"] {
                let r = catalogs.render(tag, chrono_tz::Asia::Jerusalem, &message);
                for text in [r.subject.clone().unwrap_or_default(), r.body.clone()]
                    .into_iter()
                    .chain(r.sms.map(|s| s.text))
                {
                    assert!(bidi::is_balanced(&text), "{tag} {}: {text:?}", message.id());
                }
            }
        }
    }
}
