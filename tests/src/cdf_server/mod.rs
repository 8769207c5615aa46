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

mod data_sets;
mod files;

use data_sets::*;
use files::*;

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

/// Resource ids for `{"id"}` / `{"externalId"}` items (`None` for unknown
/// ones), and the unknown items.
type Resolved = Result<(Vec<Option<i64>>, Vec<Value>), Reply>;

/// Resolves items by id (`known`) or external id (`by_external_id`).
fn resolve_items(
    items: &[Value],
    known: impl Fn(i64) -> bool,
    by_external_id: impl Fn(&str) -> Option<i64>,
) -> Resolved {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for item in items {
        let found = if let Some(id) = item.get("id") {
            id.as_i64().filter(|id| known(*id))
        } else if let Some(x) = item.get("externalId").and_then(Value::as_str) {
            by_external_id(x)
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

pub(super) fn bad(message: impl AsRef<str>) -> Reply {
    api_error(StatusCode::BAD_REQUEST, message.as_ref())
}

pub(super) fn items_of(body: &Value, max: usize) -> Result<&Vec<Value>, Reply> {
    match body.get("items").and_then(Value::as_array) {
        Some(items) if !items.is_empty() && items.len() <= max => Ok(items),
        Some(items) => {
            Err(bad(format!("items size must be between 1 and {max}, got {}", items.len())))
        }
        None => Err(bad("the body needs `items`")),
    }
}

pub(super) fn ignore_unknown(body: &Value) -> bool {
    body.get("ignoreUnknownIds").and_then(Value::as_bool).unwrap_or(false)
}

pub(super) fn limit_of(body: &Value) -> Result<usize, Reply> {
    match body.get("limit") {
        None | Some(Value::Null) => Ok(100),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
            _ => Err(bad("limit must be between 1 and 1000")),
        },
    }
}

pub(super) fn cursor_of(body: &Value) -> Result<usize, Reply> {
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
pub(super) fn page(all: Vec<Value>, body: &Value) -> Answer {
    let (limit, from) = (limit_of(body)?, cursor_of(body)?);
    let end = (from + limit).min(all.len());
    let items: Vec<Value> = all.get(from.min(all.len())..end).unwrap_or_default().to_vec();
    let mut out = json!({ "items": items });
    if end < all.len() {
        out["nextCursor"] = json!(format!("page-{end:x}"));
    }
    Ok(reply(StatusCode::OK, &out))
}
