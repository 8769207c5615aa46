//! Hostile guests and hostile input against a real `serve`: each attack is
//! contained with its own specific error, nothing leaks, and the
//! well-behaved model served beside them keeps answering. (Its latency
//! during the attacks is measured alone, in tests/isolation.rs.)

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use mlops_tests::probe_wasm;
use serde_json::json;

use crate::Host;
use crate::hostile_shared::{attack, attacks, deploy, serve, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_guests_are_contained_each_with_its_own_error() {
    let h = Host::new();
    let s = settings(h.dir.path());
    let s = s.to_str().expect("utf-8");
    deploy(h.dir.path(), &["-f", s]);
    deploy(h.dir.path(), &["-f", s, "--model", "probe", "--service", "training"]);
    let mut host = serve(h.dir.path(), &[]);
    let url = host.url.clone();
    let client = mlops_tests::http();

    // A listener the guest is asked to connect to: it must never be reached.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    trap.set_nonblocking(true).expect("nonblocking");
    let trap_addr = trap.local_addr().expect("addr").to_string();

    // Each attack alone, with its own error.
    let attacks = attacks(&trap_addr);
    let readme =
        std::fs::read_to_string(mlops_tests::repo_root().join("README.md")).expect("README");
    assert!(
        readme.contains(&format!("{} attacks from a", attacks.len())),
        "the README's Hardening section does not say {} attacks",
        attacks.len()
    );
    for a in &attacks {
        attack(&client, &url, a).await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(trap.accept().is_err(), "the guest opened a connection");

    // Each attack again, back to back, three times over: the host stays up
    // and every answer is the same (the latency of a well-behaved model
    // meanwhile is measured on its own, in tests/isolation.rs).
    let rounds = 3;
    for _ in 0..rounds {
        for a in &attacks {
            attack(&client, &url, a).await.unwrap_or_else(|e| panic!("{e}"));
        }
    }

    // The log flood was cut at 1,000 lines per call, and said so.
    let log = host.drain_log().to_vec();
    let flood_calls = 1 + rounds;
    let lines = log.iter().filter(|l| l.contains("probe log line")).count();
    assert_eq!(lines, 1000 * flood_calls, "flood lines logged for {flood_calls} calls");
    let warnings =
        log.iter().filter(|l| l.contains("more than 1000 log lines in one call")).count();
    assert_eq!(warnings, flood_calls, "one warning per flooding call");
    // The leaks were masked in the log as in the answers.
    assert!(
        log.iter().any(|l| l.contains("the secret is [redacted]")),
        "the leak was not logged masked"
    );

    // Training that dies half-way, or writes past its cap, leaves no version.
    let versions = |h: &Host| h.json(&["models", "list", "--model", "probe", "--format", "json"]);
    let before = versions(&h);
    for (req, says) in [
        (json!({"write_mb": 2, "panic": true}), "probe died after writing 2 MiB"),
        (json!({"write_mb": 8}), "output limit of 4 MiB"),
    ] {
        let (status, body) = host
            .post("/services/probe-training-dev/call", json!({ "data": req }).to_string())
            .await;
        assert_eq!(status, 500, "{body}");
        assert!(body["message"].as_str().unwrap_or("").contains(says), "{body}");
    }
    assert_eq!(versions(&h), before, "a failed training run left a version");
    let (status, ok) = host
        .post("/services/probe-training-dev/call", json!({"data": {"write_mb": 1}}).to_string())
        .await;
    assert_eq!(status, 200, "a good run after the bad ones: {ok}");

    // Still healthy, still ready, and the good model answers as before.
    assert_eq!(host.get("/readyz").await.0, 200);
    let request = std::fs::read(mlops_tests::example_dir().join("fixtures/predict.request.json"))
        .expect("fixture");
    let (status, body) = host.post("/services/well_log-prediction-dev/call", request).await;
    assert_eq!((status, &body["model_id"]), (200, &json!("well_log/dev/1")), "{body}");
}

#[test]
fn a_looping_initialization_or_a_symlink_out_fails_the_deploy_clearly() {
    let h = Host::new();
    let dir = h.dir.path();
    let artifacts = dir.join("loop_artifacts");
    std::fs::create_dir_all(&artifacts).expect("mkdir");
    std::fs::write(artifacts.join("init.txt"), "loop").expect("write");
    let s = dir.join("loop.yaml");
    std::fs::write(
        &s,
        format!(
            "model_name: probe\nmodel_file: {}\nartifact_folder: loop_artifacts\n\
             limits:\n  init_timeout_ms: 500\n",
            probe_wasm().display()
        ),
    )
    .expect("write");
    let start = Instant::now();
    let out = h.run(&["deploy", "-f", s.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("initialization") && err.contains("deadline of 500 ms"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(30));

    // An artifact folder with a link to a host file is refused at upload.
    let linked = dir.join("linked");
    std::fs::create_dir_all(&linked).expect("mkdir");
    std::fs::write(linked.join("init.txt"), "ok").expect("write");
    std::os::unix::fs::symlink("/etc/passwd", linked.join("passwd")).expect("symlink");
    let s = dir.join("linked.yaml");
    std::fs::write(
        &s,
        format!(
            "model_name: probe\nmodel_file: {}\nartifact_folder: linked\n",
            probe_wasm().display()
        ),
    )
    .expect("write");
    let out = h.run(&["deploy", "-f", s.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("passwd") && err.contains("symbolic link"), "{err}");
}

/// Sends `head` (and maybe part of a body), then waits for the server's
/// answer or for it to close; returns what it sent back and how long it took.
fn slow_client(addr: &str, head: &str, body: &[u8]) -> (String, Duration) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let start = Instant::now();
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(body).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (String::from_utf8_lossy(&answer).into_owned(), start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_a_4xx_that_names_the_limit() {
    let h = Host::new();
    let s = settings(h.dir.path());
    deploy(h.dir.path(), &["-f", s.to_str().expect("utf-8")]);
    let host = serve(h.dir.path(), &["--header-timeout", "1", "--body-timeout", "1"]);
    let call = "/services/well_log-prediction-dev/call";

    let column = |n: usize| format!("[{}]", vec!["1.0"; n].join(","));
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "body over max_request_mb",
            format!("{{\"data\": {{\"ACS\": {}}}}}", column(3_000_000)),
            413,
            "limits.max_request_mb",
        ),
        (
            "too many columns",
            format!(
                "{{\"data\": {{{}}}}}",
                (0..1100).map(|i| format!("\"c{i}\": [1]")).collect::<Vec<_>>().join(",")
            ),
            400,
            "more than 1024 columns",
        ),
        (
            "a long string",
            format!(
                "{{\"data\": {{\"ACS\": [1], \"RDEP\": [1], \"DEN\": [1], \"WELL\": [\"{}\"]}}}}",
                "w".repeat(2 << 20)
            ),
            400,
            "the limit is 1 MiB per value",
        ),
        (
            "a long column name",
            format!("{{\"data\": {{\"{}\": [1]}}}}", "n".repeat(300)),
            400,
            "column name of 300 bytes",
        ),
    ];
    for (what, body, status, says) in cases {
        let (got, answer) = host.post(call, body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert!(answer.to_string().contains(says), "{what}: {answer}");
    }
    // A document nested past the limit, to a model that reads documents.
    let deep = format!("{{\"data\": {}1{}}}", "[".repeat(200), "]".repeat(200));
    let (got, answer) = host.post("/services/probe-prediction-dev/call", deep).await;
    assert_eq!(got, 400, "{answer}");
    assert!(answer.to_string().contains("deeper than 128 levels"), "{answer}");

    // Rows past the limit, declared by an Open Inference Protocol shape.
    let (got, answer) = host
        .post(
            "/v2/models/well_log-prediction-dev/infer",
            r#"{"inputs": [{"name": "ACS", "shape": [20000000], "datatype": "FP64", "data": [1]}]}"#,
        )
        .await;
    assert_eq!(got, 400, "{answer}");
    assert!(answer.to_string().contains("more than 10000000"), "{answer}");

    // Slow clients are cut off: a head that never ends, a body that never comes.
    let addr = host.url.trim_start_matches("http://").to_string();
    // Each is cut at its 1 s timeout (hyper checks the head timer on its
    // own schedule: a margin of 1 s, not more).
    let (answer, took) = slow_client(&addr, "POST /services/x/call HTTP/1.1\r\nHost: x\r\n", b"");
    let cut = Duration::from_secs(1)..Duration::from_secs(2);
    assert!(cut.contains(&took), "a slow head held the connection {took:?}: {answer}");
    let (answer, took) = slow_client(
        &addr,
        &format!("POST {call} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"),
        b"{\"data\":",
    );
    assert!(cut.contains(&took), "a slow body held the connection {took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 1.0 s"), "{answer}");
    // And the host is fine.
    assert_eq!(host.get("/healthz").await.0, 200);
}
