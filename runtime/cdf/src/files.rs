//! CDF Files: create and upload (single part or multipart), retrieve, list,
//! update metadata, download, delete.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{CdfClient, CdfError};

/// A file by CDF id or by external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRef {
    Id(i64),
    ExternalId(String),
}

impl FileRef {
    pub fn external(id: impl Into<String>) -> FileRef {
        FileRef::ExternalId(id.into())
    }

    fn to_json(&self) -> Value {
        match self {
            FileRef::Id(id) => json!({ "id": id }),
            FileRef::ExternalId(x) => json!({ "externalId": x }),
        }
    }
}

impl std::fmt::Display for FileRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileRef::Id(id) => write!(f, "id {id}"),
            FileRef::ExternalId(x) => write!(f, "`{x}`"),
        }
    }
}

/// The fields of a new file.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSpec {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_set_id: Option<i64>,
}

/// A file as CDF describes it (unknown fields ignored).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    pub id: i64,
    #[serde(default)]
    pub external_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub directory: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub data_set_id: Option<i64>,
    #[serde(default)]
    pub uploaded: bool,
    #[serde(default)]
    pub uploaded_time: Option<i64>,
    pub created_time: i64,
    pub last_updated_time: i64,
}

/// A filter for [`CdfClient::list_files`]; every field set must match.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "ids")]
    pub data_set_ids: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<bool>,
}

fn ids<S: serde::Serializer>(ids: &[i64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|id| json!({ "id": id })))
}

/// CDF's documented limits on file fields and metadata.
pub mod limits {
    pub const NAME: usize = 256;
    pub const EXTERNAL_ID: usize = 255;
    pub const DIRECTORY: usize = 512;
    pub const SOURCE: usize = 128;
    pub const MIME_TYPE: usize = 256;
    pub const METADATA_KEY: usize = 128;
    pub const METADATA_VALUE: usize = 10_240;
    pub const METADATA_PAIRS: usize = 256;
    pub const METADATA_TOTAL: usize = 10_240;
    /// Parts of a multipart upload.
    pub const PARTS: u64 = 250;
    /// Every part but the last is at least this large.
    pub const MIN_PART: u64 = 5 << 20;
    /// Items per byids/list/delete request.
    pub const ITEMS: usize = 1000;
    /// Items per downloadlink request.
    pub const DOWNLOAD_LINKS: usize = 100;
}

/// Checks metadata against CDF's limits, naming the offending entry.
pub fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), CdfError> {
    if metadata.len() > limits::METADATA_PAIRS {
        return Err(CdfError::Invalid(format!(
            "metadata has {} entries; CDF allows at most {}",
            metadata.len(),
            limits::METADATA_PAIRS
        )));
    }
    let mut total = 0;
    for (k, v) in metadata {
        if k.len() > limits::METADATA_KEY {
            return Err(CdfError::Invalid(format!(
                "metadata key `{k}` is {} bytes; CDF allows at most {}",
                k.len(),
                limits::METADATA_KEY
            )));
        }
        if v.len() > limits::METADATA_VALUE {
            return Err(CdfError::Invalid(format!(
                "metadata value of `{k}` is {} bytes; CDF allows at most {}",
                v.len(),
                limits::METADATA_VALUE
            )));
        }
        total += k.len() + v.len();
    }
    if total > limits::METADATA_TOTAL {
        return Err(CdfError::Invalid(format!(
            "metadata totals {total} bytes; CDF allows at most {} for all keys and values",
            limits::METADATA_TOTAL
        )));
    }
    Ok(())
}

impl FileSpec {
    /// Checks the fields against CDF's limits before anything is sent.
    pub fn check(&self) -> Result<(), CdfError> {
        let long = |what: &str, value: &str, max: usize| {
            (value.chars().count() > max).then(|| {
                CdfError::Invalid(format!(
                    "file {what} `{value}` is longer than CDF's {max} characters"
                ))
            })
        };
        if self.name.is_empty() {
            return Err(CdfError::Invalid("a file needs a name".into()));
        }
        let checks = [
            long("name", &self.name, limits::NAME),
            self.external_id.as_deref().and_then(|x| long("external id", x, limits::EXTERNAL_ID)),
            self.directory.as_deref().and_then(|x| long("directory", x, limits::DIRECTORY)),
            self.source.as_deref().and_then(|x| long("source", x, limits::SOURCE)),
            self.mime_type.as_deref().and_then(|x| long("MIME type", x, limits::MIME_TYPE)),
        ];
        if let Some(e) = checks.into_iter().flatten().next() {
            return Err(e);
        }
        check_metadata(&self.metadata)
    }
}

fn items<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<Vec<T>, CdfError> {
    let items = match value {
        Value::Object(mut map) => map.remove("items").unwrap_or(Value::Null),
        _ => Value::Null,
    };
    serde_json::from_value(items)
        .map_err(|e| CdfError::Decode { what: what.to_string(), message: e.to_string() })
}

