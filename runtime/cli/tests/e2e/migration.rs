//! Coming from akerbp.mlops (the Python framework): `migrate` on projects
//! in its 2.5.8 and 4.1.0 shapes, its pipelines' environment variables,
//! its clients' request shapes, its artifact history in CDF Files
//! (`models import`), and the Python client (clients/python) against a
//! live `serve`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mlops_cdf::{CdfClient, DataSetSpec, FileSpec};
use mlops_tests::cdf_server::{CdfServer, CdfServerConfig};
use mlops_tests::{example_dir, repo_root};
use serde_json::{Value, json};

use crate::Host;
use crate::languages::has_tools;

fn seed_projects() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seed-projects")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/migrate")
}

/// Copies a folder tree (the seed projects are read-only inputs).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `mlops-host` with componentize-py from the repository's build venv (as
/// the language tests use it), in `dir`.
fn host_in(h: &Host, dir: &Path) -> Command {
    let mut cmd = h.cmd();
    cmd.current_dir(dir);
    let componentize = repo_root().join("target/py-build-venv/bin/componentize-py");
    if componentize.is_file() {
        cmd.env("COMPONENTIZE_PY", componentize);
    }
    cmd
}

fn run_ok(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().expect("run mlops-host");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{what} failed:\n{err}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    err
}

/// Compares `got` with the golden file (UPDATE_GOLDEN=1 rewrites it).
fn golden(name: &str, got: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        want == got,
        "{name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it):\n--- want\n{want}--- got\n{got}"
    );
}

/// Both seed projects migrate into projects that pass `validate` and
/// `test` (each model built with componentize-py, its fixtures from the
/// seed's `ServiceTest` run in the sandbox); the report and the settings
/// are the golden ones.
#[test]
fn migrated_seed_projects_validate_and_pass_their_fixtures() {
    if !has_tools("python", "the migrate test") || !has_tools("numpy", "the migrate test") {
        return;
    }
    let h = Host::new();
    for version in ["2.5.8", "4.1.0"] {
        let project = h.dir.path().join(version);
        copy_tree(&seed_projects().join(version), &project);
        let mut migrate = host_in(&h, &project);
        migrate.arg("migrate");
        let out = migrate.output().expect("migrate");
        assert!(out.status.success(), "{version}: {}", String::from_utf8_lossy(&out.stderr));
        let report =
            std::fs::read_to_string(project.join("mlops_host/MIGRATION.md")).expect("report");
        assert_eq!(String::from_utf8_lossy(&out.stdout), report, "stdout is the report");
        golden(&format!("{version}/MIGRATION.md"), &report);
        let settings = std::fs::read_to_string(project.join("mlops_host/mlops_settings.yaml"))
            .expect("settings");
        golden(&format!("{version}/mlops_settings.yaml"), &settings);
        // The seed's own files are untouched.
        assert!(project.join("mlops_settings.yaml").is_file());

        let mut validate = host_in(&h, &project);
        validate.args(["validate", "-f", "mlops_host/mlops_settings.yaml"]);
        run_ok(validate, &format!("{version}: validate"));
        let mut test = host_in(&h, &project);
        test.args(["test", "-f", "mlops_host/mlops_settings.yaml"]);
        let log = run_ok(test, &format!("{version}: test"));
        assert!(!log.contains("FAIL"), "{log}");
        let passed = log.matches("fixture(s) passed").count();
        // 2.5.8: sonic_ac predicts and trains; 4.1.0: PorosityNet predicts,
        // shale_volume trains (its prediction input is not literal).
        assert_eq!(passed, 2, "{log}");
    }

    // Again: refused without --force; --in-place keeps the seed's settings.
    let project = h.dir.path().join("2.5.8");
    let mut again = host_in(&h, &project);
    again.arg("migrate");
    let out = again.output().expect("migrate");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --force"));
    let mut in_place = host_in(&h, &project);
    in_place.args(["migrate", "--in-place", "--force"]);
    run_ok(in_place, "migrate --in-place");
    let kept = std::fs::read_to_string(project.join("mlops_settings.akerbp.yaml")).expect("kept");
    assert!(kept.contains("req_file:"), "the seed's settings are kept: {kept}");
    let ours = std::fs::read_to_string(project.join("mlops_settings.yaml")).expect("ours");
    assert!(ours.contains("model_file: mlops_host/sonic_ac/build/model.wasm"), "{ours}");
    let mut validate = host_in(&h, &project);
    validate.arg("validate");
    run_ok(validate, "validate in place");

    // Metadata the framework let through but CDF's limits refuse: the
    // report says what `validate` will say.
    let long = h.dir.path().join("long");
    copy_tree(&seed_projects().join("2.5.8"), &long);
    let settings = std::fs::read_to_string(long.join("mlops_settings.yaml")).expect("read");
    let settings = settings.replace("num_filler: -999.25", &format!("notes: {}", "x".repeat(600)));
    std::fs::write(long.join("mlops_settings.yaml"), settings).expect("write");
    let mut migrate = host_in(&h, &long);
    migrate.arg("migrate");
    let out = migrate.output().expect("migrate");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("## The settings written do not validate yet"), "{report}");
    assert!(
        report.contains("metadata value of `notes` is 600 characters; the limit is 512"),
        "{report}"
    );
}

