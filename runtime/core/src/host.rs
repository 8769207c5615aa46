//! The services a host serves, kept in step with the store.
//!
//! The table is an immutable map behind an `Arc`: a call takes the current
//! snapshot (a pointer copy under a lock held for no longer than that),
//! looks its service up once, and holds no lock while it runs. A sync
//! builds the next map and swaps it in.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlops_engine::Payload;
use mlops_manifest::{ExternalId, ServiceKind, Version};
use mlops_registry::{Registry, ServiceRecord};

use crate::call::{self, CallTimes, Files};
use crate::deploy::{self, DeployPlan, Deployed};
use crate::error::Error;
use crate::service::{Loader, Service};

/// The service table: external id → entry.
pub type Table = BTreeMap<ExternalId, Arc<Entry>>;

/// A service as this host has it.
#[derive(Clone)]
pub struct Entry {
    /// The external id as text (a metrics label, made once).
    name: Arc<str>,
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

impl Entry {
    fn new(record: ServiceRecord, state: State) -> Entry {
        Entry { name: Arc::from(record.external_id.to_string()), record, state, update_error: None }
    }

    /// The external id as text.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn record(&self) -> &ServiceRecord {
        &self.record
    }

    /// The loaded service, or why it is not loaded.
    pub fn service(&self) -> Result<&Arc<Service>, &str> {
        match &self.state {
            State::Ready(service) => Ok(service),
            State::Failed(why) => Err(why),
        }
    }

    /// Why the store's newer record for this id could not be loaded (the
    /// one before it keeps serving).
    pub fn update_error(&self) -> Option<&str> {
        self.update_error.as_deref()
    }

    /// `<model>/<env>/<version>` of what this entry runs.
    pub fn model_id(&self) -> String {
        match &self.state {
            State::Ready(service) => service.model_id.clone(),
            State::Failed(_) => self.record.model_id.to_string(),
        }
    }

    /// The largest request body this service accepts.
    pub fn max_request_bytes(&self) -> u64 {
        self.record.limits.max_request_bytes
    }
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

/// Loads since the host started, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Components compiled, and loaded from the compile cache.
    pub compiled: u64,
    pub from_cache: u64,
    /// Services loaded, and services that failed to load.
    pub loaded: u64,
    pub failed: u64,
}

/// Whether a host should get traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// It has not read its store yet.
    Loading,
    /// These services failed to load: (external id, why).
    NotReady(Vec<(String, String)>),
    ShuttingDown,
}

/// The running host's services. Cheap to clone.
#[derive(Clone)]
pub struct Host(Arc<Inner>);

struct Inner {
    loader: Loader,
    /// Where training runs write before their output is uploaded.
    scratch_dir: PathBuf,
    table: RwLock<Arc<Table>>,
    /// Serializes syncs (the watcher's and an admin action's), and holds
    /// what the last one saw.
    syncing: tokio::sync::Mutex<Watched>,
    synced_once: AtomicBool,
    shutting_down: AtomicBool,
    compiled: AtomicU64,
    from_cache: AtomicU64,
    loaded: AtomicU64,
    failed: AtomicU64,
}

/// What the last full sync saw of the store.
#[derive(Debug, Default)]
struct Watched {
    /// The store's service-change token read just before that sync
    /// (`Some(None)`: nothing deployed yet; `None`: unknown).
    change: Option<Option<String>>,
    at: Option<Instant>,
}

impl Host {
    /// A host with no services yet; training runs write in `scratch_dir`.
    pub fn new(loader: Loader, scratch_dir: PathBuf) -> Host {
        Host(Arc::new(Inner {
            loader,
            scratch_dir,
            table: RwLock::new(Arc::new(Table::new())),
            syncing: tokio::sync::Mutex::new(Watched::default()),
            synced_once: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            compiled: AtomicU64::new(0),
            from_cache: AtomicU64::new(0),
            loaded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }))
    }

    pub fn registry(&self) -> &Registry {
        &self.0.loader.registry
    }

    pub fn loader(&self) -> &Loader {
        &self.0.loader
    }