/// Reads a file object that may come bare or wrapped in `items` (CDF and
/// its spec disagree for some endpoints).
fn lenient_file(value: Value, what: &str) -> Result<(FileInfo, Value), CdfError> {
    let object = match value {
        Value::Object(mut map) if map.contains_key("items") => match map.remove("items") {
            Some(Value::Array(mut a)) if !a.is_empty() => a.swap_remove(0),
            _ => Value::Null,
        },
        other => other,
    };
    let info = serde_json::from_value(object.clone())
        .map_err(|e| CdfError::Decode { what: what.to_string(), message: e.to_string() })?;
    Ok((info, object))
}

/// The part size for a multipart upload of `size` bytes: the Python SDK's
/// rule (at least `preferred`, at most 250 parts), never below CDF's 5 MiB.
pub fn part_size(size: u64, preferred: u64) -> u64 {
    preferred.max(limits::MIN_PART).max(size.div_ceil(limits::PARTS))
}

impl CdfClient {
    /// Creates a file and uploads its bytes: in one PUT, or in parts above
    /// the configured threshold. With `overwrite`, an existing file with the
    /// same external id keeps its old content until the new upload
    /// succeeds; without it, an existing external id is a
    /// [`CdfError::is_duplicated`] error. When the bytes cannot be
    /// uploaded, a file this call created is deleted again: nothing
    /// half-written remains.
    pub async fn upload_file(
        &self,
        spec: &FileSpec,
        bytes: Bytes,
        overwrite: bool,
    ) -> Result<FileInfo, CdfError> {
        spec.check()?;
        let body = serde_json::to_value(spec).map_err(|e| CdfError::Invalid(e.to_string()))?;
        let size = bytes.len() as u64;
        let config = self.config();
        let multipart = size > config.multipart_threshold;
        let query = [("overwrite", overwrite.to_string())];
        let (info, result) = if multipart {
            let part = part_size(size, config.multipart_part_size);
            let parts = size.div_ceil(part);
            let mut query = query.to_vec();
            query.push(("parts", parts.to_string()));
            let created = self
                .call(Method::POST, "/files/initmultipartupload", &query, Some(&body), true)
                .await?;
            let (info, raw) = lenient_file(created, "POST /files/initmultipartupload")?;
            let upload_id = raw["uploadId"].as_str().map(str::to_string);
            let urls: Vec<String> = raw["uploadUrls"]
                .as_array()
                .map(|a| a.iter().filter_map(|u| u.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let result = match upload_id {
                Some(upload_id) if urls.len() as u64 == parts => {
                    self.upload_parts(info.id, &upload_id, &urls, bytes, part).await
                }
                _ => Err(CdfError::Decode {
                    what: "POST /files/initmultipartupload".into(),
                    message: format!("expected an uploadId and {parts} uploadUrls"),
                }),
            };
            (info, result)
        } else {
            let created = self.call(Method::POST, "/files", &query, Some(&body), false).await?;
            let (info, raw) = lenient_file(created, "POST /files")?;
            let result = match raw["uploadUrl"].as_str() {
                Some(url) => self.put_bytes(url, bytes, spec.mime_type.as_deref()).await,
                None => Err(CdfError::Decode {
                    what: "POST /files".into(),
                    message: "no uploadUrl".into(),
                }),
            };
            (info, result)
        };
        match result {
            Ok(()) => Ok(info),
            Err(error) => {
                // A new file without content is a half-written file: remove
                // it. (An overwritten one keeps its old content: leave it.)
                if !overwrite && let Err(e) = self.delete_files(&[FileRef::Id(info.id)], true).await
                {
                    tracing::warn!(
                        file = info.id,
                        "could not remove a file whose upload failed: {e}"
                    );
                }
                Err(error)
            }
        }
    }

    async fn upload_parts(
        &self,
        id: i64,
        upload_id: &str,
        urls: &[String],
        bytes: Bytes,
        part: u64,
    ) -> Result<(), CdfError> {
        use futures::{StreamExt as _, TryStreamExt as _};
        let part = part as usize;
        let puts: Vec<_> = urls
            .iter()
            .enumerate()
            .map(|(i, url)| {
                let (client, url) = (self.clone(), url.clone());
                let chunk = bytes.slice(i * part..((i + 1) * part).min(bytes.len()));
                // Part PUTs carry no Content-Type: signed URLs may pin it.
                async move { client.put_bytes(&url, chunk, None).await }
            })
            .collect();
        futures::stream::iter(puts).buffer_unordered(3).try_collect::<Vec<()>>().await?;
        let body = json!({ "id": id, "uploadId": upload_id });
        self.call(Method::POST, "/files/completemultipartupload", &[], Some(&body), true).await?;
        Ok(())
    }

    /// Files by id or external id, in the order asked. Unknown ones are an
    /// error ([`CdfError::is_missing`]) unless `ignore_unknown`.
    pub async fn files_by_ids(
        &self,
        refs: &[FileRef],
        ignore_unknown: bool,
    ) -> Result<Vec<FileInfo>, CdfError> {
        let mut out = Vec::with_capacity(refs.len());
        for chunk in refs.chunks(limits::ITEMS) {
            let body = json!({
                "items": chunk.iter().map(FileRef::to_json).collect::<Vec<_>>(),
                "ignoreUnknownIds": ignore_unknown,
            });
            let answer = self.call(Method::POST, "/files/byids", &[], Some(&body), true).await?;
            out.extend(items::<FileInfo>(answer, "POST /files/byids")?);
        }
        Ok(out)
    }

    /// One file, or `None` when CDF does not know it.
    pub async fn file(&self, file: &FileRef) -> Result<Option<FileInfo>, CdfError> {
        Ok(self.files_by_ids(std::slice::from_ref(file), true).await?.into_iter().next())
    }

    /// Every file matching `filter` (following cursors), at most `limit`.
    pub async fn list_files(
        &self,
        filter: &FileFilter,
        limit: Option<usize>,
    ) -> Result<Vec<FileInfo>, CdfError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.config().list_page.clamp(1, limits::ITEMS);
            let want = limit.map_or(page, |l| (l - out.len()).min(page));
            let mut body = json!({ "filter": filter, "limit": want });
            if let Some(c) = &cursor {
                body["cursor"] = json!(c);
            }
            let mut answer = self.call(Method::POST, "/files/list", &[], Some(&body), true).await?;
            let next = answer.get_mut("nextCursor").and_then(|c| c.as_str().map(str::to_string));
            out.extend(items::<FileInfo>(answer, "POST /files/list")?);
            match next.filter(|c| !c.is_empty()) {
                Some(c) if limit.is_none_or(|l| out.len() < l) => cursor = Some(c),
                _ => return Ok(out),
            }
        }
    }

