//! `GET /metrics` of `cutover serve`: the decisions it made as Prometheus text (requests by
//! operation, channel and outcome; the time to decide each, durable logging included; the
//! requests in flight), for an operations room watching a rehearsal.

use crate::metrics::prometheus::{Exposition, Kind};
use crate::model::{Request, Response};
use crate::scenario::Spec;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Upper bounds of the decision-time buckets, seconds.
const BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5];

/// Counted in shards, one a thread (a tokio worker keeps to its own), merged only when
/// rendered: one lock for every decision, taken by both workers in turn, moved its cache
/// line between the cores at nearly every request, and with the stall's lock cost `serve`
/// 6-11 % of its CPU a request under wrk (BENCHMARKS.md, fifteenth sitting).
pub(super) struct ServeMetrics {
    shards: Box<[Shard]>,
}

/// A shard on cache lines of its own.
#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<Inner>);

impl Default for ServeMetrics {
    fn default() -> ServeMetrics {
        // Twice the cores: the workers, and a blocking thread now and then, rarely share one.
        let n = std::thread::available_parallelism().map_or(4, |n| n.get()).clamp(1, 32) * 2;
        ServeMetrics { shards: (0..n).map(|_| Shard::default()).collect() }
    }
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
    /// This thread's shard: threads are numbered as they first count, round the shards.
    fn shard(&self) -> &Mutex<Inner> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed);
        }
        &self.shards[SLOT.with(|s| *s) % self.shards.len()].0
    }

    /// A request answered without its time to decide (refused before or after deciding).
    pub(super) fn count(&self, req: &Request, outcome: &'static str) {
        if let Ok(mut m) = self.shard().lock() {
            m.count(req, outcome);
        }
    }

    /// A request decided and answered `outcome`, `micros` after it arrived (one lock for both).
    pub(super) fn decided(&self, req: &Request, outcome: &'static str, micros: u64) {
        if let Ok(mut m) = self.shard().lock() {
            m.count(req, outcome);
            let h = m.decide.entry(req.operation().as_str()).or_insert_with(crate::metrics::latency_histogram);
            let _ = h.record(crate::metrics::clamp_latency(micros));
        }
    }

    /// Every shard's counts and histograms, summed.
    fn merged(&self) -> Inner {
        let mut all = Inner::default();
        for shard in self.shards.iter() {
            let Ok(m) = shard.0.lock() else { continue };
            for (k, n) in &m.counts {
                *all.counts.entry(*k).or_default() += n;
            }
            for (op, h) in &m.decide {
                let into = all.decide.entry(op).or_insert_with(crate::metrics::latency_histogram);
                // The same bounds in every shard: adding cannot fail.
                let _ = into.add(h);
            }
        }
        all
    }

    pub(super) fn render(&self, spec: &Spec, in_flight: usize) -> String {
        let mut e = Exposition::default();
        let m = self.merged();
        e.family("cutover_serve_requests_total", Kind::Counter, "Requests decided, by operation, channel and outcome.");
        for ((op, ch, outcome), n) in m.counts.iter() {
            let channel = spec.channels.get(*ch as usize).map(|c| c.id.as_str()).unwrap_or("?");
            e.sample("cutover_serve_requests_total", &[("operation", op), ("channel", channel), ("outcome", outcome)], n);
        }
        e.family("cutover_serve_decide_seconds", Kind::Histogram, "Time to decide a request, durable logging included.");
        for (op, h) in m.decide.iter() {
            e.latency("cutover_serve_decide_seconds", &[("operation", op)], h, &BUCKETS);
        }
        e.single("cutover_serve_in_flight", Kind::Gauge, "Requests being decided now.", in_flight);
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IdemKey, PayerRef, Period};
    use crate::scenario::GroupKind;

    /// Decisions counted on several threads (each in its own shard) are rendered as one sum:
    /// every request and every decision time, in the right series.
    #[test]
    fn counts_from_several_threads_render_as_one_sum() {
        let spec = crate::scenario::parse("ci-smoke.json", include_str!("../../scenarios/ci-smoke.json")).expect("ci-smoke is valid");
        let channel = spec.channel_index("wechat_mini").unwrap();
        let req = Request::Pay {
            key: IdemKey::new(1),
            payer: PayerRef { id: 1, group: GroupKind::Flexible, league: 0 },
            channel,
            items: [100, 0, 0, 0, 0, 0],
            period: Period::UNKNOWN,
            special: false,
            assessment: None,
        };
        let m = ServeMetrics::default();
        std::thread::scope(|s| {
            for t in 0..3u64 {
                let (m, req) = (&m, &req);
                s.spawn(move || {
                    for i in 0..1000 {
                        m.decided(req, "accepted", 10 + t * 1000 + i);
                    }
                    m.count(req, "overloaded");
                });
            }
        });
        let text = m.render(&spec, 0);
        let line =
            |prefix: &str| text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix} in\n{text}")).to_string();
        assert!(
            line("cutover_serve_requests_total{operation=\"pay\",channel=\"wechat_mini\",outcome=\"accepted\"}").ends_with(" 3000"),
            "{text}"
        );
        assert!(
            line("cutover_serve_requests_total{operation=\"pay\",channel=\"wechat_mini\",outcome=\"overloaded\"}").ends_with(" 3"),
            "{text}"
        );
        assert!(line("cutover_serve_decide_seconds_count{operation=\"pay\"}").ends_with(" 3000"), "{text}");
        // Every time is at most 3,009 µs: all of them in the 0.005 s bucket.
        assert!(line("cutover_serve_decide_seconds_bucket{operation=\"pay\",le=\"0.005\"}").ends_with(" 3000"), "{text}");
    }
}
