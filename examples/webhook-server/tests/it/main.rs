//! The webhook server's tests, as one binary (one link): the HTTP answers on virtual time
//! (`http`), and a real Alertmanager posting to the server (`alertmanager_live`, skipped
//! where Alertmanager is not installed).

mod alertmanager_live;
mod client;
mod http;
