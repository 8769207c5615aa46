//! The HTTP layer over the serving core (`mlops-core`): routes (in
//! [`ROUTES`], described in `openapi.yaml` at the repository root), bearer
//! tokens, the Open Inference Protocol, Prometheus metrics, health, and
//! the accept loop.
//!
//! - `POST /services/<external-id>/call` with `{"data": …, "to_file": bool}`
//!   answers with the seed's envelope
//!   `{"status":"ok","prediction":…,"prediction_file":…,"model_id":…}` or
//!   `{"status":"error","message":…,"model_id":…}`; a training service
//!   answers `{"status":"ok","training":{…}}`;
//! - listing, metadata, deploy, delete and redeploy (rollback) of services;
//! - the Open Inference Protocol v2 (`/v2/…`) for KServe and Triton clients;
//! - `GET /healthz`, `GET /readyz`, `GET /metrics` (Prometheus), `GET /stats`
//!   (the last minutes of every service, in buckets);
//! - the dashboard (`/ui`), on a listener of its own ([`App::dashboard`]).
//!
//! [`App`] handles requests without a socket (tests call it directly);
//! [`serve`] puts it behind hyper. Every failure becomes a status and a
//! body in one place (`error.rs`).

mod app;
mod auth;
mod body;
mod error;
mod metrics;
mod oip;
mod recent;
mod routes;
mod serve;
mod ui;

pub use app::{App, AppOptions, BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT};
pub use auth::{Access, Auth};
pub use error::status_of;
pub use oip::decode as decode_infer_request;
pub use routes::{Endpoint, ROUTES};
pub use serve::{serve, shutdown_signal};
