//! Every HTTP route and every status it answers with, in process: the
//! app's handler is called with a request and gives a response (no socket,
//! no process). The services are real components compiled from source,
//! deployed through the core's `deploy` into a store on disk.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::Frame;
use hyper::{HeaderMap, Method, Request};
use mlops_core::{DeployPlan, Host, Loader, PredictionFile, PredictionSink, SinkError};
use mlops_http::{App, AppOptions, Auth};
use mlops_manifest::{Env, Limits, ModelName, PredictionFiles, ServiceKind};
use mlops_registry::{NoProgress, Registry};
use serde_json::{Value, json};

/// A sink that answers by data set: `ok` takes the file, `fail` refuses,
/// `slow` times out.
struct TestSink;

#[async_trait::async_trait]
impl PredictionSink for TestSink {
    async fn upload(&self, data_set: &str, file: PredictionFile<'_>) -> Result<String, SinkError> {
        match data_set {
            "ok" => Ok(format!("{data_set}/{}", file.model)),
            "slow" => Err(SinkError::Timeout("the upload took longer than 30 s".into())),
            _ => Err(SinkError::Failed("CDF answered 500".into())),
        }
    }
}

/// A store with services deployed, and the app serving them.
struct Site {
    app: App,
    store: std::path::PathBuf,
    registry: Registry,
    well_log: String,
    _dir: tempfile::TempDir,
}

/// The services: `wl` (the well-log example, requests up to 1 MiB),
/// `probe` (the hostile probe, 300 ms deadline) as prediction and training
/// services, `broken` (a probe whose initialization fails), and well-log
/// copies that write `to_file` predictions to CDF data sets `ok`, `fail`
/// and `slow`.
async fn site(options: AppOptions, broken: bool) -> Site {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let registry = Registry::local(&store).expect("store");
    let well_log = put(&registry, mlops_tests::well_log_wasm()).await;
    let probe = put(&registry, mlops_tests::probe_wasm()).await;
    let example = mlops_tests::example_dir().join("artifacts");
    let probe_artifacts = tempfile::tempdir().expect("tempdir");
    std::fs::write(probe_artifacts.path().join("init.txt"), "ok").expect("write");
    let failing = tempfile::tempdir().expect("tempdir");
    std::fs::write(failing.path().join("init.txt"), "fail").expect("write");

    let small = Limits { max_request_bytes: 1 << 20, ..Limits::default() };
    deploy(&registry, "wl", ServiceKind::Prediction, &example, &well_log, small.clone(), None)
        .await;
    let probe_limits = Limits { timeout: Duration::from_millis(300), ..small.clone() };
    for kind in [ServiceKind::Prediction, ServiceKind::Training] {
        deploy(
            &registry,
            "probe",
            kind,
            probe_artifacts.path(),
            &probe,
            probe_limits.clone(),
            None,
        )
        .await;
    }
    for data_set in ["ok", "fail", "slow"] {
        let name = format!("wl_{data_set}");
        deploy(
            &registry,
            &name,
            ServiceKind::Prediction,
            &example,
            &well_log,
            small.clone(),
            Some(data_set),
        )
        .await;
    }
    if broken {
        deploy(&registry, "broken", ServiceKind::Prediction, failing.path(), &probe, small, None)
            .await;
    }
    let app = app_on(&registry, dir.path(), options, Some(Arc::new(TestSink)));
    app.host().sync().await.expect("sync");
    Site { app, store, registry, well_log, _dir: dir }
}

fn app_on(
    registry: &Registry,
    dir: &Path,
    options: AppOptions,
    cdf: Option<Arc<dyn PredictionSink>>,
) -> App {
    let loader = Loader {
        registry: registry.clone(),
        engine: mlops_tests::engine(Some(
            &mlops_tests::repo_root().join("target/test-compile-cache/compiled"),
        )),
        artifacts_dir: dir.join("artifacts"),
        secrets: Arc::new(|name| Err(format!("secret `{name}` is not set"))),
        cdf,
        profile: false,
    };
    App::new(Host::new(loader, dir.join("scratch")), options)
}

