use std::collections::BTreeMap;

use mlops_manifest::Version;
use object_store::{ObjectStoreExt as _, PutPayload};

use super::*;

fn model() -> ModelName {
    ModelName::new("well_log").expect("name")
}

fn artifact_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("model.json"), br#"{"a":1}"#).expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("sub/weights.bin"), [1u8, 2, 3]).expect("write");
    dir
}

#[tokio::test]
async fn upload_then_download_gives_the_same_files() {
    let reg = Registry::memory();
    let folder = artifact_folder();
    let meta = BTreeMap::from([("rmse".to_string(), "2.4".to_string())]);
    let m = reg
        .upload_version(&model(), Env::Dev, Some(folder.path()), meta, "tester", &NoProgress)
        .await
        .expect("upload");
    assert_eq!(m.version, 1);
    assert_eq!(m.model_id().to_string(), "well_log/dev/1");
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["model.json", "sub/weights.bin"]);
    assert_eq!(reg.manifest(&m.model_id()).await.expect("read back"), m);

    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("v1");
    reg.download(&m, &dest, &NoProgress).await.expect("download");
    assert_eq!(std::fs::read(dest.join("model.json")).expect("read"), br#"{"a":1}"#);
    assert_eq!(std::fs::read(dest.join("sub/weights.bin")).expect("read"), [1, 2, 3]);
}

#[tokio::test]
async fn versions_count_up_per_model_and_env() {
    let reg = Registry::memory();
    for want in 1..=3 {
        let m = reg
            .upload_version(&model(), Env::Dev, None, BTreeMap::new(), "t", &NoProgress)
            .await
            .expect("upload");
        assert_eq!(m.version, want);
    }
    let test = reg
        .upload_version(&model(), Env::Test, None, BTreeMap::new(), "t", &NoProgress)
        .await
        .expect("upload");
    assert_eq!(test.version, 1, "each env counts on its own");
    assert_eq!(reg.versions(&model(), Env::Dev).await.expect("list"), [1, 2, 3]);
    assert_eq!(reg.latest_version(&model(), Env::Prod).await.expect("latest"), None);
    assert_eq!(reg.list_versions(&VersionFilter::default()).await.expect("list").len(), 4);
}

#[tokio::test]
async fn concurrent_uploads_get_distinct_gap_free_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::local(dir.path()).expect("open");
    let uploads = (0..8).map(|_| {
        let reg = reg.clone();
        tokio::spawn(async move {
            reg.upload_version(&model(), Env::Dev, None, BTreeMap::new(), "t", &NoProgress).await
        })
    });
    let mut got: Vec<Version> = Vec::new();
    for u in uploads {
        got.push(u.await.expect("task").expect("upload").version);
    }
    got.sort_unstable();
    assert_eq!(got, (1..=8).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_tampered_blob_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::local(dir.path()).expect("open");
    let folder = artifact_folder();
    let m = reg
        .upload_version(&model(), Env::Dev, Some(folder.path()), BTreeMap::new(), "t", &NoProgress)
        .await
        .expect("upload");
    let blob = &m.files[0].blake3;
    std::fs::write(dir.path().join("blobs").join(blob), b"{\"a\":2}").expect("tamper");

    let err = reg.get_blob(blob).await.expect_err("tampered");
    assert!(matches!(err, RegistryError::CorruptBlob { .. }), "{err}");
    assert!(err.to_string().contains("tampered with or damaged"), "{err}");
    let out = tempfile::tempdir().expect("tempdir");
    let dest = out.path().join("v1");
    assert!(reg.download(&m, &dest, &NoProgress).await.is_err());
    assert!(!dest.exists(), "a failed download leaves nothing behind");
}

#[tokio::test]
async fn a_manifest_pointing_outside_its_folder_is_refused() {
    let reg = Registry::memory();
    let m = reg
        .upload_version(&model(), Env::Dev, None, BTreeMap::new(), "t", &NoProgress)
        .await
        .expect("upload");
    let mut evil = m.clone();
    evil.files.push(ArtifactFile {
        path: "../../etc/cron.d/x".into(),
        size: 1,
        blake3: "0".repeat(64),
    });
    let path = manifest_path(&m.model_id());
    reg.store.put(&path, PutPayload::from(to_json(&evil).expect("json"))).await.expect("put");
    let err = reg.manifest(&m.model_id()).await.expect_err("refused");
    assert!(err.to_string().contains("is not a plain relative path"), "{err}");
}

