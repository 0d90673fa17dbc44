//! Where the checks stand, each a [`CheckState`], the run's [`Verdict`] from all of them, and
//! the cutover's figures the gates read. (A gate's own standing is a view of its fields,
//! `GateResult::state`, beside its type.)

use crate::report::data::cutover::CutoverReport;
use crate::report::data::{Reason, VerdictReport};
use crate::report::{CheckState, Report, Verdict};

/// The figures the summary and the gates read.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CutoverFigures {
    pub migration_mismatched_cells: u64,
    pub double_charges: u64,
    pub lost_at_boundary: u64,
    pub registrations_mismatched: u64,
}

impl CutoverReport {
    pub(crate) fn figures(&self) -> CutoverFigures {
        CutoverFigures {
            registrations_mismatched: self.registrations.mismatched(),
            migration_mismatched_cells: self.migration.mismatched_cells,
            double_charges: self.double_charges.count,
            lost_at_boundary: self.lost_at_boundary.count,
        }
    }

    /// Where the cutover's checks stand: unknown when the books could not be read (then no
    /// check ran), failed when any payment or registration is wrong, not reached when the run
    /// ended before the migration was due.
    pub fn state(&self) -> CheckState {
        match (&self.read_error, &self.not_reached) {
            (Some(e), _) => CheckState::Unknown { reason: format!("the books could not be read: {e}") },
            _ if self.payments_wrong() > 0 => CheckState::Fail,
            (None, Some(instant)) => CheckState::NotReached { instant: instant.clone() },
            (None, None) => CheckState::Pass,
        }
    }

    /// Everything the checks found wrong, counted together (0: the books agree): the
    /// migration's differences, double charges, payments lost at the boundary or
    /// acknowledged after a stop, wrong registrations.
    pub(crate) fn payments_wrong(&self) -> u64 {
        let m = &self.migration;
        m.missing
            + m.duplicated
            + m.differing
            + m.unknown_origin
            + m.mismatched_cells
            + self.double_charges.count
            + self.lost_at_boundary.count
            + self.acknowledged_after_stop.count
            + self.registrations.mismatched()
    }
}

/// The run's verdict from every gate and check: GO only when all passed, NO-GO when one
/// failed (an aborted load counts as failed), otherwise INCOMPLETE; the reasons failed first,
/// then unknown, then not reached.
pub(crate) fn verdict(r: &Report) -> VerdictReport {
    let mut reasons: Vec<Reason> = Vec::new();
    // A sharded rehearsal with a shard missing: the books hold what that shard sent, its
    // account does not; a difference found there, or a figure of part of the payers, is not
    // judged a failure (a count that only grows, past its bound already, still is).
    let missing = r.live.as_ref().and_then(|l| l.shards.as_ref()).filter(|s| !s.missing.is_empty());
    let not_judged = |state: CheckState| match (state, missing) {
        (CheckState::Fail, Some(s)) => CheckState::Unknown {
            reason: format!("not judged: shard {} missing, whose requests the account lacks", list(&s.missing, s.of)),
        },
        (state, _) => state,
    };
    for (index, g) in r.gates.iter().enumerate() {
        let state = match g.state() {
            CheckState::Fail if g.metric.only_grows() => CheckState::Fail,
            state => not_judged(state),
        };
        if state != CheckState::Pass {
            reasons.push(Reason::Gate { index, name: g.name(), state });
        }
    }
    if let Some(s) = missing {
        let reason = format!("shard {} of the rehearsal missing", list(&s.missing, s.of));
        reasons.push(Reason::ShardsMissing { missing: s.missing.clone(), of: s.of, state: CheckState::Unknown { reason } });
    }
    let ledger = match &r.ledger.read_error {
        Some(e) => CheckState::Unknown { reason: format!("the target's ledger could not be read: {e}") },
        None if r.ledger.mismatched_cells > 0 => CheckState::Fail,
        None => CheckState::Pass,
    };
    if ledger != CheckState::Pass {
        reasons.push(Reason::Ledger { mismatched_cells: r.ledger.mismatched_cells, state: not_judged(ledger) });
    }
    if let Some(c) = &r.cutover {
        let state = c.state();
        if state != CheckState::Pass {
            reasons.push(Reason::Cutover { payments_wrong: c.payments_wrong(), state: not_judged(state) });
        }
    }
    if let Some(l) = &r.live {
        if let Some(why) = &l.aborted {
            reasons.push(Reason::Aborted { why: why.clone(), state: CheckState::Fail });
        }
        if l.interrupted {
            reasons.push(Reason::Interrupted { at: l.reached.clone(), state: CheckState::NotReached { instant: r.scenario.end.clone() } });
        }
    }
    let rank = |s: &CheckState| match s {
        CheckState::Fail => 0,
        CheckState::Unknown { .. } => 1,
        CheckState::NotReached { .. } => 2,
        CheckState::Pass => 3,
    };
    // Stable: within a state, the report's order.
    reasons.sort_by_key(|r| rank(r.state()));
    let verdict = match reasons.first().map(|r| r.state()) {
        None => Verdict::Go,
        Some(CheckState::Fail) => Verdict::NoGo,
        Some(_) => Verdict::Incomplete,
    };
    let mut notes = Vec::new();
    if let Some(d) = r.live.as_ref().map(|l| &l.driver_lateness).filter(|d| d.late) {
        notes.push(format!(
            "the driver itself was late: {} ms at the 99th percentile (bound {} ms); the response times of the cells marked driver_late_ms_p99 include it",
            d.ms.p99, d.bound_ms
        ));
    }
    VerdictReport { verdict, reasons, notes }
}

