//! `mlops-host services …`: deployed services, straight from the store (a
//! running `serve` picks changes up at its next watch tick).

use std::process::ExitCode;

use anyhow::Context as _;
use mlops_manifest::{Env, ExternalId, Version};

use crate::UsageError;
use crate::commands::models::{Format, print_table};
use crate::context::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List services.
    List {
        /// Only this environment.
        #[arg(long)]
        env: Option<Env>,
        /// Only services with all these tags (comma-separated): a tag
        /// matches words in the description or a metadata value.
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Show one service's record (metadata, limits, what it runs).
    Get { external_id: ExternalId },
    /// Delete a service (the pinned version or the alias named).
    Delete {
        external_id: ExternalId,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Point a service's latest alias at one of its pinned versions: a
    /// rollback (or roll forward), in one atomic write.
    Redeploy {
        /// The alias, `<model>-<service>-<env>`.
        alias: ExternalId,
        #[arg(long)]
        version: Version,
    },
}

pub async fn run(global: &GlobalArgs, cmd: Command) -> anyhow::Result<ExitCode> {
    let registry = global.registry()?;
    match cmd {
        Command::List { env, tags, format } => {
            let (mut records, unreadable) = registry.services().await?;
            records.retain(|r| env.is_none_or(|e| r.env == e) && r.matches_tags(&tags));
            for (name, err) in &unreadable {
                eprintln!("warning: {name}: {err}");
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&records)?),
                Format::Table => {
                    let rows: Vec<Vec<String>> = records
                        .iter()
                        .map(|r| {
                            vec![
                                r.external_id.to_string(),
                                r.model_id.to_string(),
                                r.alias_of.as_ref().map_or_else(String::new, |a| format!("→ {a}")),
                                r.deployed.clone(),
                                r.description.clone(),
                            ]
                        })
                        .collect();
                    print_table(
                        &["EXTERNAL ID", "MODEL ID", "ALIAS OF", "DEPLOYED", "DESCRIPTION"],
                        &rows,
                    );
                }
            }
        }
        Command::Get { external_id } => {
            let record = registry
                .service(&external_id)
                .await?
                .with_context(|| format!("there is no service {external_id}"))?;
            println!("{}", serde_json::to_string_pretty(&record)?);
        }
        Command::Delete { external_id, yes } => {
            let record = registry
                .service(&external_id)
                .await?
                .with_context(|| format!("there is no service {external_id}"))?;
            eprintln!(
                "{external_id} runs {} (deployed {} by {})",
                record.model_id, record.deployed, record.deployed_by
            );
            if !yes {
                return Err(UsageError(format!("add --yes to delete {external_id}")).into());
            }
            mlops_core::delete(&registry, &external_id).await?;
            eprintln!("deleted {external_id}");
        }
        Command::Redeploy { alias, version } => {
            let record = mlops_core::redeploy(&registry, &alias, version).await?;
            eprintln!(
                "{alias} now runs {} (→ {})",
                record.model_id,
                record.alias_of.map_or_else(String::new, |a| a.to_string())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
