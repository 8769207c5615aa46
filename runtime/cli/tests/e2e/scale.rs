//! Scale-out: three `serve` processes on one S3-compatible store
//! (SeaweedFS), with the default watch interval. Deploys reach every host,
//! a dead host does not stop the others, a redeploy through one host
//! switches them all, and idle hosts barely touch the store.

use std::process::Command;
use std::time::{Duration, Instant};

use mlops_tests::{HostProcess, example_dir, host_command, repo_root};
use serde_json::Value;

pub(crate) const ALIAS: &str = "well_log-prediction-dev";
const ADMIN: &str = mlops_tests::secrets::ADMIN_TOKEN;

/// `s3://<bucket>/<a prefix of its own>` from `MLOPS_TEST_S3`, or `None`
/// (with a note) outside CI when no S3 server runs.
pub(crate) fn s3_location(test: &str) -> Option<String> {
    let Ok(url) = std::env::var("MLOPS_TEST_S3") else {
        mlops_tests::skip(test, "no S3 server: eval \"$(.ci/s3-server start)\" sets MLOPS_TEST_S3");
        return None;
    };
    Some(format!("{}/{}", url.trim_end_matches('/'), mlops_tests::conformance::unique_prefix(test)))
}

fn command(store: &str, cache: &std::path::Path) -> Command {
    let mut cmd = host_command(crate::bin(), std::path::Path::new("unused"), cache);
    cmd.env("MLOPS_STORE", store);
    cmd
}

/// A `serve` with the default watch interval (2 s) and resync (60 s).
fn start_host(store: &str, cache: &std::path::Path) -> HostProcess {
    let mut cmd = command(store, cache);
    cmd.env("MLOPS_ADMIN_TOKEN", ADMIN).args(["serve", "--listen", "127.0.0.1:0"]);
    HostProcess::start(cmd)
}

