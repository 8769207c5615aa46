//! The environment variables the Python framework's pipelines set, read
//! as that framework read them, so a pipeline moved over keeps deploying
//! where it did:
//!
//! - the environment: `--env` / `MLOPS_ENV`, else `MODEL_ENV` (4.1.0), else
//!   `ENV` (2.5.8), else dev; `MODEL_ENV` and `ENV` set to different values
//!   is refused (which one the pipeline meant cannot be known);
//! - the service: `--service` / `MLOPS_SERVICE`, else `SERVICE_NAME`, else
//!   prediction;
//! - `TESTING_ONLY`: `true`/`false`/`1`/`0` in any case (`True`, as the
//!   framework documents it);
//! - CDF credentials: the framework's `COGNITE_*` names stand in for
//!   `MLOPS_CDF_*` ([`cdf_var`]), with a warning when both are set and differ.

use mlops_manifest::{Env, ServiceKind};

use crate::UsageError;

/// Reads the environment through `lookup` (a test passes its own).
pub trait Vars {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process's environment; empty values count as unset.
pub struct ProcessEnv;

impl Vars for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<F: Fn(&str) -> Option<String>> Vars for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name).filter(|v| !v.trim().is_empty())
    }
}

/// The environment to work in: `explicit` (from `--env` or `MLOPS_ENV`),
/// else `MODEL_ENV`, else `ENV`, else dev. Returns warnings to print.
pub fn env(explicit: Option<Env>, vars: &dyn Vars) -> Result<(Env, Vec<String>), UsageError> {
    let parse = |name: &str| -> Result<Option<Env>, UsageError> {
        vars.var(name)
            .map(|v| v.trim().parse::<Env>().map_err(|e| UsageError(format!("{name}: {e}"))))
            .transpose()
    };
    let model_env = parse("MODEL_ENV")?;
    let env = parse("ENV")?;
    if let Some(explicit) = explicit {
        let warnings = [("MODEL_ENV", model_env), ("ENV", env)]
            .into_iter()
            .filter_map(|(name, v)| v.filter(|v| *v != explicit).map(|v| (name, v)))
            .map(|(name, v)| format!("{name}={v} is ignored: --env (or MLOPS_ENV) says {explicit}"))
            .collect();
        return Ok((explicit, warnings));
    }
    match (model_env, env) {
        (Some(a), Some(b)) if a != b => Err(UsageError(format!(
            "MODEL_ENV={a} and ENV={b} disagree; the Python framework read MODEL_ENV (4.1.0) or ENV (2.5.8): \
             unset one, or say which with --env or MLOPS_ENV"
        ))),
        (Some(e), _) | (None, Some(e)) => Ok((e, Vec::new())),
        (None, None) => Ok((Env::Dev, Vec::new())),
    }
}

/// The service to work on: `explicit` (from `--service` or
/// `MLOPS_SERVICE`), else `SERVICE_NAME`, else prediction.
pub fn service(explicit: Option<ServiceKind>, vars: &dyn Vars) -> Result<ServiceKind, UsageError> {
    if let Some(kind) = explicit {
        return Ok(kind);
    }
    match vars.var("SERVICE_NAME") {
        Some(v) => v.trim().parse().map_err(|e| UsageError(format!("SERVICE_NAME: {e}"))),
        None => Ok(ServiceKind::Prediction),
    }
}

/// A yes/no variable: `true`/`false`, `1`/`0`, `yes`/`no` in any case
/// (`True` is how the Python framework documents `TESTING_ONLY`); unset is
/// `false`.
pub fn flag(name: &str, vars: &dyn Vars) -> Result<bool, UsageError> {
    let Some(value) = vars.var(name) else { return Ok(false) };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(UsageError(format!(
            "{name}={value} is not a yes/no value: use True or False (also true/false, 1/0, yes/no)"
        ))),
    }
}

/// Where the Python framework obtained a token: Azure AD, per tenant.
fn tenant_token_url(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
}

