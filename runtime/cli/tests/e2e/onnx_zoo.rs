//! The model zoo end to end: models trained with scikit-learn, XGBoost and
//! LightGBM and exported with their converters (tests/onnx/zoo.py), each
//! made into a model folder by `mlops-host init --lang onnx --from`, tested
//! and deployed with the CLI on a PATH without cargo, served, and called
//! over HTTP. Every answer must be the library's own (labels exactly,
//! values within 1e-5 of max(1, |value|) for `f32` graphs and 1e-9 for
//! `f64` ones) and onnxruntime's on the same graph. Where the graph itself
//! does not give the library's answer (onnxruntime differs too: zoo.py
//! lists those rows; one model is exported so on purpose), the runner must
//! give onnxruntime's. The table it prints is also written to
//! target/onnx-zoo.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mlops_tests::onnx::{column_difference, python, run_script};
use mlops_tests::repo_root;
use serde_json::{Value, json};

use crate::Host;

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

/// This machine's PATH without the folders that hold cargo or rustc.
fn path_without_rust() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    let kept: Vec<&str> = path
        .split(':')
        .filter(|dir| !["cargo", "rustc", "rustup"].iter().any(|t| Path::new(dir).join(t).exists()))
        .collect();
    kept.join(":")
}

/// The prediction's columns in the library's roles: the label and the
/// probability per class (in the library's class order), or the value.
fn by_role(prediction: &Value, expected: &Value) -> Result<Vec<(String, Vec<Value>)>, String> {
    let column = |name: &str| -> Result<Vec<Value>, String> {
        prediction[name]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("no column `{name}` in the answer"))
    };
    if let Some(classes) = expected["classes"].as_array() {
        let mut out = vec![("label".to_string(), column("label")?)];
        for class in classes {
            let name = match class {
                Value::String(s) => format!("probability_{s}"),
                other => format!("probability_{other}"),
            };
            out.push((name.clone(), column(&name)?));
        }
        Ok(out)
    } else {
        let columns: Vec<&String> =
            prediction.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        match columns.as_slice() {
            [only] => Ok(vec![((*only).clone(), column(only)?)]),
            other => Err(format!("a regressor should answer one column, not {other:?}")),
        }
    }
}

/// The reference's columns in the same order as [`by_role`].
fn reference(expected: &Value) -> Vec<Vec<Value>> {
    match expected["classes"].as_array() {
        Some(classes) => {
            let mut out = vec![expected["label"].as_array().cloned().unwrap_or_default()];
            let probabilities = expected["probabilities"].as_array().cloned().unwrap_or_default();
            for k in 0..classes.len() {
                out.push(probabilities.iter().map(|row| row[k].clone()).collect());
            }
            out
        }
        None => vec![expected["value"].as_array().cloned().unwrap_or_default()],
    }
}

