//! The call paths without HTTP: a prediction (the seed's envelope in and
//! out), a training run (a new artifact version), and the shared envelope
//! and status helpers.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::StatusCode;
use hyper::body::Body;
use mlops_cdf::{CdfError, PredictionFile, PredictionSink};
use mlops_engine::{CallError, ErrorKind, Schema};
use mlops_manifest::{ExternalId, PredictionFiles};
use mlops_registry::{NoProgress, Registry};
use serde_json::json;

use crate::codec::{self, PredictionJson};
use crate::loader::Service;

/// The result of a call: an HTTP status and the envelope.
#[derive(Debug)]
pub struct CallOutcome {
    pub status: StatusCode,
    pub body: Bytes,
}

/// Where the predictions callers ask for as files (`to_file`) can go.
#[derive(Clone, Copy)]
pub enum Files<'a> {
    /// All into this store, whatever the service says (fixtures: a scratch
    /// store).
    Scratch(&'a Registry),
    /// Where each service says: the host's store, or CDF Files when the host
    /// has CDF credentials.
    Host { registry: &'a Registry, cdf: Option<&'a PredictionSink> },
}

/// Calls `service` (as `called`, its external id or alias) with a request
/// body (the seed's envelope) and returns the response envelope: the whole
/// call path minus HTTP.
pub async fn invoke(service: &Service, called: &str, body: &[u8], files: Files<'_>) -> CallOutcome {
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
    let written = match (files, &service.prediction_files) {
        (Files::Scratch(registry), _) | (Files::Host { registry, .. }, PredictionFiles::Store) => {
            registry
                .put_prediction(&service.model, service.env, Bytes::from(prediction))
                .await
                .map_err(|e| {
                    (StatusCode::BAD_GATEWAY, format!("the prediction could not be written: {e}"))
                })
        }
        (Files::Host { cdf: Some(sink), .. }, PredictionFiles::Cdf { data_set }) => {
            let file = PredictionFile {
                model: service.model.as_str(),
                env: service.env.as_str(),
                model_id: &service.model_id,
                service: called,
                body: Bytes::from(prediction),
            };
            sink.upload(data_set, file).await.map_err(|e| {
                let status = match e {
                    CdfError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                    _ => StatusCode::BAD_GATEWAY,
                };
                (status, format!("the prediction could not be written to CDF: {e}"))
            })
        }
        (Files::Host { cdf: None, .. }, PredictionFiles::Cdf { data_set }) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "this service writes prediction files to CDF (data set `{data_set}`), but the host has no CDF credentials: start it with {}BASE_URL, PROJECT, TOKEN_URL, CLIENT_ID and CLIENT_SECRET set, or call without `to_file`",
                mlops_cdf::ENV_PREFIX
            ),
        )),
    };
    match written {
        Ok(file) => CallOutcome {
            status: StatusCode::OK,
            body: ok_envelope(b"{}", Some(&file), &service.model_id),
        },
        Err((status, message)) => outcome(status, &error_json(&message, model_id)),
    }
}

pub(crate) enum BodyError {
    TooLarge,
    Read(String),
}

/// How much of an oversized body is read and thrown away before answering
/// 413, so that a client still sending sees the answer rather than a broken
/// pipe (nginx's "lingering close"), and for how long at most.
const DRAIN_BYTES: u64 = 64 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads a body of at most `limit` bytes.
pub(crate) async fn read_body<B>(body: B, limit: u64) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(body);
    // Most bodies arrive in one piece: keep it without a copy.
    let mut first: Option<Bytes> = None;
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
        match first.take() {
            None if buf.is_empty() => first = Some(data),
            earlier => {
                if let Some(earlier) = earlier {
                    buf.extend_from_slice(&earlier);
                }
                buf.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| buf.freeze()))
}

