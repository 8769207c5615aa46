//! A client for Cognite Data Fusion, built from its documented REST
//! contract: OIDC client credentials, Files and Data sets, with the Python
//! SDK's retry policy; an [`ObjectStore`](object_store::ObjectStore) on CDF
//! Files for the registry; and the sink that writes predictions to CDF
//! Files.

mod client;
mod datasets;
mod error;
pub mod files;
mod sink;
mod store;

pub use client::{CdfClient, CdfConfig, Secret};
pub use datasets::{DataSet, DataSetSpec};
pub use error::{ApiError, CdfError};
pub use files::{FileFilter, FileInfo, FileRef, FileSpec};
pub use sink::CdfSink;
pub use store::{CdfStore, DEFAULT_DATA_SET, SIZE_KEY};

/// The prefix of the environment variables that configure the host's CDF
/// client (`MLOPS_CDF_BASE_URL`, `MLOPS_CDF_CLIENT_SECRET`, …).
pub const ENV_PREFIX: &str = "MLOPS_CDF_";

/// The variables [`CdfConfig::from_vars`] reads, after the prefix: the
/// connection and credentials first, then the optional `SCOPES` and
/// `AUDIENCE`.
pub const ENV_KEYS: &[&str] = &[
    "BASE_URL",
    "PROJECT",
    "TOKEN_URL",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "CLIENT_SECRET_FILE",
    "SCOPES",
    "AUDIENCE",
];
