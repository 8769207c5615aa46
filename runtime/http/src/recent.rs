//! The last minutes of every service's calls, for the dashboard's charts
//! and anyone else who wants them without a Prometheus server
//! (`GET /stats`): calls, errors and latency percentiles in 5-second
//! buckets over the last 5 minutes, and totals since the host started.
//!
//! Latencies go into log-spaced bins (four per doubling, so a percentile
//! is within 19 % of the truth) rather than being kept one by one: a
//! service's history is a fixed 17 KB (60 buckets of 272 bytes) however
//! busy it is. Only services the host serves are recorded (calls to
//! unknown ids are not), and a service that is gone is dropped the next
//! time the stats are read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// The width of one bucket.
pub const BUCKET: Duration = Duration::from_secs(5);
/// How many buckets are kept (5 minutes).
pub const BUCKETS: usize = 60;
/// Latency bins: bin `i` holds [`FLOOR_US`]·2^(i/4) µs and up.
const BINS: usize = 64;
const FLOOR_US: f64 = 10.0;

/// Counts over some span: calls, non-2xx answers, latency bins.
#[derive(Clone)]
struct Counts {
    calls: u64,
    errors: u64,
    bins: [u32; BINS],
}

impl Counts {
    const EMPTY: Counts = Counts { calls: 0, errors: 0, bins: [0; BINS] };

    fn add(&mut self, bin: usize, error: bool) {
        self.calls += 1;
        self.errors += u64::from(error);
        self.bins[bin] = self.bins[bin].saturating_add(1);
    }

    fn merge(&mut self, other: &Counts) {
        self.calls += other.calls;
        self.errors += other.errors;
        for (a, b) in self.bins.iter_mut().zip(other.bins) {
            *a = a.saturating_add(b);
        }
    }

    /// The latency below which `q` of the calls fell, in µs (the middle of
    /// its bin); `None` without calls.
    fn percentile_us(&self, q: f64) -> Option<f64> {
        let total: u64 = self.bins.iter().map(|&n| u64::from(n)).sum();
        if total == 0 {
            return None;
        }
        // The rank of the call at quantile q, 1-based (nearest rank).
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, &n) in self.bins.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return Some((FLOOR_US * 2f64.powf((i as f64 + 0.5) / 4.0)).round());
            }
        }
        None
    }

    fn json(&self, seconds: f64) -> Value {
        json!({
            "calls": self.calls,
            "errors": self.errors,
            "per_second": if seconds > 0.0 { (self.calls as f64 / seconds * 100.0).round() / 100.0 } else { 0.0 },
            "p50_us": self.percentile_us(0.5),
            "p99_us": self.percentile_us(0.99),
        })
    }
}

/// One service's buckets (a ring indexed by bucket number) and totals.
struct Ring {
    /// The bucket number (seconds since the epoch / 5) each slot holds.
    slot_of: [u64; BUCKETS],
    slots: Box<[Counts; BUCKETS]>,
    total: Counts,
}

impl Ring {
    fn new() -> Ring {
        Ring {
            slot_of: [u64::MAX; BUCKETS],
            slots: Box::new([Counts::EMPTY; BUCKETS]),
            total: Counts::EMPTY,
        }
    }

    fn add(&mut self, bucket: u64, bin: usize, error: bool) {
        let i = (bucket % BUCKETS as u64) as usize;
        if self.slot_of[i] != bucket {
            self.slot_of[i] = bucket;
            self.slots[i] = Counts::EMPTY;
        }
        self.slots[i].add(bin, error);
        self.total.add(bin, error);
    }

    /// Bucket `bucket`'s counts, empty if it is not (or no longer) held.
    fn at(&self, bucket: u64) -> &Counts {
        let i = (bucket % BUCKETS as u64) as usize;
        if self.slot_of[i] == bucket { &self.slots[i] } else { &Counts::EMPTY }
    }
}

/// The recent history of every service. Cheap to clone.
#[derive(Clone, Default)]
pub struct Recent(Arc<Mutex<HashMap<Arc<str>, Ring>>>);

fn bucket_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / BUCKET.as_secs()
}

fn bin_of(took: Duration) -> usize {
    let us = took.as_secs_f64() * 1e6;
    if us <= FLOOR_US {
        return 0;
    }
    ((us / FLOOR_US).log2() * 4.0).floor().clamp(0.0, (BINS - 1) as f64) as usize
}

impl Recent {
    /// A call to `service` ended with `status` after `took`, now.
    pub fn call(&self, service: &Arc<str>, status: u16, took: Duration) {
        self.call_at(service, status, took, SystemTime::now());
    }

