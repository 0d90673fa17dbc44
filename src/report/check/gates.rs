//! The gates: each of the scenario's bounds measured over the run, with the samples behind it.

use super::latency::ms;
use super::verdicts::CutoverFigures;
use crate::report::feed::recorder::Recorder;
use crate::report::{GateResult, Report};
use crate::scenario::{GateMetric, Spec};
use crate::time::{MICROS_PER_HOUR, SimTime};

/// The measured figures gates read besides the recorder's cells.
pub(crate) struct GateInputs<'a> {
    pub error_rate: f64,
    pub attempts: u64,
    pub mismatched: u64,
    /// The target's ledger was read (else the ledger's gate has nothing behind it).
    pub ledger_read: bool,
    /// None in `simulate`: no auditor ran.
    pub audit: Option<&'a crate::report::data::live::AuditReport>,
    pub cutover: Option<CutoverFigures>,
}

/// Every gate of the scenario, measured, with the samples behind each.
pub(crate) fn gate_results(spec: &Spec, rec: &Recorder, m: GateInputs) -> Vec<GateResult> {
    spec.gates
        .iter()
        .map(|g| {
            let run = m.attempts;
            let cut = |f: fn(&CutoverFigures) -> u64| m.cutover.as_ref().map_or((0.0, 0), |c| (f(c) as f64, run));
            let mut detail = None;
            let mut bound = None;
            let (value, samples) = match g.metric {
                GateMetric::ErrorRate => (m.error_rate, run),
                GateMetric::AcceptedWhileSuspended => (rec.accepted_while_suspended as f64, run),
                GateMetric::LedgerMismatchedCells => (m.mismatched as f64, if m.ledger_read { run } else { 0 }),
                // The auditor checks live answers only; simulate has none to check.
                GateMetric::AuditorDisagreements => m.audit.map_or((0.0, 0), |a| {
                    let n = match &g.disagreement {
                        Some(kind) => a.by_kind.iter().filter(|(k, _)| k.name() == kind.as_str()).map(|(_, n)| n).sum(),
                        None => a.disagreements,
                    };
                    (n as f64, run)
                }),
                GateMetric::MigrationMismatchedCells => cut(|c| c.migration_mismatched_cells),
                GateMetric::DoubleCharges => cut(|c| c.double_charges),
                GateMetric::LostAtBoundary => cut(|c| c.lost_at_boundary),
                GateMetric::RegistrationsMismatched => cut(|c| c.registrations_mismatched),
                GateMetric::LatencyMsP50 => latency_gate(rec, g, 0.5),
                GateMetric::LatencyMsP90 => latency_gate(rec, g, 0.9),
                GateMetric::LatencyMsP99 => latency_gate(rec, g, 0.99),
                GateMetric::LatencyMsP999 => latency_gate(rec, g, 0.999),
                GateMetric::WaitingMinP50
                | GateMetric::WaitingMinP99
                | GateMetric::GaveUp
                | GateMetric::TurnedAwayAtClosing
                | GateMetric::HungUp
                | GateMetric::QueuePeak => rec.days.gate(spec, g),
                GateMetric::BacklogClearedHours => {
                    let at = if g.share >= 1.0 {
                        rec.backlog_cleared_at
                    } else if g.share >= 0.99 {
                        rec.backlog_99pct_cleared_at
                    } else {
                        rec.backlog_90pct_cleared_at
                    };
                    let hours = |t: SimTime, from: SimTime| (t.micros_since(from) as f64 / MICROS_PER_HOUR as f64 * 100.0).round() / 100.0;
                    // `by` an instant: the bound is the hours from the reopening to it.
                    if let (Some(by), Some(open)) = (g.by, rec.reopen_at) {
                        bound = Some(hours(by, open));
                    }
                    match (rec.reopen_at, at) {
                        (Some(open), Some(t)) => (hours(t, open), rec.displaced_total),
                        (Some(open), None) => {
                            detail = Some(format!(
                                "never: not cleared by the end of the timeline, {} h after the reopening",
                                hours(spec.end, open)
                            ));
                            (hours(spec.end, open), rec.displaced_total)
                        }
                        (None, _) => (0.0, 0),
                    }
                }
                // Hooks run in `cutover run` only; its coordinator measures this gate.
                GateMetric::HooksFailed => (0.0, 0),
            };
            let g = &crate::scenario::GateSpec { max: bound.unwrap_or(g.max), ..g.clone() };
            let mut r = gate_result(spec, g, value, Some(samples));
            if detail.is_some() {
                r.passed = false;
                r.detail = detail;
            }
            r
        })
        .collect()
}

