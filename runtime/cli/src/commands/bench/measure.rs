//! The measurements: a cold start with the engine alone, then warm calls
//! through the serving core's call function (in-process) and through
//! `serve`'s HTTP layer on loopback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use mlops_core::{CallTimes, DeployPlan, Entry, Host, Loader};
use mlops_engine::{CacheOutcome, DeploymentSpec, Engine, EngineConfig, Schema};
use mlops_manifest::{Env, ExternalId, Limits, ServiceKind};
use mlops_registry::{NoProgress, Registry};
use serde::Serialize;
use serde_json::Value;

use super::requests::body_with_rows;
use super::{Args, Stats, Subject};

#[derive(Debug, Serialize)]
pub struct Cold {
    pub compile_ms: f64,
    pub cache_load_ms: f64,
    pub instantiate_and_initialize_ms: f64,
    pub first_call_ms: f64,
}

/// A cold start, measured with the engine alone: compile without a cache,
/// then through a fresh cache twice (the second load is the cache's), then
/// a deployment's first instance. The first call is measured on the
/// benchmark's freshly loaded host.
pub struct ColdRun {
    compile: Duration,
    cache_load: Duration,
    init: Duration,
    first_call: Duration,
}

pub async fn cold(subject: &Subject) -> anyhow::Result<ColdRun> {
    let component = &subject.component;
    let cache = tempfile::tempdir().context("temporary cache")?;
    let plain = Engine::new(EngineConfig { cache_dir: None, ..EngineConfig::default() })?;
    let compiled = plain.load(component)?;
    let cached_engine = || {
        Engine::new(EngineConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            ..EngineConfig::default()
        })
    };
    cached_engine()?.load(component)?;
    let engine = cached_engine()?;
    let loaded = engine.load(component)?;
    if loaded.outcome != CacheOutcome::Loaded {
        bail!("the compile cache did not take the component");
    }
    let spec = DeploymentSpec {
        name: format!("{} (bench, cold)", subject.model),
        artifact_dir: subject.artifacts.clone(),
        limits: Limits::default(),
        secrets: Vec::new(),
        profile: false,
    };
    let started = Instant::now();
    engine.deploy(&loaded, spec).await?;
    Ok(ColdRun {
        compile: compiled.elapsed,
        cache_load: loaded.elapsed,
        init: started.elapsed(),
        first_call: Duration::ZERO,
    })
}

impl ColdRun {
    /// Times the first call of the benchmark's freshly loaded host.
    pub async fn first_call(&mut self, bench: &Bench, body: &[u8]) -> anyhow::Result<()> {
        let started = Instant::now();
        bench.call(&bench.profiled, body, None).await?;
        self.first_call = started.elapsed();
        Ok(())
    }

