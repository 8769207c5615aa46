//! `mlops-host bench` and the published results.

use mlops_tests::{example_dir, repo_root, well_log_wasm};
use serde_json::Value;

use crate::Host;

#[test]
fn bench_reports_cold_warm_and_http_and_its_phases_add_up() {
    let h = Host::new();
    let out = h.run(&[
        "bench",
        well_log_wasm().to_str().expect("utf-8"),
        "--artifacts",
        example_dir().join("artifacts").to_str().expect("utf-8"),
        "--request",
        example_dir().join("fixtures/predict.request.json").to_str().expect("utf-8"),
        "--rows",
        "1,100",
        "--samples",
        "400",
        "--concurrency",
        "1,4",
        "--seconds",
        "0.5",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for key in ["compile_ms", "cache_load_ms", "instantiate_and_initialize_ms", "first_call_ms"] {
        assert!(report["cold"][key].as_f64().is_some_and(|v| v > 0.0), "{key}: {}", report["cold"]);
    }
    let in_process = report["in_process"].as_array().expect("in_process");
    assert_eq!(in_process.len(), 2);
    for p in in_process {
        let ratio = p["phases_over_end_to_end"].as_f64().expect("ratio");
        println!(
            "rows {}: phases add up to {:.1}% of the end-to-end time",
            p["rows"],
            ratio * 100.0
        );
        assert!((0.9..=1.1).contains(&ratio), "the phases do not add up: {p}");
        for phase in ["decode", "copy_in", "compute", "copy_out", "encode"] {
            assert!(p["phases"][phase]["p50"].as_f64().is_some_and(|v| v > 0.0), "{phase}: {p}");
        }
    }
    let http = report["http"].as_array().expect("http");
    assert_eq!(http.len(), 4, "rows × concurrency");
    for point in http {
        assert!(point["requests"].as_u64().is_some_and(|n| n > 0), "{point}");
        assert_eq!(point["errors"], 0, "{point}");
    }
    assert!(http[0]["http_overhead_p50_us"].is_number(), "HTTP's share at concurrency 1");

    let table = h.ok(&[
        "bench",
        well_log_wasm().to_str().expect("utf-8"),
        "--artifacts",
        example_dir().join("artifacts").to_str().expect("utf-8"),
        "--rows",
        "1",
        "--samples",
        "100",
        "--no-http",
    ]);
    assert!(table.contains("COPY IN") && table.contains("SUM/TOTAL"), "{table}");
}

/// The README's performance table is the newest output of the comparison
/// script, word for word, with its date.
#[test]
fn the_readme_shows_the_latest_comparison() {
    let dir = repo_root().join("bench/results");
    let mut tables: Vec<_> = std::fs::read_dir(&dir)
        .expect("bench/results")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .filter(|p| {
            // Only the comparison script's own tables are named by date alone.
            p.file_stem().and_then(|s| s.to_str()).is_some_and(|s| {
                s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            })
        })
        .collect();
    tables.sort();
    let latest = tables.last().expect("a results table in bench/results");
    let table = std::fs::read_to_string(latest).expect("read");
    let date = latest.file_stem().and_then(|s| s.to_str()).expect("dated");
    assert!(table.contains(&format!("Measured {date}")), "the table carries its date");
    let json = latest.with_extension("json");
    let results: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("the JSON beside it")).expect("JSON");
    for contender in ["mlops", "fastapi", "mlflow"] {
        assert!(
            results["http"][contender]["runs"]["32"]["requests"].as_u64().is_some_and(|n| n > 0),
            "{contender}"
        );
    }
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let inside = readme
        .split("<!-- bench:start -->\n")
        .nth(1)
        .and_then(|rest| rest.split("<!-- bench:end -->").next())
        .expect("the README has bench markers");
    assert_eq!(
        inside,
        table,
        "README.md's table is not {}; rerun bench/compare.sh",
        latest.display()
    );
}

/// The README's table of load times by language is the newest output of
/// bench/languages.sh, word for word.
#[test]
fn the_readme_shows_the_latest_load_times_by_language() {
    let dir = repo_root().join("bench/results/languages");
    let mut tables: Vec<_> = std::fs::read_dir(&dir)
        .expect("bench/results/languages")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    tables.sort();
    let latest = tables.last().expect("a results table");
    let table = std::fs::read_to_string(latest).expect("read");
    let results: Value = serde_json::from_slice(
        &std::fs::read(latest.with_extension("json")).expect("JSON beside it"),
    )
    .expect("JSON");
    for lang in ["rust", "python", "js", "c", "onnx"] {
        let cold = &results["langs"][lang]["cold"];
        assert!(cold["compile_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{lang}");
        assert!(cold["cache_load_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{lang}");
    }
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let inside = readme
        .split("<!-- languages:start -->\n")
        .nth(1)
        .and_then(|rest| rest.split("<!-- languages:end -->").next())
        .expect("the README has languages markers");
    assert_eq!(
        inside,
        table,
        "README.md's table is not {}; rerun bench/languages.sh",
        latest.display()
    );
}
