//! The `incidents` binary, run for real against copies of fixture stores.