#[tokio::test]
async fn symlinks_in_an_artifact_folder_are_refused() {
    let folder = artifact_folder();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", folder.path().join("passwd")).expect("symlink");
    #[cfg(unix)]
    {
        let reg = Registry::memory();
        let err = reg
            .upload_version(
                &model(),
                Env::Dev,
                Some(folder.path()),
                BTreeMap::new(),
                "t",
                &NoProgress,
            )
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(reg.versions(&model(), Env::Dev).await.expect("list"), Vec::<Version>::new());
    }
}

fn service_record(version: u64) -> ServiceRecord {
    ServiceRecord {
        format: SERVICE_FORMAT.into(),
        external_id: format!("well_log-prediction-dev-{version}").parse().expect("id"),
        alias_of: None,
        model: model(),
        service: mlops_manifest::ServiceKind::Prediction,
        env: Env::Dev,
        model_id: format!("well_log/dev/{version}").parse().expect("model id"),
        component: "a".repeat(64),
        component_size: 10,
        human_friendly_model_name: "Well log".into(),
        description: String::new(),
        owner: String::new(),
        metadata: BTreeMap::new(),
        limits: LimitsRecord::from(&mlops_manifest::Limits::default()),
        secrets: Vec::new(),
        prediction_files: Default::default(),
        example: None,
        deployed: now(),
        deployed_by: "t".into(),
    }
}

#[tokio::test]
async fn service_records_round_trip_and_alias() {
    let reg = Registry::memory();
    let id: ExternalId = "well_log-prediction-dev-1".parse().expect("id");
    let record = service_record(1);
    reg.put_service(&record).await.expect("put");
    reg.put_service(&record.as_alias()).await.expect("put alias");
    assert_eq!(reg.service(&id).await.expect("get"), Some(record.clone()));
    let alias = reg.service(&id.alias()).await.expect("get").expect("alias exists");
    assert_eq!(alias.alias_of, Some(id.clone()));
    let (all, bad) = reg.services().await.expect("list");
    assert!(bad.is_empty());
    let ids: Vec<String> = all.iter().map(|r| r.external_id.to_string()).collect();
    assert_eq!(ids, ["well_log-prediction-dev", "well_log-prediction-dev-1"]);
    assert_eq!(reg.service(&"other-prediction-dev".parse().expect("id")).await.expect("get"), None);
}

#[tokio::test]
async fn every_service_change_moves_the_change_token_and_watching_is_one_head() {
    let folder = tempfile::tempdir().expect("tempdir");
    for reg in [Registry::memory(), Registry::local(folder.path()).expect("open")] {
        let location = reg.location().to_string();
        assert_eq!(reg.services_change().await.expect("token"), None, "{location}: nothing yet");
        let mut seen: Vec<String> = Vec::new();
        let changed = |seen: &mut Vec<String>, token: Option<String>, what: &str| {
            let token = token.unwrap_or_else(|| panic!("{location}: no token after {what}"));
            assert!(!seen.contains(&token), "{location}: {what} did not move the token");
            seen.push(token);
        };
        reg.publish_service(&service_record(1)).await.expect("publish 1");
        changed(&mut seen, reg.services_change().await.expect("token"), "publish");
        // Reading the token, or the records, changes nothing.
        let _ = reg.services().await.expect("list");
        assert_eq!(reg.services_change().await.expect("token").as_ref(), seen.last());
        reg.publish_service(&service_record(2)).await.expect("publish 2");
        changed(&mut seen, reg.services_change().await.expect("token"), "a second publish");
        let alias: ExternalId = "well_log-prediction-dev".parse().expect("id");
        reg.redeploy(&alias, 1).await.expect("redeploy");
        changed(&mut seen, reg.services_change().await.expect("token"), "redeploy");
        reg.delete_service(&"well_log-prediction-dev-2".parse().expect("id"))
            .await
            .expect("delete");
        changed(&mut seen, reg.services_change().await.expect("token"), "delete");

        // Watching costs one HEAD request and nothing else.
        let before = reg.store_requests();
        reg.services_change().await.expect("token");
        let after = reg.store_requests();
        assert_eq!(after.head, before.head + 1, "{location}");
        assert_eq!(after.total(), before.total() + 1, "{location}");
        // And the counter sees listings and reads as what they are.
        let _ = reg.services().await.expect("list");
        let listed = reg.store_requests();
        assert_eq!(listed.list, after.list + 1, "{location}");
        assert_eq!(listed.get, after.get + 2, "{location}: the alias and version 1");
    }
}

