//! A well-behaved model while hostile guests attack the same host. In a test
//! binary of its own, so no other test shares the machine's cores while it
//! measures.
//!
//! Under `cargo test` it checks containment: every attack gets the answer it
//! must, and every call to the well-behaved model during the attacks returns
//! its fixture's prediction. It measures the model's p99 alone and under
//! attack too, but the latency goal is a speed goal: only
//! `bench/isolation.sh` (which sets `MLOPS_ISOLATION_GOAL`) asserts it, over
//! ten runs, so a noisy CI machine cannot fail the suite on timing.
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests fail by panicking")]

#[path = "e2e/hostile_shared.rs"]
mod hostile_shared;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hostile_shared::{
    attack, attacks, deploy, percentile, quiet_latencies, serve, settings, well_log_latencies,
};

pub fn bin() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_mlops-host"))
}

/// One run: the well-behaved model alone, then while every attack runs
/// `rounds` times over on another connection, then alone again. Returns
/// the p99 ratio (under attack / alone) and a line describing the run.
async fn one_run(url: &str, trap_addr: &str, rounds: usize) -> (f64, String, Vec<String>) {
    let client = mlops_tests::http();
    quiet_latencies(&client, url, Duration::from_millis(200)).await; // warm up
    let mut quiet = quiet_latencies(&client, url, Duration::from_secs(1)).await;
    let stop = Arc::new(AtomicBool::new(false));
    let attacker = {
        let (stop, url) = (stop.clone(), url.to_string());
        let attacks = attacks(trap_addr);
        tokio::spawn(async move {
            let client = mlops_tests::http();
            let mut failures = Vec::new();
            let mut spans = Vec::new();
            for _ in 0..rounds {
                for a in &attacks {
                    let start = Instant::now();
                    if let Err(e) = attack(&client, &url, a).await {
                        failures.push(e);
                    }
                    spans.push((a.name, start, Instant::now()));
                }
            }
            stop.store(true, Ordering::SeqCst);
            (failures, spans)
        })
    };
    let attack_started = Instant::now();
    let timed = well_log_latencies(&client, url, |_| stop.load(Ordering::SeqCst)).await;
    let attack_took = attack_started.elapsed();
    let (failures, spans) = attacker.await.expect("attacker");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    quiet.extend(quiet_latencies(&client, url, Duration::from_secs(1)).await);

    // Which attack was running during each call, for the breakdown.
    let mut by_attack: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for (start, took) in &timed {
        if let Some((name, _, _)) = spans.iter().find(|(_, s, e)| s <= start && start < e) {
            by_attack.entry(name).or_default().push(*took);
        }
    }
    let mut loud: Vec<Duration> = timed.iter().map(|(_, d)| *d).collect();
    assert!(loud.len() >= 100, "too few calls during the attack to measure: {}", loud.len());
    quiet.sort();
    loud.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let (q50, q99) = (percentile(&quiet, 0.5), percentile(&quiet, 0.99));
    let (l50, l99) = (percentile(&loud, 0.5), percentile(&loud, 0.99));
    let ratio = l99.as_secs_f64() / q99.as_secs_f64();
    let line = format!(
        "alone {} calls p50 {:.0} µs p99 {:.0} µs; under attack ({rounds} rounds, {:.1} s) {} calls \
         p50 {:.0} µs p99 {:.0} µs; p99 ratio {ratio:.2}",
        quiet.len(),
        us(q50),
        us(q99),
        attack_took.as_secs_f64(),
        loud.len(),
        us(l50),
        us(l99),
    );
    let breakdown = by_attack
        .into_iter()
        .map(|(name, mut calls)| {
            calls.sort();
            format!(
                "during {name}: {} calls, p99 {:.0} µs, max {:.0} µs",
                calls.len(),
                us(percentile(&calls, 0.99)),
                us(calls[calls.len() - 1])
            )
        })
        .collect();
    (ratio, line, breakdown)
}

/// The goal: under the hostile-guest suite a well-behaved model's p99 is
/// at most twice its p99 alone, in at least 9 runs of 10.
const BENCH_RUNS: usize = 10;
const GOAL: f64 = 2.0;
const MUST_MEET: usize = 9;
/// Runs under `cargo test`, where only containment is asserted.
const TEST_RUNS: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_behaved_model_answers_right_while_hostile_guests_attack() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = settings(dir.path());
    deploy(dir.path(), &["-f", s.to_str().expect("utf-8")]);
    let host = serve(dir.path(), &[]);
    let trap = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let trap_addr = trap.local_addr().expect("addr").to_string();
    let attacks = attacks(&trap_addr).len();

    let bench = std::env::var_os("MLOPS_ISOLATION_GOAL").is_some();
    let runs = if bench { BENCH_RUNS } else { TEST_RUNS };
    let mut ratios = Vec::new();
    let mut report = vec![format!(
        "The well-behaved example over HTTP, alone and while {attacks} hostile attacks run 3 times over \
         on another connection (runtime/cli/tests/isolation.rs), {runs} runs:"
    )];
    for run in 1..=runs {
        let (ratio, line, breakdown) = one_run(&host.url, &trap_addr, 3).await;
        eprintln!("isolation: run {run}: {line}");
        for b in &breakdown {
            eprintln!("isolation:   {b}");
        }
        report.push(format!("- run {run}: {line}"));
        ratios.push(ratio);
    }
    let met = ratios.iter().filter(|r| **r <= GOAL).count();
    let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    let summary = format!(
        "p99 under attack / p99 alone: {}; at most {GOAL}× in {met} of {runs} runs (goal: {MUST_MEET} of {BENCH_RUNS})",
        listed.join(", ")
    );
    eprintln!("isolation: {summary}");
    report.push(String::new());
    report.push(summary.clone());
    // bench/isolation.sh asks for the report in a file of its own.
    if let Some(path) = std::env::var_os("MLOPS_ISOLATION_REPORT") {
        std::fs::write(&path, report.join("\n") + "\n").expect("write the isolation report");
    }
    if bench {
        assert!(met >= MUST_MEET, "{summary}");
    }
}
