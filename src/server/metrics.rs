//! `GET /metrics` of `cutover serve`: the decisions it made as Prometheus text (requests by
//! operation, channel and outcome; the time to decide each, durable logging included; the
//! requests in flight), for an operations room watching a rehearsal.

use crate::model::{Request, Response};
use crate::scenario::Spec;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the decision-time buckets, seconds.
const BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5];

#[derive(Default)]
pub(super) struct ServeMetrics {
    /// (operation, channel index, outcome) → requests.
    counts: Mutex<BTreeMap<(&'static str, u8, &'static str), u64>>,
    /// Per operation: time to decide, µs.
    decide: Mutex<BTreeMap<&'static str, hdrhistogram::Histogram<u64>>>,
}

/// The answer's name as the metrics label it.
pub(super) fn outcome(resp: &Response) -> &'static str {
    match resp {
        Response::Assessed { .. } => "assessed",
        Response::Accepted { replayed: false, .. } => "accepted",
        Response::Accepted { replayed: true, .. } => "replayed",
        Response::Suspended { .. } => "suspended",
        Response::Conflict => "conflict",
        Response::AssessmentRequired => "assessment_required",
        Response::AlreadyPaid { .. } => "already_paid",
        Response::NotRegistered => "not_registered",
        Response::Records { .. } => "records",
        Response::NotYetVisible { .. } => "not_yet_visible",
        Response::NoRecord => "no_record",
        Response::Certificate { .. } => "certificate",
        Response::Invalid { .. } => "invalid",
        Response::Overloaded { .. } => "overloaded",
        Response::Error { .. } => "error",
        _ => "other",
    }
}

impl ServeMetrics {
    pub(super) fn count(&self, req: &Request, outcome: &'static str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.entry((req.operation().as_str(), req.channel(), outcome)).or_default() += 1;
        }
    }

    pub(super) fn decided(&self, req: &Request, micros: u64) {
        if let Ok(mut d) = self.decide.lock() {
            let h = d
                .entry(req.operation().as_str())
                // Constant bounds within hdrhistogram's limits: creation cannot fail.
                .or_insert_with(|| hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("histogram bounds"));
            let _ = h.record(micros.clamp(1, 3_600_000_000));
        }
    }

    pub(super) fn render(&self, spec: &Spec, in_flight: usize) -> String {
        let mut o = String::new();
        o.push_str("# HELP cutover_serve_requests_total Requests decided, by operation, channel and outcome.\n");
        o.push_str("# TYPE cutover_serve_requests_total counter\n");
        if let Ok(c) = self.counts.lock() {
            for ((op, ch, outcome), n) in c.iter() {
                let channel = spec.channels.get(*ch as usize).map(|c| c.id.as_str()).unwrap_or("?");
                let _ = writeln!(o, "cutover_serve_requests_total{{operation=\"{op}\",channel=\"{channel}\",outcome=\"{outcome}\"}} {n}");
            }
        }
        o.push_str("# HELP cutover_serve_decide_seconds Time to decide a request, durable logging included.\n");
        o.push_str("# TYPE cutover_serve_decide_seconds histogram\n");
        if let Ok(d) = self.decide.lock() {
            for (op, h) in d.iter() {
                for le in BUCKETS {
                    let _ = writeln!(
                        o,
                        "cutover_serve_decide_seconds_bucket{{operation=\"{op}\",le=\"{le}\"}} {}",
                        h.count_between(0, (le * 1e6) as u64)
                    );
                }
                let _ = writeln!(o, "cutover_serve_decide_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}", h.len());
                let _ = writeln!(o, "cutover_serve_decide_seconds_sum{{operation=\"{op}\"}} {}", h.mean() * h.len() as f64 / 1e6);
                let _ = writeln!(o, "cutover_serve_decide_seconds_count{{operation=\"{op}\"}} {}", h.len());
            }
        }
        let _ = writeln!(
            o,
            "# HELP cutover_serve_in_flight Requests being decided now.\n# TYPE cutover_serve_in_flight gauge\ncutover_serve_in_flight {in_flight}"
        );
        o
    }
}
