//! The call paths: a prediction (the seed's envelope in and out) and a
//! training run (a new artifact version). One function each, used by the
//! HTTP layer, the fixture runner and the benchmark alike.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlops_engine::{CallPhases, Payload, Schema};
use mlops_manifest::{ExternalId, PredictionFiles};
use mlops_registry::{NoProgress, Registry, RegistryError, ServiceRecord};
use serde_json::json;

use crate::codec::{self, PredictionJson};
use crate::envelope;
use crate::error::Error;
use crate::service::Service;
use crate::sink::{PredictionFile, PredictionSink, SinkError};

/// Where the predictions callers ask for as files (`to_file`) can go.
#[derive(Clone, Copy)]
pub enum Files<'a> {
    /// All into this store, whatever the service says (fixtures: a scratch
    /// store).
    Scratch(&'a Registry),
    /// Where each service says: the host's store, or the CDF sink.
    Host { registry: &'a Registry, cdf: Option<&'a dyn PredictionSink> },
}

/// Where the time of one prediction went (for `bench`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CallTimes {
    /// Parsing the envelope and decoding `data`.
    pub decode: Duration,
    /// The engine's part, phase by phase.
    pub engine: CallPhases,
    /// Encoding the response envelope (or writing the file).
    pub encode: Duration,
}

/// Calls `service` (as `called`) with a request body, the seed's envelope,
/// and returns the response envelope. With `times`, notes where the time
/// went (the engine's phases in detail only for a deployment made with
/// `profile`).
pub(crate) async fn predict(
    service: &Service,
    called: &ExternalId,
    record: Option<&ServiceRecord>,
    body: &[u8],
    files: Files<'_>,
    times: Option<&mut CallTimes>,
) -> Result<Bytes, Error> {
    let started = times.is_some().then(Instant::now);
    if let Some(metadata) = codec::ping(body) {
        return Ok(pong(service, called, record, metadata));
    }
    let decoded = codec::decode_request(body, &service.inputs).map_err(Error::BadRequest)?;
    let (to_file, metadata) = (decoded.to_file, decoded.metadata);
    let answer = match times {
        None => {
            let output = service.deployment.predict(decoded.input).await?;
            respond(service, called, &output, to_file, files).await?
        }
        Some(times) => {
            let decoding_done = Instant::now();
            times.decode = started.map_or(Duration::ZERO, |s| decoding_done - s);
            let (output, phases) = service.deployment.predict_profiled(decoded.input).await;
            times.engine = phases;
            let output = output?;
            let encoding = Instant::now();
            let body = respond(service, called, &output, to_file, files).await;
            times.encode = encoding.elapsed();
            body?
        }
    };
    Ok(if metadata { with_metadata(answer, called, record) } else { answer })
}

/// The answer to a keep-warm ping: `{"status":"ok","model_id":…}`, the
/// model not called (it was initialised when the service loaded).
fn pong(
    service: &Service,
    called: &ExternalId,
    record: Option<&ServiceRecord>,
    metadata: bool,
) -> Bytes {
    let body = Bytes::from(format!("{{\"status\":\"ok\",\"model_id\":{}}}", service.model_id_json));
    if metadata { with_metadata(body, called, record) } else { body }
}

/// `envelope` with the Python framework's `metadata` block added: the
/// external id called, the service's description and owner, its status,
/// its code file (the component's digest) and when it was deployed (UTC,
/// `%Y-%m-%d %H:%M:%S`).
fn with_metadata(envelope: Bytes, called: &ExternalId, record: Option<&ServiceRecord>) -> Bytes {
    let (description, owner, file_id, created) = match record {
        Some(r) => (
            r.description.as_str(),
            r.owner.as_str(),
            Some(r.component.as_str()),
            // RFC 3339 in UTC ("2026-11-30T05:27:09.123Z") to the seed's form.
            Some(r.deployed.replacen('T', " ", 1).chars().take(19).collect::<String>()),
        ),
        None => ("", "", None, None),
    };
    let block = json!({
        "external_id": called.to_string(),
        "description": description,
        "owner": owner,
        "status": "Ready",
        "file_id": file_id,
        "created_time": created,
    });
    let Some(open) = envelope.strip_suffix(b"}") else { return envelope };
    let mut out = Vec::with_capacity(envelope.len() + 256);
    out.extend_from_slice(open);
    out.extend_from_slice(b",\"metadata\":");
    out.extend_from_slice(block.to_string().as_bytes());
    out.push(b'}');
    Bytes::from(out)
}

