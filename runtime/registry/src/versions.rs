//! Artifact versions: upload, read, list, promote, delete, download.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mlops_manifest::{Env, ModelId, ModelName, Version};
use object_store::{ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

use crate::records::{self, ARTIFACT_FORMAT, ArtifactFile, ArtifactManifest, Deletion};
use crate::{Progress, Registry, RegistryError, Result, manifest_path, now, store_err, to_json};

/// Attempts at claiming a version number before giving up. Each failed
/// attempt means another uploader got that number, so this bounds how many
/// uploads may race.
const CLAIM_ATTEMPTS: u32 = 1000;

/// Which versions to list.
#[derive(Debug, Clone, Default)]
pub struct VersionFilter {
    pub model: Option<ModelName>,
    pub env: Option<Env>,
    /// Every pair must be in the version's metadata.
    pub metadata: Vec<(String, String)>,
    /// Also list deleted versions (their tombstones).
    pub include_deleted: bool,
}

impl VersionFilter {
    fn matches(&self, m: &ArtifactManifest) -> bool {
        self.model.as_ref().is_none_or(|n| &m.model == n)
            && self.env.is_none_or(|e| m.env == e)
            && self.metadata.iter().all(|(k, v)| m.metadata.get(k) == Some(v))
            && (self.include_deleted || m.is_live())
    }
}

/// What a promotion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Promotion {
    /// The target version was created.
    Promoted(ArtifactManifest),
    /// The same promotion had been made before; nothing was written.
    AlreadyThere(ArtifactManifest),
}

/// What importing one version did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// The version was written.
    Written(ArtifactManifest),
    /// The same version was imported before (a resumed import); nothing
    /// was written.
    AlreadyThere(ArtifactManifest),
}

/// The env a version is promoted to from `env`.
pub fn next_env(env: Env) -> Option<Env> {
    match env {
        Env::Dev => Some(Env::Test),
        Env::Test => Some(Env::Prod),
        Env::Prod => None,
    }
}

impl Registry {
    /// Uploads the files of `folder` as a new version of `model` in `env`
    /// and returns its manifest. Blobs go first; the number is claimed
    /// last, atomically, so a version is never seen half-written and two
    /// uploaders never get the same number. `folder: None` makes a version
    /// without files (a model that needs no artifacts).
    pub async fn upload_version(
        &self,
        model: &ModelName,
        env: Env,
        folder: Option<&Path>,
        metadata: BTreeMap<String, String>,
        created_by: &str,
        progress: &dyn Progress,
    ) -> Result<ArtifactManifest> {
        self.refuse_case_twin(model).await?;
        let mut files = Vec::new();
        if let Some(folder) = folder {
            let found = {
                let folder = folder.to_path_buf();
                tokio::task::spawn_blocking(move || walk(&folder))
                    .await
                    .map_err(|e| RegistryError::Io(format!("listing task failed: {e}")))??
            };
            if found.is_empty() {
                return Err(RegistryError::Invalid(format!(
                    "artifact folder {} has no files; put the model's artifacts in it",
                    folder.display()
                )));
            }
            let total: u64 = found.iter().map(|(_, _, size)| size).sum();
            progress.start(&format!("uploading {model}/{env}"), found.len() as u64, total);
            for (rel, full, _) in found {
                let sent = self.put_blob_file(&full, progress).await;
                let (blake3, size) = match sent {
                    Ok(ok) => ok,
                    Err(e) => {
                        progress.finish();
                        return Err(e);
                    }
                };
                files.push(ArtifactFile { path: rel, size, blake3 });
            }
            progress.finish();
        }
        let manifest = ArtifactManifest {
            format: ARTIFACT_FORMAT.to_string(),
            model: model.clone(),
            env,
            version: 0,
            files,
            metadata,
            created: now(),
            created_by: created_by.to_string(),
            promoted_from: None,
            deleted: None,
        };
        let manifest = self.claim(manifest).await?;
        tracing::info!(model_id = %manifest.model_id(), files = manifest.files.len(), "artifact version uploaded");
        Ok(manifest)
    }

