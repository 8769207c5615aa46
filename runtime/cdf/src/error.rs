//! Errors, typed as CDF reports them.

use serde_json::Value;

/// An error envelope from CDF.
#[derive(Debug, Clone, thiserror::Error)]
#[error("CDF {method} {path}: {status} {message}{}{}", request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default(), items(missing, duplicated))]
pub struct ApiError {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub message: String,
    pub request_id: Option<String>,
    /// Ids CDF does not know (`{"id": …}` or `{"externalId": …}`).
    pub missing: Vec<Value>,
    /// External ids that already exist.
    pub duplicated: Vec<Value>,
}

/// What went wrong talking to CDF or its identity provider.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CdfError {
    /// CDF answered with an error envelope.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The identity provider refused the client credentials.
    #[error("CDF sign-in failed at {token_url}: {error}{}; check the client id, client secret and scopes", if description.is_empty() { String::new() } else { format!(" ({description})") })]
    Auth { token_url: String, status: Option<u16>, error: String, description: String },
    /// The storage behind a pre-signed upload or download URL refused.
    #[error("file transfer {what} failed: HTTP {status}: {body}")]
    Transfer { what: String, status: u16, body: String },
    /// No answer: connection refused, reset, DNS…
    #[error("cannot reach CDF at {url}: {message}")]
    Unreachable { url: String, message: String },
    /// No answer in time.
    #[error("CDF {what} timed out after {} s", after.as_secs_f64())]
    Timeout { what: String, after: std::time::Duration },
    /// An answer that is not what the contract says.
    #[error("unexpected answer from CDF {what}: {message}")]
    Decode { what: String, message: String },
    /// A file that never became readable.
    #[error("file {what} was not marked uploaded within {} s", after.as_secs())]
    NotUploaded { what: String, after: std::time::Duration },
    /// A request CDF would refuse (a limit exceeded…), caught before sending.
    #[error("{0}")]
    Invalid(String),
    /// The client is configured wrongly.
    #[error("CDF configuration: {0}")]
    Config(String),
}

fn items(missing: &[Value], duplicated: &[Value]) -> String {
    let list = |v: &[Value]| v.iter().map(Value::to_string).collect::<Vec<_>>().join(", ");
    match (missing.is_empty(), duplicated.is_empty()) {
        (true, true) => String::new(),
        (false, _) => format!("; missing: {}", list(missing)),
        (true, false) => format!("; duplicated: {}", list(duplicated)),
    }
}

impl CdfError {
    /// The HTTP status CDF answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            CdfError::Api(e) => Some(e.status),
            CdfError::Transfer { status, .. } => Some(*status),
            CdfError::Auth { status, .. } => *status,
            _ => None,
        }
    }

    /// A 409 with `duplicated` items: the external id exists.
    pub fn is_duplicated(&self) -> bool {
        matches!(self, CdfError::Api(e) if e.status == 409 || !e.duplicated.is_empty())
    }

    /// Unknown ids (`missing`), or a plain 404.
    pub fn is_missing(&self) -> bool {
        matches!(self, CdfError::Api(e) if e.status == 404 || !e.missing.is_empty())
    }

    /// Builds an API error from a response body (the error envelope, or
    /// raw text when it is not one).
    pub(crate) fn from_response(
        method: &str,
        path: &str,
        status: u16,
        request_id: Option<String>,
        body: &[u8],
    ) -> CdfError {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let error = parsed.as_ref().map(|v| v.get("error").cloned().unwrap_or(Value::Null));
        let (message, missing, duplicated) = match error {
            Some(Value::Object(map)) => (
                map.get("message").and_then(Value::as_str).unwrap_or("(no message)").to_string(),
                map.get("missing").and_then(Value::as_array).cloned().unwrap_or_default(),
                map.get("duplicated").and_then(Value::as_array).cloned().unwrap_or_default(),
            ),
            Some(Value::String(s)) => (s, Vec::new(), Vec::new()),
            _ => {
                (String::from_utf8_lossy(body).chars().take(500).collect(), Vec::new(), Vec::new())
            }
        };
        CdfError::Api(Box::new(ApiError {
            method: method.to_string(),
            path: path.to_string(),
            status,
            message,
            request_id,
            missing,
            duplicated,
        }))
    }
}
