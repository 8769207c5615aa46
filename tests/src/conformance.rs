//! One conformance suite for the registry, run against every backend: a
//! local folder, memory, and S3 (SeaweedFS in CI). Each check starts from an
//! empty store and panics, naming the backend, when the registry misbehaves.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt as _;
use mlops_manifest::{Env, ModelId, ModelName, ServiceKind};
use mlops_registry::{
    LimitsRecord, NoProgress, Promotion, Registry, RegistryError, SERVICE_FORMAT, ServiceRecord,
    VersionFilter,
};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};

/// A registry and raw access to the store under it (to count and alter
/// objects behind the registry's back).
pub struct Backend {
    pub name: String,
    pub registry: Registry,
    pub raw: Arc<dyn ObjectStore>,
}

impl Backend {
    pub fn new(name: &str, raw: Arc<dyn ObjectStore>) -> Backend {
        Backend { name: name.to_string(), registry: Registry::new(raw.clone(), name), raw }
    }

    /// The keys under `prefix`, sorted.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .raw
            .list(Some(&StorePath::from(prefix)))
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .expect("list");
        keys.sort();
        keys
    }
}

/// The S3 store named by `MLOPS_TEST_S3` (e.g. `s3://mlops`), under a
/// prefix of its own; `None` (and a note on stderr) when it is not set
/// outside CI. In CI (`CI` set) a missing server fails the test.
pub fn s3_store(test: &str) -> Option<Arc<dyn ObjectStore>> {
    let Ok(url) = std::env::var("MLOPS_TEST_S3") else {
        crate::skip(
            &format!("{test} on S3"),
            "no S3 server: eval \"$(.ci/s3-server start)\" sets MLOPS_TEST_S3",
        );
        return None;
    };
    let bucket =
        url.strip_prefix("s3://").expect("MLOPS_TEST_S3 is s3://bucket").trim_end_matches('/');
    crate::install_tls_provider();
    let s3 = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .expect("S3 client");
    Some(Arc::new(object_store::prefix::PrefixStore::new(s3, unique_prefix(test))))
}

/// A registry on a test store: `s3://bucket/prefix` (the server the
/// environment names, as `MLOPS_TEST_S3` does), else a local folder.
pub fn open_store(location: &str) -> Registry {
    let Some(rest) = location.strip_prefix("s3://") else {
        return Registry::local(Path::new(location)).expect("a local store");
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    crate::install_tls_provider();
    let s3 = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .expect("S3 client");
    let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
        Arc::new(s3)
    } else {
        Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
    };
    Registry::new(store, location)
}

/// A prefix no other run uses.
pub fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("tests/{test}-{}-{nanos}", std::process::id())
}

fn model(name: &str) -> ModelName {
    ModelName::new(name).expect("model name")
}

fn id(s: &str) -> ModelId {
    s.parse().expect("model id")
}

fn folder(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, bytes) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, bytes).expect("write");
    }
    dir
}

async fn upload(
    b: &Backend,
    m: &str,
    env: Env,
    dir: Option<&Path>,
) -> mlops_registry::ArtifactManifest {
    b.registry
        .upload_version(&model(m), env, dir, BTreeMap::new(), "tester", &NoProgress)
        .await
        .expect("upload")
}

/// Runs every check against `backend`.
pub async fn run_all(backend: &Backend) {
    upload_and_download_round_trip(backend).await;
    numbers_count_up_per_env_and_latest_is_the_highest_live(backend).await;
    concurrent_uploads_get_distinct_gap_free_numbers(backend).await;
    large_files_stream_in_parts(backend).await;
    altered_blobs_are_refused_with_the_file_named(backend).await;
    promotion_keeps_the_number_copies_no_bytes_and_records_provenance(backend).await;
    deletion_leaves_a_tombstone_and_is_refused_while_served(backend).await;
    gc_removes_only_old_unreferenced_blobs(backend).await;
    bad_input_is_refused_and_writes_nothing(backend).await;
    metadata_filters_the_overview(backend).await;
}

