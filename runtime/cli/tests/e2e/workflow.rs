//! The model author's loop: `validate` (golden messages), `init` (its
//! refusals and its CI pipelines), shell completions, and the README's
//! tutorial run as written.

use std::path::{Path, PathBuf};
use std::process::Command;

use mlops_tests::{HostProcess, repo_root};
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/validate")
}

/// `validate` on every case in tests/golden/validate: exit code and output
/// are exactly the `.out` file beside it (run with UPDATE_GOLDEN=1 to
/// rewrite them, then review the diff).
#[test]
fn validate_reports_each_mistake_as_the_golden_file_says() {
    let dir = golden_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 11, "a valid case and at least 10 mistakes");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().and_then(|n| n.to_str()).expect("name");
        let out = Command::new(crate::bin())
            .current_dir(&dir)
            .args(["validate", "-f", name])
            .env("NO_COLOR", "1")
            // ONNX cases load the runner: one compile for every test run.
            .env("MLOPS_CACHE_DIR", repo_root().join("target/test-compile-cache"))
            .output()
            .expect("run validate");
        let text = format!(
            "exit {}\n{}{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .replace(&dir.display().to_string(), "<dir>");
        let golden = case.with_extension("out");
        if update {
            std::fs::write(&golden, &text).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if want != text {
            failures.push(format!("{name}:\n--- want\n{want}--- got\n{text}"));
        }
        let valid = name.starts_with("00_");
        assert_eq!(out.status.code(), Some(if valid { 0 } else { 2 }), "{name}: {text}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every `mlops-host …` line of a pipeline, with placeholders filled.
fn invocations(yaml: &str) -> Vec<Vec<String>> {
    let doc: Value = serde_saphyr::from_str(yaml).expect("the pipeline is YAML");
    let mut strings = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(&doc, &mut strings);
    strings
        .iter()
        .flat_map(|s| s.lines())
        .filter_map(|l| l.trim().strip_prefix("mlops-host "))
        .map(|rest| {
            rest.split_whitespace()
                .take_while(|w| !w.starts_with("${"))
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[test]
fn init_writes_ci_pipelines_that_call_only_real_commands() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("my_model");
    let out =
        Command::new(crate::bin()).args(["init", "--lang", "c"]).arg(&dir).output().expect("init");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let github = std::fs::read_to_string(dir.join(".github/workflows/mlops.yml")).expect("github");
    let bitbucket =
        std::fs::read_to_string(dir.join("bitbucket-pipelines.yml")).expect("bitbucket");
    for (what, yaml) in [("github", &github), ("bitbucket", &bitbucket)] {
        // `${{ … }}` is GitHub's own expression syntax; any other `{{` is
        // one of init's placeholders left unfilled.
        let unfilled = yaml.match_indices("{{").filter(|(i, _)| !yaml[..*i].ends_with('$')).count();
        assert_eq!(unfilled, 0, "{what}: a placeholder is left:\n{yaml}");
        let calls = invocations(yaml);
        let subcommands: Vec<String> =
            calls.iter().map(|c| c[..c.len().min(2)].join(" ")).collect();
        for want in ["test", "deploy --env", "models promote"] {
            assert!(
                subcommands.iter().any(|s| s.starts_with(want)),
                "{what}: no `mlops-host {want}`: {subcommands:?}"
            );
        }
        for call in &calls {
            // The arguments must parse: `--help` after them succeeds only
            // if every subcommand and flag before it exists.
            let out = Command::new(crate::bin()).args(call).arg("--help").output().expect("run");
            assert!(
                out.status.success(),
                "{what}: `mlops-host {}` is not a valid command: {}",
                call.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    // Feature branches test only; main deploys to test; prod is manual.
    let gh: Value = serde_saphyr::from_str(&github).expect("YAML");
    let jobs = &gh["jobs"];
    assert_eq!(jobs["test"]["if"], "github.event_name == 'push'");
    let steps = |job: &str| {
        jobs[job]["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| s["run"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert!(steps("test").iter().all(|r| !r.contains("deploy")), "the test job deploys");
    assert!(jobs["deploy-test"]["if"].as_str().expect("if").contains("refs/heads/main"));
    assert!(steps("deploy-test").iter().any(|r| r.contains("deploy --env test")));
    assert!(steps("deploy-test").iter().all(|r| !r.contains("prod")), "main deploys to prod");
    assert!(
        jobs["deploy-prod"]["if"].as_str().expect("if").contains("workflow_dispatch"),
        "prod is run by hand"
    );
    assert!(steps("deploy-prod").iter().any(|r| r.contains("models promote my_model --to prod")));

    let bb: Value = serde_saphyr::from_str(&bitbucket).expect("YAML");
    let default = bb["pipelines"]["default"].to_string();
    assert!(!default.contains("deploy"), "feature branches deploy: {default}");
    let main = bb["pipelines"]["branches"]["main"].as_array().expect("main steps");
    let manual = main.iter().find(|s| s["step"]["trigger"] == "manual").expect("a manual step");
    assert!(manual["step"].to_string().contains("--to prod"), "{manual}");
    assert!(main.iter().any(|s| s["step"].to_string().contains("deploy --env test")));
}

#[test]
fn init_refuses_to_overwrite_unless_forced_and_explains_every_setting() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("my_model");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("notes.txt"), "mine").expect("write");
    // Other files are fine: init writes beside them, from inside the folder.
    let out = Command::new(crate::bin())
        .current_dir(&dir)
        .args(["init", "--lang", "python"])
        .output()
        .expect("init");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).expect("kept"), "mine");
    let settings = std::fs::read_to_string(dir.join("mlops_settings.yaml")).expect("settings");
    assert!(settings.contains("model_name: my_model"), "the name is the folder's");
    for key in [
        "human_friendly_model_name",
        "artifact_version",
        "training",
        "memory_mb",
        "timeout_ms",
        "init_timeout_ms",
        "max_instances",
        "max_request_mb",
        "max_output_mb",
        "max_response_mb",
        "secrets",
        "models_to_keep",
        "prediction_files",
    ] {
        assert!(settings.contains(key), "`{key}` is not explained");
    }

    std::fs::write(dir.join("app.py"), "# my edits").expect("edit");
    let out = Command::new(crate::bin())
        .current_dir(&dir)
        .args(["init", "--lang", "python"])
        .output()
        .expect("init");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already has") && err.contains("app.py") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(dir.join("app.py")).expect("kept"), "# my edits");
    let out = Command::new(crate::bin())
        .current_dir(&dir)
        .args(["init", "--lang", "python", "--force"])
        .output()
        .expect("init");
    assert!(out.status.success());
    assert_ne!(std::fs::read_to_string(dir.join("app.py")).expect("read"), "# my edits");
}

#[test]
fn completions_are_printed_for_each_shell() {
    // The shells the README names.
    let named = mlops_tests::readme_between("`mlops-host completions ", "`");
    let shells: Vec<&str> = named.split('|').collect();
    assert_eq!(shells, ["bash", "zsh", "fish", "elvish", "powershell"]);
    for shell in shells {
        let out = Command::new(crate::bin()).args(["completions", shell]).output().expect("run");
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("mlops-host") && text.contains("promote") && text.contains("validate"),
            "{shell}"
        );
    }
}

/// The README's tutorial, line by line, in a temporary folder: every
/// `mlops-host` line through a shell with this binary first on PATH,
/// `serve &` as a process of its own, the curl lines against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_tutorial_runs_as_written() {
    let python_ok = Command::new("python3")
        .args(["-m", "venv", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !python_ok {
        mlops_tests::skip(
            "the README tutorial test",
            "python3 with venv is missing (.ci/toolchains installs it)",
        );
        return;
    }
    let block = mlops_tests::readme_between("<!-- tutorial:start -->", "<!-- tutorial:end -->");
    let lines: Vec<&str> = block
        .lines()
        .filter(|l| !l.starts_with("```") && !l.trim().is_empty())
        .map(|l| l.split("   #").next().unwrap_or(l).trim_end())
        .collect();

    let work = tempfile::tempdir().expect("tempdir");
    let bin_dir = work.path().join("bin");
    std::fs::create_dir_all(&bin_dir).expect("mkdir");
    std::os::unix::fs::symlink(crate::bin(), bin_dir.join("mlops-host")).expect("symlink");
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let componentize_py = repo_root().join("target/py-build-venv/bin/componentize-py");
    let env = |cmd: &mut Command| {
        cmd.env("PATH", &path)
            .env("MLOPS_STORE", work.path().join("store"))
            .env("MLOPS_CACHE_DIR", work.path().join("cache"))
            .env("NO_COLOR", "1")
            .env_remove("MLOPS_ENV")
            .env_remove("ENV");
        // Reuse the repository's componentize-py rather than install one.
        if componentize_py.is_file() {
            cmd.env("COMPONENTIZE_PY", &componentize_py);
        }
    };
    let mut cwd = work.path().to_path_buf();
    let mut host: Option<HostProcess> = None;
    let mut calls = Vec::new();
    for line in lines {
        if let Some(dir) = line.strip_prefix("cd ") {
            cwd = cwd.join(dir.trim());
            continue;
        }
        if line.starts_with("mlops-host serve") {
            let mut cmd = Command::new(crate::bin());
            env(&mut cmd);
            cmd.current_dir(&cwd).args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--watch-interval",
                "0.2",
            ]);
            host = Some(HostProcess::start(cmd));
            continue;
        }
        let line = match &host {
            Some(h) => line.replace("http://127.0.0.1:8080", &h.url),
            None => line.to_string(),
        };
        if line.contains("my_model-prediction-prod") {
            // The running serve picks up the prod deploy by itself.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while !host
                .as_ref()
                .is_some_and(|h| h.log.iter().any(|l| l.contains("my_model-prediction-prod")))
            {
                assert!(
                    std::time::Instant::now() < deadline,
                    "serve did not pick up the prod deploy"
                );
                if let Some(h) = host.as_mut() {
                    h.drain_log();
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        let mut cmd = Command::new("sh");
        env(&mut cmd);
        let out = cmd.current_dir(&cwd).arg("-c").arg(&line).output().expect("run");
        let (stdout, stderr) =
            (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "`{line}` failed:\n{stdout}\n{stderr}");
        let expect = |needle: &str, text: &str| {
            assert!(text.contains(needle), "`{line}`: no `{needle}` in\n{text}")
        };
        match line.split_whitespace().nth(1).unwrap_or_default() {
            "init" => expect("created python model `my_model`", &stdout),
            "validate" => expect("valid, 1 model(s)", &stdout),
            "test" => expect("1 fixture(s) passed", &stderr),
            "models" => expect("promoted", &format!("{stdout}{stderr}")),
            "services" => expect("my_model-prediction-prod", &stdout),
            _ if line.starts_with("curl") => {
                calls.push(serde_json::from_str::<Value>(&stdout).expect("JSON answer"))
            }
            _ => {}
        }
    }
    assert_eq!(calls.len(), 2);
    for (call, env) in calls.iter().zip(["dev", "prod"]) {
        assert_eq!(call["status"], "ok", "{call}");
        assert_eq!(call["prediction"]["y"], serde_json::json!([3.0, 6.0]), "{call}");
        assert_eq!(call["model_id"], format!("my_model/{env}/1"), "{call}");
    }
}

/// A graph with an operator the ONNX runner lacks fails `test` (not its
/// first call) and `init --from`, naming the operator, and `init` writes
/// nothing.
#[test]
fn an_onnx_operator_the_runner_lacks_fails_test_and_init_by_name() {
    let dir = golden_dir();
    let work = tempfile::tempdir().expect("tempdir");
    let host = |args: &[&std::ffi::OsStr]| {
        Command::new(crate::bin())
            .args(args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .env("MLOPS_STORE", work.path().join("store"))
            .env("MLOPS_CACHE_DIR", repo_root().join("target/test-compile-cache"))
            .output()
            .expect("run mlops-host")
    };
    let named = "`DictVectorizer` (domain ai.onnx.ml, opset 3)";
    let out = host(&["test".as_ref(), "-f".as_ref(), "18_onnx_unsupported_operator.yaml".as_ref()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(named) && err.contains("does not start"), "{err}");
    let folder = work.path().join("model");
    let model = dir.join("onnx_unsupported/model.onnx");
    let out = host(&[
        "init".as_ref(),
        folder.as_os_str(),
        "--lang".as_ref(),
        "onnx".as_ref(),
        "--from".as_ref(),
        model.as_os_str(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(named) && err.contains("cannot be served by the ONNX runner"), "{err}");
    assert!(!folder.exists(), "init wrote files for a graph it refused");
}
