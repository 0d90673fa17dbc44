//! `cutover run --metrics-addr ADDR`: the rehearsal's figures as Prometheus text at
//! `http://ADDR/metrics`, for an operations room watching it in Grafana.
//!
//! Each sending thread copies its recorder's cells into its gauge about once a second (no
//! per-request state crosses threads); a scrape adds up the threads' latest copies.

use super::shard::Gauge;
use crate::report::recorder::CellCounters;
use crate::scenario::{Operation, Spec};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

/// What one thread last published.
#[derive(Clone, Debug, Default)]
pub(super) struct Snapshot {
    /// Per phase × channel × operation with traffic: the counters and response times (µs).
    pub cells: Vec<(usize, u8, Operation, CellCounters, hdrhistogram::Histogram<u64>)>,
    pub not_sent: u64,
    pub disagreements: u64,
}

/// Upper bounds of the latency buckets, seconds (response time from the scheduled instant:
/// counters and the hotline's queue wait minutes to hours).
const BUCKETS: [f64; 16] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 600.0, 3600.0, 14400.0];

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

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
    let label = |phase: usize, ch: u8, op: usize| {
        format!(
            "phase=\"{}\",channel=\"{}\",operation=\"{}\"",
            escape(&spec.phases[phase].name),
            escape(&spec.channels[ch as usize].id),
            Operation::ALL[op].as_str()
        )
    };
    let mut o = String::new();
    o.push_str("# HELP cutover_requests_total Requests answered, by phase, channel, operation and outcome.\n");
    o.push_str("# TYPE cutover_requests_total counter\n");
    for (&(phase, ch, op), (c, _)) in &cells {
        let l = label(phase, ch, op);
        for (outcome, n) in [
            ("success", c.successes),
            ("refused_suspended", c.rejected_suspended),
            ("refused_not_yet_visible", c.rejected_not_yet_visible),
            ("refused_unexpected", c.rejected_unexpected),
            ("error", c.errors),
            ("turned_away", c.turned_away),
            ("hung_up", c.abandoned),
        ] {
            let _ = writeln!(o, "cutover_requests_total{{{l},outcome=\"{outcome}\"}} {n}");
        }
    }
    o.push_str("# HELP cutover_response_seconds Response time from each request's scheduled instant.\n");
    o.push_str("# TYPE cutover_response_seconds histogram\n");
    for (&(phase, ch, op), (_, h)) in &cells {
        let l = label(phase, ch, op);
        for le in BUCKETS {
            let n = h.count_between(0, (le * 1e6) as u64);
            let _ = writeln!(o, "cutover_response_seconds_bucket{{{l},le=\"{le}\"}} {n}");
        }
        let _ = writeln!(o, "cutover_response_seconds_bucket{{{l},le=\"+Inf\"}} {}", h.len());
        let _ = writeln!(o, "cutover_response_seconds_sum{{{l}}} {}", h.mean() * h.len() as f64 / 1e6);
        let _ = writeln!(o, "cutover_response_seconds_count{{{l}}} {}", h.len());
    }
    let outstanding: u64 = gauges.iter().map(|g| g.outstanding.load(Relaxed)).sum();
    let completed: u64 = gauges.iter().map(|g| g.completed.load(Relaxed)).sum();
    let not_sent: u64 = snaps.iter().map(|s| s.not_sent).sum();
    let disagreements: u64 = snaps.iter().map(|s| s.disagreements).sum();
    for (name, kind, help, v) in [
        ("cutover_queue_depth", "gauge", "Requests handed to the connections and not answered yet.", outstanding),
        ("cutover_completed_total", "counter", "Requests answered.", completed),
        ("cutover_not_sent_total", "counter", "Arrivals the driver could not send (its queue was full).", not_sent),
        ("cutover_auditor_disagreements_total", "counter", "Answers the auditor found wrong.", disagreements),
    ] {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    }
    o
}

/// Serve `/metrics` on `listener` until the task is aborted.
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
