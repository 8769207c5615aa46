//! Services over their whole life: zero-downtime deploys, rollback,
//! training, watching the store, auth, shutdown, listing, OIP v2.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mlops_tests::{HostProcess, example_dir, probe_wasm, well_log_wasm};

use crate::Host;
use serde_json::{Value, json};

impl Host {
    /// Settings for the example component with these fixtures and extra
    /// lines.
    pub(crate) fn settings(&self, name: &str, fixtures: &[&str], extra: &str) -> PathBuf {
        let dir = self.dir.path().join(format!("settings-{name}"));
        let fixture_dir = dir.join("fixtures");
        std::fs::create_dir_all(fixture_dir.join("training")).expect("mkdir");
        for f in fixtures {
            std::fs::copy(example_dir().join("fixtures").join(f), fixture_dir.join(f))
                .expect("copy fixture");
        }
        let path = dir.join("mlops_settings.yaml");
        let text = format!(
            "model_name: {name}\nmodel_file: {}\nartifact_folder: {}\n{}{extra}",
            well_log_wasm().display(),
            example_dir().join("artifacts").display(),
            if fixtures.is_empty() { "" } else { "fixtures: fixtures\n" },
        );
        std::fs::write(&path, text).expect("write settings");
        path
    }
}

fn predict_body() -> Vec<u8> {
    std::fs::read(example_dir().join("fixtures/predict.request.json")).expect("fixture")
}

