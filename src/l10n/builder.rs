//! Collecting, checking and loading catalogs.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use chrono_tz::Tz;
use fluent_bundle::FluentResource;

use super::Catalogs;
use super::catalogs::{Bundle, Locale, plural};
use super::check;
use super::error::{L10nError, Problem};
use super::format::Formats;
use super::message::{self, MessageId, Value};

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