async fn upload_and_download_round_trip(b: &Backend) {
    let src = folder(&[("model.json", b"{\"a\":1}"), ("sub/weights.bin", &[1, 2, 3])]);
    let meta = BTreeMap::from([("rmse".to_string(), "2.4".to_string())]);
    let m = b
        .registry
        .upload_version(
            &model("round_trip"),
            Env::Dev,
            Some(src.path()),
            meta,
            "tester",
            &NoProgress,
        )
        .await
        .expect("upload");
    assert_eq!(m.model_id().to_string(), "round_trip/dev/1", "{}", b.name);
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["model.json", "sub/weights.bin"], "{}", b.name);
    assert_eq!(b.registry.manifest(&m.model_id()).await.expect("read back"), m, "{}", b.name);
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("v1");
    b.registry.download(&m, &dest, &NoProgress).await.expect("download");
    assert_eq!(std::fs::read(dest.join("model.json")).expect("read"), b"{\"a\":1}", "{}", b.name);
    assert_eq!(std::fs::read(dest.join("sub/weights.bin")).expect("read"), [1, 2, 3], "{}", b.name);
    // An existing empty folder is fine; a non-empty one is refused.
    let empty = out.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    b.registry.download(&m, &empty, &NoProgress).await.expect("into an empty folder");
    let err = b.registry.download(&m, &dest, &NoProgress).await.expect_err("not empty");
    assert!(err.to_string().contains("is not an empty folder"), "{}: {err}", b.name);
}

async fn numbers_count_up_per_env_and_latest_is_the_highest_live(b: &Backend) {
    for want in 1..=3 {
        assert_eq!(upload(b, "numbers", Env::Dev, None).await.version, want, "{}", b.name);
    }
    assert_eq!(
        upload(b, "numbers", Env::Test, None).await.version,
        1,
        "{}: envs count apart",
        b.name
    );
    assert_eq!(b.registry.versions(&model("numbers"), Env::Dev).await.expect("list"), [1, 2, 3]);
    assert_eq!(
        b.registry.latest_version(&model("numbers"), Env::Dev).await.expect("latest"),
        Some(3)
    );
    assert_eq!(
        b.registry.latest_version(&model("numbers"), Env::Prod).await.expect("latest"),
        None
    );
}

async fn concurrent_uploads_get_distinct_gap_free_numbers(b: &Backend) {
    let uploads: Vec<_> = (0..16)
        .map(|i| {
            let reg = b.registry.clone();
            tokio::spawn(async move {
                let dir = folder(&[("n.txt", format!("upload {i}").as_bytes())]);
                reg.upload_version(
                    &model("racing"),
                    Env::Dev,
                    Some(dir.path()),
                    BTreeMap::new(),
                    "t",
                    &NoProgress,
                )
                .await
            })
        })
        .collect();
    let mut got = Vec::new();
    for u in uploads {
        got.push(u.await.expect("task").expect("upload").version);
    }
    got.sort_unstable();
    assert_eq!(got, (1..=16).collect::<Vec<_>>(), "{}", b.name);
}

async fn large_files_stream_in_parts(b: &Backend) {
    // Larger than the multipart threshold (16 MiB), not a multiple of a part.
    let big: Vec<u8> = (0..(20 << 20) + 12_345)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let src = folder(&[("weights.bin", &big)]);
    let m = upload(b, "large", Env::Dev, Some(src.path())).await;
    assert_eq!(m.files[0].size, big.len() as u64, "{}", b.name);
    assert_eq!(m.files[0].blake3, blake3::hash(&big).to_hex().to_string(), "{}", b.name);
    let out = tempfile::tempdir().expect("tempdir");
    b.registry.download(&m, &out.path().join("v"), &NoProgress).await.expect("download");
    assert!(
        std::fs::read(out.path().join("v/weights.bin")).expect("read") == big,
        "{}: bytes differ",
        b.name
    );
    // The same content again is not stored twice.
    let blobs = b.keys("blobs").await.len();
    upload(b, "large", Env::Dev, Some(src.path())).await;
    assert_eq!(b.keys("blobs").await.len(), blobs, "{}: deduplicated", b.name);
}

