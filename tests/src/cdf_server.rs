//! A local CDF: the token endpoint, Files and Data sets of the contract in
//! shared/reference/cdf-api.md §8, faithful enough for our client and the
//! Python `cognite-sdk`. In memory, on loopback.
//!
//! - every API call needs a bearer the token endpoint issued and that has
//!   not expired (401 otherwise); tokens can be revoked to force a refresh;
//! - request bodies may be gzip-compressed (`Content-Encoding: gzip`);
//! - pre-signed upload and download URLs need no bearer; one sent anyway is
//!   tolerated and recorded, so tests can check our client sends none;
//! - 409 `duplicated` on an existing external id without `overwrite`,
//!   `missing` on unknown ids (unless `ignoreUnknownIds`), cursors, item and
//!   field limits (400), `uploaded` turning true a configurable time after
//!   the bytes arrive;
//! - faults: the next N requests whose path contains a string answer a
//!   status (429, 503…); added latency.
#![allow(
    clippy::result_large_err,
    reason = "a test server: an error is the whole HTTP answer, built once per refused request"
)]

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct CdfServerConfig {
    pub project: String,
    pub client_id: String,
    pub client_secret: String,
    /// `expires_in` of issued tokens (they stop working after it).
    pub token_lifetime: Duration,
    /// Send `expires_in` as a string, as some identity providers do.
    pub expires_in_as_string: bool,
    /// How long after its bytes arrive a file is marked uploaded.
    pub uploaded_delay: Duration,
    /// Refuse non-last multipart parts under 5 MiB, as S3 does.
    pub strict_part_size: bool,
}

impl Default for CdfServerConfig {
    fn default() -> Self {
        CdfServerConfig {
            project: "mlops-test".into(),
            client_id: "mlops-client".into(),
            client_secret: crate::secrets::CDF_CLIENT_SECRET.into(),
            token_lifetime: Duration::from_secs(3600),
            expires_in_as_string: false,
            uploaded_delay: Duration::ZERO,
            strict_part_size: true,
        }
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Without the query.
    pub path: String,
    pub authorization: Option<String>,
    pub content_encoding: Option<String>,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub status: u16,
}

#[derive(Debug)]
struct Fault {
    path_contains: String,
    status: u16,
    remaining: u64,
}

#[derive(Debug, Clone)]
struct FileRec {
    fields: Map<String, Value>,
    id: i64,
    created: i64,
    updated: i64,
    content: Option<Bytes>,
    /// When the content arrived plus the configured delay.
    uploaded_at: Option<Instant>,
    uploaded_time: Option<i64>,
    /// The open multipart upload: its id and parts.
    multipart: Option<(String, Vec<Option<Bytes>>)>,
}

impl FileRec {
    fn uploaded(&self) -> bool {
        self.content.is_some() && self.uploaded_at.is_some_and(|t| Instant::now() >= t)
    }

    fn external_id(&self) -> Option<&str> {
        self.fields.get("externalId").and_then(Value::as_str)
    }

    fn to_json(&self) -> Value {
        let mut v = self.fields.clone();
        v.insert("id".into(), json!(self.id));
        v.insert("uploaded".into(), json!(self.uploaded()));
        v.insert("createdTime".into(), json!(self.created));
        v.insert("lastUpdatedTime".into(), json!(self.updated));
        if self.uploaded()
            && let Some(t) = self.uploaded_time
        {
            v.insert("uploadedTime".into(), json!(t));
        }
        Value::Object(v)
    }
}

#[derive(Debug, Clone)]
enum Transfer {
    /// Single-part upload of a file.
    Whole(i64),
    /// Part `n` of the multipart upload `upload_id`.
    Part {
        file: i64,
        upload_id: String,
        n: usize,
    },
    Download {
        file: i64,
        until: Instant,
    },
}

#[derive(Debug, Default)]
struct Data {
    next_id: i64,
    files: BTreeMap<i64, FileRec>,
    data_sets: BTreeMap<i64, Map<String, Value>>,
    transfers: HashMap<String, Transfer>,
    tokens: HashMap<String, Instant>,
    faults: Vec<Fault>,
    seen: Vec<Seen>,
}

struct State {
    config: CdfServerConfig,
    addr: SocketAddr,
    data: Mutex<Data>,
    latency_ms: AtomicU64,
    tokens_issued: AtomicU64,
    request_ids: AtomicU64,
}

/// A running local CDF. Stops when dropped.
pub struct CdfServer {
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CdfServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Reply = Response<Full<Bytes>>;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// An unguessable string: blake3 of a counter and the time (no new
/// dependency for a test server).
fn token() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    blake3::hash(format!("{n}-{t}").as_bytes()).to_hex()[..32].to_string()
}

fn reply(status: StatusCode, body: &Value) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    r
}

fn api_error(status: StatusCode, message: &str) -> Reply {
    reply(status, &json!({ "error": { "code": status.as_u16(), "message": message } }))
}

fn missing(items: Vec<Value>) -> Reply {
    reply(
        StatusCode::BAD_REQUEST,
        &json!({ "error": { "code": 400, "message": "Files ids not found", "missing": items } }),
    )
}

