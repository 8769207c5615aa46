//! The report as tables, for people.

use super::{Report, Stats};

use crate::commands::models::print_table;

pub(super) fn print(r: &Report) {
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
            let mut row = vec![p.rows.to_string()];
            row.extend(percentiles(&p.end_to_end, 2));
            row.extend([
                format!("{:.0}", p.calls_per_second),
                format!("{:.2}", p.predict.p50),
                m("decode"),
                m("copy_in"),
                m("compute"),
                m("copy_out"),
                m("encode"),
                format!("{other:.2}"),
                format!("{:.0}%", p.phases_over_end_to_end * 100.0),
            ]);
            row
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
                let mut row = vec![h.rows.to_string(), h.concurrency.to_string()];
                row.extend(percentiles(&h.latency, 1));
                row.extend([
                    format!("{:.0}", h.requests_per_second),
                    h.errors.to_string(),
                    h.http_overhead_p50_us.map_or_else(String::new, |o| format!("{o:.1}")),
                ]);
                row
            })
            .collect();
        print_table(
            &["ROWS", "CONC", "P50", "P90", "P99", "MAX", "REQ/S", "ERRORS", "HTTP P50"],
            &rows,
        );
    }
}

/// p50, p90, p99 and max, with `digits` decimals.
fn percentiles(s: &Stats, digits: usize) -> [String; 4] {
    [s.p50, s.p90, s.p99, s.max].map(|v| format!("{v:.digits$}"))
}