    /// Writes a version made elsewhere under its own number, env, metadata,
    /// creation time and provenance (an import of another registry's
    /// history). Its files' blobs must be in the store already, with the
    /// sizes the manifest gives; a manifest with `deleted` set records a
    /// number the other registry had deleted. Importing the same version
    /// again is a no-op, so an interrupted import can simply be run again;
    /// a number taken by anything else is refused.
    pub async fn import_version(&self, manifest: ArtifactManifest) -> Result<Imported> {
        let id = manifest.model_id();
        if manifest.format != ARTIFACT_FORMAT || manifest.version == 0 {
            return Err(RegistryError::Invalid(format!(
                "{id}: an imported version needs format {ARTIFACT_FORMAT} and a number ≥ 1"
            )));
        }
        manifest.check(&id)?;
        self.refuse_case_twin(&manifest.model).await?;
        for file in &manifest.files {
            match self.blob_size(&file.blake3).await? {
                Some(size) if size == file.size => {}
                found => {
                    return Err(RegistryError::Invalid(format!(
                        "{id}: file `{}` ({} bytes, blob {}) is not in the store ({}); store its bytes first",
                        file.path,
                        file.size,
                        file.blake3,
                        found.map_or("missing".to_string(), |s| format!("{s} bytes there"))
                    )));
                }
            }
        }
        let path = manifest_path(&id);
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.store.put_opts(&path, PutPayload::from(to_json(&manifest)?), opts).await {
            Ok(_) => {
                tracing::info!(model_id = %id, "artifact version imported");
                Ok(Imported::Written(manifest))
            }
            Err(object_store::Error::AlreadyExists { .. }) => {
                let existing = self.record(&id).await?;
                // A deleted number is the same deleted number, whenever it
                // was recorded.
                let both_deleted = !existing.is_live() && !manifest.is_live();
                let same = both_deleted
                    || (existing.same_files(&manifest)
                        && existing.metadata == manifest.metadata
                        && existing.created == manifest.created
                        && existing.promoted_from == manifest.promoted_from
                        && existing.is_live() == manifest.is_live());
                if same {
                    return Ok(Imported::AlreadyThere(existing));
                }
                let origin = match (&existing.deleted, &existing.promoted_from) {
                    (Some(d), _) => format!("deleted at {} by {}", d.at, d.by),
                    (None, Some(from)) => format!("promoted from {from}"),
                    (None, None) => {
                        format!("uploaded by {} at {}", existing.created_by, existing.created)
                    }
                };
                Err(RegistryError::Conflict(format!(
                    "{id} already exists in this store ({origin}) and is not the version being imported; \
                     import into a store without versions of {}/{}",
                    id.model, id.env
                )))
            }
            Err(source) => Err(store_err("put", &path, source)),
        }
    }