/// Compares an answer with a reference, but for the rows in `skip`;
/// returns the largest difference.
fn compare(
    answer: &Value,
    expected: &Value,
    tolerance: f64,
    skip: &[usize],
) -> Result<f64, String> {
    let got = by_role(answer, expected)?;
    let want = reference(expected);
    let keep = |column: &[Value]| -> Vec<Value> {
        column
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut worst = 0.0f64;
    for ((name, g), w) in got.iter().zip(&want) {
        let diff = column_difference(&keep(g), &keep(w)).map_err(|e| format!("`{name}`: {e}"))?;
        if diff > tolerance {
            return Err(format!("`{name}` differs by {diff:.2e} (allowed {tolerance:.0e})"));
        }
        worst = worst.max(diff);
    }
    Ok(worst)
}

/// These rows of a request's columns.
fn some_rows(request: &Value, rows: &[usize]) -> Value {
    let mut data = serde_json::Map::new();
    for (name, values) in request["data"].as_object().expect("columns") {
        let values = values.as_array().expect("column");
        data.insert(name.clone(), Value::Array(rows.iter().map(|&r| values[r].clone()).collect()));
    }
    json!({ "data": data })
}

/// The library's answers for these rows, as the prediction a fixture
/// expects.
fn some_answers(library: &Value, rows: &[usize], columns: &[(String, Vec<Value>)]) -> Value {
    let mut prediction = serde_json::Map::new();
    for ((name, _), values) in columns.iter().zip(reference(library)) {
        prediction
            .insert(name.clone(), Value::Array(rows.iter().map(|&r| values[r].clone()).collect()));
    }
    Value::Object(prediction)
}

/// The rows where the graph itself differs from the library.
fn graph_differs(meta: &Value) -> Vec<usize> {
    meta["graph_differs_from_library"]
        .as_array()
        .map(|rows| rows.iter().filter_map(Value::as_u64).map(|r| r as usize).collect())
        .unwrap_or_default()
}

struct Row {
    name: String,
    meta: Value,
    vs_library: Result<f64, String>,
    vs_onnxruntime: Result<f64, String>,
    /// Rows where the graph (onnxruntime) differs from the library.
    graph_differs: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_zoo_serves_each_librarys_own_answers() {
    let Some(python) = python("the ONNX model zoo") else { return };
    let zoo = tempfile::tempdir().expect("tempdir");
    let made = run_script(&python, "zoo.py", &[zoo.path().as_os_str()]);
    let mut names: Vec<String> = std::fs::read_dir(zoo.path())
        .expect("zoo")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Every model zoo.py defines was made, and the README says how many.
    let source =
        std::fs::read_to_string(repo_root().join("tests/onnx/zoo.py")).expect("tests/onnx/zoo.py");
    let defined = source.lines().filter(|l| l.starts_with("@model")).count();
    assert_eq!(names.len(), defined, "zoo.py made {} models:\n{made}", names.len());
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    assert!(
        readme.contains(&format!("`tests/onnx/zoo.py` trains {defined} models")),
        "the README does not say zoo.py trains {defined} models"
    );

    let path = path_without_rust();
    let host = Host::new();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = host.cmd().env("PATH", &path).args(args).output().expect("run mlops-host");
        assert!(
            out.status.success(),
            "mlops-host {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    assert!(
        std::process::Command::new("sh")
            .args(["-c", "command -v cargo"])
            .env("PATH", &path)
            .output()
            .is_ok_and(|o| !o.status.success()),
        "cargo is still on the PATH the test gives mlops-host: {path}"
    );
    let folders = host.dir.path().join("models");
    for name in &names {
        let folder: PathBuf = folders.join(name);
        let model = zoo.path().join(name).join("model.onnx");
        run(&[
            "init".as_ref(),
            folder.as_os_str(),
            "--lang".as_ref(),
            "onnx".as_ref(),
            "--from".as_ref(),
            model.as_os_str(),
            "--no-ci".as_ref(),
        ]);
        // A folder of settings, the graph, runner.json and fixtures: nothing else.
        std::fs::remove_file(folder.join("README.md")).expect("README");
        let mut files = BTreeSet::new();
        for entry in walk(&folder) {
            files.insert(entry.strip_prefix(&folder).expect("inside").display().to_string());
        }
        assert_eq!(
            files,
            BTreeSet::from(
                [
                    "mlops_settings.yaml",
                    "artifacts/model.onnx",
                    "artifacts/runner.json",
                    "fixtures/predict.request.json",
                    "fixtures/predict.expected.json"
                ]
                .map(String::from)
            ),
            "{name}"
        );
        let settings = folder.join("mlops_settings.yaml");
        run(&["test".as_ref(), "-f".as_ref(), settings.as_os_str()]);
        // Then fixtures the way a data scientist writes them: the library's
        // answers for a few rows, within the graph's precision.
        let meta = read_json(&zoo.path().join(name).join("meta.json"));
        let tolerance = if meta["dtype"] == "float64" { 1e-9 } else { 1e-5 };
        let request = read_json(&zoo.path().join(name).join("request.json"));
        let library = read_json(&zoo.path().join(name).join("library.json"));
        let runner = read_json(&folder.join("artifacts/runner.json"));
        let roles = reference_columns(&library, &runner);
        let skip = graph_differs(&meta);
        let rows: Vec<usize> = (0..).filter(|r| !skip.contains(r)).take(5).collect();
        let expected = json!({"status": "ok", "prediction": some_answers(&library, &rows, &roles), "tolerance": tolerance});
        std::fs::write(
            folder.join("fixtures/predict.request.json"),
            some_rows(&request, &rows).to_string(),
        )
        .expect("write");
        std::fs::write(folder.join("fixtures/predict.expected.json"), expected.to_string())
            .expect("write");
        run(&["deploy".as_ref(), "-f".as_ref(), settings.as_os_str()]);
    }

    let mut cmd = host.cmd();
    cmd.env("PATH", &path).args(["serve", "--listen", "127.0.0.1:0"]);
    let server = mlops_tests::HostProcess::start(cmd);
    let mut rows = Vec::new();
    for name in &names {
        let dir = zoo.path().join(name);
        let meta = read_json(&dir.join("meta.json"));
        let tolerance = if meta["dtype"] == "float64" { 1e-9 } else { 1e-5 };
        let body = std::fs::read(dir.join("request.json")).expect("request");
        let (status, answer) =
            server.post(&format!("/services/{name}-prediction-dev/call"), body).await;
        let skip = graph_differs(&meta);
        let outcome = |reference: &Value, skip: &[usize]| -> Result<f64, String> {
            if status != 200 {
                return Err(format!("HTTP {status}: {answer}"));
            }
            compare(&answer["prediction"], reference, tolerance, skip)
        };
        rows.push(Row {
            name: name.clone(),
            vs_library: outcome(&read_json(&dir.join("library.json")), &skip),
            vs_onnxruntime: outcome(&read_json(&dir.join("onnxruntime.json")), &[]),
            graph_differs: skip.len(),
            meta,
        });
    }
    // A request the graph cannot take is refused before the model runs,
    // naming the column.
    let call = |name: &str| format!("/services/{name}-prediction-dev/call");
    let (status, answer) = server
        .post(
            &call("column_transformer_classifier"),
            r#"{"data": {"age": [50.0], "bmi": [25.0], "bp_mmhg": [90]}}"#,
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().is_some_and(|m| m.contains("`sex`")), "{answer}");
    let (status, answer) = server
        .post(
            &call("column_transformer_classifier"),
            r#"{"data": {"age": [50.0], "bmi": [25.0], "sex": [1], "bp_mmhg": [90]}}"#,
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().is_some_and(|m| m.contains("`sex`")), "{answer}");
    let (status, answer) = server
        .post(
            &call("column_transformer_classifier"),
            r#"{"data": {"age": [50.0], "bmi": [25.0], "sex": ["male"], "bp_mmhg": ["ninety"]}}"#,
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().is_some_and(|m| m.contains("`bp_mmhg`")), "{answer}");

    let table = render(&rows);
    println!("{table}");
    let _ = std::fs::write(mlops_tests::repo_root().join("target/onnx-zoo.md"), &table);
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| match (&r.vs_library, &r.vs_onnxruntime) {
            (Ok(_), Ok(_)) => None,
            (a, b) => Some(format!("{}: library {a:?}, onnxruntime {b:?}", r.name)),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} models differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// The library's columns by role, named as runner.json names them: a
/// classifier's `label` and `probability_<class>`, a regressor's one output.
fn reference_columns(library: &Value, runner: &Value) -> Vec<(String, Vec<Value>)> {
    match library["classes"].as_array() {
        Some(classes) => std::iter::once("label".to_string())
            .chain(classes.iter().map(|c| match c {
                Value::String(s) => format!("probability_{s}"),
                other => format!("probability_{other}"),
            }))
            .map(|n| (n, Vec::new()))
            .collect(),
        None => {
            let column = runner["outputs"][0]["columns"][0].as_str().expect("one output column");
            vec![(column.to_string(), Vec::new())]
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

fn render(rows: &[Row]) -> String {
    let cell = |r: &Result<f64, String>, differs: usize| match r {
        Ok(d) if differs > 0 => {
            format!("{d:.1e} (but {differs} rows where the graph itself differs)")
        }
        Ok(d) => format!("{d:.1e}"),
        Err(e) => format!("FAILED: {e}"),
    };
    let mut out = String::from(
        "| model | library | estimator | graph | rows | operators | max diff vs library | max diff vs onnxruntime |\n|---|---|---|---|--:|---|--:|--:|\n",
    );
    for r in rows {
        let ops: Vec<&str> = r.meta["operators"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            r.meta["library"].as_str().unwrap_or(""),
            r.meta["estimator"].as_str().unwrap_or(""),
            r.meta["dtype"].as_str().unwrap_or(""),
            r.meta["rows"],
            ops.join(", "),
            cell(&r.vs_library, r.graph_differs),
            cell(&r.vs_onnxruntime, 0)
        ));
    }
    out
}
