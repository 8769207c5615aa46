//! Sandbox limits per model, and the metadata limits of CDF.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::{Problem, ServiceInfo, position};

/// What one model may use. Defaults are safe for small models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory, summed over the instance's memories.
    pub memory_bytes: u64,
    /// Deadline of one `predict` or `train` call.
    pub timeout: Duration,
    /// Deadline of `initialization`.
    pub init_timeout: Duration,
    /// Instances kept for concurrent calls (each initialised once).
    pub max_instances: u32,
    /// Largest request body accepted.
    pub max_request_bytes: u64,
    /// Most a training run may write into its output folder.
    pub max_output_bytes: u64,
    /// Largest prediction a model may return (its data, before encoding).
    pub max_response_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            timeout: Duration::from_secs(10),
            init_timeout: Duration::from_secs(60),
            max_instances: 4,
            max_request_bytes: 16 << 20,
            max_output_bytes: 1 << 30,
            max_response_bytes: 64 << 20,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    #[serde(default)]
    memory_mb: Option<Spanned<u64>>,
    #[serde(default)]
    timeout_ms: Option<Spanned<u64>>,
    #[serde(default)]
    init_timeout_ms: Option<Spanned<u64>>,
    #[serde(default)]
    max_instances: Option<Spanned<u32>>,
    #[serde(default)]
    max_request_mb: Option<Spanned<u64>>,
    #[serde(default)]
    max_output_mb: Option<Spanned<u64>>,
    #[serde(default)]
    max_response_mb: Option<Spanned<u64>>,
}

/// Sets one limit from its settings value.
type Apply = fn(&mut Limits, u64);

/// Each limit as a settings file writes it: key, bounds, and what it sets.
const KEYS: &[(&str, u64, u64, Apply)] = &[
    ("memory_mb", 1, 16 * 1024, |l, v| l.memory_bytes = v << 20),
    ("timeout_ms", 1, 3_600_000, |l, v| l.timeout = Duration::from_millis(v)),
    ("init_timeout_ms", 1, 3_600_000, |l, v| l.init_timeout = Duration::from_millis(v)),
    ("max_instances", 1, 256, |l, v| l.max_instances = u32::try_from(v).unwrap_or(u32::MAX)),
    ("max_request_mb", 1, 1024, |l, v| l.max_request_bytes = v << 20),
    ("max_output_mb", 1, 1024 * 1024, |l, v| l.max_output_bytes = v << 20),
    ("max_response_mb", 1, 4096, |l, v| l.max_response_bytes = v << 20),
];

/// Sets limit `key` to `value` if it is one and within its bounds; else
/// says what is wrong and what to write instead.
fn set(limits: &mut Limits, key: &str, value: u64) -> Result<(), (String, String)> {
    let Some((_, lo, hi, apply)) = KEYS.iter().find(|(k, ..)| *k == key) else {
        let known: Vec<&str> = KEYS.iter().map(|(k, ..)| *k).collect();
        return Err((format!("limits.{key} is not a limit"), format!("use {}", known.join(", "))));
    };
    if !(*lo..=*hi).contains(&value) {
        return Err((
            format!("limits.{key} is {value}, outside {lo}..={hi}"),
            format!(
                "set a value from {lo} to {hi}, or remove `{key}` for the default ({})",
                default_of(key)
            ),
        ));
    }
    apply(limits, value);
    Ok(())
}

impl Limits {
    /// Limits written as a settings file's `limits:` writes them
    /// (`memory_mb`, `timeout_ms`…), from another source than a settings
    /// file (the admin API's JSON); unset ones keep their defaults.
    pub fn from_settings_keys<'a>(
        keys: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Result<Limits, String> {
        let mut limits = Limits::default();
        for (key, value) in keys {
            set(&mut limits, key, value).map_err(|(what, fix)| format!("{what}: {fix}"))?;
        }
        Ok(limits)
    }
}

