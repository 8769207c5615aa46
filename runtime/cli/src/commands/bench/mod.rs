//! `mlops-host bench`: how fast a model answers, cold and warm, in-process
//! and over HTTP, with the time of a call split into its phases.
//!
//! - cold: compile, load from the compile cache, instantiate + initialise,
//!   first call;
//! - warm in-process, one call at a time, through the serving core's call
//!   function (the one `serve` runs): envelope decode, waiting for an
//!   instance, copy into the guest, guest compute, copy out, returning the
//!   instance, envelope encode — and the end-to-end time measured around
//!   all of it, to check the phases add up;
//! - HTTP on loopback at each concurrency, with a load generator in this
//!   process (the comparison script in bench/ uses wrk instead).
//!
//! The model is deployed the way `deploy` does it (`mlops_core::deploy`),
//! into a store in memory.

mod measure;
mod report;
mod requests;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use mlops_manifest::{ExternalId, ModelName};
use serde::Serialize;

use crate::UsageError;
use crate::commands::models::Format;
use crate::context::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A service in the store (`<model>-prediction-<env>[-<version>]`) or a
    /// component file (.wasm).
    pub target: String,
    /// With a component file: its artifact folder.
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// A request body whose rows are repeated to make each batch; without
    /// it, rows of the model's declared columns are made up (seeded).
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
    /// Batch sizes (rows per call).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 100, 10_000])]
    pub rows: Vec<usize>,
    /// HTTP concurrency levels.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 32])]
    pub concurrency: Vec<usize>,
    /// Timed in-process calls per batch size (a tenth more warm up first).
    #[arg(long, default_value_t = 2000)]
    pub samples: usize,
    /// Seconds per HTTP measurement.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Skip the HTTP measurements.
    #[arg(long)]
    pub no_http: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Percentiles of a sample, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Stats {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Stats {
        if samples.is_empty() {
            return Stats::default();
        }
        samples.sort_unstable();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let at = |q: f64| us(samples[((samples.len() - 1) as f64 * q).round() as usize]);
        let mean = samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64;
        Stats {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: us(samples[samples.len() - 1]),
            mean,
        }
    }
}

/// The model under test: its component, artifacts and name.
pub struct Subject {
    pub model: ModelName,
    pub component: Bytes,
    pub artifacts: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    target: String,
    model_id: String,
    machine: String,
    cold: measure::Cold,
    in_process: Vec<measure::InProcess>,
    http: Vec<measure::Http>,
}

pub async fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let subject = resolve(global, &args).await?;
    let mut cold = measure::cold(&subject).await?;
    let bench = measure::Bench::deploy(&subject).await?;
    let template = requests::template(&args, bench.inputs())?;
    cold.first_call(&bench, &requests::body_with_rows(&template, 1)).await?;
    // On a runtime worker, as a server's request handler would be.
    let bench = std::sync::Arc::new(bench);
    let in_process = {
        let (bench, template, rows) = (bench.clone(), template.clone(), args.rows.clone());
        let samples = args.samples;
        tokio::spawn(async move { bench.in_process(&template, &rows, samples).await }).await??
    };
    let http = if args.no_http {
        Vec::new()
    } else {
        bench.over_http(&template, &args, &in_process).await?
    };
    let report = Report {
        target: args.target.clone(),
        model_id: subject.model.to_string(),
        machine: machine(),
        cold: cold.report(),
        in_process,
        http,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => report::print(&report),
    }
    Ok(ExitCode::SUCCESS)
}

/// The component, its artifacts and the model's name: a file, or a
/// service in the store.
async fn resolve(global: &GlobalArgs, args: &Args) -> anyhow::Result<Subject> {
    let path = Path::new(&args.target);
    if args.target.ends_with(".wasm") || path.is_file() {
        let bytes = Bytes::from(
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        );
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model").replace('-', "_");
        let model = ModelName::new(stem).or_else(|_| ModelName::new("model"))?;
        return Ok(Subject { model, component: bytes, artifacts: args.artifacts.clone() });
    }
    let id: ExternalId =
        args.target.parse().map_err(|e| UsageError(format!("{}: {e}", args.target)))?;
    let registry = global.registry()?;
    let record =
        registry.service(&id).await?.with_context(|| format!("there is no service {id}"))?;
    let component = registry.get_blob(&record.component).await?;
    let manifest = registry.manifest(&record.model_id).await?;
    let loader = global.loader(registry, global.engine()?)?;
    let artifacts = loader.materialize(&manifest).await?;
    Ok(Subject { model: record.model, component, artifacts })
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs, {model}, {} {}", std::env::consts::OS, std::env::consts::ARCH)
}
