//! The routes over the serving core, without a socket: [`App::handle`]
//! takes a request and gives a response (tests call it directly; `serve`
//! puts it behind hyper).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Body;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use mlops_core::{DeployPlan, Entry, Error, Host, Readiness};
use mlops_manifest::{Env, ExternalId, IdError, Limits, ModelId, ModelName, ServiceKind};
use mlops_registry::{ArtifactManifest, Promotion, RegistryError, VersionFilter};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Access, Auth, refuse_cross_site};
use crate::body::read_limited;
use crate::error::{Failure, Style};
use crate::metrics::Metrics;
use crate::oip;
use crate::recent::Recent;
use crate::routes::{Miss, ModelRef, Route, route};
use crate::ui;

/// Admin request bodies (deploy, redeploy) are small.
const MAX_ADMIN_BODY: u64 = 1 << 20;
/// How long a client may take to send a request's head by default.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request body by default (slow
/// clients hold a connection and memory).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of an [`App`].
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub auth: Auth,
    /// How long a client may take to send a request's head, then its body.
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    /// Serve the dashboard (`/ui`) with the API, behind its security
    /// headers; admin routes then need a configured admin token.
    pub dashboard: bool,
}

impl Default for AppOptions {
    /// Open routes, the default timeouts.
    fn default() -> AppOptions {
        AppOptions {
            auth: Auth::default(),
            header_timeout: HEADER_READ_TIMEOUT,
            body_timeout: BODY_READ_TIMEOUT,
            dashboard: false,
        }
    }
}

/// The HTTP application over a [`Host`]. Cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    host: Host,
    options: AppOptions,
    metrics: Metrics,
    recent: Recent,
}

type Resp = Response<Full<Bytes>>;

impl App {
    pub fn new(host: Host, options: AppOptions) -> App {
        App(Arc::new(Inner { host, options, metrics: Metrics::new(), recent: Recent::default() }))
    }

    /// The same host, metrics and history, serving the dashboard too (for
    /// a listener of its own: `serve --ui`).
    pub fn dashboard(&self) -> App {
        App(Arc::new(Inner {
            host: self.0.host.clone(),
            options: AppOptions { dashboard: true, ..self.0.options.clone() },
            metrics: self.0.metrics.clone(),
            recent: self.0.recent.clone(),
        }))
    }

    pub fn host(&self) -> &Host {
        &self.0.host
    }

    pub fn options(&self) -> &AppOptions {
        &self.0.options
    }

