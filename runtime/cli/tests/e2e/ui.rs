//! The dashboard (`serve --ui`): its port's security headers and refusals
//! over real HTTP, the JSON its pages read, and the pages themselves in a
//! real browser (runtime/cli/tests/ui/dashboard.py).

use std::path::PathBuf;
use std::process::Command;

use mlops_tests::{example_dir, repo_root, well_log_wasm};
use serde_json::{Value, json};

use crate::Host;

const ADMIN: &str = "admin-token-for-the-dashboard-test";

fn onnx_settings() -> PathBuf {
    repo_root().join("examples/well_log_onnx/mlops_settings.yaml")
}

/// The example (built component, its fixtures and descriptions) as
/// `name`; without fixtures when `fixtures` is false.
fn example_settings(h: &Host, name: &str, fixtures: bool) -> PathBuf {
    let example = std::fs::read_to_string(example_dir().join("mlops_settings.yaml")).expect("read");
    let info = &example
        [example.find("\ninfo:").expect("info")..example.find("\nlimits:").expect("limits")];
    let mut text = format!(
        "model_name: {name}\nmodel_file: {}\nartifact_folder: {}\n{}\n\
         limits:\n  memory_mb: 64\n  timeout_ms: 2000\n  max_instances: 2\n",
        well_log_wasm().display(),
        example_dir().join("artifacts").display(),
        info.trim_start()
    );
    if fixtures {
        text.push_str(&format!("fixtures: {}\n", example_dir().join("fixtures").display()));
    }
    let path = h.dir.path().join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write");
    path
}

/// The example in dev and test, the ONNX example in dev (versions 1 and 2)
/// and test (version 1): what the browser test expects.
fn deploy_two_models_in_two_envs(h: &Host) {
    let s = example_settings(h, "well_log", true);
    let s = s.to_str().expect("utf-8");
    let onnx = onnx_settings();
    let onnx = onnx.to_str().expect("utf-8");
    h.ok(&["deploy", "-f", s]);
    h.ok(&["models", "promote", "well_log", "--to", "test"]);
    h.ok(&["deploy", "-f", s, "--env", "test"]);
    h.ok(&["deploy", "-f", onnx]);
    h.ok(&["models", "promote", "well_log_onnx", "--to", "test"]);
    h.ok(&["deploy", "-f", onnx, "--env", "test"]);
    h.ok(&["deploy", "-f", onnx]);
}

/// `http://<addr>` of the dashboard, from what `serve` printed.
fn ui_url(host: &mlops_tests::HostProcess) -> String {
    host.log
        .iter()
        .find_map(|l| l.strip_prefix("mlops-host: dashboard on "))
        .map(|u| u.trim_end_matches("/ui/").to_string())
        .unwrap_or_else(|| panic!("serve did not say where the dashboard is: {:?}", host.log))
}

