//! `mlops-host deploy`: for each model of the settings file, build it, run
//! its fixtures in the sandbox, and record the prediction service under its
//! pinned and latest external ids (`--service training` deploys the
//! training service instead; its fixtures are in `<fixtures>/training/`).
//!
//! Which artifacts a deploy uses:
//! - in dev, the settings' `artifact_folder`, uploaded as a new version
//!   after the fixtures pass on it;
//! - in test and prod, a version already there (promoted from dev, see
//!   `mlops-host models promote`): the latest, downloaded and checked;
//! - anywhere, `artifact_version: N` pins version N of that env instead.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use mlops_core::DeployPlan;
use mlops_manifest::{Env, ModelId, ModelSettings, ServiceKind, Version};
use mlops_registry::{ArtifactManifest, Registry};

use crate::commands::{local, serve};
use crate::context::{GlobalArgs, whoami};
use crate::progress::TransferProgress;
use crate::{UsageError, compat};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The settings file.
    #[arg(long, short = 'f', default_value = mlops_manifest::SETTINGS_FILE, value_name = "FILE")]
    pub settings: PathBuf,
    /// The environment to deploy to. Also read from MLOPS_ENV, else from
    /// MODEL_ENV or ENV as the Python framework read them. [default: dev]
    #[arg(long, env = "MLOPS_ENV", value_name = "dev|test|prod")]
    pub env: Option<Env>,
    /// The service to deploy. Also read from MLOPS_SERVICE, else from
    /// SERVICE_NAME as the Python framework read it. [default: prediction]
    #[arg(long, env = "MLOPS_SERVICE", value_name = "prediction|training")]
    pub service: Option<ServiceKind>,
    /// Only these models (repeatable); all by default.
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    #[command(flatten)]
    pub build: local::BuildArgs,
    /// Use this artifact version of the env (overrides the settings'
    /// `artifact_version`), e.g. one a training service made.
    #[arg(long, value_name = "N")]
    pub artifact_version: Option<Version>,
    /// Build and run the fixtures, then stop (also TESTING_ONLY=True, or
    /// true/1/yes).
    #[arg(long)]
    pub testing_only: bool,
    /// Serve every deployed service once the deploy is done.
    #[arg(long)]
    pub serve: bool,
    #[command(flatten)]
    pub listen: serve::ListenArgs,
}

/// Where a deploy's artifacts come from.
enum Artifacts {
    /// Upload this local folder (or nothing) as a new version.
    Upload(Option<PathBuf>),
    /// Use this version, already in the store.
    Existing(Box<ArtifactManifest>),
}

pub async fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let vars = compat::ProcessEnv;
    let (env, warnings) = compat::env(args.env, &vars)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let service = compat::service(args.service, &vars)?;
    let testing_only = args.testing_only || compat::flag("TESTING_ONLY", &vars)?;
    if args.serve && testing_only {
        return Err(UsageError("--serve and --testing-only exclude each other".into()).into());
    }
    let settings = local::load_settings(&args.settings, &args.models)?;
    let engine = global.engine()?;
    let registry = global.registry()?;
    let loader = global.loader(registry.clone(), engine.clone())?;
    for model in &settings.models {
        let artifacts =
            plan(&registry, model, env, args.artifact_version.or(model.artifact_version)).await?;
        local::build(model, &settings, &global.cache_dir(), &args.build).await?;
        let (bytes, component) = local::compile(&engine, model).await?;
        let test_folder = match &artifacts {
            Artifacts::Upload(folder) => folder.clone(),
            Artifacts::Existing(manifest) => loader
                .materialize(manifest)
                .await
                .with_context(|| format!("cannot fetch {}", manifest.model_id()))?,
        };
        let example =
            local::run_fixtures(&engine, model, &component, test_folder.as_deref(), service)
                .await?;
        if testing_only {
            eprintln!("{}: tested only (--testing-only); nothing deployed", model.model_name);
            continue;
        }
        let manifest = match artifacts {
            Artifacts::Existing(manifest) => *manifest,
            Artifacts::Upload(folder) => {
                let manifest = registry
                    .upload_version(
                        &model.model_name,
                        env,
                        folder.as_deref(),
                        Default::default(),
                        &whoami(),
                        &TransferProgress::new(),
                    )
                    .await
                    .with_context(|| {
                        format!("{}: cannot upload the artifacts", model.model_name)
                    })?;
                eprintln!(
                    "{}: uploaded artifact version {} ({} file(s), {} bytes)",
                    model.model_name,
                    manifest.model_id(),
                    manifest.files.len(),
                    manifest.size()
                );
                manifest
            }
        };
        let digest =
            registry.put_blob(bytes.clone()).await.context("cannot store the component")?;
        let example = match example {
            Some(request) => Some(
                registry
                    .put_blob(request.into())
                    .await
                    .context("cannot store the example request")?,
            ),
            None => None,
        };
        let plan = DeployPlan {
            example,
            ..DeployPlan::from_settings(model, env, service, manifest.version, digest, whoami())
        };
        let deployed = mlops_core::deploy(&registry, plan)
            .await
            .with_context(|| format!("{}: cannot record the service", model.model_name))?;
        let pinned = &deployed.record.external_id;
        eprintln!(
            "{}: deployed {pinned} and {} → {}",
            model.model_name,
            pinned.alias(),
            manifest.model_id()
        );
        for old in &deployed.pruned {
            eprintln!(
                "{}: removed {old} (models_to_keep: {})",
                model.model_name, model.models_to_keep
            );
        }
    }
    if args.serve {
        return serve::run(global, serve::Args { listen: args.listen }).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Decides, before anything is built, which artifacts the deploy uses, so
/// a deploy that cannot succeed stops early.
async fn plan(
    registry: &Registry,
    model: &ModelSettings,
    env: Env,
    pinned: Option<Version>,
) -> anyhow::Result<Artifacts> {
    let name = &model.model_name;
    let version = match (pinned, env) {
        (Some(v), _) => v,
        (None, Env::Dev) => return Ok(Artifacts::Upload(model.artifact_folder.clone())),
        (None, _) => registry.latest_version(name, env).await?.with_context(|| {
            format!(
                "{name}: there is no artifact version in {env}; promote one first \
                 (mlops-host models promote {name} --to {env}) or pin one with artifact_version"
            )
        })?,
    };
    let id = ModelId { model: name.clone(), env, version };
    let manifest = registry.manifest(&id).await.with_context(|| {
        format!("{name}: artifact_version {version} is pinned (or latest) in {env}, but it cannot be used")
    })?;
    eprintln!("{name}: using artifact version {id}");
    Ok(Artifacts::Existing(Box::new(manifest)))
}
