//! Integration tests, as one binary to keep link time down.

mod conformance;
mod desk;
mod file_crash;
mod file_store;
mod intake;
mod lifecycle_table;
#[cfg(any(feature = "smtp", feature = "http"))]
mod notifiers;
mod one_incident;
mod people;
mod props;
mod report;
mod runner;
mod scenarios;
mod seed_story;
mod sql;
mod support;
mod time;
mod timer_props;
mod webhook_http;