    /// Serves one HTTP request.
    pub async fn handle<B>(&self, req: Request<B>) -> Resp
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if !self.0.options.dashboard {
            return self.api(req).await;
        }
        let mut resp = match ui::asset(req.method(), req.uri().path()) {
            Some(asset) => asset,
            None => self.api(req).await,
        };
        ui::secure(resp.headers_mut());
        resp
    }

    /// The API's routes.
    async fn api<B>(&self, req: Request<B>) -> Resp
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let (route, access) = match route(&parts.method, path) {
            Ok(matched) => matched,
            Err(Miss::MethodNotAllowed) => {
                let method = parts.method.to_string();
                return Failure::MethodNotAllowed { method, path: path.to_string() }
                    .respond(Style::Envelope, None);
            }
            Err(Miss::NotFound) if ui::is_ui_path(path) => {
                return Failure::NotHere(format!(
                    "the dashboard is not on this port: start serve with --ui <ADDR> (e.g. --ui 127.0.0.1:8081) and open http://<ADDR>{}",
                    ui::HOME
                ))
                .respond(Style::Envelope, None);
            }
            Err(Miss::NotFound) => {
                return Failure::NoRoute { path: path.to_string() }.respond(Style::Envelope, None);
            }
        };
        let style = if route.is_oip() { Style::Oip } else { Style::Envelope };
        if let Err(refused) = refuse_cross_site(&parts.method, &parts.headers) {
            return refused.respond(style, None);
        }
        if self.0.options.dashboard && access == Access::Admin && !self.0.options.auth.has_admin() {
            return Failure::Forbidden(
                "admin actions from the dashboard's port need an admin token: start serve with MLOPS_ADMIN_TOKEN set"
                    .into(),
            )
            .respond(style, None);
        }
        if let Err(refused) = self.0.options.auth.check(&parts.headers, access) {
            return refused.respond(style, None);
        }
        let answer = match route {
            Route::Healthz => Ok(json_response(StatusCode::OK, &json!({ "status": "ok" }))),
            Route::Readyz => Ok(self.readyz()),
            Route::Metrics => Ok(self.metrics()),
            Route::ListServices => self.list(parts.uri.query().unwrap_or_default()),
            Route::GetService(id) => {
                self.entry(id).map(|(id, e)| json_response(StatusCode::OK, &describe(&id, &e)))
            }
            Route::Call(id) => return self.call(id, body).await,
            Route::Deploy => self.deploy(body).await,
            Route::DeleteService(id) => self.delete(id).await,
            Route::Redeploy(id) => self.redeploy(id, body).await,
            Route::Example(id) => self.example(id).await,
            Route::Stats => self.stats(parts.uri.query().unwrap_or_default()),
            Route::Live => Ok(json_response(StatusCode::OK, &json!({ "live": true }))),
            Route::Ready => {
                let ready = self.0.host.readiness() == Readiness::Ready;
                let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
                Ok(json_response(status, &json!({ "ready": ready })))
            }
            Route::ModelMetadata { name, version } => self.model_metadata(name, version),
            Route::ModelReady { name, version } => self
                .oip_target(name, version)
                .map(|_| json_response(StatusCode::OK, &json!({ "name": name, "ready": true }))),
            Route::ListModels => self.list_models(parts.uri.query().unwrap_or_default()).await,
            Route::GetModel(at) => self
                .model_version(at)
                .await
                .map(|m| json_response(StatusCode::OK, &version_json(&m))),
            Route::ModelFile(at) => {
                self.model_file(at, parts.uri.query().unwrap_or_default()).await
            }
            Route::Promote(at) => self.promote(at, body).await,
            Route::Infer { name, version } => {
                let header_len = parts
                    .headers
                    .get(oip::HEADER_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<usize>().ok());
                return self.infer(name, version, body, header_len).await;
            }
        };
        answer.unwrap_or_else(|failure| failure.respond(style, None))
    }

    /// `POST /services/<id>/call`: the service is looked up once, before
    /// its body is read (an unknown id is refused at once), and counted in
    /// the metrics under its id only if it exists.
    async fn call<B>(&self, id: &str, body: B) -> Resp
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let (entry, resp) = match self.lookup(id) {
            Err(failure) => (None, failure.respond(Style::Envelope, None)),
            Ok((id, entry)) => {
                let resp = match read_limited(
                    body,
                    entry.max_request_bytes(),
                    self.0.options.body_timeout,
                )
                .await
                {
                    Err(failure) => failure.respond(Style::Envelope, None),
                    Ok(body) => match self.0.host.call(&entry, &id, &body).await {
                        Ok(envelope) => bytes_response(StatusCode::OK, envelope),
                        Err(e) => {
                            Failure::Core(e).respond(Style::Envelope, Some(&entry.model_id()))
                        }
                    },
                };
                (Some(entry), resp)
            }
        };
        self.record(entry.as_deref(), resp.status().as_u16(), started.elapsed());
        resp
    }

    /// A call ended: into the metrics and the recent history.
    fn record(&self, entry: Option<&Entry>, status: u16, took: Duration) {
        let name = entry.map(Entry::name);
        self.0.metrics.call(name, status, took);
        if let Some(name) = name {
            self.0.recent.call(name, status, took);
        }
    }

    /// The entry of an id from a path.
    fn lookup(&self, id: &str) -> Result<(ExternalId, Arc<Entry>), Failure> {
        let id: ExternalId =
            id.parse().map_err(|e: mlops_manifest::IdError| Failure::BadId(e.to_string()))?;
        let entry = self.0.host.lookup(&id)?;
        Ok((id, entry))
    }

    /// [`App::lookup`] for the metadata routes: an id the host does not
    /// know is not found, even before the first sync.
    fn entry(&self, id: &str) -> Result<(ExternalId, Arc<Entry>), Failure> {
        self.lookup(id).map_err(|f| match f {
            Failure::Core(Error::NotSyncedYet(id)) => {
                Failure::Core(Error::UnknownService(id.to_string()))
            }
            other => other,
        })
    }

    fn readyz(&self) -> Resp {
        let (status, doc) = match self.0.host.readiness() {
            Readiness::Ready => (StatusCode::OK, json!({ "status": "ready" })),
            Readiness::Loading => (StatusCode::SERVICE_UNAVAILABLE, json!({ "status": "loading" })),
            Readiness::ShuttingDown => {
                (StatusCode::SERVICE_UNAVAILABLE, json!({ "status": "shutting down" }))
            }
            Readiness::NotReady(failed) => {
                let failed: Vec<Value> = failed
                    .iter()
                    .map(|(id, error)| json!({ "external_id": id, "error": error }))
                    .collect();
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "status": "not ready", "failed": failed }),
                )
            }
        };
        json_response(status, &doc)
    }

    fn metrics(&self) -> Resp {
        let host = &self.0.host;
        let services: Vec<(Arc<str>, u64, u64)> = host
            .snapshot()
            .values()
            .filter_map(|e| {
                let stats = e.service().ok()?.deployment.stats();
                Some((Arc::clone(e.name()), stats.instances, stats.traps))
            })
            .collect();
        let text = self.0.metrics.encode(
            &services,
            host.sync_counts(),
            &host.registry().store_requests().by_kind(),
        );
        let mut resp = Response::new(Full::new(Bytes::from(text)));
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        );
        resp
    }

    /// `GET /services?env=dev&tags=a,b`: tags match the description
    /// (case-insensitive substrings, as the Python framework did) or a
    /// metadata value; every tag must match.
    fn list(&self, query: &str) -> Result<Resp, Failure> {
        let mut env: Option<Env> = None;
        let mut tags: Vec<String> = Vec::new();
        for (key, value) in query_pairs(query) {
            match key {
                "env" => {
                    env = Some(value.parse().map_err(|e| Error::BadRequest(format!("env: {e}")))?)
                }
                "tags" | "tag" => {
                    tags.extend(value.split(',').filter(|t| !t.is_empty()).map(str::to_string))
                }
                other => {
                    return Err(Error::BadRequest(format!(
                        "unknown filter `{other}`; use env=<dev|test|prod> and tags=<a,b>"
                    ))
                    .into());
                }
            }
        }
        let list: Vec<Value> = self
            .0
            .host
            .snapshot()
            .iter()
            .filter(|(_, e)| env.is_none_or(|env| e.record().env == env))
            .filter(|(_, e)| e.record().matches_tags(&tags))
            .map(|(id, e)| describe(id, e))
            .collect();
        Ok(json_response(StatusCode::OK, &json!({ "services": list })))
    }

    /// `GET /services/<id>/example`: the request its deploy stored from the
    /// model's fixtures (the first whose expected answer is ok).
    async fn example(&self, id: &str) -> Result<Resp, Failure> {
        let (id, entry) = self.entry(id)?;
        let Some(digest) = &entry.record().example else {
            return Err(Failure::NotHere(format!(
                "{id} has no example request: deploy it with fixtures (`fixtures:` in the settings) to store one"
            )));
        };
        let bytes = self.0.host.registry().get_blob(digest).await.map_err(Failure::Registry)?;
        Ok(bytes_response(StatusCode::OK, bytes))
    }

    /// `GET /stats?service=<id>`: calls, errors and latency of every
    /// service (or one) over the last minutes, in buckets.
    fn stats(&self, query: &str) -> Result<Resp, Failure> {
        let mut only: Option<ExternalId> = None;
        for (key, value) in query_pairs(query) {
            match key {
                "service" => {
                    only = Some(value.parse().map_err(|e: IdError| Failure::BadId(e.to_string()))?)
                }
                other => {
                    return Err(Error::BadRequest(format!(
                        "unknown filter `{other}`; use service=<external-id>"
                    ))
                    .into());
                }
            }
        }
        let snapshot = self.0.host.snapshot();
        if let Some(id) = only.as_ref().filter(|id| !snapshot.contains_key(*id)) {
            return Err(Error::UnknownService(id.to_string()).into());
        }
        let names: Vec<Arc<str>> = snapshot
            .iter()
            .filter(|(id, _)| only.as_ref().is_none_or(|o| o == *id))
            .map(|(_, e)| Arc::clone(e.name()))
            .collect();
        Ok(json_response(StatusCode::OK, &self.0.recent.json(&names)))
    }

    /// `POST /services`: publishes a service from parts already in the
    /// store (a component blob and an artifact version), as `mlops-host
    /// deploy` does.
    async fn deploy<B>(&self, body: B) -> Result<Resp, Failure>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let body = read_limited(body, MAX_ADMIN_BODY, self.0.options.body_timeout).await?;
        let req: DeployRequest = serde_json::from_slice(&body)
            .map_err(|e| Error::BadRequest(format!("not a deploy request: {e}")))?;
        let deployed = self.0.host.deploy(req.plan()?).await?;
        let id = &deployed.record.external_id;
        let pruned: Vec<String> = deployed.pruned.iter().map(ToString::to_string).collect();
        Ok(json_response(
            StatusCode::CREATED,
            &json!({ "deployed": [id.to_string(), id.alias().to_string()], "pruned": pruned }),
        ))
    }

    async fn delete(&self, id: &str) -> Result<Resp, Failure> {
        let (id, _) = self.entry(id)?;
        self.0.host.delete(&id).await?;
        Ok(json_response(StatusCode::OK, &json!({ "deleted": id.to_string() })))
    }

    async fn redeploy<B>(&self, id: &str, body: B) -> Result<Resp, Failure>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Redeploy {
            version: u64,
        }
        let alias: ExternalId =
            id.parse().map_err(|e: mlops_manifest::IdError| Failure::BadId(e.to_string()))?;
        let body = read_limited(body, MAX_ADMIN_BODY, self.0.options.body_timeout).await?;
        let req: Redeploy = serde_json::from_slice(&body)
            .map_err(|e| Error::BadRequest(format!("send {{\"version\": <n>}}: {e}")))?;
        let record = self.0.host.redeploy(&alias, req.version).await?;
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "external_id": alias.to_string(),
                "alias_of": record.alias_of.map(|a| a.to_string()),
                "model_id": record.model_id.to_string(),
            }),
        ))
    }

    /// `GET /models?model=<name>&env=<env>&include_deleted=<bool>`: the
    /// artifact versions, by model, env and version.
    async fn list_models(&self, query: &str) -> Result<Resp, Failure> {
        let mut filter = VersionFilter::default();
        for (key, value) in query_pairs(query) {
            let bad = |e: String| Failure::Core(Error::BadRequest(format!("{key}: {e}")));
            match key {
                "model" => {
                    filter.model = Some(ModelName::new(value).map_err(|e| bad(e.to_string()))?)
                }
                "env" => filter.env = Some(value.parse().map_err(|e: IdError| bad(e.to_string()))?),
                "include_deleted" => {
                    filter.include_deleted = match value.as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(bad(format!("`{value}` is not true or false"))),
                    }
                }
                other => {
                    return Err(Error::BadRequest(format!(
                        "unknown filter `{other}`; use model=<name>, env=<dev|test|prod> and include_deleted=<true|false>"
                    ))
                    .into());
                }
            }
        }
        let versions =
            self.0.host.registry().list_versions(&filter).await.map_err(Failure::Registry)?;
        let list: Vec<Value> = versions.iter().map(version_json).collect();
        Ok(json_response(StatusCode::OK, &json!({ "versions": list })))
    }

    /// The live version a `/models/<model>/<env>/<version>` path names.
    async fn model_version(&self, at: ModelRef<'_>) -> Result<ArtifactManifest, Failure> {
        let text = format!("{}/{}/{}", at.model, at.env, at.version);
        let id: ModelId = text.parse().map_err(|e: IdError| {
            Failure::Core(Error::BadRequest(format!(
                "`{text}` is not a model id ({e}); use /models/<model>/<dev|test|prod>/<version>"
            )))
        })?;
        self.0.host.registry().manifest(&id).await.map_err(Failure::Registry)
    }

    /// `GET /models/<model>/<env>/<version>/file?path=<path>`: one file of
    /// a version, its bytes checked against their digest on the way.
    async fn model_file(&self, at: ModelRef<'_>, query: &str) -> Result<Resp, Failure> {
        let path =
            query_pairs(query).find(|(k, _)| *k == "path").map(|(_, v)| v).ok_or_else(|| {
                Failure::Core(Error::BadRequest(
                    "name the file: ?path=<its path in the version, as listed>".into(),
                ))
            })?;
        let manifest = self.model_version(at).await?;
        let Some(file) = manifest.files.iter().find(|f| f.path == path) else {
            return Err(Failure::Registry(RegistryError::NotFound {
                what: format!("file `{path}` in {}", manifest.model_id()),
            }));
        };
        let bytes =
            self.0.host.registry().get_blob(&file.blake3).await.map_err(Failure::Registry)?;
        let mut resp = bytes_response(StatusCode::OK, bytes);
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        Ok(resp)
    }

    /// `POST /models/<model>/<env>/<version>/promote` with `{}` or
    /// `{"to": "<env>"}`: the version to the next env, same number, no
    /// byte copied (`mlops-host models promote`).
    async fn promote<B>(&self, at: ModelRef<'_>, body: B) -> Result<Resp, Failure>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct Promote {
            #[serde(default)]
            to: Option<String>,
        }
        let body = read_limited(body, MAX_ADMIN_BODY, self.0.options.body_timeout).await?;
        let req: Promote = if body.trim_ascii().is_empty() {
            Promote::default()
        } else {
            serde_json::from_slice(&body).map_err(|e| {
                Error::BadRequest(format!("send {{}} or {{\"to\": \"test\"|\"prod\"}}: {e}"))
            })?
        };
        let manifest = self.model_version(at).await?;
        let id = manifest.model_id();
        let to = match req.to {
            Some(to) => to.parse::<Env>().map_err(|e| Error::BadRequest(format!("to: {e}")))?,
            None => mlops_registry::next_env(id.env).ok_or_else(|| {
                Failure::Registry(RegistryError::Invalid(format!(
                    "{id} is in prod already: there is nothing to promote it to"
                )))
            })?,
        };
        let promotion = self
            .0
            .host
            .registry()
            .promote(&id, to, "admin API")
            .await
            .map_err(Failure::Registry)?;
        let (record, already_there) = match promotion {
            Promotion::Promoted(m) => (m, false),
            Promotion::AlreadyThere(m) => (m, true),
        };
        Ok(json_response(
            StatusCode::OK,
            &json!({ "status": "ok", "promoted": version_json(&record), "already_there": already_there }),
        ))
    }

    /// The service an OIP model name (and version) means: the name is an
    /// external id; a version pins it. Only loaded prediction services.
    fn oip_target(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<(ExternalId, Arc<Entry>), Failure> {
        let full = match version {
            Some(v) => format!("{name}-{v}"),
            None => name.to_string(),
        };
        let (id, entry) = self.entry(&full)?;
        if let Err(why) = entry.service() {
            return Err(Error::NotLoaded { id, why: why.to_string() }.into());
        }
        if entry.record().service != ServiceKind::Prediction {
            return Err(Error::WrongKind { id: full, kind: entry.record().service }.into());
        }
        Ok((id, entry))
    }

    fn model_metadata(&self, name: &str, version: Option<&str>) -> Result<Resp, Failure> {
        let (id, entry) = self.oip_target(name, version)?;
        let alias = id.alias();
        let versions: Vec<String> = self
            .0
            .host
            .snapshot()
            .keys()
            .filter(|k| k.alias() == alias)
            .filter_map(|k| k.version.map(|v| v.to_string()))
            .collect();
        let service =
            entry.service().map_err(|why| Error::NotLoaded { id, why: why.to_string() })?;
        let outputs =
            service.deployment.signature().map_or(mlops_engine::Schema::Any, |s| s.outputs.clone());
        Ok(json_response(
            StatusCode::OK,
            &oip::metadata(name, &versions, &service.inputs, &outputs),
        ))
    }

    async fn infer<B>(
        &self,
        name: &str,
        version: Option<&str>,
        body: B,
        header_len: Option<usize>,
    ) -> Resp
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let (entry, answer) = match self.oip_target(name, version) {
            Err(failure) => (None, Err(failure)),
            Ok((id, entry)) => {
                let answer = self.infer_on(&id, &entry, name, body, header_len).await;
                (Some(entry), answer)
            }
        };
        let resp = answer.unwrap_or_else(|failure| failure.respond(Style::Oip, None));
        self.record(entry.as_deref(), resp.status().as_u16(), started.elapsed());
        resp
    }

    async fn infer_on<B>(
        &self,
        id: &ExternalId,
        entry: &Entry,
        name: &str,
        body: B,
        header_len: Option<usize>,
    ) -> Result<Resp, Failure>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let body =
            read_limited(body, entry.max_request_bytes(), self.0.options.body_timeout).await?;
        let inputs = entry
            .service()
            .map(|s| &s.inputs)
            .map_err(|why| Error::NotLoaded { id: id.clone(), why: why.to_string() })?;
        let (frame, options) = oip::decode(&body, header_len, inputs).map_err(Error::BadRequest)?;
        let output = self.0.host.predict(entry, id, mlops_engine::Payload::Frame(frame)).await?;
        let model_version = entry.record().model_id.version.to_string();
        let (bytes, json_len) =
            oip::encode(name, &model_version, &output, &options).map_err(Error::Internal)?;
        let mut resp = Response::new(Full::new(bytes));
        let headers = resp.headers_mut();
        match json_len {
            Some(n) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
                headers.insert(oip::HEADER_LENGTH, HeaderValue::from(n));
            }
            None => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
        }
        Ok(resp)
    }
}

