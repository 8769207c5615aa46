//! The `mlops-host` binary end to end: deploy, serve on loopback, call.

use std::path::Path;

use mlops_tests::{HostProcess, example_dir, host_command, repo_root};
use serde_json::Value;

fn predict_request() -> Vec<u8> {
    std::fs::read(example_dir().join("fixtures/predict.request.json")).expect("fixture")
}

fn expected_prediction() -> Value {
    let text = std::fs::read_to_string(example_dir().join("fixtures/predict.expected.json"))
        .expect("fixture");
    serde_json::from_str::<Value>(&text).expect("JSON")["prediction"].clone()
}

/// `deploy --serve` of the example, as the README's first command does.
fn deploy_and_serve(store: &Path, cache: &Path) -> HostProcess {
    let mut cmd = host_command(crate::bin(), store, cache);
    cmd.current_dir(repo_root()).args([
        "deploy",
        "--settings",
        "examples/well_log/mlops_settings.yaml",
        "--serve",
        "--listen",
        "127.0.0.1:0",
    ]);
    HostProcess::start(cmd)
}

fn serve(store: &Path, cache: &Path) -> HostProcess {
    let mut cmd = host_command(crate::bin(), store, cache);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    HostProcess::start(cmd)
}

/// The README's `curl` line, pointed at `url`.
fn readme_curl(url: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let line = readme
        .lines()
        .find(|l| l.trim_start().starts_with("curl ") && l.contains("/services/"))
        .expect("the README has a curl line that calls a service");
    assert!(
        line.contains("http://127.0.0.1:8080"),
        "the README's curl targets the default address: {line}"
    );
    line.trim().replace("http://127.0.0.1:8080", url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_flow_serves_the_example_and_curl_gets_the_fixture_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = deploy_and_serve(&dir.path().join("store"), &dir.path().join("cache"));

    let curl = readme_curl(&host.url);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&curl)
        .current_dir(repo_root())
        .output()
        .expect("curl");
    assert!(out.status.success(), "{curl} failed: {}", String::from_utf8_lossy(&out.stderr));
    let response: Value = serde_json::from_slice(&out.stdout).expect("the response is JSON");
    assert_eq!(response["status"], "ok", "{response}");
    assert_eq!(response["model_id"], "well_log/dev/1");
    assert_eq!(response["prediction_file"], Value::Null);
    // Exactly the fixture's values: same bits, not just close.
    assert_eq!(response["prediction"], expected_prediction());
    let keys: Vec<&str> =
        response.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    // What the README shows under the curl line is what curl printed, byte
    // for byte.
    let shown = mlops_tests::readme_between("```json\n", "\n```");
    assert_eq!(shown, String::from_utf8_lossy(&out.stdout).trim_end(), "the README's answer");

    // The pinned id answers too, and the listing shows both.
    let (status, pinned) =
        host.post("/services/well_log-prediction-dev-1/call", predict_request()).await;
    assert_eq!(status, 200);
    assert_eq!(pinned["prediction"], expected_prediction());
    let (_, list) = host.get("/services").await;
    let ids: Vec<&str> = list["services"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["external_id"].as_str())
        .collect();
    assert_eq!(ids, ["well_log-prediction-dev", "well_log-prediction-dev-1"]);
    assert_eq!(host.get("/readyz").await.0, 200);
    assert_eq!(host.get("/healthz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_failures_are_envelopes_with_fitting_status_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = deploy_and_serve(&dir.path().join("store"), &dir.path().join("cache"));
    let call = "/services/well_log-prediction-dev/call";

    // A model error: the model's own message, status error, 422.
    let (status, body) =
        host.post(call, r#"{"data": {"ACS": [180.0], "RDEP": [-1.0], "DEN": [2.3]}}"#).await;
    assert_eq!(status, 422);
    assert_eq!(body["status"], "error");
    assert_eq!(
        body["message"],
        "model error (bad-input): row 0: RDEP (deep resistivity, ohm·m) must be greater than 0"
    );
    assert_eq!(body["model_id"], "well_log/dev/1");

    let (status, body) = host.post(call, r#"{"data": {"ACS": [180.0], "DEN": [2.3]}}"#).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("missing required column `RDEP` (this model needs ACS, RDEP, DEN)"))
    );

    let (status, body) =
        host.post(call, r#"{"data": {"ACS": ["fast"], "RDEP": [1.0], "DEN": [2.3]}}"#).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("column `ACS` row 0: expected a number or null, got a string"))
    );

    let (status, body) = host.post(call, "{not json").await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().expect("message").starts_with("the body is not valid JSON"),
        "{body}"
    );

    let (status, body) = host.post("/services/nope-prediction-dev/call", r#"{"data": {}}"#).await;
    assert_eq!(status, 404);
    assert!(
        body["message"].as_str().expect("message").contains("no service nope-prediction-dev"),
        "{body}"
    );

    let (status, body) = host.post("/services/not-an-id/call", r#"{"data": {}}"#).await;
    assert_eq!(status, 404);
    assert!(body["message"].as_str().expect("message").contains("unknown service `an`"), "{body}");

    let too_big = format!(r#"{{"data": {{"ACS": [{}]}}}}"#, vec!["1.0"; 1_200_000].join(","));
    let (status, body) = host.post(call, too_big).await;
    assert_eq!(status, 413, "{body}");

    // to_file: the prediction goes to the store, the response carries its id.
    let body =
        std::fs::read_to_string(example_dir().join("fixtures/predict.request.json")).expect("read");
    let with_file = body.replacen('{', r#"{"to_file": true, "#, 1);
    let (status, resp) = host.post(call, with_file).await;
    assert_eq!(status, 200, "{resp}");
    let file = resp["prediction_file"].as_str().expect("a file id");
    assert_eq!(resp["prediction"], serde_json::json!({}));
    let stored: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("store").join(file)).expect("stored"),
    )
    .expect("JSON");
    assert_eq!(stored, expected_prediction());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_loads_the_component_from_the_compile_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, cache) = (dir.path().join("store"), dir.path().join("cache"));
    let first = deploy_and_serve(&store, &cache);
    drop(first);
    std::fs::remove_dir_all(cache.join("compiled")).expect("empty the compile cache");

    let first = serve(&store, &cache);
    let (status, _) = first.post("/services/well_log-prediction-dev/call", predict_request()).await;
    assert_eq!(status, 200);
    let log = first.stop();
    assert!(
        log.iter().any(|l| l.contains("component compiled")),
        "the first start compiles:\n{}",
        log.join("\n")
    );

    let second = serve(&store, &cache);
    let (status, _) =
        second.post("/services/well_log-prediction-dev/call", predict_request()).await;
    assert_eq!(status, 200);
    let log = second.stop();
    assert!(
        log.iter().any(|l| l.contains("component loaded from the compile cache")),
        "{}",
        log.join("\n")
    );
    assert!(
        !log.iter().any(|l| l.contains("component compiled")),
        "the second start compiled:\n{}",
        log.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_artifact_blob_is_refused_when_a_host_loads_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, cache) = (dir.path().join("store"), dir.path().join("cache"));
    drop(deploy_and_serve(&store, &cache));

    let manifest: Value = serde_json::from_slice(
        &std::fs::read(store.join("models/well_log/dev/1.json")).expect("manifest"),
    )
    .expect("JSON");
    let blob = manifest["files"][0]["blake3"].as_str().expect("digest");
    let path = store.join("blobs").join(blob);
    let mut bytes = std::fs::read(&path).expect("blob");
    bytes[20] ^= 1;
    std::fs::write(&path, bytes).expect("tamper");
    std::fs::remove_dir_all(cache.join("artifacts")).expect("drop the local copy");

    let host = serve(&store, &cache);
    let (status, ready) = host.get("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    let error = ready["failed"][0]["error"].as_str().expect("an error").to_string();
    assert!(error.contains("is corrupt") && error.contains("tampered"), "{error}");
    let (status, body) =
        host.post("/services/well_log-prediction-dev/call", r#"{"data": {}}"#).await;
    assert_eq!(status, 503);
    assert!(body["message"].as_str().expect("message").contains("tampered"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_calls_a_running_server_and_lists_what_the_store_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, cache) = (dir.path().join("store"), dir.path().join("cache"));
    let host = deploy_and_serve(&store, &cache);
    let request = example_dir().join("fixtures/predict.request.json");
    let call = |id: &str, file: &Path| {
        host_command(crate::bin(), &store, &cache)
            .args(["call", id, "--server", &host.url, "-d"])
            .arg(file)
            .output()
            .expect("run call")
    };

    let ok = call("well_log-prediction-dev", &request);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let envelope: Value = serde_json::from_slice(&ok.stdout).expect("the envelope on stdout");
    assert_eq!(envelope["model_id"], "well_log/dev/1");
    assert_eq!(envelope["prediction"], expected_prediction());

    let bad = example_dir().join("fixtures/bad_rdep.request.json");
    let refused = call("well_log-prediction-dev-1", &bad);
    assert_eq!(refused.status.code(), Some(1), "a refused call exits 1");
    let envelope: Value = serde_json::from_slice(&refused.stdout).expect("the envelope on stdout");
    assert_eq!(envelope["status"], "error");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("HTTP 422"));

    let list = |args: &[&str]| {
        let out = host_command(crate::bin(), &store, &cache).args(args).output().expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).expect("JSON")
    };
    let models = list(&["models", "list", "--format", "json"]);
    assert_eq!(models[0]["model"], "well_log");
    assert_eq!(models[0]["version"], 1);
    assert_eq!(models[0]["files"][0]["path"], "model.json");
    let services = list(&["services", "list", "--format", "json"]);
    let ids: Vec<&str> = services
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["external_id"].as_str())
        .collect();
    assert_eq!(ids, ["well_log-prediction-dev", "well_log-prediction-dev-1"]);
    let none = list(&["models", "list", "--env", "prod", "--format", "json"]);
    assert_eq!(none, serde_json::json!([]));
}