fn text(status: StatusCode, body: &str) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r
}

impl CdfServer {
    /// Starts a server on a free loopback port.
    pub async fn start(config: CdfServerConfig) -> CdfServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(State {
            config,
            addr,
            data: Mutex::new(Data { next_id: 1_000_000_000_001, ..Default::default() }),
            latency_ms: AtomicU64::new(0),
            tokens_issued: AtomicU64::new(0),
            request_ids: AtomicU64::new(1),
        });
        let serving = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let state = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        CdfServer { state, task }
    }

    /// `http://127.0.0.1:<port>`: the base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.state.addr)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.url())
    }

    /// A client configuration for this server, with quick back-off.
    pub fn client_config(&self) -> mlops_cdf::CdfConfig {
        let c = &self.state.config;
        let mut config = mlops_cdf::CdfConfig::new(
            &self.url(),
            &c.project,
            &self.token_url(),
            &c.client_id,
            mlops_cdf::Secret::new(c.client_secret.clone()),
            vec![format!("{}/.default", self.url())],
        );
        config.backoff_base = Duration::from_millis(10);
        config.backoff_cap = Duration::from_millis(200);
        config.timeout = Duration::from_secs(10);
        config
    }

    /// A client of this server, with quick back-off.
    pub fn client(&self) -> mlops_cdf::CdfClient {
        mlops_cdf::CdfClient::new(self.client_config()).expect("client")
    }

    pub fn config(&self) -> &CdfServerConfig {
        &self.state.config
    }

    /// The environment that points `mlops-host` at this server.
    pub fn host_env(&self) -> Vec<(String, String)> {
        let c = &self.state.config;
        [
            ("MLOPS_CDF_BASE_URL", self.url()),
            ("MLOPS_CDF_PROJECT", c.project.clone()),
            ("MLOPS_CDF_TOKEN_URL", self.token_url()),
            ("MLOPS_CDF_CLIENT_ID", c.client_id.clone()),
            ("MLOPS_CDF_CLIENT_SECRET", c.client_secret.clone()),
            ("MLOPS_CDF_SCOPES", format!("{}/.default", self.url())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The next `count` requests whose path contains `path_contains` answer
    /// `status` (`u64::MAX`: until [`CdfServer::clear_faults`]).
    pub fn fail_next(&self, path_contains: &str, status: u16, count: u64) {
        self.state.data.lock().expect("lock").faults.push(Fault {
            path_contains: path_contains.to_string(),
            status,
            remaining: count,
        });
    }

    pub fn clear_faults(&self) {
        self.state.data.lock().expect("lock").faults.clear();
    }

    /// Delay before every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.state.latency_ms.store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    /// Forgets every token issued: the next API call with one gets 401.
    pub fn revoke_tokens(&self) {
        self.state.data.lock().expect("lock").tokens.clear();
    }

    pub fn tokens_issued(&self) -> u64 {
        self.state.tokens_issued.load(Ordering::Relaxed)
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.data.lock().expect("lock").seen.clone()
    }

    /// Every file (uploaded or not) as CDF would describe it.
    pub fn files(&self) -> Vec<Value> {
        self.state.data.lock().expect("lock").files.values().map(FileRec::to_json).collect()
    }

    /// The content of the file with this external id.
    pub fn content(&self, external_id: &str) -> Option<Bytes> {
        let data = self.state.data.lock().expect("lock");
        data.files
            .values()
            .find(|f| f.external_id() == Some(external_id))
            .and_then(|f| f.content.clone())
    }

    /// Creates a data set directly (as an administrator would).
    pub fn add_data_set(&self, external_id: &str, write_protected: bool) -> i64 {
        let mut data = self.state.data.lock().expect("lock");
        data.next_id += 1;
        let id = data.next_id;
        let t = now_ms();
        let mut ds = Map::new();
        ds.insert("id".into(), json!(id));
        ds.insert("externalId".into(), json!(external_id));
        ds.insert("writeProtected".into(), json!(write_protected));
        ds.insert("createdTime".into(), json!(t));
        ds.insert("lastUpdatedTime".into(), json!(t));
        data.data_sets.insert(id, ds);
        id
    }
}

async fn handle(state: &State, req: Request<Incoming>) -> Reply {
    let latency = state.latency_ms.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let header =
        |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut seen = Seen {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        authorization: header("authorization"),
        content_encoding: header("content-encoding"),
        content_type: header("content-type"),
        content_length: header("content-length").and_then(|v| v.parse().ok()),
        status: 0,
    };
    let mut resp = route(state, req).await;
    let id = state.request_ids.fetch_add(1, Ordering::Relaxed);
    if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("req-{id}")) {
        resp.headers_mut().insert("x-request-id", v);
    }
    seen.status = resp.status().as_u16();
    state.data.lock().expect("lock").seen.push(seen);
    resp
}

/// The request body, gunzipped when sent compressed.
async fn body(req: Request<Incoming>) -> Result<Bytes, Reply> {
    let gzip = req
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let bytes = req
        .into_body()
        .collect()
        .await
        .map_err(|e| text(StatusCode::BAD_REQUEST, &e.to_string()))?
        .to_bytes();
    if !gzip {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .map_err(|e| api_error(StatusCode::BAD_REQUEST, &format!("bad gzip body: {e}")))?;
    Ok(Bytes::from(out))
}

async fn json_body(req: Request<Incoming>) -> Result<Value, Reply> {
    let bytes = body(req).await?;
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| api_error(StatusCode::BAD_REQUEST, &format!("Invalid JSON: {e}")))
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn route(state: &State, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_string();
    {
        let mut data = state.data.lock().expect("lock");
        if let Some(f) =
            data.faults.iter_mut().find(|f| f.remaining > 0 && path.contains(&f.path_contains))
        {
            f.remaining = f.remaining.saturating_sub(1);
            let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return api_error(status, "injected fault");
        }
    }
    if path == "/oauth2/token" && req.method() == Method::POST {
        return token_endpoint(state, req).await;
    }
    if let Some(t) = path.strip_prefix("/transfer/") {
        let t = t.to_string();
        return transfer(state, req, &t).await;
    }
    let prefix = format!("/api/v1/projects/{}/", state.config.project);
    let Some(rest) = path.strip_prefix(&prefix).map(str::to_string) else {
        if path.starts_with("/api/v1/projects/") {
            return api_error(StatusCode::UNAUTHORIZED, "Unauthorized: no access to this project");
        }
        return api_error(StatusCode::NOT_FOUND, &format!("no route {path}"));
    };
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| {
            state
                .data
                .lock()
                .expect("lock")
                .tokens
                .get(t)
                .is_some_and(|until| Instant::now() < *until)
        });
    if !authorized {
        return api_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let q = query(&req);
    let method = req.method().clone();
    if method == Method::GET
        && let Some(id) = rest.strip_prefix("files/")
    {
        let data = state.data.lock().expect("lock");
        return match id.parse::<i64>().ok().and_then(|id| data.files.get(&id)) {
            Some(f) => reply(StatusCode::OK, &f.to_json()),
            None => missing(vec![
                json!({ "id": id.parse::<i64>().map(Value::from).unwrap_or(json!(id)) }),
            ]),
        };
    }
    if method != Method::POST {
        return api_error(StatusCode::NOT_FOUND, &format!("no route {method} {path}"));
    }
    let body = match json_body(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut data = state.data.lock().expect("lock");
    let result = match rest.as_str() {
        "files" => create_file(state, &mut data, &q, body, false),
        "files/initmultipartupload" => create_file(state, &mut data, &q, body, true),
        "files/completemultipartupload" => complete_multipart(state, &mut data, &body),
        "files/uploadlink" => upload_link(state, &mut data, &q, &body, false),
        "files/multiuploadlink" => upload_link(state, &mut data, &q, &body, true),
        "files/byids" => files_by_ids(&data, &body),
        "files/list" => list_files(&data, &body),
        "files/update" => update_files(&mut data, &body),
        "files/delete" => delete_files(&mut data, &body),
        "files/downloadlink" => download_links(state, &mut data, &q, &body),
        "datasets" => create_data_sets(&mut data, &body),
        "datasets/byids" => data_sets_by_ids(&data, &body),
        "datasets/list" => list_data_sets(&data, &body),
        "datasets/update" => update_data_sets(&mut data, &body),
        _ => Err(api_error(StatusCode::NOT_FOUND, &format!("no route POST {path}"))),
    };
    result.unwrap_or_else(|r| r)
}

async fn token_endpoint(state: &State, req: Request<Incoming>) -> Reply {
    let bytes = match body(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&bytes).into_owned().collect();
    let c = &state.config;
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return reply(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "unsupported_grant_type", "error_description": "only client_credentials" }),
        );
    }
    if form.get("client_id") != Some(&c.client_id)
        || form.get("client_secret") != Some(&c.client_secret)
    {
        return reply(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": "invalid_client", "error_description": "Invalid client secret provided." }),
        );
    }
    let t = token();
    state.data.lock().expect("lock").tokens.insert(t.clone(), Instant::now() + c.token_lifetime);
    state.tokens_issued.fetch_add(1, Ordering::Relaxed);
    let secs = c.token_lifetime.as_secs();
    let expires_in = if c.expires_in_as_string { json!(secs.to_string()) } else { json!(secs) };
    reply(
        StatusCode::OK,
        &json!({ "access_token": t, "token_type": "Bearer", "expires_in": expires_in }),
    )
}

