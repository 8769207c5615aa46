//! The HTTP client: configuration, tokens, the retry policy, and raw JSON
//! calls. Files and data sets are in their own modules on top of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};

use crate::CdfError;

/// A secret string: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How to reach a CDF project.
#[derive(Debug, Clone)]
pub struct CdfConfig {
    /// The cluster's base URL, e.g. `https://westeurope-1.cognitedata.com`.
    pub base_url: String,
    pub project: String,
    /// The identity provider's token endpoint (OIDC client credentials).
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
    pub audience: Option<String>,
    /// Per API request.
    pub timeout: Duration,
    /// Per upload or download of file bytes.
    pub transfer_timeout: Duration,
    /// Retries after the first attempt (429 always; 502/503/504 and time-outs
    /// only for requests that are safe to repeat).
    pub max_retries: u32,
    /// Back-off doubles from this, with full jitter…
    pub backoff_base: Duration,
    /// …up to this.
    pub backoff_cap: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Files larger than this are sent in parts…
    pub multipart_threshold: u64,
    /// …of at least this size (CDF's floor of 5 MiB applies; at most 250
    /// parts).
    pub multipart_part_size: u64,
    /// How long a written file may take to be marked uploaded.
    pub upload_wait: Duration,
    /// Items per page when listing (CDF allows 1..=1000).
    pub list_page: usize,
}

impl CdfConfig {
    /// A configuration with the Python SDK's defaults (60 s per request, 600 s
    /// per transfer, 10 retries, back-off from 0.5 s capped at 30 s, 4 in
    /// flight).
    pub fn new(
        base_url: &str,
        project: &str,
        token_url: &str,
        client_id: &str,
        client_secret: Secret,
        scopes: Vec<String>,
    ) -> CdfConfig {
        CdfConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            project: project.to_string(),
            token_url: token_url.to_string(),
            client_id: client_id.to_string(),
            client_secret,
            scopes,
            audience: None,
            timeout: Duration::from_secs(60),
            transfer_timeout: Duration::from_secs(600),
            max_retries: 10,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            concurrency: 4,
            multipart_threshold: 100 << 20,
            multipart_part_size: 50 << 20,
            upload_wait: Duration::from_secs(60),
            list_page: 1000,
        }
    }

    /// From variables `lookup` gives (the binary passes the process
    /// environment; the library reads none): `<prefix>BASE_URL`, `PROJECT`,
    /// `TOKEN_URL`, `CLIENT_ID`, `CLIENT_SECRET` (or `CLIENT_SECRET_FILE`, a
    /// file holding it), `SCOPES` (space- or comma-separated) and
    /// `AUDIENCE`. `Ok(None)` when none is set; an error naming what is
    /// missing when only some are.
    pub fn from_vars(
        prefix: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<CdfConfig>, CdfError> {
        let var = |name: &str| lookup(&format!("{prefix}{name}")).filter(|v| !v.is_empty());
        // Configured at all: any of the connection or credential variables.
        let optional = |n: &&&str| matches!(**n, "SCOPES" | "AUDIENCE");
        if crate::ENV_KEYS.iter().filter(|n| !optional(n)).all(|n| var(n).is_none()) {
            return Ok(None);
        }
        let secret = match (var("CLIENT_SECRET"), var("CLIENT_SECRET_FILE")) {
            (Some(s), _) => Some(s),
            (None, Some(path)) => Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| {
                        CdfError::Config(format!("{prefix}CLIENT_SECRET_FILE {path}: {e}"))
                    })?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        let missing: Vec<String> = [
            ("BASE_URL", var("BASE_URL")),
            ("PROJECT", var("PROJECT")),
            ("TOKEN_URL", var("TOKEN_URL")),
            ("CLIENT_ID", var("CLIENT_ID")),
        ]
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| format!("{prefix}{n}"))
        .chain(
            secret
                .is_none()
                .then(|| format!("{prefix}CLIENT_SECRET (or {prefix}CLIENT_SECRET_FILE)")),
        )
        .collect();
        let (Some(base_url), Some(project), Some(token_url), Some(client_id), Some(secret)) =
            (var("BASE_URL"), var("PROJECT"), var("TOKEN_URL"), var("CLIENT_ID"), secret)
        else {
            return Err(CdfError::Config(format!(
                "CDF is half configured: set {}",
                missing.join(", ")
            )));
        };
        let scopes = var("SCOPES")
            .map(|s| s.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        let mut config = CdfConfig::new(
            &base_url,
            &project,
            &token_url,
            &client_id,
            Secret::new(secret),
            scopes,
        );
        config.audience = var("AUDIENCE");
        Ok(Some(config))
    }
}

