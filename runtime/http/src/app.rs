//! The application: the services a host serves, kept in step with the
//! store, and the HTTP routes, without a socket (tests call
//! [`App::handle`] directly; `serve` puts it behind hyper).
#![allow(
    clippy::result_large_err,
    reason = "route helpers return the error response itself; it is built once, on a cold path"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Body;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};
use mlops_manifest::{Env, ExternalId, ModelId, ServiceKind};
use mlops_registry::{LimitsRecord, SERVICE_FORMAT, ServiceRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Auth;
use crate::call::{self, BodyError, CallOutcome, error_json, outcome, read_body};
use crate::loader::{Loader, Service};
use crate::metrics::Metrics;
use crate::oip;
use crate::routes::{Miss, Route, route};

/// Requests larger than this are refused before the service is known.
pub const MAX_BODY_ANY_SERVICE: u64 = 1 << 30;
/// Admin request bodies (deploy, redeploy) are small.
const MAX_ADMIN_BODY: u64 = 1 << 20;
/// How long a client may take to send a request body by default (slow
/// clients hold a connection and memory; the head has its own timeout).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A service as this host has it.
#[derive(Clone)]
struct Entry {
    record: ServiceRecord,
    state: State,
    /// The store holds a newer record that could not be loaded; the older
    /// one keeps serving.
    update_error: Option<String>,
}

#[derive(Clone)]
enum State {
    Ready(Arc<Service>),
    Failed(String),
}

/// Settings of an [`App`].
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    pub auth: Auth,
    /// Where training runs write before their output is uploaded.
    pub scratch_dir: PathBuf,
    /// How long a client may take to send a request's head, then its body.
    pub header_timeout: Duration,
    pub body_timeout: Duration,
}

impl AppOptions {
    /// Open routes, the default timeouts, scratch space in `scratch_dir`.
    pub fn new(scratch_dir: PathBuf) -> AppOptions {
        AppOptions {
            auth: Auth::default(),
            scratch_dir,
            header_timeout: crate::serve::HEADER_READ_TIMEOUT,
            body_timeout: BODY_READ_TIMEOUT,
        }
    }
}

/// The running server's state. Cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    loader: Loader,
    options: AppOptions,
    metrics: Metrics,
    services: RwLock<BTreeMap<ExternalId, Arc<Entry>>>,
    /// Serializes syncs (the watcher's and an admin route's), and holds
    /// what the last one saw.
    syncing: tokio::sync::Mutex<Watched>,
    synced_once: AtomicBool,
    shutting_down: AtomicBool,
}

/// What the last full sync saw of the store.
#[derive(Debug, Default)]
struct Watched {
    /// The store's service-change token read just before that sync
    /// (`Some(None)`: nothing deployed yet; `None`: unknown).
    change: Option<Option<String>>,
    at: Option<std::time::Instant>,
}

/// How often hosts look at the store, and how they learn of changes.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// One HEAD of the change marker per interval: a deploy is served
    /// within about this long.
    pub interval: Duration,
    /// A full listing at least this often even if the marker did not move
    /// (a safety net for writers that bypass the registry).
    pub resync: Duration,
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub loaded: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub removed: Vec<String>,
    pub unchanged: usize,
}

impl LoadReport {
    pub fn changed(&self) -> bool {
        !(self.loaded.is_empty() && self.failed.is_empty() && self.removed.is_empty())
    }
}

impl App {
    pub fn new(loader: Loader, options: AppOptions) -> App {
        App(Arc::new(Inner {
            loader,
            options,
            metrics: Metrics::new(),
            services: RwLock::new(BTreeMap::new()),
            syncing: tokio::sync::Mutex::new(Watched::default()),
            synced_once: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
        }))
    }

    /// Loads every service record in the store (see [`App::sync`]).
    pub async fn load_all(&self) -> Result<LoadReport, String> {
        self.sync().await
    }

    /// Brings the served set in line with the store: new and changed
    /// records are loaded *before* they replace what is served (an alias
    /// switches without a gap), deleted ones are dropped, unchanged ones
    /// are kept as they are. Records with the same component, artifacts,
    /// limits and secrets share one deployment (one pool of instances).
    pub async fn sync(&self) -> Result<LoadReport, String> {
        let mut watched = self.0.syncing.lock().await;
        // A token that cannot be read is unknown: the next poll syncs again.
        let token = self.0.loader.registry.services_change().await.ok();
        self.sync_locked(&mut watched, token).await
    }

