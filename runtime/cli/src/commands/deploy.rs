//! `mlops-host deploy`: for each model of the settings file, build it, run
//! its fixtures in the sandbox, upload its artifacts as a new version, and
//! record the prediction service under its pinned and latest external ids.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use mlops_manifest::{Env, ExternalId, ModelId, ServiceKind};
use mlops_registry::{LimitsRecord, SERVICE_FORMAT, ServiceRecord};

use crate::UsageError;
use crate::commands::{local, serve};
use crate::context::{GlobalArgs, whoami};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The settings file.
    #[arg(long, short = 'f', default_value = mlops_manifest::SETTINGS_FILE, value_name = "FILE")]
    pub settings: PathBuf,
    /// The environment to deploy to. Also read from MLOPS_ENV, or ENV as
    /// the Python framework did. [default: dev]
    #[arg(long, env = "MLOPS_ENV", value_name = "dev|test|prod")]
    pub env: Option<Env>,
    /// Only these models (repeatable); all by default.
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    /// Build and run the fixtures, then stop (also TESTING_ONLY=true).
    #[arg(long, env = "TESTING_ONLY")]
    pub testing_only: bool,
    /// Serve every deployed service once the deploy is done.
    #[arg(long)]
    pub serve: bool,
    #[command(flatten)]
    pub listen: serve::ListenArgs,
}

pub async fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let env = match args.env {
        Some(env) => env,
        None => match std::env::var("ENV") {
            Ok(v) if !v.is_empty() => v.parse().map_err(|e| UsageError(format!("ENV: {e}")))?,
            _ => Env::Dev,
        },
    };
    if args.serve && args.testing_only {
        return Err(UsageError("--serve and --testing-only exclude each other".into()).into());
    }
    let settings = local::load_settings(&args.settings, &args.models)?;
    let engine = global.engine()?;
    let registry = if args.testing_only { None } else { Some(global.registry()?) };
    for model in &settings.models {
        local::build(model, &settings).await?;
        let (bytes, component) = local::compile(&engine, model).await?;
        local::run_fixtures(&engine, model, &component).await?;
        let Some(registry) = &registry else {
            eprintln!("{}: tested only (--testing-only); nothing deployed", model.model_name);
            continue;
        };

        let digest =
            registry.put_blob(bytes.clone()).await.context("cannot store the component")?;
        let manifest = match model.artifact_version {
            Some(version) => {
                let id = ModelId { model: model.model_name.clone(), env, version };
                let manifest = registry.manifest(&id).await.with_context(|| {
                    format!("{}: artifact_version {version} is pinned", model.model_name)
                })?;
                eprintln!("{}: using the pinned artifact version {id}", model.model_name);
                manifest
            }
            None => {
                let manifest = registry
                    .upload_version(
                        &model.model_name,
                        env,
                        model.artifact_folder.as_deref(),
                        Default::default(),
                        &whoami(),
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
        let info = model.service_info(ServiceKind::Prediction);
        let pinned = ExternalId::pinned(
            model.model_name.clone(),
            ServiceKind::Prediction,
            env,
            manifest.version,
        );
        let mut metadata = info.metadata.clone();
        metadata.insert("version".into(), manifest.version.to_string());
        metadata.insert("model_id".into(), manifest.model_id().to_string());
        let record = ServiceRecord {
            format: SERVICE_FORMAT.to_string(),
            external_id: pinned.clone(),
            alias_of: None,
            model: model.model_name.clone(),
            service: ServiceKind::Prediction,
            env,
            model_id: manifest.model_id(),
            component: digest,
            component_size: bytes.len() as u64,
            human_friendly_model_name: model.human_friendly_model_name.clone(),
            description: info.description.clone(),
            owner: info.owner.clone(),
            metadata,
            limits: LimitsRecord::from(&model.limits),
            secrets: model.secrets.clone(),
            deployed: mlops_registry::now(),
            deployed_by: whoami(),
        };
        // The pinned version first, then the alias in one atomic write:
        // callers of the alias never find it missing.
        registry.put_service(&record).await.context("cannot record the service")?;
        registry.put_service(&record.as_alias()).await.context("cannot switch the latest alias")?;
        eprintln!(
            "{}: deployed {pinned} and {} → {}",
            model.model_name,
            pinned.alias(),
            manifest.model_id()
        );
        prune(registry, &pinned, model.models_to_keep).await?;
    }
    if args.serve {
        return serve::run(global, serve::Args { listen: args.listen }).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Keeps the newest `keep` pinned services of `deployed`'s model, service
/// and env (always including `deployed`), and deletes the older ones.
/// Artifact versions are not touched.
async fn prune(
    registry: &mlops_registry::Registry,
    deployed: &ExternalId,
    keep: u32,
) -> anyhow::Result<()> {
    let (records, _) =
        registry.services().await.context("cannot list services to prune old versions")?;
    let mut pinned: Vec<&ServiceRecord> = records
        .iter()
        .filter(|r| r.alias_of.is_none() && r.external_id.alias() == deployed.alias())
        .collect();
    pinned.sort_by_key(|r| std::cmp::Reverse(r.external_id.version));
    for old in pinned.iter().skip(keep as usize) {
        if &old.external_id == deployed {
            continue;
        }
        registry
            .delete_service(&old.external_id)
            .await
            .context("cannot delete an old service version")?;
        eprintln!("{}: removed {} (models_to_keep: {keep})", old.model, old.external_id);
    }
    Ok(())
}
