//! Serves deployed models over HTTP (routes in [`routes::ROUTES`], described
//! in `openapi.yaml` at the repository root):
//!
//! - `POST /services/<external-id>/call` with `{"data": …, "to_file": bool}`
//!   answers with the seed's envelope
//!   `{"status":"ok","prediction":…,"prediction_file":…,"model_id":…}` or
//!   `{"status":"error","message":…,"model_id":…}`; a training service
//!   answers `{"status":"ok","training":{…}}`;
//! - listing, metadata, deploy, delete and redeploy (rollback) of services;
//! - the Open Inference Protocol v2 (`/v2/…`) for KServe and Triton clients;
//! - `GET /healthz`, `GET /readyz`, `GET /metrics` (Prometheus).
//!
//! [`App`] holds the state and handles requests without a socket (tests call
//! it directly); [`serve`] puts it behind hyper.

pub mod app;
pub mod auth;
pub mod call;
pub mod codec;
pub mod fixtures;
pub mod loader;
pub mod metrics;
pub mod oip;
pub mod routes;
pub mod serve;

pub use app::{App, AppOptions, LoadReport, WatchOptions};
pub use auth::Auth;
pub use call::{CallOutcome, Files, invoke};
pub use loader::{Loader, SecretResolver, Service};
pub use serve::{serve, shutdown_signal};
