//! The serving core: everything a host does with its services, without
//! HTTP. The HTTP layer (`mlops-http`), the CLI and the benchmark all go
//! through it:
//!
//! - [`Host`]: the live service table, kept in step with the store (a sync
//!   on demand, or a watch of the store's change marker), read through
//!   shared snapshots;
//! - [`Host::call`]: the call path, one lookup then one function from the
//!   request envelope to the response envelope (a prediction, or for a
//!   training service a new artifact version);
//! - [`deploy`], [`redeploy`], [`delete`]: the one way to publish, roll
//!   back and remove a service, pruning included;
//! - [`fixtures`]: a model's test fixtures, run through the same call path;
//! - [`codec`]: the request's `data` to the model's input, its output to
//!   the response's `prediction`;
//! - [`Error`]: everything a call or an admin action can fail with. Turning
//!   it into a status code is the HTTP layer's job (one function there).
//!
//! Where `to_file` predictions go besides the store is a
//! [`PredictionSink`], injected by the caller (the CLI gives CDF's).

mod call;
pub mod codec;
mod deploy;
mod envelope;
mod error;
pub mod fixtures;
mod host;
mod service;
mod sink;

pub use call::{CallTimes, Files};
pub use deploy::{DeployPlan, Deployed, delete, deploy, redeploy};
pub use envelope::error_envelope;
pub use error::Error;
pub use host::{Entry, Host, LoadReport, Readiness, SyncCounts, Table, WatchOptions};
pub use service::{Loader, SecretResolver, Service};
pub use sink::{PredictionFile, PredictionSink, SinkError};
