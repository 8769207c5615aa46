//! Where `to_file` predictions go when a service asks for somewhere other
//! than the host's store: a sink the caller injects (the CLI gives the CDF
//! Files one, `mlops-cdf`).

use bytes::Bytes;

/// One prediction to write, with what names it.
#[derive(Debug, Clone)]
pub struct PredictionFile<'a> {
    pub model: &'a str,
    pub env: &'a str,
    /// `<model>/<env>/<version>` of the artifact that made it.
    pub model_id: &'a str,
    /// The service external id that was called.
    pub service: &'a str,
    /// The prediction JSON.
    pub body: Bytes,
}

/// Why a sink did not take a prediction. Messages are the sink's own and
/// say what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    /// It took too long.
    #[error("{0}")]
    Timeout(String),
    /// This host cannot write there at all (no credentials).
    #[error("{0}")]
    Unavailable(String),
    /// It refused or failed.
    #[error("{0}")]
    Failed(String),
}

/// Writes predictions into a data set and names the file written.
#[async_trait::async_trait]
pub trait PredictionSink: Send + Sync {
    /// Why this sink cannot write at all, if it cannot: said once, when a
    /// service that writes to it loads, so the operator hears it before a
    /// caller does.
    fn unavailable(&self) -> Option<String> {
        None
    }

    /// Writes `file` into `data_set` and returns the file's id.
    async fn upload(&self, data_set: &str, file: PredictionFile<'_>) -> Result<String, SinkError>;
}
