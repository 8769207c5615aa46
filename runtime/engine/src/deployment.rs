//! A deployment: one component with its limits, secrets, artifact folder and
//! a pool of initialised instances.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use mlops_manifest::Limits;
use tokio::sync::Semaphore;
use wasmtime::component::{InstancePre, ResourceAny, ResourceTable};
use wasmtime::{CallHook, Store, Trap, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use crate::bindings::{prediction, training, types};
use crate::heavy::Ticked;
use crate::host::{GuestOutput, HostState, MemoryLimiter, OutputWatch, Redactor};
use crate::{CallError, Engine, EngineError, LoadedComponent, MOVE_AFTER, Payload, Signature};

/// Where the artifact folder appears inside the guest (read-only).
pub const ARTIFACTS_GUEST_PATH: &str = "/artifacts";
/// Where the training output folder appears inside the guest (writable).
pub const OUTPUT_GUEST_PATH: &str = "/output";

/// What a deployment runs with.
#[derive(Debug, Clone)]
pub struct DeploymentSpec {
    /// Shown in logs and errors: the service's external id or the model id.
    pub name: String,
    /// The host folder the model may read as [`ARTIFACTS_GUEST_PATH`].
    pub artifact_dir: Option<PathBuf>,
    pub limits: Limits,
    /// The model's declared secrets with their values; nothing else.
    pub secrets: Vec<(String, String)>,
    /// Time the crossings into and out of the guest (for benchmarks):
    /// [`Deployment::predict_profiled`] then splits a call into copy-in,
    /// guest compute and copy-out.
    pub profile: bool,
}

/// Where the time of one `predict` went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallPhases {
    /// From the call to the call's future first running (it runs in the
    /// caller's task).
    pub dispatch: Duration,
    /// Waiting for an instance (and making one, if none was idle).
    pub queue: Duration,
    /// Lowering the input into the guest's memory (its allocations
    /// included), up to the guest's `predict` starting.
    pub copy_in: Duration,
    /// The guest's `predict`, host calls it makes included.
    pub compute: Duration,
    /// Lifting the output out of the guest's memory (and the guest's
    /// post-return clean-up).
    pub copy_out: Duration,
    /// Returning the instance to the pool.
    pub release: Duration,
    /// From the call's future finishing to the caller having the result.
    pub join: Duration,
}

impl CallPhases {
    /// The sum of the phases.
    pub fn total(&self) -> Duration {
        self.dispatch
            + self.queue
            + self.copy_in
            + self.compute
            + self.copy_out
            + self.release
            + self.join
    }

    /// Splits the span of a component call into copy-in, compute and
    /// copy-out from the wasm entries and exits traced in it: the longest
    /// top-level stretch in wasm is the export itself; before it are the
    /// guest allocations of lowering, after it lifting and post-return.
    fn split_call(&mut self, start: Instant, end: Instant, trace: &[(Instant, CallHook)]) {
        let mut depth = 0u32;
        let mut entered = start;
        let mut longest: Option<(Instant, Instant)> = None;
        for &(at, hook) in trace {
            match hook {
                CallHook::CallingWasm => {
                    if depth == 0 {
                        entered = at;
                    }
                    depth += 1;
                }
                CallHook::ReturningFromWasm => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && longest.is_none_or(|(a, b)| at - entered > b - a) {
                        longest = Some((entered, at));
                    }
                }
                CallHook::CallingHost | CallHook::ReturningFromHost => {}
            }
        }
        match longest {
            Some((a, b)) => {
                self.copy_in = a.saturating_duration_since(start);
                self.compute = b - a;
                self.copy_out = end.saturating_duration_since(b);
            }
            // Not traced: all of it counts as compute.
            None => self.compute = end - start,
        }
    }
}

/// Counters, for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeploymentStats {
    /// Instances made (each ran `initialization` once).
    pub instances: u64,
    /// Calls that returned (a result or a model error).
    pub calls: u64,
    /// Calls that trapped; their instance was thrown away.
    pub traps: u64,
    /// Predictions that ran past [`MOVE_AFTER`] and finished in the heavy
    /// pool.
    pub moved: u64,
    /// Initialised instances waiting for a call.
    pub idle: usize,
}

