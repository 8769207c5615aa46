//! What the hostile-guest tests share: the settings of a well-behaved model
//! beside the probe, the attacks with the error each must get, and
//! latency measurement. Used by the e2e tests and by the isolated latency
//! test (tests/isolation.rs).
#![allow(dead_code, reason = "each test binary uses a part")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mlops_tests::secrets::MODEL_SECRET;
use mlops_tests::{HostProcess, example_dir, host_command, probe_wasm, well_log_wasm};
use serde_json::{Value, json};

/// The example model, the probe, and the probe again as `spinner`, with
/// tight limits, in one settings file.
///
/// Every attack but the infinite loop goes to `probe`, whose deadline is
/// 30 s: each must meet its own limit (memory, answer size, a trap) and
/// never the deadline first. Alone here the slowest (64 MiB allocated and
/// written, an 8 MiB answer) take 60–100 ms, but a call that long moves to
/// the host's nice-10 pool, and beside busy processes at nice 0 (the other
/// tests' compiles in CI; six busy loops here) it got so little CPU that
/// the allocation passed a 300 ms deadline and, in a run with 2,000 ms, the
/// 8 MiB answer did too. The loop goes to `spinner`, with a 300 ms
/// deadline, which is the limit it is about.
pub fn settings(dir: &Path) -> PathBuf {
    let artifacts = dir.join("probe_artifacts");
    std::fs::create_dir_all(&artifacts).expect("mkdir");
    std::fs::write(artifacts.join("init.txt"), "ok").expect("write");
    let path = dir.join("mlops_settings.yaml");
    std::fs::write(
        &path,
        format!(
            "model_name: well_log\nmodel_file: {}\nartifact_folder: {}\nfixtures: {}\n\
             limits:\n  max_instances: 2\n  max_request_mb: 4\n---\n\
             model_name: probe\nmodel_file: {}\nartifact_folder: probe_artifacts\n\
             secrets: [API_KEY]\n\
             limits:\n  memory_mb: 64\n  timeout_ms: 30000\n  max_instances: 2\n  \
             max_response_mb: 4\n  max_output_mb: 4\n---\n\
             model_name: spinner\nmodel_file: {}\nartifact_folder: probe_artifacts\n\
             limits:\n  memory_mb: 64\n  timeout_ms: 300\n  max_instances: 2\n",
            well_log_wasm().display(),
            example_dir().join("artifacts").display(),
            example_dir().join("fixtures").display(),
            probe_wasm().display(),
            probe_wasm().display(),
        ),
    )
    .expect("write");
    path
}

/// Secrets set in the host's environment that no model declares: a host
/// that handed every `MLOPS_SECRET_*` to every model would show them.
pub const UNDECLARED: &[(&str, &str)] = &[
    ("MLOPS_SECRET_OTHER_TOKEN", "undeclared-other-token-8d1f"),
    ("MLOPS_SECRET_CDF_CLIENT_SECRET", "undeclared-cdf-secret-41c7"),
];

/// `deploy` with the probe's secret set (the sandbox check needs it), and
/// the undeclared ones beside it.
pub fn deploy(dir: &Path, args: &[&str]) {
    let out = host_command(crate::bin(), &dir.join("store"), &dir.join("cache"))
        .env("MLOPS_SECRET_API_KEY", MODEL_SECRET)
        .envs(UNDECLARED.iter().copied())
        .arg("deploy")
        .args(args)
        .output()
        .expect("deploy");
    let err = String::from_utf8_lossy(&out.stderr);
    mlops_tests::secrets::assert_none_in("deploy's output", &err);
    assert!(out.status.success(), "deploy {args:?}: {err}");
}

pub fn serve(dir: &Path, extra: &[&str]) -> HostProcess {
    let mut cmd = host_command(crate::bin(), &dir.join("store"), &dir.join("cache"));
    cmd.env("MLOPS_SECRET_API_KEY", MODEL_SECRET)
        .envs(UNDECLARED.iter().copied())
        .env("MLOPS_LOG", "info")
        .args(["serve", "--listen", "127.0.0.1:0", "--watch-interval", "0.2"])
        .args(extra);
    HostProcess::start(cmd)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Sequential calls of the example until `done` says so; every one must
/// succeed. Returns each call's latency.
pub async fn well_log_latencies(
    client: &reqwest::Client,
    url: &str,
    mut done: impl FnMut(usize) -> bool,
) -> Vec<(Instant, Duration)> {
    let body = std::fs::read(example_dir().join("fixtures/predict.request.json")).expect("read");
    let expected: Value = serde_json::from_slice(
        &std::fs::read(example_dir().join("fixtures/predict.expected.json")).expect("read"),
    )
    .expect("the fixture is JSON");
    let mut took = Vec::new();
    while !done(took.len()) {
        let start = Instant::now();
        let resp = client
            .post(format!("{url}/services/well_log-prediction-dev/call"))
            .body(body.clone())
            .send()
            .await
            .expect("call");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        took.push((start, start.elapsed()));
        assert_eq!(status, 200, "the well-behaved model failed: {text}");
        let got: Value = serde_json::from_str(&text).expect("the answer is JSON");
        assert_eq!(
            got["prediction"], expected["prediction"],
            "the well-behaved model answered wrong: {text}"
        );
    }
    took
}

/// Calls for `window`.
pub async fn quiet_latencies(
    client: &reqwest::Client,
    url: &str,
    window: Duration,
) -> Vec<Duration> {
    let start = Instant::now();
    well_log_latencies(client, url, |_| start.elapsed() >= window)
        .await
        .into_iter()
        .map(|(_, d)| d)
        .collect()
}

/// One attack: the service it goes to, what the probe is asked, and the
/// status and the words its answer must have.
pub struct Attack {
    pub name: &'static str,
    pub service: &'static str,
    pub request: Value,
    pub status: u16,
    pub says: &'static [&'static str],
}

