//! Serves deployed models over HTTP.
//!
//! - `POST /services/<external-id>/call` with `{"data": …, "to_file": bool}`
//!   answers with the seed's envelope
//!   `{"status":"ok","prediction":…,"prediction_file":…,"model_id":…}` or
//!   `{"status":"error","message":…,"model_id":…}`;
//! - `GET /services`, `GET /services/<external-id>`: what is deployed;
//! - `GET /healthz` (the process is up), `GET /readyz` (every service loaded).
//!
//! [`App`] holds the state and handles requests without a socket (tests call
//! it directly); [`serve`] puts it behind hyper.

pub mod app;
pub mod codec;
pub mod fixtures;
pub mod loader;
pub mod serve;

pub use app::{App, CallOutcome, LoadReport, invoke};
pub use loader::{Loader, SecretResolver, Service};
pub use serve::{serve, shutdown_signal};
