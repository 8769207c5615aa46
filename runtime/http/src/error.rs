//! The one place a failure becomes an HTTP status and a body: the core's
//! [`Error`], and what this layer refuses by itself (no route, no token, a
//! body too large or too slow).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use mlops_core::{Error, SinkError, error_envelope};
use mlops_engine::{CallError, ErrorKind};

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The core refused or failed it.
    Core(Error),
    NoRoute {
        path: String,
    },
    /// Not found, for the reason given.
    NotHere(String),
    MethodNotAllowed {
        method: String,
        path: String,
    },
    /// An external id that cannot be one.
    BadId(String),
    /// No token, or not the right one.
    Unauthorized(String),
    /// A valid token of too low a level, or admin routes off.
    Forbidden(String),
    /// The body is larger than the route or service accepts.
    TooLarge {
        limit: u64,
    },
    /// The body did not arrive in time.
    BodyTimeout(Duration),
    /// The body could not be read.
    BodyRead(String),
    /// The Model Manager refused or failed a request.
    Registry(mlops_registry::RegistryError),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Core(e)
    }
}

/// How a route family writes its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// The seed's envelope: `{"status":"error","message":…,"model_id":…}`.
    Envelope,
    /// The Open Inference Protocol's `{"error": …}`.
    Oip,
}

impl Failure {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Failure::Core(e) => core_status(e),
            Failure::NoRoute { .. } | Failure::NotHere(_) | Failure::BadId(_) => {
                StatusCode::NOT_FOUND
            }
            Failure::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Failure::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Failure::Forbidden(_) => StatusCode::FORBIDDEN,
            Failure::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Failure::BodyRead(_) => StatusCode::BAD_REQUEST,
            Failure::Registry(e) => registry_status(e),
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Core(e) => e.to_string(),
            Failure::NoRoute { path } => {
                format!("no route {path}; call a service with POST /services/<external-id>/call")
            }
            Failure::MethodNotAllowed { method, path } => {
                format!("{method} is not allowed on {path}")
            }
            Failure::BadId(why)
            | Failure::NotHere(why)
            | Failure::Unauthorized(why)
            | Failure::Forbidden(why)
            | Failure::BodyRead(why) => why.clone(),
            Failure::TooLarge { limit } => format!(
                "the request body is larger than this service accepts ({} MiB, limits.max_request_mb)",
                limit >> 20
            ),
            Failure::Registry(e) => e.to_string(),
            Failure::BodyTimeout(limit) => format!(
                "the request body did not arrive within {:.1} s; send it at once",
                limit.as_secs_f64()
            ),
        }
    }

    /// The response: status, body in `style`, and the headers the status
    /// calls for (a challenge with 401, a retry hint with 503).
    pub(crate) fn respond(&self, style: Style, model_id: Option<&str>) -> Response<Full<Bytes>> {
        let status = self.status();
        let message = self.message();
        let body = match style {
            Style::Envelope => error_envelope(&message, model_id),
            Style::Oip => Bytes::from(serde_json::json!({ "error": message }).to_string()),
        };
        let mut resp = Response::new(Full::new(body));
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

fn core_status(e: &Error) -> StatusCode {
    match e {
        Error::BadRequest(_) | Error::WrongKind { .. } | Error::Invalid(_) => {
            StatusCode::BAD_REQUEST
        }
        Error::UnknownService(_) => StatusCode::NOT_FOUND,
        Error::NotSyncedYet(_) | Error::NotLoaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Error::Call(e) | Error::Training(e) => call_status(e),
        Error::Store { .. } => StatusCode::BAD_GATEWAY,
        Error::PredictionFile(SinkError::Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
        Error::PredictionFile(SinkError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
        Error::PredictionFile(SinkError::Failed(_)) => StatusCode::BAD_GATEWAY,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What the Model Manager said, as a status: missing 404, contradicting the
/// store 409, a wrong request 400, a damaged store 500, the store
/// unreachable 502.
fn registry_status(e: &mlops_registry::RegistryError) -> StatusCode {
    use mlops_registry::RegistryError as R;
    match e {
        R::NotFound { .. } => StatusCode::NOT_FOUND,
        R::Conflict(_) | R::Contended { .. } => StatusCode::CONFLICT,
        R::Invalid(_) | R::Folder { .. } => StatusCode::BAD_REQUEST,
        R::CorruptBlob { .. } | R::CorruptFile { .. } | R::CorruptRecord { .. } | R::Io(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        R::Open { .. } | R::Store { .. } => StatusCode::BAD_GATEWAY,
    }
}

/// A model's own refusal of its input is the caller's to fix (422); what
/// it does not offer is a bad request; a crash or a limit is the server's
/// (500); running out of time or instances says to retry.
fn call_status(e: &CallError) -> StatusCode {
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

/// The HTTP status a core error answers with (`mlops-host test` prints it
/// beside each fixture, as a caller would see it).
pub fn status_of(e: &Error) -> u16 {
    core_status(e).as_u16()
}