/// `POST /services`: what `mlops-host deploy` takes from the settings file,
/// in the settings file's names.
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
    /// As the settings file's `limits:` (`memory_mb`, `timeout_ms`…).
    #[serde(default)]
    limits: BTreeMap<String, u64>,
    #[serde(default)]
    secrets: Vec<mlops_manifest::SecretName>,
    /// `{"to": "store"}` (default) or `{"to": "cdf", "data_set": …}`.
    #[serde(default)]
    prediction_files: mlops_manifest::PredictionFiles,
    /// blake3 of an example request, already in the store.
    #[serde(default)]
    example: Option<String>,
    #[serde(default = "models_to_keep")]
    models_to_keep: u32,
}

impl DeployRequest {
    fn plan(self) -> Result<DeployPlan, Error> {
        let limits = Limits::from_settings_keys(self.limits.iter().map(|(k, v)| (k.as_str(), *v)))
            .map_err(Error::BadRequest)?;
        Ok(DeployPlan {
            human_friendly_model_name: self
                .human_friendly_model_name
                .unwrap_or_else(|| self.model.to_string()),
            model: self.model,
            env: self.env,
            service: self.service,
            version: self.version,
            component: self.component,
            description: self.description,
            owner: self.owner,
            metadata: self.metadata,
            limits,
            secrets: self.secrets,
            prediction_files: self.prediction_files,
            example: self.example,
            models_to_keep: self.models_to_keep,
            deployed_by: "admin API".into(),
        })
    }
}

