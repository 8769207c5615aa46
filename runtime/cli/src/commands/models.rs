//! `mlops-host models …`: the Model Manager — artifact versions per model
//! and environment.

use std::collections::BTreeMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use mlops_manifest::{Env, ModelId, ModelName, Version};
use mlops_registry::{ArtifactManifest, Promotion, Registry, VersionFilter};

use crate::UsageError;
use crate::context::{GlobalArgs, whoami};
use crate::progress::TransferProgress;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Upload a folder as a new version of a model's artifacts.
    Upload {
        /// The model.
        model: ModelName,
        /// The folder whose files are the artifacts.
        folder: PathBuf,
        /// The environment (usually dev: test and prod get versions by
        /// promotion).
        #[arg(long, default_value = "dev")]
        env: Env,
        /// Metadata to store with the version (repeatable).
        #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = key_value)]
        metadata: Vec<(String, String)>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Promote a version to the next environment (dev → test → prod) under
    /// the same number, without copying bytes.
    Promote {
        model: ModelName,
        /// The environment to promote to: test (from dev) or prod (from test).
        #[arg(long)]
        to: Env,
        /// The version to promote [default: the latest in the source env].
        #[arg(long)]
        version: Option<Version>,
    },
    /// List artifact versions (the overview).
    List {
        /// Only this model.
        #[arg(long)]
        model: Option<ModelName>,
        /// Only this environment.
        #[arg(long)]
        env: Option<Env>,
        /// Only versions whose metadata has KEY=VALUE (repeatable: all must match).
        #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = key_value)]
        metadata: Vec<(String, String)>,
        /// Also list deleted versions.
        #[arg(long)]
        deleted: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Download a version's files into a new folder, checking each.
    Download {
        model: ModelName,
        /// Where to put the files (must not exist, or be empty).
        folder: PathBuf,
        #[arg(long, default_value = "dev")]
        env: Env,
        /// [default: the latest]
        #[arg(long)]
        version: Option<Version>,
    },
    /// Delete a version. Its number is never reused; its files go at the
    /// next `gc`. Refused while a service runs it.
    Delete {
        /// `<model>/<env>/<version>`
        model_id: ModelId,
        /// Do not ask (for scripts).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Required to delete in prod.
        #[arg(long)]
        allow_prod: bool,
    },
    /// Import the artifact history akerbp.mlops kept in CDF Files (data set
    /// `mlops`, directory `/mlops`): every version keeps its number,
    /// environment, metadata and creation time. Run it again after an
    /// interruption: what was imported is skipped.
    Import(crate::commands::import::Args),
    /// Delete blobs that no version and no service refers to.
    Gc {
        /// Keep unreferenced blobs younger than this (an upload in flight may
        /// be about to use them), e.g. 30m, 1h, 2d.
        #[arg(long, default_value = "1h", value_parser = duration)]
        min_age: Duration,
        /// Only say what would go.
        #[arg(long)]
        dry_run: bool,
    },
}

fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

fn duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 =
        number.parse().map_err(|_| format!("`{s}` is not a duration like 30m, 1h or 2d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("`{s}`: use s, m, h or d")),
    };
    Ok(Duration::from_secs(secs))
}

pub async fn run(global: &GlobalArgs, cmd: Command) -> anyhow::Result<ExitCode> {
    let registry = global.registry()?;
    match cmd {
        Command::Import(args) => return crate::commands::import::run(&registry, args).await,
        Command::Upload { model, folder, env, metadata, format } => {
            if !folder.is_dir() {
                return Err(UsageError(format!("{} is not a folder", folder.display())).into());
            }
            let metadata: BTreeMap<String, String> = metadata.into_iter().collect();
            let progress = TransferProgress::new();
            let m = registry
                .upload_version(&model, env, Some(&folder), metadata, &whoami(), &progress)
                .await
                .with_context(|| format!("cannot upload {}", folder.display()))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&m)?),
                Format::Table => println!("{}", m.model_id()),
            }
            eprintln!(
                "uploaded {} ({} file(s), {})",
                m.model_id(),
                m.files.len(),
                human_bytes(m.size())
            );
        }
        Command::Promote { model, to, version } => {
            let from = match to {
                Env::Test => Env::Dev,
                Env::Prod => Env::Test,
                Env::Dev => {
                    return Err(UsageError(
                        "nothing is promoted to dev: use --to test or --to prod".into(),
                    )
                    .into());
                }
            };
            let version = resolve_version(&registry, &model, from, version).await?;
            let id = ModelId { model, env: from, version };
            match registry.promote(&id, to, &whoami()).await? {
                Promotion::Promoted(m) => {
                    eprintln!("promoted {id} → {} (no bytes copied)", m.model_id())
                }
                Promotion::AlreadyThere(m) => {
                    eprintln!("{id} was already promoted to {}; nothing to do", m.model_id())
                }
            }
        }
        Command::List { model, env, metadata, deleted, format } => {
            let filter = VersionFilter { model, env, metadata, include_deleted: deleted };
            let versions = registry.list_versions(&filter).await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&versions)?),
                Format::Table => print_versions(&versions),
            }
        }
        Command::Download { model, folder, env, version } => {
            let version = resolve_version(&registry, &model, env, version).await?;
            let id = ModelId { model, env, version };
            let manifest = registry.manifest(&id).await?;
            registry
                .download(&manifest, &folder, &TransferProgress::new())
                .await
                .with_context(|| format!("cannot download {id}"))?;
            eprintln!(
                "downloaded {id} into {} ({} file(s), checked)",
                folder.display(),
                manifest.files.len()
            );
        }
        Command::Delete { model_id, yes, allow_prod } => {
            if model_id.env == Env::Prod && !allow_prod {
                return Err(UsageError(format!(
                    "{model_id} is in prod: add --allow-prod to delete it"
                ))
                .into());
            }
            let manifest = registry.manifest(&model_id).await?;
            eprintln!(
                "{model_id}: {} file(s), {}, created {} by {}{}",
                manifest.files.len(),
                human_bytes(manifest.size()),
                manifest.created,
                manifest.created_by,
                manifest
                    .promoted_from
                    .as_ref()
                    .map_or_else(String::new, |p| format!(", promoted from {p}"))
            );
            for f in &manifest.files {
                eprintln!("  {} ({})", f.path, human_bytes(f.size));
            }
            if !yes && !confirm(&format!("Delete {model_id}?"))? {
                eprintln!("nothing deleted");
                return Ok(ExitCode::FAILURE);
            }
            registry.delete_version(&model_id, &whoami()).await?;
            eprintln!("deleted {model_id}; `mlops-host models gc` removes files nothing else uses");
        }
        Command::Gc { min_age, dry_run } => {
            let report = registry.gc(min_age, dry_run).await?;
            let verb = if dry_run { "would remove" } else { "removed" };
            for (digest, size) in &report.removed {
                eprintln!("  {verb} blob {digest} ({})", human_bytes(*size));
            }
            eprintln!(
                "{verb} {} blob(s), {}, and {} partial file(s) of interrupted uploads; kept {} in use and {} younger than {}s",
                report.removed.len(),
                human_bytes(report.removed_bytes()),
                report.partial_files,
                report.kept,
                report.too_young,
                min_age.as_secs()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The given version, or the latest live one in `env`.
async fn resolve_version(
    registry: &Registry,
    model: &ModelName,
    env: Env,
    version: Option<Version>,
) -> anyhow::Result<Version> {
    match version {
        Some(v) => Ok(v),
        None => registry
            .latest_version(model, env)
            .await?
            .with_context(|| format!("there is no version of {model} in {env}")),
    }
}

/// Asks on the terminal; refuses when there is no terminal to ask on.
fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(UsageError(
            "refusing to delete without --yes: there is no terminal to ask on".into()
        ));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn print_versions(versions: &[ArtifactManifest]) {
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|m| {
            let meta: Vec<String> = m.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![
                m.model_id().to_string(),
                m.files.len().to_string(),
                human_bytes(m.size()),
                m.created.clone(),
                m.created_by.clone(),
                m.promoted_from.as_ref().map_or_else(String::new, ToString::to_string),
                if m.is_live() { meta.join(" ") } else { "(deleted)".to_string() },
            ]
        })
        .collect();
    print_table(
        &["MODEL ID", "FILES", "SIZE", "CREATED", "CREATED BY", "PROMOTED FROM", "METADATA"],
        &rows,
    );
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_pairs_parse() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(duration("soon").is_err());
        assert_eq!(key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(key_value("=b").is_err());
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