#[tokio::test]
async fn predictions_are_stored_and_read_back_by_id() {
    let reg = Registry::memory();
    let id = reg
        .put_prediction(&model(), Env::Dev, Bytes::from_static(b"{\"AC\":[1]}"))
        .await
        .expect("put");
    assert!(id.starts_with("predictions/well_log/dev/"), "{id}");
    assert_eq!(reg.get_prediction(&id).await.expect("get"), Bytes::from_static(b"{\"AC\":[1]}"));
    assert!(reg.get_prediction("blobs/../services/x").await.is_err());
}

fn imported(env: Env, version: Version, files: Vec<ArtifactFile>) -> ArtifactManifest {
    ArtifactManifest {
        format: ARTIFACT_FORMAT.to_string(),
        model: ModelName::new("PorosityNet").expect("name"),
        env,
        version,
        files,
        metadata: BTreeMap::from([("version".to_string(), version.to_string())]),
        created: "2023-05-04T10:11:12.000Z".to_string(),
        created_by: "imported".to_string(),
        promoted_from: None,
        deleted: None,
    }
}

#[tokio::test]
async fn an_import_keeps_numbers_times_and_provenance_and_resumes_without_duplicates() {
    let reg = Registry::memory();
    let blob = reg.put_blob(bytes::Bytes::from_static(b"weights")).await.expect("blob");
    let file = ArtifactFile { path: "w.bin".into(), size: 7, blake3: blob };
    let v5 = imported(Env::Dev, 5, vec![file.clone()]);
    assert_eq!(
        reg.import_version(v5.clone()).await.expect("import"),
        Imported::Written(v5.clone())
    );
    // Run again (a resumed import): nothing new.
    assert_eq!(
        reg.import_version(v5.clone()).await.expect("again"),
        Imported::AlreadyThere(v5.clone())
    );
    // A gap the other registry deleted stays taken.
    let gone = ArtifactManifest {
        deleted: Some(Deletion { at: now(), by: "gone before the import".into() }),
        ..imported(Env::Dev, 6, vec![])
    };
    reg.import_version(gone.clone()).await.expect("tombstone");
    // Recorded again later (another run): the same deleted number.
    let again = ArtifactManifest { created: now(), ..gone };
    assert!(matches!(reg.import_version(again).await, Ok(Imported::AlreadyThere(_))));
    let promoted = ArtifactManifest {
        promoted_from: Some(v5.model_id()),
        ..imported(Env::Test, 5, vec![file.clone()])
    };
    reg.import_version(promoted).await.expect("promoted");
    let read = reg.manifest(&"PorosityNet/test/5".parse().expect("id")).await.expect("read");
    assert_eq!(read.created, "2023-05-04T10:11:12.000Z");
    assert_eq!(read.promoted_from, Some(v5.model_id()));
    assert_eq!(reg.versions(&v5.model, Env::Dev).await.expect("versions"), [5]);
    // New uploads continue after the imported numbers, deleted ones included.
    let folder = artifact_folder();
    let next = reg
        .upload_version(&v5.model, Env::Dev, Some(folder.path()), BTreeMap::new(), "t", &NoProgress)
        .await
        .expect("upload");
    assert_eq!(next.version, 7);
    // A number taken by something else is refused, not overwritten.
    let other = ArtifactManifest { metadata: BTreeMap::new(), ..v5.clone() };
    let err = reg.import_version(other).await.expect_err("conflict").to_string();
    assert!(err.contains("PorosityNet/dev/5 already exists"), "{err}");
    // Files must be in the store first.
    let missing = ArtifactFile { path: "x".into(), size: 1, blake3: "0".repeat(64) };
    let err = reg
        .import_version(imported(Env::Prod, 1, vec![missing]))
        .await
        .expect_err("no blob")
        .to_string();
    assert!(err.contains("is not in the store"), "{err}");
}

#[tokio::test]
async fn model_names_that_differ_only_in_case_cannot_share_a_store() {
    let reg = Registry::memory();
    let folder = artifact_folder();
    let upload = |name: &'static str| {
        let reg = reg.clone();
        let path = folder.path().to_path_buf();
        async move {
            let name = ModelName::new(name).expect("name");
            reg.upload_version(&name, Env::Dev, Some(&path), BTreeMap::new(), "t", &NoProgress)
                .await
        }
    };
    upload("PorosityNet").await.expect("first");
    upload("PorosityNet").await.expect("same name again");
    let err = upload("porositynet").await.expect_err("case twin").to_string();
    assert!(err.contains("differs from `PorosityNet`") && err.contains("only in case"), "{err}");
}
