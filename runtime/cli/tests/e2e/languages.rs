//! Models in every language the contract is written in: Rust, Python,
//! JavaScript, C, and an ONNX graph through the runner — all built from
//! source, deployed and served by the binary, giving the same predictions;
//! model errors and exceptions in Python and JavaScript; and the `init`
//! templates, each built and tested as a user would.
//!
//! Needs the guest toolchains (`.ci/toolchains` installs them): clang-19
//! with wasi-libc, node and npm, python3 with venv. Without them the tests
//! say so and skip; in CI (`CI` set) they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use mlops_tests::{HostProcess, repo_root};
use serde_json::{Value, json};

use crate::Host;

/// Whether the toolchains are here; in CI they must be.
fn toolchains(test: &str) -> bool {
    let has = |cmd: &str, arg: &str| {
        Command::new(cmd).arg(arg).output().is_ok_and(|o| o.status.success())
    };
    let missing: Vec<&str> = [
        ("clang-19", "--version"),
        ("node", "--version"),
        ("npm", "--version"),
        ("python3", "--version"),
    ]
    .into_iter()
    .filter(|(cmd, arg)| !has(cmd, arg))
    .map(|(cmd, _)| cmd)
    .chain((!Path::new("/usr/lib/wasm32-wasi/libc.a").is_file()).then_some("wasi-libc"))
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: missing in CI: {missing:?} (.ci/toolchains installs them)"
    );
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "note: {test} skipped: missing {missing:?} (run .ci/toolchains)"
    );
    false
}