type Answer = Result<Reply, Reply>;

fn bad(message: impl AsRef<str>) -> Reply {
    api_error(StatusCode::BAD_REQUEST, message.as_ref())
}

/// Checks a metadata object against CDF's limits.
fn check_metadata(m: &Value) -> Result<(), Reply> {
    let Some(map) = m.as_object() else { return Err(bad("metadata must be an object of strings")) };
    if map.len() > 256 {
        return Err(bad("metadata: at most 256 key-value pairs"));
    }
    let mut total = 0;
    for (k, v) in map {
        let Some(v) = v.as_str() else {
            return Err(bad(format!("metadata.{k}: values must be strings")));
        };
        if k.len() > 128 || v.len() > 10_240 {
            return Err(bad(format!("metadata.{k}: key ≤ 128 bytes, value ≤ 10240 bytes")));
        }
        total += k.len() + v.len();
    }
    if total > 10_240 {
        return Err(bad("metadata: total size must be ≤ 10240 bytes"));
    }
    Ok(())
}

const FILE_FIELDS: [(&str, usize); 5] =
    [("name", 256), ("externalId", 255), ("directory", 512), ("source", 128), ("mimeType", 256)];

fn check_file_fields(body: &Map<String, Value>) -> Result<(), Reply> {
    for (field, max) in FILE_FIELDS {
        if let Some(v) = body.get(field) {
            let Some(s) = v.as_str() else { return Err(bad(format!("{field} must be a string"))) };
            if s.chars().count() > max {
                return Err(bad(format!("{field} size must be between 0 and {max}")));
            }
        }
    }
    if let Some(m) = body.get("metadata") {
        check_metadata(m)?;
    }
    Ok(())
}