    pub fn report(&self) -> Cold {
        Cold {
            compile_ms: self.compile.as_secs_f64() * 1e3,
            cache_load_ms: self.cache_load.as_secs_f64() * 1e3,
            instantiate_and_initialize_ms: self.init.as_secs_f64() * 1e3,
            first_call_ms: self.first_call.as_secs_f64() * 1e3,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct InProcess {
    pub rows: usize,
    pub samples: usize,
    pub calls_per_second: f64,
    /// On the plain host, as `serve` runs.
    pub end_to_end: Stats,
    /// The engine's part: the call to the result back (no JSON), what a
    /// native call is compared with; on the plain host.
    pub predict: Stats,
    /// Mean time per phase on the profiled host, µs.
    pub phases_mean_us: BTreeMap<&'static str, f64>,
    /// On the profiled host: the median over calls of the phases' sum over
    /// that call's end-to-end time (a call preempted between two phases, a
    /// millisecond outlier, does not skew it as a ratio of means would).
    pub phases_over_end_to_end: f64,
    /// On the profiled host: the median over calls of that call's
    /// end-to-end time the phases leave out, µs (the call's own set-up,
    /// the clock reads between phases, dropping the answer). On a
    /// microsecond call this fixed part is a sizeable share.
    pub unaccounted_p50_us: f64,
    pub phases: BTreeMap<&'static str, Stats>,
}

#[derive(Debug, Serialize)]
pub struct Http {
    pub rows: usize,
    pub concurrency: usize,
    pub requests: usize,
    pub errors: usize,
    pub requests_per_second: f64,
    pub latency: Stats,
    /// HTTP's share at concurrency 1: median HTTP latency minus the median
    /// in-process end-to-end time, µs.
    pub http_overhead_p50_us: Option<f64>,
}

/// The model deployed as `deploy` would, into a store in memory, and two
/// hosts serving it: one that times the guest crossings (in-process
/// phases), one that does not (HTTP, as `serve`).
pub struct Bench {
    id: ExternalId,
    /// What the model reads.
    inputs: Schema,
    profiled: Host,
    plain: Host,
    _scratch: tempfile::TempDir,
}

impl Bench {
    pub async fn deploy(subject: &Subject) -> anyhow::Result<Bench> {
        let registry = Registry::memory();
        let component = registry.put_blob(subject.component.clone()).await?;
        let manifest = registry
            .upload_version(
                &subject.model,
                Env::Dev,
                subject.artifacts.as_deref(),
                BTreeMap::new(),
                "bench",
                &NoProgress,
            )
            .await?;
        let plan = DeployPlan {
            model: subject.model.clone(),
            env: Env::Dev,
            service: ServiceKind::Prediction,
            version: manifest.version,
            component,
            human_friendly_model_name: subject.model.to_string(),
            description: String::new(),
            owner: String::new(),
            metadata: BTreeMap::new(),
            // Enough instances and body for any concurrency and batch.
            limits: Limits { max_instances: 64, max_request_bytes: 1 << 30, ..Limits::default() },
            secrets: Vec::new(),
            prediction_files: Default::default(),
            example: None,
            models_to_keep: 1,
            deployed_by: "bench".into(),
        };
        let deployed = mlops_core::deploy(&registry, plan).await?;
        let scratch = tempfile::tempdir().context("temporary folder")?;
        let engine = Engine::new(EngineConfig {
            cache_dir: Some(scratch.path().join("compiled")),
            ..EngineConfig::default()
        })?;
        let loader = Loader {
            registry,
            engine,
            artifacts_dir: scratch.path().join("artifacts"),
            cdf: None,
            secrets: Arc::new(|name| {
                Err(format!("secret `{name}`: benchmarks run without secrets"))
            }),
            profile: true,
        };
        let host = |loader: Loader| async {
            let host = Host::new(loader, scratch.path().join("scratch"));
            let report = host.sync().await?;
            if let Some((id, why)) = report.failed.first() {
                bail!("{id} does not load: {why}");
            }
            anyhow::Ok(host)
        };
        let profiled = host(loader.clone()).await?;
        let plain = host(Loader { profile: false, ..loader }).await?;
        let id = deployed.record.external_id.alias();
        let inputs = match profiled.lookup(&id)?.service() {
            Ok(service) => service.inputs.clone(),
            Err(why) => bail!("{id} does not load: {why}"),
        };
        Ok(Bench { id, inputs, profiled, plain, _scratch: scratch })
    }

    /// What the model reads.
    pub fn inputs(&self) -> &Schema {
        &self.inputs
    }

    fn entry(&self, host: &Host) -> anyhow::Result<Arc<Entry>> {
        Ok(host.lookup(&self.id)?)
    }

    /// One call through the core's call function.
    async fn call(
        &self,
        host: &Host,
        body: &[u8],
        times: Option<&mut CallTimes>,
    ) -> anyhow::Result<Bytes> {
        let entry = self.entry(host)?;
        host.call_timed(&entry, &self.id, body, times)
            .await
            .context("the model refused the benchmark request")
    }

    /// Warm calls, one at a time, at each batch size, on a runtime worker
    /// (as a server's request handler would be).
    pub async fn in_process(
        &self,
        template: &Value,
        rows: &[usize],
        samples: usize,
    ) -> anyhow::Result<Vec<InProcess>> {
        let mut out = Vec::new();
        for &rows in rows {
            let body = body_with_rows(template, rows);
            let samples = if rows >= 10_000 { (samples / 10).max(50) } else { samples };
            out.push(self.warm(&body, rows, samples).await?);
        }
        Ok(out)
    }

    async fn warm(&self, body: &[u8], rows: usize, samples: usize) -> anyhow::Result<InProcess> {
        // The headline figures from the plain host, as `serve` runs (no
        // clock read per guest crossing); the breakdown from the profiled
        // host, whose hooks cost a little per crossing.
        let run_started = Instant::now();
        let plain = self.sample(&self.plain, body, samples).await?;
        let calls_per_second = samples as f64 / run_started.elapsed().as_secs_f64();
        let profiled = self.sample(&self.profiled, body, samples).await?;

        let names = [
            "decode", "dispatch", "queue", "copy_in", "compute", "copy_out", "release", "join",
            "encode",
        ];
        let mut per_phase: Vec<Vec<Duration>> = vec![Vec::with_capacity(samples); names.len()];
        let mut covered = Vec::with_capacity(samples);
        let mut unaccounted = Vec::with_capacity(samples);
        for (total, times) in &profiled {
            let engine = &times.engine;
            let measured = [
                times.decode,
                engine.dispatch,
                engine.queue,
                engine.copy_in,
                engine.compute,
                engine.copy_out,
                engine.release,
                engine.join,
                times.encode,
            ];
            let sum: Duration = measured.iter().sum();
            covered.push(sum.as_secs_f64() / total.as_secs_f64().max(f64::MIN_POSITIVE));
            unaccounted.push((total.as_secs_f64() - sum.as_secs_f64()) * 1e6);
            for (bucket, d) in per_phase.iter_mut().zip(measured) {
                bucket.push(d);
            }
        }
        let phases: BTreeMap<&'static str, Stats> =
            names.iter().zip(per_phase).map(|(n, d)| (*n, Stats::of(d))).collect();
        let phases_mean_us: BTreeMap<&'static str, f64> =
            phases.iter().map(|(n, s)| (*n, s.mean)).collect();
        Ok(InProcess {
            rows,
            samples,
            calls_per_second,
            end_to_end: Stats::of(plain.iter().map(|(total, _)| *total).collect()),
            predict: Stats::of(plain.iter().map(|(_, t)| t.engine.total()).collect()),
            phases_over_end_to_end: median(covered),
            unaccounted_p50_us: median(unaccounted),
            phases_mean_us,
            phases,
        })
    }

    /// `samples` warm calls on `host`, one at a time, after a tenth as many
    /// to warm up: each call's end-to-end time and where it went.
    async fn sample(
        &self,
        host: &Host,
        body: &[u8],
        samples: usize,
    ) -> anyhow::Result<Vec<(Duration, CallTimes)>> {
        let entry = self.entry(host)?;
        for _ in 0..samples / 10 {
            self.call(host, body, None).await?;
        }
        let mut out = Vec::with_capacity(samples);
        for _ in 0..samples {
            let mut times = CallTimes::default();
            let started = Instant::now();
            let envelope = host
                .call_timed(&entry, &self.id, body, Some(&mut times))
                .await
                .context("the model refused the benchmark request")?;
            let total = started.elapsed();
            std::hint::black_box(envelope);
            out.push((total, times));
        }
        Ok(out)
    }

    /// Serves the plain host as `serve` does, on loopback, and loads it at
    /// each batch size and concurrency.
    pub async fn over_http(
        &self,
        template: &Value,
        args: &Args,
        in_process: &[InProcess],
    ) -> anyhow::Result<Vec<Http>> {
        let app = mlops_http::App::new(self.plain.clone(), mlops_http::AppOptions::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(mlops_http::serve(
            app,
            listener,
            async move {
                let _ = stop_rx.await;
            },
            Duration::from_secs(1),
        ));
        let url = format!("http://{addr}/services/{}/call", self.id);
        let mut out = Vec::new();
        for &rows in &args.rows {
            let body = body_with_rows(template, rows);
            for &concurrency in &args.concurrency {
                let seconds = if rows >= 10_000 { args.seconds.min(2.0) } else { args.seconds };
                let mut point =
                    load(&url, body.clone(), concurrency, Duration::from_secs_f64(seconds)).await;
                point.rows = rows;
                if concurrency == 1 {
                    let inproc =
                        in_process.iter().find(|p| p.rows == rows).map(|p| p.end_to_end.p50);
                    point.http_overhead_p50_us = inproc.map(|i| point.latency.p50 - i);
                }
                out.push(point);
            }
        }
        let _ = stop_tx.send(());
        let _ = server.await;
        Ok(out)
    }
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

/// The middle value of `values` (0 for none).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
