//! What the registry stores besides blobs: artifact manifests and service
//! records, as versioned JSON documents.

use std::collections::BTreeMap;

use mlops_manifest::{
    Env, ExternalId, Limits, ModelId, ModelName, PredictionFiles, SecretName, ServiceKind, Version,
};
use serde::{Deserialize, Serialize};

use crate::RegistryError;

pub const ARTIFACT_FORMAT: &str = "mlops-artifact/1";
pub const SERVICE_FORMAT: &str = "mlops-service/1";

/// One file of an artifact version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactFile {
    /// Relative, `/`-separated, without `.` or `..` parts.
    pub path: String,
    pub size: u64,
    /// blake3 of the content, hex: the blob's name.
    pub blake3: String,
}

/// `models/<model>/<env>/<version>.json`: the files of one artifact version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactManifest {
    pub format: String,
    pub model: ModelName,
    pub env: Env,
    pub version: Version,
    pub files: Vec<ArtifactFile>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// RFC 3339, UTC.
    pub created: String,
    pub created_by: String,
    /// The model id this version was promoted from, if it was.
    #[serde(default)]
    pub promoted_from: Option<ModelId>,
    /// Set when the version was deleted: the number stays taken (this
    /// record is its tombstone), the files may be gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Deletion>,
}

/// When and by whom a version was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deletion {
    /// RFC 3339, UTC.
    pub at: String,
    pub by: String,
}

/// Decodes a stored artifact manifest and checks it is the one asked for
/// and safe to use (what reading a version does). Never panics, whatever
/// the bytes.
pub fn decode_manifest(bytes: &[u8], want: &ModelId) -> Result<ArtifactManifest, RegistryError> {
    let manifest: ArtifactManifest =
        crate::from_json(bytes, || format!("artifact manifest {want}"))?;
    manifest.check(want)?;
    Ok(manifest)
}

/// Decodes a stored service record and checks it (what reading a service
/// does). Never panics, whatever the bytes.
pub fn decode_service_record(
    bytes: &[u8],
    want: &ExternalId,
) -> Result<ServiceRecord, RegistryError> {
    let record: ServiceRecord = crate::from_json(bytes, || format!("service record {want}"))?;
    record.check(want)?;
    Ok(record)
}

impl ArtifactManifest {
    pub fn model_id(&self) -> ModelId {
        ModelId { model: self.model.clone(), env: self.env, version: self.version }
    }

    /// Whether the version is live (not deleted).
    pub fn is_live(&self) -> bool {
        self.deleted.is_none()
    }

    /// Whether two manifests hold the same files.
    pub fn same_files(&self, other: &ArtifactManifest) -> bool {
        let key = |m: &ArtifactManifest| {
            let mut files: Vec<(String, String)> =
                m.files.iter().map(|f| (f.path.clone(), f.blake3.clone())).collect();
            files.sort();
            files
        };
        key(self) == key(other)
    }

    /// Total bytes of the files.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Checks what a reader must not trust blindly: the format, that the
    /// manifest is where its content says, and that file paths stay inside
    /// the folder they will be written to.
    pub(crate) fn check(&self, want: &ModelId) -> Result<(), RegistryError> {
        let corrupt = |why: String| RegistryError::CorruptRecord {
            what: format!("artifact manifest {want}"),
            why,
        };
        if self.format != ARTIFACT_FORMAT {
            return Err(corrupt(format!(
                "format is `{}`, expected `{ARTIFACT_FORMAT}`",
                self.format
            )));
        }
        if &self.model_id() != want {
            return Err(corrupt(format!("it describes {} instead", self.model_id())));
        }
        for f in &self.files {
            if !is_safe_relative(&f.path) {
                return Err(corrupt(format!(
                    "file path `{}` is not a plain relative path",
                    f.path
                )));
            }
            if !is_digest(&f.blake3) {
                return Err(corrupt(format!("`{}` is not a blake3 digest", f.blake3)));
            }
        }
        Ok(())
    }
}

/// `path` as an artifact path: `/`-separated, only plain names (a leading
/// `./` is dropped), valid UTF-8 and [`is_safe_relative`]; `None` when it
/// is not one.
pub fn artifact_path(path: &std::path::Path) -> Option<String> {
    use std::path::Component;
    let parts: Option<Vec<&str>> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    parts.map(|p| p.join("/")).filter(|p| is_safe_relative(p))
}

/// Whether `path` is relative, `/`-separated and has no empty, `.` or `..`
/// parts.
pub fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.contains('\0')
        && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Whether `s` is a lowercase hex blake3 digest.
