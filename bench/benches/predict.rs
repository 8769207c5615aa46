//! Warm prediction latency of the example model: natively in this process
//! (the floor) and as a component through the engine (decode excluded,
//! copy in, guest compute, copy out included), for 1, 100 and 10,000 rows.
//!
//! `cargo bench -p mlops-bench` prints p50/p90/p99 per case.
#![allow(clippy::expect_used, reason = "a benchmark fails by panicking")]

use std::time::{Duration, Instant};

use mlops_engine::{Column, ColumnData, Frame, Payload};
use mlops_tests::{deploy, engine, example_dir, load, tight_limits, well_log_wasm};

fn frame(rows: usize) -> Frame {
    let log = well_log::synthetic::generate(11, rows);
    let col = |name: &str, v: Vec<f64>| Column {
        name: name.into(),
        data: ColumnData::F64(v),
        validity: None,
    };
    Frame { columns: vec![col("ACS", log.acs), col("RDEP", log.rdep), col("DEN", log.den)] }
}

fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    format!("p50 {:>9.2} µs  p90 {:>9.2} µs  p99 {:>9.2} µs", at(0.5), at(0.9), at(0.99))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let params = well_log::load_params(
        &std::fs::read_to_string(example_dir().join("artifacts/model.json")).expect("artifact"),
    )
    .expect("params");
    let native = well_log::WellLogModel::new(params);
    let engine = engine(None);
    let component = load(&engine, well_log_wasm());
    let artifacts = example_dir().join("artifacts");
    let deployment =
        runtime.block_on(deploy(&engine, &component, "well_log", tight_limits(), Some(&artifacts)));

    for rows in [1usize, 100, 10_000] {
        let input = frame(rows);
        let samples = if rows >= 10_000 { 2_000 } else { 20_000 };
        let sdk_frame = to_sdk(&input);
        let native_times: Vec<Duration> = (0..samples)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(
                    native.predict_frame(std::hint::black_box(&sdk_frame)).expect("native"),
                );
                t.elapsed()
            })
            .collect();
        let wasm_times: Vec<Duration> = runtime.block_on(async {
            let mut out = Vec::with_capacity(samples);
            for _ in 0..samples / 10 {
                deployment.predict(Payload::Frame(input.clone())).await.expect("warm-up");
            }
            for _ in 0..samples {
                let payload = Payload::Frame(input.clone());
                let t = Instant::now();
                std::hint::black_box(deployment.predict(payload).await.expect("predict"));
                out.push(t.elapsed());
            }
            out
        });
        println!("rows {rows:>6}  native     {}", percentiles(native_times));
        println!("rows {rows:>6}  component  {}", percentiles(wasm_times));
    }
}

/// The same frame as the guest SDK's type (the native model takes that).
fn to_sdk(f: &Frame) -> mlops_sdk::Frame {
    mlops_sdk::Frame {
        columns: f
            .columns
            .iter()
            .map(|c| mlops_sdk::Column {
                name: c.name.clone(),
                data: match &c.data {
                    ColumnData::F64(v) => mlops_sdk::ColumnData::F64(v.clone()),
                    _ => unreachable!("the benchmark frame is all f64"),
                },
                validity: c.validity.clone(),
            })
            .collect(),
    }
}