/// Shards as people name them: `1/3, 2/3`.
fn list(shards: &[usize], of: usize) -> String {
    shards.iter().map(|i| format!("{i}/{of}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::data::Reason;

    /// The smoke scenario's report built from nothing recorded, its gates then set as passed.
    fn smoke() -> Report {
        let spec = std::sync::Arc::new(crate::scenario::load(std::path::Path::new("scenarios/ci-smoke.json")).unwrap());
        let rules = std::sync::Arc::new(crate::model::Rules::from_spec(&spec));
        let recorder = crate::report::feed::recorder::Recorder::new(spec.clone(), rules);
        let mut r = super::super::build::build(super::super::build::BuildInput {
            spec: &spec,
            scenario_file: "ci-smoke.json",
            mode: crate::report::Mode::Simulate,
            seed: 7,
            recorder: &recorder,
            stats: &crate::report::EngineStats::default(),
            batches: Vec::new(),
            actual_ledger: Ok(Default::default()),
            audit: None,
            cutover: None,
            keep_histograms: false,
            reached: spec.end,
        });
        // Nothing was measured: every gate without `allow_empty` is unknown.
        assert!(r.gates.iter().any(|g| !g.passed && g.no_data));
        assert_eq!(r.verdict.verdict, Verdict::Incomplete);
        for g in &mut r.gates {
            (g.passed, g.no_data) = (true, false);
        }
        r.verdict = verdict(&r);
        r
    }

    #[test]
    fn go_only_when_all_pass_no_go_on_a_failure_incomplete_otherwise() {
        let mut r = smoke();
        assert_eq!(r.verdict.verdict, Verdict::Go, "{:?}", r.verdict.reasons);
        assert!(r.verdict.reasons.is_empty());
        // A ledger that could not be read is not verified: INCOMPLETE, never "cells differ".
        r.ledger.read_error = Some("GET /v1/ledger answered 500".into());
        let v = verdict(&r);
        assert_eq!(v.verdict, Verdict::Incomplete);
        assert!(matches!(&v.reasons[..], [Reason::Ledger { state: CheckState::Unknown { .. }, .. }]), "{:?}", v.reasons);
        // A gate with nothing measured behind it: unknown, listed after a failure.
        r.gates[1].passed = false;
        r.gates[1].no_data = true;
        r.gates[2].passed = false;
        let v = verdict(&r);
        assert_eq!(v.verdict, Verdict::NoGo);
        let states: Vec<(&str, &str)> = v
            .reasons
            .iter()
            .map(|x| {
                let check = match x {
                    Reason::Gate { .. } => "gate",
                    Reason::Ledger { .. } => "ledger",
                    _ => "other",
                };
                (check, x.state().as_str())
            })
            .collect();
        assert_eq!(states, vec![("gate", "fail"), ("gate", "unknown"), ("ledger", "unknown")]);
    }
}