async fn send(req: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = req.send().await.expect("request");
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    let text = resp.text().await.expect("body");
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_port_sends_strict_headers_and_refuses_what_it_must() {
    let h = Host::new();
    deploy_two_models_in_two_envs(&h);
    let plain = example_settings(&h, "no_fixtures", false);
    h.ok(&["deploy", "-f", plain.to_str().expect("utf-8")]);
    let host = h.serve(&[("MLOPS_ADMIN_TOKEN", ADMIN), ("MLOPS_UI", "127.0.0.1:0")]);
    let ui = ui_url(&host);
    mlops_tests::install_tls_provider();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // The pages and their headers.
    let (status, headers, _) = send(http.get(format!("{ui}/ui/"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers["content-type"].to_str().expect("type").starts_with("text/html"));
    let (_, headers, _) = send(http.get(format!("{ui}/ui/app.js"))).await;
    assert!(headers["content-type"].to_str().expect("type").starts_with("text/javascript"));
    // The API's answers on the dashboard's port carry them too.
    let (status, headers, _) = send(http.get(format!("{ui}/services"))).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-frame-options"], "DENY");
    let (status, headers, _) = send(http.get(format!("{ui}/"))).await;
    assert_eq!((status, headers["location"].to_str().expect("location")), (303, "/ui/"));
    // The API's own port has no dashboard, and says where it is.
    let (status, _, body) = send(http.get(format!("{}/ui/", host.url))).await;
    assert_eq!(status, 404);
    assert!(body["message"].as_str().expect("message").contains("--ui"), "{body}");

    // What the pages read: limits, schema, the stored example.
    let (_, _, svc) = send(http.get(format!("{ui}/services/well_log-prediction-dev"))).await;
    assert_eq!(svc["limits"]["memory_bytes"], 64 << 20, "{svc}");
    assert_eq!(svc["limits"]["timeout_ms"], 2000, "{svc}");
    let inputs: Vec<&str> = svc["inputs"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(inputs, ["ACS", "RDEP", "DEN"], "{svc}");
    assert_eq!(svc["outputs"]["fields"][0]["name"], "AC", "{svc}");
    assert_eq!(svc["example"], true, "{svc}");
    let fixture: Value = serde_json::from_slice(
        &std::fs::read(example_dir().join("fixtures/predict.request.json")).expect("read"),
    )
    .expect("JSON");
    let (status, _, example) =
        send(http.get(format!("{ui}/services/well_log-prediction-dev/example"))).await;
    assert_eq!((status, &example), (200, &fixture), "the first ok fixture is the example");
    let (_, _, svc) = send(http.get(format!("{ui}/services/no_fixtures-prediction-dev"))).await;
    assert_eq!(svc["example"], false, "{svc}");
    let (status, _, body) =
        send(http.get(format!("{ui}/services/no_fixtures-prediction-dev/example"))).await;
    assert_eq!(status, 404);
    assert!(body["message"].as_str().expect("message").contains("fixtures"), "{body}");

    // The recent history counts calls (on either port) and errors.
    let call = |port: &str| {
        http.post(format!("{port}/services/well_log-prediction-dev/call")).json(&fixture)
    };
    for _ in 0..7 {
        assert_eq!(send(call(&host.url)).await.0, 200);
    }
    assert_eq!(send(call(&ui)).await.0, 200);
    let bad = json!({"data": {"ACS": [1.0], "RDEP": [-1.0], "DEN": [2.0]}});
    let (status, _, _) =
        send(http.post(format!("{}/services/well_log-prediction-dev/call", host.url)).json(&bad))
            .await;
    assert_eq!(status, 422);
    assert_eq!(send(http.post(format!("{ui}/services/nope-prediction-dev/call"))).await.0, 404);
    let (status, _, stats) = send(http.get(format!("{ui}/stats"))).await;
    assert_eq!(status, 200, "{stats}");
    let dev = &stats["services"]["well_log-prediction-dev"];
    assert_eq!(
        (dev["window"]["calls"].as_u64(), dev["window"]["errors"].as_u64()),
        (Some(9), Some(1))
    );
    assert_eq!(dev["total"]["calls"], 9);
    assert!(dev["window"]["p50_us"].as_f64().is_some_and(|us| us > 0.0), "{dev}");
    assert_eq!(dev["series"].as_array().expect("series").len(), 60);
    let served = stats["services"].as_object().expect("services");
    assert!(!served.contains_key("nope-prediction-dev"), "unknown ids are not kept");
    assert_eq!(served["well_log-prediction-test"]["total"]["calls"], 0);
    let (status, _, one) =
        send(http.get(format!("{ui}/stats?service=well_log-prediction-test"))).await;
    assert_eq!(status, 200);
    assert_eq!(one["services"].as_object().expect("services").len(), 1);
    let (status, _, _) = send(http.get(format!("{ui}/stats?service=nope-prediction-dev"))).await;
    assert_eq!(status, 404);

    // Actions: refused without the token, and from another site even with it.
    let promote = format!("{ui}/models/well_log_onnx/dev/2/promote");
    let (status, _, body) = send(http.post(&promote).body("{}")).await;
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = send(
        http.post(&promote).bearer_auth(ADMIN).header("origin", "http://evil.example").body("{}"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().expect("message").contains("another site"), "{body}");
    let (status, _, body) = send(
        http.post(&promote).bearer_auth(ADMIN).header("sec-fetch-site", "cross-site").body("{}"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // The API's port refuses cross-site requests too, even a call.
    let (status, _, _) = send(call(&host.url).header("sec-fetch-site", "cross-site")).await;
    assert_eq!(status, 403);
    let (_, _, versions) =
        send(http.get(format!("{ui}/models?model=well_log_onnx&env=test"))).await;
    assert_eq!(
        versions["versions"].as_array().expect("versions").len(),
        1,
        "nothing moved: {versions}"
    );
    // The same promote, same-origin with the token, moves the version.
    let (status, _, body) = send(
        http.post(&promote)
            .bearer_auth(ADMIN)
            .header("origin", ui.clone())
            .header("sec-fetch-site", "same-origin")
            .body("{}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["promoted"]["model_id"], "well_log_onnx/test/2");
    drop(host);

    // A host without an admin token: its API is open as before, but the
    // dashboard's port refuses admin actions outright.
    let host = h.serve(&[("MLOPS_UI", "127.0.0.1:0")]);
    let ui = ui_url(&host);
    let (status, _, body) =
        send(http.delete(format!("{ui}/services/well_log_onnx-prediction-dev-1"))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().expect("message").contains("MLOPS_ADMIN_TOKEN"), "{body}");
    let (status, _, _) =
        send(http.get(format!("{}/services/well_log_onnx-prediction-dev-1", host.url))).await;
    assert_eq!(status, 200, "the refused delete deleted nothing");
}

/// The pages in Debian's Chromium, driven by Selenium through Debian's
/// chromedriver (`.ci/toolchains` installs both, `.ci/run` puts Selenium
/// in MLOPS_TEST_PYTHON's venv). Screenshots go to target/ui-screenshots/.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser() {
    let python = std::env::var_os("MLOPS_TEST_PYTHON").map(PathBuf::from);
    let find = |name: &str| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    let (chromium, driver) = (find("chromium"), find("chromedriver"));
    let (Some(python), Some(chromium), Some(driver)) = (python, chromium, driver) else {
        mlops_tests::skip(
            "the dashboard's browser test",
            "it needs MLOPS_TEST_PYTHON (a Python with selenium) and Debian's chromium and chromium-driver (.ci/toolchains and .ci/run install them)",
        );
        return;
    };
    let h = Host::new();
    deploy_two_models_in_two_envs(&h);
    let s = example_settings(&h, "well_log", true);
    let s = s.to_str().expect("utf-8");
    h.ok(&["deploy", "-f", s, "--service", "training", "--artifact-version", "1"]);
    // A service that fails to start (the example's component on an
    // artifact without its model.json), deployed through the admin API.
    let empty = h.dir.path().join("no-model");
    std::fs::create_dir_all(&empty).expect("mkdir");
    std::fs::write(empty.join("README.txt"), "no model.json here").expect("write");
    h.ok(&["models", "upload", "broken", empty.to_str().expect("utf-8")]);
    let record = h.json(&["services", "get", "well_log-prediction-dev-1"]);
    let host = h.serve(&[("MLOPS_ADMIN_TOKEN", ADMIN), ("MLOPS_UI", "127.0.0.1:0")]);
    let ui = ui_url(&host);
    let http = mlops_tests::http();
    let deploy =
        json!({"model": "broken", "env": "dev", "version": 1, "component": record["component"]});
    let resp = http
        .post(format!("{}/services", host.url))
        .bearer_auth(ADMIN)
        .json(&deploy)
        .send()
        .await
        .expect("deploy");
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
    let failed = ["broken-prediction-dev", "broken-prediction-dev-1"];
    for id in failed {
        let mut status = String::new();
        for _ in 0..100 {
            let resp = http.get(format!("{}/services/{id}", host.url)).send().await.expect("get");
            let svc: Value = resp.json().await.unwrap_or_default();
            status = svc["status"].as_str().unwrap_or_default().to_string();
            if status == "failed" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(status, "failed", "{id} should have failed to start");
    }
    // A training run: well_log/dev/2, trained by the training service.
    let fit =
        std::fs::read(example_dir().join("fixtures/training/fit.request.json")).expect("read");
    let resp = http
        .post(format!("{}/services/well_log-training-dev/call", host.url))
        .body(fit)
        .send()
        .await
        .expect("train");
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap_or_default());
    // An empty host, for the empty states.
    let nothing = Host::new();
    let empty_host = nothing.serve(&[("MLOPS_UI", "127.0.0.1:0")]);
    // Calls, so the pages have numbers to show: 20 good, 1 refused.
    let fixtures = example_dir().join("fixtures");
    let request = std::fs::read(fixtures.join("predict.request.json")).expect("read");
    let url = format!("{}/services/well_log-prediction-dev/call", host.url);
    for _ in 0..20 {
        let resp = http.post(&url).body(request.clone()).send().await.expect("call");
        assert_eq!(resp.status(), 200);
    }
    let bad = json!({"data": {"ACS": [1.0], "RDEP": [-1.0], "DEN": [2.0]}});
    let resp = http.post(&url).json(&bad).send().await.expect("call");
    assert_eq!(resp.status(), 422);

    let dev = [
        "broken-prediction-dev",
        "broken-prediction-dev-1",
        "well_log-prediction-dev",
        "well_log-prediction-dev-1",
        "well_log-training-dev",
        "well_log-training-dev-1",
        "well_log_onnx-prediction-dev",
        "well_log_onnx-prediction-dev-1",
        "well_log_onnx-prediction-dev-2",
    ];
    let test = [
        "well_log-prediction-test",
        "well_log-prediction-test-1",
        "well_log_onnx-prediction-test",
        "well_log_onnx-prediction-test-1",
    ];
    let expect = json!({
        "services": { "dev": dev, "test": test },
        "failed": failed,
        "failed_because": "initialization failed",
        "calls": { "well_log-prediction-dev": 21 },
        "call": "well_log-prediction-dev",
        "fixture_request": fixtures.join("predict.request.json"),
        "fixture_expected": fixtures.join("predict.expected.json"),
        "models": ["broken", "well_log", "well_log_onnx"],
        "models_versions": {
            "well_log/dev/1": ["uploaded", "well_log-prediction-dev-1"],
            "well_log/dev/2": ["trained by well_log-training-dev from well_log/dev/1", "no service"],
            "well_log/test/1": ["promoted from well_log/dev/1", "well_log-prediction-test-1"],
            "well_log_onnx/dev/2": ["uploaded", "well_log_onnx-prediction-dev-2"],
            "well_log_onnx/test/1": ["promoted from well_log_onnx/dev/1", "well_log_onnx-prediction-test-1"],
        },
        "promote": "well_log_onnx/dev/2",
        "promote_to": "test",
        "rollback": { "alias": "well_log_onnx-prediction-dev", "to": "1" },
        "delete": "well_log_onnx-prediction-dev-2",
    });
    let shots = repo_root().join("target/ui-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new(&python)
        .arg(repo_root().join("runtime/cli/tests/ui/dashboard.py"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("UI_URL", &ui)
        .env("EMPTY_UI_URL", ui_url(&empty_host))
        .env("ADMIN_TOKEN", ADMIN)
        .env("EXPECT", expect.to_string())
        .env("SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .env("CHROMEDRIVER", &driver)
        .env("HOME", h.dir.path())
        .output()
        .expect("run the browser test");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the dashboard's browser test failed:\n{text}");
    for page in [
        "services",
        "service",
        "models",
        "models-promoted",
        "services-phone",
        "models-phone",
        "service-phone",
    ] {
        let png = std::fs::read(shots.join(format!("{page}.png"))).expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{page}.png is not a page");
    }
}
