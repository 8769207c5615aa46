//! `mlops-host bench`: how fast a model answers, cold and warm, in-process
//! and over HTTP, with the time of a call split into its phases.
//!
//! - cold: compile, load from the compile cache, instantiate + initialise,
//!   first call;
//! - warm in-process, one call at a time: JSON decode, dispatch to the call
//!   task, waiting for an instance, copy into the guest, guest compute,
//!   copy out, returning the instance, back to the caller, encode — and
//!   the end-to-end time measured around all of it, to check the phases
//!   add up;
//! - HTTP on loopback at each concurrency, with a load generator in this
//!   process (the comparison script in bench/ uses wrk instead).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use mlops_engine::{CacheOutcome, DeploymentSpec, Engine, EngineConfig, Payload, Schema};
use mlops_manifest::{Env, ExternalId, Limits, ModelName, ServiceKind};
use mlops_registry::{LimitsRecord, NoProgress, Registry, SERVICE_FORMAT, ServiceRecord};
use mlops_server::codec::{self, PredictionJson};
use mlops_server::{App, AppOptions, Loader};
use serde::Serialize;
use serde_json::{Value, json};

use crate::UsageError;
use crate::commands::models::{Format, print_table};
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

#[derive(Debug, Serialize)]
struct Cold {
    compile_ms: f64,
    cache_load_ms: f64,
    instantiate_and_initialize_ms: f64,
    first_call_ms: f64,
}

#[derive(Debug, Serialize)]
struct InProcess {
    rows: usize,
    samples: usize,
    calls_per_second: f64,
    end_to_end: Stats,
    /// The engine's part: dispatch to the call task through to the result
    /// back (no JSON), what a native call is compared with.
    predict: Stats,
    /// Mean time per phase, µs.
    phases_mean_us: BTreeMap<&'static str, f64>,
    /// Sum of the phase means over the mean end-to-end time.
    phases_over_end_to_end: f64,
    phases: BTreeMap<&'static str, Stats>,
}

#[derive(Debug, Serialize)]
struct Http {
    rows: usize,
    concurrency: usize,
    requests: usize,
    errors: usize,
    requests_per_second: f64,
    latency: Stats,
    /// HTTP's share at concurrency 1: median HTTP latency minus the median
    /// in-process end-to-end time, µs.
    http_overhead_p50_us: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    target: String,
    model_id: String,
    machine: String,
    cold: Cold,
    in_process: Vec<InProcess>,
    http: Vec<Http>,
}

pub async fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let (model, bytes, artifacts) = resolve(global, &args).await?;
    let limits = Limits { max_instances: 64, max_request_bytes: 1 << 30, ..Limits::default() };

    // Cold: compile without a cache, then through a fresh cache twice.
    let cache = tempfile::tempdir().context("temporary cache")?;
    let plain = Engine::new(EngineConfig { cache_dir: None, ..EngineConfig::default() })?;
    let compiled = plain.load(&bytes)?;
    let cached_engine = || {
        Engine::new(EngineConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            ..EngineConfig::default()
        })
    };
    cached_engine()?.load(&bytes)?;
    let engine = cached_engine()?;
    let component = engine.load(&bytes)?;
    if component.outcome != CacheOutcome::Loaded {
        bail!("the compile cache did not take the component");
    }
    let spec = |profile: bool| DeploymentSpec {
        name: format!("{model} (bench)"),
        artifact_dir: artifacts.clone(),
        limits: limits.clone(),
        secrets: Vec::new(),
        profile,
    };
    let started = Instant::now();
    let deployment = engine.deploy(&component, spec(true)).await?;
    let init = started.elapsed();
    let inputs = deployment.signature().map_or(Schema::Any, |s| s.inputs.clone());
    let template = template(&args, &inputs)?;
    let one = body_with_rows(&template, 1);
    let started = Instant::now();
    call_once(&deployment, &inputs, &one).await?;
    let first_call = started.elapsed();
    let cold = Cold {
        compile_ms: compiled.elapsed.as_secs_f64() * 1e3,
        cache_load_ms: component.elapsed.as_secs_f64() * 1e3,
        instantiate_and_initialize_ms: init.as_secs_f64() * 1e3,
        first_call_ms: first_call.as_secs_f64() * 1e3,
    };

    // On a runtime worker, as a server's request handler would be.
    let in_process = {
        let (deployment, inputs, template, rows, samples) =
            (deployment.clone(), inputs.clone(), template.clone(), args.rows.clone(), args.samples);
        tokio::spawn(async move {
            let mut out = Vec::new();
            for rows in rows {
                let body = body_with_rows(&template, rows);
                let samples = if rows >= 10_000 { (samples / 10).max(50) } else { samples };
                out.push(warm(&deployment, &inputs, &body, rows, samples).await?);
            }
            anyhow::Ok(out)
        })
        .await??
    };

    let mut http = Vec::new();
    if !args.no_http {
        http = over_http(
            &engine,
            &model,
            &bytes,
            artifacts.as_deref(),
            &limits,
            &template,
            &args,
            &in_process,
        )
        .await?;
    }
    let report = Report {
        target: args.target.clone(),
        model_id: format!("{model}"),
        machine: machine(),
        cold,
        in_process,
        http,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => print_report(&report),
    }
    Ok(ExitCode::SUCCESS)
}