fn check_data_set(data: &Data, body: &Map<String, Value>) -> Result<(), Reply> {
    let Some(ds) = body.get("dataSetId") else { return Ok(()) };
    let Some(id) = ds.as_i64() else { return Err(bad("dataSetId must be an integer")) };
    match data.data_sets.get(&id) {
        None => Err(reply(
            StatusCode::BAD_REQUEST,
            &json!({ "error": { "code": 400, "message": "Data sets not found", "missing": [{ "id": id }] } }),
        )),
        Some(d) if d["writeProtected"] == json!(true) => Err(api_error(
            StatusCode::FORBIDDEN,
            "Resource not found. This may also be due to insufficient access rights.",
        )),
        Some(_) => Ok(()),
    }
}

/// Adds where to send the bytes to a file's JSON: one `uploadUrl`, or for
/// a multipart upload of `parts` parts an `uploadId` and `uploadUrls`.
fn add_upload_urls(state: &State, data: &mut Data, id: i64, parts: Option<usize>, out: &mut Value) {
    let Some(n) = parts else {
        out["uploadUrl"] = json!(transfer_url(state, data, Transfer::Whole(id)));
        return;
    };
    let upload_id = token();
    let urls: Vec<String> = (0..n)
        .map(|i| {
            transfer_url(
                state,
                data,
                Transfer::Part { file: id, upload_id: upload_id.clone(), n: i },
            )
        })
        .collect();
    if let Some(f) = data.files.get_mut(&id) {
        f.multipart = Some((upload_id.clone(), vec![None; n]));
    }
    out["uploadId"] = json!(upload_id);
    out["uploadUrls"] = json!(urls);
}

fn transfer_url(state: &State, data: &mut Data, t: Transfer) -> String {
    let key = token();
    data.transfers.insert(key.clone(), t);
    format!("http://{}/transfer/{key}?signature={}", state.addr, token())
}

fn parts_param(q: &HashMap<String, String>) -> Result<usize, Reply> {
    match q.get("parts").and_then(|p| p.parse::<usize>().ok()) {
        Some(n) if (1..=250).contains(&n) => Ok(n),
        _ => Err(bad("parts must be given, between 1 and 250")),
    }
}

fn create_file(
    state: &State,
    data: &mut Data,
    q: &HashMap<String, String>,
    body: Value,
    multipart: bool,
) -> Answer {
    let Value::Object(mut fields) = body else { return Err(bad("the body must be a file object")) };
    if fields.contains_key("items") {
        return Err(bad("Unrecognized field \"items\": send the file object itself"));
    }
    match fields.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => {}
        _ => return Err(bad("name may not be null or empty")),
    }
    check_file_fields(&fields)?;
    check_data_set(data, &fields)?;
    let parts = if multipart { Some(parts_param(q)?) } else { None };
    let overwrite = q.get("overwrite").is_some_and(|v| v == "true");
    let existing = fields
        .get("externalId")
        .and_then(Value::as_str)
        .and_then(|x| data.files.values().find(|f| f.external_id() == Some(x)).map(|f| f.id));
    let now = now_ms();
    let id = match existing {
        Some(id) if !overwrite => {
            let x = data.files[&id].external_id().unwrap_or_default().to_string();
            return Err(reply(
                StatusCode::CONFLICT,
                &json!({ "error": { "code": 409, "message": "Duplicate external ids", "duplicated": [{ "externalId": x }] } }),
            ));
        }
        Some(id) => {
            // Overwrite: the same file; given fields replace the old ones;
            // the content changes only when the new bytes arrive.
            let f = data.files.get_mut(&id).ok_or_else(|| bad("gone"))?;
            for (k, v) in std::mem::take(&mut fields) {
                f.fields.insert(k, v);
            }
            f.updated = now;
            id
        }
        None => {
            data.next_id += 1;
            let id = data.next_id;
            let rec = FileRec {
                fields: std::mem::take(&mut fields),
                id,
                created: now,
                updated: now,
                content: None,
                uploaded_at: None,
                uploaded_time: None,
                multipart: None,
            };
            data.files.insert(id, rec);
            id
        }
    };
    let mut out = data.files[&id].to_json();
    add_upload_urls(state, data, id, parts, &mut out);
    Ok(reply(StatusCode::CREATED, &out))
}

