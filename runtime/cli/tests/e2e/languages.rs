//! Models in every language the contract is written in: Rust, Python,
//! JavaScript, C, and an ONNX graph through the runner — all built from
//! source, deployed and served by the binary, giving the same predictions;
//! training in Rust, Python and JavaScript giving the same coefficients,
//! with the sandbox's guarantees in every language; model errors and
//! exceptions in Python and JavaScript; and the `init` templates, each built
//! and tested (predicting and training) as a user would.
//!
//! Needs the guest toolchains (`.ci/toolchains` installs them): clang-19
//! with wasi-libc, node and npm, python3 with venv. Without them the tests
//! say so and skip; in CI (`CI` set) they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use mlops_tests::{HostProcess, repo_root};
use serde_json::{Value, json};

use crate::Host;

/// The languages whose guests need tools beyond Rust, and those tools.
const TOOLS: &[(&str, &[&str])] = &[
    ("python", &["python3 -m venv"]),
    // numpy is compiled for the sandbox (sdk/python/numpy/build-numpy.sh).
    ("numpy", &["python3 -m venv", "clang-19", "wasm-ld-19", "llvm-ar-19", "libc++-19-dev-wasm32"]),
    ("js", &["node", "npm"]),
    ("c", &["clang-19", "wasi-libc"]),
];

