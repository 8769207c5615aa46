//! The Model Manager: artifact versions per model and environment, and the
//! records of deployed services, on any object store.
//!
//! Layout (one store holds everything):
//!
//! ```text
//! blobs/<blake3-hex>                     immutable bytes: artifact files, components
//! models/<model>/<env>/<version>.json    artifact manifest (files, metadata, provenance)
//! services/<external-id>.json            service record (component, model id, limits…)
//! predictions/<model>/<env>/<id>.json    predictions written on request (`to_file`)
//! changes/services                       rewritten after every change to services/
//! ```
//!
//! Hosts watch `changes/services` with one HEAD per tick and list
//! `services/` only when it changed (or, as a safety net, now and then).
//!
//! Versions:
//! - a version is claimed by creating its manifest with a conditional put
//!   (`PutMode::Create`) after all its blobs are written: concurrent
//!   uploaders get distinct, gap-free numbers and nothing is visible before
//!   it is complete;
//! - "latest" is the highest live number, not the newest upload;
//! - promotion (dev → test → prod) **keeps the number**: `well_log/dev/7`
//!   becomes `well_log/test/7`, a manifest pointing at the same blobs (no
//!   byte is copied) that records where it came from. A pinned
//!   `artifact_version` therefore names the same artifact in every env. If
//!   the target number is taken by something else, the promotion is refused;
//! - a deleted version leaves a tombstone, so its number is never reused;
//!   its blobs go when `gc` finds nothing else refers to them.
//!
//! Every blob is checked against its blake3 name when read.
//!
//! The registry takes the object store it is given ([`Registry::new`]):
//! which one, and its credentials, is the caller's choice (the CLI reads
//! them from the environment); [`Registry::memory`] and [`Registry::local`]
//! are the two that need no configuration.

mod blobs;
mod counting;
mod gc;
mod progress;
mod records;
mod services;
mod versions;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use mlops_manifest::{Env, ExternalId, ModelId, ModelName};
use object_store::ObjectStore;
use object_store::path::Path as StorePath;

pub use counting::StoreRequests;
pub use gc::GcReport;
pub use progress::{NoProgress, Progress};
pub use records::{
    ARTIFACT_FORMAT, ArtifactFile, ArtifactManifest, Deletion, LimitsRecord, SERVICE_FORMAT,
    ServiceRecord, artifact_path, decode_manifest, decode_service_record, is_safe_relative,
};
pub use versions::{Imported, Promotion, VersionFilter, next_env};

/// What went wrong in the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot open store `{location}`: {why}")]
    Open { location: String, why: String },
    #[error("{what} does not exist")]
    NotFound { what: String },
    #[error(
        "blob {digest} is corrupt: its content hashes to {actual}; the store was tampered with or damaged"
    )]
    CorruptBlob { digest: String, actual: String },
    #[error(
        "{model_id}: file `{path}` is corrupt in the store (blob {digest} hashes to {actual}); the store was tampered with or damaged"
    )]
    CorruptFile { model_id: ModelId, path: String, digest: String, actual: String },
    #[error("{what} is corrupt: {why}")]
    CorruptRecord { what: String, why: String },
    #[error("artifact folder {}: {why}", path.display())]
    Folder { path: PathBuf, why: String },
    #[error(
        "could not claim a new version of {model}/{env} after {attempts} attempts (other uploads kept winning); retry"
    )]
    Contended { model: ModelName, env: Env, attempts: u32 },
    /// The request contradicts what the store holds (a promotion onto a
    /// taken number, deleting a version a service runs…).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong (promoting prod, an empty folder…).
    #[error("{0}")]
    Invalid(String),
    #[error("store {operation} {path}: {source}")]
    Store {
        operation: &'static str,
        path: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{0}")]
    Io(String),
}

type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// The registry over one object store. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn ObjectStore>,
    /// Requests made through `store`.
    counters: Arc<counting::Counters>,
    location: String,
    /// For a local folder store: its root (to collect the staging files an
    /// interrupted write leaves, which the object store API cannot see).
    local_root: Option<PathBuf>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("location", &self.location).finish()
    }
}

impl Registry {
    /// A store in this process's memory, gone when it exits (tests, scratch
    /// space for fixtures and benchmarks).
    pub fn memory() -> Registry {
        Registry::new(Arc::new(object_store::memory::InMemory::new()), "memory://")
    }

    /// A store in a local folder (created if missing).
    pub fn local(path: &Path) -> Result<Registry> {
        let open_err =
            |why: String| RegistryError::Open { location: path.display().to_string(), why };
        std::fs::create_dir_all(path)
            .map_err(|e| open_err(format!("cannot create the folder: {e}")))?;
        let path = std::fs::canonicalize(path).map_err(|e| open_err(e.to_string()))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&path)
            .map_err(|e| open_err(e.to_string()))?
            .with_automatic_cleanup(true);
        let mut registry = Registry::new(Arc::new(store), &path.display().to_string());
        registry.local_root = Some(path);
        Ok(registry)
    }

    /// A registry over any object store; `location` is for messages.
    pub fn new(store: Arc<dyn ObjectStore>, location: &str) -> Registry {
        let counters = Arc::new(counting::Counters::default());
        let store = Arc::new(counting::Counting::new(store, counters.clone()));
        Registry { store, counters, location: location.to_string(), local_root: None }
    }

    /// The requests this registry (and its clones) made to the store so far.
    pub fn store_requests(&self) -> StoreRequests {
        self.counters.snapshot()
    }

    /// Where the store is, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    async fn get(&self, path: &StorePath, what: impl Fn() -> String) -> Result<Bytes> {
        use object_store::ObjectStoreExt as _;
        match self.store.get(path).await {
            Ok(result) => result.bytes().await.map_err(|source| store_err("read", path, source)),
            Err(object_store::Error::NotFound { .. }) => {
                Err(RegistryError::NotFound { what: what() })
            }
            Err(source) => Err(store_err("get", path, source)),
        }
    }

    async fn list(&self, prefix: &StorePath) -> Result<Vec<object_store::ObjectMeta>> {
        use futures::TryStreamExt as _;
        self.store
            .list(Some(prefix))
            .try_collect()
            .await
            .map_err(|source| store_err("list", prefix, source))
    }
}

fn blob_path(digest: &str) -> StorePath {
    StorePath::from(format!("blobs/{digest}"))
}

fn manifest_path(id: &ModelId) -> StorePath {
    StorePath::from(format!("models/{}/{}/{}.json", id.model, id.env, id.version))
}

fn service_path(id: &ExternalId) -> StorePath {
    StorePath::from(format!("services/{id}.json"))
}

fn store_err(
    operation: &'static str,
    path: &StorePath,
    source: object_store::Error,
) -> RegistryError {
    RegistryError::Store { operation, path: path.to_string(), source }
}

fn to_json(value: &impl serde::Serialize) -> Result<Bytes> {
    serde_json::to_vec_pretty(value)
        .map(Bytes::from)
        .map_err(|e| RegistryError::Io(format!("cannot encode JSON: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: impl Fn() -> String) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| RegistryError::CorruptRecord { what: what(), why: e.to_string() })
}

/// The current time, RFC 3339 in UTC.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests;
