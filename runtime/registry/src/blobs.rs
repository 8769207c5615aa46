//! Content-addressed blobs: stored under their blake3 name once, checked
//! against it on every read. Large files are hashed, then streamed up in
//! parts, and streamed down into a file while being hashed: memory use
//! does not grow with the artifact.

use std::path::Path;

use bytes::Bytes;
use object_store::{ObjectStoreExt as _, PutMode, PutOptions, PutPayload, WriteMultipart};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{Progress, Registry, RegistryError, Result, blob_path, records, store_err};

/// Files larger than this go up in parts.
const MULTIPART_THRESHOLD: u64 = 16 << 20;
/// Size of one part, and of the reads that fill it.
const CHUNK: usize = 8 << 20;

impl Registry {
    /// Stores `bytes` under their blake3 name (once) and returns the name.
    pub async fn put_blob(&self, bytes: Bytes) -> Result<String> {
        let digest = blake3::hash(&bytes).to_hex().to_string();
        if self.has_blob(&digest).await? {
            return Ok(digest);
        }
        let path = blob_path(&digest);
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.store.put_opts(&path, PutPayload::from_bytes(bytes), opts).await {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(digest),
            Err(source) => Err(store_err("put", &path, source)),
        }
    }

    /// Whether the store has the blob `digest`.
    pub async fn has_blob(&self, digest: &str) -> Result<bool> {
        Ok(self.blob_size(digest).await?.is_some())
    }

    /// The size of a blob, `None` if the store does not have it (one HEAD).
    pub async fn blob_size(&self, digest: &str) -> Result<Option<u64>> {
        let path = blob_path(digest);
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(store_err("head", &path, source)),
        }
    }

    /// Stores the content of `file` as a blob and returns (name, size).
    /// The file is read twice (to name it, then to send it) and checked to
    /// be unchanged in between.
    pub async fn put_blob_file(
        &self,
        file: &Path,
        progress: &dyn Progress,
    ) -> Result<(String, u64)> {
        let folder_err = |e: std::io::Error| RegistryError::Folder {
            path: file.to_path_buf(),
            why: e.to_string(),
        };
        let size = tokio::fs::metadata(file).await.map_err(folder_err)?.len();
        if size <= MULTIPART_THRESHOLD {
            let bytes = Bytes::from(tokio::fs::read(file).await.map_err(folder_err)?);
            if bytes.len() as u64 != size {
                return Err(changed(file));
            }
            let digest = self.put_blob(bytes).await?;
            progress.advance(size);
            return Ok((digest, size));
        }
        let digest = {
            let file = file.to_path_buf();
            tokio::task::spawn_blocking(move || -> std::io::Result<String> {
                let mut hasher = blake3::Hasher::new();
                hasher.update_reader(std::fs::File::open(&file)?)?;
                Ok(hasher.finalize().to_hex().to_string())
            })
            .await
            .map_err(|e| RegistryError::Io(format!("hashing task failed: {e}")))?
            .map_err(folder_err)?
        };
        if self.has_blob(&digest).await? {
            progress.advance(size);
            return Ok((digest, size));
        }
        let path = blob_path(&digest);
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(|source| store_err("put", &path, source))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK);
        let mut reader = tokio::fs::File::open(file).await.map_err(folder_err)?;
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; CHUNK];
        let mut sent = 0u64;
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(folder_err(e));
                }
            };
            hasher.update(&buf[..n]);
            if let Err(source) = writer.wait_for_capacity(4).await {
                return Err(store_err("put", &path, source));
            }
            writer.write(&buf[..n]);
            sent += n as u64;
            progress.advance(n as u64);
        }
        if sent != size || hasher.finalize().to_hex().as_str() != digest {
            let _ = writer.abort().await;
            return Err(changed(file));
        }
        writer.finish().await.map_err(|source| store_err("put", &path, source))?;
        Ok((digest, size))
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

    /// Streams a blob into `dest` (a new file), checking it against its
    /// name; on a mismatch the file is removed.
    pub async fn get_blob_to_file(
        &self,
        digest: &str,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<u64> {
        use futures::StreamExt as _;
        let path = blob_path(digest);
        let result = match self.store.get(&path).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(RegistryError::NotFound { what: format!("blob {digest}") });
            }
            Err(source) => return Err(store_err("get", &path, source)),
        };
        let dest_err = |e: std::io::Error| RegistryError::Folder {
            path: dest.to_path_buf(),
            why: e.to_string(),
        };
        let mut out = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dest)
            .await
            .map_err(dest_err)?;
        let mut hasher = blake3::Hasher::new();
        let mut stream = result.into_stream();
        let mut size = 0u64;
        let outcome: Result<()> = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|source| store_err("read", &path, source))?;
                hasher.update(&chunk);
                out.write_all(&chunk).await.map_err(dest_err)?;
                size += chunk.len() as u64;
                progress.advance(chunk.len() as u64);
            }
            out.flush().await.map_err(dest_err)?;
            let actual = hasher.finalize().to_hex().to_string();
            if actual != digest {
                return Err(RegistryError::CorruptBlob { digest: digest.to_string(), actual });
            }
            Ok(())
        }
        .await;
        if let Err(e) = outcome {
            drop(out);
            let _ = tokio::fs::remove_file(dest).await;
            return Err(e);
        }
        Ok(size)
    }
}

fn changed(file: &Path) -> RegistryError {
    RegistryError::Folder {
        path: file.to_path_buf(),
        why: "the file changed while it was being uploaded; retry".into(),
    }
}
