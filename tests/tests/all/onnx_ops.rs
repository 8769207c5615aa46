//! The ONNX runner's `ai.onnx.ml` operators against onnxruntime: every case
//! that tests/onnx/ops.py builds (one small graph per operator and attribute
//! variant) is served by the runner component in the sandbox and must give
//! onnxruntime's answer: labels, strings and missing rows exactly, reals
//! within 1e-5 (`f32`) or 1e-9 (`f64`) of max(1, |value|).

use std::path::Path;

use mlops_engine::{Engine, LoadedComponent, Payload, Schema};
use mlops_tests::onnx::{column_difference, python, run_script};
use serde_json::Value;

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

/// Serves the case in `dir`; returns the largest difference from
/// onnxruntime, or what is wrong.
async fn check_case(engine: &Engine, runner: &LoadedComponent, dir: &Path) -> Result<f64, String> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("case").to_string();
    let deployment = mlops_tests::try_deploy(
        engine,
        runner,
        &name,
        mlops_manifest::Limits::default(),
        Some(&dir.join("artifacts")),
        Vec::new(),
    )
    .await
    .map_err(|e| format!("does not load: {e:#}"))?;
    let inputs = deployment.signature().map_or(Schema::Any, |s| s.inputs.clone());
    let body = std::fs::read(dir.join("request.json")).expect("request");
    let request = mlops_core::codec::parse_request(&body).expect("request");
    let payload = mlops_core::codec::decode_data(request.data.expect("data"), &inputs)
        .map_err(|e| format!("request refused: {e}"))?;
    let answer = deployment.predict(payload).await.map_err(|e| format!("call failed: {e}"))?;
    let Payload::Frame(_) = &answer else { return Err("answered a document".into()) };
    let got: Value =
        serde_json::to_value(mlops_core::codec::PredictionJson(&answer)).expect("JSON");
    let expected = read_json(&dir.join("expected.json"));
    let mut worst = 0.0f64;
    for (column, want) in expected["columns"].as_object().expect("columns") {
        let ty = expected["types"][column].as_str().unwrap_or("");
        let tolerance = if ty == "float64" { 1e-9 } else { 1e-5 };
        let got = got[column].as_array().ok_or_else(|| format!("no column `{column}` in {got}"))?;
        let diff = column_difference(got, want.as_array().expect("array"))
            .map_err(|e| format!("`{column}`: {e}"))?;
        if diff > tolerance {
            return Err(format!(
                "`{column}` differs by {diff:.3e} (allowed {tolerance:.0e}): got {got:?}, expected {want}"
            ));
        }
        worst = worst.max(diff);
    }
    Ok(worst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ml_operator_variant_gives_onnxruntimes_answer() {
    let Some(python) = python("onnx operator conformance") else { return };
    let cases = tempfile::tempdir().expect("tempdir");
    let summary = run_script(&python, "ops.py", &[cases.path().as_os_str()]);
    let cache = mlops_tests::repo_root().join("target/test-compile-cache/compiled");
    let engine = mlops_tests::engine(Some(&cache));
    let runner = engine.load(mlops_tests::onnx_runner()).expect("compile the runner");
    let mut dirs: Vec<_> =
        std::fs::read_dir(cases.path()).expect("cases").map(|e| e.expect("entry").path()).collect();
    dirs.sort();
    let mut failures = Vec::new();
    println!("{:<48} {:>12}", "case (vs onnxruntime)", "largest diff");
    for dir in &dirs {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        match check_case(&engine, &runner, dir).await {
            Ok(diff) => println!("{name:<48} {diff:>12.2e}"),
            Err(e) => {
                println!("{name:<48} FAILED: {e}");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    println!("{} cases ({})", dirs.len(), summary.trim());
    assert!(dirs.len() >= 60, "ops.py made only {} cases", dirs.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
