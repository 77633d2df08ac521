//! `webhook-server [--data-dir DIR] [--listen ADDR]`: the HTTP intake of the library beside
//! this file, over a `FileStore` in `DIR` (default `./incident-data`), listening on `ADDR`
//! (default `127.0.0.1:8080`). See the library's documentation for the routes and answers.

use std::sync::Arc;

use incidents::webhooks::AlertmanagerMapping;
use incidents::{Desk, FileStore, SystemClock};
use incidents_webhook_server::{Intake, router, run_timers};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut data_dir = "./incident-data".to_string();
    let mut listen = "127.0.0.1:8080".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--data-dir", Some(v)) => data_dir = v,
            ("--listen", Some(v)) => listen = v,
            _ => return Err("usage: webhook-server [--data-dir DIR] [--listen ADDR]".into()),
        }
    }
    let store = FileStore::open(&data_dir)?;
    println!(
        "store {data_dir}: {} incidents, {} events",
        store.open_report().incidents,
        store.open_report().events
    );
    let intake = Arc::new(Intake {
        desk: Arc::new(Desk::new(store, SystemClock)?),
        mapping: AlertmanagerMapping::default(),
    });
    tokio::spawn(run_timers(Arc::clone(&intake.desk)));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router(intake)).await?;
    Ok(())
}
