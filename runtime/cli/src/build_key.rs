//! Skipping a model's `build` when nothing it reads has changed.
//!
//! `test` then `deploy` of an unchanged model must not build it twice: a
//! Python or JavaScript build takes seconds, and its output differs byte
//! for byte from one build to the next (so the compile cache would miss
//! too). The build is keyed on what it reads, not on what it writes:
//!
//! - every file under the settings folder (the settings file, the sources,
//!   lock files, fixtures), by path and blake3 of its bytes, except the
//!   folders tools fill ([`SKIPPED_DIRS`]) and the settings' component files;
//! - the model's `build_inputs` (what the build reads outside that folder,
//!   such as a shared SDK), the same way;
//! - the model's name, the build command and this binary's version.
//!
//! After a successful build the key is taken again (a build may write
//! intermediate files into the folder) and recorded with the blake3 of the
//! component, in `<cache>/builds/`. The next build of that model is skipped
//! when the key is the same and the component file is still the one that
//! build wrote. Anything else — a changed byte in a source, a file added or
//! removed, the component overwritten, `--rebuild` — builds.

use std::io;
use std::path::{Path, PathBuf};

use mlops_manifest::{Component, ModelSettings, Settings};
use serde::{Deserialize, Serialize};

/// Folders that tools fill, not authors: never part of the key.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".venv",
    "__pycache__",
    "node_modules",
    "target",
    "venv",
];

/// What the last successful build of a model left.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Stamp {
    settings: PathBuf,
    model: String,
    /// The key after that build.
    key: String,
    /// blake3 of the component it wrote.
    component: String,
}

/// Whether a model's build can be skipped, and how to record one.
pub struct BuildKey {
    stamp_path: PathBuf,
    settings: PathBuf,
    model: String,
    command: String,
    roots: Vec<PathBuf>,
    component: PathBuf,
    /// Every component file of the settings: outputs, never inputs
    /// (resolved when used: a build may create their folders).
    outputs: Vec<PathBuf>,
}

impl BuildKey {
    /// The key of `model`'s build (its `build` command is `command`), with
    /// its record under `cache_dir`.
    pub fn new(
        cache_dir: &Path,
        settings: &Settings,
        model: &ModelSettings,
        command: &str,
    ) -> io::Result<BuildKey> {
        let Component::File { path, build_inputs, .. } = &model.component else {
            return Err(io::Error::other("a runtime has no build"));
        };
        let settings_path = std::fs::canonicalize(&settings.path)?;
        let folder = settings_path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut roots = vec![folder];
        for input in build_inputs {
            roots.push(std::fs::canonicalize(input)?);
        }
        let outputs = settings
            .models
            .iter()
            .filter_map(|m| match &m.component {
                Component::File { path, .. } => Some(path.clone()),
                Component::Runtime(_) => None,
            })
            .collect();
        let name = model.model_name.as_str();
        let mut id = blake3::Hasher::new();
        field(&mut id, settings_path.as_os_str().as_encoded_bytes());
        field(&mut id, name.as_bytes());
        let id = id.finalize().to_hex();
        Ok(BuildKey {
            stamp_path: cache_dir.join("builds").join(format!("{}.json", &id[..32])),
            settings: settings_path,
            model: name.to_string(),
            command: command.to_string(),
            roots,
            component: path.clone(),
            outputs,
        })
    }

    /// The key now: the model, its command, and every input file's path
    /// and contents.
    pub fn compute(&self) -> io::Result<String> {
        let mut h = blake3::Hasher::new();
        field(&mut h, b"mlops-host build key 1");
        field(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
        field(&mut h, self.model.as_bytes());
        field(&mut h, self.command.as_bytes());
        let outputs: Vec<PathBuf> = self.outputs.iter().map(|p| normal(p)).collect();
        for root in &self.roots {
            field(&mut h, root.as_os_str().as_encoded_bytes());
            entry(&mut h, root, Path::new(""), &outputs)?;
        }
        Ok(h.finalize().to_hex().to_string())
    }

    /// The key recorded by the last build, if that build's component is
    /// still in place.
    pub fn recorded(&self) -> Option<String> {
        let text = std::fs::read(&self.stamp_path).ok()?;
        let stamp: Stamp = serde_json::from_slice(&text).ok()?;
        if stamp.settings != self.settings || stamp.model != self.model {
            return None;
        }
        let component = file_hash(&normal(&self.component)).ok()?.to_hex().to_string();
        (component == stamp.component).then_some(stamp.key)
    }

    /// Records a successful build: the key now and the component's hash.
    /// Written to a temporary file then renamed, so a reader never sees
    /// half a record.
    pub fn record(&self) -> io::Result<()> {
        let stamp = Stamp {
            settings: self.settings.clone(),
            model: self.model.clone(),
            key: self.compute()?,
            component: file_hash(&normal(&self.component))?.to_hex().to_string(),
        };
        let dir = self.stamp_path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut tmp, &stamp)?;
        tmp.persist(&self.stamp_path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Hashes `path` (shown as `rel`): a file's bytes, a folder's entries in
/// name order (less `outputs`), a symbolic link's target (and the file
/// it names).
fn entry(h: &mut blake3::Hasher, path: &Path, rel: &Path, outputs: &[PathBuf]) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    let rel_bytes = rel.as_os_str().as_encoded_bytes();
    if meta.is_dir() {
        field(h, b"dir");
        field(h, rel_bytes);
        let mut names: Vec<_> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for name in names {
            let child = path.join(&name);
            let skipped = name.to_str().is_some_and(|n| SKIPPED_DIRS.contains(&n))
                && std::fs::symlink_metadata(&child).is_ok_and(|m| m.is_dir());
            if skipped || outputs.contains(&child) {
                continue;
            }
            entry(h, &child, &rel.join(&name), outputs)?;
        }
    } else if meta.is_symlink() {
        field(h, b"link");
        field(h, rel_bytes);
        field(h, std::fs::read_link(path)?.as_os_str().as_encoded_bytes());
        if std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            field(h, file_hash(path)?.as_bytes());
        }
    } else if meta.is_file() {
        field(h, b"file");
        field(h, rel_bytes);
        field(h, file_hash(path)?.as_bytes());
    }
    // Sockets, FIFOs and devices are not sources.
    Ok(())
}

/// Length-prefixed, so that two fields never read as one.
fn field(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn file_hash(path: &Path) -> io::Result<blake3::Hash> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path)?)?;
    Ok(h.finalize())
}

/// `path` with its folder's symbolic links and `..` resolved (the file
/// itself may not exist yet).
fn normal(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    match (path.parent().map(std::fs::canonicalize), path.file_name()) {
        (Some(Ok(dir)), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests;