    /// Refuses a model whose name differs only in case from one the store
    /// holds (`PorosityNet` and `porositynet`): a store on a
    /// case-insensitive file system would mix their versions.
    pub(crate) async fn refuse_case_twin(&self, model: &ModelName) -> Result<()> {
        let prefix = object_store::path::Path::from("models");
        let listed = self
            .store
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|source| store_err("list", &prefix, source))?;
        let key = model.case_key();
        for dir in listed.common_prefixes {
            let Some(name) = dir.filename() else { continue };
            if name != model.as_str() && name.to_ascii_lowercase() == key {
                return Err(RegistryError::Conflict(format!(
                    "model `{model}` differs from `{name}`, which the store holds, only in case; \
                     use `{name}` or a name of its own"
                )));
            }
        }
        Ok(())
    }

    /// Gives `manifest` the next free number of its model and env and writes
    /// it, atomically. When another uploader takes a number first, the next
    /// one is tried, so numbers stay gap-free.
    async fn claim(&self, mut manifest: ArtifactManifest) -> Result<ArtifactManifest> {
        let (model, env) = (manifest.model.clone(), manifest.env);
        let mut version = self.taken_versions(&model, env).await?.last().copied().unwrap_or(0) + 1;
        for attempt in 0..CLAIM_ATTEMPTS {
            manifest.version = version;
            let path = manifest_path(&manifest.model_id());
            let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
            match self.store.put_opts(&path, PutPayload::from(to_json(&manifest)?), opts).await {
                Ok(_) => return Ok(manifest),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    version += 1;
                    // Far behind (many racers): look again rather than walk.
                    if attempt % 16 == 15 {
                        let latest =
                            self.taken_versions(&model, env).await?.last().copied().unwrap_or(0);
                        version = version.max(latest + 1);
                    }
                }
                Err(source) => return Err(store_err("put", &path, source)),
            }
        }
        Err(RegistryError::Contended { model, env, attempts: CLAIM_ATTEMPTS })
    }

    /// The record of a version, tombstone or not, checked.
    async fn record(&self, id: &ModelId) -> Result<ArtifactManifest> {
        let path = manifest_path(id);
        let bytes = self.get(&path, || format!("artifact version {id}")).await?;
        crate::records::decode_manifest(&bytes, id)
    }

    /// The manifest of a live version, checked.
    pub async fn manifest(&self, id: &ModelId) -> Result<ArtifactManifest> {
        let manifest = self.record(id).await?;
        match &manifest.deleted {
            None => Ok(manifest),
            Some(d) => Err(RegistryError::NotFound {
                what: format!("artifact version {id} (deleted at {} by {})", d.at, d.by),
            }),
        }
    }

    /// Every number claimed for `model` in `env`, deleted ones included,
    /// ascending (from the listing alone).
    async fn taken_versions(&self, model: &ModelName, env: Env) -> Result<Vec<Version>> {
        let prefix = object_store::path::Path::from(format!("models/{model}/{env}"));
        let mut versions: Vec<Version> = self
            .list(&prefix)
            .await?
            .iter()
            .filter_map(|m| m.location.filename()?.strip_suffix(".json")?.parse().ok())
            .filter(|v| *v > 0)
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    /// The live versions of `model` in `env`, ascending.
    pub async fn versions(&self, model: &ModelName, env: Env) -> Result<Vec<Version>> {
        let mut live = Vec::new();
        for v in self.taken_versions(model, env).await? {
            let id = ModelId { model: model.clone(), env, version: v };
            if self.record(&id).await?.is_live() {
                live.push(v);
            }
        }
        Ok(live)
    }

    /// The highest live version of `model` in `env`, if any.
    pub async fn latest_version(&self, model: &ModelName, env: Env) -> Result<Option<Version>> {
        for v in self.taken_versions(model, env).await?.into_iter().rev() {
            let id = ModelId { model: model.clone(), env, version: v };
            if self.record(&id).await?.is_live() {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// The manifests that pass `filter`, by model, env and version.
    pub async fn list_versions(&self, filter: &VersionFilter) -> Result<Vec<ArtifactManifest>> {
        let prefix = match (&filter.model, filter.env) {
            (Some(m), Some(e)) => format!("models/{m}/{e}"),
            (Some(m), None) => format!("models/{m}"),
            _ => "models".to_string(),
        };
        let mut out = Vec::new();
        for meta in self.list(&object_store::path::Path::from(prefix)).await? {
            let parts: Vec<&str> = meta.location.as_ref().split('/').collect();
            let [_, model, env, file] = parts[..] else { continue };
            let Some(id) = file
                .strip_suffix(".json")
                .and_then(|v| format!("{model}/{env}/{v}").parse::<ModelId>().ok())
            else {
                tracing::warn!(path = %meta.location, "ignoring an object that is not an artifact manifest");
                continue;
            };
            let manifest = self.record(&id).await?;
            if filter.matches(&manifest) {
                out.push(manifest);
            }
        }
        out.sort_by_key(ArtifactManifest::model_id);
        Ok(out)
    }

    /// Promotes `id` to the next env (dev → test → prod) under the same
    /// number. No byte is copied: the new manifest points at the same blobs
    /// and records where it came from. Promoting again is a no-op; a target
    /// number taken by anything else is refused.
    pub async fn promote(&self, id: &ModelId, to: Env, by: &str) -> Result<Promotion> {
        let Some(next) = next_env(id.env) else {
            return Err(RegistryError::Invalid(format!(
                "{id} is in prod already: there is nothing to promote it to"
            )));
        };
        if to != next {
            return Err(RegistryError::Invalid(format!(
                "{id} can only be promoted to {next} (dev → test → prod, one step at a time), not to {to}"
            )));
        }
        let source = self.manifest(id).await?;
        let target_id = ModelId { model: id.model.clone(), env: to, version: id.version };
        let target = ArtifactManifest {
            env: to,
            created: now(),
            created_by: by.to_string(),
            promoted_from: Some(id.clone()),
            deleted: None,
            ..source.clone()
        };
        let path = manifest_path(&target_id);
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.store.put_opts(&path, PutPayload::from(to_json(&target)?), opts).await {
            Ok(_) => {
                tracing::info!(from = %id, to = %target_id, "promoted");
                Ok(Promotion::Promoted(target))
            }
            Err(object_store::Error::AlreadyExists { .. }) => {
                let existing = self.record(&target_id).await?;
                if let Some(d) = &existing.deleted {
                    return Err(RegistryError::Conflict(format!(
                        "{target_id} was deleted at {} by {}; numbers are never reused, so {id} cannot be promoted",
                        d.at, d.by
                    )));
                }
                if existing.promoted_from.as_ref() == Some(id) && existing.same_files(&source) {
                    return Ok(Promotion::AlreadyThere(existing));
                }
                let origin = match &existing.promoted_from {
                    Some(from) => format!("promoted from {from}"),
                    None => format!("uploaded by {} at {}", existing.created_by, existing.created),
                };
                Err(RegistryError::Conflict(format!(
                    "{target_id} already exists ({origin}) and is not {id}; promotion keeps version numbers, \
                     so {id} cannot go to {to}"
                )))
            }
            Err(source) => Err(store_err("put", &path, source)),
        }
    }

    /// Deletes a live version: its manifest becomes a tombstone (the number
    /// stays taken), its blobs go at the next `gc` if nothing else refers to
    /// them. Refused while a service runs it. Returns what was deleted.
    pub async fn delete_version(&self, id: &ModelId, by: &str) -> Result<ArtifactManifest> {
        let manifest = self.manifest(id).await?;
        let (services, _) = self.services().await?;
        let users: Vec<String> = services
            .iter()
            .filter(|s| &s.model_id == id)
            .map(|s| s.external_id.to_string())
            .collect();
        if !users.is_empty() {
            return Err(RegistryError::Conflict(format!(
                "{id} is run by {}; deploy another version to them or delete them first",
                users.join(", ")
            )));
        }
        let tombstone = ArtifactManifest {
            deleted: Some(Deletion { at: now(), by: by.to_string() }),
            ..manifest.clone()
        };
        let path = manifest_path(id);
        self.store
            .put(&path, PutPayload::from(to_json(&tombstone)?))
            .await
            .map_err(|s| store_err("put", &path, s))?;
        tracing::info!(model_id = %id, "artifact version deleted");
        Ok(manifest)
    }

    /// Writes the files of `manifest` into `dest` (which must not exist, or
    /// be an empty folder), each checked against its digest as it streams
    /// in. The files appear all at once: they are written into a temporary
    /// folder next to `dest` that is then renamed.
    pub async fn download(
        &self,
        manifest: &ArtifactManifest,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<()> {
        let dest_err = |why: String| RegistryError::Folder { path: dest.to_path_buf(), why };
        if dest.exists() {
            let empty = std::fs::read_dir(dest).map(|mut d| d.next().is_none()).unwrap_or(false);
            if !empty {
                return Err(RegistryError::Invalid(format!(
                    "{} exists and is not an empty folder; download into a new one",
                    dest.display()
                )));
            }
        }
        let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(parent).await.map_err(|e| dest_err(e.to_string()))?;
        let tmp = tempfile::Builder::new()
            .prefix(".download-")
            .tempdir_in(parent)
            .map_err(|e| dest_err(e.to_string()))?;
        progress.start(
            &format!("downloading {}", manifest.model_id()),
            manifest.files.len() as u64,
            manifest.size(),
        );
        let fetched: Result<()> = async {
            for file in &manifest.files {
                let target = tmp.path().join(&file.path);
                if let Some(dir) = target.parent() {
                    tokio::fs::create_dir_all(dir).await.map_err(|e| dest_err(e.to_string()))?;
                }
                self.get_blob_to_file(&file.blake3, &target, progress).await.map_err(
                    |e| match e {
                        RegistryError::CorruptBlob { digest, actual } => {
                            RegistryError::CorruptFile {
                                model_id: manifest.model_id(),
                                path: file.path.clone(),
                                digest,
                                actual,
                            }
                        }
                        other => other,
                    },
                )?;
            }
            Ok(())
        }
        .await;
        progress.finish();
        fetched?;
        if dest.exists() {
            std::fs::remove_dir(dest).map_err(|e| dest_err(e.to_string()))?;
        }
        let tmp = tmp.keep();
        if let Err(e) = std::fs::rename(&tmp, dest) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(dest_err(e.to_string()));
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
        self.download(manifest, dest, &crate::NoProgress).await
    }
}

/// Whether `folder` holds exactly `files` (same paths, sizes and digests).
fn folder_matches(folder: &Path, files: &[ArtifactFile]) -> Result<(), String> {
    let found = walk(folder).map_err(|e| e.to_string())?;
    let found_paths: Vec<&str> = found.iter().map(|(rel, _, _)| rel.as_str()).collect();
    let mut want: Vec<&ArtifactFile> = files.iter().collect();
    want.sort_by(|a, b| a.path.cmp(&b.path));
    let want_paths: Vec<&str> = want.iter().map(|f| f.path.as_str()).collect();
    if found_paths != want_paths {
        return Err(format!("it holds {found_paths:?}, the manifest lists {want_paths:?}"));
    }
    for ((_, full, size), file) in found.iter().zip(want) {
        if *size != file.size {
            return Err(format!("{} has {size} bytes, the manifest says {}", file.path, file.size));
        }
        let mut hasher = blake3::Hasher::new();
        let file_handle =
            std::fs::File::open(full).map_err(|e| format!("{}: {e}", full.display()))?;
        hasher.update_reader(file_handle).map_err(|e| format!("{}: {e}", full.display()))?;
        if hasher.finalize().to_hex().as_str() != file.blake3 {
            return Err(format!("{} does not match its digest", file.path));
        }
    }
    Ok(())
}

/// The regular files under `folder`, as (relative `/` path, full path,
/// size), sorted. Symlinks are refused: they could point anywhere.
pub(crate) fn walk(folder: &Path) -> Result<Vec<(String, PathBuf, u64)>> {
    let folder_err =
        |path: &Path, why: String| RegistryError::Folder { path: path.to_path_buf(), why };
    if !folder.is_dir() {
        return Err(folder_err(folder, "is not an existing folder".into()));
    }
    let mut out = Vec::new();
    let mut stack = vec![folder.to_path_buf()];
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
                let size = entry.metadata().map_err(|e| folder_err(&path, e.to_string()))?.len();
                let rel =
                    path.strip_prefix(folder).map_err(|e| folder_err(&path, e.to_string()))?;
                let rel = records::artifact_path(rel).ok_or_else(|| {
                    folder_err(&path, "its name is not valid UTF-8 or not a plain path".into())
                })?;
                out.push((rel, path, size));
            }
        }
    }
    out.sort();
    Ok(out)
}
