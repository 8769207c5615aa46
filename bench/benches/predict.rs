//! Criterion micro-benchmarks of the pieces a call is made of: compiling a
//! component, loading it from the compile cache, making an instance,
//! predicting by batch size (in-process, native alongside), and reading
//! from the registry.
//!
//! `cargo bench -p mlops-bench` (or `-- predict` for one group).
#![allow(clippy::expect_used, reason = "a benchmark fails by panicking")]

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use mlops_engine::{Column, ColumnData, Engine, EngineConfig, Frame, Payload};
use mlops_manifest::{Env, ModelName};
use mlops_registry::{NoProgress, Registry};
use mlops_tests::{deploy, example_dir, tight_limits, well_log_wasm};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// `rows` rows of the synthetic well log, as the engine's frame and as the
/// guest SDK's (for the native model).
fn frames(rows: usize) -> (Frame, mlops_sdk::Frame) {
    let log = well_log::synthetic::generate(11, rows);
    let col = |name: &str, v: &[f64]| Column {
        name: name.into(),
        data: ColumnData::F64(v.to_vec()),
        validity: None,
    };
    let engine =
        Frame { columns: vec![col("ACS", &log.acs), col("RDEP", &log.rdep), col("DEN", &log.den)] };
    let sdk = mlops_sdk::Frame::new()
        .with(mlops_sdk::Column::f64("ACS", log.acs))
        .with(mlops_sdk::Column::f64("RDEP", log.rdep))
        .with(mlops_sdk::Column::f64("DEN", log.den));
    (engine, sdk)
}

fn compile_and_load(c: &mut Criterion) {
    let bytes = std::fs::read(well_log_wasm()).expect("component");
    let mut group = c.benchmark_group("component");
    group.sample_size(10);
    let plain =
        Engine::new(EngineConfig { cache_dir: None, ..EngineConfig::default() }).expect("engine");
    group.bench_function("compile", |b| b.iter(|| plain.load(&bytes).expect("compile")));
    let cache = tempfile::tempdir().expect("tempdir");
    let cached = Engine::new(EngineConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..EngineConfig::default()
    })
    .expect("engine");
    let digest = cached.load(&bytes).expect("compile").digest;
    group.bench_function("load from cache", |b| {
        b.iter(|| cached.load_cached(&digest).expect("cached"))
    });
    group.finish();
}

fn instantiate(c: &mut Criterion) {
    let rt = runtime();
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let component =
        engine.load(&std::fs::read(well_log_wasm()).expect("component")).expect("compile");
    let artifacts = example_dir().join("artifacts");
    c.bench_function("instantiate + initialize", |b| {
        b.iter(|| {
            rt.block_on(deploy(&engine, &component, "well_log", tight_limits(), Some(&artifacts)))
        })
    });
}

fn predict(c: &mut Criterion) {
    // One thread: the call's task runs where it is spawned, as on a server
    // worker, with no cross-thread wake-up in the measurement.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let component =
        engine.load(&std::fs::read(well_log_wasm()).expect("component")).expect("compile");
    let artifacts = example_dir().join("artifacts");
    let deployment =
        rt.block_on(deploy(&engine, &component, "well_log", tight_limits(), Some(&artifacts)));
    let params = well_log::load_params(
        &std::fs::read_to_string(artifacts.join("model.json")).expect("artifact"),
    )
    .expect("params");
    let native = well_log::WellLogModel::new(params);
    let mut group = c.benchmark_group("predict");
    for rows in [1usize, 100, 10_000] {
        let (frame, sdk_frame) = frames(rows);
        group.bench_with_input(BenchmarkId::new("native", rows), &sdk_frame, |b, f| {
            b.iter(|| native.predict_frame(std::hint::black_box(f)).expect("native"))
        });
        group.bench_with_input(BenchmarkId::new("component", rows), &frame, |b, f| {
            b.iter_batched(
                || Payload::Frame(f.clone()),
                |input| {
                    let d = deployment.clone();
                    rt.block_on(
                        async move { tokio::spawn(async move { d.predict(input).await }).await },
                    )
                    .expect("task")
                    .expect("predict")
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn registry(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::local(dir.path()).expect("store");
    let model = ModelName::new("well_log").expect("name");
    let manifest = rt
        .block_on(reg.upload_version(
            &model,
            Env::Dev,
            Some(&example_dir().join("artifacts")),
            BTreeMap::new(),
            "bench",
            &NoProgress,
        ))
        .expect("upload");
    let id = manifest.model_id();
    let digest = manifest.files[0].blake3.clone();
    let mut group = c.benchmark_group("registry (local folder)");
    group.bench_function("manifest", |b| {
        b.iter(|| rt.block_on(reg.manifest(&id)).expect("manifest"))
    });
    group.bench_function("blob, verified", |b| {
        b.iter(|| rt.block_on(reg.get_blob(&digest)).expect("blob"))
    });
    group.bench_function("latest version", |b| {
        b.iter(|| rt.block_on(reg.latest_version(&model, Env::Dev)).expect("latest"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = compile_and_load, instantiate, predict, registry
}
criterion_main!(benches);