/// A component ready to call. Cheap to clone.
#[derive(Clone)]
pub struct Deployment(Arc<Inner>);

struct Inner {
    engine: Engine,
    pre: InstancePre<HostState>,
    prediction: Option<prediction::GuestIndices>,
    training: Option<training::GuestIndices>,
    spec: DeploymentSpec,
    name: Arc<str>,
    secrets: Vec<types::Secret>,
    redact: Redactor,
    signature: Option<Signature>,
    idle: Mutex<Vec<Instance>>,
    permits: Arc<Semaphore>,
    instances: AtomicU64,
    calls: AtomicU64,
    traps: AtomicU64,
    moved: AtomicU64,
}

/// One initialised instance of a prediction model.
struct Instance {
    store: Store<HostState>,
    guest: prediction::Guest,
    state: ResourceAny,
}

impl Deployment {
    pub(crate) async fn new(
        engine: Engine,
        component: &LoadedComponent,
        spec: DeploymentSpec,
    ) -> Result<Deployment, EngineError> {
        let pre = engine.0.linker.instantiate_pre(&component.component).map_err(|e| {
            EngineError::Contract(format!(
                "it needs imports this host does not provide (models get `mlops:model/logging` and \
                 WASI without network): {e:#}"
            ))
        })?;
        let prediction = prediction::GuestIndices::new(&pre).ok();
        let training = training::GuestIndices::new(&pre).ok();
        if prediction.is_none() && training.is_none() {
            return Err(EngineError::Contract(
                "it exports neither `mlops:model/prediction@0.1.x` nor `mlops:model/training@0.1.x`; \
                 build it for the `predictor`, `trainer` or `model` world of wit/mlops.wit"
                    .into(),
            ));
        }
        let secrets = spec
            .secrets
            .iter()
            .map(|(name, value)| types::Secret { name: name.clone(), value: value.clone() })
            .collect();
        let permits = Arc::new(Semaphore::new(spec.limits.max_instances as usize));
        let mut inner = Inner {
            engine,
            pre,
            prediction,
            training,
            name: Arc::from(spec.name.as_str()),
            redact: Redactor::new(spec.secrets.iter().map(|(_, v)| v.clone())),
            spec,
            secrets,
            signature: None,
            idle: Mutex::new(Vec::new()),
            permits,
            instances: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            traps: AtomicU64::new(0),
            moved: AtomicU64::new(0),
        };
        if inner.prediction.is_some() {
            let start = |source| EngineError::Start {
                context: format!("{} could not start", inner.spec.name),
                source,
            };
            let (instance, signature) = inner.new_instance(true).await.map_err(start)?;
            inner.signature = signature;
            inner.idle_pool().push(instance);
        }
        Ok(Deployment(Arc::new(inner)))
    }

    /// The model's inputs and outputs, as its `describe` reported them.
    pub fn signature(&self) -> Option<&Signature> {
        self.0.signature.as_ref()
    }

    /// Whether the component exports `prediction` / `training`.
    pub fn offers(&self) -> (bool, bool) {
        (self.0.prediction.is_some(), self.0.training.is_some())
    }

    pub fn spec(&self) -> &DeploymentSpec {
        &self.0.spec
    }

    pub fn stats(&self) -> DeploymentStats {
        DeploymentStats {
            instances: self.0.instances.load(Ordering::Relaxed),
            calls: self.0.calls.load(Ordering::Relaxed),
            traps: self.0.traps.load(Ordering::Relaxed),
            moved: self.0.moved.load(Ordering::Relaxed),
            idle: self.0.idle_pool().len(),
        }
    }

    /// Calls `predict` on an idle instance (making one if none is idle and
    /// the pool has room). The call runs in the caller's task (no task per
    /// call); if the caller goes away mid-call (a client hangs up and the
    /// server drops its handler), the rest of the call moves to a task of
    /// its own, so it still finishes and its warm instance goes back to the
    /// pool rather than being thrown away.
    pub async fn predict(&self, input: Payload) -> Result<Payload, CallError> {
        let inner = Arc::clone(&self.0);
        let ticked = Ticked::default();
        let flag = ticked.clone();
        CallFuture::new(self.heavy(), ticked, async move { inner.predict(input, None, flag).await })
            .await
    }