pub fn attacks(trap_addr: &str) -> Vec<Attack> {
    let a = |name, request, status, says| Attack {
        name,
        service: "probe-prediction-dev",
        request,
        status,
        says,
    };
    vec![
        Attack {
            name: "infinite loop",
            service: "spinner-prediction-dev",
            request: json!({"op": "loop"}),
            status: 504,
            says: &["deadline of 300 ms", "limits.timeout_ms"],
        },
        a(
            "unbounded allocation",
            json!({"op": "alloc"}),
            500,
            &["memory limit of 64 MiB", "limits.memory_mb"],
        ),
        a("stack overflow", json!({"op": "recurse"}), 500, &["stack overflow"]),
        a("panic", json!({"op": "panic", "message": "boom"}), 500, &["model crashed", "boom"]),
        a("unreachable", json!({"op": "trap"}), 500, &["reached `unreachable`"]),
        // The wasm instruction traps (no Rust check in the way) …
        a("division by zero", json!({"op": "divide"}), 500, &["integer division by zero"]),
        // … and Rust's own check panics.
        a(
            "checked division by zero",
            json!({"op": "divide_checked"}),
            500,
            &["model crashed", "attempt to divide by zero"],
        ),
        a(
            "gigantic output",
            json!({"op": "big", "mb": 8}),
            500,
            &["over its limit of 4 MiB", "limits.max_response_mb"],
        ),
        // Outside the artifact folder nothing exists, a path that climbs
        // out of it is refused, and inside it nothing can be written. (That the same calls succeed natively is checked in
        // tests/tests/all/engine.rs.)
        a(
            "read /etc/passwd",
            json!({"op": "read", "path": "/etc/passwd"}),
            200,
            &["\"ok\":false", "\"kind\":\"NotFound\""],
        ),
        a(
            "read ../",
            json!({"op": "read", "path": "/artifacts/../../../../etc/passwd"}),
            200,
            &["\"ok\":false", "\"kind\":\"PermissionDenied\""],
        ),
        a(
            "write the artifacts",
            json!({"op": "write", "path": "/artifacts/init.txt"}),
            200,
            &["\"ok\":false", "\"kind\":\"PermissionDenied\""],
        ),
        a(
            "write /tmp",
            json!({"op": "write", "path": "/tmp/x"}),
            200,
            &["\"ok\":false", "\"kind\":\"NotFound\""],
        ),
        a(
            "network",
            json!({"op": "net", "addr": trap_addr, "host": "localhost"}),
            200,
            &[
                "\"tcp\":{\"ok\":false,\"kind\":\"PermissionDenied\",\"error\":\"Permission denied (os error 2)\"}",
                "\"udp\":{\"ok\":false,\"kind\":\"PermissionDenied\",\"error\":\"Permission denied (os error 2)\"}",
                "\"dns\":{\"ok\":false,\"kind\":\"Uncategorized\",\"error\":\"failed to lookup address information: Non-recoverable error\"}",
            ],
        ),
        a("environment", json!({"op": "env"}), 200, &["\"vars\":0"]),
        // Set in the host's environment (see `UNDECLARED`), not declared by
        // the probe: asked for by name, or listed, it is not there.
        a(
            "undeclared secret",
            json!({"op": "secret", "name": "OTHER_TOKEN"}),
            200,
            &["\"present\":false"],
        ),
        a(
            "undeclared secret by name",
            json!({"op": "secret", "name": "CDF_CLIENT_SECRET"}),
            200,
            &["\"present\":false"],
        ),
        a(
            "list the secrets",
            json!({"op": "secret_names"}),
            200,
            &["\"call\":[\"API_KEY\"]", "\"init\":[\"API_KEY\"]"],
        ),
        a(
            "leak a secret",
            json!({"op": "leak", "name": "API_KEY", "how": "error"}),
            500,
            &["[redacted]"],
        ),
        a(
            "leak by panic",
            json!({"op": "leak", "name": "API_KEY", "how": "panic"}),
            500,
            &["[redacted]"],
        ),
        a("log flood", json!({"op": "log", "lines": 100_000}), 200, &["\"logged\":true"]),
    ]
}

pub async fn attack(client: &reqwest::Client, url: &str, a: &Attack) -> Result<(), String> {
    let resp = client
        .post(format!("{url}/services/{}/call", a.service))
        .body(json!({ "data": a.request }).to_string())
        .send()
        .await
        .map_err(|e| format!("{}: no answer: {e}", a.name))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    mlops_tests::secrets::assert_none_in(a.name, &text);
    for (name, value) in UNDECLARED {
        assert!(!text.contains(value), "{}: the answer has {name}'s value: {text}", a.name);
    }
    if status != a.status || !a.says.iter().all(|w| text.contains(w)) {
        return Err(format!(
            "{}: want {} with {:?}, got {status}: {text}",
            a.name, a.status, a.says
        ));
    }
    Ok(())
}