/// Resolves `{"id"}` / `{"externalId"}` items to file ids; unknown ones
/// are listed.
fn resolve(data: &Data, items: &[Value]) -> Result<(Vec<Option<i64>>, Vec<Value>), Reply> {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for item in items {
        let found = if let Some(id) = item.get("id") {
            id.as_i64().filter(|id| data.files.contains_key(id))
        } else if let Some(x) = item.get("externalId").and_then(Value::as_str) {
            data.files.values().find(|f| f.external_id() == Some(x)).map(|f| f.id)
        } else {
            return Err(bad("each item needs an id or an externalId"));
        };
        if found.is_none() {
            unknown.push(item.clone());
        }
        ids.push(found);
    }
    Ok((ids, unknown))
}

fn items_of(body: &Value, max: usize) -> Result<&Vec<Value>, Reply> {
    match body.get("items").and_then(Value::as_array) {
        Some(items) if !items.is_empty() && items.len() <= max => Ok(items),
        Some(items) => {
            Err(bad(format!("items size must be between 1 and {max}, got {}", items.len())))
        }
        None => Err(bad("the body needs `items`")),
    }
}

fn ignore_unknown(body: &Value) -> bool {
    body.get("ignoreUnknownIds").and_then(Value::as_bool).unwrap_or(false)
}

fn complete_multipart(state: &State, data: &mut Data, body: &Value) -> Answer {
    let item = json!([body]);
    let (ids, unknown) = resolve(data, item.as_array().map(Vec::as_slice).unwrap_or_default())?;
    if !unknown.is_empty() {
        return Err(missing(unknown));
    }
    let id = ids[0].ok_or_else(|| bad("no file"))?;
    let upload_id = body.get("uploadId").and_then(Value::as_str).unwrap_or_default();
    let f = data.files.get_mut(&id).ok_or_else(|| bad("no file"))?;
    let Some((open, parts)) = &f.multipart else {
        return Err(bad("the file has no multipart upload in progress"));
    };
    if open != upload_id {
        return Err(bad("uploadId does not match the file's multipart upload"));
    }
    if parts.iter().any(Option::is_none) {
        return Err(bad("not all parts have been uploaded"));
    }
    let whole: Vec<u8> = parts.iter().flatten().flat_map(|p| p.iter().copied()).collect();
    f.multipart = None;
    arrived(state, f, Bytes::from(whole));
    Ok(reply(StatusCode::OK, &json!({})))
}

/// New content for a file: visible now, marked uploaded after the delay.
fn arrived(state: &State, f: &mut FileRec, content: Bytes) {
    f.content = Some(content);
    f.uploaded_at = Some(Instant::now() + state.config.uploaded_delay);
    f.uploaded_time = Some(now_ms() + state.config.uploaded_delay.as_millis() as i64);
    f.updated = now_ms();
}

fn upload_link(
    state: &State,
    data: &mut Data,
    q: &HashMap<String, String>,
    body: &Value,
    multi: bool,
) -> Answer {
    let items = items_of(body, 1)?;
    let (ids, unknown) = resolve(data, items)?;
    if !unknown.is_empty() {
        return Err(missing(unknown));
    }
    let id = ids[0].ok_or_else(|| bad("no file"))?;
    let mut out = data.files[&id].to_json();
    let parts = if multi { Some(parts_param(q)?) } else { None };
    add_upload_urls(state, data, id, parts, &mut out);
    Ok(reply(StatusCode::CREATED, &json!({ "items": [out] })))
}

fn files_by_ids(data: &Data, body: &Value) -> Answer {
    let items = items_of(body, 1000)?;
    let (ids, unknown) = resolve(data, items)?;
    if !unknown.is_empty() && !ignore_unknown(body) {
        return Err(missing(unknown));
    }
    let out: Vec<Value> = ids.into_iter().flatten().map(|id| data.files[&id].to_json()).collect();
    Ok(reply(StatusCode::OK, &json!({ "items": out })))
}

fn limit_of(body: &Value) -> Result<usize, Reply> {
    match body.get("limit") {
        None | Some(Value::Null) => Ok(100),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
            _ => Err(bad("limit must be between 1 and 1000")),
        },
    }
}

fn cursor_of(body: &Value) -> Result<usize, Reply> {
    match body.get("cursor") {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v
            .as_str()
            .and_then(|c| c.strip_prefix("page-"))
            .and_then(|n| usize::from_str_radix(n, 16).ok())
            .ok_or_else(|| bad("Invalid cursor")),
    }
}