/// Whether the tools `lang` needs are here (Rust and ONNX need none beyond
/// the build's own). When they are not, only that language's part of
/// `test` is skipped, saying so; in CI nothing is.
pub(crate) fn has_tools(lang: &str, test: &str) -> bool {
    let Some((_, tools)) = TOOLS.iter().find(|(l, _)| *l == lang) else { return true };
    let works = |cmd: &str, args: &[&str]| {
        Command::new(cmd).args(args).output().is_ok_and(|o| o.status.success())
    };
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| match *tool {
            "python3 -m venv" => !works("python3", &["-m", "venv", "--help"]),
            "wasi-libc" => !Path::new("/usr/lib/wasm32-wasi/libc.a").is_file(),
            "libc++-19-dev-wasm32" => {
                !Path::new("/usr/lib/llvm-19/include/wasm32-wasi/c++/v1").is_dir()
            }
            cmd => !works(cmd, &["--version"]),
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    mlops_tests::skip(
        &format!("{test}, its {lang} part"),
        &format!("missing {} (.ci/toolchains installs them)", missing.join(", ")),
    );
    false
}

/// The language of an example or template folder (`well_log_py` → python).
fn language(model: &str) -> &str {
    match model.rsplit('_').next() {
        Some("py" | "python") => "python",
        Some("numpy") => "numpy",
        Some("js") => "js",
        Some("c") => "c",
        _ => "rust or onnx",
    }
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
    let h = Host::new();
    let models =
        ["well_log", "well_log_py", "well_log_numpy", "well_log_js", "well_log_c", "well_log_onnx"];
    let langs: Vec<&str> = deploy_examples(&h, &models, "the cross-language test", &[])
        .into_iter()
        .map(|(model, _)| model)
        .collect();
    let mut host = h.serve(&[]);
    let request = well_log_request(1000).to_string();
    let mut ac = Vec::new();
    for model in &langs {
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
        // Python (with and without numpy), JavaScript and C run the same
        // arithmetic in the same order on the same libm: the same bits
        // (the README says "to the last bit"). The ONNX graph (scikit-learn's fit, float64, its own
        // order of operations) within 1e-10 relative, as the README says.
        let tolerance = if **model == "well_log_onnx" { 1e-10 } else { 0.0 };
        let mut worst: f64 = 0.0;
        for (row, (a, b)) in rust.iter().zip(values).enumerate() {
            match (a, b) {
                (Some(a), Some(b)) if tolerance == 0.0 => {
                    assert_eq!(a.to_bits(), b.to_bits(), "{model} row {row}: {b:e} vs Rust {a:e}");
                }
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

/// Deploys each of the examples `models` whose tools are here (`deploy -f
/// examples/<model>/mlops_settings.yaml`, then `extra`), asserting it
/// succeeded; returns them with what deploy printed on stderr.
fn deploy_examples(
    h: &Host,
    models: &[&'static str],
    test: &str,
    extra: &[&str],
) -> Vec<(&'static str, String)> {
    let examples = repo_root().join("examples");
    let mut deployed = Vec::new();
    for &model in models.iter().filter(|m| has_tools(language(m), test)) {
        let out = h
            .cmd()
            .args(["deploy", "-f"])
            .arg(examples.join(model).join("mlops_settings.yaml"))
            .args(extra)
            .env("MLOPS_HOST", crate::bin())
            .output()
            .expect("deploy");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{model}: {err}");
        deployed.push((model, err));
    }
    deployed
}

/// The coefficients and fit statistics of a `model.json` the training
/// service wrote as version `version` of `model`.
fn trained_params(h: &Host, model: &str, version: u64) -> Vec<f64> {
    let dir = h.dir.path().join(format!("download-{model}-{version}"));
    let dir_arg = dir.to_str().expect("utf-8");
    h.ok(&["models", "download", model, dir_arg, "--version", &version.to_string()]);
    let params: Value = serde_json::from_slice(
        &std::fs::read(dir.join("model.json")).expect("the version holds model.json"),
    )
    .expect("model.json is JSON");
    assert_eq!(params["format"], "well-log-linear/1", "{model}: {params}");
    assert_eq!(params["training"]["rows"], 400, "{model}: {params}");
    let mut values: Vec<f64> = params["coefficients"]
        .as_array()
        .expect("coefficients")
        .iter()
        .map(|c| c.as_f64().expect("a number"))
        .collect();
    assert_eq!(values.len(), 4, "{model}: {params}");
    values.push(params["training"]["rmse"].as_f64().expect("rmse"));
    values.push(params["training"]["r2"].as_f64().expect("r2"));
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_python_and_js_train_the_same_coefficients() {
    let examples = repo_root().join("examples");
    let h = Host::new();
    let deployed = deploy_examples(
        &h,
        &["well_log", "well_log_py", "well_log_js"],
        "the cross-language training test",
        &["--service", "training"],
    );
    let mut langs = Vec::new();
    for (model, err) in deployed {
        langs.push(model);
        // The training fixture (metadata rows, rmse and r2) ran in the
        // sandbox before the deploy.
        assert!(
            err.contains("running 1 training fixture(s)") && err.contains("1 fixture(s) passed"),
            "{model}: {err}"
        );
    }
    let host = h.serve(&[]);
    let body = std::fs::read(examples.join("well_log/fixtures/training/fit.request.json"))
        .expect("fixture");
    let mut trained = Vec::new();
    for model in &langs {
        let (status, resp) =
            host.post(&format!("/services/{model}-training-dev/call"), body.clone()).await;
        assert_eq!(status, 200, "{model}: {resp}");
        let version = resp["training"]["version"].as_u64().expect("version");
        assert_eq!(resp["training"]["model_id"], format!("{model}/dev/{version}"), "{resp}");
        assert_eq!(resp["training"]["files"][0]["path"], "model.json", "{model}: {resp}");
        let metadata = &resp["training"]["metadata"];
        for key in ["rows", "rmse", "r2"] {
            assert_eq!(metadata[key], trained_metadata(key), "{model}: {resp}");
        }
        trained.push((model, trained_params(&h, model, version)));
    }
    let (_, rust) = &trained[0];
    for (model, values) in &trained[1..] {
        // Python runs the Rust model's arithmetic in the same order on the
        // same libm log: the same bits. JavaScript's Math.log is the
        // engine's own (fdlibm's, off by an ulp from libm's for some
        // inputs), so its sums differ in the last bits: 1e-12 relative.
        let tolerance = if **model == "well_log_js" { 1e-12 } else { 0.0 };
        let mut worst: f64 = 0.0;
        for (i, (a, b)) in rust.iter().zip(values).enumerate() {
            let rel = (a - b).abs() / a.abs().max(b.abs());
            worst = worst.max(rel);
            if tolerance == 0.0 {
                assert_eq!(a.to_bits(), b.to_bits(), "{model} value {i}: {b:e} vs Rust {a:e}");
            } else {
                assert!(rel <= tolerance, "{model} value {i}: {b} vs Rust {a} (relative {rel:e})");
            }
        }
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "{model}: trained coefficients, largest relative difference from Rust {worst:e}"
        );
    }
}

/// The metadata every language's training returns for the fixture.
fn trained_metadata(key: &str) -> Value {
    let expected: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("examples/well_log/fixtures/training/fit.expected.json"))
            .expect("fixture"),
    )
    .expect("JSON");
    expected["training"]["metadata"][key].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_js_training_writes_only_its_folder_within_its_cap_and_failures_leave_no_version()
 {
    let h = Host::new();
    let probes = probes("the training guarantees test");
    if probes.is_empty() {
        return;
    }
    for (name, component, _) in &probes {
        let settings = probe_settings(&h, name, component);
        let text = std::fs::read_to_string(&settings).expect("read") + "  max_output_mb: 4\n";
        std::fs::write(&settings, text).expect("write");
        let settings = settings.to_str().expect("utf-8");
        h.ok(&["deploy", "-f", settings, "--service", "training"]);
    }
    let host = h.serve(&[]);
    for (name, _, exception) in &probes {
        let call = format!("/services/{name}-training-dev/call");
        let train = |data: Value| {
            let (host, call) = (&host, call.clone());
            async move { host.post(&call, json!({ "data": data }).to_string()).await }
        };
        let versions = || h.json(&["models", "list", "--model", name, "--format", "json"]);

        // Within the cap: a new version holding exactly what it wrote; its
        // attempts to write outside its folder were refused.
        let (status, resp) = train(json!({"write_mb": 1, "escape": true})).await;
        assert_eq!(status, 200, "{name}: {resp}");
        let metadata = &resp["training"]["metadata"];
        assert_eq!(metadata["written_mb"], "1", "{name}: {resp}");
        for attempt in ["root", "parent"] {
            let got = metadata[attempt].as_str().unwrap_or_default();
            assert!(got.starts_with("refused"), "{name}: writing {attempt} got {got}: {resp}");
        }
        assert_eq!(
            resp["training"]["files"],
            json!([{"path": "part-0.bin", "size": 1 << 20}]),
            "{name}"
        );
        let before = versions();

        // An exception after writing, and a run past the output cap: an
        // error that says why, and no version.
        let (status, resp) = train(json!({"write_mb": 2, "raise": true})).await;
        assert_eq!(status, 500, "{name}: {resp}");
        assert_eq!(
            resp["message"],
            format!(
                "training failed: model error (internal): {exception}: probe died after writing 2 MiB"
            ),
            "{name}"
        );
        let (status, resp) = train(json!({"write_mb": 8})).await;
        assert_eq!(status, 500, "{name}: {resp}");
        assert!(
            resp["message"].as_str().unwrap_or_default().contains("output limit of 4 MiB"),
            "{name}: {resp}"
        );
        assert_eq!(versions(), before, "{name}: a failed training run left a version");

        let (status, resp) = train(json!({"write_mb": 2})).await;
        assert_eq!(status, 200, "{name}: a good run after the bad ones: {resp}");
    }
    // Nothing escaped into the host's folders.
    let mut escaped = Vec::new();
    let mut stack = vec![h.dir.path().to_path_buf(), PathBuf::from("/")];
    while let Some(dir) = stack.pop() {
        let top = dir == Path::new("/");
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_name() == "escape.txt" {
                escaped.push(path);
            } else if !top && path.is_dir() {
                stack.push(path);
            }
        }
    }
    assert!(escaped.is_empty(), "files written outside the output folder: {escaped:?}");
}

/// The Python and JavaScript probes whose tools are here, built: (name,
/// component, the name of the plain exception each throws).
fn probes(test: &str) -> Vec<(&'static str, PathBuf, &'static str)> {
    let guests = repo_root().join("tests/guests");
    [("probe_py", "RuntimeError"), ("probe_js", "TypeError")]
        .into_iter()
        .filter(|(name, _)| has_tools(language(name), test))
        .map(|(name, exception)| (name, build(&guests.join(name).join("build.sh")), exception))
        .collect()
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
    let h = Host::new();
    let probes = probes("the model-error test");
    if probes.is_empty() {
        return;
    }
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
    if probes.iter().any(|(name, _, _)| *name == "probe_py") {
        assert!(log.contains("RuntimeError: boom"), "the Python traceback is logged:\n{log}");
    }
}

/// `test` (its output `test_err`) then `deploy` of the unchanged model in
/// `dir` build and compile once: deploy skips the build and loads the
/// component from the compile cache. Then a changed source (a comment
/// added) builds again. `test` is the command that ran `test`.
fn inner_loop_builds_once(
    dir: &Path,
    lang: &str,
    with: Option<&str>,
    test_err: &str,
    test: &mut Command,
) {
    let builds = |err: &str| err.matches(": building").count();
    let compiles = |err: &str| err.matches(") compiled in ").count();
    let mut deploy = Command::new(crate::bin());
    deploy.current_dir(dir).arg("deploy");
    for (key, value) in test.get_envs() {
        match value {
            Some(value) => deploy.env(key, value),
            None => deploy.env_remove(key),
        };
    }
    let out = deploy.output().expect("mlops-host deploy");
    let deploy_err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{lang}: deploy failed:\n{deploy_err}");
    assert!(deploy_err.contains(": deployed "), "{lang}: {deploy_err}");
    let built = usize::from(lang != "onnx");
    assert_eq!(builds(test_err), built, "{lang}: test:\n{test_err}");
    assert_eq!(builds(&deploy_err), 0, "{lang}: deploy built again:\n{deploy_err}");
    assert_eq!(
        deploy_err.contains("build skipped: its sources, settings and build_inputs are unchanged"),
        lang != "onnx",
        "{lang}: {deploy_err}"
    );
    assert_eq!(compiles(test_err), 1, "{lang}: test:\n{test_err}");
    assert_eq!(compiles(&deploy_err), 0, "{lang}: deploy compiled again:\n{deploy_err}");
    assert!(deploy_err.contains("loaded from the compile cache"), "{lang}: {deploy_err}");

    // A changed source builds again (numpy's is Python's: not twice).
    let source = match lang {
        "rust" => "src/lib.rs",
        "python" if with.is_none() => "app.py",
        "js" => "model.js",
        "c" => "model.c",
        _ => return,
    };
    let comment = if lang == "python" { "\n# changed\n" } else { "\n// changed\n" };
    let mut file = std::fs::OpenOptions::new().append(true).open(dir.join(source)).expect("open");
    std::io::Write::write_all(&mut file, comment.as_bytes()).expect("append");
    drop(file);
    let out = test.output().expect("mlops-host test");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{lang}: test after a change failed:\n{err}");
    assert!(err.contains(": building (changed since its last build): "), "{lang}: {err}");
    assert_eq!(builds(&err), 1, "{lang}: {err}");
    if lang == "python" {
        // componentize-py's output differs from build to build: compiled.
        assert_eq!(compiles(&err), 1, "{lang}: {err}");
    }
    // And once built, unchanged again: skipped.
    let out = test.output().expect("mlops-host test");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{lang}: {err}");
    assert_eq!(builds(&err), 0, "{lang}: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_init_template_builds_once_passes_its_fixtures_and_rebuilds_after_a_change() {
    let root = repo_root();
    let work = tempfile::tempdir().expect("tempdir");
    // (language, `--with`, the tools it needs)
    let templates = [
        ("rust", None, "rust"),
        ("python", None, "python"),
        ("python", Some("numpy"), "numpy"),
        ("js", None, "js"),
        ("c", None, "c"),
        ("onnx", None, "onnx"),
    ];
    for (lang, with, tools) in templates {
        if !has_tools(tools, "the init templates test") {
            continue;
        }
        let name = format!("my_{}", with.unwrap_or(lang));
        let dir = work.path().join(&name);
        let mut init = Command::new(crate::bin());
        init.args(["init", "--lang", lang]).arg(&dir);
        if let Some(library) = with {
            init.args(["--with", library]);
        }
        let out = init.output().expect("init");
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
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{lang}: mlops-host test failed:\n{err}");
        assert!(err.contains("fixture(s) passed"), "{lang}: {err}");
        inner_loop_builds_once(&dir, lang, with, &err, &mut test);
        if with == Some("numpy") {
            // The model imports numpy: it was built for the sandbox and
            // linked in, or the component would not have started.
            assert!(dir.join("numpy/build-numpy.sh").is_file(), "{err}");
            assert!(
                std::fs::read_to_string(dir.join("app.py")).expect("app").contains("import numpy")
            );
        }
        // Rust, Python and JavaScript templates train as well: their
        // training fixture ran (and passed, or `test` would have failed).
        let trains = matches!(lang, "rust" | "python" | "js");
        assert_eq!(err.contains("running 1 training fixture(s)"), trains, "{lang}: {err}");
    }

    // --with numpy is for Python models only.
    let out = Command::new(crate::bin())
        .args(["init", "--lang", "js", "--with", "numpy"])
        .arg(work.path().join("my_js_numpy"))
        .output()
        .expect("init");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--with numpy goes with --lang python"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

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
