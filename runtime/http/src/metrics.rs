//! Prometheus metrics (`GET /metrics`): calls by service and status, call
//! latency, instances, traps, compile-cache hits and misses, reloads.

use std::sync::Arc;
use std::time::Duration;

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
    outcome: String,
}

/// The metrics of one server.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
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
            calls,
            latency,
            instances,
            traps,
            compile,
            reloads,
            store_requests,
        }))
    }

    /// A call to `service` ended with `status` after `took`.
    pub fn call(&self, service: &str, status: u16, took: Duration) {
        let service: Arc<str> = Arc::from(service);
        self.0
            .latency
            .get_or_create(&ServiceLabels { service: service.clone() })
            .observe(took.as_secs_f64());
        self.0.calls.get_or_create(&CallLabels { service, status }).inc();
    }

    /// A component was loaded from the cache (`hit`) or compiled.
    pub fn component_loaded(&self, hit: bool) {
        let outcome = if hit { "hit" } else { "miss" };
        self.0.compile.get_or_create(&OutcomeLabels { outcome: outcome.into() }).inc();
    }

    /// A service was (re)loaded, or failed to.
    pub fn service_loaded(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.0.reloads.get_or_create(&OutcomeLabels { outcome: outcome.into() }).inc();
    }

    /// The text exposition, with per-service gauges set from `services`
    /// (external id, instances, traps) first,
    /// and the store request counts (`(kind, total so far)`).
    pub fn encode(&self, services: &[(String, u64, u64)], store: &[(&'static str, u64)]) -> String {
        for (kind, total) in store {
            let counter = self.0.store_requests.get_or_create(&KindLabels { kind });
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        self.0.instances.clear();
        self.0.traps.clear();
        for (service, instances, traps) in services {
            let labels = ServiceLabels { service: Arc::from(service.as_str()) };
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