/// One page of `all`, with `nextCursor` when more remain.
fn page(all: Vec<Value>, body: &Value) -> Answer {
    let (limit, from) = (limit_of(body)?, cursor_of(body)?);
    let end = (from + limit).min(all.len());
    let items: Vec<Value> = all.get(from.min(all.len())..end).unwrap_or_default().to_vec();
    let mut out = json!({ "items": items });
    if end < all.len() {
        out["nextCursor"] = json!(format!("page-{end:x}"));
    }
    Ok(reply(StatusCode::OK, &out))
}

fn range_ok(v: i64, r: &Value) -> bool {
    r.get("min").and_then(Value::as_i64).is_none_or(|m| v >= m)
        && r.get("max").and_then(Value::as_i64).is_none_or(|m| v <= m)
}

fn list_files(data: &Data, body: &Value) -> Answer {
    let filter = body.get("filter").cloned().unwrap_or(json!({}));
    let Some(fm) = filter.as_object() else { return Err(bad("filter must be an object")) };
    const KNOWN: [&str; 11] = [
        "name",
        "directoryPrefix",
        "mimeType",
        "metadata",
        "dataSetIds",
        "source",
        "externalIdPrefix",
        "uploaded",
        "createdTime",
        "lastUpdatedTime",
        "uploadedTime",
    ];
    if let Some(k) = fm.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(format!("Unrecognized filter field {k}")));
    }
    let s = |f: &FileRec, k: &str| f.fields.get(k).and_then(Value::as_str).map(str::to_string);
    let all: Vec<Value> = data
        .files
        .values()
        .filter(|f| {
            let eq = |k: &str| {
                fm.get(k)
                    .and_then(Value::as_str)
                    .is_none_or(|want| s(f, k).as_deref() == Some(want))
            };
            let prefix = |k: &str, field: &str| {
                fm.get(k)
                    .and_then(Value::as_str)
                    .is_none_or(|p| s(f, field).is_some_and(|v| v.starts_with(p)))
            };
            let meta = fm.get("metadata").and_then(Value::as_object).is_none_or(|want| {
                want.iter().all(|(k, v)| f.fields.get("metadata").and_then(|m| m.get(k)) == Some(v))
            });
            let sets = fm.get("dataSetIds").and_then(Value::as_array).is_none_or(|sets| {
                sets.iter().any(|d| {
                    let id = d.get("id").and_then(Value::as_i64).or_else(|| {
                        let x = d.get("externalId")?.as_str()?;
                        data.data_sets
                            .values()
                            .find(|ds| ds["externalId"] == json!(x))
                            .and_then(|ds| ds["id"].as_i64())
                    });
                    id.is_some() && f.fields.get("dataSetId").and_then(Value::as_i64) == id
                })
            });
            let uploaded =
                fm.get("uploaded").and_then(Value::as_bool).is_none_or(|u| f.uploaded() == u);
            let times = fm.get("createdTime").is_none_or(|r| range_ok(f.created, r))
                && fm.get("lastUpdatedTime").is_none_or(|r| range_ok(f.updated, r))
                && fm
                    .get("uploadedTime")
                    .is_none_or(|r| f.uploaded_time.is_some_and(|t| range_ok(t, r)));
            eq("name")
                && eq("mimeType")
                && eq("source")
                && prefix("externalIdPrefix", "externalId")
                && prefix("directoryPrefix", "directory")
                && meta
                && sets
                && uploaded
                && times
        })
        .map(FileRec::to_json)
        .collect();
    page(all, body)
}

fn update_files(data: &mut Data, body: &Value) -> Answer {
    let items = items_of(body, 1000)?.clone();
    let (ids, unknown) = resolve(data, &items)?;
    if !unknown.is_empty() {
        return Err(missing(unknown));
    }
    let mut out = Vec::new();
    for (item, id) in items.iter().zip(ids) {
        let id = id.ok_or_else(|| bad("no file"))?;
        let Some(update) = item.get("update").and_then(Value::as_object) else {
            return Err(bad("each item needs an `update`"));
        };
        if update.contains_key("name") {
            return Err(bad("name cannot be updated"));
        }
        let f = data.files.get_mut(&id).ok_or_else(|| bad("no file"))?;
        let mut fields = f.fields.clone();
        for (field, op) in update {
            if field == "metadata" {
                let mut m =
                    fields.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
                if let Some(set) = op.get("set") {
                    m = set
                        .as_object()
                        .cloned()
                        .ok_or_else(|| bad("metadata.set must be an object"))?;
                }
                for (k, v) in op.get("add").and_then(Value::as_object).cloned().unwrap_or_default()
                {
                    m.insert(k, v);
                }
                for k in op.get("remove").and_then(Value::as_array).cloned().unwrap_or_default() {
                    m.remove(k.as_str().unwrap_or_default());
                }
                fields.insert("metadata".into(), Value::Object(m));
            } else if let Some(v) = op.get("set") {
                fields.insert(field.clone(), v.clone());
            } else if op.get("setNull") == Some(&json!(true)) {
                fields.remove(field);
            } else {
                return Err(bad(format!("unknown update operation on {field}")));
            }
        }
        check_file_fields(&fields)?;
        f.fields = fields;
        f.updated = now_ms();
        out.push(f.to_json());
    }
    Ok(reply(StatusCode::OK, &json!({ "items": out })))
}