    fn heavy(&self) -> &tokio::runtime::Handle {
        self.0.engine.0.heavy.handle()
    }

    /// [`Deployment::predict`], timing its phases. Copy-in, guest compute
    /// and copy-out are told apart only for a deployment made with
    /// [`DeploymentSpec::profile`] (which costs a clock read per crossing).
    pub async fn predict_profiled(
        &self,
        input: Payload,
    ) -> (Result<Payload, CallError>, CallPhases) {
        let inner = Arc::clone(&self.0);
        let called = Instant::now();
        let ticked = Ticked::default();
        let flag = ticked.clone();
        let call = CallFuture::new(self.heavy(), ticked, async move {
            let started = Instant::now();
            let mut phases = CallPhases { dispatch: started - called, ..CallPhases::default() };
            let result = inner.predict(input, Some(&mut phases), flag).await;
            Ok((result, phases, Instant::now()))
        });
        match call.await {
            Ok((result, mut phases, ended)) => {
                phases.join = ended.elapsed();
                (result, phases)
            }
            Err(lost) => (Err(lost), CallPhases::default()),
        }
    }

    /// Calls `train` in a fresh instance whose [`OUTPUT_GUEST_PATH`] is
    /// `output_dir` (writable). Returns the metadata the model reports.
    pub async fn train(
        &self,
        input: Payload,
        output_dir: &Path,
    ) -> Result<Vec<(String, String)>, CallError> {
        let inner = Arc::clone(&self.0);
        let output_dir = output_dir.to_path_buf();
        // Training is long by nature: it runs in the heavy pool from the start.
        self.heavy()
            .spawn(async move { inner.train(input, &output_dir).await })
            .await
            .map_err(|e| CallError::Host(format!("the training run was lost: {e}")))?
    }
}

/// A call in flight. It runs in its caller's task until the guest has run
/// for [`MOVE_AFTER`] (`ticked`); then the rest of it moves to the
/// engine's heavy pool and the caller waits for it there, so quick calls
/// on the caller's worker are not held up. Dropped before it is done (a
/// client hung up), the rest finishes in the heavy pool: the instance
/// mid-call goes back to its pool rather than being lost. One allocation
/// per call; a task only for a long call.
struct CallFuture<'a, T: Send + 'static> {
    stage: Stage<T>,
    heavy: &'a tokio::runtime::Handle,
    ticked: Ticked,
}

type Call<T> = Pin<Box<dyn Future<Output = Result<T, CallError>> + Send>>;

enum Stage<T> {
    Here(Call<T>),
    Moved(tokio::task::JoinHandle<Result<T, CallError>>),
    Done,
}

impl<'a, T: Send + 'static> CallFuture<'a, T> {
    fn new(
        heavy: &'a tokio::runtime::Handle,
        ticked: Ticked,
        call: impl Future<Output = Result<T, CallError>> + Send + 'static,
    ) -> Self {
        CallFuture { stage: Stage::Here(Box::pin(call)), heavy, ticked }
    }
}

impl<T: Send + 'static> Future for CallFuture<'_, T> {
    type Output = Result<T, CallError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Stage::Here(call) = &mut this.stage {
            if let Poll::Ready(output) = call.as_mut().poll(cx) {
                this.stage = Stage::Done;
                return Poll::Ready(output);
            }
            if !this.ticked.get() {
                return Poll::Pending;
            }
            let Stage::Here(call) = std::mem::replace(&mut this.stage, Stage::Done) else {
                unreachable!("matched above")
            };
            this.stage = Stage::Moved(this.heavy.spawn(call));
        }
        match &mut this.stage {
            Stage::Moved(task) => {
                let joined = std::task::ready!(Pin::new(task).poll(cx));
                this.stage = Stage::Done;
                Poll::Ready(joined.unwrap_or_else(|e| {
                    Err(CallError::Host(format!("the call was lost in the heavy pool: {e}")))
                }))
            }
            // Never polled after it is done: callers await it once.
            Stage::Here(_) | Stage::Done => Poll::Pending,
        }
    }
}

