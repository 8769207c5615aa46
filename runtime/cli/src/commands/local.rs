//! A model as it is on the author's disk: build it, compile it, run its
//! fixtures in the sandbox (the seed's service test).

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context as _, bail};
use mlops_core::Service;
use mlops_core::fixtures::{self, FixtureResult};
use mlops_engine::{DeploymentSpec, Engine, LoadedComponent};
use mlops_manifest::{Component, ModelId, ModelSettings, ServiceKind, Settings};

use crate::UsageError;
use crate::build_key::BuildKey;

/// Reads settings, keeping only the models named (all when none are).
pub fn load_settings(path: &Path, only: &[String]) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(path)?;
    if !only.is_empty() {
        for name in only {
            if settings.model(name).is_none() {
                let known: Vec<&str> =
                    settings.models.iter().map(|m| m.model_name.as_str()).collect();
                return Err(UsageError(format!(
                    "model `{name}` is not in {} (it has: {})",
                    path.display(),
                    known.join(", ")
                ))
                .into());
            }
        }
        settings.models.retain(|m| only.iter().any(|n| n == m.model_name.as_str()));
    }
    Ok(settings)
}

/// How `test` and `deploy` build.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    /// Run the model's `build` command even when its sources, settings and
    /// `build_inputs` are unchanged since its last build (for a build that
    /// reads something else, such as a tool upgraded in place).
    #[arg(long)]
    pub rebuild: bool,
}

/// Runs the model's `build` command, if it has one, in the settings folder;
/// skipped when nothing it reads changed since its last successful build
/// (see [`crate::build_key`]), unless `--rebuild`.
pub async fn build(
    model: &ModelSettings,
    settings: &Settings,
    cache_dir: &Path,
    args: &BuildArgs,
) -> anyhow::Result<()> {
    let Component::File { build: Some(command), .. } = &model.component else { return Ok(()) };
    let name = &model.model_name;
    // A key that cannot be taken (an unreadable file) only costs the skip.
    let key = match BuildKey::new(cache_dir, settings, model, command) {
        Ok(key) => Some(key),
        Err(e) => {
            eprintln!("{name}: warning: building every time: cannot key the build ({e})");
            None
        }
    };
    let why = match &key {
        _ if args.rebuild => " (--rebuild)",
        None => "",
        // No record (never built here): nothing to compare, build.
        Some(key) => match key.recorded().map(|recorded| (recorded, key.compute())) {
            None => "",
            Some((recorded, Ok(now))) if recorded == now => {
                eprintln!(
                    "{name}: build skipped: its sources, settings and build_inputs are unchanged \
                     since its last build (--rebuild to build anyway)"
                );
                return Ok(());
            }
            Some((_, Ok(_))) => " (changed since its last build)",
            Some((_, Err(e))) => {
                eprintln!("{name}: warning: cannot key the build ({e})");
                ""
            }
        },
    };
    let dir =
        settings.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    eprintln!("{name}: building{why}: {command}");
    let mut cmd = tokio::process::Command::new("sh");
    // Build scripts that need this binary (`mlops-host guest …`) find it
    // here even when it is not on PATH.
    if std::env::var_os("MLOPS_HOST").is_none()
        && let Ok(me) = std::env::current_exe()
    {
        cmd.env("MLOPS_HOST", me);
    }
    let status = cmd
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .status()
        .await
        .with_context(|| format!("cannot run the build command `{command}`"))?;
    if !status.success() {
        bail!(
            "{name}: the build command `{command}` failed ({status}); fix the build, then deploy again"
        );
    }
    model.check_model_file()?;
    if let Some(key) = key
        && let Err(e) = key.record()
    {
        eprintln!(
            "{name}: warning: the next build cannot be skipped: cannot record this one ({e})"
        );
    }
    Ok(())
}