/// The response envelope of a prediction: inline, or written to a file.
async fn respond(
    service: &Service,
    called: &ExternalId,
    output: &Payload,
    to_file: bool,
    files: Files<'_>,
) -> Result<Bytes, Error> {
    if !to_file {
        return envelope::ok_inline(output, &service.inline_tail);
    }
    let prediction = serde_json::to_vec(&PredictionJson(output))
        .map(Bytes::from)
        .map_err(|e| Error::Internal(format!("cannot encode the prediction: {e}")))?;
    let file = match (files, &service.prediction_files) {
        (Files::Scratch(registry), _) | (Files::Host { registry, .. }, PredictionFiles::Store) => {
            registry
                .put_prediction(&service.model, service.env, prediction)
                .await
                .map_err(|e| Error::store("the prediction could not be written", e))?
        }
        (Files::Host { cdf, .. }, PredictionFiles::Cdf { data_set }) => {
            let Some(sink) = cdf else {
                return Err(Error::PredictionFile(SinkError::Unavailable(format!(
                    "this service writes prediction files to CDF (data set `{data_set}`), but this host has no CDF sink; call without `to_file`"
                ))));
            };
            let called = called.to_string();
            let file = PredictionFile {
                model: service.model.as_str(),
                env: service.env.as_str(),
                model_id: &service.model_id,
                service: &called,
                body: prediction,
            };
            sink.upload(data_set, file).await.map_err(Error::PredictionFile)?
        }
    };
    Ok(envelope::ok_file(&file, &service.model_id_json))
}

/// Runs a training service: `train` in the sandbox with a fresh, writable,
/// size-capped output folder; what it writes becomes a new artifact version
/// of the model in the service's env, with the metadata `train` returned.
/// Answers `{"status":"ok","training":{"version", "model_id", "metadata",
/// "files"}, "model_id": <the version the service ran>}`.
pub(crate) async fn train(
    service: &Service,
    trained_by: &ExternalId,
    record: Option<&ServiceRecord>,
    body: &[u8],
    registry: &Registry,
    scratch: &Path,
) -> Result<Bytes, Error> {
    if let Some(metadata) = codec::ping(body) {
        return Ok(pong(service, trained_by, record, metadata));
    }
    let request = codec::parse_request(body).map_err(Error::BadRequest)?;
    // A model that reads JSON documents gets its training data as one too.
    let schema = if matches!(service.inputs, Schema::Json) { Schema::Json } else { Schema::Any };
    let input = codec::decode_document(&request, &schema).map_err(Error::BadRequest)?;
    std::fs::create_dir_all(scratch)
        .map_err(|e| Error::Internal(format!("cannot make a scratch folder: {e}")))?;
    let out = tempfile::Builder::new()
        .prefix("train-")
        .tempdir_in(scratch)
        .map_err(|e| Error::Internal(format!("cannot make an output folder: {e}")))?;
    let returned = service.deployment.train(input, out.path()).await.map_err(Error::Training)?;
    let mut metadata: BTreeMap<String, String> = returned.into_iter().collect();
    metadata.insert("trained_by".into(), trained_by.to_string());
    metadata.insert("trained_from".into(), service.model_id.clone());
    let created_by = format!("training service {trained_by}");
    let manifest = registry
        .upload_version(
            &service.model,
            service.env,
            Some(out.path()),
            metadata,
            &created_by,
            &NoProgress,
        )
        .await
        .map_err(|e| match e {
            RegistryError::Invalid(msg) => {
                Error::Internal(format!("training wrote nothing to keep: {msg}"))
            }
            e => Error::store("the new version could not be stored", e),
        })?;
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
    let answer = Bytes::from(body.to_string());
    Ok(if request.metadata() { with_metadata(answer, trained_by, record) } else { answer })
}