impl<T: Send + 'static> Drop for CallFuture<'_, T> {
    fn drop(&mut self) {
        // A moved call finishes on its own (dropping its handle detaches it).
        if let Stage::Here(rest) = std::mem::replace(&mut self.stage, Stage::Done) {
            drop(self.heavy.spawn(async move { drop(rest.await) }));
        }
    }
}

impl Inner {
    /// A place in the instance pool, waiting at most the call's deadline
    /// for one (no timer when one is free).
    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, CallError> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        let limits = &self.spec.limits;
        tokio::time::timeout(limits.timeout, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| CallError::Busy {
                instances: limits.max_instances,
                waited: limits.timeout,
            })?
            .map_err(|_| CallError::Host("the instance pool is closed".into()))
    }

    fn idle_pool(&self) -> std::sync::MutexGuard<'_, Vec<Instance>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn predict(
        &self,
        input: Payload,
        mut phases: Option<&mut CallPhases>,
        ticked: Ticked,
    ) -> Result<Payload, CallError> {
        // The clock is read once per call (the deadline's start), more
        // only when timing phases.
        let queued = phases.is_some().then(Instant::now);
        let limits = &self.spec.limits;
        let _permit = self.permit().await?;
        let idle = self.idle_pool().pop();
        let mut instance = match idle {
            Some(instance) => instance,
            None => self.new_instance(false).await?.0,
        };
        let calling = begin(&mut instance.store, limits.timeout);
        instance.store.data_mut().ticked = Some(ticked);
        let result = instance
            .guest
            .call_predict(&mut instance.store, &input, instance.state, &self.secrets)
            .await;
        let returned_at = queued.map(|queued| (queued, Instant::now()));
        if instance.store.data().ticked.as_ref().is_some_and(Ticked::get) {
            self.moved.fetch_add(1, Ordering::Relaxed);
        }
        if let (Some(p), Some((queued, returned_at))) = (phases.as_deref_mut(), returned_at) {
            p.queue = calling - queued;
            let trace =
                instance.store.data_mut().trace.as_mut().map(std::mem::take).unwrap_or_default();
            p.split_call(calling, returned_at, &trace);
        }
        match result {
            Ok(returned) => {
                instance.store.data_mut().finish_call();
                self.calls.fetch_add(1, Ordering::Relaxed);
                self.idle_pool().push(instance);
                if let (Some(p), Some((_, returned_at))) = (phases, returned_at) {
                    p.release = returned_at.elapsed();
                }
                let payload = returned.map_err(|e| model_error(e, &self.redact))?;
                let size = payload_bytes(&payload);
                if size > limits.max_response_bytes {
                    return Err(CallError::ResponseLimit {
                        size_bytes: size,
                        limit_bytes: limits.max_response_bytes,
                    });
                }
                Ok(payload)
            }
            Err(trap) => {
                // A trapped instance cannot be trusted again: drop it.
                self.traps.fetch_add(1, Ordering::Relaxed);
                let err = classify(trap, instance.store.data(), limits.timeout);
                tracing::warn!(service = %self.name, "call failed: {err}");
                discard(instance.store);
                Err(err)
            }
        }
    }

    async fn train(
        &self,
        input: Payload,
        output_dir: &Path,
    ) -> Result<Vec<(String, String)>, CallError> {
        let indices = self.training.as_ref().ok_or(CallError::Unsupported("training"))?;
        let limits = &self.spec.limits;
        let _permit = self.permit().await?;
        let mut store = self.new_store(Some(output_dir))?;
        begin(&mut store, limits.timeout);
        let guest = match self.instantiate(&mut store, limits.timeout).await {
            Ok(instance) => indices
                .load(&mut store, &instance)
                .map_err(|e| CallError::Host(format!("cannot load the training export: {e:#}")))?,
            Err(e) => return Err(e),
        };
        let result = guest.call_train(&mut store, &input, OUTPUT_GUEST_PATH, &self.secrets).await;
        match result {
            Ok(returned) => {
                store.data_mut().finish_call();
                if store.data_mut().output_watch.as_mut().is_some_and(OutputWatch::over) {
                    return Err(CallError::OutputLimit { limit_bytes: limits.max_output_bytes });
                }
                self.calls.fetch_add(1, Ordering::Relaxed);
                returned
                    .map(|entries| entries.into_iter().map(|e| (e.key, e.value)).collect())
                    .map_err(|e| model_error(e, &self.redact))
            }
            Err(trap) => {
                self.traps.fetch_add(1, Ordering::Relaxed);
                Err(classify(trap, store.data(), limits.timeout))
            }
        }
    }

    /// A store with this deployment's sandbox: the artifact folder read-only,
    /// `output_dir` (training only) writable, stdout/stderr captured, no
    /// network, no environment, the memory cap and the deadline callback.
    fn new_store(&self, output_dir: Option<&Path>) -> Result<Store<HostState>, CallError> {
        let output = GuestOutput::default();
        let wasi = self
            .wasi(&output, output_dir)
            .map_err(|e| CallError::Host(format!("sandbox: {e:#}")))?;
        let cap = usize::try_from(self.spec.limits.memory_bytes).unwrap_or(usize::MAX);
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(cap),
            deadline: None,
            started: Instant::now(),
            timed_out: false,
            ticked: None,
            output,
            name: Arc::clone(&self.name),
            log_lines: 0,
            trace: None,
            redact: self.redact.clone(),
            output_watch: output_dir.map(|dir| OutputWatch {
                dir: dir.to_path_buf(),
                cap: self.spec.limits.max_output_bytes,
                exceeded: false,
            }),
        };
        let mut store = Store::new(&self.engine.0.engine, state);
        store.limiter(|s| &mut s.limiter);
        if self.spec.profile {
            store.data_mut().trace = Some(Vec::with_capacity(16));
            store.call_hook(|mut ctx, hook| {
                if let Some(trace) = ctx.data_mut().trace.as_mut() {
                    trace.push((Instant::now(), hook));
                }
                Ok(())
            });
        }
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            // A training run that writes past its cap is stopped at the
            // next tick; the overshoot is what it writes in one tick.
            if state.output_watch.as_mut().is_some_and(OutputWatch::over) {
                return Ok(UpdateDeadline::Interrupt);
            }
            let now = Instant::now();
            match (state.deadline, &state.ticked) {
                (Some(deadline), _) if now >= deadline => {
                    state.timed_out = true;
                    Ok(UpdateDeadline::Interrupt)
                }
                // A prediction that is still short keeps its worker (and
                // its cache): a yield and a move would cost more than the
                // rest of it.
                (_, Some(_)) if now.saturating_duration_since(state.started) < MOVE_AFTER => {
                    Ok(UpdateDeadline::Continue(1))
                }
                // Let other tasks run, then look again at the next tick; a
                // prediction that has run this long moves to the heavy
                // pool (see `CallFuture`).
                (_, ticked) => {
                    if let Some(ticked) = ticked {
                        ticked.set();
                    }
                    Ok(UpdateDeadline::Yield(1))
                }
            }
        });
        Ok(store)
    }

    fn wasi(&self, output: &GuestOutput, output_dir: Option<&Path>) -> wasmtime::Result<WasiCtx> {
        let mut b = WasiCtxBuilder::new();
        b.stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        if let Some(dir) = &self.spec.artifact_dir {
            b.preopened_dir(dir, ARTIFACTS_GUEST_PATH, FsPerms::ReadOnly)?;
        }
        if let Some(dir) = output_dir {
            b.preopened_dir(dir, OUTPUT_GUEST_PATH, FsPerms::ReadWrite)?;
        }
        Ok(b.build())
    }

    async fn instantiate(
        &self,
        store: &mut Store<HostState>,
        limit: Duration,
    ) -> Result<wasmtime::component::Instance, CallError> {
        match self.pre.instantiate_async(&mut *store).await {
            Ok(instance) => Ok(instance),
            Err(e) => Err(classify(e, store.data(), limit)),
        }
    }

    /// Makes an instance and runs `initialization` in it (and first
    /// `describe`, when asked).
    async fn new_instance(
        &self,
        describe: bool,
    ) -> Result<(Instance, Option<Signature>), CallError> {
        let indices = self.prediction.as_ref().ok_or(CallError::Unsupported("prediction"))?;
        let limit = self.spec.limits.init_timeout;
        let mut store = self.new_store(None)?;
        begin(&mut store, limit);
        let init_failed = |e| CallError::Initialization(Box::new(e));
        let instance = self.instantiate(&mut store, limit).await.map_err(init_failed)?;
        let guest = indices
            .load(&mut store, &instance)
            .map_err(|e| CallError::Host(format!("cannot load the prediction export: {e:#}")))?;
        let signature = if describe {
            match guest.call_describe(&mut store).await {
                Ok(signature) => Some(signature),
                Err(trap) => return Err(init_failed(classify(trap, store.data(), limit))),
            }
        } else {
            None
        };
        let folder = self.spec.artifact_dir.as_ref().map(|_| ARTIFACTS_GUEST_PATH);
        let state = match guest.call_initialization(&mut store, folder, &self.secrets).await {
            Ok(Ok(state)) => state,
            Ok(Err(e)) => return Err(init_failed(model_error(e, &self.redact))),
            Err(trap) => return Err(init_failed(classify(trap, store.data(), limit))),
        };
        store.data_mut().finish_call();
        let made = self.instances.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(service = %self.name, instances = made, "instance initialised");
        Ok((Instance { store, guest, state }, signature))
    }
}

