//! An [`ObjectStore`] on CDF Files, so the registry can keep artifacts in
//! CDF.
//!
//! - a path `p` is the file with external id `<base>/p` (`base` is the data
//!   set's external id, plus an optional prefix), named after the last
//!   segment of `p`, in directory `/<base>/<parent of p>`, in the data set;
//! - the size, which CDF Files does not keep, is in metadata `mlops_size`;
//! - a write creates the file and uploads its bytes, then waits until CDF
//!   marks it uploaded, so a read that follows sees it; files not (yet)
//!   uploaded are invisible (reads say not found, lists skip them);
//! - `PutMode::Create` is `overwrite=false`: CDF's 409 on an existing
//!   external id is `AlreadyExists`, which gives atomic version claims;
//! - multipart writes are gathered in memory and sent at completion (CDF
//!   needs the number of parts up front);
//! - ranges are cut from the whole file.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, TimeZone as _, Utc};
use futures::stream::BoxStream;
use futures::{FutureExt as _, StreamExt as _};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, UploadPart,
};
use tokio::sync::OnceCell;

use crate::files::{FileFilter, FileInfo, FileRef, FileSpec};
use crate::{CdfClient, CdfError};

/// The metadata key holding a file's size.
pub const SIZE_KEY: &str = "mlops_size";

/// The registry's default data set.
pub const DEFAULT_DATA_SET: &str = "mlops";

/// CDF Files as an object store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CdfStore(Arc<StoreInner>);

#[derive(Debug)]
struct StoreInner {
    client: CdfClient,
    data_set: String,
    /// `<data set>/` or `<data set>/<prefix>/`.
    base: String,
    data_set_id: OnceCell<i64>,
}

impl CdfStore {
    /// A store in data set `data_set` (created on first write when it does
    /// not exist), under external ids starting with `<data_set>/<prefix>/`.
    pub fn new(client: CdfClient, data_set: &str, prefix: &str) -> Result<CdfStore, CdfError> {
        if data_set.is_empty() || data_set.contains('/') {
            return Err(CdfError::Config(format!("`{data_set}` is not a data set external id")));
        }
        let prefix = prefix.trim_matches('/');
        let base = if prefix.is_empty() {
            format!("{data_set}/")
        } else {
            format!("{data_set}/{prefix}/")
        };
        Ok(CdfStore(Arc::new(StoreInner {
            client,
            data_set: data_set.to_string(),
            base,
            data_set_id: OnceCell::new(),
        })))
    }