fn delete_files(data: &mut Data, body: &Value) -> Answer {
    let items = items_of(body, 1000)?;
    let (ids, unknown) = resolve(data, items)?;
    if !unknown.is_empty() && !ignore_unknown(body) {
        return Err(missing(unknown));
    }
    for id in ids.into_iter().flatten() {
        data.files.remove(&id);
    }
    Ok(reply(StatusCode::OK, &json!({})))
}

fn download_links(
    state: &State,
    data: &mut Data,
    q: &HashMap<String, String>,
    body: &Value,
) -> Answer {
    let items = items_of(body, 100)?.clone();
    let (ids, unknown) = resolve(data, &items)?;
    if !unknown.is_empty() {
        return Err(missing(unknown));
    }
    let ttl = if q.get("extendedExpiration").is_some_and(|v| v == "true") { 3600 } else { 30 };
    let mut out = Vec::new();
    for (item, id) in items.iter().zip(ids) {
        let id = id.ok_or_else(|| bad("no file"))?;
        if !data.files[&id].uploaded() {
            return Err(bad(format!("File {id} has not been uploaded yet")));
        }
        let url = transfer_url(
            state,
            data,
            Transfer::Download { file: id, until: Instant::now() + Duration::from_secs(ttl) },
        );
        let mut link = item.clone();
        link["downloadUrl"] = json!(url);
        out.push(link);
    }
    Ok(reply(StatusCode::OK, &json!({ "items": out })))
}

async fn transfer(state: &State, req: Request<Incoming>, key: &str) -> Reply {
    let t = state.data.lock().expect("lock").transfers.get(key).cloned();
    let Some(t) = t else {
        return text(StatusCode::FORBIDDEN, "AccessDenied: unknown or expired URL");
    };
    let method = req.method().clone();
    match (method, t) {
        (Method::GET, Transfer::Download { file, until }) => {
            if Instant::now() > until {
                return text(StatusCode::FORBIDDEN, "AccessDenied: the URL has expired");
            }
            let data = state.data.lock().expect("lock");
            match data.files.get(&file) {
                Some(FileRec { content: Some(c), fields, .. }) => {
                    let mut r = Response::new(Full::new(c.clone()));
                    if let Some(Ok(v)) = fields
                        .get("mimeType")
                        .and_then(Value::as_str)
                        .map(hyper::header::HeaderValue::from_str)
                    {
                        r.headers_mut().insert("content-type", v);
                    }
                    r
                }
                _ => text(StatusCode::NOT_FOUND, "NoSuchKey"),
            }
        }
        (Method::PUT, t @ (Transfer::Whole(_) | Transfer::Part { .. })) => {
            let declared = req
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
            let Some(declared) = declared else {
                return text(
                    StatusCode::LENGTH_REQUIRED,
                    "MissingContentLength: chunked uploads are not accepted",
                );
            };
            let bytes = match req.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => return text(StatusCode::BAD_REQUEST, &e.to_string()),
            };
            if bytes.len() != declared {
                return text(StatusCode::BAD_REQUEST, "IncompleteBody");
            }
            let mut data = state.data.lock().expect("lock");
            match t {
                Transfer::Whole(id) => match data.files.get_mut(&id) {
                    Some(f) => {
                        arrived(state, f, bytes);
                        text(StatusCode::OK, "")
                    }
                    None => text(StatusCode::NOT_FOUND, "NoSuchUpload"),
                },
                Transfer::Part { file, upload_id, n } => {
                    let Some(f) = data.files.get_mut(&file) else {
                        return text(StatusCode::NOT_FOUND, "NoSuchUpload");
                    };
                    let Some((open, parts)) = f.multipart.as_mut() else {
                        return text(StatusCode::NOT_FOUND, "NoSuchUpload");
                    };
                    if *open != upload_id {
                        return text(StatusCode::NOT_FOUND, "NoSuchUpload");
                    }
                    let last = n + 1 == parts.len();
                    if state.config.strict_part_size && !last && bytes.len() < 5 << 20 {
                        return text(
                            StatusCode::BAD_REQUEST,
                            "EntityTooSmall: parts but the last must be at least 5 MiB",
                        );
                    }
                    parts[n] = Some(bytes);
                    text(StatusCode::OK, "")
                }
                Transfer::Download { .. } => text(StatusCode::METHOD_NOT_ALLOWED, ""),
            }
        }
        _ => text(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
    }
}

fn data_set_json(ds: &Map<String, Value>) -> Value {
    Value::Object(ds.clone())
}

