//! `GET /metrics` of `cutover serve`: the decisions it made as Prometheus text (requests by
//! operation, channel and outcome; the time to decide each, durable logging included; the
//! requests in flight), for an operations room watching a rehearsal.

use crate::metrics::prometheus::{Exposition, Kind};
use crate::model::{Request, Response};
use crate::scenario::Spec;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Upper bounds of the decision-time buckets, seconds.
const BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5];

#[derive(Default)]
pub(super) struct ServeMetrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (operation, channel index, outcome) → requests.
    counts: BTreeMap<(&'static str, u8, &'static str), u64>,
    /// Per operation: time to decide, µs.
    decide: BTreeMap<&'static str, hdrhistogram::Histogram<u64>>,
}

impl Inner {
    fn count(&mut self, req: &Request, outcome: &'static str) {
        *self.counts.entry((req.operation().as_str(), req.channel(), outcome)).or_default() += 1;
    }
}

/// The answer's name as the metrics label it: the model's response vocabulary (the
/// refusal's code for a refusal, as the contract sends it), a replayed acceptance apart.
pub(super) fn outcome(resp: &Response) -> &'static str {
    match resp {
        Response::Accepted { replayed: true, .. } => "replayed",
        r => r.category().as_str(),
    }
}

impl ServeMetrics {
    /// A request answered without its time to decide (refused before or after deciding).
    pub(super) fn count(&self, req: &Request, outcome: &'static str) {
        if let Ok(mut m) = self.inner.lock() {
            m.count(req, outcome);
        }
    }

    /// A request decided and answered `outcome`, `micros` after it arrived (one lock for both).
    pub(super) fn decided(&self, req: &Request, outcome: &'static str, micros: u64) {
        if let Ok(mut m) = self.inner.lock() {
            m.count(req, outcome);
            let h = m.decide.entry(req.operation().as_str()).or_insert_with(crate::metrics::latency_histogram);
            let _ = h.record(crate::metrics::clamp_latency(micros));
        }
    }

    pub(super) fn render(&self, spec: &Spec, in_flight: usize) -> String {
        let mut e = Exposition::default();
        let m = self.inner.lock().ok();
        e.family("cutover_serve_requests_total", Kind::Counter, "Requests decided, by operation, channel and outcome.");
        if let Some(m) = &m {
            for ((op, ch, outcome), n) in m.counts.iter() {
                let channel = spec.channels.get(*ch as usize).map(|c| c.id.as_str()).unwrap_or("?");
                e.sample("cutover_serve_requests_total", &[("operation", op), ("channel", channel), ("outcome", outcome)], n);
            }
        }
        e.family("cutover_serve_decide_seconds", Kind::Histogram, "Time to decide a request, durable logging included.");
        if let Some(m) = &m {
            for (op, h) in m.decide.iter() {
                e.latency("cutover_serve_decide_seconds", &[("operation", op)], h, &BUCKETS);
            }
        }
        e.single("cutover_serve_in_flight", Kind::Gauge, "Requests being decided now.", in_flight);
        e.finish()
    }
}
