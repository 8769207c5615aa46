//! The engine with real components: sandbox, limits, instance pool, compile
//! cache.

use std::time::{Duration, Instant};

use mlops_engine::{CacheOutcome, CallError, ErrorKind, Payload};
use mlops_tests::{deploy, engine, load, probe_wasm, tight_limits, try_deploy, well_log_wasm};
use serde_json::{Value, json};

fn ask(v: Value) -> Payload {
    Payload::Json(v.to_string())
}

fn answer(p: Payload) -> Value {
    match p {
        Payload::Json(text) => serde_json::from_str(&text).expect("JSON"),
        Payload::Frame(_) => panic!("the probe answers with documents"),
    }
}

fn well_log_request() -> Payload {
    let body = std::fs::read(mlops_tests::example_dir().join("fixtures/predict.request.json"))
        .expect("fixture");
    let req = mlops_core::codec::parse_request(&body).expect("request");
    let inputs = mlops_engine::Schema::Any;
    mlops_core::codec::decode_data(req.data.expect("data"), &inputs).expect("decode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialization_runs_once_per_instance_not_per_call() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let limits = mlops_manifest::Limits { max_instances: 1, ..tight_limits() };
    let d = deploy(&engine, &probe, "probe", limits, None).await;
    for call in 1..=5u64 {
        let out = answer(d.predict(ask(json!({"op": "count"}))).await.expect("count"));
        assert_eq!(out["inits"], 1, "initialization ran again on call {call}");
        assert_eq!(out["calls"], call);
    }
    let stats = d.stats();
    assert_eq!((stats.instances, stats.calls, stats.traps), (1, 5, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_share_a_bounded_pool_of_instances_each_initialised_once() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let d = deploy(&engine, &probe, "probe", tight_limits(), None).await;
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let d = d.clone();
            tokio::spawn(async move { d.predict(ask(json!({"op": "sleep_ms", "ms": 20}))).await })
        })
        .collect();
    for c in calls {
        c.await.expect("task").expect("call");
    }
    for _ in 0..4 {
        let out = answer(d.predict(ask(json!({"op": "count"}))).await.expect("count"));
        assert_eq!(out["inits"], 1);
    }
    let stats = d.stats();
    assert!(
        stats.instances >= 1 && stats.instances <= 2,
        "max_instances is 2, made {}",
        stats.instances
    );
    assert_eq!(stats.calls, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_error_keeps_its_kind_and_message_and_the_instance() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let d = deploy(&engine, &probe, "probe", tight_limits(), None).await;
    let err = d
        .predict(ask(json!({"op": "error", "message": "RDEP must be > 0 at row 3"})))
        .await
        .expect_err("the model refuses");
    assert_eq!(
        err,
        CallError::Model { kind: ErrorKind::BadInput, message: "RDEP must be > 0 at row 3".into() }
    );
    assert!(err.is_caller_error());
    let out = answer(d.predict(ask(json!({"op": "count"}))).await.expect("count"));
    assert_eq!((out["inits"].as_u64(), out["calls"].as_u64()), (Some(1), Some(2)), "same instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_that_loops_forever_is_stopped_at_its_deadline_and_other_models_go_on() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let well_log = load(&engine, well_log_wasm());
    let looping = deploy(&engine, &probe, "looping", tight_limits(), None).await;
    let artifacts = mlops_tests::example_dir().join("artifacts");
    let healthy = deploy(&engine, &well_log, "well_log", tight_limits(), Some(&artifacts)).await;

    let started = Instant::now();
    let err = looping.predict(ask(json!({"op": "loop"}))).await.expect_err("stopped");
    let took = started.elapsed();
    assert_eq!(err, CallError::Timeout { limit: Duration::from_millis(300) });
    assert!(err.to_string().contains("deadline of 300 ms"), "{err}");
    assert!(took >= Duration::from_millis(300), "stopped before its deadline: {took:?}");
    // The README's claim: stopped within 100 ms past the deadline (the
    // engine checks every 1 ms; 301 ms measured here).
    assert!(took < Duration::from_millis(400), "not stopped in time: {took:?}");
    println!("a looping call was stopped after {took:?} (deadline 300 ms)");

    healthy.predict(well_log_request()).await.expect("another model still answers");
    let out = answer(looping.predict(ask(json!({"op": "count"}))).await.expect("a fresh instance"));
    assert_eq!(out["inits"], 1);
    assert_eq!(looping.stats().traps, 1);
}

/// A prediction moves to the heavy pool only once it has run for
/// `MOVE_AFTER` (2 ms): quick calls stay on their worker, a long one moves
/// and still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_call_that_runs_past_move_after_moves_to_the_heavy_pool() {
    assert_eq!(mlops_engine::MOVE_AFTER, Duration::from_millis(2));
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let d = deploy(&engine, &probe, "probe", tight_limits(), None).await;
    for _ in 0..10 {
        d.predict(ask(json!({"op": "count"}))).await.expect("count");
    }
    // Quick calls stay (one could be preempted past 2 ms on a busy machine).
    assert!(d.stats().moved <= 1, "quick calls were moved: {:?}", d.stats());
    let before = d.stats().moved;
    let out = answer(d.predict(ask(json!({"op": "sleep_ms", "ms": 40}))).await.expect("long"));
    assert_eq!(out["slept"], true);
    assert_eq!(d.stats().moved, before + 1, "the 40 ms call was not moved: {:?}", d.stats());
    assert_eq!(d.stats().traps, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_that_allocates_without_bound_is_stopped_at_its_cap_and_other_models_go_on() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let well_log = load(&engine, well_log_wasm());
    // The deadline is raised from tight_limits' 300 ms, as in the output-cap
    // test below: writing 32 MiB beside the other tests' compiles could be
    // starved past 300 ms and end in a timeout instead of the cap.
    let limits = mlops_manifest::Limits { timeout: Duration::from_secs(30), ..tight_limits() };
    let hog = deploy(&engine, &probe, "hog", limits, None).await;
    let artifacts = mlops_tests::example_dir().join("artifacts");
    let healthy = deploy(&engine, &well_log, "well_log", tight_limits(), Some(&artifacts)).await;

    let err = hog.predict(ask(json!({"op": "alloc"}))).await.expect_err("stopped");
    assert_eq!(err, CallError::MemoryLimit { limit_bytes: 32 << 20 });
    assert!(err.to_string().contains("memory limit of 32 MiB"), "{err}");
    healthy.predict(well_log_request()).await.expect("another model still answers");
    let out = answer(hog.predict(ask(json!({"op": "count"}))).await.expect("a fresh instance"));
    assert_eq!(out["inits"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_and_stack_overflows_fail_the_call_with_what_happened() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let d = deploy(&engine, &probe, "probe", tight_limits(), None).await;
    match d.predict(ask(json!({"op": "panic", "message": "boom at row 7"}))).await {
        Err(CallError::Trap { message, output }) => {
            assert!(message.contains("unreachable"), "{message}");
            assert!(output.contains("boom at row 7"), "the panic message is kept: {output}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    match d.predict(ask(json!({"op": "recurse"}))).await {
        Err(CallError::Trap { message, .. }) => {
            assert!(message.contains("stack overflow"), "{message}")
        }
        other => panic!("expected a stack overflow, got {other:?}"),
    }
    d.predict(ask(json!({"op": "count"}))).await.expect("still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_looping_initialization_fails_the_deploy_clearly() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    for (mode, want) in [
        ("loop", "ran past its deadline of 2000 ms"),
        ("fail", "init.txt says fail"),
        ("alloc", "memory limit of 32 MiB"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("init.txt"), mode).expect("write");
        let err =
            try_deploy(&engine, &probe, "probe", tight_limits(), Some(dir.path()), Vec::new())
                .await
                .map(|_| ())
                .expect_err("initialization fails");
        let text = format!("{err}");
        assert!(text.contains("initialization failed") && text.contains(want), "{mode}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_reach_host_files_outside_its_read_only_artifact_folder() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let artifacts = tempfile::tempdir().expect("tempdir");
    std::fs::write(artifacts.path().join("init.txt"), "ok").expect("write");
    std::fs::write(artifacts.path().join("data.txt"), "visible").expect("write");
    let host = tempfile::tempdir().expect("tempdir");
    let secret = host.path().join("host-secret.txt");
    std::fs::write(&secret, "do not read").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&secret, artifacts.path().join("link.txt")).expect("symlink");
    let d = deploy(&engine, &probe, "probe", tight_limits(), Some(artifacts.path())).await;
    let read = |path: String| {
        let d = d.clone();
        async move {
            answer(d.predict(ask(json!({"op": "read", "path": path}))).await.expect("read op"))
        }
    };

    // Control: the artifact folder itself is readable.
    let ok = read("/artifacts/data.txt".into()).await;
    assert_eq!((ok["ok"].as_bool(), ok["content"].as_str()), (Some(true), Some("visible")));

    for path in [
        secret.display().to_string(),
        format!("/artifacts/../../../..{}", secret.display()),
        "/etc/passwd".to_string(),
        "/artifacts/link.txt".to_string(),
        "../host-secret.txt".to_string(),
    ] {
        let out = read(path.clone()).await;
        assert_eq!(out["ok"], false, "{path} was readable: {out}");
        assert!(out.get("content").is_none(), "{path}: {out}");
    }

    let write = answer(
        d.predict(ask(json!({"op": "write", "path": "/artifacts/new.txt"})))
            .await
            .expect("write op"),
    );
    assert_eq!(write["ok"], false, "the artifact folder is read-only: {write}");
    assert!(!artifacts.path().join("new.txt").exists());

    let env = answer(d.predict(ask(json!({"op": "env"}))).await.expect("env op"));
    assert_eq!(env["vars"], 0, "no environment variables reach the guest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_gets_its_declared_secrets_and_no_others() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let secret = mlops_tests::secrets::MODEL_SECRET;
    let secrets = vec![("API_KEY".to_string(), secret.to_string())];
    let d =
        try_deploy(&engine, &probe, "probe", tight_limits(), None, secrets).await.expect("deploy");
    let got =
        answer(d.predict(ask(json!({"op": "secret", "name": "API_KEY"}))).await.expect("secret"));
    assert_eq!(
        (got["present"].as_bool(), got["len"].as_u64()),
        (Some(true), Some(secret.len() as u64))
    );
    let other = answer(
        d.predict(ask(json!({"op": "secret", "name": "CDF_CLIENT_SECRET"}))).await.expect("secret"),
    );
    assert_eq!(other["present"], false);

    // A model that tries to leak its secret through an error or a panic
    // gets it masked in what the host reports.
    for how in ["error", "panic"] {
        let err = d
            .predict(ask(json!({"op": "leak", "name": "API_KEY", "how": how})))
            .await
            .expect_err("the probe fails");
        let text = err.to_string();
        assert!(!text.contains(secret), "{how}: the secret is in {text}");
        assert!(text.contains("[redacted]"), "{how}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_engine_loads_the_component_from_the_compile_cache() {
    let cache = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(well_log_wasm()).expect("read");
    let first = engine(Some(cache.path())).load(&bytes).expect("compile");
    assert_eq!(first.outcome, CacheOutcome::Compiled);

    {
        let second_engine = engine(Some(cache.path()));
        let second = second_engine.load(&bytes).expect("load");
        assert_eq!(second.outcome, CacheOutcome::Loaded, "the second engine compiled again");
        assert_eq!(second.digest, first.digest);
        let by_digest = second_engine.load_cached(&first.digest).expect("found by digest alone");
        assert_eq!(by_digest.outcome, CacheOutcome::Loaded);
        let artifacts = mlops_tests::example_dir().join("artifacts");
        let d =
            deploy(&second_engine, &by_digest, "well_log", tight_limits(), Some(&artifacts)).await;
        d.predict(well_log_request()).await.expect("a cached component runs");
    }

    // A damaged cache entry (damaged while no host maps it: the cache only
    // ever replaces entries by rename) is compiled again, not trusted.
    drop(first);
    for entry in std::fs::read_dir(cache.path()).expect("list") {
        std::fs::write(entry.expect("entry").path(), b"garbage").expect("damage");
    }
    assert_eq!(
        engine(Some(cache.path())).load(&bytes).expect("recompile").outcome,
        CacheOutcome::Compiled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_describes_its_inputs() {
    let engine = engine(None);
    let well_log = load(&engine, well_log_wasm());
    let artifacts = mlops_tests::example_dir().join("artifacts");
    let d = deploy(&engine, &well_log, "well_log", tight_limits(), Some(&artifacts)).await;
    let signature = d.signature().expect("described");
    match &signature.inputs {
        mlops_engine::Schema::Frame(fields) => {
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(names, ["ACS", "RDEP", "DEN"]);
        }
        other => panic!("expected columns, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_writes_artifacts_into_its_writable_output_folder_only() {
    let engine = engine(None);
    let well_log = load(&engine, well_log_wasm());
    let artifacts = mlops_tests::example_dir().join("artifacts");
    let limits = mlops_manifest::Limits { timeout: Duration::from_secs(10), ..tight_limits() };
    let d = deploy(&engine, &well_log, "well_log", limits, Some(&artifacts)).await;
    let body = std::fs::read(mlops_tests::example_dir().join("fixtures/training/fit.request.json"))
        .expect("fixture");
    let req = mlops_core::codec::parse_request(&body).expect("request");
    let data = mlops_core::codec::decode_data(req.data.expect("data"), &mlops_engine::Schema::Any)
        .expect("decode");
    let out = tempfile::tempdir().expect("tempdir");
    let metadata = d.train(data, out.path()).await.expect("train");
    assert_eq!(metadata[0], ("rows".to_string(), "400".to_string()));
    let written =
        std::fs::read_to_string(out.path().join("model.json")).expect("train wrote model.json");
    let params = well_log::load_params(&written).expect("a valid artifact");
    assert_eq!(params.training.rows, 400);
    assert!(params.training.r2 > 0.9, "{}", params.training.r2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_training_run_that_writes_past_its_output_cap_is_stopped() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    // tight_limits: 8 MiB of output, 32 MiB of memory. The deadline is
    // raised from its 300 ms: training runs at low priority (nice 10), and
    // beside the other tests' compiles and loops it could be starved past
    // 300 ms before writing 8 MiB, ending in a timeout instead of the cap
    // this test is about.
    let limits = mlops_manifest::Limits { timeout: Duration::from_secs(30), ..tight_limits() };
    let d = deploy(&engine, &probe, "probe", limits, None).await;
    let out = tempfile::tempdir().expect("tempdir");
    let ok = d.train(ask(json!({"write_mb": 2})), out.path()).await.expect("within the cap");
    assert_eq!(ok, [("written_mb".to_string(), "2".to_string())]);

    let big = tempfile::tempdir().expect("tempdir");
    let err = d.train(ask(json!({"write_mb": 4096})), big.path()).await.expect_err("stopped");
    assert_eq!(err, CallError::OutputLimit { limit_bytes: 8 << 20 });
    assert!(err.to_string().contains("output limit of 8 MiB"), "{err}");
    let written = mlops_tests::folder_size(big.path());
    assert!(written < 512 << 20, "stopped long before 4 GiB: {written} bytes");
    println!("a runaway training run was stopped after writing {} MiB (cap 8 MiB)", written >> 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_goes_away_mid_call_does_not_cost_the_warm_instance() {
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let limits = mlops_manifest::Limits {
        max_instances: 1,
        timeout: Duration::from_secs(5),
        ..tight_limits()
    };
    let d = deploy(&engine, &probe, "probe", limits, None).await;
    // The caller gives up after 50 ms of a 400 ms call.
    let abandoned = tokio::time::timeout(
        Duration::from_millis(50),
        d.predict(ask(json!({"op": "sleep_ms", "ms": 400}))),
    );
    assert!(abandoned.await.is_err(), "the call was still running");
    // The call finishes on its own and its instance returns to the pool.
    let started = Instant::now();
    while d.stats().calls < 1 {
        assert!(started.elapsed() < Duration::from_secs(5), "the abandoned call never finished");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let out = answer(d.predict(ask(json!({"op": "count"}))).await.expect("count"));
    assert_eq!(
        (out["inits"].as_u64(), out["calls"].as_u64()),
        (Some(1), Some(2)),
        "the same instance, not a new one"
    );
    assert_eq!(d.stats().instances, 1);
}

/// The probe's file and network attacks are plain functions: run natively
/// against a real file, folder and listener they succeed (so a failure in
/// the sandbox is the sandbox's doing, not a broken probe), and the same
/// code in the sandbox fails each with its own kind of error, and the
/// listener is never reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_works_natively_fails_in_the_sandbox_with_its_own_error() {
    use probe_guest::attacks;

    let outside = tempfile::tempdir().expect("tempdir");
    let file = outside.path().join("host.txt");
    std::fs::write(&file, "host data").expect("write");
    let file = file.to_str().expect("utf-8").to_string();
    let new_file = outside.path().join("new.txt").to_str().expect("utf-8").to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr").to_string();

    // Natively: every attack works.
    let read = attacks::read(&file);
    assert_eq!((read["ok"].as_bool(), read["content"].as_str()), (Some(true), Some("host data")));
    assert_eq!(attacks::write(&new_file)["ok"], true);
    std::fs::remove_file(&new_file).expect("the native write made the file");
    let net = attacks::net(&addr, "localhost");
    for part in ["tcp", "udp", "dns"] {
        assert_eq!(net[part]["ok"], true, "natively {part}: {net}");
    }
    assert!(listener.accept().is_ok(), "the native connection reached the listener");

    // In the sandbox: the same calls fail, each with its kind.
    let engine = engine(None);
    let probe = load(&engine, probe_wasm());
    let artifacts = tempfile::tempdir().expect("tempdir");
    std::fs::write(artifacts.path().join("init.txt"), "ok").expect("write");
    let d = deploy(&engine, &probe, "probe", tight_limits(), Some(artifacts.path())).await;
    let ask_probe = |v: Value| {
        let d = d.clone();
        async move { answer(d.predict(ask(v)).await.expect("the probe answers")) }
    };
    let sandboxed = [
        (json!({"op": "read", "path": file}), "NotFound"),
        (json!({"op": "write", "path": new_file}), "NotFound"),
        (json!({"op": "write", "path": "/artifacts/init.txt"}), "PermissionDenied"),
    ];
    for (request, kind) in sandboxed {
        let out = ask_probe(request.clone()).await;
        assert_eq!(
            (out["ok"].as_bool(), out["kind"].as_str()),
            (Some(false), Some(kind)),
            "{request}: {out}"
        );
    }
    assert!(!std::path::Path::new(&new_file).exists(), "the sandboxed write reached the host");
    assert_eq!(std::fs::read_to_string(artifacts.path().join("init.txt")).expect("read"), "ok");
    let net = ask_probe(json!({"op": "net", "addr": addr, "host": "localhost"})).await;
    // Sockets are refused by the host; a name lookup is refused too, which
    // Rust's WASI resolver reports as a non-recoverable lookup failure.
    let refused = [
        ("tcp", "PermissionDenied", "Permission denied"),
        ("udp", "PermissionDenied", "Permission denied"),
        ("dns", "Uncategorized", "Non-recoverable error"),
    ];
    for (part, kind, says) in refused {
        let got = &net[part];
        assert_eq!(
            (got["ok"].as_bool(), got["kind"].as_str()),
            (Some(false), Some(kind)),
            "{part}: {net}"
        );
        assert!(got["error"].as_str().is_some_and(|e| e.contains(says)), "{part}: {net}");
    }
    assert!(listener.accept().is_err(), "the guest's connection reached the listener");
}