    /// Parses `cdf://[<data set>][/<prefix>]` (data set `mlops` when
    /// empty).
    pub fn from_url(client: CdfClient, url: &str) -> Result<CdfStore, CdfError> {
        let rest = url
            .strip_prefix("cdf://")
            .ok_or_else(|| CdfError::Config(format!("`{url}` is not a cdf:// URL")))?;
        let (data_set, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let data_set = if data_set.is_empty() { DEFAULT_DATA_SET } else { data_set };
        CdfStore::new(client, data_set, prefix)
    }

    pub fn client(&self) -> &CdfClient {
        &self.0.client
    }

    /// The external id of `path`.
    pub fn external_id(&self, path: &Path) -> String {
        format!("{}{path}", self.0.base)
    }

    async fn data_set_id(&self) -> Result<i64, CdfError> {
        self.0
            .data_set_id
            .get_or_try_init(|| self.0.client.data_set_id(&self.0.data_set, true))
            .await
            .copied()
    }

    fn path_of(&self, info: &FileInfo) -> Option<Path> {
        let x = info.external_id.as_deref()?.strip_prefix(&self.0.base)?;
        Path::parse(x).ok()
    }

    fn meta(&self, info: &FileInfo, location: Path) -> ObjectMeta {
        let time = info.uploaded_time.unwrap_or(info.last_updated_time);
        ObjectMeta {
            location,
            last_modified: millis(time),
            size: info.metadata.get(SIZE_KEY).and_then(|s| s.parse().ok()).unwrap_or(0),
            e_tag: Some(format!("{}-{}", info.id, info.last_updated_time)),
            version: None,
        }
    }

    /// The uploaded file at `path`, or `NotFound`.
    async fn find(&self, path: &Path) -> object_store::Result<FileInfo> {
        let xid = self.external_id(path);
        match self
            .0
            .client
            .file(&FileRef::ExternalId(xid))
            .await
            .map_err(|e| store_error(path, e))?
        {
            Some(info) if info.uploaded => Ok(info),
            _ => Err(not_found(path)),
        }
    }

    async fn write(
        &self,
        path: &Path,
        bytes: Bytes,
        overwrite: bool,
    ) -> object_store::Result<PutResult> {
        let id = self.data_set_id().await.map_err(|e| store_error(path, e))?;
        let xid = self.external_id(path);
        let (directory, name) = match xid.rsplit_once('/') {
            Some((dir, name)) => (format!("/{dir}"), name.to_string()),
            None => ("/".to_string(), xid.clone()),
        };
        let mime =
            if name.ends_with(".json") { "application/json" } else { "application/octet-stream" };
        let spec = FileSpec {
            name,
            external_id: Some(xid.clone()),
            directory: Some(directory),
            source: Some("mlops-host".into()),
            mime_type: Some(mime.into()),
            metadata: BTreeMap::from([(SIZE_KEY.to_string(), bytes.len().to_string())]),
            data_set_id: Some(id),
        };
        let client = &self.0.client;
        let info = match client.upload_file(&spec, bytes, overwrite).await {
            Ok(info) => info,
            Err(e) if e.is_duplicated() => {
                return Err(object_store::Error::AlreadyExists {
                    path: path.to_string(),
                    source: Box::new(e),
                });
            }
            Err(e) => return Err(store_error(path, e)),
        };
        let info = client
            .await_uploaded(&FileRef::Id(info.id), client.config().upload_wait)
            .await
            .map_err(|e| store_error(path, e))?;
        Ok(PutResult {
            e_tag: Some(format!("{}-{}", info.id, info.last_updated_time)),
            version: None,
            extensions: Default::default(),
        })
    }

    async fn list_all(&self, prefix: Option<&Path>) -> object_store::Result<Vec<ObjectMeta>> {
        let mut xprefix = self.0.base.clone();
        if let Some(p) = prefix.filter(|p| !p.as_ref().is_empty()) {
            // Whole segments only: `a/b` lists `a/b/…`, not `a/bc`.
            xprefix.push_str(p.as_ref());
            xprefix.push('/');
        }
        let filter = FileFilter {
            external_id_prefix: Some(xprefix),
            uploaded: Some(true),
            ..Default::default()
        };
        let files = self
            .0
            .client
            .list_files(&filter, None)
            .await
            .map_err(|e| store_error(&Path::from(""), e))?;
        let mut out: Vec<ObjectMeta> =
            files.iter().filter_map(|f| self.path_of(f).map(|p| self.meta(f, p))).collect();
        out.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(out)
    }
}

fn millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn not_found(path: &Path) -> object_store::Error {
    object_store::Error::NotFound {
        path: path.to_string(),
        source: "no uploaded CDF file has this external id".into(),
    }
}

fn store_error(path: &Path, e: CdfError) -> object_store::Error {
    if e.is_missing() {
        return object_store::Error::NotFound { path: path.to_string(), source: Box::new(e) };
    }
    object_store::Error::Generic { store: "CDF", source: Box::new(e) }
}

impl std::fmt::Display for CdfStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.0.client.config();
        write!(f, "CDF({}/{}, {})", c.base_url, c.project, self.0.base)
    }
}

