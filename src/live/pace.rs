//! The run's pace: with `--real-time FROM/UNTIL` the run's clock goes one virtual second per
//! real second through that stretch of the timeline and at `--time-scale` elsewhere
//! ([`crate::clock::VirtualClock::with_real_time`]). The sending threads follow the clock
//! itself; a target that follows the run's clock through its clock endpoint (a `cutover
//! serve`, a profile's `clock_path`) is told the new pace at each edge of the stretch, each
//! call reported with the runbook's hooks (a failed one fails the run, as a hook does). A
//! target keeping real time needs nothing: the stretch is wall time to it.

use super::deployment::target::{PreflightConfig, Target};
use crate::clock::VirtualClock;
use crate::report::data::live::{HookReport, HookState};
use crate::scenario::Spec;
use crate::time::SimTime;
use std::collections::VecDeque;
use std::time::Instant;

pub(super) struct Pace {
    /// The edges of the real-time stretch inside the timeline, not yet passed.
    due: VecDeque<SimTime>,
    reports: Vec<HookReport>,
}

impl Pace {
    /// The edges of `clock`'s real-time stretch that fall inside `spec`'s timeline, when the
    /// run sets its targets' clocks (`sync_clock`).
    pub(super) fn new(spec: &Spec, clock: &VirtualClock, sync_clock: bool) -> Pace {
        let due = match (clock.real_time(), sync_clock) {
            (Some((a, b)), true) => [a, b].into_iter().filter(|t| *t > spec.start && *t < spec.end).collect(),
            _ => VecDeque::new(),
        };
        Pace { due, reports: Vec::new() }
    }

    /// The real instant of the next edge.
    pub(super) fn next_due(&self, clock: &VirtualClock) -> Option<Instant> {
        self.due.front().map(|t| clock.real_instant(*t))
    }

    /// Tell every target following the run's clock its pace from now on.
    pub(super) async fn tell(&mut self, spec: &Spec, targets: &[&Target], checks: &PreflightConfig<'_>, started: Instant) {
        let Some(at) = self.due.pop_front() else { return };
        let scale = checks.clock.scale_at(at);
        for t in targets {
            let begin = Instant::now();
            let (ok, outcome) = match t.set_clock(spec, checks).await {
                Ok(Some(rtt)) => (true, format!("set (round trip {:.1} ms)", rtt.as_secs_f64() * 1000.0)),
                Ok(None) => continue,
                Err(e) => (false, crate::secrets::redact(&e).into_owned()),
            };
            self.reports.push(HookReport {
                phase: spec.phases[spec.phase_at(at)].name.clone(),
                action: format!("set the clock of {} to {scale} virtual seconds per real second", t.label()),
                due_at: at.format(spec.calendar.offset),
                started_after_seconds: begin.saturating_duration_since(started).as_secs_f64(),
                duration_ms: begin.elapsed().as_secs_f64() * 1000.0,
                ok,
                state: if ok { HookState::Ok } else { HookState::Failed },
                outcome,
            });
        }
    }

    /// What was told, and the edges never reached as not run.
    pub(super) fn finish(self, spec: &Spec) -> Vec<HookReport> {
        let mut reports = self.reports;
        reports.extend(self.due.into_iter().map(|at| {
            HookReport::not_run(
                spec.phases[spec.phase_at(at)].name.clone(),
                "set the targets' clocks to the run's pace".into(),
                at.format(spec.calendar.offset),
                HookState::NotReached,
                "not run: the run ended first",
            )
        }));
        reports
    }
}
