//! Prometheus metrics (`GET /metrics`): calls by service and status, call
//! latency, instances, traps, compile-cache hits and misses, reloads.
//!
//! Series are labelled only with services that exist: calls to ids the
//! host does not serve all count under `service="unknown"` (not an
//! external id, so it cannot clash with one), so no caller can grow the
//! host's memory by inventing ids.

use std::sync::Arc;
use std::time::Duration;

use mlops_core::SyncCounts;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    service: Arc<str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    service: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The metrics of one server.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    /// The label of calls to services that do not exist.
    unknown: Arc<str>,
    calls: Family<CallLabels, Counter>,
    latency: Family<ServiceLabels, Histogram>,
    instances: Family<ServiceLabels, Gauge>,
    traps: Family<ServiceLabels, Gauge>,
    compile: Family<OutcomeLabels, Counter>,
    reloads: Family<OutcomeLabels, Counter>,
    store_requests: Family<KindLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mlops");
        let calls = Family::<CallLabels, Counter>::default();
        registry.register("calls", "Calls by service and HTTP status", calls.clone());
        // 20 µs to ~20 s.
        let latency = Family::<ServiceLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(20e-6, 2.0, 20))
        });
        registry.register(
            "call_duration_seconds",
            "Call latency by service, decode to encode",
            latency.clone(),
        );
        let instances = Family::<ServiceLabels, Gauge>::default();
        registry.register("instances", "Initialised instances by service", instances.clone());
        let traps = Family::<ServiceLabels, Gauge>::default();
        registry.register(
            "traps",
            "Calls that trapped (instance discarded) by service",
            traps.clone(),
        );
        let compile = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "component_loads",
            "Components loaded from the compile cache (hit) or compiled (miss)",
            compile.clone(),
        );
        let reloads = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "service_loads",
            "Services loaded from the store, by outcome",
            reloads.clone(),
        );
        let store_requests = Family::<KindLabels, Counter>::default();
        registry.register(
            "store_requests",
            "Requests this host made to its object store, by kind (get, head, put, list, delete, copy)",
            store_requests.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            unknown: Arc::from("unknown"),
            calls,
            latency,
            instances,
            traps,
            compile,
            reloads,
            store_requests,
        }))
    }

    /// A call to `service` (`None`: one the host does not serve) ended
    /// with `status` after `took`.
    pub fn call(&self, service: Option<&Arc<str>>, status: u16, took: Duration) {
        let service = Arc::clone(service.unwrap_or(&self.0.unknown));
        self.0
            .latency
            .get_or_create(&ServiceLabels { service: service.clone() })
            .observe(took.as_secs_f64());
        self.0.calls.get_or_create(&CallLabels { service, status }).inc();
    }

    /// The text exposition, with per-service gauges set from `services`
    /// (external id, instances, traps) first, the load counts of the host,
    /// and the store request counts (`(kind, total so far)`).
    pub fn encode(
        &self,
        services: &[(Arc<str>, u64, u64)],
        loads: SyncCounts,
        store: &[(&'static str, u64)],
    ) -> String {
        let catch_up = |counter: &Counter, total: u64| {
            counter.inc_by(total.saturating_sub(counter.get()));
        };
        for (kind, total) in store {
            catch_up(&self.0.store_requests.get_or_create(&KindLabels { kind }), *total);
        }
        for (outcome, total) in [("hit", loads.from_cache), ("miss", loads.compiled)] {
            catch_up(&self.0.compile.get_or_create(&OutcomeLabels { outcome }), total);
        }
        for (outcome, total) in [("ok", loads.loaded), ("failed", loads.failed)] {
            catch_up(&self.0.reloads.get_or_create(&OutcomeLabels { outcome }), total);
        }
        self.0.instances.clear();
        self.0.traps.clear();
        for (service, instances, traps) in services {
            let labels = ServiceLabels { service: Arc::clone(service) };
            self.0
                .instances
                .get_or_create(&labels)
                .set(i64::try_from(*instances).unwrap_or(i64::MAX));
            self.0.traps.get_or_create(&labels).set(i64::try_from(*traps).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.0.registry).is_err() {
            out.push_str("# encoding failed\n");
        }
        out
    }
}