fn resolve_data_sets(
    data: &Data,
    items: &[Value],
) -> Result<(Vec<Option<i64>>, Vec<Value>), Reply> {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for item in items {
        let found = if let Some(id) = item.get("id") {
            id.as_i64().filter(|id| data.data_sets.contains_key(id))
        } else if let Some(x) = item.get("externalId").and_then(Value::as_str) {
            data.data_sets
                .values()
                .find(|d| d["externalId"] == json!(x))
                .and_then(|d| d["id"].as_i64())
        } else {
            return Err(bad("each item needs an id or an externalId"));
        };
        if found.is_none() {
            unknown.push(item.clone());
        }
        ids.push(found);
    }
    Ok((ids, unknown))
}

fn create_data_sets(data: &mut Data, body: &Value) -> Answer {
    let items = items_of(body, 10)?.clone();
    for item in &items {
        let Some(obj) = item.as_object() else { return Err(bad("each item must be an object")) };
        for (field, max) in [("name", 50), ("description", 500), ("externalId", 255)] {
            if let Some(v) = obj.get(field).and_then(Value::as_str)
                && (v.is_empty() || v.chars().count() > max)
            {
                return Err(bad(format!("{field} size must be between 1 and {max}")));
            }
        }
        if let Some(m) = obj.get("metadata") {
            check_metadata(m)?;
        }
        if let Some(x) = obj.get("externalId").and_then(Value::as_str)
            && data.data_sets.values().any(|d| d["externalId"] == json!(x))
        {
            return Err(reply(
                StatusCode::CONFLICT,
                &json!({ "error": { "code": 409, "message": "Duplicate external ids", "duplicated": [{ "externalId": x }] } }),
            ));
        }
    }
    let mut out = Vec::new();
    for item in items {
        data.next_id += 1;
        let id = data.next_id;
        let t = now_ms();
        let mut ds = item.as_object().cloned().unwrap_or_default();
        ds.insert("id".into(), json!(id));
        ds.entry("writeProtected").or_insert(json!(false));
        ds.insert("createdTime".into(), json!(t));
        ds.insert("lastUpdatedTime".into(), json!(t));
        out.push(data_set_json(&ds));
        data.data_sets.insert(id, ds);
    }
    Ok(reply(StatusCode::CREATED, &json!({ "items": out })))
}

fn data_sets_by_ids(data: &Data, body: &Value) -> Answer {
    let items = items_of(body, 1000)?;
    let (ids, unknown) = resolve_data_sets(data, items)?;
    if !unknown.is_empty() && !ignore_unknown(body) {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            &json!({ "error": { "code": 400, "message": "Data sets not found", "missing": unknown } }),
        ));
    }
    let out: Vec<Value> =
        ids.into_iter().flatten().map(|id| data_set_json(&data.data_sets[&id])).collect();
    Ok(reply(StatusCode::OK, &json!({ "items": out })))
}

fn list_data_sets(data: &Data, body: &Value) -> Answer {
    let filter = body.get("filter").cloned().unwrap_or(json!({}));
    let all: Vec<Value> = data
        .data_sets
        .values()
        .filter(|d| {
            filter.get("externalIdPrefix").and_then(Value::as_str).is_none_or(|p| {
                d.get("externalId").and_then(Value::as_str).is_some_and(|x| x.starts_with(p))
            }) && filter.get("writeProtected").is_none_or(|w| d.get("writeProtected") == Some(w))
                && filter.get("metadata").and_then(Value::as_object).is_none_or(|want| {
                    want.iter().all(|(k, v)| d.get("metadata").and_then(|m| m.get(k)) == Some(v))
                })
        })
        .map(data_set_json)
        .collect();
    page(all, body)
}

fn update_data_sets(data: &mut Data, body: &Value) -> Answer {
    let items = items_of(body, 1000)?.clone();
    let (ids, unknown) = resolve_data_sets(data, &items)?;
    if !unknown.is_empty() {
        return Err(reply(
            StatusCode::BAD_REQUEST,
            &json!({ "error": { "code": 400, "message": "Data sets not found", "missing": unknown } }),
        ));
    }
    let mut out = Vec::new();
    for (item, id) in items.iter().zip(ids) {
        let id = id.ok_or_else(|| bad("no data set"))?;
        let ds = data.data_sets.get_mut(&id).ok_or_else(|| bad("no data set"))?;
        for (field, op) in
            item.get("update").and_then(Value::as_object).cloned().unwrap_or_default()
        {
            if field == "metadata" {
                let mut m =
                    ds.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
                if let Some(set) = op.get("set").and_then(Value::as_object) {
                    m = set.clone();
                }
                for (k, v) in op.get("add").and_then(Value::as_object).cloned().unwrap_or_default()
                {
                    m.insert(k, v);
                }
                for k in op.get("remove").and_then(Value::as_array).cloned().unwrap_or_default() {
                    m.remove(k.as_str().unwrap_or_default());
                }
                ds.insert("metadata".into(), Value::Object(m));
            } else if let Some(v) = op.get("set") {
                ds.insert(field, v.clone());
            } else if op.get("setNull") == Some(&json!(true)) {
                ds.remove(&field);
            }
        }
        ds.insert("lastUpdatedTime".into(), json!(now_ms()));
        out.push(data_set_json(ds));
    }
    Ok(reply(StatusCode::OK, &json!({ "items": out })))
}
