//! Call mlops-host services from Rust.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mlops_client::ClientError> {
//! let client = mlops_client::Client::new("http://127.0.0.1:8080")?;
//! let reply = client.call("well_log-prediction-dev", r#"{"data": {"ACS": [190.0], "RDEP": [2.0], "DEN": [2.3]}}"#).await?;
//! assert_eq!(reply.body["status"], "ok");
//! # Ok(()) }
//! ```
//!
//! [`Client::call_parallel`] sends many payloads with bounded concurrency
//! and returns the replies in input order, each its own success or error.
//! Retries are bounded: a connection failure, 429 or 503 is retried up to
//! [`Client::with_retries`] times with doubling back-off; other answers,
//! including model errors, are returned as they are.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;

/// What went wrong, apart from an HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("invalid server URL `{0}`")]
    Url(String),
    #[error("cannot reach {url} after {attempts} attempt(s): {message}")]
    Unreachable { url: String, attempts: u32, message: String },
    #[error("the answer from {url} is not JSON: {message}")]
    NotJson { url: String, message: String },
}

/// An HTTP answer with its JSON body (the envelope).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
    /// Attempts it took (1 without retries).
    pub attempts: u32,
}

impl Reply {
    /// Whether the service answered `status: ok`.
    pub fn is_ok(&self) -> bool {
        (200..300).contains(&self.status) && self.body["status"] == "ok"
    }
}

/// A client of one mlops-host server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    retries: u32,
    backoff: Duration,
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`),
    /// with 3 retries and a 60 s timeout per attempt.
    pub fn new(base: &str) -> Result<Client, ClientError> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Url(base.to_string()));
        }
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            http: build(Duration::from_secs(60))?,
            token: None,
            retries: 3,
            backoff: Duration::from_millis(100),
        })
    }

    /// Sends `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    /// Retries after a connection failure, 429 or 503 (0 for none).
    pub fn with_retries(mut self, retries: u32) -> Client {
        self.retries = retries;
        self
    }

    /// The first back-off; it doubles per retry.
    pub fn with_backoff(mut self, backoff: Duration) -> Client {
        self.backoff = backoff;
        self
    }

    /// Gives up on an attempt after `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Client, ClientError> {
        self.http = build(timeout)?;
        Ok(self)
    }

    /// Calls a service with a request body (`{"data": …}`).
    pub async fn call(
        &self,
        external_id: &str,
        body: impl Into<Bytes>,
    ) -> Result<Reply, ClientError> {
        let url = format!("{}/services/{external_id}/call", self.base);
        self.post(&url, body.into()).await
    }

    /// Calls a service with each body, at most `concurrency` at a time;
    /// the replies come back in the order of `bodies`.
    pub async fn call_parallel(
        &self,
        external_id: &str,
        bodies: Vec<Bytes>,
        concurrency: usize,
    ) -> Vec<Result<Reply, ClientError>> {
        futures::stream::iter(bodies)
            .map(|body| self.call(external_id, body))
            .buffered(concurrency.max(1))
            .collect()
            .await
    }

    /// `GET` a path (e.g. `/services?env=dev`), as JSON.
    pub async fn get(&self, path: &str) -> Result<Reply, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.get(&url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            attempts: 1,
            message: e.to_string(),
        })?;
        reply(&url, resp, 1).await
    }

    async fn post(&self, url: &str, body: Bytes) -> Result<Reply, ClientError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req =
                self.http.post(url).header("content-type", "application/json").body(body.clone());
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            let retry_after = match req.send().await {
                Ok(resp)
                    if matches!(resp.status().as_u16(), 429 | 503) && attempt <= self.retries =>
                {
                    resp.headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs)
                }
                Ok(resp) => return reply(url, resp, attempt).await,
                Err(e) if attempt <= self.retries && (e.is_connect() || e.is_timeout()) => None,
                Err(e) => {
                    return Err(ClientError::Unreachable {
                        url: url.to_string(),
                        attempts: attempt,
                        message: e.to_string(),
                    });
                }
            };
            let backoff = self.backoff.saturating_mul(1 << (attempt - 1).min(10));
            tokio::time::sleep(retry_after.unwrap_or(backoff).min(Duration::from_secs(30))).await;
        }
    }
}

/// reqwest's TLS (rustls, for HTTPS to CDF and S3) uses the process's
/// crypto provider: ring, installed here once (later calls change nothing).
/// Call before building any reqwest client, as this crate does.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn build(timeout: Duration) -> Result<reqwest::Client, ClientError> {
    install_tls_provider();
    reqwest::Client::builder().timeout(timeout).build().map_err(|e| ClientError::Url(e.to_string()))
}

async fn reply(url: &str, resp: reqwest::Response, attempts: u32) -> Result<Reply, ClientError> {
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| ClientError::NotJson { url: url.to_string(), message: e.to_string() })?;
    let body = serde_json::from_str(&text).map_err(|e| ClientError::NotJson {
        url: url.to_string(),
        message: format!("{e}: {text:.200}"),
    })?;
    Ok(Reply { status, body, attempts })
}