/// The component, its artifacts and the model's name.
async fn resolve(
    global: &GlobalArgs,
    args: &Args,
) -> anyhow::Result<(ModelName, Bytes, Option<PathBuf>)> {
    let path = Path::new(&args.target);
    if args.target.ends_with(".wasm") || path.is_file() {
        let bytes = Bytes::from(
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        );
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model").replace('-', "_");
        let model = ModelName::new(stem).or_else(|_| ModelName::new("model"))?;
        return Ok((model, bytes, args.artifacts.clone()));
    }
    let id: ExternalId =
        args.target.parse().map_err(|e| UsageError(format!("{}: {e}", args.target)))?;
    let registry = global.registry()?;
    let record =
        registry.service(&id).await?.with_context(|| format!("there is no service {id}"))?;
    let bytes = registry.get_blob(&record.component).await?;
    let manifest = registry.manifest(&record.model_id).await?;
    let loader = global.loader(registry, global.engine()?)?;
    let artifacts = loader.materialize(&manifest).await?;
    Ok((record.model, bytes, artifacts))
}

/// The request whose rows are repeated: the given one, or made-up rows of
/// the declared columns.
fn template(args: &Args, inputs: &Schema) -> anyhow::Result<Value> {
    if let Some(path) = &args.request {
        let body: Value = serde_json::from_slice(
            &std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{} is not JSON", path.display()))?;
        if !body["data"].is_object() {
            bail!(UsageError(format!(
                "{}: `data` must be an object of columns to repeat rows",
                path.display()
            )));
        }
        return Ok(body);
    }
    let Schema::Frame(fields) = inputs else {
        bail!(UsageError(
            "the model does not declare its columns: pass --request with a sample body".into()
        ));
    };
    // Deterministic values in [0.5, 3.0): positive, as most measurements are.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        0.5 + 2.5 * ((state >> 11) as f64 / (1u64 << 53) as f64)
    };
    let mut data = serde_json::Map::new();
    for f in fields {
        let column: Vec<Value> = (0..64)
            .map(|i| match f.type_ {
                mlops_engine::DataType::F64 => json!(next()),
                mlops_engine::DataType::S64 => json!(i),
                mlops_engine::DataType::Bool => json!(i % 2 == 0),
                mlops_engine::DataType::String => json!(format!("v{i}")),
            })
            .collect();
        data.insert(f.name.clone(), Value::Array(column));
    }
    Ok(json!({ "data": data }))
}

/// The template's rows repeated (cycled) to `rows` rows.
fn body_with_rows(template: &Value, rows: usize) -> Bytes {
    let mut data = serde_json::Map::new();
    if let Some(columns) = template["data"].as_object() {
        for (name, values) in columns {
            let values = values.as_array().cloned().unwrap_or_default();
            let column: Vec<Value> = if values.is_empty() {
                Vec::new()
            } else {
                (0..rows).map(|i| values[i % values.len()].clone()).collect()
            };
            data.insert(name.clone(), Value::Array(column));
        }
    }
    Bytes::from(json!({ "data": data }).to_string())
}

async fn call_once(
    deployment: &mlops_engine::Deployment,
    inputs: &Schema,
    body: &[u8],
) -> anyhow::Result<Bytes> {
    let request = codec::parse_request(body).map_err(anyhow::Error::msg)?;
    let data = request.data.context("no data")?;
    let input = codec::decode_data(data, inputs).map_err(anyhow::Error::msg)?;
    let output =
        deployment.predict(input).await.context("the model refused the benchmark request")?;
    Ok(Bytes::from(serde_json::to_vec(&PredictionJson(&output))?))
}