/// The component's bytes: the model's file, or the runtime mlops-host
/// carries, with how to name it in messages.
pub async fn component_bytes(model: &ModelSettings) -> anyhow::Result<(bytes::Bytes, String)> {
    match &model.component {
        Component::File { path, .. } => {
            model.check_model_file()?;
            let bytes = tokio::fs::read(path)
                .await
                .with_context(|| format!("cannot read {}", path.display()))?;
            let shown = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            Ok((bytes::Bytes::from(bytes), shown.display().to_string()))
        }
        Component::Runtime(runtime) => Ok((
            bytes::Bytes::from_static(
                mlops_engine::builtin::component(*runtime).map_err(anyhow::Error::msg)?,
            ),
            runtime.describe().to_string(),
        )),
    }
}

/// Reads and compiles (or loads from the compile cache) the component.
pub async fn compile(
    engine: &Engine,
    model: &ModelSettings,
) -> anyhow::Result<(bytes::Bytes, LoadedComponent)> {
    let (bytes, shown) = component_bytes(model).await?;
    let what =
        format!("{}: compiling {shown} ({} KiB)", model.model_name, bytes.len().div_ceil(1024));
    let loaded = load_component(engine, bytes.clone(), what)
        .await
        .with_context(|| format!("{}: cannot load {shown}", model.model_name))?;
    let how = match loaded.outcome {
        mlops_engine::CacheOutcome::Compiled => "compiled",
        mlops_engine::CacheOutcome::Loaded => "loaded from the compile cache",
    };
    eprintln!(
        "{}: component {shown} ({} KiB) {how} in {:.0} ms",
        model.model_name,
        bytes.len().div_ceil(1024),
        loaded.elapsed.as_secs_f64() * 1e3
    );
    Ok((bytes, loaded))
}

/// Compiles a component, or loads it from the compile cache, off the async
/// workers (a large component compiles for seconds), with a spinner that
/// says `what` on a terminal.
pub async fn load_component(
    engine: &Engine,
    bytes: bytes::Bytes,
    what: String,
) -> anyhow::Result<LoadedComponent> {
    let engine = engine.clone();
    let spinner = crate::progress::Spinner::start(what);
    let loaded = tokio::task::spawn_blocking(move || engine.load(&bytes)).await;
    drop(spinner);
    Ok(loaded.context("the compile task failed")??)
}