async fn altered_blobs_are_refused_with_the_file_named(b: &Backend) {
    let src = folder(&[("model.json", b"{\"coefficients\": [1, 2]}")]);
    let m = upload(b, "altered", Env::Dev, Some(src.path())).await;
    let digest = m.files[0].blake3.clone();
    b.raw
        .put(
            &StorePath::from(format!("blobs/{digest}")),
            PutPayload::from_static(b"{\"coefficients\": [9, 9]}"),
        )
        .await
        .expect("alter");

    let err = b.registry.get_blob(&digest).await.expect_err("altered");
    assert!(matches!(err, RegistryError::CorruptBlob { .. }), "{}: {err}", b.name);
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("v1");
    let err = b.registry.download(&m, &dest, &NoProgress).await.expect_err("altered");
    let msg = err.to_string();
    assert!(
        msg.contains("altered/dev/1: file `model.json` is corrupt") && msg.contains(&digest),
        "{}: {msg}",
        b.name
    );
    assert!(!dest.exists(), "{}: a failed download leaves nothing", b.name);
}

async fn promotion_keeps_the_number_copies_no_bytes_and_records_provenance(b: &Backend) {
    let src = folder(&[("model.json", b"promoted")]);
    upload(b, "promo", Env::Dev, Some(src.path())).await;
    upload(b, "promo", Env::Dev, Some(src.path())).await;
    let blobs = b.keys("blobs").await;
    let to_test = b.registry.promote(&id("promo/dev/2"), Env::Test, "ci").await.expect("promote");
    let Promotion::Promoted(test) = to_test else { panic!("{}: expected a new version", b.name) };
    assert_eq!(test.model_id().to_string(), "promo/test/2", "{}: the number is kept", b.name);
    assert_eq!(test.promoted_from, Some(id("promo/dev/2")));
    let Promotion::Promoted(prod) =
        b.registry.promote(&id("promo/test/2"), Env::Prod, "ci").await.expect("promote")
    else {
        panic!("{}: expected a new version", b.name)
    };
    assert_eq!(prod.promoted_from, Some(id("promo/test/2")));
    assert_eq!(prod.files, test.files, "{}: same blobs", b.name);
    assert_eq!(b.keys("blobs").await, blobs, "{}: promotion copied bytes", b.name);
    // Promoting again writes nothing.
    assert!(matches!(
        b.registry.promote(&id("promo/dev/2"), Env::Test, "ci").await.expect("again"),
        Promotion::AlreadyThere(_)
    ));
    // Skipping test, promoting prod, or onto a number taken otherwise: refused.
    let skip = b.registry.promote(&id("promo/dev/1"), Env::Prod, "ci").await.expect_err("skip");
    assert!(skip.to_string().contains("can only be promoted to test"), "{}: {skip}", b.name);
    let from_prod =
        b.registry.promote(&id("promo/prod/2"), Env::Prod, "ci").await.expect_err("prod");
    assert!(from_prod.to_string().contains("in prod already"), "{}: {from_prod}", b.name);
    upload(b, "promo", Env::Test, None).await; // takes test/3
    upload(b, "promo", Env::Dev, Some(src.path())).await; // dev/3
    let conflict =
        b.registry.promote(&id("promo/dev/3"), Env::Test, "ci").await.expect_err("taken");
    let msg = conflict.to_string();
    assert!(msg.contains("promo/test/3 already exists (uploaded by tester"), "{}: {msg}", b.name);
    let filter = VersionFilter { model: Some(model("promo")), ..Default::default() };
    let provenance: Vec<(String, Option<String>)> = b
        .registry
        .list_versions(&filter)
        .await
        .expect("list")
        .iter()
        .map(|m| (m.model_id().to_string(), m.promoted_from.as_ref().map(ToString::to_string)))
        .collect();
    assert_eq!(
        provenance,
        [
            ("promo/dev/1".to_string(), None),
            ("promo/dev/2".to_string(), None),
            ("promo/dev/3".to_string(), None),
            ("promo/test/2".to_string(), Some("promo/dev/2".to_string())),
            ("promo/test/3".to_string(), None),
            ("promo/prod/2".to_string(), Some("promo/test/2".to_string())),
        ],
        "{}",
        b.name
    );
}

