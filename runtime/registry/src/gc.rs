//! Garbage collection: blobs nothing refers to.

use std::collections::HashSet;
use std::time::Duration;

use object_store::ObjectStoreExt as _;
use object_store::path::Path as StorePath;

use crate::{Registry, Result, VersionFilter, store_err};

/// What `gc` found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs deleted (or that would be, on a dry run), with their sizes.
    pub removed: Vec<(String, u64)>,
    /// Unreferenced blobs kept because they are younger than the minimum
    /// age (an upload or deploy may be about to refer to them).
    pub too_young: usize,
    /// Blobs still referenced.
    pub kept: usize,
    /// Staging files of interrupted writes removed from a local store.
    pub partial_files: usize,
}

impl GcReport {
    pub fn removed_bytes(&self) -> u64 {
        self.removed.iter().map(|(_, size)| size).sum()
    }
}

impl Registry {
    /// Deletes blobs that no live artifact version and no service refers to
    /// and that are older than `min_age`. A blob is written before the
    /// manifest or service that refers to it, so young unreferenced blobs
    /// may belong to an upload in progress: `min_age` protects them.
    pub async fn gc(&self, min_age: Duration, dry_run: bool) -> Result<GcReport> {
        let mut referenced = HashSet::new();
        for m in self.list_versions(&VersionFilter::default()).await? {
            referenced.extend(m.files.into_iter().map(|f| f.blake3));
        }
        let (services, unreadable) = self.services().await?;
        if let Some((name, err)) = unreadable.into_iter().next() {
            // A record we cannot read may refer to anything: stop.
            return Err(crate::RegistryError::Conflict(format!(
                "cannot read service record {name} ({err}); fix or delete it before collecting garbage"
            )));
        }
        referenced.extend(services.into_iter().map(|s| s.component));
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(min_age).unwrap_or_else(|_| chrono::Duration::days(36500));
        let mut report = GcReport::default();
        for meta in self.list(&StorePath::from("blobs")).await? {
            let digest = meta.location.filename().unwrap_or_default().to_string();
            if referenced.contains(&digest) {
                report.kept += 1;
            } else if meta.last_modified > cutoff {
                report.too_young += 1;
            } else {
                if !dry_run {
                    match self.store.delete(&meta.location).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(source) => return Err(store_err("delete", &meta.location, source)),
                    }
                }
                report.removed.push((digest, meta.size));
            }
        }
        if let Some(root) = &self.local_root {
            report.partial_files = remove_partial_files(&root.join("blobs"), min_age, dry_run);
        }
        Ok(report)
    }
}

/// A local store writes each object to `<name>#<n>` and renames it into
/// place; a process killed in between leaves the staging file, which the
/// object store API does not list. Removes those older than `min_age`.
fn remove_partial_files(dir: &std::path::Path, min_age: Duration, dry_run: bool) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let old_enough = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= min_age);
        if name.to_string_lossy().contains('#') && old_enough {
            if !dry_run && std::fs::remove_file(entry.path()).is_err() {
                continue;
            }
            removed += 1;
        }
    }
    removed
}
