//! `mlops-host test`: build, compile and run the fixtures, no deploy.

use std::path::PathBuf;
use std::process::ExitCode;

use mlops_manifest::ServiceKind;

use crate::commands::local;
use crate::context::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The settings file.
    #[arg(long, short = 'f', default_value = mlops_manifest::SETTINGS_FILE, value_name = "FILE")]
    pub settings: PathBuf,
    /// Only these models (repeatable); all by default.
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    #[command(flatten)]
    pub build: local::BuildArgs,
}

pub async fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let settings = local::load_settings(&args.settings, &args.models)?;
    let engine = global.engine()?;
    for model in &settings.models {
        local::build(model, &settings, &global.cache_dir(), &args.build).await?;
        let (_, component) = local::compile(&engine, model).await?;
        for kind in [ServiceKind::Prediction, ServiceKind::Training] {
            local::run_fixtures(&engine, model, &component, model.artifact_folder.as_deref(), kind)
                .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