fn service(model_id: &str, external_id: &str) -> ServiceRecord {
    let model_id = id(model_id);
    ServiceRecord {
        format: SERVICE_FORMAT.into(),
        external_id: external_id.parse().expect("external id"),
        alias_of: None,
        model: model_id.model.clone(),
        service: ServiceKind::Prediction,
        env: model_id.env,
        model_id,
        component: "0".repeat(64),
        component_size: 1,
        human_friendly_model_name: String::new(),
        description: String::new(),
        owner: String::new(),
        metadata: BTreeMap::new(),
        limits: LimitsRecord::from(&mlops_manifest::Limits::default()),
        secrets: Vec::new(),
        prediction_files: Default::default(),
        example: None,
        deployed: mlops_registry::now(),
        deployed_by: "t".into(),
    }
}

async fn deletion_leaves_a_tombstone_and_is_refused_while_served(b: &Backend) {
    upload(b, "deleting", Env::Dev, None).await;
    upload(b, "deleting", Env::Dev, None).await;
    let served = service("deleting/dev/2", "deleting-prediction-dev-2");
    b.registry.put_service(&served).await.expect("service");
    let err = b.registry.delete_version(&id("deleting/dev/2"), "t").await.expect_err("served");
    assert!(err.to_string().contains("is run by deleting-prediction-dev-2"), "{}: {err}", b.name);
    b.registry.delete_service(&served.external_id).await.expect("delete service");
    let (left, _) = b.registry.services().await.expect("services");
    assert!(left.iter().all(|s| s.external_id != served.external_id), "{}", b.name);

    b.registry.delete_version(&id("deleting/dev/2"), "t").await.expect("delete");
    let gone = b.registry.manifest(&id("deleting/dev/2")).await.expect_err("deleted");
    assert!(gone.to_string().contains("deleted at"), "{}: {gone}", b.name);
    assert_eq!(
        b.registry.latest_version(&model("deleting"), Env::Dev).await.expect("latest"),
        Some(1)
    );
    assert_eq!(
        upload(b, "deleting", Env::Dev, None).await.version,
        3,
        "{}: numbers are never reused",
        b.name
    );
    let all = VersionFilter {
        model: Some(model("deleting")),
        include_deleted: true,
        ..Default::default()
    };
    assert_eq!(b.registry.list_versions(&all).await.expect("list").len(), 3);
    let live = VersionFilter { model: Some(model("deleting")), ..Default::default() };
    assert_eq!(b.registry.list_versions(&live).await.expect("list").len(), 2);
}

