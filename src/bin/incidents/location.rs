//! Where the store is (`--store LOCATION`), and opening it.

use std::path::{Path, PathBuf};

use incidents::Store;
use incidents::store::{FileStore, Tenant};

use crate::failure::Failure;

/// A store location as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory: a `FileStore`.
    Dir(PathBuf),
    /// `sqlite:PATH`: a `SqliteStore` (only with the `sqlite` feature), scoped to a tenant.
    Sqlite(PathBuf, Tenant),
    /// `postgres://…` or `postgresql://…`: a `PostgresStore` (only with the `postgres`
    /// feature), scoped to a tenant.
    Postgres(String, Tenant),
}

/// How a command means to use the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads: a directory is opened read-only (no lock, nothing written).
    Read,
    /// Reads, but takes the store as its writer would (lock, torn-tail cut): `--read-write`.
    ReadWrite,
    /// Writes (import); a missing directory or database is created.
    Write,
}

/// An open store.
pub enum Opened {
    /// A store directory.
    File(Box<FileStore>),
    /// A database.
    Other(Box<dyn Store>),
}

impl Opened {
    /// The store, for a desk or for export and import.
    pub fn into_store(self) -> Box<dyn Store> {
        match self {
            Opened::File(store) => store,
            Opened::Other(store) => store,
        }
    }
}

impl Location {
    /// Reads a `--store` value.
    pub fn parse(text: &str) -> Location {
        if let Some(path) = text.strip_prefix("sqlite:") {
            Location::Sqlite(PathBuf::from(path), Tenant::DEFAULT)
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Postgres(text.to_string(), Tenant::DEFAULT)
        } else {
            Location::Dir(PathBuf::from(text))
        }
    }

    /// The location scoped to `tenant` (`--tenant`): a database's handle on that shop's rows.
    /// A store directory holds one shop, so a tenant there is a usage error.
    pub fn scoped(self, tenant: Option<Tenant>) -> Result<Location, Failure> {
        let Some(tenant) = tenant else {
            return Ok(self);
        };
        match self {
            Location::Dir(dir) => Err(Failure::Usage(format!(
                "--tenant {tenant} needs a database (sqlite:PATH or a postgres:// URL): the \
                 store directory {} holds one shop",
                dir.display()
            ))),
            Location::Sqlite(path, _) => Ok(Location::Sqlite(path, tenant)),
            Location::Postgres(url, _) => Ok(Location::Postgres(url, tenant)),
        }
    }

    /// The directory, for the commands that work on a store directory only (`verify`,
    /// `repair`, `backup`).
    pub fn dir(&self, command: &str) -> Result<&Path, Failure> {
        match self {
            Location::Dir(dir) => Ok(dir),
            Location::Sqlite(..) | Location::Postgres(..) => Err(Failure::Usage(format!(
                "`{command}` works on a store directory only; for a database use `export`, or \
                 the database's own backup tools"
            ))),
        }
    }

    /// Opens the store for `access`.
    pub fn open(&self, access: Access) -> Result<Opened, Failure> {
        match self {
            Location::Dir(dir) => {
                let store = match access {
                    Access::Read => FileStore::open_read_only(dir)?,
                    Access::ReadWrite => {
                        must_exist(dir, "open store directory")?;
                        FileStore::open(dir)?
                    }
                    Access::Write => FileStore::open(dir)?,
                };
                Ok(Opened::File(Box::new(store)))
            }
            Location::Sqlite(path, tenant) => {
                if access != Access::Write {
                    must_exist(path, "open SQLite database")?;
                }
                open_sqlite(path, tenant)
            }
            Location::Postgres(url, tenant) => open_postgres(url, tenant),
        }
    }
}

/// Refuses a location that does not exist, so that a reading command never creates a store
/// because of a typing mistake.
fn must_exist(path: &Path, what: &'static str) -> Result<(), Failure> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(()),
        Err(source) => Err(Failure::Io {
            what,
            path: Some(path.to_path_buf()),
            source,
        }),
    }
}

/// Opens (or creates) the SQLite database at `path`, scoped to `tenant`.
#[cfg(feature = "sqlite")]
fn open_sqlite(path: &Path, tenant: &Tenant) -> Result<Opened, Failure> {
    Ok(Opened::Other(Box::new(
        incidents::store::SqliteStore::open(path)?.tenant(tenant.clone()),
    )))
}

/// Says that this build has no SQLite support.
#[cfg(not(feature = "sqlite"))]
fn open_sqlite(path: &Path, _: &Tenant) -> Result<Opened, Failure> {
    Err(Failure::Usage(format!(
        "sqlite:{} needs SQLite support, which this build does not have; rebuild with \
         `--features cli,sqlite`",
        path.display()
    )))
}

/// Connects to the PostgreSQL database at `url`, scoped to `tenant`.
#[cfg(feature = "postgres")]
fn open_postgres(url: &str, tenant: &Tenant) -> Result<Opened, Failure> {
    Ok(Opened::Other(Box::new(
        incidents::store::PostgresStore::connect(url)?.tenant(tenant.clone()),
    )))
}

/// Says that this build has no PostgreSQL support.
#[cfg(not(feature = "postgres"))]
fn open_postgres(_url: &str, _: &Tenant) -> Result<Opened, Failure> {
    Err(Failure::Usage(
        "a postgres:// store needs PostgreSQL support, which this build does not have; \
         rebuild with `--features cli,postgres`"
            .to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_by_prefix() {
        assert_eq!(
            Location::parse("./data"),
            Location::Dir(PathBuf::from("./data"))
        );
        assert_eq!(
            Location::parse("sqlite:/var/lib/shop.db"),
            Location::Sqlite(PathBuf::from("/var/lib/shop.db"), Tenant::DEFAULT)
        );
        for url in ["postgres://shop@db/shop", "postgresql://db/shop"] {
            assert_eq!(
                Location::parse(url),
                Location::Postgres(url.to_string(), Tenant::DEFAULT)
            );
        }
    }

    #[test]
    fn a_tenant_scopes_a_database_and_is_refused_for_a_directory() {
        let shop = Tenant::new("shop-42").unwrap();
        assert_eq!(
            Location::parse("sqlite:x.db")
                .scoped(Some(shop.clone()))
                .unwrap(),
            Location::Sqlite(PathBuf::from("x.db"), shop.clone())
        );
        assert_eq!(
            Location::parse("postgres://db/pos")
                .scoped(Some(shop.clone()))
                .unwrap(),
            Location::Postgres("postgres://db/pos".to_string(), shop.clone())
        );
        assert!(matches!(
            Location::parse("./data").scoped(Some(shop)),
            Err(Failure::Usage(message)) if message.contains("holds one shop")
        ));
        assert_eq!(
            Location::parse("./data").scoped(None).unwrap(),
            Location::Dir(PathBuf::from("./data"))
        );
    }
}