async fn warm(
    deployment: &mlops_engine::Deployment,
    inputs: &Schema,
    body: &[u8],
    rows: usize,
    samples: usize,
) -> anyhow::Result<InProcess> {
    for _ in 0..samples / 10 {
        call_once(deployment, inputs, body).await?;
    }
    let names = [
        "decode", "dispatch", "queue", "copy_in", "compute", "copy_out", "release", "join",
        "encode",
    ];
    let mut per_phase: Vec<Vec<Duration>> = vec![Vec::with_capacity(samples); names.len()];
    let mut totals = Vec::with_capacity(samples);
    let mut predicts = Vec::with_capacity(samples);
    let run_started = Instant::now();
    for _ in 0..samples {
        let t0 = Instant::now();
        let request = codec::parse_request(body).map_err(anyhow::Error::msg)?;
        let input: Payload = codec::decode_data(request.data.context("no data")?, inputs)
            .map_err(anyhow::Error::msg)?;
        let t1 = Instant::now();
        let (output, phases) = deployment.predict_profiled(input).await;
        let output = output?;
        let t2 = Instant::now();
        let prediction = serde_json::to_vec(&PredictionJson(&output))?;
        let envelope = mlops_server::call::ok_envelope(&prediction, None, "bench");
        std::hint::black_box(envelope);
        let t3 = Instant::now();
        totals.push(t3 - t0);
        predicts.push(phases.total());
        let measured = [
            t1 - t0,
            phases.dispatch,
            phases.queue,
            phases.copy_in,
            phases.compute,
            phases.copy_out,
            phases.release,
            phases.join,
            t3 - t2,
        ];
        for (bucket, d) in per_phase.iter_mut().zip(measured) {
            bucket.push(d);
        }
    }
    let elapsed = run_started.elapsed();
    let end_to_end = Stats::of(totals);
    let phases: BTreeMap<&'static str, Stats> =
        names.iter().zip(per_phase).map(|(n, d)| (*n, Stats::of(d))).collect();
    let phases_mean_us: BTreeMap<&'static str, f64> =
        phases.iter().map(|(n, s)| (*n, s.mean)).collect();
    let sum: f64 = phases_mean_us.values().sum();
    Ok(InProcess {
        rows,
        samples,
        calls_per_second: samples as f64 / elapsed.as_secs_f64(),
        phases_over_end_to_end: sum / end_to_end.mean,
        end_to_end,
        predict: Stats::of(predicts),
        phases_mean_us,
        phases,
    })
}

/// Serves the model from an in-memory store on loopback and loads it.
#[allow(clippy::too_many_arguments, reason = "one call site; the parts of one measurement")]
async fn over_http(
    engine: &Engine,
    model: &ModelName,
    bytes: &Bytes,
    artifacts: Option<&Path>,
    limits: &Limits,
    template: &Value,
    args: &Args,
    in_process: &[InProcess],
) -> anyhow::Result<Vec<Http>> {
    let registry = Registry::open("memory://")?;
    let component = registry.put_blob(bytes.clone()).await?;
    let manifest = registry
        .upload_version(model, Env::Dev, artifacts, BTreeMap::new(), "bench", &NoProgress)
        .await?;
    let record = ServiceRecord {
        format: SERVICE_FORMAT.into(),
        external_id: ExternalId::pinned(
            model.clone(),
            ServiceKind::Prediction,
            Env::Dev,
            manifest.version,
        ),
        alias_of: None,
        model: model.clone(),
        service: ServiceKind::Prediction,
        env: Env::Dev,
        model_id: manifest.model_id(),
        component,
        component_size: bytes.len() as u64,
        human_friendly_model_name: model.to_string(),
        description: String::new(),
        owner: String::new(),
        metadata: BTreeMap::new(),
        limits: LimitsRecord::from(limits),
        secrets: Vec::new(),
        prediction_files: Default::default(),
        deployed: mlops_registry::now(),
        deployed_by: "bench".into(),
    };
    registry.publish_service(&record).await?;
    let scratch = tempfile::tempdir()?;
    let loader = Loader {
        registry,
        engine: engine.clone(),
        artifacts_dir: scratch.path().join("artifacts"),
        cdf: None,
        secrets: Arc::new(|name| Err(format!("secret `{name}`: benchmarks run without secrets"))),
    };
    let app = App::new(loader, AppOptions::new(scratch.path().join("scratch")));
    app.load_all().await.map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mlops_server::serve(
        app,
        listener,
        async move {
            let _ = stop_rx.await;
        },
        Duration::from_secs(1),
    ));
    let url = format!("http://{addr}/services/{}/call", record.external_id.alias());
    let mut out = Vec::new();
    for &rows in &args.rows {
        let body = body_with_rows(template, rows);
        for &concurrency in &args.concurrency {
            let seconds = if rows >= 10_000 { args.seconds.min(2.0) } else { args.seconds };
            let mut point =
                load(&url, body.clone(), concurrency, Duration::from_secs_f64(seconds)).await;
            point.rows = rows;
            if concurrency == 1 {
                let inproc = in_process.iter().find(|p| p.rows == rows).map(|p| p.end_to_end.p50);
                point.http_overhead_p50_us = inproc.map(|i| point.latency.p50 - i);
            }
            out.push(point);
        }
    }
    let _ = stop_tx.send(());
    let _ = server.await;
    Ok(out)
}

