//! The compile cache: compiled components on local disk, keyed by the
//! blake3 of the component's bytes and of the engine's configuration, and
//! loaded by mmap (milliseconds, where compiling a Python or JavaScript
//! component takes seconds).
//!
//! Files are written to a temporary name and renamed, so a reader sees a
//! whole file or none. The folder is created private to the user (0700):
//! whoever can write into it can make the host run native code.

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use wasmtime::component::Component;

use crate::EngineError;

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Compiled now (and stored, when there is a cache folder).
    Compiled,
    /// Loaded from the compile cache: no compilation.
    Loaded,
}

/// A compiled component and how it was obtained.
#[derive(Clone)]
pub struct LoadedComponent {
    pub(crate) component: Component,
    /// blake3 of the component's bytes, hex.
    pub digest: String,
    pub outcome: CacheOutcome,
    /// Time spent compiling or loading.
    pub elapsed: std::time::Duration,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("digest", &self.digest)
            .field("outcome", &self.outcome)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

/// Feeds `Hash` implementations into blake3.
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn finish(&self) -> u64 {
        let bytes = self.0.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes.as_bytes()[..8]);
        u64::from_le_bytes(first)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// A short fingerprint of everything that makes compiled code valid for an
/// engine: wasmtime's version and the configuration that affects codegen.
pub(crate) fn engine_fingerprint(engine: &wasmtime::Engine) -> String {
    use std::hash::Hash;
    let mut h = Blake3Hasher(blake3::Hasher::new());
    env!("CARGO_PKG_VERSION").hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    h.0.finalize().to_hex()[..16].to_string()
}

pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    fingerprint: String,
}

impl CompileCache {
    pub(crate) fn new(
        dir: Option<PathBuf>,
        engine: &wasmtime::Engine,
    ) -> Result<Self, EngineError> {
        if let Some(dir) = &dir {
            create_private_dir(dir).map_err(|e| EngineError::Cache {
                path: dir.clone(),
                message: format!("cannot create the compile cache folder: {e}"),
            })?;
        }
        Ok(CompileCache { dir, fingerprint: engine_fingerprint(engine) })
    }

    fn path_for(&self, digest: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{digest}-{}.cwasm", self.fingerprint)))
    }

    /// Loads the compiled component whose source has blake3 `digest` from the
    /// cache, if it is there: no need to fetch the source at all.
    pub(crate) fn load_cached(
        &self,
        engine: &wasmtime::Engine,
        digest: &str,
    ) -> Option<LoadedComponent> {
        let started = Instant::now();
        let valid = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
        let path = self.path_for(digest).filter(|p| valid && p.is_file())?;
        match deserialize_file(engine, &path) {
            Ok(component) => Some(LoadedComponent {
                component,
                digest: digest.to_string(),
                outcome: CacheOutcome::Loaded,
                elapsed: started.elapsed(),
            }),
            Err(e) => {
                tracing::warn!(path = %path.display(), "compile cache entry is unusable ({e:#}); compiling again");
                None
            }
        }
    }

    /// Loads the compiled form of `bytes` from the cache, or compiles it and
    /// stores the result.
    pub(crate) fn load(
        &self,
        engine: &wasmtime::Engine,
        bytes: &[u8],
    ) -> Result<LoadedComponent, EngineError> {
        let started = Instant::now();
        let digest = blake3::hash(bytes).to_hex().to_string();
        if let Some(loaded) = self.load_cached(engine, &digest) {
            return Ok(loaded);
        }
        let path = self.path_for(&digest);
        let component = Component::new(engine, bytes).map_err(|e| EngineError::Compile {
            digest: digest.clone(),
            message: format!("{e:#}"),
        })?;
        if let Some(path) = &path
            && let Err(e) = store(&component, path)
        {
            // A cache that cannot be written costs time, not correctness.
            tracing::warn!(path = %path.display(), "cannot write the compile cache: {e}");
        }
        Ok(LoadedComponent {
            component,
            digest,
            outcome: CacheOutcome::Compiled,
            elapsed: started.elapsed(),
        })
    }
}

#[allow(unsafe_code, reason = "the one place compiled code is loaded")]
fn deserialize_file(engine: &wasmtime::Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file is one this cache wrote (named by the blake3 of the
    // source and the engine fingerprint, written whole then renamed) into a
    // folder private to this user; wasmtime checks that it was compiled by
    // a compatible engine. It is not modified while mapped: entries are only
    // ever replaced by rename.
    unsafe { Component::deserialize_file(engine, path) }
}

fn store(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    let mut tmp = tempfile::NamedTempFile::new_in(path.parent().unwrap_or(Path::new(".")))?;
    tmp.write_all(&bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map(drop).map_err(|e| e.error)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}
