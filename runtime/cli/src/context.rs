//! What every command shares: where the store and caches are, logging, the
//! engine, the secret resolver.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use mlops_core::{Loader, PredictionFile, PredictionSink, SecretResolver, SinkError};
use mlops_engine::{Engine, EngineConfig};
use mlops_manifest::SecretName;
use mlops_registry::Registry;

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The store holding artifacts and services: a folder path,
    /// file:///path, s3://bucket[/prefix] (AWS_* variables),
    /// cdf://[data-set][/prefix] (CDF Files, MLOPS_CDF_* variables; data set
    /// `mlops` by default), or memory:// (gone when the process exits).
    /// [default: $XDG_DATA_HOME/mlops-host/store, i.e. ~/.local/share/mlops-host/store]
    #[arg(long, global = true, env = "MLOPS_STORE", value_name = "PATH|URL")]
    pub store: Option<String>,

    /// Local cache of compiled components and artifact copies.
    /// [default: $XDG_CACHE_HOME/mlops-host, i.e. ~/.cache/mlops-host]
    #[arg(long, global = true, env = "MLOPS_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Log filter, e.g. `debug` or `mlops_engine=debug,info`
    /// (RUST_LOG syntax).
    #[arg(long, global = true, env = "MLOPS_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// Seconds a prediction upload to CDF Files may take (retries
    /// included) before the call fails.
    #[arg(
        long,
        global = true,
        env = "MLOPS_CDF_DEADLINE",
        value_name = "SECONDS",
        default_value_t = 30.0
    )]
    pub cdf_deadline: f64,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(fallback)))
        .unwrap_or_else(|| PathBuf::from(".mlops"))
}

impl GlobalArgs {
    pub fn store_location(&self) -> String {
        self.store.clone().unwrap_or_else(|| {
            xdg("XDG_DATA_HOME", ".local/share")
                .join("mlops-host")
                .join("store")
                .display()
                .to_string()
        })
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(|| xdg("XDG_CACHE_HOME", ".cache").join("mlops-host"))
    }

    pub fn registry(&self) -> anyhow::Result<Registry> {
        Ok(crate::store::open(&self.store_location())?)
    }

    pub fn engine(&self) -> anyhow::Result<Engine> {
        let config = EngineConfig {
            cache_dir: Some(self.cache_dir().join("compiled")),
            ..EngineConfig::default()
        };
        Engine::new(config).context("cannot start the WebAssembly engine")
    }

    /// The loader `serve`, `deploy` and `bench` use: secrets from the
    /// environment, predictions to CDF Files when the host has CDF
    /// credentials (and, when it has none, a sink that says how to give
    /// it some).
    pub fn loader(&self, registry: Registry, engine: Engine) -> anyhow::Result<Loader> {
        let cdf: Arc<dyn PredictionSink> = match cdf_client()? {
            Some(client) => {
                let deadline = std::time::Duration::from_secs_f64(self.cdf_deadline.max(0.1));
                Arc::new(mlops_cdf::CdfSink::new(client, deadline))
            }
            None => Arc::new(NoCdfCredentials),
        };
        Ok(Loader {
            registry,
            engine,
            artifacts_dir: self.cache_dir().join("artifacts"),
            secrets: env_secrets(),
            cdf: Some(cdf),
            profile: false,
        })
    }
}

/// The CDF sink of a host started without `MLOPS_CDF_*`: every upload is
/// refused with the variables to set.
struct NoCdfCredentials;

#[async_trait::async_trait]
impl PredictionSink for NoCdfCredentials {
    fn unavailable(&self) -> Option<String> {
        Some(format!("this host has no CDF credentials ({}*)", mlops_cdf::ENV_PREFIX))
    }

    async fn upload(&self, data_set: &str, _: PredictionFile<'_>) -> Result<String, SinkError> {
        Err(SinkError::Unavailable(format!(
            "this service writes prediction files to CDF (data set `{data_set}`), but the host has no CDF credentials: start it with {}BASE_URL, PROJECT, TOKEN_URL, CLIENT_ID and CLIENT_SECRET set, or call without `to_file`",
            mlops_cdf::ENV_PREFIX
        )))
    }
}

/// The host's CDF client, from `MLOPS_CDF_*` (or the Python framework's
/// `COGNITE_*` names); `None` when none is set.
pub fn cdf_client() -> anyhow::Result<Option<mlops_cdf::CdfClient>> {
    match crate::compat::cdf_config()? {
        Some(config) => Ok(Some(mlops_cdf::CdfClient::new(config)?)),
        None => Ok(None),
    }
}

/// Credentials of the host itself: a model never gets one, even when an
/// operator hands it over as a model secret by mistake.
fn host_credentials() -> Vec<String> {
    let mut values: Vec<String> = [
        "MLOPS_CDF_CLIENT_SECRET",
        "COGNITE_CLIENT_SECRET_WRITE",
        "COGNITE_CLIENT_SECRET_READ",
        "AWS_SECRET_ACCESS_KEY",
        "MLOPS_ADMIN_TOKEN",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok())
    .collect();
    if let Some(Ok(s)) =
        std::env::var_os("MLOPS_CDF_CLIENT_SECRET_FILE").map(std::fs::read_to_string)
    {
        values.push(s.trim().to_string());
    }
    values.retain(|v| !v.is_empty());
    values
}

/// Secrets come from `MLOPS_SECRET_<NAME>` in the host's environment; a
/// value that is one of the host's own credentials is refused.
pub fn env_secrets() -> SecretResolver {
    let host = host_credentials();
    Arc::new(move |name: &SecretName| {
        let value = std::env::var(format!("MLOPS_SECRET_{name}")).map_err(|_| {
            format!(
                "secret `{name}` is declared by the model but not set: export MLOPS_SECRET_{name}"
            )
        })?;
        if host.contains(&value) {
            return Err(format!(
                "secret `{name}` has the value of one of the host's own credentials (CDF client secret, S3 key, admin token); models never get those: give the model a credential of its own"
            ));
        }
        Ok(value)
    })
}

/// The values of the secrets `model` declares, from the environment.
pub fn model_secrets(
    model: &mlops_manifest::ModelSettings,
) -> anyhow::Result<Vec<(String, String)>> {
    let resolve = env_secrets();
    model
        .secrets
        .iter()
        .map(|name| {
            resolve(name)
                .map(|v| (name.to_string(), v))
                .map_err(|e| anyhow::anyhow!("{}: {e}", model.model_name))
        })
        .collect()
}

/// Logs go to stderr. `serve` logs at info by default, through a background
/// writer that drops lines rather than block when stderr cannot keep up
/// (keep the returned guard alive: it flushes on drop); other commands only
/// warn, directly, as their output is for people.
pub fn init_logging(
    args: &GlobalArgs,
    serving: bool,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let default = if serving { "info" } else { "warn" };
    let filter = args
        .log
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| default.to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("warning: log filter `{filter}` is invalid ({e}); using `{default}`");
        tracing_subscriber::EnvFilter::new(default)
    });
    use std::io::IsTerminal as _;
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(color);
    if serving {
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(true)
            .finish(std::io::stderr());
        let _ = builder.with_writer(writer).try_init();
        Some(guard)
    } else {
        let _ = builder.with_writer(std::io::stderr).try_init();
        None
    }
}

/// `user@host`, for `created_by` and `deployed_by`.
pub fn whoami() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{host}")
}
