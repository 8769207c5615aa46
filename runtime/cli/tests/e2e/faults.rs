//! Faults: the store going away (at start and mid-run), a full disk during
//! an upload, and `serve` killed outright under load. Each is survived
//! without losing or half-writing anything.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mlops_tests::proxy::FlakyProxy;
use mlops_tests::{HostProcess, example_dir, host_command, repo_root};
use serde_json::Value;

use crate::Host;

fn request() -> Vec<u8> {
    std::fs::read(example_dir().join("fixtures/predict.request.json")).expect("fixture")
}

/// What the README promises once the store is back: a host is ready, and
/// serves what was deployed meanwhile, within one watch interval (0.2 s
/// here), the store client's back-off (at most 4 retries from 100 ms,
/// doubling: 1.5 s) and the time to load the component — which this host
/// compiles, as its cache is new: under the whole suite on two cores that
/// took over 3 s once (450 ms alone), hence 10 s.
const BACK_WITHIN: Duration = Duration::from_secs(10);

/// Polls `check` every 50 ms until it holds; panics after `limit`.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what}: not after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}

async fn model_id(host: &HostProcess) -> Option<String> {
    let (status, body) = host.post("/services/well_log-prediction-dev/call", request()).await;
    (status == 200).then(|| body["model_id"].as_str().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_goes_away_at_start_or_mid_run_is_ridden_out() {
    let Ok(bucket) = std::env::var("MLOPS_TEST_S3") else {
        mlops_tests::skip(
            "the store-outage test",
            "no S3 server: eval \"$(.ci/s3-server start)\" sets MLOPS_TEST_S3",
        );
        return;
    };
    let endpoint = std::env::var("AWS_ENDPOINT").expect("AWS_ENDPOINT with MLOPS_TEST_S3");
    let upstream = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let upstream = tokio::net::lookup_host(upstream).await.expect("resolve").next().expect("addr");
    let store = format!(
        "{}/{}",
        bucket.trim_end_matches('/'),
        mlops_tests::conformance::unique_prefix("outage")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let deploy = || {
        let out = host_command(crate::bin(), Path::new("unused"), &dir.path().join("ci"))
            .env("MLOPS_STORE", &store)
            .current_dir(repo_root())
            .args(["deploy", "--settings", "examples/well_log/mlops_settings.yaml"])
            .output()
            .expect("deploy");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    deploy();

    // The host starts while its store is unreachable: it listens, says it
    // is not ready, answers calls 503 (not 404), and recovers on its own.
    let proxy = FlakyProxy::start(upstream).await;
    proxy.set_up(false);
    let mut cmd = host_command(crate::bin(), Path::new("unused"), &dir.path().join("host"));
    cmd.env("MLOPS_STORE", &store).env("AWS_ENDPOINT", format!("http://{}", proxy.addr)).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--watch-interval",
        "0.2",
    ]);
    let host = HostProcess::start_listening(cmd);
    let (status, body) = host.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(host.get("/healthz").await.0, 200, "alive while not ready");
    let resp = mlops_tests::http()
        .post(format!("{}/services/well_log-prediction-dev/call", host.url))
        .body(request())
        .send()
        .await
        .expect("call");
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("retry-after"), "no Retry-After: {:?}", resp.headers());
    let body = resp.text().await.expect("body");
    mlops_tests::secrets::assert_none_in("the 503 before the first load", &body);
    assert!(body.contains("not loaded the services"), "{body}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.set_up(true);
    let took = eventually("ready after the store is back", BACK_WITHIN, || async {
        host.get("/readyz").await.0 == 200
    })
    .await;
    eprintln!("outage: ready {} ms after the store came back", took.as_millis());
    assert_eq!(model_id(&host).await.as_deref(), Some("well_log/dev/1"));

    // Mid-run: the store goes away; the host keeps serving what it loaded.
    proxy.set_up(false);
    for _ in 0..20 {
        assert_eq!(model_id(&host).await.as_deref(), Some("well_log/dev/1"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A deploy it cannot see yet (straight to the store, not through the
    // proxy) does not disturb it; once the store is back it switches.
    deploy();
    assert_eq!(model_id(&host).await.as_deref(), Some("well_log/dev/1"));
    proxy.set_up(true);
    let took = eventually("the new version after the store is back", BACK_WITHIN, || async {
        model_id(&host).await.as_deref() == Some("well_log/dev/2")
    })
    .await;
    eprintln!("outage: the new version served {} ms after the store came back", took.as_millis());
    assert_eq!(host.get("/readyz").await.0, 200);
}

/// A small tmpfs mounted at a folder, unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).expect("mkdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn a_full_disk_during_upload_leaves_no_partial_version() {
    let h = Host::new();
    let Some(_disk) = Tmpfs::mount(&h.store(), "2m") else {
        mlops_tests::skip("the full-disk test", "cannot mount a small tmpfs here (it needs root)");
        return;
    };
    let folder = h.dir.path().join("artifacts");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("small.json"), b"{\"a\": 1}").expect("write");
    let noise: Vec<u8> =
        (0..3u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(folder.join("weights.bin"), &noise).expect("write");
    let folder_arg = folder.to_str().expect("utf-8");

    let out = h.cmd().args(["models", "upload", "probe", folder_arg]).output().expect("upload");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");

    // Nothing claimed, nothing half-written: no version, and every blob in
    // the store is whole (its content hashes to its name).
    let versions = h.json(&["models", "list", "--model", "probe", "--format", "json"]);
    assert_eq!(versions, Value::Array(vec![]), "a version was claimed");
    for f in files_under(&h.store()) {
        let rel = f.strip_prefix(h.store()).expect("under the store").to_string_lossy().to_string();
        let digest = rel.strip_prefix("blobs/").unwrap_or_else(|| panic!("a stray file: {rel}"));
        let bytes = std::fs::read(&f).expect("read");
        assert_eq!(blake3::hash(&bytes).to_hex().as_str(), digest, "a partial blob: {rel}");
    }

    // With room again the same upload gets version 1: the failure took no number.
    std::fs::remove_file(folder.join("weights.bin")).expect("rm");
    let m = h.json(&["models", "upload", "probe", folder_arg, "--format", "json"]);
    assert_eq!(m["version"], 1, "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_under_load_restarts_with_the_same_services() {
    let h = Host::new();
    let out = host_command(crate::bin(), &h.store(), &h.dir.path().join("cache"))
        .current_dir(repo_root())
        .args(["deploy", "--settings", "examples/well_log/mlops_settings.yaml"])
        .output()
        .expect("deploy");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = h.json(&["services", "list", "--format", "json"]);

    let mut host = h.serve(&[]);
    let url = host.url.clone();
    let load: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let client = mlops_tests::http();
                let mut ok = 0u32;
                while let Ok(resp) = client
                    .post(format!("{url}/services/well_log-prediction-dev/call"))
                    .body(request())
                    .send()
                    .await
                {
                    if resp.status() == 200 {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    host.kill();
    let mut served = 0;
    for task in load {
        served += task.await.expect("client");
    }
    assert!(served > 10, "the load did not run ({served} calls)");

    // Same store, same cache: the same services, answered at once, the
    // component from the compile cache.
    let host = h.serve(&[]);
    assert_eq!(host.get("/readyz").await.0, 200);
    assert_eq!(model_id(&host).await.as_deref(), Some("well_log/dev/1"));
    assert_eq!(h.json(&["services", "list", "--format", "json"]), before);
    let metrics = reqwest::get(format!("{}/metrics", host.url)).await.expect("metrics");
    let text = metrics.text().await.expect("text");
    assert!(
        text.lines().any(|l| l.starts_with("mlops_component_loads_total{outcome=\"hit\"}")),
        "not loaded from the cache:\n{text}"
    );
    let check = h.run(&["models", "list", "--format", "json"]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}