/// The value of `MLOPS_CDF_<key>`, or what the Python framework's
/// `COGNITE_*` variables say it is:
///
/// | `MLOPS_CDF_`    | from                                                            |
/// |-----------------|-----------------------------------------------------------------|
/// | `BASE_URL`      | `COGNITE_OIDC_BASE_URL` (a trailing `/` dropped)                |
/// | `PROJECT`       | `COGNITE_PROJECT`                                               |
/// | `TOKEN_URL`     | `COGNITE_TENANT_ID`: Azure AD's token URL for that tenant       |
/// | `CLIENT_ID`     | `COGNITE_CLIENT_ID_WRITE` (else `_READ`)                        |
/// | `CLIENT_SECRET` | `COGNITE_CLIENT_SECRET_WRITE` (else `_READ`), paired with the id |
/// | `SCOPES`        | `<base url>/.default`, as the framework asked for               |
///
/// The write pair is taken when both its id and secret are set (a host
/// uploads prediction files), else the read pair. When an `MLOPS_CDF_*`
/// variable and its `COGNITE_*` counterpart are both set and differ, the
/// first wins and a warning says so.
pub fn cdf_var(name: &str, vars: &dyn Vars, warnings: &mut Vec<String>) -> Option<String> {
    let own = vars.var(name);
    let Some(key) = name.strip_prefix(mlops_cdf::ENV_PREFIX) else { return own };
    let base_url =
        || vars.var("COGNITE_OIDC_BASE_URL").map(|u| u.trim_end_matches('/').to_string());
    let pair = || {
        for side in ["WRITE", "READ"] {
            let id = vars.var(&format!("COGNITE_CLIENT_ID_{side}"));
            let secret = vars.var(&format!("COGNITE_CLIENT_SECRET_{side}"));
            if let (Some(id), Some(secret)) = (id, secret) {
                return Some((id, secret, side));
            }
        }
        None
    };
    let (seed, from): (Option<String>, String) = match key {
        "BASE_URL" => (base_url(), "COGNITE_OIDC_BASE_URL".into()),
        "PROJECT" => (vars.var("COGNITE_PROJECT"), "COGNITE_PROJECT".into()),
        "TOKEN_URL" => (
            vars.var("COGNITE_TENANT_ID").map(|t| tenant_token_url(t.trim())),
            "COGNITE_TENANT_ID".into(),
        ),
        "CLIENT_ID" => match pair() {
            Some((id, _, side)) => (Some(id), format!("COGNITE_CLIENT_ID_{side}")),
            None => (None, String::new()),
        },
        "CLIENT_SECRET" => match pair() {
            Some((_, secret, side)) => (Some(secret), format!("COGNITE_CLIENT_SECRET_{side}")),
            None => (None, String::new()),
        },
        // The framework's scope, only when the base URL is the framework's.
        "SCOPES" if vars.var("MLOPS_CDF_BASE_URL").is_none() => {
            (base_url().map(|u| format!("{u}/.default")), "COGNITE_OIDC_BASE_URL".into())
        }
        _ => (None, String::new()),
    };
    match (own, seed) {
        (Some(own), Some(seed)) => {
            // A scope derived from the base URL is not a setting of its own.
            if own != seed && key != "SCOPES" {
                let shown = |v: &str| {
                    if key == "CLIENT_SECRET" { "…".to_string() } else { v.to_string() }
                };
                warnings.push(format!(
                    "{name} ({}) and {from} ({}) differ; using {name}",
                    shown(&own),
                    shown(&seed)
                ));
            }
            Some(own)
        }
        (Some(own), None) => Some(own),
        (None, seed) => seed,
    }
}

