//! Whose incidents they are: the tenant a database store is scoped to.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Invalid, Result};

/// The longest tenant name, in bytes: PostgreSQL's limit for an identifier, so a name can
/// also name a schema, a role or a partition if a host wants one per tenant.
pub const MAX_TENANT_LEN: usize = 63;

/// The shop (or any other owner) a database store's rows belong to.
///
/// A vendor that runs the crate for many shops on one database scopes each shop's store to
/// its tenant (`SqliteStore::tenant`, `PostgresStore::tenant`, features `sqlite` and
/// `postgres`); a desk on a scoped store sees, appends and catches up on that tenant's
/// incidents only. A single-shop host never names one: its store uses
/// [`Tenant::DEFAULT`].
///
/// A name is 1 to 63 bytes of ASCII letters, digits, `-`, `_` and `.`, starting with a
/// letter or a digit, and case-sensitive (`Shop-1` and `shop-1` are two tenants). Names
/// built from a vendor's own customer numbers (`shop-42`, `eu.cafe_7`) fit.
///
/// ```
/// use incidents::store::Tenant;
///
/// let shop: Tenant = "shop-42".parse()?;
/// assert_eq!(shop.as_str(), "shop-42");
/// assert!(Tenant::new("").is_err());
/// assert!(Tenant::new("shop 42").is_err());
/// assert!(Tenant::DEFAULT.is_default());
/// # Ok::<(), incidents::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Tenant(Name);

/// The stored name: empty only for the default tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
enum Name {
    #[default]
    Default,
    Named(Box<str>),
}

impl Tenant {
    /// The tenant of a store that was never scoped: every row of a single-shop database,
    /// and every row a database created before tenants existed holds. Stored as the empty
    /// name, which no named tenant can have.
    pub const DEFAULT: Tenant = Tenant(Name::Default);

    /// A named tenant.
    ///
    /// # Errors
    /// [`Error::Invalid`] (field `tenant`) if `name` is empty, longer than
    /// [`MAX_TENANT_LEN`] bytes, starts with something other than a letter or a digit, or
    /// holds a character other than ASCII letters, digits, `-`, `_` and `.` (the error
    /// names it).
    pub fn new(name: &str) -> Result<Tenant> {
        check(name).map_err(Error::Invalid)?;
        Ok(Tenant(Name::Named(name.into())))
    }

    /// The name as stored in the database: empty for [`Tenant::DEFAULT`].
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Name::Default => "",
            Name::Named(name) => name,
        }
    }

    /// Whether this is [`Tenant::DEFAULT`].
    pub fn is_default(&self) -> bool {
        matches!(self.0, Name::Default)
    }

    /// The tenant a stored name stands for: the empty name is [`Tenant::DEFAULT`].
    ///
    /// # Errors
    /// As [`Tenant::new`], for any other name that breaks the rules (a row this crate did
    /// not write).
    pub fn from_stored(name: &str) -> Result<Tenant> {
        if name.is_empty() {
            Ok(Tenant::DEFAULT)
        } else {
            Tenant::new(name)
        }
    }
}

fn check(name: &str) -> std::result::Result<(), Invalid> {
    let Some(first) = name.chars().next() else {
        return Err(Invalid::new("tenant", "must not be empty"));
    };
    if name.len() > MAX_TENANT_LEN {
        return Err(Invalid::new(
            "tenant",
            format!(
                "must be at most {MAX_TENANT_LEN} bytes long (it is {})",
                name.len()
            ),
        ));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(
            Invalid::new("tenant", "must start with an ASCII letter or digit")
                .with_code_point(first),
        );
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(Invalid::new(
            "tenant",
            "may hold only ASCII letters, digits, '-', '_' and '.'",
        )
        .with_code_point(bad));
    }
    Ok(())
}

impl FromStr for Tenant {
    type Err = Error;

    fn from_str(name: &str) -> Result<Tenant> {
        Tenant::new(name)
    }
}

impl fmt::Display for Tenant {
    /// The name; the default tenant shows as `(default)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Name::Default => f.write_str("(default)"),
            Name::Named(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field_and_char(name: &str) -> (&'static str, Option<char>) {
        match Tenant::new(name) {
            Err(Error::Invalid(i)) => (i.field, i.code_point),
            other => panic!("{name:?} was accepted: {other:?}"),
        }
    }

    #[test]
    fn names_that_fit() {
        for name in [
            "a",
            "shop-42",
            "eu.cafe_7",
            "9",
            &"x".repeat(MAX_TENANT_LEN),
        ] {
            let tenant = Tenant::new(name).unwrap();
            assert_eq!(tenant.as_str(), name);
            assert_eq!(tenant.to_string(), name);
            assert!(!tenant.is_default());
            assert_eq!(Tenant::from_stored(name).unwrap(), tenant);
        }
    }

    #[test]
    fn names_refused_with_the_reason() {
        assert_eq!(field_and_char(""), ("tenant", None));
        assert_eq!(field_and_char(&"x".repeat(64)), ("tenant", None));
        assert_eq!(field_and_char("-shop"), ("tenant", Some('-')));
        assert_eq!(field_and_char(".shop"), ("tenant", Some('.')));
        assert_eq!(field_and_char("shop 42"), ("tenant", Some(' ')));
        assert_eq!(field_and_char("shop/42"), ("tenant", Some('/')));
        assert_eq!(field_and_char("shöp"), ("tenant", Some('ö')));
        assert_eq!(field_and_char("shop'; DROP"), ("tenant", Some('\'')));
    }

    #[test]
    fn the_default_is_the_empty_stored_name() {
        assert_eq!(Tenant::DEFAULT.as_str(), "");
        assert!(Tenant::DEFAULT.is_default());
        assert_eq!(Tenant::default(), Tenant::DEFAULT);
        assert_eq!(Tenant::from_stored("").unwrap(), Tenant::DEFAULT);
        assert_eq!(Tenant::DEFAULT.to_string(), "(default)");
    }

    proptest! {
        /// A name is accepted exactly when it follows the rules, and then round-trips
        /// through its stored form.
        #[test]
        fn accepted_exactly_when_the_rules_hold(name in "[a-zA-Z0-9._ /-]{0,70}") {
            let ok = !name.is_empty()
                && name.len() <= MAX_TENANT_LEN
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            match Tenant::new(&name) {
                Ok(tenant) => {
                    prop_assert!(ok);
                    prop_assert_eq!(Tenant::from_stored(tenant.as_str()).unwrap(), tenant);
                }
                Err(Error::Invalid(i)) => {
                    prop_assert!(!ok);
                    prop_assert_eq!(i.field, "tenant");
                }
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }
}
