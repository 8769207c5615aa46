//! The registry on every backend: the conformance suite, and a race of two
//! processes.

use std::collections::BTreeMap;
use std::sync::Arc;

use mlops_manifest::{Env, ModelId, ModelName};
use mlops_tests::conformance::{Backend, open_store, run_all, s3_store, unique_prefix};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_local_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        object_store::local::LocalFileSystem::new_with_prefix(dir.path()).expect("local store");
    run_all(&Backend::new("local", Arc::new(store))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_in_memory() {
    run_all(&Backend::new("memory", Arc::new(object_store::memory::InMemory::new()))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_s3() {
    let Some(store) = s3_store("conformance") else { return };
    run_all(&Backend::new("s3", store)).await;
}

/// Two processes, 25 concurrent uploads each, one model: versions 1..50,
/// each exactly once, each with its own intact content.
async fn race(store_url: &str) {
    let bin = env!("CARGO_BIN_EXE_upload-race");
    let spawn = |tag: &str| {
        std::process::Command::new(bin)
            .args([store_url, "racer", "25", tag])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn upload-race")
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let mut claimed: BTreeMap<u64, String> = BTreeMap::new();
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "an uploader failed");
        for line in String::from_utf8(out.stdout).expect("utf-8").lines() {
            let (version, content) = line.split_once(' ').expect("`<version> <tag> <i>`");
            let version: u64 = version.parse().expect("version");
            let previous = claimed.insert(version, content.to_string());
            assert!(
                previous.is_none(),
                "version {version} given twice: {previous:?} and {content}"
            );
        }
    }
    assert_eq!(claimed.keys().copied().collect::<Vec<_>>(), (1..=50).collect::<Vec<_>>());
    let registry = open_store(store_url);
    let model = ModelName::new("racer").expect("name");
    assert_eq!(
        registry.versions(&model, Env::Dev).await.expect("versions"),
        (1..=50).collect::<Vec<_>>()
    );
    for (version, content) in claimed {
        let manifest = registry
            .manifest(&ModelId { model: model.clone(), env: Env::Dev, version })
            .await
            .expect("manifest");
        let bytes = registry.get_blob(&manifest.files[0].blake3).await.expect("an intact blob");
        assert_eq!(bytes, content.as_bytes(), "version {version} holds another upload's files");
    }
    println!("50 racing uploads from 2 processes got versions 1..=50 on {store_url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_racing_get_versions_1_to_50_on_a_local_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    race(&dir.path().display().to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_racing_get_versions_1_to_50_on_s3() {
    if s3_store("race").is_none() {
        return;
    }
    let bucket = std::env::var("MLOPS_TEST_S3").expect("set");
    race(&format!("{}/{}", bucket.trim_end_matches('/'), unique_prefix("race"))).await;
}