#[async_trait]
impl ObjectStore for CdfStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let overwrite = match opts.mode {
            PutMode::Overwrite => true,
            PutMode::Create => false,
            PutMode::Update(_) => {
                return Err(object_store::Error::NotImplemented {
                    operation: "put with PutMode::Update".into(),
                    implementer: "CdfStore".into(),
                });
            }
        };
        self.write(location, Bytes::from(payload), overwrite).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        _opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        Ok(Box::new(Gathered {
            store: self.clone(),
            location: location.clone(),
            parts: Vec::new(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let info = self.find(location).await?;
        let meta = self.meta(&info, location.clone());
        if let Some(want) = &options.if_match
            && meta.e_tag.as_ref() != Some(want)
        {
            return Err(object_store::Error::Precondition {
                path: location.to_string(),
                source: format!("e-tag is {:?}, not {want}", meta.e_tag).into(),
            });
        }
        if options.head {
            let range = 0..meta.size;
            return Ok(GetResult {
                payload: GetResultPayload::Stream(futures::stream::empty().boxed()),
                meta,
                range,
                attributes: Default::default(),
                extensions: Default::default(),
            });
        }
        let bytes = self
            .0
            .client
            .download(&FileRef::Id(info.id))
            .await
            .map_err(|e| store_error(location, e))?;
        let size = bytes.len() as u64;
        let range: Range<u64> = match &options.range {
            None => 0..size,
            Some(GetRange::Bounded(r)) => r.start.min(size)..r.end.min(size),
            Some(GetRange::Offset(o)) => (*o).min(size)..size,
            Some(GetRange::Suffix(n)) => size.saturating_sub(*n)..size,
        };
        if range.start > range.end {
            return Err(object_store::Error::Generic {
                store: "CDF",
                source: format!("range {range:?} is not valid for {size} bytes").into(),
            });
        }
        let part = bytes.slice(range.start as usize..range.end as usize);
        let meta = ObjectMeta { size, ..meta };
        Ok(GetResult {
            payload: GetResultPayload::Stream(
                futures::stream::once(async move { Ok(part) }).boxed(),
            ),
            meta,
            range,
            attributes: Default::default(),
            extensions: Default::default(),
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let store = self.clone();
        locations
            .map(move |location| {
                let store = store.clone();
                async move {
                    let location = location?;
                    let xid = store.external_id(&location);
                    store
                        .0
                        .client
                        .delete_files(&[FileRef::ExternalId(xid)], true)
                        .await
                        .map_err(|e| store_error(&location, e))?;
                    Ok(location)
                }
            })
            .buffered(4)
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let store = self.clone();
        let prefix = prefix.cloned();
        async move { store.list_all(prefix.as_ref()).await }
            .map(|r| match r {
                Ok(items) => futures::stream::iter(items.into_iter().map(Ok)).boxed(),
                Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
            })
            .flatten_stream()
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let all = self.list_all(prefix).await?;
        let depth = prefix.map_or(0, |p| p.parts().count());
        let mut common = std::collections::BTreeSet::new();
        let mut objects = Vec::new();
        for meta in all {
            let parts: Vec<_> = meta.location.parts().collect();
            if parts.len() == depth + 1 {
                objects.push(meta);
            } else if parts.len() > depth + 1 {
                common.insert(Path::from_iter(parts.into_iter().take(depth + 1)));
            }
        }
        Ok(ListResult {
            common_prefixes: common.into_iter().collect(),
            objects,
            extensions: Default::default(),
        })
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let info = self.find(from).await?;
        let bytes = self
            .0
            .client
            .download(&FileRef::Id(info.id))
            .await
            .map_err(|e| store_error(from, e))?;
        self.write(to, bytes, matches!(options.mode, CopyMode::Overwrite)).await.map(|_| ())
    }
}

/// A multipart write, gathered until complete.
#[derive(Debug)]
struct Gathered {
    store: CdfStore,
    location: Path,
    parts: Vec<PutPayload>,
}

#[async_trait]
impl MultipartUpload for Gathered {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts.push(data);
        async { Ok(()) }.boxed()
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let size = self.parts.iter().map(PutPayload::content_length).sum();
        let mut all = BytesMut::with_capacity(size);
        for part in self.parts.drain(..) {
            for chunk in &part {
                all.extend_from_slice(chunk);
            }
        }
        self.store.write(&self.location, all.freeze(), true).await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.parts.clear();
        Ok(())
    }
}
