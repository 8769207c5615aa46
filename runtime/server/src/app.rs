//! The application: routing and the call path, without a socket (tests call
//! [`App::handle`] directly; `serve` puts it behind hyper).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use mlops_engine::{CallError, ErrorKind};
use mlops_manifest::ExternalId;
use mlops_registry::{Registry, ServiceRecord};
use serde_json::json;

use crate::codec::{self, PredictionJson};
use crate::loader::{Loader, Service};

/// Requests larger than this are refused before the service is known.
pub const MAX_BODY_ANY_SERVICE: u64 = 1 << 30;

/// A loaded service, or why it could not be loaded.
#[derive(Clone)]
enum Entry {
    Ready { record: ServiceRecord, service: Arc<Service> },
    Failed { record: ServiceRecord, error: String },
}

/// The running server's state. Cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    loader: Loader,
    services: RwLock<BTreeMap<ExternalId, Entry>>,
}

/// What [`App::load_all`] did.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub loaded: Vec<String>,
    pub failed: Vec<(String, String)>,
}

/// The result of a call: an HTTP status and the envelope.
#[derive(Debug)]
pub struct CallOutcome {
    pub status: StatusCode,
    pub body: Bytes,
}

impl App {
    pub fn new(loader: Loader) -> App {
        App(Arc::new(Inner { loader, services: RwLock::new(BTreeMap::new()) }))
    }

    /// Loads every service record in the store. A service that cannot be
    /// loaded is reported (and listed as failed) without stopping the rest.
    pub async fn load_all(&self) -> Result<LoadReport, String> {
        let (records, unreadable) =
            self.0.loader.registry.services().await.map_err(|e| e.to_string())?;
        let mut report = LoadReport::default();
        for (name, err) in unreadable {
            tracing::error!(service = %name, "cannot read the service record: {err}");
            report.failed.push((name, err.to_string()));
        }
        // Aliases usually point at a pinned record with the same content:
        // they share one deployment (one pool of instances).
        let mut by_content: Vec<(ServiceRecord, Arc<Service>)> = Vec::new();
        let mut loaded = BTreeMap::new();
        for record in records {
            let id = record.external_id.clone();
            let same = by_content
                .iter()
                .find(|(r, _)| same_deployment(r, &record))
                .map(|(_, s)| s.clone());
            let entry = match same {
                Some(service) => Entry::Ready { record, service },
                None => match self.0.loader.load(&record).await {
                    Ok(service) => {
                        let service = Arc::new(service);
                        by_content.push((record.clone(), service.clone()));
                        Entry::Ready { record, service }
                    }
                    Err(error) => {
                        tracing::error!(service = %id, "cannot load: {error}");
                        report.failed.push((id.to_string(), error.clone()));
                        Entry::Failed { record, error }
                    }
                },
            };
            if matches!(entry, Entry::Ready { .. }) {
                tracing::info!(service = %id, "service ready");
                report.loaded.push(id.to_string());
            }
            loaded.insert(id, entry);
        }
        *self.0.services.write().unwrap_or_else(std::sync::PoisonError::into_inner) = loaded;
        Ok(report)
    }

    fn entry(&self, id: &ExternalId) -> Option<Entry> {
        self.0.services.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(id).cloned()
    }