/// `concurrency` clients, each on one kept-alive connection, POSTing for
/// `duration` (after a short warm-up).
async fn load(url: &str, body: Bytes, concurrency: usize, duration: Duration) -> Http {
    let client = match reqwest::Client::builder().pool_max_idle_per_host(concurrency).build() {
        Ok(c) => c,
        Err(_) => reqwest::Client::new(),
    };
    let warm_until = Instant::now() + Duration::from_millis(200);
    let until = warm_until + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.to_string(), body.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                loop {
                    let t = Instant::now();
                    if t >= until {
                        break;
                    }
                    let ok = match client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                    {
                        Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if t >= warm_until {
                        if ok {
                            latencies.push(t.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        if let Ok((l, e)) = w.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let requests = latencies.len();
    Http {
        rows: 0,
        concurrency,
        requests,
        errors,
        requests_per_second: requests as f64 / duration.as_secs_f64(),
        latency: Stats::of(latencies),
        http_overhead_p50_us: None,
    }
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

fn print_report(r: &Report) {
    println!("mlops-host bench: {} ({}) on {}", r.target, r.model_id, r.machine);
    println!(
        "cold: compile {:.1} ms, load from cache {:.2} ms, instantiate + initialize {:.2} ms, first call {:.2} ms\n",
        r.cold.compile_ms,
        r.cold.cache_load_ms,
        r.cold.instantiate_and_initialize_ms,
        r.cold.first_call_ms
    );
    println!("warm, in-process, one call at a time (µs):");
    let rows: Vec<Vec<String>> = r
        .in_process
        .iter()
        .map(|p| {
            let m = |n: &str| format!("{:.2}", p.phases_mean_us.get(n).copied().unwrap_or(0.0));
            let other = ["dispatch", "queue", "release", "join"]
                .iter()
                .map(|n| p.phases_mean_us.get(n).copied().unwrap_or(0.0))
                .sum::<f64>();
            vec![
                p.rows.to_string(),
                format!("{:.2}", p.end_to_end.p50),
                format!("{:.2}", p.end_to_end.p90),
                format!("{:.2}", p.end_to_end.p99),
                format!("{:.2}", p.end_to_end.max),
                format!("{:.0}", p.calls_per_second),
                format!("{:.2}", p.predict.p50),
                m("decode"),
                m("copy_in"),
                m("compute"),
                m("copy_out"),
                m("encode"),
                format!("{other:.2}"),
                format!("{:.0}%", p.phases_over_end_to_end * 100.0),
            ]
        })
        .collect();
    print_table(
        &[
            "ROWS",
            "P50",
            "P90",
            "P99",
            "MAX",
            "CALLS/S",
            "ENGINE P50",
            "DECODE",
            "COPY IN",
            "COMPUTE",
            "COPY OUT",
            "ENCODE",
            "OTHER",
            "SUM/TOTAL",
        ],
        &rows,
    );
    if !r.http.is_empty() {
        println!("\nHTTP on loopback, load generator in this process (µs):");
        let rows: Vec<Vec<String>> = r
            .http
            .iter()
            .map(|h| {
                vec![
                    h.rows.to_string(),
                    h.concurrency.to_string(),
                    format!("{:.1}", h.latency.p50),
                    format!("{:.1}", h.latency.p90),
                    format!("{:.1}", h.latency.p99),
                    format!("{:.1}", h.latency.max),
                    format!("{:.0}", h.requests_per_second),
                    h.errors.to_string(),
                    h.http_overhead_p50_us.map_or_else(String::new, |o| format!("{o:.1}")),
                ]
            })
            .collect();
        print_table(
            &["ROWS", "CONC", "P50", "P90", "P99", "MAX", "REQ/S", "ERRORS", "HTTP P50"],
            &rows,
        );
    }
}