fn prediction() -> ServiceKind {
    ServiceKind::Prediction
}

fn models_to_keep() -> u32 {
    mlops_manifest::DEFAULT_MODELS_TO_KEEP
}

/// A query's `key=value` pairs, values percent-decoded.
fn query_pairs(query: &str) -> impl Iterator<Item = (&str, String)> {
    query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k, percent_decode(v)))
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

/// An artifact version as the Model Manager routes show it.
fn version_json(m: &ArtifactManifest) -> Value {
    json!({
        "model_id": m.model_id().to_string(),
        "model": m.model.as_str(),
        "env": m.env.as_str(),
        "version": m.version,
        "files": m.files,
        "size": m.size(),
        "metadata": m.metadata,
        "created": m.created,
        "created_by": m.created_by,
        "promoted_from": m.promoted_from.as_ref().map(ToString::to_string),
        "deleted": m.deleted,
    })
}

fn describe(id: &ExternalId, entry: &Entry) -> Value {
    let record = entry.record();
    let (status, error) = match entry.service() {
        Ok(_) => ("ready", None),
        Err(why) => ("failed", Some(why)),
    };
    let service = entry.service().ok();
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
        "update_error": entry.update_error(),
        "limits": record.limits,
        "inputs": service.map(|s| schema_json(&s.inputs)),
        "outputs": service.and_then(|s| s.deployment.signature()).map(|s| schema_json(&s.outputs)),
        "example": record.example.is_some(),
    })
}

/// A schema as `describe` shows it: `{"kind": "frame", "fields": […]}`,
/// `{"kind": "json"}` or `{"kind": "any"}`.
fn schema_json(schema: &mlops_engine::Schema) -> Value {
    use mlops_engine::{DataType, Schema};
    match schema {
        Schema::Frame(fields) => {
            let fields: Vec<Value> = fields
                .iter()
                .map(|f| {
                    let type_ = match f.type_ {
                        DataType::F64 => "f64",
                        DataType::S64 => "s64",
                        DataType::String => "string",
                        DataType::Bool => "bool",
                    };
                    json!({
                        "name": f.name,
                        "type": type_,
                        "required": f.required,
                        "nullable": f.nullable,
                        "description": f.description,
                    })
                })
                .collect();
            json!({ "kind": "frame", "fields": fields })
        }
        Schema::Json => json!({ "kind": "json" }),
        Schema::Any => json!({ "kind": "any" }),
    }
}

fn json_response(status: StatusCode, body: &Value) -> Resp {
    bytes_response(status, Bytes::from(body.to_string()))
}

fn bytes_response(status: StatusCode, body: Bytes) -> Resp {
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
