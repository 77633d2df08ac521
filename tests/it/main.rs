//! Integration tests, as one binary to keep link time down.

mod checkpoint;
mod checkpoint_close;
mod checkpoint_hostile;
mod concurrent_intake;
mod conformance;
mod desk;
mod file_crash;
mod file_ops;
mod file_store;
mod groups;
mod heartbeats;
mod intake;
mod lifecycle_table;
#[cfg(any(feature = "smtp", feature = "http"))]
mod notifiers;
mod one_incident;
mod people;
mod props;
mod quiet;
mod report;
mod runner;
mod scenarios;
mod schema;
mod seed_story;
mod shop_hours;
mod snapshots;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_snapshots;
mod support;
mod tenants;
mod text_rules;
mod time;
mod timer_props;