/// A cached access token.
struct Token {
    value: Secret,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Seconds; some identity providers send a string.
    #[serde(default)]
    expires_in: Option<Value>,
}

/// A client of one CDF project. Cheap to clone.
#[derive(Clone)]
pub struct CdfClient(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) config: CdfConfig,
    http: reqwest::Client,
    token: Mutex<Option<Token>>,
    tokens_fetched: AtomicU64,
    permits: Semaphore,
}

impl std::fmt::Debug for CdfClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CdfClient")
            .field("base_url", &self.0.config.base_url)
            .field("project", &self.0.config.project)
            .finish()
    }
}

/// Whether a failed attempt may be repeated.
enum Retry {
    No,
    /// Yes, after the back-off (forcing a fresh token if `refresh`).
    After {
        refresh: bool,
    },
}

impl CdfClient {
    pub fn new(config: CdfConfig) -> Result<CdfClient, CdfError> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(CdfError::Config(format!("base URL `{}` is not http(s)", config.base_url)));
        }
        // reqwest's TLS is rustls with the process's provider: ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("mlops-host/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CdfError::Config(e.to_string()))?;
        Ok(CdfClient(Arc::new(Inner {
            permits: Semaphore::new(config.concurrency.max(1)),
            config,
            http,
            token: Mutex::new(None),
            tokens_fetched: AtomicU64::new(0),
        })))
    }

    pub fn config(&self) -> &CdfConfig {
        &self.0.config
    }

    /// How many tokens were fetched from the identity provider so far.
    pub fn tokens_fetched(&self) -> u64 {
        self.0.tokens_fetched.load(Ordering::Relaxed)
    }

    /// A valid access token: the cached one, or a new one when it is about
    /// to expire (or `force`). One refresh at a time: concurrent callers
    /// wait for it and share the result.
    pub async fn token(&self, force: bool) -> Result<Secret, CdfError> {
        let mut slot = self.0.token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| !force && Instant::now() < t.refresh_at) {
            return Ok(t.value.clone());
        }
        let c = &self.0.config;
        let mut form = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", c.client_id.clone()),
            ("client_secret", c.client_secret.expose().to_string()),
        ];
        if !c.scopes.is_empty() {
            form.push(("scope", c.scopes.join(" ")));
        }
        if let Some(a) = &c.audience {
            form.push(("audience", a.clone()));
        }
        let auth_err = |status: Option<u16>, error: String, description: String| CdfError::Auth {
            token_url: c.token_url.clone(),
            status,
            error,
            description,
        };
        let resp = self
            .0
            .http
            .post(&c.token_url)
            .header("accept", "application/json")
            .form(&form)
            .timeout(c.timeout)
            .send()
            .await
            .map_err(|e| {
                auth_err(
                    None,
                    "the identity provider cannot be reached".into(),
                    e.without_url().to_string(),
                )
            })?;
        let status = resp.status();
        let body = resp.bytes().await.unwrap_or_default();
        if !status.is_success() {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let error = v["error"].as_str().unwrap_or(status.as_str()).to_string();
            let description = v["error_description"].as_str().unwrap_or_default().to_string();
            return Err(auth_err(Some(status.as_u16()), error, description));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            auth_err(Some(status.as_u16()), "the token response is not valid".into(), e.to_string())
        })?;
        let lifetime = match &parsed.expires_in {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(3600.0),
            Some(Value::String(s)) => s.parse().unwrap_or(3600.0),
            _ => 3600.0,
        };
        let lifetime = Duration::from_secs_f64(lifetime.max(0.0));
        // Refresh 30 s early, or halfway for short-lived tokens.
        let leeway = Duration::from_secs(30).min(lifetime / 2);
        let token = Token {
            value: Secret::new(parsed.access_token),
            refresh_at: Instant::now() + lifetime - leeway,
        };
        self.0.tokens_fetched.fetch_add(1, Ordering::Relaxed);
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/api/v1/projects/{}{path}", self.0.config.base_url, self.0.config.project)
    }

    /// A JSON call to the project API. `idempotent` says whether a 502/503/
    /// 504 or a time-out may be retried (429 and connection failures always
    /// are: the request did not take effect).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Value, CdfError> {
        let url = self.url(path);
        let c = &self.0.config;
        let mut attempt = 0u32;
        let mut refreshed = false;
        let mut force_refresh = false;
        loop {
            let token = self.token(force_refresh).await?;
            let outcome = {
                let _permit = self
                    .0
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| CdfError::Config("client closed".into()))?;
                let mut req = self
                    .0
                    .http
                    .request(method.clone(), &url)
                    .query(query)
                    .bearer_auth(token.expose())
                    .header("accept", "application/json")
                    .header("x-cdp-app", "mlops-host")
                    .header("cdf-version", "20230101")
                    .timeout(c.timeout);
                if let Some(b) = body {
                    req = req.json(b);
                }
                req.send().await
            };
            let (retry, error) = match outcome {
                Ok(resp) => {
                    let status = resp.status();
                    let request_id = resp
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let auto = resp
                        .headers()
                        .get("cdf-is-auto-retryable")
                        .is_some_and(|v| v.as_bytes() == b"true");
                    let bytes = resp.bytes().await.unwrap_or_default();
                    if status.is_success() {
                        if bytes.is_empty() {
                            return Ok(Value::Null);
                        }
                        return serde_json::from_slice(&bytes).map_err(|e| CdfError::Decode {
                            what: format!("{method} {path}"),
                            message: e.to_string(),
                        });
                    }
                    let error = CdfError::from_response(
                        method.as_str(),
                        path,
                        status.as_u16(),
                        request_id,
                        &bytes,
                    );
                    let retry = match status {
                        // A token CDF refuses: fetch a new one, once.
                        StatusCode::UNAUTHORIZED if !refreshed => {
                            refreshed = true;
                            force_refresh = true;
                            // No back-off needed for this one.
                            continue;
                        }
                        StatusCode::TOO_MANY_REQUESTS => Retry::After { refresh: false },
                        StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                            if idempotent =>
                        {
                            Retry::After { refresh: false }
                        }
                        _ if auto => Retry::After { refresh: false },
                        _ => Retry::No,
                    };
                    (retry, error)
                }
                Err(e) if e.is_connect() => (
                    Retry::After { refresh: false },
                    CdfError::Unreachable {
                        url: url.clone(),
                        message: e.without_url().to_string(),
                    },
                ),
                Err(e) if e.is_timeout() => {
                    let err =
                        CdfError::Timeout { what: format!("{method} {path}"), after: c.timeout };
                    (if idempotent { Retry::After { refresh: false } } else { Retry::No }, err)
                }
                Err(e) => (
                    Retry::No,
                    CdfError::Unreachable {
                        url: url.clone(),
                        message: e.without_url().to_string(),
                    },
                ),
            };
            match retry {
                Retry::After { refresh } if attempt < c.max_retries => {
                    force_refresh = refresh;
                    tracing::debug!(attempt, "retrying CDF {method} {path}: {error}");
                    tokio::time::sleep(self.backoff(attempt)).await;
                    attempt += 1;
                }
                _ => return Err(error),
            }
        }
    }

    /// Full jitter: uniform between a tenth of the base and
    /// min(cap, base · 2^attempt).
    fn backoff(&self, attempt: u32) -> Duration {
        let c = &self.0.config;
        let ceiling = c.backoff_base.saturating_mul(1u32 << attempt.min(20)).min(c.backoff_cap);
        let floor = c.backoff_base / 10;
        if ceiling <= floor {
            return ceiling;
        }
        floor + (ceiling - floor).mul_f64(fastrand::f64())
    }

    /// Resolves an upload or download URL CDF handed out (absolute, or a
    /// path on the base URL's origin).
    fn transfer_url(&self, url: &str) -> String {
        if url.starts_with("http://") || url.starts_with("https://") {
            return url.to_string();
        }
        let base = &self.0.config.base_url;
        let origin_end = base.find("://").map_or(0, |i| i + 3);
        let origin = match base[origin_end..].find('/') {
            Some(slash) => &base[..origin_end + slash],
            None => base.as_str(),
        };
        format!("{origin}/{}", url.trim_start_matches('/'))
    }

    /// PUTs bytes to a pre-signed URL: **no** credentials (the URL is the
    /// credential; a second one may be refused), an exact `Content-Length`.
    pub async fn put_bytes(
        &self,
        url: &str,
        bytes: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), CdfError> {
        let url = self.transfer_url(url);
        self.transfer(Method::PUT, &url, Some((bytes, content_type))).await.map(|_| ())
    }

    /// GETs the bytes behind a pre-signed download URL (no credentials).
    pub async fn get_bytes(&self, url: &str) -> Result<Bytes, CdfError> {
        let url = self.transfer_url(url);
        self.transfer(Method::GET, &url, None).await
    }

    async fn transfer(
        &self,
        method: Method,
        url: &str,
        body: Option<(Bytes, Option<&str>)>,
    ) -> Result<Bytes, CdfError> {
        let c = &self.0.config;
        // Never log a pre-signed URL's query: it is a credential.
        let shown = url.split('?').next().unwrap_or(url).to_string();
        let mut attempt = 0u32;
        loop {
            let outcome = {
                let _permit = self
                    .0
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| CdfError::Config("client closed".into()))?;
                let mut req = self.0.http.request(method.clone(), url).timeout(c.transfer_timeout);
                if let Some((bytes, content_type)) = &body {
                    req = req.header("content-length", bytes.len()).body(bytes.clone());
                    if let Some(ct) = content_type {
                        req = req.header("content-type", *ct);
                    }
                }
                req.send().await
            };
            let error = match outcome {
                Ok(resp) if resp.status().is_success() => {
                    return resp.bytes().await.map_err(|e| CdfError::Transfer {
                        what: format!("{method} {shown}"),
                        status: 200,
                        body: e.without_url().to_string(),
                    });
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let text: String =
                        resp.text().await.unwrap_or_default().chars().take(300).collect();
                    let error = CdfError::Transfer {
                        what: format!("{method} {shown}"),
                        status,
                        body: text,
                    };
                    if !matches!(status, 429 | 500 | 502 | 503 | 504) {
                        return Err(error);
                    }
                    error
                }
                Err(e) if e.is_timeout() => CdfError::Timeout {
                    what: format!("{method} {shown}"),
                    after: c.transfer_timeout,
                },
                Err(e) => CdfError::Unreachable {
                    url: shown.clone(),
                    message: e.without_url().to_string(),
                },
            };
            if attempt >= c.max_retries {
                return Err(error);
            }
            tokio::time::sleep(self.backoff(attempt)).await;
            attempt += 1;
        }
    }
}
