//! The floor: the example model compiled natively and called in-process,
//! on the same rows `mlops-host bench --request` sends (the request's rows
//! repeated). Prints JSON: per batch size, p50/p90/p99/max/mean in µs.
//!
//! `native <model.json> <request.json> [rows,…] [samples]`
#![allow(clippy::expect_used, reason = "a benchmark tool fails by panicking")]

use std::time::{Duration, Instant};

use mlops_sdk::{Column, ColumnData, Frame, Validity};
use serde_json::{Value, json};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let artifact =
        args.get(1).expect("usage: native <model.json> <request.json> [rows,…] [samples]");
    let request =
        args.get(2).expect("usage: native <model.json> <request.json> [rows,…] [samples]");
    let rows: Vec<usize> = args.get(3).map_or_else(
        || vec![1, 100, 10_000],
        |r| r.split(',').map(|n| n.parse().expect("rows")).collect(),
    );
    let samples: usize = args.get(4).map_or(20_000, |s| s.parse().expect("samples"));
    let params = well_log::load_params(&std::fs::read_to_string(artifact).expect("artifact"))
        .expect("params");
    let model = well_log::WellLogModel::new(params);
    let body: Value =
        serde_json::from_slice(&std::fs::read(request).expect("request")).expect("JSON");

    let mut out = Vec::new();
    for n in rows {
        let frame = frame(&body, n);
        let samples = if n >= 10_000 { (samples / 10).max(50) } else { samples };
        for _ in 0..samples / 10 {
            std::hint::black_box(
                model.predict_frame(std::hint::black_box(&frame)).expect("predict"),
            );
        }
        let mut times: Vec<Duration> = (0..samples)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(
                    model.predict_frame(std::hint::black_box(&frame)).expect("predict"),
                );
                t.elapsed()
            })
            .collect();
        times.sort_unstable();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let at = |q: f64| us(times[((times.len() - 1) as f64 * q).round() as usize]);
        let mean = times.iter().map(|d| us(*d)).sum::<f64>() / times.len() as f64;
        out.push(json!({
            "rows": n, "samples": samples,
            "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": us(times[times.len() - 1]), "mean": mean,
        }));
    }
    println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
}

/// The request's columns, rows repeated to `rows`, as the guest sees them.
fn frame(body: &Value, rows: usize) -> Frame {
    let mut f = Frame::new();
    for name in ["ACS", "RDEP", "DEN"] {
        let values = body["data"][name].as_array().expect("a column");
        let cell = |i: usize| &values[i % values.len()];
        let data: Vec<f64> = (0..rows).map(|i| cell(i).as_f64().unwrap_or(0.0)).collect();
        let validity = Validity::from_fn(rows, |i| !cell(i).is_null());
        f = f.with(
            Column { name: name.into(), data: ColumnData::F64(data), validity: None }
                .with_validity(validity),
        );
    }
    f
}