/// Why a model did not start, in its own words when it said something (a
/// model error from `initialization`), without the layers around it.
pub fn start_failure(e: &mlops_engine::EngineError) -> String {
    fn inner(e: &mlops_engine::CallError) -> String {
        match e {
            mlops_engine::CallError::Initialization(e) => inner(e),
            mlops_engine::CallError::Model { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
    match e {
        mlops_engine::EngineError::Start { source, .. } => inner(source),
        other => other.to_string(),
    }
}

/// Runs the model's fixtures against the component and an artifact folder
/// (the local one, or a checked copy of a stored version), in the same
/// sandbox and call path as `serve`. Prints each result;
/// fails if any fixture fails.
pub async fn run_fixtures(
    engine: &Engine,
    model: &ModelSettings,
    component: &LoadedComponent,
    artifact_folder: Option<&Path>,
    kind: ServiceKind,
) -> anyhow::Result<Option<Vec<u8>>> {
    let dir = match (kind, &model.fixtures) {
        // Training fixtures only (`<fixtures>/training/`): predictions are
        // checked as without fixtures.
        (ServiceKind::Prediction, Some(dir))
            if !crate::commands::validate::has_fixtures(dir)
                && crate::commands::validate::has_fixtures(&dir.join("training")) =>
        {
            None
        }
        (ServiceKind::Prediction, Some(dir)) => Some(dir.clone()),
        (ServiceKind::Training, Some(dir)) => Some(dir.join("training")).filter(|d| d.is_dir()),
        (_, None) => None,
    };
    let Some(dir) = &dir else {
        if kind == ServiceKind::Training && model.fixtures.is_some() {
            // Fixtures, but none for training: nothing to say.
            return Ok(None);
        }
        if model.fixtures.is_some() {
            eprintln!("{}: no prediction fixtures (training ones only)", model.model_name);
        } else {
            eprintln!(
                "{}: no fixtures (set `fixtures` in the settings to test before deploying)",
                model.model_name
            );
        }
        // Still make sure it starts: a model whose `initialization` fails or
        // hangs must not be deployed.
        if kind == ServiceKind::Prediction {
            engine
                .deploy(component, local_spec(model, artifact_folder)?)
                .await
                .with_context(|| format!("{}: the model does not start", model.model_name))?;
            eprintln!("{}: initialization ok", model.model_name);
        }
        return Ok(None);
    };
    let fixtures = fixtures::read_fixtures(dir).map_err(anyhow::Error::msg)?;
    if fixtures.is_empty() {
        bail!(
            "{}: the fixtures folder {} has no <name>.request.json files",
            model.model_name,
            dir.display()
        );
    }
    let deployment = engine
        .deploy(component, local_spec(model, artifact_folder)?)
        .await
        .with_context(|| format!("{}: the model does not start", model.model_name))?;
    let (predicts, trains) = deployment.offers();
    let offered = match kind {
        ServiceKind::Prediction => predicts,
        ServiceKind::Training => trains,
    };
    if !offered {
        eprintln!(
            "{}: the component does not export `{}`; its {kind} fixtures in {} are skipped",
            model.model_name,
            kind.as_str(),
            dir.display()
        );
        return Ok(None);
    }
    // Fixtures run before an artifact version exists: show it as version 1
    // of dev, the seed's local convention.
    let local_id =
        ModelId { model: model.model_name.clone(), env: mlops_manifest::Env::Dev, version: 1 };
    let service = Service::new(deployment, &local_id);
    eprintln!("{}: running {} {kind} fixture(s) in the sandbox", model.model_name, fixtures.len());
    let results = fixtures::run_fixtures(&service, &fixtures, kind).await;
    report(model, &results)?;
    // The example a deploy stores for the dashboard's form: the first
    // prediction fixture whose expected answer is ok.
    Ok(fixtures
        .into_iter()
        .find(|f| kind == ServiceKind::Prediction && f.expected["status"] == "ok")
        .map(|f| f.request))
}

/// The sandbox a local test runs the model in: the same limits and
/// secrets as when served.
fn local_spec(
    model: &ModelSettings,
    artifact_folder: Option<&Path>,
) -> anyhow::Result<DeploymentSpec> {
    Ok(DeploymentSpec {
        name: format!("{} (local test)", model.model_name),
        artifact_dir: artifact_folder.map(Path::to_path_buf),
        limits: model.limits.clone(),
        secrets: crate::context::model_secrets(model)?,
        profile: false,
    })
}

fn report(model: &ModelSettings, results: &[FixtureResult]) -> anyhow::Result<()> {
    let failed: Vec<&FixtureResult> = results.iter().filter(|r| !r.passed()).collect();
    for r in results {
        let mark = if r.passed() { "ok  " } else { "FAIL" };
        // The status a caller over HTTP would get.
        let status = r.error.as_ref().map_or(200, mlops_http::status_of);
        eprintln!("  {mark} {} (HTTP {status})", r.name);
        for d in r.differences.iter().take(20) {
            eprintln!("       {d}");
        }
        if r.differences.len() > 20 {
            eprintln!("       … and {} more differences", r.differences.len() - 20);
        }
        if !r.passed() {
            eprintln!("       response: {}", truncate(&r.response.to_string(), 400));
        }
    }
    if failed.is_empty() {
        eprintln!("{}: {} fixture(s) passed", model.model_name, results.len());
        Ok(())
    } else {
        bail!("{}: {} of {} fixtures failed", model.model_name, failed.len(), results.len())
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}
