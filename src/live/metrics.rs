//! `cutover run --metrics-addr ADDR`: the rehearsal's figures as Prometheus text at
//! `http://ADDR/metrics`, for an operations room watching it in Grafana.
//!
//! Each sending thread copies its recorder's cells into its gauge about once a second (no
//! per-request state crosses threads); a scrape adds up the threads' latest copies.

use super::thread::gauge::{Gauge, Snapshot};
use crate::metrics::prometheus::{Exposition, Kind, LATENCY_BUCKETS_SECONDS};
use crate::model::Outcome;
use crate::report::feed::recorder::CellCounters;
use crate::scenario::{Operation, Spec};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

/// The text exposition of the threads' snapshots (Prometheus text format 0.0.4).
pub(super) fn render(spec: &Spec, gauges: &[Arc<Gauge>]) -> String {
    let snaps: Vec<Snapshot> = gauges.iter().filter_map(|g| g.metrics.lock().ok().and_then(|s| s.clone())).collect();
    let mut cells: std::collections::BTreeMap<(usize, u8, usize), (CellCounters, hdrhistogram::Histogram<u64>)> = Default::default();
    for s in &snaps {
        for (phase, ch, op, c, h) in &s.cells {
            let key = (*phase, *ch, op.index());
            match cells.get_mut(&key) {
                Some((cc, hh)) => {
                    *cc += c;
                    // Same bounds in every thread: adding cannot fail.
                    let _ = hh.add(h);
                }
                None => {
                    cells.insert(key, (c.clone(), h.clone()));
                }
            }
        }
    }
    let labels = |phase: usize, ch: u8, op: usize| {
        [
            ("phase", spec.phases[phase].name.as_str()),
            ("channel", spec.channels[ch as usize].id.as_str()),
            ("operation", Operation::ALL[op].as_str()),
        ]
    };
    let mut e = Exposition::default();
    e.family("cutover_requests_total", Kind::Counter, "Requests answered, by phase, channel, operation and outcome.");
    for (&(phase, ch, op), (c, _)) in &cells {
        let [p, chan, o] = labels(phase, ch, op);
        for outcome in Outcome::ALL {
            e.sample("cutover_requests_total", &[p, chan, o, ("outcome", outcome.as_str())], c.get(outcome));
        }
    }
    e.family("cutover_response_seconds", Kind::Histogram, "Response time from each request's scheduled instant.");
    for (&(phase, ch, op), (_, h)) in &cells {
        e.latency("cutover_response_seconds", &labels(phase, ch, op), h, &LATENCY_BUCKETS_SECONDS);
    }
    let outstanding: u64 = gauges.iter().map(|g| g.outstanding.load(Relaxed)).sum();
    let completed: u64 = gauges.iter().map(|g| g.completed.load(Relaxed)).sum();
    let not_sent: u64 = snaps.iter().map(|s| s.not_sent).sum();
    let disagreements: u64 = snaps.iter().map(|s| s.disagreements).sum();
    e.single("cutover_queue_depth", Kind::Gauge, "Requests handed to the connections and not answered yet.", outstanding);
    e.single("cutover_completed_total", Kind::Counter, "Requests answered.", completed);
    e.single("cutover_not_sent_total", Kind::Counter, "Arrivals the driver could not send (its queue was full).", not_sent);
    e.single("cutover_auditor_disagreements_total", Kind::Counter, "Answers the auditor found wrong.", disagreements);
    e.finish()
}

pub(super) fn serve(listener: tokio::net::TcpListener, spec: Arc<Spec>, gauges: Arc<Vec<Arc<Gauge>>>) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (spec, gauges) = (spec.clone(), gauges.clone());
            async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], render(&spec, &gauges)) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}