/// The stand-in for akerbp.mlops's logger, for running seed code natively.
fn logger_stub(dir: &Path) -> PathBuf {
    let stub = dir.join("stub");
    let core = stub.join("akerbp/mlops/core");
    std::fs::create_dir_all(&core).expect("mkdir");
    for init in ["akerbp", "akerbp/mlops", "akerbp/mlops/core"] {
        std::fs::write(stub.join(init).join("__init__.py"), "").expect("write");
    }
    std::fs::write(
        core.join("logger.py"),
        "import logging\ndef get_logger(name):\n    return logging.getLogger(name)\n",
    )
    .expect("write");
    stub
}

/// What the seed's own code answers for `payload`, run natively by
/// CPython (the framework's runtime).
fn native_answer(project: &Path, stub: &Path, payload: &Value) -> Value {
    let script = r#"
import json, pathlib, sys
root, stub, payload = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [root, stub]
import model_code.model as m
init = m.initialization(pathlib.Path(root) / "model_artifact", {})
print(json.dumps(m.predict(payload, init, {})))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(project)
        .arg(stub)
        .arg(payload.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Numbers equal within 1e-9 relative (CPython 3.14's `sum` in the sandbox
/// rounds once where older ones round per term); everything else equal.
fn assert_close(got: &Value, want: &Value, at: &str) {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().expect("f64"), w.as_f64().expect("f64"));
            assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{at}: {g} vs {w}");
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{at}");
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                assert_close(g, w, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(g), Value::Object(w)) => {
            assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>(), "{at}");
            for (k, w) in w {
                assert_close(&g[k], w, &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(got, want, "{at}"),
    }
}

/// The migrated 2.5.8 model, deployed and served, answers what the seed's
/// code answers natively — sent as the framework's clients sent it — and
/// the old shapes are answered as the framework answered them: an empty
/// body or `{}` is a keep-warm ping, 4.1.0's `{"input": …}` reaches a model
/// that reads documents, `"metadata": true` adds the framework's metadata
/// block, and anything else is refused naming the new shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migrated_model_answers_old_clients_as_the_seed_did() {
    if !has_tools("python", "the old-clients test") {
        return;
    }
    let h = Host::new();
    let project = h.dir.path().join("seed");
    copy_tree(&seed_projects().join("2.5.8"), &project);
    let mut migrate = host_in(&h, &project);
    migrate.arg("migrate");
    run_ok(migrate, "migrate");
    let mut deploy = host_in(&h, &project);
    deploy.args(["deploy", "-f", "mlops_host/mlops_settings.yaml"]);
    run_ok(deploy, "deploy");
    // The example too: a model that reads named columns.
    let example = h.settings("well_log", &[], "");
    h.ok(&["deploy", "-f", example.to_str().expect("utf-8")]);
    let host = h.serve(&[]);
    let call = "/services/sonic_ac-prediction-dev/call";

    let request: Value = serde_json::from_slice(
        &std::fs::read(project.join("mlops_host/sonic_ac/fixtures/service_test.request.json"))
            .expect("fixture"),
    )
    .expect("JSON");
    let payload = &request["data"];
    let native = native_answer(&project, &logger_stub(h.dir.path()), payload);
    // The new shape, and 4.1.0's body as it was sent: the same answer.
    for body in [request.clone(), payload.clone()] {
        let (status, resp) = host.post(call, body.to_string()).await;
        assert_eq!(status, 200, "{body}: {resp}");
        assert_eq!(resp["status"], "ok");
        assert_eq!(resp["model_id"], "sonic_ac/dev/1");
        assert_close(&resp["prediction"], &native, "prediction");
    }
    // Keep-warm pings: answered without calling the model.
    for ping in ["", "{}", " null "] {
        let (status, resp) = host.post(call, ping).await;
        assert_eq!(
            (status, resp.clone()),
            (200, json!({"status": "ok", "model_id": "sonic_ac/dev/1"})),
            "{ping:?}"
        );
    }
    // The metadata block, on request only.
    let mut asking = request.clone();
    asking["metadata"] = json!(true);
    let (status, resp) = host.post(call, asking.to_string()).await;
    assert_eq!(status, 200, "{resp}");
    let meta = &resp["metadata"];
    assert_eq!(meta["external_id"], "sonic_ac-prediction-dev");
    assert_eq!(meta["description"], "Predicts sonic slowness AC from ACS, RDEP and DEN, per well");
    assert_eq!(meta["owner"], "petrophysics-ds@example.com");
    assert_eq!(meta["status"], "Ready");
    let created = meta["created_time"].as_str().expect("created_time");
    assert!(created.len() == 19 && created.as_bytes()[10] == b' ', "%Y-%m-%d %H:%M:%S: {created}");
    assert_eq!(meta["file_id"].as_str().map(str::len), Some(64), "the component's digest: {meta}");
    let (_, pong) = host.post(call, r#"{"metadata": true}"#).await;
    assert_eq!(pong["metadata"]["external_id"], "sonic_ac-prediction-dev", "{pong}");
    // The seed's handled errors: a missing key is the caller's error.
    let (status, resp) = host.post(call, r#"{"data": {"wells": []}}"#).await;
    assert_eq!(status, 422, "{resp}");
    assert!(resp["message"].as_str().expect("message").contains("missing key 'input'"), "{resp}");

    // What else old clients send: a 400 naming the new shape.
    let columns = "/services/well_log-prediction-dev/call";
    let (status, resp) = host.post(columns, r#"{"input": [{"well": "a"}]}"#).await;
    assert_eq!(status, 400, "{resp}");
    assert!(
        resp["message"].as_str().expect("message").contains(r#"send {"data": {"<column>""#),
        "{resp}"
    );
    let (status, resp) =
        host.post(call, r#"{"input": [], "public_key": "-----BEGIN PUBLIC KEY-----"}"#).await;
    assert_eq!(status, 400, "{resp}");
    assert!(resp["message"].as_str().expect("message").contains("not supported"), "{resp}");
    let (status, resp) = host.post(call, r#"{"input": [], "data": {}}"#).await;
    assert_eq!(status, 400, "{resp}");
    assert!(
        resp["message"].as_str().expect("message").contains("both `data` and `input`"),
        "{resp}"
    );
    let (status, resp) = host.post(columns, "{}").await;
    assert_eq!(
        (status, resp["status"].clone()),
        (200, json!("ok")),
        "a column model is pinged too"
    );
}

/// The framework's pipeline variables: MODEL_ENV (4.1.0) and ENV (2.5.8)
/// choose the environment, SERVICE_NAME the service, TESTING_ONLY=True
/// tests without deploying; contradictions and bad values are refused.
#[test]
fn the_frameworks_pipeline_variables_deploy_where_they_did() {
    let h = Host::new();
    let s = h.settings("well_log", &["predict.request.json", "predict.expected.json"], "");
    let s = s.to_str().expect("utf-8");
    let deploy = |vars: &[(&str, &str)]| {
        let mut cmd = h.cmd();
        cmd.args(["deploy", "-f", s]).env_remove("MODEL_ENV").env_remove("SERVICE_NAME");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().expect("deploy")
    };
    let services = || -> Vec<String> {
        let listed = h.json(&["services", "list", "--format", "json"]);
        listed
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|r| r["external_id"].as_str().map(str::to_string))
            .collect()
    };
    // TESTING_ONLY as the framework documents it: nothing deployed.
    for value in ["True", "1", "true"] {
        let out = deploy(&[("TESTING_ONLY", value)]);
        assert!(out.status.success(), "{value}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("tested only"));
    }
    assert!(services().is_empty(), "nothing deployed under TESTING_ONLY");
    let out = deploy(&[("TESTING_ONLY", "maybe")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use True or False"));
    let out = deploy(&[("TESTING_ONLY", "False")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(services(), ["well_log-prediction-dev", "well_log-prediction-dev-1"]);

    // MODEL_ENV=test (4.1.0) and ENV=prod (2.5.8) deploy there.
    h.ok(&["models", "promote", "well_log", "--to", "test", "--version", "1"]);
    h.ok(&["models", "promote", "well_log", "--to", "prod", "--version", "1"]);
    let out = deploy(&[("MODEL_ENV", "test")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = deploy(&[("ENV", "prod")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = services();
    for id in ["well_log-prediction-test", "well_log-prediction-prod"] {
        assert!(listed.iter().any(|s| s == id), "{id} in {listed:?}");
    }
    // SERVICE_NAME=training deploys the training service (with the
    // example's training fixtures).
    let training = Path::new(s).parent().expect("folder").join("fixtures/training");
    for entry in std::fs::read_dir(example_dir().join("fixtures/training")).expect("fixtures") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), training.join(entry.file_name())).expect("copy");
    }
    let out = deploy(&[("SERVICE_NAME", "training")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(services().iter().any(|s| s == "well_log-training-dev"));
    // Contradictions and bad values: refused, nothing deployed.
    let before = services();
    for (vars, says) in [
        (vec![("MODEL_ENV", "test"), ("ENV", "prod")], "MODEL_ENV=test and ENV=prod disagree"),
        (vec![("MODEL_ENV", "staging")], "MODEL_ENV: unknown environment `staging`"),
        (vec![("SERVICE_NAME", "scoring")], "SERVICE_NAME: unknown service `scoring`"),
    ] {
        let out = deploy(&vars);
        assert_eq!(out.status.code(), Some(2), "{vars:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{vars:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(services(), before);
    // --env wins over MODEL_ENV, and says so.
    let mut cmd = h.cmd();
    cmd.args(["deploy", "-f", s, "--env", "dev", "--testing-only"]).env("MODEL_ENV", "prod");
    let out = cmd.output().expect("deploy");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MODEL_ENV=prod is ignored: --env"));
}

/// One version of a seed history: (external id, files, metadata).
type SeedFile =
    (&'static str, Vec<(&'static str, &'static str)>, Vec<(&'static str, &'static str)>);

/// A history in exactly the framework's layout: data set `mlops`,
/// directory `/mlops`, external id `<model>/<env>/<version>`, name
/// `<model>-<env>-<version>_archive.tar.gz` made by Python's
/// `shutil.make_archive(…, "gztar")` of the version's folder, metadata
/// with the user's keys (JSON-encoded) and `version`. `sonic_ac` as
/// 2.5.8 kept it (dev 3 deleted; test 2 uploaded there), `PorosityNet`
/// as 4.1.0 did (promoted dev → test → prod).
fn seed_history() -> Vec<SeedFile> {
    vec![
        (
            "sonic_ac/dev/1",
            vec![("model.json", r#"{"c": [1, 2]}"#)],
            vec![("version", "1"), ("rmse", "2.4")],
        ),
        (
            "sonic_ac/dev/2",
            vec![("model.json", r#"{"c": [1, 3]}"#), ("scaler/mean.json", "[0.5]")],
            vec![("version", "2"), ("rmse", "2.1")],
        ),
        (
            "sonic_ac/dev/4",
            vec![("model.json", r#"{"c": [2, 3]}"#)],
            vec![("version", "4"), ("rmse", "1.9")],
        ),
        (
            "sonic_ac/test/2",
            vec![("model.json", r#"{"c": [1, 3]}"#), ("scaler/mean.json", "[0.5]")],
            vec![("version", "2"), ("rmse", "2.1")],
        ),
        (
            "PorosityNet/dev/1",
            vec![("coefficients.json", "[0.1, 0.2]")],
            vec![
                ("version", "1"),
                ("training_wells", r#"["3/14", "2/7-18"]"#),
                ("hyperparameters", r#"{"lr": 0.001}"#),
            ],
        ),
        (
            "PorosityNet/dev/2",
            vec![("coefficients.json", "[0.1, 0.25]")],
            vec![("version", "2"), ("training_wells", r#"["3/14"]"#)],
        ),
        (
            "PorosityNet/test/1",
            vec![("coefficients.json", "[0.1, 0.2]")],
            vec![
                ("version", "1"),
                ("training_wells", r#"["3/14", "2/7-18"]"#),
                ("hyperparameters", r#"{"lr": 0.001}"#),
            ],
        ),
        (
            "PorosityNet/prod/1",
            vec![("coefficients.json", "[0.1, 0.2]")],
            vec![
                ("version", "1"),
                ("training_wells", r#"["3/14", "2/7-18"]"#),
                ("hyperparameters", r#"{"lr": 0.001}"#),
            ],
        ),
    ]
}

/// Uploads the history as the framework did (archives by Python's
/// shutil.make_archive). Returns each external id's CDF creation time.
async fn upload_history(client: &CdfClient, data_set_id: i64, work: &Path) -> Vec<(String, i64)> {
    let mut created = Vec::new();
    for (external_id, files, metadata) in seed_history() {
        let folder = work.join(external_id.replace('/', "_"));
        for (path, content) in &files {
            let file = folder.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(file, content).expect("write");
        }
        let name = format!("{}_archive", external_id.replace('/', "-"));
        let out = Command::new("python3")
            .args(["-c", "import shutil, sys; print(shutil.make_archive(sys.argv[1], 'gztar', root_dir=sys.argv[2]))"])
            .arg(work.join(&name))
            .arg(&folder)
            .output()
            .expect("python3");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let archive = std::fs::read(work.join(format!("{name}.tar.gz"))).expect("archive");
        let spec = FileSpec {
            name: format!("{name}.tar.gz"),
            external_id: Some(external_id.to_string()),
            directory: Some("/mlops".into()),
            metadata: metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            data_set_id: Some(data_set_id),
            ..Default::default()
        };
        let info = client.upload_file(&spec, archive.into(), false).await.expect("upload");
        created.push((external_id.to_string(), info.created_time));
        // Distinct creation times.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    created
}

/// `models import` copies the framework's history into the store: every
/// version keeps its number, env, metadata and creation time, files
/// checked; the promoted copies are recorded as promotions; the deleted
/// version stays deleted; killed half-way, a second run finishes without
/// importing anything twice; new versions continue after the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_import_keeps_the_seed_history_and_resumes_after_a_kill() {
    let cdf = CdfServer::start(CdfServerConfig::default()).await;
    let client = cdf.client();
    let data_set = client
        .create_data_sets(&[DataSetSpec {
            external_id: Some("mlops".into()),
            ..Default::default()
        }])
        .await
        .expect("data set")[0]
        .id;
    let h = Host::new();
    let created = upload_history(&client, data_set, h.dir.path()).await;
    // Something else in the directory, and an upload that never finished.
    let other = FileSpec {
        name: "notes.txt".into(),
        external_id: Some("notes".into()),
        directory: Some("/mlops".into()),
        data_set_id: Some(data_set),
        ..Default::default()
    };
    client.upload_file(&other, "x".into(), false).await.expect("upload");

    let import = |extra: &[(&str, &str)]| {
        let mut cmd = h.cmd();
        cmd.args(["models", "import"]);
        for (k, v) in cdf.host_env() {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    };
    // Slow the server down, start the import, and kill it once the first
    // versions are in the store.
    cdf.set_latency(Duration::from_millis(150));
    let mut child = import(&[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("import");
    let manifests = || -> usize { walk_json(&h.store().join("models")) };
    let deadline = Instant::now() + Duration::from_secs(120);
    while manifests() < 2 {
        assert!(Instant::now() < deadline, "the import wrote nothing in 120 s");
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the import ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    let half = manifests();
    assert!((2..9).contains(&half), "killed half-way: {half} manifests");
    cdf.set_latency(Duration::ZERO);

    // The second run finishes; what the first imported is skipped.
    let out = import(&[]).output().expect("import");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("already imported (skipped):"), "{err}");
    assert!(err.contains("notes: not <model>/<env>/<version>"), "{err}");
    let versions = h.json(&["models", "list", "--format", "json", "--deleted"]);
    let ids: Vec<&str> = versions
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["model"].as_str().expect("model"))
        .collect();
    assert_eq!(ids.len(), 9, "8 versions and 1 deleted number, none twice: {versions}");
    let find = |id: &str| -> Value {
        versions
            .as_array()
            .expect("list")
            .iter()
            .find(|v| {
                format!(
                    "{}/{}/{}",
                    v["model"].as_str().unwrap_or(""),
                    v["env"].as_str().unwrap_or(""),
                    v["version"]
                ) == id
            })
            .cloned()
            .unwrap_or_else(|| panic!("{id} not imported: {versions}"))
    };
    for (id, files, metadata) in seed_history() {
        let v = find(id);
        assert!(v["deleted"].is_null(), "{id}");
        let paths: Vec<&str> = v["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f["path"].as_str().expect("path"))
            .collect();
        let mut want: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
        want.sort_unstable();
        assert_eq!(paths, want, "{id}");
        for (k, value) in &metadata {
            assert_eq!(v["metadata"][k], *value, "{id}: metadata {k}");
        }
        let (_, ms) = created.iter().find(|(e, _)| e == id).expect("created");
        let want_created = chrono_like(*ms);
        assert_eq!(v["created"], want_created, "{id}: the creation time in CDF");
    }
    assert_eq!(find("sonic_ac/test/2")["promoted_from"], "sonic_ac/dev/2");
    assert_eq!(find("PorosityNet/test/1")["promoted_from"], "PorosityNet/dev/1");
    assert_eq!(find("PorosityNet/prod/1")["promoted_from"], "PorosityNet/test/1");
    assert!(find("PorosityNet/dev/2")["promoted_from"].is_null());
    assert!(find("sonic_ac/dev/3")["deleted"].is_object(), "the deleted version stays deleted");

    // The files are the archives' files, byte for byte.
    let out_dir = h.dir.path().join("v2");
    h.ok(&["models", "download", "sonic_ac", out_dir.to_str().expect("utf-8"), "--version", "2"]);
    assert_eq!(std::fs::read_to_string(out_dir.join("scaler/mean.json")).expect("file"), "[0.5]");

    // A third run imports nothing; a new upload continues the numbers.
    let out = import(&[]).output().expect("import");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !err.contains("\nimported:") && !err.starts_with("imported:"),
        "{err}"
    );
    let art = h.dir.path().join("art");
    std::fs::create_dir_all(&art).expect("mkdir");
    std::fs::write(art.join("model.json"), "{}").expect("write");
    h.ok(&["models", "upload", "sonic_ac", art.to_str().expect("utf-8")]);
    assert!(
        h.json(&["models", "list", "--model", "sonic_ac", "--env", "dev", "--format", "json"])
            .as_array()
            .expect("list")
            .iter()
            .any(|v| v["version"] == 5)
    );

    // The framework's COGNITE_* names reach the same server; an
    // MLOPS_CDF_* that differs wins, with a warning.
    let mut seed_env = import(&[]);
    for k in [
        "MLOPS_CDF_BASE_URL",
        "MLOPS_CDF_PROJECT",
        "MLOPS_CDF_CLIENT_ID",
        "MLOPS_CDF_CLIENT_SECRET",
        "MLOPS_CDF_SCOPES",
    ] {
        seed_env.env_remove(k);
    }
    let c = cdf.config();
    seed_env
        .args(["--dry-run"])
        .env("COGNITE_OIDC_BASE_URL", format!("{}/", cdf.url()))
        .env("COGNITE_PROJECT", &c.project)
        .env("COGNITE_CLIENT_ID_WRITE", &c.client_id)
        .env("COGNITE_CLIENT_SECRET_WRITE", &c.client_secret)
        .env("MLOPS_CDF_PROJECT", &c.project)
        .env("MLOPS_CDF_CLIENT_ID", "someone-else");
    let out = seed_env.output().expect("import --dry-run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "MLOPS_CDF_CLIENT_ID wins, and it is not a client of this server: {err}"
    );
    assert!(
        err.contains("MLOPS_CDF_CLIENT_ID (someone-else) and COGNITE_CLIENT_ID_WRITE (mlops-client) differ; using MLOPS_CDF_CLIENT_ID"),
        "{err}"
    );
    seed_env.env_remove("MLOPS_CDF_CLIENT_ID");
    let out = seed_env.output().expect("import --dry-run");
    let (stdout, err) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the COGNITE_* names alone: {err}");
    assert_eq!(stdout.lines().count(), 8, "{stdout}");
    assert!(!err.contains("differ"), "{err}");
}

/// Every `*.json` under `dir`.
fn walk_json(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk_json(&p)
            } else {
                usize::from(p.extension().is_some_and(|x| x == "json"))
            }
        })
        .sum()
}

/// Milliseconds since the epoch as the manifests write times.
fn chrono_like(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The Python client (clients/python) passes its tests against a live
/// `serve`: the example deployed in dev (versions 1 and 2) and in test.
/// Needs a Python with pytest and pandas: MLOPS_TEST_PYTHON (.ci/run makes
/// one and installs the client into it with pip); the tests import the
/// working tree's client.
#[test]
fn the_python_client_passes_its_tests_against_a_live_serve() {
    let Some(python) = std::env::var_os("MLOPS_TEST_PYTHON").map(PathBuf::from) else {
        mlops_tests::skip(
            "the Python client's tests",
            "MLOPS_TEST_PYTHON is not set to a Python with pytest and pandas (.ci/run makes one)",
        );
        return;
    };
    let h = Host::new();
    // The example's descriptions and metadata, for the tag filters.
    let example = std::fs::read_to_string(example_dir().join("mlops_settings.yaml")).expect("read");
    let info = &example
        [example.find("\ninfo:").expect("info")..example.find("\nlimits:").expect("limits")];
    let s = h.settings(
        "well_log",
        &["predict.request.json", "predict.expected.json"],
        info.trim_start(),
    );
    let s = s.to_str().expect("utf-8");
    h.ok(&["deploy", "-f", s]);
    h.ok(&["deploy", "-f", s]);
    h.ok(&["models", "promote", "well_log", "--to", "test", "--version", "1"]);
    h.ok(&["deploy", "-f", s, "--env", "test"]);
    let (admin, caller) = ("admin-token-for-the-client-test", "caller-token-for-the-client-test");
    let host = h.serve(&[("MLOPS_ADMIN_TOKEN", admin), ("MLOPS_CALLER_TOKEN", caller)]);
    let client = repo_root().join("clients/python");
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(&client)
        .env("PYTHONPATH", client.join("src"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("MLOPS_URL", &host.url)
        .env("MLOPS_TOKEN", caller)
        .env("MLOPS_ADMIN_TOKEN", admin)
        .env("MLOPS_TEST_FIXTURES", example_dir().join("fixtures"))
        .env("MLOPS_TEST_SPARE_VERSION", "well_log/dev/2")
        .output()
        .expect("run pytest");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the Python client's tests failed:\n{text}");
    assert!(text.contains(" passed") && !text.contains("skipped"), "{text}");
}
