//! The CDF client against the local CDF server: files, data sets, tokens,
//! retries, and the registry conformance suite on CDF Files.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlops_cdf::{CdfClient, CdfError, CdfStore, FileFilter, FileRef, FileSpec, Secret};
use mlops_tests::cdf_server::{CdfServer, CdfServerConfig};
use mlops_tests::conformance::{Backend, run_all, unique_prefix};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore as _, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

async fn server() -> CdfServer {
    CdfServer::start(CdfServerConfig::default()).await
}

fn spec(external_id: &str) -> FileSpec {
    FileSpec {
        name: external_id.rsplit('/').next().unwrap_or(external_id).to_string(),
        external_id: Some(external_id.to_string()),
        mime_type: Some("application/json".into()),
        metadata: BTreeMap::from([("kind".to_string(), "test".to_string())]),
        ..Default::default()
    }
}

fn api_calls<'a>(
    cdf: &'a [mlops_tests::cdf_server::Seen],
    suffix: &str,
) -> Vec<&'a mlops_tests::cdf_server::Seen> {
    cdf.iter().filter(|s| s.path.starts_with("/api/") && s.path.ends_with(suffix)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_goes_up_and_comes_back_with_no_credentials_on_presigned_urls() {
    let cdf = server().await;
    let client = cdf.client();
    let body = Bytes::from_static(br#"{"AC": [1.5, 2.5]}"#);
    let info = client.upload_file(&spec("t/a.json"), body.clone(), false).await.expect("upload");
    assert_eq!(info.external_id.as_deref(), Some("t/a.json"));
    let got = client.file(&FileRef::external("t/a.json")).await.expect("byids").expect("known");
    assert!(got.uploaded, "{got:?}");
    assert_eq!(got.mime_type.as_deref(), Some("application/json"));
    assert_eq!(got.metadata["kind"], "test");
    assert_eq!(client.download(&FileRef::external("t/a.json")).await.expect("download"), body);
    assert_eq!(client.download(&FileRef::Id(info.id)).await.expect("by id"), body);

    let seen = cdf.seen();
    let transfers: Vec<_> = seen.iter().filter(|s| s.path.starts_with("/transfer/")).collect();
    assert_eq!(transfers.len(), 3, "one PUT, two GETs: {transfers:?}");
    for t in &transfers {
        assert_eq!(t.authorization, None, "credentials sent to a pre-signed URL: {t:?}");
    }
    let put = transfers.iter().find(|t| t.method == "PUT").expect("a PUT");
    assert_eq!(put.content_length, Some(body.len() as u64), "exact Content-Length");
    assert_eq!(put.content_type.as_deref(), Some("application/json"));
    for s in seen.iter().filter(|s| s.path.starts_with("/api/")) {
        assert!(s.authorization.as_deref().is_some_and(|a| a.starts_with("Bearer ")), "{s:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_files_go_up_in_parts() {
    let cdf = server().await;
    let mut config = cdf.client_config();
    config.multipart_threshold = 6 << 20;
    config.multipart_part_size = 5 << 20;
    let client = CdfClient::new(config).expect("client");
    let big: Vec<u8> =
        (0..(12u32 << 20) + 123).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    client.upload_file(&spec("t/big.bin"), Bytes::from(big.clone()), false).await.expect("upload");
    assert!(cdf.content("t/big.bin").expect("stored") == big, "parts joined in order");
    assert!(client.download(&FileRef::external("t/big.bin")).await.expect("download") == big);
    let seen = cdf.seen();
    let parts: Vec<_> =
        seen.iter().filter(|s| s.method == "PUT" && s.path.starts_with("/transfer/")).collect();
    assert_eq!(parts.len(), 3, "12 MiB in 5 MiB parts");
    assert!(
        parts.iter().all(|p| p.authorization.is_none() && p.content_type.is_none()),
        "{parts:?}"
    );
    assert_eq!(api_calls(&seen, "/files/initmultipartupload").len(), 1);
    assert_eq!(api_calls(&seen, "/files/completemultipartupload").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_external_id_is_duplicated_and_unknown_ids_are_missing() {
    let cdf = server().await;
    let client = cdf.client();
    let first = client
        .upload_file(&spec("t/dup.json"), Bytes::from_static(b"1"), false)
        .await
        .expect("upload");
    let err = client
        .upload_file(&spec("t/dup.json"), Bytes::from_static(b"2"), false)
        .await
        .expect_err("409");
    assert!(err.is_duplicated(), "{err}");
    assert!(err.to_string().contains("t/dup.json") && err.to_string().contains("409"), "{err}");
    assert_eq!(cdf.content("t/dup.json").expect("kept"), "1", "the first file is untouched");

    let again = client
        .upload_file(&spec("t/dup.json"), Bytes::from_static(b"2"), true)
        .await
        .expect("overwrite");
    assert_eq!(again.id, first.id, "overwrite keeps the file");
    assert_eq!(client.download(&FileRef::Id(first.id)).await.expect("download"), "2");

    let err =
        client.files_by_ids(&[FileRef::external("t/nope")], false).await.expect_err("missing");
    assert!(err.is_missing(), "{err}");
    assert!(err.to_string().contains("t/nope"), "{err}");
    assert!(
        client
            .files_by_ids(&[FileRef::external("t/nope")], true)
            .await
            .expect("ignored")
            .is_empty()
    );
    let err = client.download(&FileRef::Id(1)).await.expect_err("missing");
    assert!(err.is_missing(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_follows_cursors_and_filters() {
    let cdf = server().await;
    let mut config = cdf.client_config();
    config.list_page = 2;
    let client = CdfClient::new(config).expect("client");
    for (i, kind) in ["a", "b", "a", "a", "b"].iter().enumerate() {
        let mut s = spec(&format!("list/{i}.json"));
        s.metadata = BTreeMap::from([("kind".to_string(), kind.to_string())]);
        client.upload_file(&s, Bytes::from(format!("{i}")), false).await.expect("upload");
    }
    client
        .upload_file(&spec("other/x.json"), Bytes::from_static(b"x"), false)
        .await
        .expect("upload");

    let by_kind = FileFilter {
        metadata: BTreeMap::from([("kind".to_string(), "a".to_string())]),
        ..Default::default()
    };
    let mut got: Vec<String> = client
        .list_files(&by_kind, None)
        .await
        .expect("list")
        .into_iter()
        .filter_map(|f| f.external_id)
        .collect();
    got.sort();
    assert_eq!(got, ["list/0.json", "list/2.json", "list/3.json"]);
    let prefix = FileFilter { external_id_prefix: Some("list/".into()), ..Default::default() };
    assert_eq!(client.list_files(&prefix, None).await.expect("list").len(), 5);
    assert_eq!(client.list_files(&prefix, Some(3)).await.expect("list").len(), 3, "limit honoured");
    assert!(api_calls(&cdf.seen(), "/files/list").len() >= 3 + 2, "pages of 2 were followed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_updated_and_files_deleted() {
    let cdf = server().await;
    let client = cdf.client();
    let info = client
        .upload_file(&spec("t/m.json"), Bytes::from_static(b"{}"), false)
        .await
        .expect("upload");
    let set = BTreeMap::from([("rmse".to_string(), "2.5".to_string())]);
    let updated = client
        .update_file_metadata(&FileRef::Id(info.id), &set, &["kind".to_string()])
        .await
        .expect("update");
    assert_eq!(updated.metadata, set);
    let too_big = BTreeMap::from([("k".to_string(), "v".repeat(10_241))]);
    let err =
        client.update_file_metadata(&FileRef::Id(info.id), &too_big, &[]).await.expect_err("limit");
    assert!(matches!(err, CdfError::Invalid(_)) && err.to_string().contains("10240"), "{err}");

    client.delete_files(&[FileRef::external("t/m.json")], false).await.expect("delete");
    assert!(client.file(&FileRef::Id(info.id)).await.expect("byids").is_none());
    let err = client.delete_files(&[FileRef::external("t/m.json")], false).await.expect_err("gone");
    assert!(err.is_missing(), "{err}");
    client.delete_files(&[FileRef::external("t/m.json")], true).await.expect("ignored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_throttled_creates_then_success_uploads() {
    let cdf = server().await;
    let client = cdf.client();
    client.token(false).await.expect("sign in first");
    cdf.fail_next("/files", 429, 3);
    client
        .upload_file(&spec("t/throttled.json"), Bytes::from_static(b"[1]"), false)
        .await
        .expect("upload");
    let statuses: Vec<u16> = api_calls(&cdf.seen(), "/files").iter().map(|s| s.status).collect();
    assert_eq!(statuses, [429, 429, 429, 201]);
    assert_eq!(cdf.content("t/throttled.json").expect("stored"), "[1]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_answered_503_is_not_repeated_but_reads_are() {
    let cdf = server().await;
    let mut config = cdf.client_config();
    config.max_retries = 3;
    let client = CdfClient::new(config).expect("client");
    client.token(false).await.expect("sign in first");
    cdf.fail_next("/files", 503, u64::MAX);
    let err = client
        .upload_file(&spec("t/503.json"), Bytes::from_static(b"1"), false)
        .await
        .expect_err("503");
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(
        api_calls(&cdf.seen(), "/files").len(),
        1,
        "a create may have taken effect: not repeated"
    );

    let err = client.files_by_ids(&[FileRef::Id(1)], true).await.expect_err("503");
    assert_eq!(err.status(), Some(503));
    assert_eq!(api_calls(&cdf.seen(), "/files/byids").len(), 4, "a read is retried (3 retries)");
    assert!(err.to_string().contains("req-"), "the request id is reported: {err}");
    cdf.clear_faults();
    assert!(cdf.files().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_leaves_no_file() {
    let cdf = server().await;
    let client = cdf.client();
    cdf.fail_next("/transfer/", 403, u64::MAX);
    let err = client
        .upload_file(&spec("t/half.json"), Bytes::from_static(b"1"), false)
        .await
        .expect_err("403");
    assert!(matches!(err, CdfError::Transfer { status: 403, .. }), "{err}");
    assert!(cdf.files().is_empty(), "the created file was removed: {:?}", cdf.files());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_they_expire() {
    for as_string in [false, true] {
        let cdf = CdfServer::start(CdfServerConfig {
            token_lifetime: Duration::from_secs(2),
            expires_in_as_string: as_string,
            ..Default::default()
        })
        .await;
        let client = cdf.client();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(3200) {
            client.list_files(&FileFilter::default(), None).await.expect("every call succeeds");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            cdf.tokens_issued() >= 2,
            "expires_in as string: {as_string}: {}",
            cdf.tokens_issued()
        );
        assert!(
            cdf.seen().iter().all(|s| s.status != 401),
            "no call was refused: refreshed in time"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_replaced_once_and_concurrent_callers_share_a_sign_in() {
    let cdf = server().await;
    let client = cdf.client();
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.list_files(&FileFilter::default(), None).await })
        })
        .collect();
    for c in calls {
        c.await.expect("task").expect("list");
    }
    assert_eq!(cdf.tokens_issued(), 1, "one sign-in for 16 concurrent calls");
    cdf.revoke_tokens();
    client.list_files(&FileFilter::default(), None).await.expect("refreshed after a 401");
    assert_eq!(cdf.tokens_issued(), 2);
    assert_eq!(client.tokens_fetched(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_is_a_clear_auth_error_that_does_not_show_it() {
    let cdf = server().await;
    let mut config = cdf.client_config();
    config.client_secret = Secret::new(mlops_tests::secrets::WRONG_CDF_SECRET);
    assert!(
        !format!("{config:?}").contains(mlops_tests::secrets::WRONG_CDF_SECRET),
        "Debug shows the secret"
    );
    let client = CdfClient::new(config).expect("client");
    let err = client.list_files(&FileFilter::default(), None).await.expect_err("refused");
    assert!(matches!(err, CdfError::Auth { status: Some(401), .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("sign-in failed")
            && msg.contains("invalid_client")
            && msg.contains("client secret"),
        "{msg}"
    );
    assert!(
        !msg.contains(mlops_tests::secrets::WRONG_CDF_SECRET)
            && !format!("{err:?}").contains(mlops_tests::secrets::WRONG_CDF_SECRET)
    );
    assert!(cdf.seen().iter().all(|s| !s.path.starts_with("/api/")), "no API call without a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_sets_are_created_once_looked_up_and_listed() {
    let cdf = server().await;
    let client = cdf.client();
    assert_eq!(client.data_set("mlops").await.expect("byids"), None);
    let err = client.data_set_id("mlops", false).await.expect_err("absent");
    assert!(err.to_string().contains("no data set `mlops`"), "{err}");
    let racing: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.data_set_id("mlops", true).await })
        })
        .collect();
    let mut ids = Vec::new();
    for r in racing {
        ids.push(r.await.expect("task").expect("id"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one data set for four racing creators: {ids:?}");
    assert_eq!(client.data_set("mlops").await.expect("byids").map(|d| d.id), Some(ids[0]));
    let listed = client.list_data_sets(Some("ml")).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].external_id.as_deref(), Some("mlops"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_is_awaited_until_marked_uploaded() {
    let cdf = CdfServer::start(CdfServerConfig {
        uploaded_delay: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let client = cdf.client();
    let info = client
        .upload_file(&spec("t/slow.json"), Bytes::from_static(b"1"), false)
        .await
        .expect("upload");
    assert!(!info.uploaded);
    assert!(!client.file(&FileRef::Id(info.id)).await.expect("byids").expect("known").uploaded);
    let started = Instant::now();
    let done = client
        .await_uploaded(&FileRef::Id(info.id), Duration::from_secs(5))
        .await
        .expect("uploaded");
    assert!(done.uploaded && started.elapsed() >= Duration::from_millis(200));
    let err = {
        let other = client
            .upload_file(&spec("t/slow2.json"), Bytes::from_static(b"2"), false)
            .await
            .expect("up");
        client
            .await_uploaded(&FileRef::Id(other.id), Duration::from_millis(50))
            .await
            .expect_err("too soon")
    };
    assert!(matches!(err, CdfError::NotUploaded { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_cdf_times_out() {
    let cdf = server().await;
    let mut config = cdf.client_config();
    config.timeout = Duration::from_millis(200);
    config.max_retries = 1;
    let client = CdfClient::new(config).expect("client");
    client.token(false).await.expect("sign in first");
    cdf.set_latency(Duration::from_secs(1));
    let started = Instant::now();
    let err = client.list_files(&FileFilter::default(), None).await.expect_err("slow");
    assert!(matches!(err, CdfError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_millis(900), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_accepts_gzip_bodies_and_refuses_bad_requests() {
    use std::io::Write as _;
    let cdf = server().await;
    let client = cdf.client();
    client.upload_file(&spec("t/z.json"), Bytes::from_static(b"1"), false).await.expect("upload");
    let token = client.token(false).await.expect("token");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(br#"{"items": [{"externalId": "t/z.json"}]}"#).expect("gzip");
    let url = format!("{}/api/v1/projects/{}/files/byids", cdf.url(), cdf.config().project);
    let http = mlops_tests::http();
    let resp = http
        .post(&url)
        .header("authorization", format!("Bearer {}", token.expose()))
        .header("content-encoding", "gzip")
        .header("content-type", "application/json")
        .body(gz.finish().expect("gzip"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["items"][0]["externalId"], "t/z.json");
    let no_bearer = http.post(&url).body("{}").send().await.expect("send");
    assert_eq!(no_bearer.status(), 401);
    let too_many = http
        .post(format!("{}/api/v1/projects/{}/files/list", cdf.url(), cdf.config().project))
        .header("authorization", format!("Bearer {}", token.expose()))
        .body(r#"{"limit": 1001}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(too_many.status(), 400);
}

fn cdf_store(cdf: &CdfServer, test: &str) -> Arc<CdfStore> {
    let mut config = cdf.client_config();
    config.multipart_threshold = 16 << 20;
    config.multipart_part_size = 8 << 20;
    let client = CdfClient::new(config).expect("client");
    Arc::new(CdfStore::new(client, "mlops", &unique_prefix(test)).expect("store"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_cdf_files() {
    let cdf = CdfServer::start(CdfServerConfig {
        uploaded_delay: Duration::from_millis(20),
        ..Default::default()
    })
    .await;
    run_all(&Backend::new("cdf", cdf_store(&cdf, "conformance"))).await;
    // The store wrote into its data set, created on first use.
    let ds = cdf.client().data_set("mlops").await.expect("byids").expect("created");
    assert!(cdf.files().iter().all(|f| f["dataSetId"] == ds.id), "every file is in the data set");
    assert!(
        cdf.files().iter().any(|f| f["metadata"]["mlops_size"].as_str().is_some()),
        "sizes are kept in metadata"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_on_the_cdf_store_have_exactly_one_winner() {
    let cdf = server().await;
    let store = cdf_store(&cdf, "race");
    let path = StorePath::from("models/m/dev/1.json");
    let racing: Vec<_> = (0..16)
        .map(|i| {
            let (store, path) = (store.clone(), path.clone());
            tokio::spawn(async move {
                let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
                store.put_opts(&path, PutPayload::from(format!("{i}")), opts).await
            })
        })
        .collect();
    let mut won = 0;
    for r in racing {
        match r.await.expect("task") {
            Ok(_) => won += 1,
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(won, 1);
    let got = store.get(&path).await.expect("get").bytes().await.expect("bytes");
    assert_eq!(store.head(&path).await.expect("head").size, got.len() as u64);
}

/// The test server is faithful enough for Cognite's own Python SDK: it
/// creates a data set, uploads (single part and multipart), lists, reads a
/// file our client wrote, and deletes. Needs a Python with `cognite-sdk`:
/// MLOPS_TEST_PYTHON (set by .ci/run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_cognite_sdk_works_against_the_test_server() {
    let Some(python) = std::env::var_os("MLOPS_TEST_PYTHON") else {
        mlops_tests::skip(
            "the cognite-sdk test",
            "MLOPS_TEST_PYTHON is not set to a Python with cognite-sdk (.ci/run makes one)",
        );
        return;
    };
    let cdf = server().await;
    let prediction = br#"{"AC": [110.25, null]}"#;
    cdf.client()
        .upload_file(&spec("rust/pred.json"), Bytes::from_static(prediction), false)
        .await
        .expect("upload");
    let script = mlops_tests::repo_root().join("tests/python/cognite_sdk_roundtrip.py");
    let c = cdf.config();
    let out = tokio::process::Command::new(python)
        .arg(script)
        .env("CDF_BASE_URL", cdf.url())
        .env("CDF_PROJECT", &c.project)
        .env("CDF_TOKEN_URL", cdf.token_url())
        .env("CDF_CLIENT_ID", &c.client_id)
        .env("CDF_CLIENT_SECRET", &c.client_secret)
        .env("READ_EXTERNAL_ID", "rust/pred.json")
        // The token URL is plain HTTP on loopback.
        .env("OAUTHLIB_INSECURE_TRANSPORT", "1")
        .output()
        .await
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cognite-sdk failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON summary");
    assert_eq!(got["read"], serde_json::from_slice::<serde_json::Value>(prediction).expect("json"));
    assert_eq!(got["duplicated"], serde_json::json!(["py/pred.json"]));
    assert_eq!(got["missing"], serde_json::json!(["py/pred.json"]));
    let seen = cdf.seen();
    assert!(
        seen.iter().any(|s| s.content_encoding.as_deref() == Some("gzip")),
        "the SDK sent gzip bodies, and they were understood"
    );
    assert!(
        seen.iter().any(|s| s.path.starts_with("/transfer/") && s.authorization.is_some()),
        "the SDK's bearer on pre-signed URLs was tolerated (and recorded)"
    );
    assert!(seen.iter().any(|s| s.path.ends_with("/files/initmultipartupload") && s.status == 201));
}
