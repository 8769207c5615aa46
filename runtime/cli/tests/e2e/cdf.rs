//! CDF end to end: predictions to CDF Files, the registry on CDF Files, and
//! what a model can (not) see of the host's CDF credentials. Against the
//! local CDF server of tests/.

use std::time::{Duration, Instant};

use mlops_cdf::FileRef;
use mlops_tests::cdf_server::{CdfServer, CdfServerConfig};
use mlops_tests::{HostProcess, example_dir, probe_wasm};
use serde_json::{Value, json};

use crate::Host;
use crate::services::eventually;

use mlops_tests::secrets::CDF_CLIENT_SECRET as SECRET;

fn predict_body(to_file: bool) -> String {
    let body = std::fs::read_to_string(example_dir().join("fixtures/predict.request.json"))
        .expect("fixture");
    if to_file { body.replacen('{', r#"{"to_file": true, "#, 1) } else { body }
}

/// The example deployed with predictions to CDF data set `preds`, served
/// with the server's credentials (plus `env`).
fn serve_to_cdf(h: &Host, cdf: &CdfServer, env: &[(&str, &str)]) -> HostProcess {
    let settings = h.settings("well_log", &[], "prediction_files:\n  to: cdf\n  data_set: preds\n");
    h.ok(&["deploy", "-f", settings.to_str().expect("utf-8")]);
    let mut vars = cdf.host_env();
    for (k, v) in env {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    h.serve(&vars)
}

const CALL: &str = "/services/well_log-prediction-dev/call";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_to_file_prediction_becomes_a_cdf_file_equal_to_the_inline_one() {
    let cdf = CdfServer::start(CdfServerConfig {
        uploaded_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let data_set = cdf.add_data_set("preds", false);
    let h = Host::new();
    let host = serve_to_cdf(&h, &cdf, &[]);

    let (status, inline) = host.post(CALL, predict_body(false)).await;
    assert_eq!(status, 200, "{inline}");
    let (status, resp) = host.post(CALL, predict_body(true)).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["status"], "ok");
    assert_eq!(resp["prediction"], json!({}), "not inlined");
    let file = resp["prediction_file"].as_str().expect("an external id");
    assert!(
        file.starts_with("preds/predictions/well_log/dev/") && file.ends_with(".json"),
        "{file}"
    );

    // Read back as a reader would: by external id, right after the answer.
    let bytes = cdf.client().download(&FileRef::external(file)).await.expect("download");
    let stored: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(stored, inline["prediction"]);

    let info = cdf.client().file(&FileRef::external(file)).await.expect("byids").expect("exists");
    assert_eq!(info.mime_type.as_deref(), Some("application/json"));
    assert_eq!(info.data_set_id, Some(data_set));
    assert_eq!(info.metadata["model_id"], "well_log/dev/1");
    assert_eq!(info.metadata["service"], "well_log-prediction-dev");
    assert_eq!(info.metadata["env"], "dev");
    assert!(info.metadata["created"].ends_with('Z'), "{:?}", info.metadata);
    assert!(
        cdf.seen()
            .iter()
            .filter(|s| s.path.starts_with("/transfer/"))
            .all(|s| s.authorization.is_none()),
        "the host sent credentials to a pre-signed URL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_ridden_out_and_a_dead_cdf_fails_the_call_within_its_deadline() {
    let cdf = CdfServer::start(CdfServerConfig::default()).await;
    cdf.add_data_set("preds", false);
    let h = Host::new();
    let host = serve_to_cdf(&h, &cdf, &[("MLOPS_CDF_DEADLINE", "5")]);

    cdf.fail_next("/files", 429, 3);
    let (status, resp) = host.post(CALL, predict_body(true)).await;
    assert_eq!(status, 200, "three 429s then success: {resp}");
    let creates: Vec<u16> =
        cdf.seen().iter().filter(|s| s.path.ends_with("/files")).map(|s| s.status).collect();
    assert_eq!(creates, [429, 429, 429, 201]);
    let kept = cdf.files().len();

    // Storage refuses every upload: the call fails by its deadline…
    cdf.fail_next("/transfer/", 503, u64::MAX);
    let started = Instant::now();
    let (status, resp) = host.post(CALL, predict_body(true)).await;
    let took = started.elapsed();
    assert_eq!(status, 504, "{resp}");
    assert_eq!(resp["status"], "error");
    let msg = resp["message"].as_str().expect("message");
    assert!(
        msg.contains("could not be written to CDF") && msg.contains("timed out after 5"),
        "{msg}"
    );
    assert!(took >= Duration::from_secs(5) && took < Duration::from_secs(7), "{took:?}");
    // …and leaves no half-written file behind.
    eventually(10, "the half-written file to go", || async {
        (cdf.files().len() == kept).then_some(())
    })
    .await;

    // CDF itself answers 503 to everything: a create is not repeated.
    cdf.clear_faults();
    cdf.fail_next("/files", 503, u64::MAX);
    let (status, resp) = host.post(CALL, predict_body(true)).await;
    assert_eq!(status, 502, "{resp}");
    assert!(resp["message"].as_str().expect("message").contains("503"), "{resp}");
    cdf.clear_faults();
    let (status, _) = host.post(CALL, predict_body(true)).await;
    assert_eq!(status, 200, "recovered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_fails_the_call_clearly_and_is_never_shown() {
    let cdf = CdfServer::start(CdfServerConfig::default()).await;
    cdf.add_data_set("preds", false);
    let h = Host::new();
    let mut host = serve_to_cdf(&h, &cdf, &[("MLOPS_CDF_CLIENT_SECRET", "wrong-but-secret-value")]);
    let (status, resp) = host.post(CALL, predict_body(true)).await;
    assert_eq!(status, 502, "{resp}");
    let msg = resp["message"].as_str().expect("message");
    assert!(msg.contains("CDF sign-in failed") && msg.contains("invalid_client"), "{msg}");
    assert!(!resp.to_string().contains("wrong-but-secret-value"));
    let (status, _) = host.post(CALL, predict_body(false)).await;
    assert_eq!(status, 200, "inline predictions do not need CDF");
    let log = host.drain_log().join("\n");
    assert!(!log.contains("wrong-but-secret-value"), "the secret was logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cdf_service_on_a_host_without_credentials_says_what_to_set() {
    let h = Host::new();
    let settings = h.settings("well_log", &[], "prediction_files:\n  to: cdf\n");
    h.ok(&["deploy", "-f", settings.to_str().expect("utf-8")]);
    let host = h.serve(&[]);
    let (status, resp) = host.post(CALL, predict_body(true)).await;
    assert_eq!(status, 503, "{resp}");
    let msg = resp["message"].as_str().expect("message");
    assert!(msg.contains("data set `mlops`") && msg.contains("MLOPS_CDF_BASE_URL"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_runs_on_cdf_files() {
    let cdf = CdfServer::start(CdfServerConfig {
        uploaded_delay: Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    let h = Host::new();
    let settings = h.settings("well_log", &[], "");
    let env = cdf.host_env();
    let run = |args: &[&str]| {
        let mut cmd = h.cmd();
        cmd.env("MLOPS_STORE", "cdf://mlops/e2e");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.args(args).output().expect("run")
    };
    let out = run(&["deploy", "-f", settings.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["models", "list", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(listed.to_string().contains("well_log"), "{listed}");
    assert!(
        cdf.files()
            .iter()
            .any(|f| f["externalId"].as_str().is_some_and(|x| x.starts_with("mlops/e2e/blobs/"))),
        "blobs are CDF files"
    );

    let mut cmd = h.cmd();
    cmd.env("MLOPS_STORE", "cdf://mlops/e2e").args(["serve", "--listen", "127.0.0.1:0"]);
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let host = HostProcess::start(cmd);
    let (status, resp) = host.post(CALL, predict_body(false)).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["model_id"], "well_log/dev/1");

    // Without credentials a cdf:// store is refused with what to set.
    let out = h
        .cmd()
        .env("MLOPS_STORE", "cdf://mlops/e2e")
        .args(["models", "list"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MLOPS_CDF_BASE_URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_cannot_read_the_cdf_client_secret() {
    let cdf = CdfServer::start(CdfServerConfig::default()).await;
    let h = Host::new();
    let secret_file = h.dir.path().join("cdf-secret");
    std::fs::write(&secret_file, SECRET).expect("write");
    let dir = h.dir.path().join("probe");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let settings = dir.join("mlops_settings.yaml");
    std::fs::write(
        &settings,
        format!("model_name: probe\nmodel_file: {}\nsecrets: [API_KEY]\n", probe_wasm().display()),
    )
    .expect("write");
    let mut env: Vec<(String, String)> = cdf.host_env();
    env.push(("MLOPS_SECRET_API_KEY".into(), mlops_tests::secrets::MODEL_SECRET.into()));
    let with = |cmd: &mut std::process::Command, env: &[(String, String)]| {
        for (k, v) in env {
            cmd.env(k, v);
        }
    };
    let mut deploy = h.cmd();
    with(&mut deploy, &env);
    let out =
        deploy.args(["deploy", "-f", settings.to_str().expect("utf-8")]).output().expect("deploy");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The secret both ways the host takes it: in a variable, and in a file.
    for by_file in [false, true] {
        let mut env = env.clone();
        if by_file {
            env.retain(|(k, _)| k != "MLOPS_CDF_CLIENT_SECRET");
            env.push(("MLOPS_CDF_CLIENT_SECRET_FILE".into(), secret_file.display().to_string()));
        }
        let mut cmd = h.cmd();
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        with(&mut cmd, &env);
        let mut host = HostProcess::start(cmd);
        let ask = |req: Value| {
            let host = &host;
            async move {
                let (status, body) = host
                    .post("/services/probe-prediction-dev/call", json!({ "data": req }).to_string())
                    .await;
                assert_eq!(status, 200, "{body}");
                body
            }
        };
        let own = ask(json!({"op": "secret", "name": "API_KEY"})).await;
        assert_eq!(own["prediction"]["present"], true, "declared secrets do arrive: {own}");
        assert_eq!(own["prediction"]["len"], mlops_tests::secrets::MODEL_SECRET.len());
        let mut answers = vec![own.clone()];
        for name in [
            "CDF_CLIENT_SECRET",
            "MLOPS_CDF_CLIENT_SECRET",
            "CLIENT_SECRET",
            "MLOPS_CDF_CLIENT_SECRET_FILE",
        ] {
            let got = ask(json!({"op": "secret", "name": name})).await;
            assert_eq!(got["prediction"]["present"], false, "{name}: {got}");
            answers.push(got);
        }
        let vars = ask(json!({"op": "env"})).await;
        assert_eq!(vars["prediction"]["vars"], 0, "{vars}");
        for path in [
            "/proc/self/environ".to_string(),
            secret_file.display().to_string(),
            format!("/artifacts/../../../..{}", secret_file.display()),
        ] {
            let got = ask(json!({"op": "read", "path": path})).await;
            assert_eq!(got["prediction"]["ok"], false, "{path}: {got}");
            answers.push(got);
        }
        for a in &answers {
            assert!(!a.to_string().contains(SECRET), "the secret reached the model: {a}");
        }
        let log = host.drain_log().join("\n");
        assert!(!log.contains(SECRET), "the secret was logged");
    }

    // An operator handing the CDF secret to a model as its own secret is
    // refused where secrets are resolved, on the serving host, naming why.
    let mut env = env.clone();
    env.retain(|(k, _)| k != "MLOPS_SECRET_API_KEY");
    env.push(("MLOPS_SECRET_API_KEY".into(), SECRET.into()));
    let mut cmd = h.cmd();
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    with(&mut cmd, &env);
    let mut host = HostProcess::start(cmd);
    let (status, body) =
        host.post("/services/probe-prediction-dev/call", r#"{"data": {"op": "env"}}"#).await;
    assert_eq!(status, 503, "{body}");
    let msg = body["message"].as_str().expect("message");
    assert!(msg.contains("secret `API_KEY`") && msg.contains("host's own credentials"), "{msg}");
    assert!(!body.to_string().contains(SECRET), "{body}");
    assert!(!host.drain_log().join("\n").contains(SECRET), "the secret was logged");
}