/// Polls `f` until it returns `Some`, for up to `secs` seconds.
pub(crate) async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn model_id_of(host: &HostProcess, id: &str) -> Option<String> {
    let (status, body) = host.post(&format!("/services/{id}/call"), predict_body()).await;
    (status == 200).then(|| body["model_id"].as_str().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_under_load_never_fails_a_call_and_redeploy_rolls_back() {
    let h = Host::new();
    let s = h.settings("well_log", &["predict.request.json", "predict.expected.json"], "");
    let s = s.to_str().expect("utf-8");
    h.ok(&["deploy", "-f", s]);
    let host = h.serve(&[]);
    assert_eq!(
        model_id_of(&host, "well_log-prediction-dev").await.as_deref(),
        Some("well_log/dev/1")
    );

    // Call the alias without pause while v2 is deployed by another process.
    let stop = Arc::new(AtomicBool::new(false));
    let caller = {
        let (url, stop) =
            (format!("{}/services/well_log-prediction-dev/call", host.url), stop.clone());
        tokio::spawn(async move {
            let http = mlops_tests::http();
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let (status, model_id) = match http.post(&url).body(predict_body()).send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let body: Value = resp.json().await.unwrap_or(Value::Null);
                        (status, body["model_id"].as_str().unwrap_or_default().to_string())
                    }
                    Err(e) => (0, e.to_string()),
                };
                seen.push((status, model_id));
            }
            seen
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.ok(&["deploy", "-f", s]);
    eventually(30, "the alias to serve v2", || async {
        (model_id_of(&host, "well_log-prediction-dev").await.as_deref() == Some("well_log/dev/2"))
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let seen = caller.await.expect("caller task");
    let failures: Vec<_> = seen.iter().filter(|(status, _)| *status != 200).collect();
    assert!(failures.is_empty(), "calls failed during the deploy: {failures:?}");
    let v1 = seen.iter().filter(|(_, m)| m == "well_log/dev/1").count();
    let v2 = seen.iter().filter(|(_, m)| m == "well_log/dev/2").count();
    println!(
        "{} calls during the deploy: {v1} answered by v1, {v2} by v2, none failed",
        seen.len()
    );
    assert!(v1 > 0 && v2 > 0, "the loop saw both versions ({v1}, {v2})");
    let switched = seen.iter().position(|(_, m)| m == "well_log/dev/2").expect("v2 seen");
    assert!(
        seen[switched..].iter().all(|(_, m)| m == "well_log/dev/2"),
        "the alias went back and forth"
    );

    // Roll back through the HTTP API.
    let resp = mlops_tests::http()
        .post(format!("{}/services/well_log-prediction-dev/redeploy", host.url))
        .body(r#"{"version": 1}"#)
        .send()
        .await
        .expect("redeploy");
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap_or_default());
    assert_eq!(
        model_id_of(&host, "well_log-prediction-dev").await.as_deref(),
        Some("well_log/dev/1")
    );
    // And forward again with the CLI.
    h.ok(&["services", "redeploy", "well_log-prediction-dev", "--version", "2"]);
    eventually(30, "the alias to serve v2 again", || async {
        (model_id_of(&host, "well_log-prediction-dev").await.as_deref() == Some("well_log/dev/2"))
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_training_service_makes_a_version_that_a_prediction_deploy_serves() {
    let h = Host::new();
    // The refitted model predicts other values than the fixture expects, so
    // this prediction deploy is tested with the error fixture only.
    let s = h.settings(
        "well_log",
        &[
            "bad_rdep.request.json",
            "bad_rdep.expected.json",
            "training/fit.request.json",
            "training/fit.expected.json",
        ],
        "info:\n  training:\n    description: Refits the model\n",
    );
    let s = s.to_str().expect("utf-8");
    let out = h.run(&["deploy", "-f", s, "--service", "training"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("running 1 training fixture(s)") && stderr.contains("1 fixture(s) passed"),
        "{stderr}"
    );
    h.ok(&["deploy", "-f", s]);
    let host = h.serve(&[]);

    let body =
        std::fs::read(example_dir().join("fixtures/training/fit.request.json")).expect("fixture");
    let (status, resp) = host.post("/services/well_log-training-dev/call", body).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["status"], "ok");
    let trained = resp["training"]["model_id"].as_str().expect("model id").to_string();
    let version = resp["training"]["version"].as_u64().expect("version");
    assert_eq!(trained, format!("well_log/dev/{version}"));
    assert_eq!(resp["training"]["metadata"]["rows"], "400");
    assert_eq!(resp["training"]["metadata"]["trained_by"], "well_log-training-dev");
    assert_eq!(resp["training"]["files"][0]["path"], "model.json");

    h.ok(&["deploy", "-f", s, "--artifact-version", &version.to_string()]);
    let served = eventually(30, "the trained version to be served", || async {
        let (status, body) =
            host.post("/services/well_log-prediction-dev/call", predict_body()).await;
        (status == 200 && body["model_id"] == trained.as_str()).then_some(body)
    })
    .await;
    let before: Value = serde_json::from_slice(
        &std::fs::read(example_dir().join("fixtures/predict.expected.json")).expect("fixture"),
    )
    .expect("JSON");
    assert_ne!(
        served["prediction"], before["prediction"],
        "the refitted model predicts differently"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_store_pick_up_a_cli_deploy_without_restart() {
    let h = Host::new();
    let (a, b) = (h.serve(&[]), h.serve(&[]));
    let s = h.settings("well_log", &[], "");
    h.ok(&["deploy", "-f", s.to_str().expect("utf-8")]);
    let started = Instant::now();
    for host in [&a, &b] {
        let got = eventually(30, "the deploy on both hosts", || {
            model_id_of(host, "well_log-prediction-dev")
        })
        .await;
        assert_eq!(got, "well_log/dev/1");
    }
    println!("deploy to served by both hosts: {:?}", started.elapsed());
    h.ok(&["services", "delete", "well_log-prediction-dev-1", "--yes"]);
    for host in [&a, &b] {
        eventually(30, "the delete on both hosts", || async {
            (host.get("/services/well_log-prediction-dev-1").await.0 == 404).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_gate_calls_and_admin_routes() {
    let h = Host::new();
    let s = h.settings("well_log", &[], "");
    h.ok(&["deploy", "-f", s.to_str().expect("utf-8")]);
    let host = h.serve(&[
        ("MLOPS_ADMIN_TOKEN", mlops_tests::secrets::ADMIN_TOKEN),
        ("MLOPS_CALLER_TOKEN", mlops_tests::secrets::CALLER_TOKEN),
    ]);
    let http = mlops_tests::http();
    let call = |token: Option<&'static str>| {
        let mut req = http
            .post(format!("{}/services/well_log-prediction-dev/call", host.url))
            .body(predict_body());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(call(None).await.expect("call").status(), 401);
    assert_eq!(call(Some("guess")).await.expect("call").status(), 401);
    assert_eq!(call(Some(mlops_tests::secrets::CALLER_TOKEN)).await.expect("call").status(), 200);
    assert_eq!(call(Some(mlops_tests::secrets::ADMIN_TOKEN)).await.expect("call").status(), 200);
    let delete = |token: &'static str| {
        http.delete(format!("{}/services/well_log-prediction-dev-1", host.url))
            .bearer_auth(token)
            .send()
    };
    let refused = delete(mlops_tests::secrets::CALLER_TOKEN).await.expect("delete");
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap_or_default().contains("needs the admin token"));
    assert_eq!(delete(mlops_tests::secrets::ADMIN_TOKEN).await.expect("delete").status(), 200);
    // Health, readiness and metrics stay open (for probes and scrapers).
    for open in ["/healthz", "/readyz", "/metrics", "/v2/health/live", "/v2/health/ready"] {
        let resp = http.get(format!("{}{open}", host.url)).send().await.expect("get");
        assert_eq!(resp.status(), 200, "{open} needs no token");
    }
    let listing = http.get(format!("{}/services", host.url)).send().await.expect("list");
    assert_eq!(listing.status(), 401);

    // The CLI passes the token; the host never logs it.
    let out = h.run(&[
        "call",
        "well_log-prediction-dev",
        "-d",
        example_dir().join("fixtures/predict.request.json").to_str().expect("utf-8"),
        "--server",
        &host.url,
        "--token",
        mlops_tests::secrets::CALLER_TOKEN,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = host.stop();
    assert!(
        !log.iter().any(|l| l.contains(mlops_tests::secrets::CALLER_TOKEN)
            || l.contains(mlops_tests::secrets::ADMIN_TOKEN)),
        "a token was logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_slow_call_finish_and_refuses_new_connections() {
    let h = Host::new();
    let dir = h.dir.path().join("probe");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let s = dir.join("mlops_settings.yaml");
    std::fs::write(
        &s,
        format!(
            "model_name: probe\nmodel_file: {}\nlimits:\n  timeout_ms: 10000\n",
            probe_wasm().display()
        ),
    )
    .expect("write");
    h.ok(&["deploy", "-f", s.to_str().expect("utf-8")]);
    let host = h.serve(&[]);
    let url = host.url.clone();
    let slow = tokio::spawn(async move {
        let resp = mlops_tests::http()
            .post(format!("{url}/services/probe-prediction-dev/call"))
            .body(r#"{"data": {"op": "sleep_ms", "ms": 1500}}"#)
            .send()
            .await
            .expect("the slow call gets an answer");
        (resp.status().as_u16(), resp.text().await.unwrap_or_default())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addr = host.url.trim_start_matches("http://").to_string();
    let stopping = std::thread::spawn(move || host.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = tokio::net::TcpStream::connect(&addr).await;
    assert!(refused.is_err(), "a new connection was accepted during shutdown");
    let (status, body) = slow.await.expect("task");
    assert_eq!(status, 200, "the call in flight finished: {body}");
    let log = stopping.join().expect("stop");
    assert!(log.iter().any(|l| l.contains("SIGTERM received")), "{}", log.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_list_by_env_and_by_tags() {
    let h = Host::new();
    let s = h.settings(
        "well_log",
        &[],
        "info:\n  prediction:\n    description: Predicts sonic slowness from logs\n    metadata:\n      team: petrophysics\n",
    );
    let s = s.to_str().expect("utf-8");
    h.ok(&["deploy", "-f", s]);
    h.ok(&["models", "promote", "well_log", "--to", "test"]);
    h.ok(&["deploy", "-f", s, "--env", "test"]);
    let host = h.serve(&[]);
    let ids = |v: &Value| -> Vec<String> {
        v["services"]
            .as_array()
            .expect("list")
            .iter()
            .map(|s| s["external_id"].as_str().expect("id").to_string())
            .collect()
    };
    let (_, test) = host.get("/services?env=test").await;
    assert_eq!(ids(&test), ["well_log-prediction-test", "well_log-prediction-test-1"]);
    let (_, sonic) = host.get("/services?tags=SONIC,petrophysics").await;
    assert_eq!(ids(&sonic).len(), 4);
    let (_, none) = host.get("/services?env=dev&tags=seismic").await;
    assert!(ids(&none).is_empty());
    let (status, bad) = host.get("/services?env=staging").await;
    assert_eq!(status, 400, "{bad}");
    let one = host.get("/services/well_log-prediction-test").await.1;
    assert_eq!(one["metadata"]["team"], "petrophysics");
    assert_eq!(one["metadata"]["model_id"], "well_log/test/1");

    let cli: Value = serde_json::from_str(
        &h.ok(&["services", "list", "--env", "test", "--tags", "sonic", "--format", "json"]),
    )
    .expect("JSON");
    assert_eq!(cli.as_array().expect("list").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_parallel_keeps_input_order_reports_each_error_and_bounds_retries() {
    let h = Host::new();
    let s = h.settings("well_log", &[], "");
    h.ok(&["deploy", "-f", s.to_str().expect("utf-8")]);
    let host = h.serve(&[]);
    let good = String::from_utf8(predict_body()).expect("utf-8").replace('\n', "");
    let bad = r#"{"data": {"ACS": [1.0], "RDEP": [0.0], "DEN": [2.0]}}"#;
    let lines: Vec<&str> = vec![&good, bad, &good, &good, bad, &good];
    let file = h.dir.path().join("bodies.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let out = h.run(&[
        "call",
        "well_log-prediction-dev",
        "--parallel",
        file.to_str().expect("utf-8"),
        "--concurrency",
        "3",
        "--server",
        &host.url,
    ]);
    assert_eq!(out.status.code(), Some(1), "some calls failed: exit 1");
    let replies: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let statuses: Vec<&str> =
        replies.iter().map(|r| r["status"].as_str().expect("status")).collect();
    assert_eq!(statuses, ["ok", "error", "ok", "ok", "error", "ok"]);
    assert!(replies[1]["message"].as_str().expect("message").contains("RDEP"));

    let started = Instant::now();
    let out = h.run(&[
        "call",
        "well_log-prediction-dev",
        "{\"data\": {}}",
        "--server",
        "http://127.0.0.1:9",
        "--retries",
        "2",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("after 3 attempt(s)"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20), "retries are bounded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_and_compile_cache_use() {
    let h = Host::new();
    let s = h.settings("well_log", &[], "");
    h.ok(&["deploy", "-f", s.to_str().expect("utf-8")]);
    let host = h.serve(&[]);
    for _ in 0..3 {
        host.post("/services/well_log-prediction-dev/call", predict_body()).await;
    }
    // A body without the model's columns: 400.
    host.post("/services/well_log-prediction-dev/call", r#"{"data": {}}"#).await;
    let text = reqwest::get(format!("{}/metrics", host.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains(r#"mlops_calls_total{service="well_log-prediction-dev",status="200"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"mlops_calls_total{service="well_log-prediction-dev",status="400"} 1"#),
        "{text}"
    );
    assert!(text.contains("mlops_call_duration_seconds_bucket"), "{text}");
    assert!(text.contains(r#"mlops_instances{service="well_log-prediction-dev"} 1"#), "{text}");
    assert!(
        text.contains(r#"mlops_component_loads_total{outcome="hit"} 1"#),
        "deploy compiled it, serve loaded it: {text}"
    );
}

/// The unmodified Python `tritonclient[http]` against the OIP v2 routes,
/// with its defaults (binary tensors). Needs a Python with tritonclient
/// and numpy: MLOPS_TEST_PYTHON (set by .ci/run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tritonclient_gets_a_correct_inference() {
    let Some(python) = std::env::var_os("MLOPS_TEST_PYTHON").map(PathBuf::from) else {
        mlops_tests::skip(
            "the tritonclient test",
            "MLOPS_TEST_PYTHON is not set to a Python with tritonclient[http] and numpy (.ci/run makes one)",
        );
        return;
    };
    let h = Host::new();
    let s = h.settings("well_log", &[], "");
    h.ok(&["deploy", "-f", s.to_str().expect("utf-8")]);
    let host = h.serve(&[]);
    let request: Value = serde_json::from_slice(&predict_body()).expect("JSON");
    // Tensors carry no nulls: use the rows with every input present.
    let rows = [0usize, 1, 2, 4, 5];
    let column = |name: &str| -> Vec<f64> {
        rows.iter().map(|&i| request["data"][name][i].as_f64().expect("number")).collect()
    };
    let script = h.dir.path().join("triton.py");
    std::fs::write(&script, TRITON_SCRIPT).expect("write");
    let out = Command::new(&python)
        .arg(&script)
        .arg(host.url.trim_start_matches("http://"))
        .arg(
            json!({ "ACS": column("ACS"), "RDEP": column("RDEP"), "DEN": column("DEN") })
                .to_string(),
        )
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    let expected: Value = serde_json::from_slice(
        &std::fs::read(example_dir().join("fixtures/predict.expected.json")).expect("fixture"),
    )
    .expect("JSON");
    let want: Vec<Value> = rows.iter().map(|&i| expected["prediction"]["AC"][i].clone()).collect();
    assert_eq!(got["AC"], Value::Array(want), "tritonclient's answer differs from the fixture");
    assert_eq!(got["inputs"], json!(["ACS", "RDEP", "DEN"]));
    assert_eq!(got["ready"], true);
}

const TRITON_SCRIPT: &str = r#"
import json, sys
import numpy as np
import tritonclient.http as httpclient

url, data = sys.argv[1], json.loads(sys.argv[2])
name = "well_log-prediction-dev"
client = httpclient.InferenceServerClient(url=url)
assert client.is_server_live() and client.is_server_ready()
ready = client.is_model_ready(name)
meta = client.get_model_metadata(name)
inputs = []
for col in ["ACS", "RDEP", "DEN"]:
    arr = np.array(data[col], dtype=np.float64)
    t = httpclient.InferInput(col, list(arr.shape), "FP64")
    t.set_data_from_numpy(arr)
    inputs.append(t)
result = client.infer(name, inputs, outputs=[httpclient.InferRequestedOutput("AC")])
print(json.dumps({"AC": result.as_numpy("AC").tolist(), "inputs": [i["name"] for i in meta["inputs"]], "ready": ready}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_pinned_versions_go_beyond_models_to_keep() {
    let h = Host::new();
    let s = h.settings("well_log", &[], "models_to_keep: 2\n");
    for _ in 0..3 {
        h.ok(&["deploy", "-f", s.to_str().expect("utf-8")]);
    }
    let listed: Value =
        serde_json::from_str(&h.ok(&["services", "list", "--format", "json"])).expect("JSON");
    let ids: Vec<&str> =
        listed.as_array().expect("list").iter().filter_map(|r| r["external_id"].as_str()).collect();
    assert_eq!(
        ids,
        ["well_log-prediction-dev", "well_log-prediction-dev-2", "well_log-prediction-dev-3"]
    );
}

/// `mlops-host deploy` and the admin API publish through one function: for
/// the same model, version, component and settings they write equal
/// records (the model's own limits, its size, its secrets and where its
/// files go), apart from when and by whom.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_and_the_cli_write_equal_service_records() {
    let h = Host::new();
    let extra = "human_friendly_model_name: Sonic slowness\nmodels_to_keep: 2\nsecrets: [WELL_KEY]\n\
        info:\n  prediction:\n    description: AC from logs\n    owner: ds@example.com\n    metadata:\n      units: us/ft\n\
        limits:\n  memory_mb: 96\n  timeout_ms: 1500\n  max_instances: 3\n  max_request_mb: 3\n\
        prediction_files:\n  to: cdf\n  data_set: preds\n";
    let s = h.settings("well_log", &[], extra);
    let out = h
        .cmd()
        .env("MLOPS_SECRET_WELL_KEY", "k-1")
        .args(["deploy", "-f", s.to_str().expect("utf-8")])
        .output()
        .expect("deploy");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let record = |id: &str| {
        let mut r = h.json(&["services", "get", id]);
        let o = r.as_object_mut().expect("a record");
        assert!(o.remove("deployed").is_some() && o.remove("deployed_by").is_some(), "{id}");
        r
    };
    let by_cli = (record("well_log-prediction-dev-1"), record("well_log-prediction-dev"));
    assert_eq!(by_cli.0["limits"]["memory_bytes"], 96 << 20, "the settings' limits");
    for id in ["well_log-prediction-dev", "well_log-prediction-dev-1"] {
        h.ok(&["services", "delete", id, "--yes"]);
    }

    let host = h.serve(&[("MLOPS_ADMIN_TOKEN", "adm-zz")]);
    let request = json!({
        "model": "well_log", "env": "dev", "version": 1,
        "component": by_cli.0["component"],
        "human_friendly_model_name": "Sonic slowness",
        "description": "AC from logs", "owner": "ds@example.com",
        "metadata": { "units": "us/ft" },
        "limits": { "memory_mb": 96, "timeout_ms": 1500, "max_instances": 3, "max_request_mb": 3 },
        "secrets": ["WELL_KEY"],
        "prediction_files": { "to": "cdf", "data_set": "preds" },
        "models_to_keep": 2,
    });
    let resp = mlops_tests::http()
        .post(format!("{}/services", host.url))
        .bearer_auth("adm-zz")
        .json(&request)
        .send()
        .await
        .expect("deploy");
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
    let by_api = (record("well_log-prediction-dev-1"), record("well_log-prediction-dev"));
    assert_eq!(by_api, by_cli);
}