    /// Syncs only if the store's service-change token moved since the last
    /// sync, or `resync` has passed: when idle, one HEAD request. `None`
    /// when nothing needed doing.
    pub async fn sync_if_changed(&self, resync: Duration) -> Result<Option<LoadReport>, String> {
        let mut watched = self.0.syncing.lock().await;
        let token = self.0.loader.registry.services_change().await.map_err(|e| e.to_string())?;
        let fresh = watched.at.is_some_and(|at| at.elapsed() < resync);
        if fresh && watched.change.as_ref() == Some(&token) {
            return Ok(None);
        }
        self.sync_locked(&mut watched, Some(token)).await.map(Some)
    }

    /// `token` is the change token read *before* the listing: a change that
    /// lands during the listing moves it again, so the next poll syncs once
    /// more.
    async fn sync_locked(
        &self,
        watched: &mut Watched,
        token: Option<Option<String>>,
    ) -> Result<LoadReport, String> {
        let (records, unreadable) =
            self.0.loader.registry.services().await.map_err(|e| e.to_string())?;
        let current = self.snapshot();
        let mut report = LoadReport::default();
        let mut next: BTreeMap<ExternalId, Arc<Entry>> = BTreeMap::new();
        let mut shared: Vec<(ServiceRecord, Arc<Service>)> = current
            .values()
            .filter_map(|e| match &e.state {
                State::Ready(s) => Some((e.record.clone(), s.clone())),
                State::Failed(_) => None,
            })
            .collect();
        for record in records {
            let id = record.external_id.clone();
            if let Some(existing) = current.get(&id).filter(|e| e.record == record) {
                next.insert(id, existing.clone());
                report.unchanged += 1;
                continue;
            }
            let reuse =
                shared.iter().find(|(r, _)| same_deployment(r, &record)).map(|(_, s)| s.clone());
            let loaded = match reuse {
                Some(service) => Ok(service),
                None => {
                    let loaded = self.0.loader.load(&record).await.map(Arc::new);
                    if let Ok(service) = &loaded {
                        self.0.metrics.component_loaded(service.from_cache);
                    }
                    loaded
                }
            };
            self.0.metrics.service_loaded(loaded.is_ok());
            let entry = match loaded {
                Ok(service) => {
                    tracing::info!(service = %id, model_id = %record.model_id, "service ready");
                    report.loaded.push(id.to_string());
                    shared.push((record.clone(), service.clone()));
                    Entry { record, state: State::Ready(service), update_error: None }
                }
                Err(error) => {
                    tracing::error!(service = %id, "cannot load: {error}");
                    report.failed.push((id.to_string(), error.clone()));
                    match current.get(&id) {
                        // Keep serving what worked.
                        Some(old) if matches!(old.state, State::Ready(_)) => {
                            Entry { update_error: Some(error), ..Entry::clone(old) }
                        }
                        _ => Entry { record, state: State::Failed(error), update_error: None },
                    }
                }
            };
            next.insert(id, Arc::new(entry));
        }
        for (name, err) in unreadable {
            tracing::error!(service = %name, "cannot read the service record: {err}");
            report.failed.push((name, err.to_string()));
        }
        for id in current.keys().filter(|id| !next.contains_key(*id)) {
            tracing::info!(service = %id, "service removed");
            report.removed.push(id.to_string());
        }
        *self.0.services.write().unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        self.0.synced_once.store(true, Ordering::SeqCst);
        *watched = Watched { change: token, at: Some(std::time::Instant::now()) };
        Ok(report)
    }