pub(crate) fn deploy(store: &str, cache: &std::path::Path) {
    let out = command(store, cache)
        .current_dir(repo_root())
        .args(["deploy", "--settings", "examples/well_log/mlops_settings.yaml"])
        .output()
        .expect("deploy");
    assert!(out.status.success(), "deploy failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn request() -> Vec<u8> {
    std::fs::read(example_dir().join("fixtures/predict.request.json")).expect("fixture")
}

/// The model id `host` serves the alias with, if it answers 200.
pub(crate) async fn served(host: &HostProcess) -> Option<String> {
    let (status, body) = host.post(&format!("/services/{ALIAS}/call"), request()).await;
    (status == 200).then(|| body["model_id"].as_str().unwrap_or_default().to_string())
}

/// What the README promises: a change is served by every host within one
/// watch interval (2 s) plus the time to load it (each host compiles the
/// component into its own cache; under a second for the example here).
pub(crate) const FOLLOW_WITHIN: Duration = Duration::from_secs(4);

/// Waits until every host serves `model_id`, at most [`FOLLOW_WITHIN`];
/// returns how long that took.
pub(crate) async fn until_all_serve(hosts: &[&HostProcess], model_id: &str) -> Duration {
    let start = Instant::now();
    loop {
        let mut all = true;
        for h in hosts {
            all &= served(h).await.as_deref() == Some(model_id);
        }
        if all {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < FOLLOW_WITHIN,
            "not every host serves {model_id} after {FOLLOW_WITHIN:?}: {:?}",
            futures::future::join_all(hosts.iter().map(|h| served(h))).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The store requests `host` has made so far, by kind.
async fn store_requests(host: &HostProcess) -> std::collections::BTreeMap<String, u64> {
    let text = reqwest::get(format!("{}/metrics", host.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter_map(|l| l.strip_prefix("mlops_store_requests_total{kind=\""))
        .filter_map(|rest| rest.split_once("\"} "))
        .map(|(kind, n)| (kind.to_string(), n.trim().parse().expect("a count")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_on_one_s3_store_follow_deploys_and_outlive_one_of_them() {
    let Some(store) = s3_location("scale") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = |name: &str| dir.path().join(name);

    // Three hosts on an empty store: each is ready (it has loaded all the
    // store holds, which is nothing yet).
    let a = start_host(&store, &cache("a"));
    let b = start_host(&store, &cache("b"));
    let mut c = Some(start_host(&store, &cache("c")));
    for h in [&a, &b, c.as_ref().expect("c")] {
        assert_eq!(h.get("/readyz").await.0, 200);
        let (status, body) = h.post(&format!("/services/{ALIAS}/call"), request()).await;
        assert_eq!(status, 404, "{body}");
    }

    // Deploy through the CLI (a CI job), call through all.
    deploy(&store, &cache("ci"));
    let hosts = [&a, &b, c.as_ref().expect("c")];
    let took = until_all_serve(&hosts, "well_log/dev/1").await;
    eprintln!("scale: deploy → served by all 3 hosts in {} ms", took.as_millis());
    for h in hosts {
        let (status, body) = h.get("/readyz").await;
        assert_eq!((status, &body["status"]), (200, &Value::from("ready")), "{body}");
    }

    // Idle: one HEAD of the change marker per watch interval, no listings.
    let window = Duration::from_secs(10);
    let before: Vec<_> = futures::future::join_all(hosts.iter().map(|h| store_requests(h))).await;
    tokio::time::sleep(window).await;
    let after: Vec<_> = futures::future::join_all(hosts.iter().map(|h| store_requests(h))).await;
    for (i, (b0, a0)) in before.iter().zip(&after).enumerate() {
        let delta = |k: &str| a0.get(k).copied().unwrap_or(0) - b0.get(k).copied().unwrap_or(0);
        let total: u64 =
            ["get", "head", "put", "list", "delete", "copy"].iter().map(|k| delta(k)).sum();
        let rate = total as f64 / window.as_secs_f64();
        eprintln!(
            "scale: idle host {i}: {total} store requests in {} s = {rate:.2}/s (head {}, list {}, get {})",
            window.as_secs(),
            delta("head"),
            delta("list"),
            delta("get")
        );
        // The README's 0.5 requests/s: one HEAD per 2 s interval, 5 in the
        // window (±1 for where the ticks fall), and nothing else (the first
        // resync is 60 s after start, past the end of this test).
        assert_eq!(total, delta("head"), "idle host {i} does more than HEAD: {a0:?} vs {b0:?}");
        assert!(
            (4..=6).contains(&delta("head")),
            "idle host {i} makes {rate:.2} store requests/s, not 0.5: {a0:?} vs {b0:?}"
        );
    }

    // Kill one host outright: the others keep serving.
    let mut dead = c.take().expect("c");
    let dead_url = dead.url.clone();
    dead.kill();
    assert!(reqwest::get(format!("{dead_url}/healthz")).await.is_err(), "host c still answers");
    for h in [&a, &b] {
        assert_eq!(served(h).await.as_deref(), Some("well_log/dev/1"));
    }

    // A new version reaches the survivors.
    deploy(&store, &cache("ci"));
    let took = until_all_serve(&[&a, &b], "well_log/dev/2").await;
    eprintln!("scale: deploy of v2 → served by the 2 live hosts in {} ms", took.as_millis());

    // A rollback through one host's admin API switches the other too.
    let resp = mlops_tests::http()
        .post(format!("{}/services/{ALIAS}/redeploy", a.url))
        .bearer_auth(ADMIN)
        .body(r#"{"version": 1}"#)
        .send()
        .await
        .expect("redeploy");
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap_or_default());
    let took = until_all_serve(&[&a, &b], "well_log/dev/1").await;
    eprintln!("scale: redeploy through host a → served by both in {} ms", took.as_millis());

    // The killed host comes back and serves what the store says now.
    let c = start_host(&store, &cache("c"));
    assert_eq!(c.get("/readyz").await.0, 200);
    assert_eq!(served(&c).await.as_deref(), Some("well_log/dev/1"));
    let (status, pinned) = c.post("/services/well_log-prediction-dev-2/call", request()).await;
    assert_eq!((status, &pinned["model_id"]), (200, &Value::from("well_log/dev/2")));
    // It compiled the component once into its own cache and reuses it.
    let compiled = std::fs::read_dir(cache("c").join("compiled")).expect("cache").count();
    assert!(compiled >= 1, "host c has no compile cache");
}
