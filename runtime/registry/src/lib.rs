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
//! ```
//!
//! A version is claimed by creating its manifest with a conditional put
//! (`PutMode::Create`) after all its blobs are written: concurrent uploaders
//! get distinct numbers and nothing is visible before it is complete. Every
//! blob is checked against its blake3 name when read.

mod records;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use mlops_manifest::{Env, ExternalId, ModelId, ModelName, Version};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

pub use records::{
    ARTIFACT_FORMAT, ArtifactFile, ArtifactManifest, LimitsRecord, SERVICE_FORMAT, ServiceRecord,
};

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
    #[error("{what} is corrupt: {why}")]
    CorruptRecord { what: String, why: String },
    #[error("artifact folder {}: {why}", path.display())]
    Folder { path: PathBuf, why: String },
    #[error(
        "could not claim a new version of {model}/{env} after {attempts} attempts (other uploads kept winning); retry"
    )]
    Contended { model: ModelName, env: Env, attempts: u32 },
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
    location: String,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("location", &self.location).finish()
    }
}

/// Attempts at claiming a version number before giving up.
const CLAIM_ATTEMPTS: u32 = 64;

impl Registry {
    /// Opens the store at `location`: a folder path (created if missing),
    /// `file:///abs/path`, or `memory://` (in-process, for tests).
    pub fn open(location: &str) -> Result<Registry> {
        let open_err = |why: String| RegistryError::Open { location: location.to_string(), why };
        if location == "memory://" || location == "memory:" {
            return Ok(Registry::new(Arc::new(object_store::memory::InMemory::new()), location));
        }
        let path = if let Some(rest) = location.strip_prefix("file://") {
            PathBuf::from(rest)
        } else if location.contains("://") {
            let scheme = location.split("://").next().unwrap_or_default();
            return Err(open_err(format!(
                "`{scheme}://` stores are not supported by this build; use a folder path or file:///path"
            )));
        } else {
            PathBuf::from(location)
        };
        std::fs::create_dir_all(&path)
            .map_err(|e| open_err(format!("cannot create the folder: {e}")))?;
        let path = std::fs::canonicalize(&path).map_err(|e| open_err(e.to_string()))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&path)
            .map_err(|e| open_err(e.to_string()))?
            .with_automatic_cleanup(true);
        Ok(Registry::new(Arc::new(store), &path.display().to_string()))
    }

    /// A registry over any object store; `location` is for messages.
    pub fn new(store: Arc<dyn ObjectStore>, location: &str) -> Registry {
        Registry { store, location: location.to_string() }
    }

    /// Where the store is, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    // ---- blobs ----

    /// Stores `bytes` under their blake3 name (once) and returns the name.
    pub async fn put_blob(&self, bytes: Bytes) -> Result<String> {
        let digest = blake3::hash(&bytes).to_hex().to_string();
        let path = blob_path(&digest);
        match self.store.head(&path).await {
            Ok(_) => return Ok(digest),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => return Err(store_err("head", &path, source)),
        }
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.store.put_opts(&path, PutPayload::from_bytes(bytes), opts).await {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(digest),
            Err(source) => Err(store_err("put", &path, source)),
        }
    }

    /// Reads a blob and checks it against its name.
    pub async fn get_blob(&self, digest: &str) -> Result<Bytes> {
        if !records::is_digest(digest) {
            return Err(RegistryError::NotFound {
                what: format!("blob `{digest}` (not a blake3 digest)"),
            });
        }
        let path = blob_path(digest);
        let bytes = self.get(&path, || format!("blob {digest}")).await?;
        let actual = blake3::hash(&bytes).to_hex().to_string();
        if actual != digest {
            return Err(RegistryError::CorruptBlob { digest: digest.to_string(), actual });
        }
        Ok(bytes)
    }

    // ---- artifact versions ----

    /// Uploads the files of `folder` as a new version of `model` in `env`
    /// and returns its manifest. Blobs go first; the version number is
    /// claimed last, atomically, so it is never seen half-written and two
    /// uploaders never get the same number.
    pub async fn upload_version(
        &self,
        model: &ModelName,
        env: Env,
        folder: Option<&Path>,
        metadata: BTreeMap<String, String>,
        created_by: &str,
    ) -> Result<ArtifactManifest> {
        let mut files = Vec::new();
        if let Some(folder) = folder {
            for (rel, full) in walk(folder)? {
                let bytes = tokio::fs::read(&full).await.map_err(|e| RegistryError::Folder {
                    path: full.clone(),
                    why: e.to_string(),
                })?;
                let size = bytes.len() as u64;
                let blake3 = self.put_blob(Bytes::from(bytes)).await?;
                files.push(ArtifactFile { path: rel, size, blake3 });
            }
        }
        let mut manifest = ArtifactManifest {
            format: ARTIFACT_FORMAT.to_string(),
            model: model.clone(),
            env,
            version: 0,
            files,
            metadata,
            created: now(),
            created_by: created_by.to_string(),
            promoted_from: None,
        };
        for _ in 0..CLAIM_ATTEMPTS {
            manifest.version = self.latest_version(model, env).await?.unwrap_or(0) + 1;
            let path = manifest_path(&manifest.model_id());
            let body = to_json(&manifest)?;
            let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
            match self.store.put_opts(&path, PutPayload::from(body), opts).await {
                Ok(_) => {
                    tracing::info!(model_id = %manifest.model_id(), files = manifest.files.len(), "artifact version uploaded");
                    return Ok(manifest);
                }
                Err(object_store::Error::AlreadyExists { .. }) => continue,
                Err(source) => return Err(store_err("put", &path, source)),
            }
        }
        Err(RegistryError::Contended { model: model.clone(), env, attempts: CLAIM_ATTEMPTS })
    }

    /// The manifest of one version, checked.
    pub async fn manifest(&self, id: &ModelId) -> Result<ArtifactManifest> {
        let path = manifest_path(id);
        let bytes = self.get(&path, || format!("artifact version {id}")).await?;
        let manifest: ArtifactManifest = from_json(&bytes, || format!("artifact manifest {id}"))?;
        manifest.check(id)?;
        Ok(manifest)
    }

    /// The versions of `model` in `env`, ascending.
    pub async fn versions(&self, model: &ModelName, env: Env) -> Result<Vec<Version>> {
        let prefix = StorePath::from(format!("models/{model}/{env}"));
        let metas: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|source| store_err("list", &prefix, source))?;
        let mut versions: Vec<Version> = metas
            .iter()
            .filter_map(|m| m.location.filename()?.strip_suffix(".json")?.parse().ok())
            .filter(|v| *v > 0)
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    /// The newest version of `model` in `env`, if any.
    pub async fn latest_version(&self, model: &ModelName, env: Env) -> Result<Option<Version>> {
        Ok(self.versions(model, env).await?.last().copied())
    }

    /// Every artifact manifest in the store, by model, env and version.
    pub async fn list_versions(&self) -> Result<Vec<ArtifactManifest>> {
        let prefix = StorePath::from("models");
        let metas: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|source| store_err("list", &prefix, source))?;
        let mut out = Vec::new();
        for meta in metas {
            let parts: Vec<&str> = meta.location.as_ref().split('/').collect();
            let [_, model, env, file] = parts[..] else { continue };
            let Some(id) = file
                .strip_suffix(".json")
                .and_then(|v| format!("{model}/{env}/{v}").parse::<ModelId>().ok())
            else {
                tracing::warn!(path = %meta.location, "ignoring an object that is not an artifact manifest");
                continue;
            };
            out.push(self.manifest(&id).await?);
        }
        out.sort_by_key(ArtifactManifest::model_id);
        Ok(out)
    }

    /// Writes the files of `manifest` into `dest` (which must not exist),
    /// each checked against its digest. The files appear all at once: they
    /// are written into a temporary folder next to `dest` that is renamed.
    pub async fn download(&self, manifest: &ArtifactManifest, dest: &Path) -> Result<()> {
        let parent = dest.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(parent).await.map_err(|e| RegistryError::Folder {
            path: parent.to_path_buf(),
            why: e.to_string(),
        })?;
        let tmp =
            tempfile::Builder::new().prefix(".download-").tempdir_in(parent).map_err(|e| {
                RegistryError::Folder { path: parent.to_path_buf(), why: e.to_string() }
            })?;
        for file in &manifest.files {
            let bytes = self.get_blob(&file.blake3).await?;
            let target = tmp.path().join(&file.path);
            if let Some(dir) = target.parent() {
                tokio::fs::create_dir_all(dir).await.map_err(|e| RegistryError::Folder {
                    path: dir.to_path_buf(),
                    why: e.to_string(),
                })?;
            }
            tokio::fs::write(&target, &bytes)
                .await
                .map_err(|e| RegistryError::Folder { path: target.clone(), why: e.to_string() })?;
        }
        let tmp = tmp.keep();
        if let Err(e) = std::fs::rename(&tmp, dest) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(RegistryError::Folder { path: dest.to_path_buf(), why: e.to_string() });
        }
        Ok(())
    }

    /// Makes `dest` hold exactly the files of `manifest`: an existing folder
    /// is kept if every file matches its digest and nothing else is there;
    /// otherwise it is replaced by a fresh, verified download.
    pub async fn materialize(&self, manifest: &ArtifactManifest, dest: &Path) -> Result<()> {
        if dest.exists() {
            let check = {
                let dest = dest.to_path_buf();
                let files = manifest.files.clone();
                tokio::task::spawn_blocking(move || folder_matches(&dest, &files))
                    .await
                    .map_err(|e| RegistryError::Io(format!("verification task failed: {e}")))?
            };
            match check {
                Ok(()) => return Ok(()),
                Err(why) => {
                    tracing::warn!(folder = %dest.display(), "local artifact copy is stale or altered ({why}); downloading again");
                    tokio::fs::remove_dir_all(dest).await.map_err(|e| RegistryError::Folder {
                        path: dest.to_path_buf(),
                        why: e.to_string(),
                    })?;
                }
            }
        }
        self.download(manifest, dest).await
    }

    // ---- services ----

    /// Writes a service record (replacing any under the same id in one
    /// atomic put).
    pub async fn put_service(&self, record: &ServiceRecord) -> Result<()> {
        let path = service_path(&record.external_id);
        let body = to_json(record)?;
        self.store
            .put(&path, PutPayload::from(body))
            .await
            .map_err(|source| store_err("put", &path, source))?;
        Ok(())
    }

    /// Deletes a service record (nothing happens if it does not exist).
    pub async fn delete_service(&self, id: &ExternalId) -> Result<()> {
        let path = service_path(id);
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(store_err("delete", &path, source)),
        }
    }

    /// The record of one service, if it exists.
    pub async fn service(&self, id: &ExternalId) -> Result<Option<ServiceRecord>> {
        let path = service_path(id);
        match self.get(&path, || format!("service {id}")).await {
            Ok(bytes) => {
                let record: ServiceRecord = from_json(&bytes, || format!("service record {id}"))?;
                record.check(id)?;
                Ok(Some(record))
            }
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every service record, by external id. A record that cannot be read
    /// is reported in the second list rather than failing the whole listing.
    pub async fn services(&self) -> Result<(Vec<ServiceRecord>, Vec<(String, RegistryError)>)> {
        let prefix = StorePath::from("services");
        let metas: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|source| store_err("list", &prefix, source))?;
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for meta in metas {
            let name = meta.location.filename().unwrap_or_default().to_string();
            let Some(id) = name.strip_suffix(".json").and_then(|s| s.parse::<ExternalId>().ok())
            else {
                bad.push((
                    name.clone(),
                    RegistryError::CorruptRecord {
                        what: format!("services/{name}"),
                        why: "its name is not `<external-id>.json`".into(),
                    },
                ));
                continue;
            };
            match self.service(&id).await {
                Ok(Some(record)) => ok.push(record),
                Ok(None) => {} // deleted meanwhile
                Err(e) => bad.push((id.to_string(), e)),
            }
        }
        ok.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        Ok((ok, bad))
    }

    // ---- predictions ----

    /// Stores a prediction document and returns its id
    /// (`predictions/<model>/<env>/<id>.json`).
    pub async fn put_prediction(&self, model: &ModelName, env: Env, body: Bytes) -> Result<String> {
        let id = format!(
            "{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            &blake3::hash(&body).to_hex()[..12]
        );
        let path = StorePath::from(format!("predictions/{model}/{env}/{id}.json"));
        self.store
            .put(&path, PutPayload::from_bytes(body))
            .await
            .map_err(|source| store_err("put", &path, source))?;
        Ok(path.to_string())
    }

    /// Reads a stored prediction by the id [`Registry::put_prediction`] gave.
    pub async fn get_prediction(&self, id: &str) -> Result<Bytes> {
        if !id.starts_with("predictions/") || !records::is_safe_relative(id) {
            return Err(RegistryError::NotFound { what: format!("prediction `{id}`") });
        }
        self.get(&StorePath::from(id), || format!("prediction {id}")).await
    }

    async fn get(&self, path: &StorePath, what: impl Fn() -> String) -> Result<Bytes> {
        match self.store.get(path).await {
            Ok(result) => result.bytes().await.map_err(|source| store_err("read", path, source)),
            Err(object_store::Error::NotFound { .. }) => {
                Err(RegistryError::NotFound { what: what() })
            }
            Err(source) => Err(store_err("get", path, source)),
        }
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

/// Whether `folder` holds exactly `files` (same paths, sizes and digests).
fn folder_matches(folder: &Path, files: &[ArtifactFile]) -> Result<(), String> {
    let found = walk(folder).map_err(|e| e.to_string())?;
    let found_paths: Vec<&str> = found.iter().map(|(rel, _)| rel.as_str()).collect();
    let mut want: Vec<&ArtifactFile> = files.iter().collect();
    want.sort_by(|a, b| a.path.cmp(&b.path));
    let want_paths: Vec<&str> = want.iter().map(|f| f.path.as_str()).collect();
    if found_paths != want_paths {
        return Err(format!("it holds {found_paths:?}, the manifest lists {want_paths:?}"));
    }
    for ((_, full), file) in found.iter().zip(want) {
        let bytes = std::fs::read(full).map_err(|e| format!("{}: {e}", full.display()))?;
        if bytes.len() as u64 != file.size || blake3::hash(&bytes).to_hex().as_str() != file.blake3
        {
            return Err(format!("{} does not match its digest", file.path));
        }
    }
    Ok(())
}

/// The regular files under `folder`, as (relative `/` path, full path),
/// sorted. Symlinks are refused: they could point anywhere.
fn walk(folder: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![folder.to_path_buf()];
    let folder_err =
        |path: &Path, why: String| RegistryError::Folder { path: path.to_path_buf(), why };
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| folder_err(&dir, e.to_string()))?;
        for entry in entries {
            let entry = entry.map_err(|e| folder_err(&dir, e.to_string()))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| folder_err(&path, e.to_string()))?;
            if kind.is_symlink() {
                return Err(folder_err(
                    &path,
                    "is a symbolic link; artifacts must be regular files (copy the target in)"
                        .into(),
                ));
            } else if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let rel =
                    path.strip_prefix(folder).map_err(|e| folder_err(&path, e.to_string()))?;
                let parts: Option<Vec<&str>> = rel
                    .components()
                    .map(|c| match c {
                        Component::Normal(s) => s.to_str(),
                        _ => None,
                    })
                    .collect();
                let rel = parts
                    .map(|p| p.join("/"))
                    .filter(|p| records::is_safe_relative(p))
                    .ok_or_else(|| {
                        folder_err(&path, "its name is not valid UTF-8 or not a plain path".into())
                    })?;
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests;