    /// Watches the store until the app shuts down: every `interval`, one
    /// HEAD of the change marker, and a sync when it moved.
    pub fn spawn_watch(&self, watch: WatchOptions) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(watch.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            while !app.0.shutting_down.load(Ordering::SeqCst) {
                tick.tick().await;
                match app.sync_if_changed(watch.resync).await {
                    Ok(Some(report)) if report.changed() => tracing::info!(
                        loaded = report.loaded.len(),
                        failed = report.failed.len(),
                        removed = report.removed.len(),
                        "services updated from the store"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("cannot read the store; serving what is loaded: {e}"),
                }
            }
        })
    }

    /// From now on the host reports not ready (load balancers stop sending).
    pub fn begin_shutdown(&self) {
        self.0.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn options(&self) -> &AppOptions {
        &self.0.options
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    fn snapshot(&self) -> BTreeMap<ExternalId, Arc<Entry>> {
        self.0.services.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn entry(&self, id: &ExternalId) -> Option<Arc<Entry>> {
        self.0.services.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(id).cloned()
    }

    /// Serves one HTTP request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or_default().to_string();
        let route = match route(req.method(), &path) {
            Ok(r) => r,
            Err(Miss::MethodNotAllowed) => {
                let msg = format!("{} is not allowed on {path}", req.method());
                return error_response(StatusCode::METHOD_NOT_ALLOWED, &msg);
            }
            Err(Miss::NotFound) => {
                let msg = format!(
                    "no route {path}; call a service with POST /services/<external-id>/call"
                );
                return error_response(StatusCode::NOT_FOUND, &msg);
            }
        };
        if let Err((status, msg)) = self.0.options.auth.check(req.headers(), route.access()) {
            let mut resp = error_response(status, &msg);
            if status == StatusCode::UNAUTHORIZED {
                resp.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer"));
            }
            return resp;
        }
        let header_len = req
            .headers()
            .get(oip::HEADER_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let body = req.into_body();
        match route {
            Route::Healthz => json_response(StatusCode::OK, &json!({ "status": "ok" })),
            Route::Readyz => self.ready(),
            Route::Metrics => self.metrics_response(),
            Route::ListServices => self.list(&query),
            Route::GetService(id) => match self.lookup(id) {
                Ok((id, e)) => json_response(StatusCode::OK, &describe(&id, &e)),
                Err(resp) => resp,
            },
            Route::Call(id) => {
                let started = Instant::now();
                let resp = self.call_route(id, body).await;
                self.0.metrics.call(id, resp.status().as_u16(), started.elapsed());
                resp
            }
            Route::Deploy => self.deploy_route(body).await,
            Route::DeleteService(id) => self.delete_route(id).await,
            Route::Redeploy(id) => self.redeploy_route(id, body).await,
            Route::Live => json_response(StatusCode::OK, &json!({ "live": true })),
            Route::Ready => {
                let ready = self.is_ready();
                let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
                json_response(status, &json!({ "ready": ready }))
            }
            Route::ModelMetadata { name, version } => self.model_metadata(name, version),
            Route::ModelReady { name, version } => match self.oip_service(name, version) {
                Ok(_) => json_response(StatusCode::OK, &json!({ "name": name, "ready": true })),
                Err((status, msg)) => oip_error(status, &msg),
            },
            Route::Infer { name, version } => {
                let started = Instant::now();
                let resp = self.infer(name, version, body, header_len).await;
                self.0.metrics.call(name, resp.status().as_u16(), started.elapsed());
                resp
            }
        }
    }

    async fn call_route<B>(&self, id: &str, body: B) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let id = match parse_id(id) {
            Ok(id) => id,
            Err(resp) => return resp,
        };
        let limit = match self.entry(&id) {
            Some(e) => e.record.limits.max_request_bytes,
            None => MAX_BODY_ANY_SERVICE,
        };
        let body = match read_limited(body, limit, self.0.options.body_timeout).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let outcome = self.call(&id, &body).await;
        let mut resp = bytes_response(outcome.status, outcome.body);
        if outcome.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }

    /// Calls a service with a request body (the seed's envelope) and returns
    /// the response envelope: a prediction, or for a training service a new
    /// artifact version.
    pub async fn call(&self, id: &ExternalId, body: &[u8]) -> CallOutcome {
        let entry = self.entry(id);
        match entry.as_deref() {
            Some(Entry { state: State::Ready(service), record, .. }) => match record.service {
                ServiceKind::Prediction => {
                    let files = call::Files::Host {
                        registry: &self.0.loader.registry,
                        cdf: self.0.loader.cdf.as_deref(),
                    };
                    call::invoke(service, &id.to_string(), body, files).await
                }
                ServiceKind::Training => {
                    call::train(
                        service,
                        id,
                        body,
                        &self.0.loader.registry,
                        &self.0.options.scratch_dir,
                    )
                    .await
                }
            },
            Some(Entry { state: State::Failed(error), record, .. }) => outcome(
                StatusCode::SERVICE_UNAVAILABLE,
                &error_json(
                    &format!("service {id} is not loaded: {error}"),
                    Some(&record.model_id.to_string()),
                ),
            ),
            // Not found *yet*: this host has not read the store.
            None if !self.0.synced_once.load(Ordering::SeqCst) => outcome(
                StatusCode::SERVICE_UNAVAILABLE,
                &error_json(
                    &format!(
                        "service {id}: this host has not loaded the services from its store yet; retry shortly"
                    ),
                    None,
                ),
            ),
            None => outcome(StatusCode::NOT_FOUND, &not_found_json(id)),
        }
    }

    fn is_ready(&self) -> bool {
        !self.0.shutting_down.load(Ordering::SeqCst)
            && self.0.synced_once.load(Ordering::SeqCst)
            && self.snapshot().values().all(|e| matches!(e.state, State::Ready(_)))
    }

    fn ready(&self) -> Response<Full<Bytes>> {
        if self.0.shutting_down.load(Ordering::SeqCst) {
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({ "status": "shutting down" }),
            );
        }
        if !self.0.synced_once.load(Ordering::SeqCst) {
            return json_response(StatusCode::SERVICE_UNAVAILABLE, &json!({ "status": "loading" }));
        }
        let failed: Vec<_> = self
            .snapshot()
            .iter()
            .filter_map(|(id, e)| match &e.state {
                State::Failed(error) => {
                    Some(json!({ "external_id": id.to_string(), "error": error }))
                }
                State::Ready(_) => None,
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

    fn metrics_response(&self) -> Response<Full<Bytes>> {
        let services: Vec<(String, u64, u64)> = self
            .snapshot()
            .iter()
            .filter_map(|(id, e)| match &e.state {
                State::Ready(s) => {
                    let stats = s.deployment.stats();
                    Some((id.to_string(), stats.instances, stats.traps))
                }
                State::Failed(_) => None,
            })
            .collect();
        let mut resp = Response::new(Full::new(Bytes::from(
            self.0.metrics.encode(&services, &self.0.loader.registry.store_requests().by_kind()),
        )));
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        );
        resp
    }

    /// `GET /services?env=dev&tags=a,b`: tags match the description
    /// (case-insensitive substrings, as the Python framework did) or a
    /// metadata value; every tag must match.
    fn list(&self, query: &str) -> Response<Full<Bytes>> {
        let mut env: Option<Env> = None;
        let mut tags: Vec<String> = Vec::new();
        for (key, value) in query.split('&').filter_map(|kv| kv.split_once('=')) {
            let value = percent_decode(value);
            match key {
                "env" => match value.parse() {
                    Ok(e) => env = Some(e),
                    Err(e) => return error_response(StatusCode::BAD_REQUEST, &format!("env: {e}")),
                },
                "tags" | "tag" => {
                    tags.extend(value.split(',').filter(|t| !t.is_empty()).map(str::to_string))
                }
                other => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "unknown filter `{other}`; use env=<dev|test|prod> and tags=<a,b>"
                        ),
                    );
                }
            }
        }
        let list: Vec<Value> = self
            .snapshot()
            .iter()
            .filter(|(_, e)| env.is_none_or(|env| e.record.env == env))
            .filter(|(_, e)| e.record.matches_tags(&tags))
            .map(|(id, e)| describe(id, e))
            .collect();
        json_response(StatusCode::OK, &json!({ "services": list }))
    }

    fn lookup(&self, id: &str) -> Result<(ExternalId, Arc<Entry>), Response<Full<Bytes>>> {
        let id = parse_id(id)?;
        match self.entry(&id) {
            Some(e) => Ok((id, e)),
            None => Err(json_response(StatusCode::NOT_FOUND, &not_found_json(&id))),
        }
    }

    /// `POST /services`: publishes a service from parts already in the store
    /// (a component blob and an artifact version).
    async fn deploy_route<B>(&self, body: B) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let body = match read_limited(body, MAX_ADMIN_BODY, self.0.options.body_timeout).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let req: DeployRequest = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    &format!("not a deploy request: {e}"),
                );
            }
        };
        let registry = &self.0.loader.registry;
        let model_id = ModelId { model: req.model.clone(), env: req.env, version: req.version };
        if let Err(e) = registry.manifest(&model_id).await {
            return error_response(StatusCode::BAD_REQUEST, &e.to_string());
        }
        match registry.has_blob(&req.component).await {
            Ok(true) => {}
            Ok(false) => {
                let msg =
                    format!("component {} is not in the store: upload it first", req.component);
                return error_response(StatusCode::BAD_REQUEST, &msg);
            }
            Err(e) => return error_response(StatusCode::BAD_GATEWAY, &e.to_string()),
        }
        let mut metadata = req.metadata;
        metadata.insert("version".into(), req.version.to_string());
        metadata.insert("model_id".into(), model_id.to_string());
        let record = ServiceRecord {
            format: SERVICE_FORMAT.into(),
            external_id: ExternalId::pinned(req.model.clone(), req.service, req.env, req.version),
            alias_of: None,
            model: req.model.clone(),
            service: req.service,
            env: req.env,
            model_id,
            component_size: 0,
            component: req.component,
            human_friendly_model_name: req
                .human_friendly_model_name
                .unwrap_or_else(|| req.model.to_string()),
            description: req.description,
            owner: req.owner,
            metadata,
            limits: LimitsRecord::from(&mlops_manifest::Limits::default()),
            secrets: req.secrets,
            prediction_files: req.prediction_files,
            deployed: mlops_registry::now(),
            deployed_by: "admin API".into(),
        };
        if let Err(e) = registry.publish_service(&record).await {
            return error_response(StatusCode::BAD_GATEWAY, &e.to_string());
        }
        self.after_change().await;
        json_response(
            StatusCode::CREATED,
            &json!({ "deployed": [record.external_id.to_string(), record.external_id.alias().to_string()] }),
        )
    }

    async fn delete_route(&self, id: &str) -> Response<Full<Bytes>> {
        let (id, _) = match self.lookup(id) {
            Ok(found) => found,
            Err(resp) => return resp,
        };
        if let Err(e) = self.0.loader.registry.delete_service(&id).await {
            return error_response(StatusCode::BAD_GATEWAY, &e.to_string());
        }
        self.after_change().await;
        json_response(StatusCode::OK, &json!({ "deleted": id.to_string() }))
    }

    async fn redeploy_route<B>(&self, id: &str, body: B) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let alias = match parse_id(id) {
            Ok(id) => id,
            Err(resp) => return resp,
        };
        let body = match read_limited(body, MAX_ADMIN_BODY, self.0.options.body_timeout).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Redeploy {
            version: u64,
        }
        let req: Redeploy = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    &format!("send {{\"version\": <n>}}: {e}"),
                );
            }
        };
        match self.0.loader.registry.redeploy(&alias, req.version).await {
            Ok(record) => {
                self.after_change().await;
                json_response(
                    StatusCode::OK,
                    &json!({ "external_id": alias.to_string(), "alias_of": record.alias_of.map(|a| a.to_string()), "model_id": record.model_id.to_string() }),
                )
            }
            Err(
                e @ (mlops_registry::RegistryError::NotFound { .. }
                | mlops_registry::RegistryError::Invalid(_)),
            ) => error_response(StatusCode::BAD_REQUEST, &e.to_string()),
            Err(e) => error_response(StatusCode::BAD_GATEWAY, &e.to_string()),
        }
    }

    /// After an admin change: this host serves it at once (others at their
    /// next watch tick).
    async fn after_change(&self) {
        if let Err(e) = self.sync().await {
            tracing::warn!("the change is stored, but this host could not reload: {e}");
        }
    }

    /// The service an OIP model name (and version) means: the name is an
    /// external id; a version pins it.
    fn oip_service(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<OipTarget, (StatusCode, String)> {
        let full = match version {
            Some(v) => format!("{name}-{v}"),
            None => name.to_string(),
        };
        let id: ExternalId = full
            .parse()
            .map_err(|e: mlops_manifest::IdError| (StatusCode::NOT_FOUND, e.to_string()))?;
        let entry =
            self.entry(&id).ok_or_else(|| (StatusCode::NOT_FOUND, format!("no model {full}")))?;
        match &entry.state {
            State::Ready(s) if entry.record.service == ServiceKind::Prediction => {
                let service = s.clone();
                Ok((id, entry, service))
            }
            State::Ready(_) => {
                Err((StatusCode::BAD_REQUEST, format!("{full} is a training service")))
            }
            State::Failed(e) => {
                Err((StatusCode::SERVICE_UNAVAILABLE, format!("{full} is not loaded: {e}")))
            }
        }
    }

    fn model_metadata(&self, name: &str, version: Option<&str>) -> Response<Full<Bytes>> {
        let (id, _, service) = match self.oip_service(name, version) {
            Ok(found) => found,
            Err((status, msg)) => return oip_error(status, &msg),
        };
        let alias = id.alias();
        let versions: Vec<String> = self
            .snapshot()
            .keys()
            .filter(|k| k.alias() == alias)
            .filter_map(|k| k.version.map(|v| v.to_string()))
            .collect();
        let outputs =
            service.deployment.signature().map_or(mlops_engine::Schema::Any, |s| s.outputs.clone());
        json_response(StatusCode::OK, &oip::metadata(name, &versions, &service.inputs, &outputs))
    }

    async fn infer<B>(
        &self,
        name: &str,
        version: Option<&str>,
        body: B,
        header_len: Option<usize>,
    ) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (_, entry, service) = match self.oip_service(name, version) {
            Ok(found) => found,
            Err((status, msg)) => return oip_error(status, &msg),
        };
        let body = match read_limited(
            body,
            entry.record.limits.max_request_bytes,
            self.0.options.body_timeout,
        )
        .await
        {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        let (frame, options) = match oip::decode(&body, header_len, &service.inputs) {
            Ok(decoded) => decoded,
            Err(msg) => return oip_error(StatusCode::BAD_REQUEST, &msg),
        };
        let output = match service.deployment.predict(mlops_engine::Payload::Frame(frame)).await {
            Ok(out) => out,
            Err(e) => return oip_error(call::call_status(&e), &e.to_string()),
        };
        let model_version = entry.record.model_id.version.to_string();
        match oip::encode(name, &model_version, &output, &options) {
            Ok((bytes, json_len)) => {
                let mut resp = Response::new(Full::new(bytes));
                match json_len {
                    Some(n) => {
                        resp.headers_mut().insert(
                            CONTENT_TYPE,
                            HeaderValue::from_static("application/octet-stream"),
                        );
                        if let Ok(v) = HeaderValue::from_str(&n.to_string()) {
                            resp.headers_mut().insert(oip::HEADER_LENGTH, v);
                        }
                    }
                    None => {
                        resp.headers_mut()
                            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    }
                }
                resp
            }
            Err(msg) => oip_error(StatusCode::INTERNAL_SERVER_ERROR, &msg),
        }
    }
}