/// Drops a store off the async workers: returning a trapped instance's
/// memory (up to `limits.memory_mb` touched) takes milliseconds, which
/// would otherwise hold up other models' calls queued on the same worker.
fn discard(store: Store<HostState>) {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => drop(rt.spawn_blocking(move || drop(store))),
        Err(_) => drop(store),
    }
}

/// Arms the deadline for a call that may run for `limit`; returns when the
/// call started.
fn begin(store: &mut Store<HostState>, limit: Duration) -> Instant {
    let now = Instant::now();
    store.data_mut().start_call(now, limit);
    store.set_epoch_deadline(1);
    now
}

fn model_error(e: types::ModelError, redact: &Redactor) -> CallError {
    CallError::Model { kind: e.kind.into(), message: redact.apply(&e.message).into_owned() }
}

/// Names why a call trapped.
fn classify(err: wasmtime::Error, state: &HostState, limit: Duration) -> CallError {
    if let Some(watch) = state.output_watch.as_ref().filter(|w| w.exceeded) {
        return CallError::OutputLimit { limit_bytes: watch.cap };
    }
    if state.timed_out {
        return CallError::Timeout { limit };
    }
    if state.limiter.refused {
        return CallError::MemoryLimit { limit_bytes: state.limiter.cap as u64 };
    }
    let output = state.redact.apply(&state.output.tail(12)).into_owned();
    let message = match err.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow) => "stack overflow (too deep a recursion)".to_string(),
        Some(Trap::UnreachableCodeReached) => {
            "it reached `unreachable` (a Rust panic or abort ends this way)".to_string()
        }
        Some(Trap::IntegerDivisionByZero) => "integer division by zero".to_string(),
        // Rust and C keep their stack in linear memory: when it runs out,
        // the next frame lands out of bounds rather than tripping wasm's own
        // stack limit.
        Some(Trap::MemoryOutOfBounds) => {
            "out-of-bounds memory access (in Rust and C models usually a stack overflow: too deep a recursion)"
                .to_string()
        }
        Some(trap) => trap.to_string(),
        None => format!("{err:#}"),
    };
    CallError::Trap { message, output }
}

/// About how many bytes a payload holds (its data, as the guest returned it).
fn payload_bytes(payload: &Payload) -> u64 {
    use crate::ColumnData;
    let bytes = match payload {
        Payload::Json(text) => text.len(),
        Payload::Frame(frame) => frame
            .columns
            .iter()
            .map(|c| {
                c.name.len()
                    + c.validity.as_ref().map_or(0, Vec::len)
                    + match &c.data {
                        ColumnData::F64(v) => v.len() * 8,
                        ColumnData::S64(v) => v.len() * 8,
                        ColumnData::Bool(v) => v.len(),
                        ColumnData::String(v) => v.iter().map(|s| s.len() + 8).sum(),
                    }
            })
            .sum(),
    };
    u64::try_from(bytes).unwrap_or(u64::MAX)
}