/// A live run's hooks as a check: the scenario's `hooks_failed` gates measured, and with
/// hooks but no such gate one added (`hooks_failed <= 0`), so a failed hook fails the run.
/// A run whose load was aborted early (`--abort-early`) has not passed its gates, whatever
/// they measured on the part that ran.
pub(crate) fn live_gates(spec: &Spec, report: &mut Report) {
    let Some(live) = &report.live else { return };
    use crate::report::data::live::HookState;
    // Hooks not needed or not reached did not run: neither passed nor failed.
    let ran = live.hooks.iter().filter(|h| matches!(h.state, HookState::Ok | HookState::Failed)).count() as u64;
    let failed = live.hooks.iter().filter(|h| h.state == HookState::Failed).count() as u64;
    let aborted = live.aborted.is_some();
    let mut found = false;
    for (g, r) in spec.gates.iter().zip(report.gates.iter_mut()) {
        if g.metric == GateMetric::HooksFailed {
            *r = gate_result(spec, g, failed as f64, Some(ran));
            found = true;
        }
    }
    if !found && ran > 0 {
        let g = crate::scenario::GateSpec {
            metric: GateMetric::HooksFailed,
            operation: None,
            channel: None,
            phase: None,
            day: None,
            kind: None,
            share: 1.0,
            disagreement: None,
            allow_empty: false,
            max: 0.0,
            by: None,
        };
        report.gates.push(gate_result(spec, &g, failed as f64, Some(ran)));
    }
    report.summary.gates_passed = report.gates.iter().all(|g| g.passed) && !aborted;
}

/// A gate measured at `value` with `samples` behind it (None: not judged on data, as a
/// rollback's decision on the figures so far), as the report names it.
pub(crate) fn gate_result(spec: &Spec, g: &crate::scenario::GateSpec, value: f64, samples: Option<u64>) -> GateResult {
    let star = |name: Option<&str>| name.unwrap_or("*").to_string();
    let no_data = samples == Some(0);
    GateResult {
        metric: g.metric,
        operation: star(g.operation.map(|o| o.as_str())),
        channel: star(g.channel.map(|c| spec.channels[c as usize].id.as_str())),
        phase: star(g.phase.map(|p| spec.phases[p].name.as_str())),
        day: g.day.map(|d| spec.calendar.date_of_day(d).format("%Y-%m-%d").to_string()),
        kind: g.kind,
        share: (g.metric == GateMetric::BacklogClearedHours).then_some(g.share),
        disagreement: g.disagreement.clone(),
        by: g.by.map(|t| t.format(spec.calendar.offset)),
        max: g.max,
        value,
        samples,
        no_data,
        allow_empty: g.allow_empty,
        passed: value <= g.max && (!no_data || g.allow_empty),
        detail: None,
        not_reached: None,
    }
}

/// The instant a gate judges, where it has one: its phase's start, its day's, its `by`
/// instant, or for the migration's checks the instant the migration is due.
fn judges_from(spec: &Spec, g: &crate::scenario::GateSpec, migration_due: Option<SimTime>) -> Option<SimTime> {
    let own = [g.phase.map(|p| spec.phases[p].start), g.day.map(|d| spec.calendar.day_start(d)), g.by].into_iter().flatten().max();
    let cutover =
        matches!(g.metric, GateMetric::MigrationMismatchedCells | GateMetric::LostAtBoundary | GateMetric::RegistrationsMismatched)
            .then_some(migration_due)
            .flatten();
    own.max(cutover)
}

/// Gates whose instant the run did not reach (it was stopped at `reached`): not reached,
/// and not passed, whatever they measured on the part that ran.
pub(crate) fn mark_not_reached(spec: &Spec, gates: &mut [GateResult], reached: SimTime) {
    let due = spec.cutover.as_ref().and_then(super::cutover::migration_due);
    for (g, r) in spec.gates.iter().zip(gates.iter_mut()) {
        if let Some(t) = judges_from(spec, g, due).filter(|t| *t > reached) {
            r.not_reached = Some(t.format(spec.calendar.offset));
            r.passed = false;
        }
    }
}

/// The `q` quantile (ms) of response times over the cells a gate selects, and how many
/// responses there are (0: the value is 0 and means nothing).
fn latency_gate(rec: &Recorder, g: &crate::scenario::GateSpec, q: f64) -> (f64, u64) {
    let mut merged: Option<hdrhistogram::Histogram<u64>> = None;
    for (phase, ch, op, cell) in rec.cells() {
        let ok = g.phase.is_none_or(|p| p == phase) && g.channel.is_none_or(|c| c == ch) && g.operation.is_none_or(|o| o == op);
        if !ok {
            continue;
        }
        match merged.as_mut() {
            None => merged = Some(cell.latency_micros.clone()),
            // Same bounds everywhere, so adding cannot fail.
            Some(m) => {
                let _ = m.add(&cell.latency_micros);
            }
        }
    }
    merged.map(|h| (ms(h.value_at_quantile(q)), h.len())).unwrap_or((0.0, 0))
}