/// The service an OIP route names: its id, entry and loaded service.
type OipTarget = (ExternalId, Arc<Entry>, Arc<Service>);

/// `POST /services`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployRequest {
    model: mlops_manifest::ModelName,
    env: Env,
    #[serde(default = "prediction")]
    service: ServiceKind,
    /// The artifact version to run (it must exist in `env`).
    version: u64,
    /// blake3 of the component, already in the store.
    component: String,
    #[serde(default)]
    human_friendly_model_name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    secrets: Vec<mlops_manifest::SecretName>,
    /// `{"to": "store"}` (default) or `{"to": "cdf", "data_set": …}`.
    #[serde(default)]
    prediction_files: mlops_manifest::PredictionFiles,
}

fn prediction() -> ServiceKind {
    ServiceKind::Prediction
}

/// Whether two records would run the same deployment.
fn same_deployment(a: &ServiceRecord, b: &ServiceRecord) -> bool {
    a.component == b.component
        && a.model_id == b.model_id
        && a.limits == b.limits
        && a.secrets == b.secrets
        && a.service == b.service
}

async fn read_limited<B>(
    body: B,
    limit: u64,
    timeout: Duration,
) -> Result<Bytes, Response<Full<Bytes>>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let read = tokio::time::timeout(timeout, read_body(body, limit));
    let Ok(read) = read.await else {
        return Err(error_response(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the request body did not arrive within {:.1} s; send it at once",
                timeout.as_secs_f64()
            ),
        ));
    };
    read.map_err(|e| match e {
        BodyError::TooLarge => error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is larger than this service accepts ({} MiB, limits.max_request_mb)", limit >> 20),
        ),
        BodyError::Read(e) => error_response(StatusCode::BAD_REQUEST, &format!("cannot read the body: {e}")),
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn describe(id: &ExternalId, entry: &Entry) -> Value {
    let record = &entry.record;
    let (status, error) = match &entry.state {
        State::Ready(_) => ("ready", None),
        State::Failed(e) => ("failed", Some(e.as_str())),
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
        "deployed_by": record.deployed_by,
        "status": status,
        "error": error,
        "update_error": entry.update_error,
    })
}

fn parse_id(id: &str) -> Result<ExternalId, Response<Full<Bytes>>> {
    id.parse::<ExternalId>().map_err(|e| error_response(StatusCode::NOT_FOUND, &e.to_string()))
}

fn not_found_json(id: &ExternalId) -> Value {
    error_json(&format!("no service {id}; GET /services lists the deployed ones"), None)
}

/// An OIP error: `{"error": message}`.
fn oip_error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json_response(status, &json!({ "error": message }))
}

fn error_response(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json_response(status, &error_json(message, None))
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    bytes_response(status, Bytes::from(body.to_string()))
}

fn bytes_response(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(super::percent_decode("well%20log+x%2Cy"), "well log x,y");
        assert_eq!(super::percent_decode("100%"), "100%");
    }
}