/// Runs a build script (with this binary as MLOPS_HOST) and returns the
/// component path it prints.
fn build(script: &Path) -> PathBuf {
    let out = Command::new(script).env("MLOPS_HOST", crate::bin()).output().expect("run build.sh");
    assert!(
        out.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let path = PathBuf::from(
        String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap_or_default(),
    );
    assert!(path.is_file(), "{} printed {}", script.display(), path.display());
    path
}

/// A well-log request of `rows` rows across the model's domain (a
/// deterministic generator), with some densities missing.
fn well_log_request(rows: usize) -> Value {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut acs, mut rdep, mut den) = (Vec::new(), Vec::new(), Vec::new());
    for row in 0..rows {
        acs.push(150.0 + 100.0 * next());
        rdep.push(0.2 * 1000f64.powf(next()));
        let d = 1.9 + 0.9 * next();
        den.push(if row % 97 == 13 { Value::Null } else { json!(d) });
    }
    json!({ "data": { "ACS": acs, "RDEP": rdep, "DEN": den } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_python_js_c_and_onnx_give_the_same_ac() {
    if !toolchains("cross-language test") {
        return;
    }
    let examples = repo_root().join("examples");
    let h = Host::new();
    let langs = ["well_log", "well_log_py", "well_log_js", "well_log_c", "well_log_onnx"];
    for model in langs {
        let settings = examples.join(model).join("mlops_settings.yaml");
        let out = h
            .cmd()
            .args(["deploy", "-f"])
            .arg(&settings)
            .env("MLOPS_HOST", crate::bin())
            .output()
            .expect("deploy");
        assert!(out.status.success(), "{model}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mut host = h.serve(&[]);
    let request = well_log_request(1000).to_string();
    let mut ac = Vec::new();
    for model in langs {
        let (status, resp) =
            host.post(&format!("/services/{model}-prediction-dev/call"), request.clone()).await;
        assert_eq!(status, 200, "{model}: {resp}");
        let values: Vec<Option<f64>> =
            resp["prediction"]["AC"].as_array().expect("AC").iter().map(Value::as_f64).collect();
        assert_eq!(values.len(), 1000, "{model}");
        ac.push((model, values));
    }
    // deploy compiled each component (seconds for Python and JavaScript);
    // serve loaded them all from the compile cache.
    let log = host.drain_log().join("\n");
    assert!(!log.contains("component compiled"), "serve recompiled:\n{log}");
    assert_eq!(
        log.matches("component loaded from the compile cache").count(),
        langs.len(),
        "{log}"
    );
    let (_, rust) = &ac[0];
    assert_eq!(
        rust.iter().filter(|v| v.is_none()).count(),
        11,
        "rows with a missing DEN are missing"
    );
    for (model, values) in &ac[1..] {
        // Python, JavaScript and C run the same arithmetic in the same
        // order on the same libm: equal, or within 1e-12. The ONNX graph
        // (scikit-learn's fit, float64) within float32's precision.
        let tolerance = if *model == "well_log_onnx" { 1e-6 } else { 1e-12 };
        let mut worst: f64 = 0.0;
        for (row, (a, b)) in rust.iter().zip(values).enumerate() {
            match (a, b) {
                (Some(a), Some(b)) => {
                    let rel = (a - b).abs() / a.abs().max(b.abs());
                    worst = worst.max(rel);
                    assert!(
                        rel <= tolerance,
                        "{model} row {row}: {b} vs Rust {a} (relative {rel:e})"
                    );
                }
                (None, None) => {}
                _ => panic!("{model} row {row}: {b:?} vs Rust {a:?}"),
            }
        }
        use std::io::Write as _;
        let _ =
            writeln!(std::io::stderr(), "{model}: largest relative difference from Rust {worst:e}");
    }
}

fn probe_settings(h: &Host, name: &str, component: &Path) -> PathBuf {
    let dir = h.dir.path().join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("mlops_settings.yaml");
    std::fs::write(
        &path,
        format!(
            "model_name: {name}\nmodel_file: {}\nlimits:\n  memory_mb: 256\n  timeout_ms: 2000\n  init_timeout_ms: 60000\n",
            component.display()
        ),
    )
    .expect("write");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_js_model_errors_and_exceptions_are_reported_and_the_host_survives() {
    if !toolchains("error test") {
        return;
    }
    let guests = repo_root().join("tests/guests");
    let h = Host::new();
    let probes = [
        ("probe_py", build(&guests.join("probe_py/build.sh")), "RuntimeError"),
        ("probe_js", build(&guests.join("probe_js/build.sh")), "TypeError"),
    ];
    for (name, component, _) in &probes {
        h.ok(&["deploy", "-f", probe_settings(&h, name, component).to_str().expect("utf-8")]);
    }
    let mut host: HostProcess = h.serve(&[]);
    for (name, _, exception) in &probes {
        let call = format!("/services/{name}-prediction-dev/call");
        let ask = |op: Value| {
            let (host, call) = (&host, call.clone());
            async move { host.post(&call, json!({ "data": op }).to_string()).await }
        };
        let (status, body) = ask(json!({"op": "ok"})).await;
        assert_eq!((status, &body["prediction"]), (200, &json!({"ok": true})), "{name}: {body}");

        let (status, body) =
            ask(json!({"op": "model_error", "message": "RDEP must be positive"})).await;
        assert_eq!(status, 422, "{name}: {body}");
        assert_eq!(body["status"], "error");
        assert_eq!(body["message"], "model error (bad-input): RDEP must be positive", "{name}");

        let (status, body) = ask(json!({"op": "internal", "message": "state is broken"})).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (500, Some("model error (internal): state is broken")),
            "{name}"
        );

        // Any other exception: an internal error naming it.
        let (status, body) = ask(json!({"op": "raise", "message": "boom"})).await;
        assert_eq!(status, 500, "{name}: {body}");
        assert_eq!(body["message"], format!("model error (internal): {exception}: boom"), "{name}");

        // A runaway model is stopped by its deadline (a trap), not waited on.
        let (status, body) = ask(json!({"op": "loop"})).await;
        assert_eq!(status, 504, "{name}: {body}");
        assert!(
            body["message"].as_str().expect("message").contains("ran past its deadline of 2000 ms"),
            "{body}"
        );

        let (status, _) = ask(json!({"op": "ok"})).await;
        assert_eq!(status, 200, "{name}: the host and the model go on");
    }
    let log = host.drain_log().join("\n");
    assert!(log.contains("RuntimeError: boom"), "the Python traceback is logged:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_init_template_builds_and_passes_its_fixtures() {
    if !toolchains("init templates test") {
        return;
    }
    let root = repo_root();
    let work = tempfile::tempdir().expect("tempdir");
    for lang in ["rust", "python", "js", "c", "onnx"] {
        let name = format!("my_{lang}");
        let dir = work.path().join(&name);
        let out = Command::new(crate::bin())
            .args(["init", "--lang", lang])
            .arg(&dir)
            .output()
            .expect("init");
        assert!(out.status.success(), "{lang}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(dir.join("mlops_settings.yaml").is_file(), "{lang}");
        // A model in code gets the contract; an ONNX graph needs no code.
        assert_eq!(dir.join("wit/mlops.wit").is_file(), lang != "onnx", "{lang}");
        if lang == "onnx" {
            assert!(!dir.join("build.sh").exists(), "the ONNX template needs no build");
            let settings = std::fs::read_to_string(dir.join("mlops_settings.yaml")).expect("read");
            assert!(settings.contains("\nruntime: onnx\n"), "{settings}");
        }
        let mut test = Command::new(crate::bin());
        test.current_dir(&dir)
            .arg("test")
            .env("MLOPS_STORE", work.path().join("store"))
            .env("MLOPS_CACHE_DIR", work.path().join("cache"))
            // Reuse what the repository's builds already have: the
            // componentize-py install and the SDK's dependencies.
            .env("COMPONENTIZE_PY", root.join("target/py-build-venv/bin/componentize-py"))
            .env("CARGO_TARGET_DIR", root.join("target/guests"));
        if !root.join("target/py-build-venv/bin/componentize-py").is_file() {
            test.env_remove("COMPONENTIZE_PY");
        }
        let out = test.output().expect("mlops-host test");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{lang}: mlops-host test failed:\n{err}");
        assert!(err.contains("fixture(s) passed"), "{lang}: {err}");
    }

    // A folder that holds the files init writes, or a name that is not one,
    // is refused.
    let out = Command::new(crate::bin())
        .args(["init", "--lang", "c"])
        .arg(work.path().join("my_c"))
        .output()
        .expect("init");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already has") && err.contains("--force"), "{err}");
    let out = Command::new(crate::bin())
        .args(["init", "--lang", "c"])
        .arg(work.path().join("My-Model"))
        .output()
        .expect("init");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pass --name"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
