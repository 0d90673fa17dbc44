//! The go / no-go decision of a conditional rollback: the reopening's gates evaluated over
//! what the payers were answered from the new system's opening until the decision instant.
//!
//! The figures are mergeable ([`Window`]: a histogram and counts per gate), so that the
//! live driver's threads each measure their own payers and the coordinator decides on the
//! sum, as the engine decides on its one recorder: the same rule in both hosts.

use crate::model::Outcome;
use crate::report::GateResult;
pub use crate::report::RollbackDecision;
use crate::report::feed::recorder::Recorder;
use crate::scenario::{GateMetric, GateSpec, NEW, RollbackSpec, Spec};
use hdrhistogram::Histogram;

/// What one gate of the decision measured so far.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Window {
    #[serde(with = "crate::metrics::encoded::optional")]
    latency_micros: Option<Histogram<u64>>,
    attempts: u64,
    errors: u64,
}

/// The phases a gate of the decision reads: its own, or those from the new system's
/// opening to the one before the rollback's.
fn phases_of(spec: &Spec, r: &RollbackSpec, g: &GateSpec) -> std::ops::Range<usize> {
    if let Some(p) = g.phase {
        return p..p + 1;
    }
    let opens = spec.cutover.as_ref().and_then(|x| x.systems[NEW as usize].opens).unwrap_or(spec.start);
    spec.phase_at(opens)..r.phase
}

/// Each gate's figures in `rec` so far.
pub(crate) fn measure(spec: &Spec, r: &RollbackSpec, rec: &Recorder) -> Vec<Window> {
    r.when
        .iter()
        .map(|g| {
            let phases = phases_of(spec, r, g);
            let mut w = Window { latency_micros: None, attempts: 0, errors: 0 };
            for (phase, ch, op, cell) in rec.cells() {
                if !phases.contains(&phase) || g.channel.is_some_and(|c| c != ch) || g.operation.is_some_and(|o| o != op) {
                    continue;
                }
                w.attempts += cell.counters.attempts;
                w.errors += cell.counters.get(Outcome::Error);
                match w.latency_micros.as_mut() {
                    None => w.latency_micros = Some(cell.latency_micros.clone()),
                    Some(h) => {
                        let _ = h.add(&cell.latency_micros);
                    }
                }
            }
            w
        })
        .collect()
}

/// Add `b`'s figures (another thread's payers) to `a`'s.
pub(crate) fn merge(a: &mut [Window], b: &[Window]) {
    for (x, y) in a.iter_mut().zip(b) {
        x.attempts += y.attempts;
        x.errors += y.errors;
        match (&mut x.latency_micros, &y.latency_micros) {
            (Some(h), Some(k)) => {
                let _ = h.add(k);
            }
            (slot @ None, Some(k)) => *slot = Some(k.clone()),
            _ => {}
        }
    }
}

/// A live run's decision as it was made: the figures of every thread (of every shard), how
/// much later than its instant it reached the systems, and what went wrong. The report's
/// decision is made from it ([`Decided::decision`]) once, by the run or by `cutover merge`.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Decided {
    pub windows: Vec<Window>,
    pub late_by_seconds: Option<f64>,
    pub notes: Vec<String>,
}

impl Decided {
    pub(crate) fn decision(&self, spec: &Spec, r: &RollbackSpec) -> RollbackDecision {
        let mut d = decide(spec, r, &self.windows, self.late_by_seconds);
        d.notes = self.notes.clone();
        d
    }
}

/// The decision on the figures: rolled back if a gate fails. A gate with nothing behind it
/// (no answer yet) measures 0 and passes.
pub(crate) fn decide(spec: &Spec, r: &RollbackSpec, windows: &[Window], late: Option<f64>) -> RollbackDecision {
    let gates: Vec<GateResult> = r
        .when
        .iter()
        .zip(windows)
        .map(|(g, w)| {
            let q = |q: f64| w.latency_micros.as_ref().map_or(0.0, |h| h.value_at_quantile(q) as f64 / 1000.0);
            let value = match g.metric {
                GateMetric::LatencyMsP50 => q(0.5),
                GateMetric::LatencyMsP90 => q(0.9),
                GateMetric::LatencyMsP99 => q(0.99),
                GateMetric::LatencyMsP999 => q(0.999),
                _ => {
                    if w.attempts == 0 {
                        0.0
                    } else {
                        w.errors as f64 / w.attempts as f64
                    }
                }
            };
            super::gates::gate_result(spec, g, (value * 1e6).round() / 1e6, None)
        })
        .collect();
    RollbackDecision {
        decided_at: r.decide_at.format(spec.calendar.offset),
        rolled_back: gates.iter().any(|g| !g.passed),
        gates,
        late_by_seconds: late,
        notes: Vec::new(),
    }
}