async fn put(registry: &Registry, wasm: &Path) -> String {
    registry.put_blob(Bytes::from(std::fs::read(wasm).expect("component"))).await.expect("put")
}

async fn deploy(
    registry: &Registry,
    model: &str,
    kind: ServiceKind,
    artifacts: &Path,
    component: &str,
    limits: Limits,
    cdf: Option<&str>,
) {
    let name = ModelName::new(model).expect("name");
    let version = match registry.latest_version(&name, Env::Dev).await.expect("versions") {
        Some(v) => v,
        None => {
            registry
                .upload_version(&name, Env::Dev, Some(artifacts), BTreeMap::new(), "t", &NoProgress)
                .await
                .expect("upload")
                .version
        }
    };
    let plan = DeployPlan {
        model: name.clone(),
        env: Env::Dev,
        service: kind,
        version,
        component: component.to_string(),
        human_friendly_model_name: model.to_string(),
        description: format!("{model} for the route tests"),
        owner: "tests".into(),
        metadata: BTreeMap::new(),
        limits,
        secrets: Vec::new(),
        prediction_files: cdf
            .map_or(PredictionFiles::Store, |d| PredictionFiles::Cdf { data_set: d.to_string() }),
        example: None,
        models_to_keep: 3,
        deployed_by: "tests".into(),
    };
    mlops_core::deploy(registry, plan).await.expect("deploy");
}

/// The response to one request: status, headers, body (JSON when it is).
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn send(app: &App, method: &str, path: &str, token: Option<&str>, body: &str) -> Answer {
    let mut req = Request::builder().method(method.parse::<Method>().expect("method")).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req.body(Full::new(Bytes::from(body.to_string()))).expect("request");
    answer(app.handle(req).await).await
}

async fn answer(resp: hyper::Response<Full<Bytes>>) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer { status, headers, body }
}

fn predict_body() -> String {
    std::fs::read_to_string(mlops_tests::example_dir().join("fixtures/predict.request.json"))
        .expect("fixture")
}