pub(crate) fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Limits as stored in a service record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsRecord {
    pub memory_bytes: u64,
    pub timeout_ms: u64,
    pub init_timeout_ms: u64,
    pub max_instances: u32,
    pub max_request_bytes: u64,
    #[serde(default = "default_max_output")]
    pub max_output_bytes: u64,
    #[serde(default = "default_max_response")]
    pub max_response_bytes: u64,
}

fn default_max_output() -> u64 {
    Limits::default().max_output_bytes
}

fn default_max_response() -> u64 {
    Limits::default().max_response_bytes
}

impl From<&Limits> for LimitsRecord {
    fn from(l: &Limits) -> Self {
        LimitsRecord {
            memory_bytes: l.memory_bytes,
            timeout_ms: u64::try_from(l.timeout.as_millis()).unwrap_or(u64::MAX),
            init_timeout_ms: u64::try_from(l.init_timeout.as_millis()).unwrap_or(u64::MAX),
            max_instances: l.max_instances,
            max_request_bytes: l.max_request_bytes,
            max_output_bytes: l.max_output_bytes,
            max_response_bytes: l.max_response_bytes,
        }
    }
}

impl From<&LimitsRecord> for Limits {
    fn from(l: &LimitsRecord) -> Self {
        Limits {
            memory_bytes: l.memory_bytes,
            timeout: std::time::Duration::from_millis(l.timeout_ms),
            init_timeout: std::time::Duration::from_millis(l.init_timeout_ms),
            max_instances: l.max_instances.max(1),
            max_request_bytes: l.max_request_bytes,
            max_output_bytes: l.max_output_bytes,
            max_response_bytes: l.max_response_bytes,
        }
    }
}

/// `services/<external-id>.json`: what a service runs and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRecord {
    pub format: String,
    pub external_id: ExternalId,
    /// For the latest alias: the pinned external id it points at.
    #[serde(default)]
    pub alias_of: Option<ExternalId>,
    pub model: ModelName,
    pub service: ServiceKind,
    pub env: Env,
    /// The artifact version the service runs.
    pub model_id: ModelId,
    /// blake3 of the component, hex (a blob).
    pub component: String,
    pub component_size: u64,
    pub human_friendly_model_name: String,
    pub description: String,
    pub owner: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub limits: LimitsRecord,
    #[serde(default)]
    pub secrets: Vec<SecretName>,
    /// Where `to_file` predictions go (the store when absent).
    #[serde(default, skip_serializing_if = "PredictionFiles::is_store")]
    pub prediction_files: PredictionFiles,
    /// blake3 of an example request (a blob): the first of the model's
    /// fixtures whose expected answer is ok, stored by the deploy that
    /// tested it, for the dashboard's form. Absent without fixtures (and in
    /// records older than it, which read as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// RFC 3339, UTC.
    pub deployed: String,
    pub deployed_by: String,
}

impl ServiceRecord {
    pub(crate) fn check(&self, want: &ExternalId) -> Result<(), RegistryError> {
        let corrupt = |why: String| RegistryError::CorruptRecord {
            what: format!("service record {want}"),
            why,
        };
        if self.format != SERVICE_FORMAT {
            return Err(corrupt(format!(
                "format is `{}`, expected `{SERVICE_FORMAT}`",
                self.format
            )));
        }
        if &self.external_id != want {
            return Err(corrupt(format!("it describes {} instead", self.external_id)));
        }
        if !is_digest(&self.component) {
            return Err(corrupt(format!("component `{}` is not a blake3 digest", self.component)));
        }
        if let Some(example) = self.example.as_deref().filter(|e| !is_digest(e)) {
            return Err(corrupt(format!("example `{example}` is not a blake3 digest")));
        }
        Ok(())
    }

    /// The same record under the latest alias of its service.
    pub fn as_alias(&self) -> ServiceRecord {
        ServiceRecord {
            external_id: self.external_id.alias(),
            alias_of: Some(self.external_id.clone()),
            ..self.clone()
        }
    }

    pub fn limits(&self) -> Limits {
        Limits::from(&self.limits)
    }

    /// Whether every tag appears in the description (case-insensitively,
    /// as the Python framework matched them) or is a metadata value.
    pub fn matches_tags(&self, tags: &[String]) -> bool {
        let description = self.description.to_lowercase();
        tags.iter().all(|t| {
            let t = t.to_lowercase();
            description.contains(&t) || self.metadata.values().any(|v| v.to_lowercase() == t)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_safe() {
        for ok in ["model.json", "sub/dir/file.bin", "a.b"] {
            assert!(is_safe_relative(ok), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a\\b", "a/"] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
    }
}