    fn entries(&self) -> Vec<(ExternalId, Entry)> {
        let map = self.0.services.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Serves one HTTP request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = req.uri().path().to_string();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (req.method(), segments.as_slice()) {
            (&Method::GET, ["healthz"]) => {
                json_response(StatusCode::OK, &json!({ "status": "ok" }))
            }
            (&Method::GET, ["readyz"]) => self.ready(),
            (&Method::GET, ["services"]) => {
                let list: Vec<_> = self.entries().iter().map(|(id, e)| describe(id, e)).collect();
                json_response(StatusCode::OK, &json!({ "services": list }))
            }
            (&Method::GET, ["services", id]) => match parse_id(id) {
                Ok(id) => match self.entry(&id) {
                    Some(e) => json_response(StatusCode::OK, &describe(&id, &e)),
                    None => not_found(&id),
                },
                Err(msg) => error_response(StatusCode::NOT_FOUND, &msg, None),
            },
            (&Method::POST, ["services", id, "call"]) => {
                let id = match parse_id(id) {
                    Ok(id) => id,
                    Err(msg) => return error_response(StatusCode::NOT_FOUND, &msg, None),
                };
                let limit = match self.entry(&id) {
                    Some(Entry::Ready { record, .. }) => record.limits.max_request_bytes,
                    _ => MAX_BODY_ANY_SERVICE,
                };
                let body = match read_body(req.into_body(), limit).await {
                    Ok(body) => body,
                    Err(BodyError::TooLarge) => {
                        return error_response(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            &format!(
                                "the request body is larger than this service accepts ({} MiB, limits.max_request_mb)",
                                limit >> 20
                            ),
                            None,
                        );
                    }
                    Err(BodyError::Read(e)) => {
                        return error_response(
                            StatusCode::BAD_REQUEST,
                            &format!("cannot read the body: {e}"),
                            None,
                        );
                    }
                };
                let outcome = self.call(&id, &body).await;
                let mut resp = bytes_response(outcome.status, outcome.body);
                if outcome.status == StatusCode::SERVICE_UNAVAILABLE {
                    resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
                }
                resp
            }
            (
                _,
                ["healthz" | "readyz" | "services"] | ["services", _] | ["services", _, "call"],
            ) => error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{} is not allowed on {path}", req.method()),
                None,
            ),
            _ => error_response(
                StatusCode::NOT_FOUND,
                &format!("no route {path}; call a service with POST /services/<external-id>/call"),
                None,
            ),
        }
    }

    /// Calls a service with a request body (the seed's envelope) and returns
    /// the response envelope. This is the whole call path minus HTTP.
    pub async fn call(&self, id: &ExternalId, body: &[u8]) -> CallOutcome {
        match self.entry(id) {
            Some(Entry::Ready { service, .. }) => {
                invoke(&service, body, &self.0.loader.registry).await
            }
            Some(Entry::Failed { record, error }) => outcome(
                StatusCode::SERVICE_UNAVAILABLE,
                &error_json(
                    &format!("service {id} is not loaded: {error}"),
                    Some(&record.model_id.to_string()),
                ),
            ),
            None => outcome(StatusCode::NOT_FOUND, &not_found_json(id)),
        }
    }

    fn ready(&self) -> Response<Full<Bytes>> {
        let failed: Vec<_> = self
            .entries()
            .into_iter()
            .filter_map(|(id, e)| match e {
                Entry::Failed { error, .. } => {
                    Some(json!({ "external_id": id.to_string(), "error": error }))
                }
                Entry::Ready { .. } => None,
            })
            .collect();
        if failed.is_empty() {
            json_response(StatusCode::OK, &json!({ "status": "ready" }))
        } else {
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({ "status": "not ready", "failed": failed }),
            )
        }
    }
}

/// Calls `service` with a request body (the seed's envelope) and returns the
/// response envelope: the whole call path minus HTTP.
pub async fn invoke(service: &Service, body: &[u8], registry: &Registry) -> CallOutcome {
    let model_id = Some(service.model_id.as_str());
    let request = match codec::parse_request(body) {
        Ok(r) => r,
        Err(msg) => return outcome(StatusCode::BAD_REQUEST, &error_json(&msg, model_id)),
    };
    let to_file = request.to_file();
    let Some(data) = request.data else {
        return outcome(
            StatusCode::BAD_REQUEST,
            &error_json("the request has no `data`", model_id),
        );
    };
    let input = match codec::decode_data(data, &service.inputs) {
        Ok(p) => p,
        Err(msg) => return outcome(StatusCode::BAD_REQUEST, &error_json(&msg, model_id)),
    };
    let output = match service.deployment.predict(input).await {
        Ok(out) => out,
        Err(e) => return outcome(call_status(&e), &error_json(&e.to_string(), model_id)),
    };
    let prediction = match serde_json::to_vec(&PredictionJson(&output)) {
        Ok(bytes) => bytes,
        Err(e) => {
            return outcome(
                StatusCode::INTERNAL_SERVER_ERROR,
                &error_json(&e.to_string(), model_id),
            );
        }
    };
    if !to_file {
        return CallOutcome {
            status: StatusCode::OK,
            body: ok_envelope(&prediction, None, &service.model_id),
        };
    }
    // The seed's shape: an empty inline prediction and the file's id.
    match registry.put_prediction(&service.model, service.env, Bytes::from(prediction)).await {
        Ok(file) => CallOutcome {
            status: StatusCode::OK,
            body: ok_envelope(b"{}", Some(&file), &service.model_id),
        },
        Err(e) => outcome(
            StatusCode::BAD_GATEWAY,
            &error_json(&format!("the prediction could not be written: {e}"), model_id),
        ),
    }
}

enum BodyError {
    TooLarge,
    Read(String),
}