async fn gc_removes_only_old_unreferenced_blobs(b: &Backend) {
    let keep = folder(&[("keep.bin", b"kept by a live version")]);
    let drop = folder(&[("drop.bin", b"only in a deleted version")]);
    upload(b, "collect", Env::Dev, Some(keep.path())).await;
    let doomed = upload(b, "collect", Env::Dev, Some(drop.path())).await;
    let component =
        b.registry.put_blob(Bytes::from_static(b"a component a service runs")).await.expect("blob");
    let mut running = service("collect/dev/1", "collect-prediction-dev-1");
    running.component = component.clone();
    b.registry.put_service(&running).await.expect("service");
    b.registry.delete_version(&doomed.model_id(), "t").await.expect("delete");
    let orphan = b
        .registry
        .put_blob(Bytes::from_static(b"written by an upload in flight"))
        .await
        .expect("blob");

    let young = b.registry.gc(Duration::from_secs(3600), false).await.expect("gc");
    assert!(young.removed.is_empty(), "{}: young blobs are kept: {young:?}", b.name);
    let dry = b.registry.gc(Duration::ZERO, true).await.expect("dry run");
    let dropped = doomed.files[0].blake3.clone();
    let want = [dropped.clone(), orphan.clone()];
    let removed: Vec<String> = dry.removed.iter().map(|(d, _)| d.clone()).collect();
    // Other checks left blobs too; these two must be among the removed.
    assert!(want.iter().all(|w| removed.contains(w)), "{}: {removed:?}", b.name);
    assert!(
        b.registry.has_blob(&dropped).await.expect("head"),
        "{}: a dry run deletes nothing",
        b.name
    );
    b.registry.gc(Duration::ZERO, false).await.expect("gc");
    assert!(!b.registry.has_blob(&dropped).await.expect("head"), "{}", b.name);
    assert!(!b.registry.has_blob(&orphan).await.expect("head"), "{}", b.name);
    assert!(
        b.registry.has_blob(&component).await.expect("head"),
        "{}: a served component stays",
        b.name
    );
    let kept = b.registry.manifest(&id("collect/dev/1")).await.expect("live");
    assert!(
        b.registry.get_blob(&kept.files[0].blake3).await.is_ok(),
        "{}: live files stay",
        b.name
    );
    b.registry.delete_service(&running.external_id).await.expect("cleanup");
}

async fn bad_input_is_refused_and_writes_nothing(b: &Backend) {
    let before = b.keys("").await;
    let empty = tempfile::tempdir().expect("tempdir");
    let err = b
        .registry
        .upload_version(
            &model("bad"),
            Env::Dev,
            Some(empty.path()),
            BTreeMap::new(),
            "t",
            &NoProgress,
        )
        .await
        .expect_err("empty");
    assert!(err.to_string().contains("has no files"), "{}: {err}", b.name);
    let missing = empty.path().join("nope");
    let err = b
        .registry
        .upload_version(&model("bad"), Env::Dev, Some(&missing), BTreeMap::new(), "t", &NoProgress)
        .await
        .expect_err("missing");
    assert!(err.to_string().contains("is not an existing folder"), "{}: {err}", b.name);
    let err = b.registry.manifest(&id("bad/dev/7")).await.expect_err("no such version");
    assert_eq!(err.to_string(), "artifact version bad/dev/7 does not exist", "{}", b.name);
    let err =
        b.registry.promote(&id("bad/dev/7"), Env::Test, "t").await.expect_err("no such version");
    assert!(err.to_string().contains("does not exist"), "{}: {err}", b.name);
    let err = b.registry.delete_version(&id("bad/dev/7"), "t").await.expect_err("no such version");
    assert!(err.to_string().contains("does not exist"), "{}: {err}", b.name);
    assert_eq!(b.keys("").await, before, "{}: bad input wrote something", b.name);
}

async fn metadata_filters_the_overview(b: &Backend) {
    for (rmse, data) in [("2.4", "a"), ("3.1", "b")] {
        let meta = BTreeMap::from([
            ("rmse".to_string(), rmse.to_string()),
            ("data".to_string(), data.to_string()),
        ]);
        b.registry
            .upload_version(&model("meta"), Env::Dev, None, meta, "t", &NoProgress)
            .await
            .expect("upload");
    }
    let filter = VersionFilter {
        model: Some(model("meta")),
        metadata: vec![("rmse".into(), "3.1".into())],
        ..Default::default()
    };
    let found: Vec<String> = b
        .registry
        .list_versions(&filter)
        .await
        .expect("list")
        .iter()
        .map(|m| m.model_id().to_string())
        .collect();
    assert_eq!(found, ["meta/dev/2"], "{}", b.name);
    let by_env =
        VersionFilter { env: Some(Env::Prod), model: Some(model("meta")), ..Default::default() };
    assert!(b.registry.list_versions(&by_env).await.expect("list").is_empty(), "{}", b.name);
}
