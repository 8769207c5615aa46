//! Errors: setting up the engine or a deployment ([`EngineError`]) and
//! calling a model ([`CallError`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::bindings::types;

/// What went wrong before a model could be called.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot configure the WebAssembly engine: {0}")]
    Config(String),
    #[error("compile cache at {}: {message}", path.display())]
    Cache { path: PathBuf, message: String },
    #[error(
        "the component (blake3 {digest}) is not valid WebAssembly or does not compile: {message}"
    )]
    Compile { digest: String, message: String },
    #[error("the component does not implement the mlops:model contract: {0}")]
    Contract(String),
    #[error("{0}")]
    Limits(String),
    #[error("{context}: {source}")]
    Start {
        context: String,
        #[source]
        source: CallError,
    },
}

/// The kind of a model error, as the model reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadInput,
    BadArtifact,
    Unsupported,
    Internal,
}

impl From<types::ErrorKind> for ErrorKind {
    fn from(k: types::ErrorKind) -> Self {
        match k {
            types::ErrorKind::BadInput => ErrorKind::BadInput,
            types::ErrorKind::BadArtifact => ErrorKind::BadArtifact,
            types::ErrorKind::Unsupported => ErrorKind::Unsupported,
            types::ErrorKind::Internal => ErrorKind::Internal,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::BadInput => "bad-input",
            ErrorKind::BadArtifact => "bad-artifact",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
        })
    }
}

/// Why a call did not return a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The model reported an error on purpose.
    #[error("model error ({kind}): {message}")]
    Model { kind: ErrorKind, message: String },
    /// The call ran past its deadline and was stopped.
    #[error("the model ran past its deadline of {} ms and was stopped (limits.timeout_ms)", limit.as_millis())]
    Timeout { limit: Duration },
    /// The model tried to use more memory than its cap.
    #[error("the model tried to use more than its memory limit of {} MiB and was stopped (limits.memory_mb)", limit_bytes >> 20)]
    MemoryLimit { limit_bytes: u64 },
    /// A training run wrote more than its output cap.
    #[error("the model wrote more than its output limit of {} MiB and was stopped (limits.max_output_mb)", limit_bytes >> 20)]
    OutputLimit { limit_bytes: u64 },
    /// A prediction larger than the response cap.
    #[error("the model's answer is {} MiB, over its limit of {} MiB (limits.max_response_mb); return less, or raise the limit", size_bytes.div_ceil(1 << 20), limit_bytes >> 20)]
    ResponseLimit { size_bytes: u64, limit_bytes: u64 },
    /// The model trapped: a panic, `unreachable`, a stack overflow, a bad
    /// memory access…
    #[error("the model crashed: {message}{}", tail(output))]
    Trap { message: String, output: String },
    /// Every instance stayed busy for the whole wait.
    #[error("all {instances} instances of the model stayed busy for {} ms; retry later or raise limits.max_instances", waited.as_millis())]
    Busy { instances: u32, waited: Duration },
    /// The component does not export what the call needs.
    #[error("this model does not offer {0}")]
    Unsupported(&'static str),
    /// `initialization` failed, so no instance could be made.
    #[error("initialization failed: {0}")]
    Initialization(Box<CallError>),
    /// The host failed (not the model's fault).
    #[error("host error: {0}")]
    Host(String),
}

fn tail(output: &str) -> String {
    if output.is_empty() { String::new() } else { format!("; the model printed:\n{output}") }
}

impl CallError {
    /// Whether the caller's input is at fault (a 4xx rather than a 5xx).
    pub fn is_caller_error(&self) -> bool {
        matches!(self, CallError::Model { kind: ErrorKind::BadInput, .. })
    }
}
