//! What a sending thread publishes for the coordinator (progress, `--abort-early`, a
//! rollback's figures, `--metrics-addr`), and the coordinator's stop: atomics and copies
//! made about once a second, nothing per request.

use crate::report::feed::recorder::CellCounters;
use crate::scenario::Operation;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};

/// What a thread shows the progress display, updated four times a second, and the
/// coordinator's stop.
#[derive(Default)]
pub(in crate::live) struct Gauge {
    /// Set by the coordinator (Ctrl-C): stop sending, wait for the answers in flight.
    pub stop: AtomicBool,
    pub completed: AtomicU64,
    pub outstanding: AtomicU64,
    pub errors: AtomicU64,
    /// Per system: the answers that came over a wire (or were never sent for lack of a
    /// connection), and those of them counted as errors (`--abort-early` judges a window).
    pub answers: [AtomicU64; 2],
    pub failed: [AtomicU64; 2],
    /// Payments accepted on a closed channel, and the auditor's disagreements, so far: a
    /// gate on them, once lost, stays lost (`--abort-early` stops then).
    pub accepted_while_suspended: AtomicU64,
    pub disagreements: AtomicU64,
    /// Whether to copy the response-time histogram into `response`.
    pub wants_latency: AtomicBool,
    pub response: Mutex<Option<hdrhistogram::Histogram<u64>>>,
    /// A conditional rollback's figures of this thread's payers at the decision instant.
    pub rollback: Mutex<Option<Vec<crate::report::check::rollback::Window>>>,
    /// Whether to copy the recorder's cells into `metrics` (`--metrics-addr`).
    pub wants_metrics: AtomicBool,
    pub metrics: Mutex<Option<Snapshot>>,
}

/// What one thread last published.
#[derive(Clone, Debug, Default)]
pub(in crate::live) struct Snapshot {
    /// Per phase × channel × operation with traffic: the counters and response times (µs).
    pub cells: Vec<(usize, u8, Operation, CellCounters, hdrhistogram::Histogram<u64>)>,
    pub not_sent: u64,
    pub disagreements: u64,
}
