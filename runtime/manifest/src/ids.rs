//! The names the seed framework used, as types: model names, environments,
//! services, external ids (`<model>-<service>-<env>[-<version>]`) and model
//! ids (`<model>/<env>/<version>`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a name or id was refused; the message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(String);

/// The longest model name accepted (external ids must fit CDF's 255).
pub const MAX_MODEL_NAME: usize = 64;

/// A model name: letters, digits and `_`, 1 to 64 characters, as the
/// Python framework allowed (`^[A-Za-z0-9_]+$`), so that the external ids
/// its clients call keep working. No `-`: external ids are split on it.
/// Names are case-sensitive; two models whose names differ only in case
/// are refused (see [`ModelName::case_key`]), because a store on a
/// case-insensitive file system could not tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelName(String);

impl ModelName {
    pub fn new(name: impl Into<String>) -> Result<Self, IdError> {
        let name = name.into();
        if name.is_empty() {
            return Err(IdError("model name is empty: use letters, digits and `_`".into()));
        }
        if name.len() > MAX_MODEL_NAME {
            return Err(IdError(format!(
                "model name `{name}` is {} characters long; the limit is {MAX_MODEL_NAME}",
                name.len()
            )));
        }
        if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
            // Suggest a name that is valid as a whole, not just free of `bad`.
            let fixed: String =
                name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            let hint = match bad {
                '-' => format!(
                    "use `_` instead of `-` (external ids such as `{fixed}-prediction-dev` are split on `-`)"
                ),
                _ => format!("use only letters, digits and `_`: `{fixed}`"),
            };
            return Err(IdError(format!("model name `{name}` contains `{bad}`: {hint}")));
        }
        Ok(ModelName(name))
    }

    /// The name in lowercase: two models with the same key may not live in
    /// one store or one settings file.
    pub fn case_key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A deployment environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Env {
    Dev,
    Test,
    Prod,
}

impl Env {
    pub const ALL: [Env; 3] = [Env::Dev, Env::Test, Env::Prod];

    pub fn as_str(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Test => "test",
            Env::Prod => "prod",
        }
    }
}

impl FromStr for Env {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        match s {
            "dev" => Ok(Env::Dev),
            "test" => Ok(Env::Test),
            "prod" => Ok(Env::Prod),
            other => {
                Err(IdError(format!("unknown environment `{other}`: use `dev`, `test` or `prod`")))
            }
        }
    }
}

/// The kind of service a model is deployed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKind {
    Prediction,
    Training,
}

impl ServiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Prediction => "prediction",
            ServiceKind::Training => "training",
        }
    }
}

impl FromStr for ServiceKind {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        match s {
            "prediction" => Ok(ServiceKind::Prediction),
            "training" => Ok(ServiceKind::Training),
            other => {
                Err(IdError(format!("unknown service `{other}`: use `prediction` or `training`")))
            }
        }
    }
}

/// An artifact version: 1, 2, 3… per model and environment.
pub type Version = u64;

/// A service's external id: `<model>-<service>-<env>` is the latest alias,
/// `<model>-<service>-<env>-<version>` a pinned version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExternalId {
    pub model: ModelName,
    pub service: ServiceKind,
    pub env: Env,
    pub version: Option<Version>,
}

impl ExternalId {
    /// The latest alias.
    pub fn latest(model: ModelName, service: ServiceKind, env: Env) -> Self {
        ExternalId { model, service, env, version: None }
    }

    /// A pinned version.
    pub fn pinned(model: ModelName, service: ServiceKind, env: Env, version: Version) -> Self {
        ExternalId { model, service, env, version: Some(version) }
    }

    /// The latest alias of the same service.
    pub fn alias(&self) -> Self {
        ExternalId { version: None, ..self.clone() }
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.model.as_str(), self.service.as_str(), self.env.as_str())?;
        if let Some(v) = self.version {
            write!(f, "-{v}")?;
        }
        Ok(())
    }
}

impl FromStr for ExternalId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split('-').collect();
        let shape = || {
            IdError(format!(
                "`{s}` is not an external id: expected `<model>-<service>-<env>` or `<model>-<service>-<env>-<version>`, e.g. `well_log-prediction-dev`"
            ))
        };
        if !(3..=4).contains(&parts.len()) {
            return Err(shape());
        }
        let model = ModelName::new(parts[0]).map_err(|e| IdError(format!("in `{s}`: {e}")))?;
        let service = parts[1].parse().map_err(|e| IdError(format!("in `{s}`: {e}")))?;
        let env = parts[2].parse().map_err(|e| IdError(format!("in `{s}`: {e}")))?;
        let version =
            match parts.get(3) {
                None => None,
                Some(v) => Some(parse_version(v).ok_or_else(|| {
                    IdError(format!("in `{s}`: version `{v}` is not a number ≥ 1"))
                })?),
            };
        Ok(ExternalId { model, service, env, version })
    }
}

