//! Loaded catalogs and rendering.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Mutex;

use chrono_tz::Tz;
use fluent_bundle::types::{AnyEq, FluentType};
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use super::format::{Formats, plural_category};
use super::isolate;
use super::message::{Message, MessageId, Value};
use super::sms::{SmsSegments, sms_segments};

pub(super) type Bundle = fluent_bundle::concurrent::FluentBundle<FluentResource>;

/// Loaded, checked message catalogs, one per locale; English is always there.
///
/// Build them with [`Catalogs::builder`]; render with [`Catalogs::render`]. `Send + Sync`:
/// share one between threads.
pub struct Catalogs {
    /// English first.
    pub(super) locales: Vec<Locale>,
    pub(super) fallbacks: Mutex<BTreeSet<(String, MessageId)>>,
}

pub(super) struct Locale {
    pub(super) tag: String,
    pub(super) formats: Formats,
    pub(super) bundle: Bundle,
    pub(super) defined: BTreeSet<MessageId>,
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

impl Catalogs {
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
pub(super) fn plural<'a>(positional: &[FluentValue<'a>], _: &FluentArgs<'_>) -> FluentValue<'a> {
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
    pub(super) fn args<'a>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l10n::bidi;
    use crate::l10n::message::{self, IncidentFacts};

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