    fn call_at(&self, service: &Arc<str>, status: u16, took: Duration, at: SystemTime) {
        let (bucket, bin) = (bucket_of(at), bin_of(took));
        let error = !(200..300).contains(&status);
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get_mut(service) {
            Some(ring) => ring.add(bucket, bin, error),
            None => {
                let mut ring = Ring::new();
                ring.add(bucket, bin, error);
                map.insert(Arc::clone(service), ring);
            }
        }
    }

    /// The stats of `services` (in that order), as `GET /stats` shows
    /// them; services not among them are forgotten.
    pub fn json(&self, services: &[Arc<str>]) -> Value {
        self.json_at(services, SystemTime::now())
    }

    fn json_at(&self, services: &[Arc<str>], now: SystemTime) -> Value {
        let current = bucket_of(now);
        let first = current.saturating_sub(BUCKETS as u64 - 1);
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|name, _| services.contains(name));
        let empty = Ring::new();
        let per_service: serde_json::Map<String, Value> = services
            .iter()
            .map(|name| {
                let ring = map.get(name).unwrap_or(&empty);
                let mut window = Counts::EMPTY;
                let series: Vec<Value> = (first..=current)
                    .map(|b| {
                        let c = ring.at(b);
                        window.merge(c);
                        json!({
                            "t": b * BUCKET.as_secs(),
                            "calls": c.calls,
                            "errors": c.errors,
                            "p50_us": c.percentile_us(0.5),
                            "p99_us": c.percentile_us(0.99),
                        })
                    })
                    .collect();
                let span = (BUCKETS as u64 * BUCKET.as_secs()) as f64;
                let doc = json!({
                    "total": ring.total.json(0.0),
                    "window": window.json(span),
                    "series": series,
                });
                (name.to_string(), doc)
            })
            .collect();
        json!({
            "bucket_seconds": BUCKET.as_secs(),
            "window_seconds": BUCKETS as u64 * BUCKET.as_secs(),
            "services": per_service,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn percentiles_fall_in_the_right_bin() {
        let recent = Recent::default();
        let s: Arc<str> = Arc::from("m-prediction-dev");
        for i in 0..99 {
            recent.call_at(&s, 200, Duration::from_micros(100 + i), at(1000));
        }
        recent.call_at(&s, 500, Duration::from_millis(50), at(1000));
        let doc = recent.json_at(std::slice::from_ref(&s), at(1002));
        let w = &doc["services"]["m-prediction-dev"]["window"];
        assert_eq!((w["calls"].as_u64(), w["errors"].as_u64()), (Some(100), Some(1)), "{doc}");
        let p50 = w["p50_us"].as_f64().expect("p50");
        let p99 = w["p99_us"].as_f64().expect("p99");
        assert!((100.0 * 0.84..=199.0 * 1.19).contains(&p50), "p50 {p50}");
        assert!((100.0 * 0.84..=199.0 * 1.19).contains(&p99), "p99 is the 99th call: {p99}");
        let p100 = recent.0.lock().unwrap()[&s].total.percentile_us(1.0);
        assert!(p100.is_some_and(|us| (50_000.0 * 0.84..=50_000.0 * 1.19).contains(&us)));
    }

    #[test]
    fn old_buckets_age_out_and_totals_stay() {
        let recent = Recent::default();
        let s: Arc<str> = Arc::from("m-prediction-dev");
        recent.call_at(&s, 200, Duration::from_micros(300), at(1000));
        // Five minutes and more later: the old call is out of the window.
        recent.call_at(&s, 422, Duration::from_micros(300), at(1000 + 301));
        let doc = recent.json_at(std::slice::from_ref(&s), at(1000 + 302));
        let svc = &doc["services"]["m-prediction-dev"];
        assert_eq!(svc["window"]["calls"], 1);
        assert_eq!(svc["window"]["errors"], 1);
        assert_eq!(svc["total"]["calls"], 2);
        let series = svc["series"].as_array().expect("series");
        assert_eq!(series.len(), BUCKETS);
        assert_eq!(series.last().expect("last")["calls"], 1);
        assert_eq!(series.iter().map(|b| b["calls"].as_u64().unwrap_or(0)).sum::<u64>(), 1);
        assert!(series[0]["p50_us"].is_null(), "an empty bucket has no percentile");
    }

    #[test]
    fn services_that_are_gone_are_forgotten() {
        let recent = Recent::default();
        let (a, b): (Arc<str>, Arc<str>) =
            (Arc::from("a-prediction-dev"), Arc::from("b-prediction-dev"));
        recent.call(&a, 200, Duration::from_micros(10));
        recent.call(&b, 200, Duration::from_micros(10));
        let doc = recent.json(std::slice::from_ref(&b));
        assert!(doc["services"].get("a-prediction-dev").is_none());
        assert_eq!(recent.0.lock().unwrap().len(), 1);
    }
}
