//! `mlops-host models …`: artifact versions in the store.

use std::process::ExitCode;

use mlops_manifest::{Env, ModelName};

use crate::context::GlobalArgs;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List artifact versions.
    List {
        /// Only this model.
        #[arg(long)]
        model: Option<ModelName>,
        /// Only this environment.
        #[arg(long)]
        env: Option<Env>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub async fn run(global: &GlobalArgs, cmd: Command) -> anyhow::Result<ExitCode> {
    let Command::List { model, env, format } = cmd;
    let registry = global.registry()?;
    let mut versions = registry.list_versions().await?;
    versions
        .retain(|m| model.as_ref().is_none_or(|n| &m.model == n) && env.is_none_or(|e| m.env == e));
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&versions)?),
        Format::Table => {
            let rows: Vec<Vec<String>> = versions
                .iter()
                .map(|m| {
                    vec![
                        m.model_id().to_string(),
                        m.files.len().to_string(),
                        m.size().to_string(),
                        m.created.clone(),
                        m.created_by.clone(),
                        m.promoted_from.as_ref().map_or_else(String::new, ToString::to_string),
                    ]
                })
                .collect();
            print_table(
                &["MODEL ID", "FILES", "BYTES", "CREATED", "CREATED BY", "PROMOTED FROM"],
                &rows,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints aligned columns.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(ToString::to_string).collect());
    for row in rows {
        line(row.clone());
    }
}