    /// Adds or replaces the metadata keys in `set` and removes those in
    /// `remove`; other keys stay.
    pub async fn update_file_metadata(
        &self,
        file: &FileRef,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<FileInfo, CdfError> {
        check_metadata(set)?;
        let mut item = file.to_json();
        item["update"] = json!({ "metadata": { "add": set, "remove": remove } });
        let answer = self
            .call(Method::POST, "/files/update", &[], Some(&json!({ "items": [item] })), true)
            .await?;
        items::<FileInfo>(answer, "POST /files/update")?.into_iter().next().ok_or_else(|| {
            CdfError::Decode { what: "POST /files/update".into(), message: "no item".into() }
        })
    }

    /// Deletes files; unknown ones are an error unless `ignore_unknown`.
    pub async fn delete_files(
        &self,
        refs: &[FileRef],
        ignore_unknown: bool,
    ) -> Result<(), CdfError> {
        for chunk in refs.chunks(limits::ITEMS) {
            let body = json!({
                "items": chunk.iter().map(FileRef::to_json).collect::<Vec<_>>(),
                "ignoreUnknownIds": ignore_unknown,
            });
            // Ignoring unknown ids, a repeated delete does what the first
            // did: safe to retry on 5xx.
            self.call(Method::POST, "/files/delete", &[], Some(&body), ignore_unknown).await?;
        }
        Ok(())
    }

    /// A short-lived download URL for each file, in order.
    pub async fn download_links(&self, refs: &[FileRef]) -> Result<Vec<String>, CdfError> {
        let mut out = Vec::with_capacity(refs.len());
        for chunk in refs.chunks(limits::DOWNLOAD_LINKS) {
            let body = json!({ "items": chunk.iter().map(FileRef::to_json).collect::<Vec<_>>() });
            let answer =
                self.call(Method::POST, "/files/downloadlink", &[], Some(&body), true).await?;
            let links: Vec<Value> = items(answer, "POST /files/downloadlink")?;
            if links.len() != chunk.len() {
                return Err(CdfError::Decode {
                    what: "POST /files/downloadlink".into(),
                    message: format!("asked for {} links, got {}", chunk.len(), links.len()),
                });
            }
            for link in links {
                let url = link["downloadUrl"].as_str().ok_or_else(|| CdfError::Decode {
                    what: "POST /files/downloadlink".into(),
                    message: "an item has no downloadUrl".into(),
                })?;
                out.push(url.to_string());
            }
        }
        Ok(out)
    }

    /// A file's content.
    pub async fn download(&self, file: &FileRef) -> Result<Bytes, CdfError> {
        let links = self.download_links(std::slice::from_ref(file)).await?;
        match links.first() {
            Some(url) => self.get_bytes(url).await,
            None => Err(CdfError::Decode {
                what: "POST /files/downloadlink".into(),
                message: "no link".into(),
            }),
        }
    }

    /// Waits until CDF marks the file uploaded (it does so some time after
    /// the bytes arrive), polling with a doubling pause.
    pub async fn await_uploaded(
        &self,
        file: &FileRef,
        within: Duration,
    ) -> Result<FileInfo, CdfError> {
        let deadline = Instant::now() + within;
        let mut pause = Duration::from_millis(20);
        loop {
            let info = self.files_by_ids(std::slice::from_ref(file), false).await?;
            if let Some(info) = info.into_iter().next().filter(|f| f.uploaded) {
                return Ok(info);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(CdfError::NotUploaded { what: file.to_string(), after: within });
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }
}