/// How much of an oversized body is read and thrown away before answering
/// 413, so that a client still sending sees the answer rather than a broken
/// pipe (nginx's "lingering close"), and for how long at most.
const DRAIN_BYTES: u64 = 64 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads a body of at most `limit` bytes.
async fn read_body<B>(body: B, limit: u64) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(body);
    let mut buf = bytes::BytesMut::new();
    let mut total: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Read(e.into().to_string()))?;
        let Ok(data) = frame.into_data() else { continue };
        total += data.len() as u64;
        if total > limit {
            let drain = async {
                while let Some(Ok(frame)) = body.frame().await {
                    total += frame.data_ref().map_or(0, |d| d.len() as u64);
                    if total > limit.saturating_add(DRAIN_BYTES) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&data);
    }
    Ok(buf.freeze())
}

/// Whether two records would run the same deployment.
fn same_deployment(a: &ServiceRecord, b: &ServiceRecord) -> bool {
    a.component == b.component
        && a.model_id == b.model_id
        && a.limits == b.limits
        && a.secrets == b.secrets
}

/// The HTTP status for a failed call.
pub fn call_status(e: &CallError) -> StatusCode {
    match e {
        CallError::Model { kind: ErrorKind::BadInput, .. } => StatusCode::UNPROCESSABLE_ENTITY,
        CallError::Model { kind: ErrorKind::Unsupported, .. } | CallError::Unsupported(_) => {
            StatusCode::BAD_REQUEST
        }
        CallError::Model { .. }
        | CallError::MemoryLimit { .. }
        | CallError::Trap { .. }
        | CallError::Host(_) => StatusCode::INTERNAL_SERVER_ERROR,
        CallError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        CallError::Busy { .. } | CallError::Initialization(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// `{"status":"ok","prediction":…,"prediction_file":…,"model_id":…}`, with
/// the prediction's JSON (already encoded) copied in rather than re-parsed.
fn ok_envelope(prediction: &[u8], prediction_file: Option<&str>, model_id: &str) -> Bytes {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let file = prediction_file.map_or_else(|| "null".to_string(), quote);
    let mut out = Vec::with_capacity(prediction.len() + file.len() + model_id.len() + 64);
    out.extend_from_slice(b"{\"status\":\"ok\",\"prediction\":");
    out.extend_from_slice(prediction);
    out.extend_from_slice(b",\"prediction_file\":");
    out.extend_from_slice(file.as_bytes());
    out.extend_from_slice(b",\"model_id\":");
    out.extend_from_slice(quote(model_id).as_bytes());
    out.push(b'}');
    Bytes::from(out)
}

fn describe(id: &ExternalId, entry: &Entry) -> serde_json::Value {
    let (record, status, error) = match entry {
        Entry::Ready { record, .. } => (record, "ready", None),
        Entry::Failed { record, error } => (record, "failed", Some(error.as_str())),
    };
    json!({
        "external_id": id.to_string(),
        "alias_of": record.alias_of.as_ref().map(ToString::to_string),
        "model_id": record.model_id.to_string(),
        "service": record.service.as_str(),
        "env": record.env.as_str(),
        "name": record.human_friendly_model_name,
        "description": record.description,
        "owner": record.owner,
        "metadata": record.metadata,
        "deployed": record.deployed,
        "status": status,
        "error": error,
    })
}

fn parse_id(id: &str) -> Result<ExternalId, String> {
    id.parse::<ExternalId>().map_err(|e| e.to_string())
}

fn not_found_json(id: &ExternalId) -> serde_json::Value {
    error_json(&format!("no service {id}; GET /services lists the deployed ones"), None)
}

fn not_found(id: &ExternalId) -> Response<Full<Bytes>> {
    json_response(StatusCode::NOT_FOUND, &not_found_json(id))
}

/// `{"status":"error","message":…,"model_id":…}`, keys in that order.
fn error_json(message: &str, model_id: Option<&str>) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    map.insert("status".into(), "error".into());
    map.insert("message".into(), message.into());
    map.insert("model_id".into(), model_id.map_or(serde_json::Value::Null, Into::into));
    serde_json::Value::Object(map)
}

fn outcome(status: StatusCode, body: &serde_json::Value) -> CallOutcome {
    CallOutcome { status, body: Bytes::from(body.to_string()) }
}

fn error_response(
    status: StatusCode,
    message: &str,
    model_id: Option<&str>,
) -> Response<Full<Bytes>> {
    json_response(status, &error_json(message, model_id))
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    bytes_response(status, Bytes::from(body.to_string()))
}

fn bytes_response(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