fn parse_version(s: &str) -> Option<Version> {
    // Digits only: no sign, no spaces, no leading zeros ("01" would alias "1").
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// The artifact version a service runs: `<model>/<env>/<version>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelId {
    pub model: ModelName,
    pub env: Env,
    pub version: Version,
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.model.as_str(), self.env.as_str(), self.version)
    }
}

impl FromStr for ModelId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split('/').collect();
        let [model, env, version] = parts[..] else {
            return Err(IdError(format!(
                "`{s}` is not a model id: expected `<model>/<env>/<version>`, e.g. `well_log/dev/1`"
            )));
        };
        Ok(ModelId {
            model: ModelName::new(model)?,
            env: env.parse()?,
            version: parse_version(version).ok_or_else(|| {
                IdError(format!("in `{s}`: version `{version}` is not a number ≥ 1"))
            })?,
        })
    }
}

/// A secret name a model declares: `A-Z`, `0-9`, `_`, as in environment
/// variable names (the host reads `MLOPS_SECRET_<NAME>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretName(String);

impl SecretName {
    pub fn new(name: impl Into<String>) -> Result<Self, IdError> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| matches!(c, 'A'..='Z' | '0'..='9' | '_'))
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if ok {
            Ok(SecretName(name))
        } else {
            Err(IdError(format!(
                "secret name `{name}` is not valid: use 1–64 of `A-Z`, `0-9` and `_`, not starting with a digit (e.g. `{}`)",
                name.to_uppercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! display_as_str {
    ($($ty:ty),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

display_as_str!(ModelName, SecretName, Env, ServiceKind);

/// Serialised as their text form, parsed (and so validated) when read.
macro_rules! string_serde {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

string_serde!(ModelName, Env, ServiceKind, ExternalId, ModelId, SecretName);

impl FromStr for ModelName {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        ModelName::new(s)
    }
}

impl FromStr for SecretName {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        SecretName::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_take_the_python_frameworks_characters_and_refuse_dashes_with_a_fix() {
        assert!(ModelName::new("well_log2").is_ok());
        // The Python framework allowed capitals; its external ids keep working.
        let upper = ModelName::new("PorosityNet").unwrap();
        assert_eq!(upper.as_str(), "PorosityNet");
        assert_eq!(upper.case_key(), "porositynet");
        let dash = ModelName::new("well-log").unwrap_err().to_string();
        assert!(dash.contains("use `_` instead of `-`") && dash.contains("well_log"), "{dash}");
        let both = ModelName::new("Well-Log").unwrap_err().to_string();
        assert!(both.contains("`Well_Log-prediction-dev`"), "{both}");
        let space = ModelName::new("well log").unwrap_err().to_string();
        assert!(space.contains("use only letters, digits and `_`: `well_log`"), "{space}");
        assert!(ModelName::new("wéll").is_err());
        assert!(ModelName::new("").unwrap_err().to_string().contains("empty"));
        assert!(ModelName::new("a".repeat(65)).is_err());
    }

    #[test]
    fn external_ids_round_trip_and_reject_bad_shapes() {
        for s in
            ["well_log-prediction-dev", "well_log-training-prod-12", "PorosityNet-prediction-test"]
        {
            assert_eq!(s.parse::<ExternalId>().unwrap().to_string(), s);
        }
        let pinned: ExternalId = "m-prediction-test-3".parse().unwrap();
        assert_eq!(pinned.version, Some(3));
        assert_eq!(pinned.alias().to_string(), "m-prediction-test");
        for bad in [
            "m",
            "m-prediction",
            "m-predict-dev",
            "m-prediction-staging",
            "m-prediction-dev-0",
            "m-prediction-dev-01",
            "m-prediction-dev-x",
            "m-prediction-dev-1-2",
        ] {
            assert!(bad.parse::<ExternalId>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn model_ids_round_trip() {
        let id: ModelId = "well_log/dev/1".parse().unwrap();
        assert_eq!(id.to_string(), "well_log/dev/1");
        assert!("well_log/dev".parse::<ModelId>().is_err());
        assert!("well_log/qa/1".parse::<ModelId>().is_err());
    }

    #[test]
    fn secret_names_are_env_var_shaped() {
        assert!(SecretName::new("CDF_TOKEN").is_ok());
        let err = SecretName::new("cdf-token").unwrap_err().to_string();
        assert!(err.contains("CDF_TOKEN"), "{err}");
        assert!(SecretName::new("1X").is_err());
    }
}
