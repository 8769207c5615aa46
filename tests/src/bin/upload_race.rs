//! Test helper: `upload-race <store> <model> <count> <tag>` makes `count`
//! concurrent uploads of a one-file folder (content `<tag> <i>`) to
//! `<model>` in dev, and prints `<version> <tag> <i>` per upload. The race
//! test runs two of these processes at once against one store.
#![allow(clippy::expect_used, reason = "a test helper fails by panicking")]

use std::collections::BTreeMap;

use mlops_manifest::{Env, ModelName};
use mlops_registry::NoProgress;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, store, model, count, tag] = &args[..] else {
        panic!("usage: upload-race <store> <model> <count> <tag>");
    };
    let registry = mlops_tests::conformance::open_store(store);
    let model = ModelName::new(model.as_str()).expect("model name");
    let count: usize = count.parse().expect("count");
    let uploads: Vec<_> = (0..count)
        .map(|i| {
            let (registry, model, tag) = (registry.clone(), model.clone(), tag.clone());
            tokio::spawn(async move {
                let dir = tempfile::tempdir().expect("tempdir");
                std::fs::write(dir.path().join("content.txt"), format!("{tag} {i}"))
                    .expect("write");
                let m = registry
                    .upload_version(
                        &model,
                        Env::Dev,
                        Some(dir.path()),
                        BTreeMap::new(),
                        &tag,
                        &NoProgress,
                    )
                    .await
                    .expect("upload");
                (m.version, i)
            })
        })
        .collect();
    for u in uploads {
        let (version, i) = u.await.expect("task");
        println!("{version} {tag} {i}");
    }
}