impl RawLimits {
    pub(crate) fn check(&self, path: &Path, problems: &mut Vec<Problem>) -> Limits {
        let mut limits = Limits::default();
        let instances = self.max_instances.as_ref().map(|s| Spanned {
            value: u64::from(s.value),
            referenced: s.referenced,
            defined: s.defined,
        });
        let given = [
            ("memory_mb", self.memory_mb.as_ref()),
            ("timeout_ms", self.timeout_ms.as_ref()),
            ("init_timeout_ms", self.init_timeout_ms.as_ref()),
            ("max_instances", instances.as_ref()),
            ("max_request_mb", self.max_request_mb.as_ref()),
            ("max_output_mb", self.max_output_mb.as_ref()),
            ("max_response_mb", self.max_response_mb.as_ref()),
        ];
        for (key, value) in given {
            let Some(v) = value else { continue };
            if let Err((what, fix)) = set(&mut limits, key, v.value) {
                problems.push(Problem::at(&position(path, v.referenced), what, fix));
            }
        }
        limits
    }
}

/// The default of a limit, as a user would write it.
fn default_of(key: &str) -> String {
    let d = Limits::default();
    match key {
        "memory_mb" => (d.memory_bytes >> 20).to_string(),
        "timeout_ms" => d.timeout.as_millis().to_string(),
        "init_timeout_ms" => d.init_timeout.as_millis().to_string(),
        "max_instances" => d.max_instances.to_string(),
        "max_request_mb" => (d.max_request_bytes >> 20).to_string(),
        "max_output_mb" => (d.max_output_bytes >> 20).to_string(),
        "max_response_mb" => (d.max_response_bytes >> 20).to_string(),
        _ => "none".to_string(),
    }
}

/// Limits on a service's description, owner and metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadataLimits {
    pub max_pairs: usize,
    pub max_key_chars: usize,
    pub max_value_chars: usize,
    pub max_total_bytes: usize,
    pub max_description_chars: usize,
    pub max_owner_chars: usize,
}

/// Keys the host adds to every service's metadata.
pub const RESERVED_METADATA_KEYS: [&str; 2] = ["version", "model_id"];

impl MetadataLimits {
    /// CDF Functions' limits (16 pairs, keys ≤ 32 characters, values ≤ 512,
    /// 4,096 bytes in all), less the keys the host reserves.
    pub const CDF_FUNCTIONS: MetadataLimits = MetadataLimits {
        max_pairs: 16 - RESERVED_METADATA_KEYS.len(),
        max_key_chars: 32,
        max_value_chars: 512,
        max_total_bytes: 4096,
        max_description_chars: 500,
        max_owner_chars: 128,
    };

    /// Every way `info` breaks these limits, as messages.
    pub fn violations(&self, info: &ServiceInfo) -> Vec<String> {
        let mut out = Vec::new();
        if info.metadata.len() > self.max_pairs {
            out.push(format!(
                "metadata has {} keys; the limit is {} ({} are reserved for {})",
                info.metadata.len(),
                self.max_pairs,
                RESERVED_METADATA_KEYS.len(),
                RESERVED_METADATA_KEYS.join(" and ")
            ));
        }
        for (k, v) in &info.metadata {
            if RESERVED_METADATA_KEYS.contains(&k.as_str()) {
                out.push(format!("metadata key `{k}` is reserved: the host sets it"));
            }
            if k.chars().count() > self.max_key_chars {
                out.push(format!(
                    "metadata key `{k}` is longer than {} characters",
                    self.max_key_chars
                ));
            }
            if v.chars().count() > self.max_value_chars {
                out.push(format!(
                    "metadata value of `{k}` is {} characters; the limit is {}",
                    v.chars().count(),
                    self.max_value_chars
                ));
            }
        }
        let total: usize = info.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
        if total > self.max_total_bytes {
            out.push(format!(
                "metadata totals {total} bytes; the limit is {}",
                self.max_total_bytes
            ));
        }
        if info.description.chars().count() > self.max_description_chars {
            out.push(format!(
                "description is longer than {} characters",
                self.max_description_chars
            ));
        }
        if info.owner.chars().count() > self.max_owner_chars {
            out.push(format!("owner is longer than {} characters", self.max_owner_chars));
        }
        out
    }
}