/// `(status, message)` of an envelope error.
fn failed(a: &Answer) -> (u16, &str) {
    assert_eq!(a.body["status"], "error", "{}", a.body);
    (a.status, a.body["message"].as_str().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_answer_every_status_with_the_envelope() {
    let s = site(
        AppOptions { body_timeout: Duration::from_millis(200), ..AppOptions::default() },
        true,
    )
    .await;
    let app = &s.app;
    let call = |id: &str| format!("/services/{id}/call");

    // 200, by alias and by pinned id, with the model id.
    let ok = send(app, "POST", &call("wl-prediction-dev"), None, &predict_body()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["model_id"], "wl/dev/1");
    assert!(ok.body["prediction"]["AC"].is_array());
    let pinned = send(app, "POST", &call("wl-prediction-dev-1"), None, &predict_body()).await;
    assert_eq!(pinned.body, ok.body);

    // 400: not JSON, no data, a column missing; the model id is named.
    let a = send(app, "POST", &call("wl-prediction-dev"), None, "{not json").await;
    assert_eq!(failed(&a).0, 400);
    assert_eq!(a.body["model_id"], "wl/dev/1");
    let a = send(app, "POST", &call("wl-prediction-dev"), None, r#"{"to_file": true}"#).await;
    assert!(failed(&a).1.contains("no `data`"), "{}", a.body);
    let a = send(app, "POST", &call("wl-prediction-dev"), None, r#"{"data": {"ACS": [1]}}"#).await;
    assert_eq!(failed(&a).0, 400);
    assert!(failed(&a).1.contains("missing required columns"), "{}", a.body);

    // 404: unknown, and not an id at all.
    let a = send(app, "POST", &call("nope-prediction-dev"), None, "{}").await;
    assert_eq!(
        failed(&a),
        (404, "no service nope-prediction-dev; GET /services lists the deployed ones")
    );
    assert_eq!(a.body["model_id"], Value::Null);
    let a = send(app, "POST", &call("NOT_AN_ID"), None, "{}").await;
    assert_eq!(failed(&a).0, 404);

    // 405 and an unknown route.
    assert_eq!(failed(&send(app, "GET", &call("wl-prediction-dev"), None, "").await).0, 405);
    let a = send(app, "GET", "/nowhere", None, "").await;
    assert_eq!(failed(&a).0, 404);
    assert!(failed(&a).1.contains("no route /nowhere"), "{}", a.body);

    // 413: the service's own limit (1 MiB), not the host's.
    let big = format!(r#"{{"data": {{"ACS": [{}]}}}}"#, vec!["1.0"; 400_000].join(","));
    let a = send(app, "POST", &call("wl-prediction-dev"), None, &big).await;
    assert_eq!(failed(&a).0, 413);
    assert!(failed(&a).1.contains("1 MiB"), "{}", a.body);

    // 408: a body that never arrives.
    let never = StreamBody::new(futures::stream::pending::<Result<Frame<Bytes>, Infallible>>());
    let req = Request::post(call("wl-prediction-dev")).body(never).expect("request");
    let a = answer(app.handle(req).await).await;
    assert_eq!(failed(&a).0, 408);

    // The model's own refusal (422), a crash (500), a deadline (504).
    let probe = call("probe-prediction-dev");
    let a =
        send(app, "POST", &probe, None, r#"{"data": {"op": "error", "message": "ACS < 0"}}"#).await;
    assert_eq!(failed(&a), (422, "model error (bad-input): ACS < 0"));
    assert_eq!(a.body["model_id"], "probe/dev/1");
    let a = send(app, "POST", &probe, None, r#"{"data": {"op": "trap"}}"#).await;
    assert_eq!(failed(&a).0, 500);
    let a = send(app, "POST", &probe, None, r#"{"data": {"op": "loop"}}"#).await;
    assert_eq!(failed(&a).0, 504);

    // 503: a service that did not load, with a retry hint.
    let a = send(app, "POST", &call("broken-prediction-dev"), None, r#"{"data": {}}"#).await;
    assert_eq!(failed(&a).0, 503);
    assert!(failed(&a).1.contains("init.txt says fail"), "{}", a.body);
    assert_eq!(a.headers["retry-after"], "1");

    // Prediction files: to the store (200), to CDF (200), a sink that
    // refuses (502) or times out (504).
    let to_file = predict_body().replacen('{', r#"{"to_file": true,"#, 1);
    let a = send(app, "POST", &call("wl-prediction-dev"), None, &to_file).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let file = a.body["prediction_file"].as_str().expect("a file id");
    assert!(s.registry.get_prediction(file).await.is_ok(), "{file} is in the store");
    let a = send(app, "POST", &call("wl_ok-prediction-dev"), None, &to_file).await;
    assert_eq!((a.status, a.body["prediction_file"].as_str()), (200, Some("ok/wl_ok")));
    let a = send(app, "POST", &call("wl_fail-prediction-dev"), None, &to_file).await;
    assert_eq!(failed(&a), (502, "the prediction could not be written to CDF: CDF answered 500"));
    let a = send(app, "POST", &call("wl_slow-prediction-dev"), None, &to_file).await;
    assert_eq!(failed(&a).0, 504);

    // 502 when the store fails, without the store's insides: a file where
    // the predictions folder goes.
    std::fs::remove_dir_all(s.store.join("predictions")).expect("rm");
    std::fs::write(s.store.join("predictions"), "in the way").expect("write");
    let a = send(app, "POST", &call("wl-prediction-dev"), None, &to_file).await;
    let (status, message) = failed(&a);
    assert_eq!(status, 502);
    assert!(
        message.starts_with("the prediction could not be written: the store failed"),
        "{message}"
    );
    let store = s.store.display().to_string();
    assert!(!message.contains(&store), "the store's path reached the client: {message}");

    // A training service: a new version; a run that dies keeps nothing.
    let train = call("probe-training-dev");
    let a = send(app, "POST", &train, None, r#"{"data": {"write_mb": 1}}"#).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["training"]["model_id"], "probe/dev/2");
    let a = send(app, "POST", &train, None, r#"{"data": {"write_mb": 1, "panic": true}}"#).await;
    assert_eq!(failed(&a).0, 500);
    assert!(failed(&a).1.starts_with("training failed:"), "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_has_not_read_its_store_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Registry::local(&dir.path().join("store")).expect("store");
    let app = app_on(&registry, dir.path(), AppOptions::default(), None);
    let a = send(&app, "POST", "/services/wl-prediction-dev/call", None, "{}").await;
    assert_eq!(failed(&a).0, 503);
    assert!(failed(&a).1.contains("has not loaded the services"), "{}", a.body);
    let a = send(&app, "GET", "/readyz", None, "").await;
    assert_eq!((a.status, a.body["status"].as_str()), (503, Some("loading")));
    let a = send(&app, "GET", "/services/wl-prediction-dev", None, "").await;
    assert_eq!(a.status, 404);
    let a = send(&app, "GET", "/v2/health/ready", None, "").await;
    assert_eq!((a.status, &a.body), (503, &json!({ "ready": false })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_listing_and_metadata_routes() {
    let s = site(AppOptions::default(), true).await;
    let app = &s.app;
    let a = send(app, "GET", "/healthz", None, "").await;
    assert_eq!((a.status, &a.body), (200, &json!({ "status": "ok" })));
    let a = send(app, "GET", "/v2/health/live", None, "").await;
    assert_eq!((a.status, &a.body), (200, &json!({ "live": true })));

    // Not ready while a service failed to load; names it.
    let a = send(app, "GET", "/readyz", None, "").await;
    assert_eq!(a.status, 503);
    assert_eq!(a.body["status"], "not ready");
    assert_eq!(a.body["failed"][0]["external_id"], "broken-prediction-dev");
    assert_eq!(send(app, "GET", "/v2/health/ready", None, "").await.status, 503);
    app.host().begin_shutdown();
    let a = send(app, "GET", "/readyz", None, "").await;
    assert_eq!((a.status, a.body["status"].as_str()), (503, Some("shutting down")));

    let healthy = site(AppOptions::default(), false).await;
    let a = send(&healthy.app, "GET", "/readyz", None, "").await;
    assert_eq!((a.status, a.body["status"].as_str()), (200, Some("ready")));
    assert_eq!(send(&healthy.app, "GET", "/v2/health/ready", None, "").await.status, 200);

    // Listing, filtered; bad filters are named.
    let a = send(app, "GET", "/services?env=dev&tags=probe", None, "").await;
    assert_eq!(a.status, 200);
    let ids: Vec<&str> = a.body["services"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["external_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "probe-prediction-dev",
            "probe-prediction-dev-1",
            "probe-training-dev",
            "probe-training-dev-1"
        ]
    );
    let a = send(app, "GET", "/services?env=staging", None, "").await;
    assert_eq!(failed(&a).0, 400);
    let a = send(app, "GET", "/services?colour=red", None, "").await;
    assert!(failed(&a).1.contains("unknown filter `colour`"), "{}", a.body);

    // One service; a failed one says why; unknown and malformed ids.
    let a = send(app, "GET", "/services/wl-prediction-dev", None, "").await;
    assert_eq!(
        (a.status, a.body["status"].as_str(), a.body["alias_of"].as_str()),
        (200, Some("ready"), Some("wl-prediction-dev-1"))
    );
    let a = send(app, "GET", "/services/broken-prediction-dev-1", None, "").await;
    assert_eq!(a.body["status"], "failed");
    assert!(a.body["error"].as_str().unwrap_or_default().contains("init.txt says fail"));
    assert_eq!(failed(&send(app, "GET", "/services/nope-prediction-dev", None, "").await).0, 404);
    assert_eq!(failed(&send(app, "GET", "/services/NOT_AN_ID", None, "").await).0, 404);

    let a = send(app, "GET", "/metrics", None, "").await;
    assert_eq!(a.status, 200);
    assert!(
        a.headers["content-type"]
            .to_str()
            .expect("text")
            .starts_with("application/openmetrics-text")
    );
    let text = a.body.as_str().expect("text");
    assert!(text.contains(r#"mlops_service_loads_total{outcome="failed"} 2"#), "{text}");
    assert!(text.contains(r#"mlops_instances{service="wl-prediction-dev"}"#), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_unknown_ids_add_no_metrics_series() {
    let s = site(AppOptions::default(), false).await;
    let app = &s.app;
    let mut ids = Vec::new();
    for i in 0..1000u32 {
        let id = format!(
            "x{:08x}-prediction-dev",
            blake3::hash(&i.to_le_bytes()).as_bytes()[0] as u32 * 65_537 + i
        );
        let a = send(app, "POST", &format!("/services/{id}/call"), None, r#"{"data": {}}"#).await;
        assert_eq!(a.status, 404);
        ids.push(id);
    }
    // And over OIP.
    for id in &ids[..100] {
        assert_eq!(
            send(app, "POST", &format!("/v2/models/{id}/infer"), None, "{}").await.status,
            404
        );
    }
    send(app, "POST", "/services/wl-prediction-dev/call", None, &predict_body()).await;
    let text =
        send(app, "GET", "/metrics", None, "").await.body.as_str().expect("text").to_string();
    let named: Vec<&String> = ids.iter().filter(|id| text.contains(id.as_str())).collect();
    assert!(named.is_empty(), "{} unknown ids have series, e.g. {:?}", named.len(), named.first());
    assert!(text.contains(r#"mlops_calls_total{service="unknown",status="404"} 1100"#), "{text}");
    assert!(
        text.contains(r#"mlops_calls_total{service="wl-prediction-dev",status="200"} 1"#),
        "{text}"
    );
    let series = text.lines().filter(|l| l.starts_with("mlops_calls_total{")).count();
    assert_eq!(series, 2, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_deploy_redeploy_delete_behind_the_admin_token() {
    let options =
        AppOptions { auth: Auth::new(Some("adm"), Some("call")), ..AppOptions::default() };
    let s = site(options, false).await;
    let app = &s.app;
    let admin = Some("adm");

    // Tokens: none (401 with a challenge), the caller's (403), the admin's.
    let a = send(app, "POST", "/services", None, "{}").await;
    assert_eq!(failed(&a).0, 401);
    assert_eq!(a.headers["www-authenticate"], "Bearer");
    assert_eq!(failed(&send(app, "POST", "/services", Some("call"), "{}").await).0, 403);
    assert_eq!(failed(&send(app, "GET", "/services", None, "").await).0, 401);
    assert_eq!(send(app, "GET", "/services", Some("call"), "").await.status, 200);
    assert_eq!(send(app, "GET", "/healthz", None, "").await.status, 200);

    // Deploy: a second version of wl from parts in the store, its own
    // limits; pruning beyond models_to_keep.
    s.registry
        .upload_version(
            &ModelName::new("wl").expect("name"),
            Env::Dev,
            Some(&mlops_tests::example_dir().join("artifacts")),
            BTreeMap::new(),
            "t",
            &NoProgress,
        )
        .await
        .expect("upload");
    let request = json!({
        "model": "wl", "env": "dev", "version": 2, "component": s.well_log,
        "description": "via the API", "limits": { "memory_mb": 64, "max_request_mb": 2 },
        "models_to_keep": 1,
    });
    let a = send(app, "POST", "/services", admin, &request.to_string()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(
        a.body,
        json!({ "deployed": ["wl-prediction-dev-2", "wl-prediction-dev"], "pruned": ["wl-prediction-dev-1"] })
    );
    let record = s
        .registry
        .service(&"wl-prediction-dev-2".parse().expect("id"))
        .await
        .expect("read")
        .expect("record");
    assert_eq!(record.limits.memory_bytes, 64 << 20);
    assert_eq!(record.limits.max_request_bytes, 2 << 20);
    assert_eq!(
        record.component_size,
        std::fs::metadata(mlops_tests::well_log_wasm()).expect("size").len()
    );
    assert_eq!(
        send(app, "POST", "/services/wl-prediction-dev/call", admin, &predict_body()).await.body["model_id"],
        "wl/dev/2"
    );
    assert_eq!(send(app, "GET", "/services/wl-prediction-dev-1", admin, "").await.status, 404);

    // Refused: not JSON, a version or component the store lacks, a limit
    // out of bounds, a body too large.
    let a = send(app, "POST", "/services", admin, "{").await;
    assert!(failed(&a).1.starts_with("not a deploy request"), "{}", a.body);
    let missing = json!({ "model": "wl", "env": "dev", "version": 9, "component": s.well_log });
    let a = send(app, "POST", "/services", admin, &missing.to_string()).await;
    assert_eq!(failed(&a).0, 400);
    assert!(failed(&a).1.contains("wl/dev/9 does not exist"), "{}", a.body);
    let no_blob = json!({ "model": "wl", "env": "dev", "version": 2, "component": "0".repeat(64) });
    let a = send(app, "POST", "/services", admin, &no_blob.to_string()).await;
    assert!(failed(&a).1.contains("is not in the store: upload it first"), "{}", a.body);
    let bad_limit = json!({ "model": "wl", "env": "dev", "version": 2, "component": s.well_log, "limits": { "memory_mb": 0 } });
    let a = send(app, "POST", "/services", admin, &bad_limit.to_string()).await;
    assert_eq!(
        failed(&a),
        (
            400,
            "limits.memory_mb is 0, outside 1..=16384: set a value from 1 to 16384, or remove `memory_mb` for the default (256)"
        )
    );
    let a = send(app, "POST", "/services", admin, &" ".repeat(2 << 20)).await;
    assert_eq!(failed(&a).0, 413);

    // Redeploy: roll the alias back (200), a version never deployed (400),
    // a pinned id (400), not an id (404).
    send(
        app,
        "POST",
        "/services",
        admin,
        &json!({ "model": "wl", "env": "dev", "version": 1, "component": s.well_log }).to_string(),
    )
    .await;
    let a =
        send(app, "POST", "/services/wl-prediction-dev/redeploy", admin, r#"{"version": 2}"#).await;
    assert_eq!((a.status, &a.body["model_id"]), (200, &json!("wl/dev/2")), "{}", a.body);
    let a =
        send(app, "POST", "/services/wl-prediction-dev/redeploy", admin, r#"{"version": 7}"#).await;
    assert_eq!(failed(&a).0, 400);
    let a = send(app, "POST", "/services/wl-prediction-dev-1/redeploy", admin, r#"{"version": 2}"#)
        .await;
    assert!(failed(&a).1.contains("is a pinned version"), "{}", a.body);
    let a = send(app, "POST", "/services/wl-prediction-dev/redeploy", admin, r#"{"v": 2}"#).await;
    assert!(failed(&a).1.starts_with("send {\"version\": <n>}"), "{}", a.body);
    assert_eq!(failed(&send(app, "POST", "/services/NO/redeploy", admin, "{}").await).0, 404);
    assert_eq!(
        failed(
            &send(app, "POST", "/services/wl-prediction-dev/redeploy", Some("call"), "{}").await
        )
        .0,
        403
    );

    // Delete: served no more (200), then unknown (404).
    let a = send(app, "DELETE", "/services/wl-prediction-dev-1", admin, "").await;
    assert_eq!((a.status, &a.body), (200, &json!({ "deleted": "wl-prediction-dev-1" })));
    assert_eq!(send(app, "GET", "/services/wl-prediction-dev-1", admin, "").await.status, 404);
    assert_eq!(
        failed(&send(app, "DELETE", "/services/wl-prediction-dev-1", admin, "").await).0,
        404
    );
    assert_eq!(
        failed(&send(app, "DELETE", "/services/wl-prediction-dev-2", None, "").await).0,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_inference_protocol_routes() {
    let s = site(AppOptions { auth: Auth::new(None, Some("call")), ..AppOptions::default() }, true)
        .await;
    let app = &s.app;
    let token = Some("call");
    let tensors = json!({ "id": "r1", "inputs": [
        { "name": "ACS", "shape": [2], "datatype": "FP64", "data": [50.0, 55.0] },
        { "name": "RDEP", "shape": [2], "datatype": "FP64", "data": [1.0, 10.0] },
        { "name": "DEN", "shape": [2], "datatype": "FP64", "data": [2.3, 2.5] },
    ]})
    .to_string();

    let a = send(app, "GET", "/v2/models/wl-prediction-dev", token, "").await;
    assert_eq!((a.status, &a.body["versions"]), (200, &json!(["1"])), "{}", a.body);
    assert_eq!(a.body["inputs"][0]["datatype"], "FP64");
    let a = send(app, "GET", "/v2/models/wl-prediction-dev/versions/1", token, "").await;
    assert_eq!(a.status, 200);
    for path in
        ["/v2/models/wl-prediction-dev/ready", "/v2/models/wl-prediction-dev/versions/1/ready"]
    {
        let a = send(app, "GET", path, token, "").await;
        assert_eq!((a.status, &a.body["ready"]), (200, &json!(true)), "{path}");
    }
    for path in
        ["/v2/models/wl-prediction-dev/infer", "/v2/models/wl-prediction-dev/versions/1/infer"]
    {
        let a = send(app, "POST", path, token, &tensors).await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        assert_eq!((&a.body["id"], &a.body["model_version"]), (&json!("r1"), &json!("1")));
        assert_eq!(a.body["outputs"][0]["shape"], json!([2]));
    }

    // Errors are OIP's `{"error": …}`: unknown (404), a training service
    // (400), not loaded (503), bad tensors (400), too large (413), no token
    // (401).
    let error = |a: &Answer| (a.status, a.body["error"].as_str().unwrap_or_default().to_string());
    let a = send(app, "GET", "/v2/models/nope-prediction-dev", token, "").await;
    assert_eq!(error(&a).0, 404);
    let a = send(app, "GET", "/v2/models/wl-prediction-dev/versions/9/ready", token, "").await;
    assert_eq!(error(&a).0, 404);
    let a = send(app, "POST", "/v2/models/probe-training-dev/infer", token, &tensors).await;
    assert_eq!(error(&a), (400, "probe-training-dev is a training service".to_string()));
    let a = send(app, "GET", "/v2/models/broken-prediction-dev/ready", token, "").await;
    assert_eq!(error(&a).0, 503);
    let a = send(app, "POST", "/v2/models/wl-prediction-dev/infer", token, r#"{"inputs": [{"name": "ACS", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}]}"#).await;
    assert_eq!(error(&a).0, 400);
    assert!(error(&a).1.contains("shape [2, 2]"), "{}", a.body);
    let a =
        send(app, "POST", "/v2/models/wl-prediction-dev/infer", token, &" ".repeat(2 << 20)).await;
    assert_eq!(error(&a).0, 413);
    let a = send(app, "POST", "/v2/models/wl-prediction-dev/infer", None, &tensors).await;
    assert_eq!(error(&a).0, 401);
    assert_eq!(send(app, "GET", "/v2/models/wl-prediction-dev/infer", token, "").await.status, 405);
}