/// The host's CDF configuration from `MLOPS_CDF_*` or the framework's
/// `COGNITE_*` names; warnings are printed.
pub fn cdf_config() -> anyhow::Result<Option<mlops_cdf::CdfConfig>> {
    let warned = std::cell::RefCell::new(Vec::new());
    let config = mlops_cdf::CdfConfig::from_vars(mlops_cdf::ENV_PREFIX, |k| {
        cdf_var(k, &ProcessEnv, &mut warned.borrow_mut())
    });
    let mut warnings = warned.into_inner();
    if config.as_ref().is_ok_and(Option::is_none)
        && ["DATA", "FILES", "FUNCTIONS", "PERSONAL"]
            .iter()
            .any(|k| ProcessEnv.var(&format!("COGNITE_API_KEY_{k}")).is_some())
    {
        warnings.push(
            "COGNITE_API_KEY_* are set, but CDF no longer takes API keys: give the host a client \
             (MLOPS_CDF_BASE_URL, PROJECT, TOKEN_URL, CLIENT_ID, CLIENT_SECRET, or the COGNITE_* OIDC names)"
                .into(),
        );
    }
    warnings.sort();
    warnings.dedup();
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(config?)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn the_environment_comes_from_model_env_then_env_and_a_disagreement_is_refused() {
        let got = |pairs: &[(&str, &str)], explicit| env(explicit, &vars(pairs));
        assert_eq!(got(&[], None).unwrap().0, Env::Dev);
        assert_eq!(got(&[("MODEL_ENV", "test")], None).unwrap().0, Env::Test);
        assert_eq!(got(&[("ENV", "prod")], None).unwrap().0, Env::Prod);
        assert_eq!(got(&[("MODEL_ENV", "test"), ("ENV", "test")], None).unwrap().0, Env::Test);
        let err = got(&[("MODEL_ENV", "test"), ("ENV", "prod")], None).unwrap_err().0;
        assert!(err.contains("MODEL_ENV=test and ENV=prod disagree"), "{err}");
        let (e, warnings) = got(&[("MODEL_ENV", "test")], Some(Env::Prod)).unwrap();
        assert_eq!(e, Env::Prod);
        assert_eq!(warnings, ["MODEL_ENV=test is ignored: --env (or MLOPS_ENV) says prod"]);
        let err = got(&[("MODEL_ENV", "staging")], None).unwrap_err().0;
        assert!(err.starts_with("MODEL_ENV: unknown environment `staging`"), "{err}");
        assert_eq!(got(&[("ENV", "")], None).unwrap().0, Env::Dev);
    }

    #[test]
    fn the_service_comes_from_service_name() {
        assert_eq!(service(None, &vars(&[])).unwrap(), ServiceKind::Prediction);
        let training = vars(&[("SERVICE_NAME", "training")]);
        assert_eq!(service(None, &training).unwrap(), ServiceKind::Training);
        assert_eq!(
            service(Some(ServiceKind::Prediction), &training).unwrap(),
            ServiceKind::Prediction
        );
        let err = service(None, &vars(&[("SERVICE_NAME", "inference")])).unwrap_err().0;
        assert!(err.starts_with("SERVICE_NAME: unknown service `inference`"), "{err}");
    }

    #[test]
    fn testing_only_takes_the_frameworks_spellings() {
        for (value, want) in [
            ("True", true),
            ("true", true),
            ("1", true),
            ("False", false),
            ("0", false),
            ("no", false),
        ] {
            assert_eq!(
                flag("TESTING_ONLY", &vars(&[("TESTING_ONLY", value)])).unwrap(),
                want,
                "{value}"
            );
        }
        assert!(!flag("TESTING_ONLY", &vars(&[])).unwrap());
        let err = flag("TESTING_ONLY", &vars(&[("TESTING_ONLY", "maybe")])).unwrap_err().0;
        assert!(err.contains("use True or False"), "{err}");
    }

    #[test]
    fn cognite_names_stand_in_for_mlops_cdf_and_a_difference_is_warned() {
        let seed = vars(&[
            ("COGNITE_OIDC_BASE_URL", "https://westeurope-1.cognitedata.com/"),
            ("COGNITE_PROJECT", "akbp-subsurface"),
            ("COGNITE_TENANT_ID", "tenant-1"),
            ("COGNITE_CLIENT_ID_READ", "reader"),
            ("COGNITE_CLIENT_SECRET_READ", "r-secret"),
            ("COGNITE_CLIENT_ID_WRITE", "writer"),
            ("COGNITE_CLIENT_SECRET_WRITE", "w-secret"),
        ]);
        let mut warnings = Vec::new();
        let mut get = |k: &str| cdf_var(&format!("MLOPS_CDF_{k}"), &seed, &mut warnings);
        assert_eq!(get("BASE_URL").as_deref(), Some("https://westeurope-1.cognitedata.com"));
        assert_eq!(get("PROJECT").as_deref(), Some("akbp-subsurface"));
        assert_eq!(
            get("TOKEN_URL").as_deref(),
            Some("https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token")
        );
        assert_eq!(get("CLIENT_ID").as_deref(), Some("writer"));
        assert_eq!(get("CLIENT_SECRET").as_deref(), Some("w-secret"));
        assert_eq!(get("SCOPES").as_deref(), Some("https://westeurope-1.cognitedata.com/.default"));
        assert!(warnings.is_empty(), "{warnings:?}");
        // Only the read pair: it is used, id and secret together.
        let read_only = vars(&[
            ("COGNITE_CLIENT_ID_READ", "reader"),
            ("COGNITE_CLIENT_SECRET_READ", "r-secret"),
            ("COGNITE_CLIENT_ID_WRITE", "writer"),
        ]);
        let mut warnings = Vec::new();
        assert_eq!(
            cdf_var("MLOPS_CDF_CLIENT_ID", &read_only, &mut warnings).as_deref(),
            Some("reader")
        );
        assert_eq!(
            cdf_var("MLOPS_CDF_CLIENT_SECRET", &read_only, &mut warnings).as_deref(),
            Some("r-secret")
        );
        // Both set and different: ours wins, with a warning that hides secrets.
        let both = vars(&[
            ("MLOPS_CDF_PROJECT", "ours"),
            ("COGNITE_PROJECT", "theirs"),
            ("MLOPS_CDF_CLIENT_SECRET", "s1"),
            ("COGNITE_CLIENT_ID_WRITE", "w"),
            ("COGNITE_CLIENT_SECRET_WRITE", "s2"),
        ]);
        let mut warnings = Vec::new();
        assert_eq!(cdf_var("MLOPS_CDF_PROJECT", &both, &mut warnings).as_deref(), Some("ours"));
        assert_eq!(cdf_var("MLOPS_CDF_CLIENT_SECRET", &both, &mut warnings).as_deref(), Some("s1"));
        assert_eq!(
            warnings,
            [
                "MLOPS_CDF_PROJECT (ours) and COGNITE_PROJECT (theirs) differ; using MLOPS_CDF_PROJECT",
                "MLOPS_CDF_CLIENT_SECRET (…) and COGNITE_CLIENT_SECRET_WRITE (…) differ; using MLOPS_CDF_CLIENT_SECRET",
            ]
        );
        // The same value under both names: no warning.
        let same = vars(&[("MLOPS_CDF_PROJECT", "p"), ("COGNITE_PROJECT", "p")]);
        let mut warnings = Vec::new();
        assert_eq!(cdf_var("MLOPS_CDF_PROJECT", &same, &mut warnings).as_deref(), Some("p"));
        assert!(warnings.is_empty());
    }
}