/// Runs a training service: `train` in the sandbox with a fresh, writable,
/// size-capped output folder; what it writes becomes a new artifact version
/// of the model in the service's env, with the metadata `train` returned.
/// Answers `{"status":"ok","training":{"version", "model_id", "metadata",
/// "files"}, "model_id": <the version the service ran>}`.
pub async fn train(
    service: &Service,
    trained_by: &ExternalId,
    body: &[u8],
    registry: &Registry,
    scratch: &Path,
) -> CallOutcome {
    let model_id = Some(service.model_id.as_str());
    let fail = |status: StatusCode, msg: &str| outcome(status, &error_json(msg, model_id));
    let request = match codec::parse_request(body) {
        Ok(r) => r,
        Err(msg) => return fail(StatusCode::BAD_REQUEST, &msg),
    };
    let Some(data) = request.data else {
        return fail(StatusCode::BAD_REQUEST, "the request has no `data`");
    };
    let input = match codec::decode_data(data, &Schema::Any) {
        Ok(p) => p,
        Err(msg) => return fail(StatusCode::BAD_REQUEST, &msg),
    };
    if let Err(e) = std::fs::create_dir_all(scratch) {
        return fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot make a scratch folder: {e}"),
        );
    }
    let out = match tempfile::Builder::new().prefix("train-").tempdir_in(scratch) {
        Ok(dir) => dir,
        Err(e) => {
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot make an output folder: {e}"),
            );
        }
    };
    let returned = match service.deployment.train(input, out.path()).await {
        Ok(metadata) => metadata,
        Err(e) => return fail(call_status(&e), &format!("training failed: {e}")),
    };
    let mut metadata: BTreeMap<String, String> = returned.into_iter().collect();
    metadata.insert("trained_by".into(), trained_by.to_string());
    metadata.insert("trained_from".into(), service.model_id.clone());
    let created_by = format!("training service {trained_by}");
    let uploaded = registry
        .upload_version(
            &service.model,
            service.env,
            Some(out.path()),
            metadata,
            &created_by,
            &NoProgress,
        )
        .await;
    let manifest = match uploaded {
        Ok(m) => m,
        Err(mlops_registry::RegistryError::Invalid(msg)) => {
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("training wrote nothing to keep: {msg}"),
            );
        }
        Err(e) => {
            return fail(
                StatusCode::BAD_GATEWAY,
                &format!("the new version could not be stored: {e}"),
            );
        }
    };
    let files: Vec<_> =
        manifest.files.iter().map(|f| json!({ "path": f.path, "size": f.size })).collect();
    let body = json!({
        "status": "ok",
        "training": {
            "version": manifest.version,
            "model_id": manifest.model_id().to_string(),
            "metadata": manifest.metadata,
            "files": files,
        },
        "model_id": service.model_id,
    });
    outcome(StatusCode::OK, &body)
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
        | CallError::OutputLimit { .. }
        | CallError::ResponseLimit { .. }
        | CallError::Trap { .. }
        | CallError::Host(_) => StatusCode::INTERNAL_SERVER_ERROR,
        CallError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        CallError::Busy { .. } | CallError::Initialization(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// `{"status":"ok","prediction":…,"prediction_file":…,"model_id":…}`, with
/// the prediction's JSON (already encoded) copied in rather than re-parsed.
pub fn ok_envelope(prediction: &[u8], prediction_file: Option<&str>, model_id: &str) -> Bytes {
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

/// `{"status":"error","message":…,"model_id":…}`, keys in that order.
pub(crate) fn error_json(message: &str, model_id: Option<&str>) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    map.insert("status".into(), "error".into());
    map.insert("message".into(), message.into());
    map.insert("model_id".into(), model_id.map_or(serde_json::Value::Null, Into::into));
    serde_json::Value::Object(map)
}

pub(crate) fn outcome(status: StatusCode, body: &serde_json::Value) -> CallOutcome {
    CallOutcome { status, body: Bytes::from(body.to_string()) }
}