    /// The current table. Holding it holds no lock.
    pub fn snapshot(&self) -> Arc<Table> {
        Arc::clone(&self.0.table.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The entry of `id`: one lookup in the current snapshot. Unknown ids
    /// are refused here, before anything is read from the caller.
    pub fn lookup(&self, id: &ExternalId) -> Result<Arc<Entry>, Error> {
        match self.0.table.read().unwrap_or_else(PoisonError::into_inner).get(id) {
            Some(entry) => Ok(Arc::clone(entry)),
            // Not found *yet*: this host has not read the store.
            None if !self.0.synced_once.load(Ordering::Acquire) => {
                Err(Error::NotSyncedYet(id.clone()))
            }
            None => Err(Error::UnknownService(id.to_string())),
        }
    }

    /// Calls the service `entry` is (as `called`) with a request body, the
    /// seed's envelope, and returns the response envelope: a prediction,
    /// or for a training service a new artifact version. This is the call
    /// path `serve` runs and `bench` measures.
    pub async fn call(
        &self,
        entry: &Entry,
        called: &ExternalId,
        body: &[u8],
    ) -> Result<Bytes, Error> {
        self.call_timed(entry, called, body, None).await
    }

    /// [`Host::call`], noting where the time of a prediction went.
    pub async fn call_timed(
        &self,
        entry: &Entry,
        called: &ExternalId,
        body: &[u8],
        times: Option<&mut CallTimes>,
    ) -> Result<Bytes, Error> {
        let service = entry
            .service()
            .map_err(|why| Error::NotLoaded { id: called.clone(), why: why.to_string() })?;
        let registry = &self.0.loader.registry;
        match entry.record.service {
            ServiceKind::Prediction => {
                let files = Files::Host { registry, cdf: self.0.loader.cdf.as_deref() };
                call::predict(service, called, Some(&entry.record), body, files, times).await
            }
            ServiceKind::Training => {
                let record = Some(&entry.record);
                call::train(service, called, record, body, registry, &self.0.scratch_dir).await
            }
        }
    }

    /// Runs a prediction on a decoded input (the Open Inference Protocol's
    /// path, which has its own encoding).
    pub async fn predict(
        &self,
        entry: &Entry,
        called: &ExternalId,
        input: Payload,
    ) -> Result<Payload, Error> {
        let service = entry
            .service()
            .map_err(|why| Error::NotLoaded { id: called.clone(), why: why.to_string() })?;
        if entry.record.service != ServiceKind::Prediction {
            return Err(Error::WrongKind { id: called.to_string(), kind: entry.record.service });
        }
        Ok(service.deployment.predict(input).await?)
    }

    /// Publishes a service (see [`deploy()`](crate::deploy())) and serves
    /// it here at once.
    pub async fn deploy(&self, plan: DeployPlan) -> Result<Deployed, Error> {
        let deployed = deploy::deploy(&self.0.loader.registry, plan).await?;
        self.after_change().await;
        Ok(deployed)
    }

    /// Points an alias at another pinned version and serves it here at once.
    pub async fn redeploy(
        &self,
        alias: &ExternalId,
        version: Version,
    ) -> Result<ServiceRecord, Error> {
        let record = deploy::redeploy(&self.0.loader.registry, alias, version).await?;
        self.after_change().await;
        Ok(record)
    }

    /// Deletes a service this host serves.
    pub async fn delete(&self, id: &ExternalId) -> Result<(), Error> {
        self.lookup(id)?;
        deploy::delete(&self.0.loader.registry, id).await?;
        self.after_change().await;
        Ok(())
    }

    /// After an admin change: this host serves it at once (others at their
    /// next watch tick).
    async fn after_change(&self) {
        if let Err(e) = self.sync().await {
            tracing::warn!("the change is stored, but this host could not reload: {e}");
        }
    }

    /// Brings the served set in line with the store: new and changed
    /// records are loaded *before* they replace what is served (an alias
    /// switches without a gap), deleted ones are dropped, unchanged ones
    /// are kept as they are. Records with the same component, artifacts,
    /// limits and secrets share one deployment (one pool of instances).
    pub async fn sync(&self) -> Result<LoadReport, Error> {
        let mut watched = self.0.syncing.lock().await;
        // A token that cannot be read is unknown: the next poll syncs again.
        let token = self.0.loader.registry.services_change().await.ok();
        self.sync_locked(&mut watched, token).await
    }

    /// Syncs only if the store's service-change token moved since the last
    /// sync, or `resync` has passed: when idle, one HEAD request. `None`
    /// when nothing needed doing.
    pub async fn sync_if_changed(&self, resync: Duration) -> Result<Option<LoadReport>, Error> {
        let mut watched = self.0.syncing.lock().await;
        let token = self
            .0
            .loader
            .registry
            .services_change()
            .await
            .map_err(|e| Error::store("reading the store's change marker", e))?;
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
    ) -> Result<LoadReport, Error> {
        let (records, unreadable) = self
            .0
            .loader
            .registry
            .services()
            .await
            .map_err(|e| Error::store("listing the services", e))?;
        let current = self.snapshot();
        let mut report = LoadReport::default();
        let mut next = Table::new();
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
                        let counter =
                            if service.from_cache { &self.0.from_cache } else { &self.0.compiled };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    loaded
                }
            };
            let counter = if loaded.is_ok() { &self.0.loaded } else { &self.0.failed };
            counter.fetch_add(1, Ordering::Relaxed);
            let entry = match loaded {
                Ok(service) => {
                    tracing::info!(service = %id, model_id = %record.model_id, "service ready");
                    report.loaded.push(id.to_string());
                    shared.push((record.clone(), service.clone()));
                    Entry::new(record, State::Ready(service))
                }
                Err(error) => {
                    tracing::error!(service = %id, "cannot load: {error}");
                    report.failed.push((id.to_string(), error.clone()));
                    match current.get(&id) {
                        // Keep serving what worked.
                        Some(old) if matches!(old.state, State::Ready(_)) => {
                            Entry { update_error: Some(error), ..Entry::clone(old) }
                        }
                        _ => Entry::new(record, State::Failed(error)),
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
        *self.0.table.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        self.0.synced_once.store(true, Ordering::Release);
        *watched = Watched { change: token, at: Some(Instant::now()) };
        Ok(report)
    }

    /// Watches the store until the host shuts down: every `interval`, one
    /// HEAD of the change marker, and a sync when it moved.
    pub fn spawn_watch(&self, watch: WatchOptions) -> tokio::task::JoinHandle<()> {
        let host = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(watch.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            while !host.0.shutting_down.load(Ordering::SeqCst) {
                tick.tick().await;
                match host.sync_if_changed(watch.resync).await {
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

    /// Whether the host should get traffic, and if not, why.
    pub fn readiness(&self) -> Readiness {
        if self.0.shutting_down.load(Ordering::SeqCst) {
            return Readiness::ShuttingDown;
        }
        if !self.0.synced_once.load(Ordering::Acquire) {
            return Readiness::Loading;
        }
        let failed: Vec<(String, String)> = self
            .snapshot()
            .iter()
            .filter_map(|(id, e)| match &e.state {
                State::Failed(why) => Some((id.to_string(), why.clone())),
                State::Ready(_) => None,
            })
            .collect();
        if failed.is_empty() { Readiness::Ready } else { Readiness::NotReady(failed) }
    }

    /// Loads since the host started.
    pub fn sync_counts(&self) -> SyncCounts {
        SyncCounts {
            compiled: self.0.compiled.load(Ordering::Relaxed),
            from_cache: self.0.from_cache.load(Ordering::Relaxed),
            loaded: self.0.loaded.load(Ordering::Relaxed),
            failed: self.0.failed.load(Ordering::Relaxed),
        }
    }
}

/// Whether two records would run the same deployment.
fn same_deployment(a: &ServiceRecord, b: &ServiceRecord) -> bool {
    a.component == b.component
        && a.model_id == b.model_id
        && a.limits == b.limits
        && a.secrets == b.secrets
        && a.service == b.service
}
