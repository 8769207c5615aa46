//! `mlops-host services …`: deployed services in the store.

use std::process::ExitCode;

use mlops_manifest::Env;

use crate::commands::models::{Format, print_table};
use crate::context::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List service records.
    List {
        /// Only this environment.
        #[arg(long)]
        env: Option<Env>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub async fn run(global: &GlobalArgs, cmd: Command) -> anyhow::Result<ExitCode> {
    let Command::List { env, format } = cmd;
    let registry = global.registry()?;
    let (mut records, unreadable) = registry.services().await?;
    records.retain(|r| env.is_none_or(|e| r.env == e));
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
                        r.human_friendly_model_name.clone(),
                    ]
                })
                .collect();
            print_table(&["EXTERNAL ID", "MODEL ID", "ALIAS OF", "DEPLOYED", "NAME"], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}
