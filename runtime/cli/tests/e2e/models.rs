//! `mlops-host models …` and deploys across environments.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use mlops_tests::{example_dir, repo_root, well_log_wasm};

use crate::Host;
use serde_json::Value;

impl Host {
    /// Every object in the store (relative paths), sorted.
    fn objects(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else {
                    out.push(p.strip_prefix(root).expect("inside").display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.store(), &self.store(), &mut out);
        out.sort();
        out
    }

    fn blobs(&self) -> usize {
        self.objects().iter().filter(|o| o.starts_with("blobs/")).count()
    }
}

fn failure(out: &Output) -> (Option<i32>, String) {
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Settings for the built example component (no build step), with
/// `extra` lines appended.
fn settings(dir: &Path, docs: &[(&str, &str)]) -> PathBuf {
    let text: Vec<String> = docs
        .iter()
        .map(|(name, extra)| {
            format!(
                "model_name: {name}\nmodel_file: {}\nartifact_folder: {}\nfixtures: {}\n{extra}",
                well_log_wasm().display(),
                example_dir().join("artifacts").display(),
                example_dir().join("fixtures").display()
            )
        })
        .collect();
    let path = dir.join("mlops_settings.yaml");
    std::fs::write(&path, text.join("---\n")).expect("write");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_dev_test_prod_keeps_provenance_copies_no_bytes_and_serves_the_env_model_id() {
    let env = Host::new();
    let s = settings(env.dir.path(), &[("well_log", "")]);
    let s = s.to_str().expect("utf-8");
    env.ok(&["deploy", "-f", s]);
    let blobs = env.blobs();

    // test has nothing yet: a deploy there says what to do.
    let (code, stderr) = failure(&env.run(&["deploy", "-f", s, "--env", "test"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no artifact version in test; promote one first"), "{stderr}");

    env.ok(&["models", "promote", "well_log", "--to", "test"]);
    env.ok(&["models", "promote", "well_log", "--to", "prod", "--version", "1"]);
    assert_eq!(env.blobs(), blobs, "promotion copied bytes");
    let again = env.run(&["models", "promote", "well_log", "--to", "test"]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already promoted"),
        "{}",
        failure(&again).1
    );

    let overview = env.json(&["models", "list", "--format", "json"]);
    let rows: Vec<(String, String, Value)> = overview
        .as_array()
        .expect("list")
        .iter()
        .map(|m| {
            (
                m["env"].as_str().expect("env").to_string(),
                m["version"].to_string(),
                m["promoted_from"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("dev".to_string(), "1".to_string(), Value::Null),
            ("test".to_string(), "1".to_string(), Value::from("well_log/dev/1")),
            ("prod".to_string(), "1".to_string(), Value::from("well_log/test/1")),
        ]
    );
    let table = env.ok(&["models", "list"]);
    assert!(table.contains("well_log/prod/1") && table.contains("well_log/test/1"), "{table}");

    env.ok(&["deploy", "-f", s, "--env", "test"]);
    env.ok(&["deploy", "-f", s, "--env", "prod"]);
    assert_eq!(env.blobs(), blobs, "deploys to test and prod upload nothing");

    let host = env.serve(&[]);
    let body = std::fs::read(example_dir().join("fixtures/predict.request.json")).expect("fixture");
    for e in ["dev", "test", "prod"] {
        let (status, resp) =
            host.post(&format!("/services/well_log-prediction-{e}/call"), body.clone()).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["model_id"], format!("well_log/{e}/1"));
    }
}

#[test]
fn every_pinned_model_of_a_multi_model_file_keeps_its_version() {
    let env = Host::new();
    let folder = example_dir().join("artifacts");
    let folder = folder.to_str().expect("utf-8");
    for name in ["first", "last"] {
        env.ok(&["models", "upload", name, folder]);
        env.ok(&["models", "upload", name, folder]);
    }
    // `first` and `last` pin version 1; `middle` is not pinned.
    let s = settings(
        env.dir.path(),
        &[("first", "artifact_version: 1\n"), ("middle", ""), ("last", "artifact_version: 1\n")],
    );
    for _ in 0..2 {
        env.ok(&["deploy", "-f", s.to_str().expect("utf-8")]);
    }
    let services = env.json(&["services", "list", "--format", "json"]);
    let runs: Vec<(String, String)> = services
        .as_array()
        .expect("list")
        .iter()
        .filter(|r| r["alias_of"].is_string())
        .map(|r| {
            (
                r["external_id"].as_str().expect("id").to_string(),
                r["model_id"].as_str().expect("id").to_string(),
            )
        })
        .collect();
    assert_eq!(
        runs,
        [
            ("first-prediction-dev".to_string(), "first/dev/1".to_string()),
            ("last-prediction-dev".to_string(), "last/dev/1".to_string()),
            ("middle-prediction-dev".to_string(), "middle/dev/2".to_string()),
        ]
    );
    // Pinned models uploaded nothing.
    let versions = env.json(&["models", "list", "--model", "first", "--format", "json"]);
    assert_eq!(versions.as_array().expect("list").len(), 2);
}

#[test]
fn a_process_killed_mid_upload_leaves_no_version_and_the_next_upload_gets_the_next_number() {
    let env = Host::new();
    let small = tempfile::tempdir().expect("tempdir");
    std::fs::write(small.path().join("a.txt"), "first").expect("write");
    env.ok(&["models", "upload", "crashy", small.path().to_str().expect("utf-8")]);

    // Enough data that the upload is still running when it is killed.
    let big = tempfile::tempdir().expect("tempdir");
    for i in 0..48 {
        let bytes: Vec<u8> = (0u32..(4 << 20)).map(|j| (j ^ (i * 7919)) as u8).collect();
        std::fs::write(big.path().join(format!("part-{i:02}.bin")), bytes).expect("write");
    }
    let blobs_before = env.blobs();
    let mut child = env
        .cmd()
        .args(["models", "upload", "crashy", big.path().to_str().expect("utf-8")])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.blobs() <= blobs_before {
        assert!(Instant::now() < deadline, "the upload never wrote a blob");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        child.try_wait().expect("poll").is_none(),
        "the upload finished before it could be killed"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    println!("killed the upload after {} of 48 blobs", env.blobs() - blobs_before);

    let versions = env.json(&["models", "list", "--model", "crashy", "--format", "json"]);
    let numbers: Vec<u64> =
        versions.as_array().expect("list").iter().filter_map(|m| m["version"].as_u64()).collect();
    assert_eq!(numbers, [1], "a killed upload must not leave a version");
    let next = env.ok(&["models", "upload", "crashy", small.path().to_str().expect("utf-8")]);
    assert_eq!(next.trim(), "crashy/dev/2");
    // Its orphaned blobs are garbage: gc takes them (min age 0 here).
    env.ok(&["models", "gc", "--min-age", "0s"]);
    assert_eq!(env.blobs(), 1, "only the one file both versions share is left");
}

#[test]
fn a_blob_altered_on_disk_is_named_on_download() {
    let env = Host::new();
    let folder = example_dir().join("artifacts");
    env.ok(&["models", "upload", "well_log", folder.to_str().expect("utf-8")]);
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(env.store().join("models/well_log/dev/1.json")).expect("manifest"),
    )
    .expect("JSON");
    let digest = manifest["files"][0]["blake3"].as_str().expect("digest").to_string();
    let blob = env.store().join("blobs").join(&digest);
    let mut bytes = std::fs::read(&blob).expect("blob");
    bytes[30] ^= 0x20;
    std::fs::write(&blob, bytes).expect("alter");

    let dest = env.dir.path().join("download");
    let (code, stderr) =
        failure(&env.run(&["models", "download", "well_log", dest.to_str().expect("utf-8")]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "well_log/dev/1: file `model.json` is corrupt in the store (blob {digest}"
        )),
        "{stderr}"
    );
    assert!(!dest.exists(), "nothing is left behind");
}

#[test]
fn download_checks_and_writes_the_files() {
    let env = Host::new();
    let folder = example_dir().join("artifacts");
    env.ok(&[
        "models",
        "upload",
        "well_log",
        folder.to_str().expect("utf-8"),
        "--meta",
        "source=synthetic",
    ]);
    let dest = env.dir.path().join("download");
    let out = env.run(&["models", "download", "well_log", dest.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Not a terminal: progress is one plain line, not a bar.
    assert!(stderr.contains("downloading well_log/dev/1: 1 file(s), 319 B"), "{stderr}");
    assert_eq!(
        std::fs::read(dest.join("model.json")).expect("downloaded"),
        std::fs::read(folder.join("model.json")).expect("original")
    );
    let found = env.json(&["models", "list", "--meta", "source=synthetic", "--format", "json"]);
    assert_eq!(found[0]["metadata"]["source"], "synthetic");
    assert_eq!(
        env.json(&["models", "list", "--meta", "source=real", "--format", "json"]),
        Value::Array(vec![])
    );
}

#[test]
fn delete_asks_refuses_prod_without_the_flag_and_keeps_served_versions() {
    let env = Host::new();
    let s = settings(env.dir.path(), &[("well_log", "")]);
    env.ok(&["deploy", "-f", s.to_str().expect("utf-8")]);
    let folder = example_dir().join("artifacts");
    env.ok(&["models", "upload", "well_log", folder.to_str().expect("utf-8")]);

    let (code, stderr) = failure(&env.run(&["models", "delete", "well_log/dev/2"]));
    assert_eq!(code, Some(2), "no terminal, no --yes: {stderr}");
    assert!(stderr.contains("refusing to delete without --yes"), "{stderr}");
    assert!(stderr.contains("model.json"), "it shows what would go: {stderr}");

    let (code, stderr) = failure(&env.run(&["models", "delete", "well_log/dev/1", "--yes"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("well_log/dev/1 is run by well_log-prediction-dev"), "{stderr}");

    env.ok(&["models", "delete", "well_log/dev/2", "--yes"]);
    let listed = env.json(&["models", "list", "--format", "json"]);
    assert_eq!(listed.as_array().expect("list").len(), 1);
    let with_deleted = env.json(&["models", "list", "--deleted", "--format", "json"]);
    assert!(with_deleted[1]["deleted"]["by"].is_string(), "{with_deleted}");

    env.ok(&["models", "promote", "well_log", "--to", "test"]);
    env.ok(&["models", "promote", "well_log", "--to", "prod"]);
    let (code, stderr) = failure(&env.run(&["models", "delete", "well_log/prod/1", "--yes"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("add --allow-prod"), "{stderr}");
    env.ok(&["models", "delete", "well_log/prod/1", "--yes", "--allow-prod"]);
}

#[test]
fn bad_input_is_named_and_writes_nothing() {
    let env = Host::new();
    let folder = example_dir().join("artifacts");
    let folder = folder.to_str().expect("utf-8");
    env.ok(&["models", "upload", "well_log", folder]);
    let before = env.objects();
    let empty = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["models", "upload", "well_log", "/no/such/folder"],
            2,
            "/no/such/folder is not a folder",
        ),
        (
            vec!["models", "upload", "well_log", empty.path().to_str().expect("utf-8")],
            2,
            "has no files",
        ),
        (vec!["models", "upload", "well-log", folder], 2, "use `_` instead of `-`"),
        (
            vec!["models", "upload", "well_log", folder, "--env", "staging"],
            2,
            "unknown environment `staging`: use `dev`, `test` or `prod`",
        ),
        (
            vec!["models", "upload", "well_log", folder, "--meta", "oops"],
            2,
            "`oops` is not KEY=VALUE",
        ),
        (
            vec!["models", "download", "nothing_here", "/tmp/x"],
            1,
            "there is no version of nothing_here in dev",
        ),
        (
            vec!["models", "download", "well_log", "/tmp/x", "--version", "9"],
            2,
            "artifact version well_log/dev/9 does not exist",
        ),
        (
            vec!["models", "promote", "well_log", "--to", "prod"],
            1,
            "there is no version of well_log in test",
        ),
        (
            vec!["models", "promote", "well_log", "--to", "test", "--version", "4"],
            2,
            "artifact version well_log/dev/4 does not exist",
        ),
        (vec!["models", "promote", "well_log", "--to", "dev"], 2, "nothing is promoted to dev"),
        (
            vec!["models", "delete", "well_log/dev/3", "--yes"],
            2,
            "artifact version well_log/dev/3 does not exist",
        ),
        (vec!["models", "delete", "well_log/qa/1", "--yes"], 2, "unknown environment `qa`"),
    ];
    for (args, want_code, want) in cases {
        let (code, stderr) = failure(&env.run(&args));
        assert_eq!(code, Some(want_code), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: expected `{want}` in: {stderr}");
    }
    assert_eq!(env.objects(), before, "bad input wrote something");
}

/// The README mentions every `models` verb this issue built.
#[test]
fn the_readme_documents_the_model_manager() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    for verb in [
        "models upload",
        "models promote",
        "models list",
        "models download",
        "models delete",
        "models gc",
    ] {
        assert!(readme.contains(verb), "README.md does not mention `{verb}`");
    }
}
