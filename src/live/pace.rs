//! The run's pace: with `--real-time FROM/UNTIL` the run's clock goes one virtual second per
//! real second through that stretch of the timeline and at `--time-scale` elsewhere
//! ([`crate::clock::VirtualClock::with_real_time`]). The sending threads follow the clock
//! itself; a target that follows the run's clock through its clock endpoint (a `cutover
//! serve`, a profile's `clock_path`) is told the new pace at each edge of the stretch, each
//! call reported with the runbook's hooks (a failed one fails the run, as a hook does). A
//! target keeping real time needs nothing: the stretch is wall time to it.
//!
//! A target's clock lags the run's by up to the call that set it ([`ClockLag`]): the
//! auditor's window allows for the longest such call, and for a call under way for as long as
//! it has taken so far (until the call arrives the target keeps the old pace).

use super::deployment::target::{PreflightConfig, Target};
use super::shared::Shared;
use crate::clock::VirtualClock;
use crate::report::data::live::{HookReport, HookState};
use crate::scenario::Spec;
use crate::time::SimTime;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The auditor's window is widened by this much real time (clock skew, scheduling), besides
/// how far a target's clock may lag the run's.
pub(super) const AUDIT_MARGIN: Duration = Duration::from_millis(5);

/// How far a target's clock may lag (or lead) the run's, in real time, shared by the
/// coordinator, which sets the targets' clocks, and the sending threads, whose auditors allow
/// for it. A target adopts the instant a clock call carries when the call arrives, so after a
/// call its clock is off by up to that call's duration; at an edge of the real-time stretch
/// the run's clock changes pace at once and the target's only when told, so from the edge
/// until the call is done (and known done: another shard learns it from shard 0's file) the
/// lag grows with the time since the edge.
pub(in crate::live) struct ClockLag {
    /// The real instants of the pace's edges, in order.
    edges: Vec<Instant>,
    /// How many edges have been told and settled.
    settled_edges: AtomicUsize,
    /// The longest call that set a target's clock (µs): the start's round trip, then each
    /// edge's calls from the edge until they were done.
    settled_micros: AtomicU64,
    /// Virtual seconds per real second outside the real-time stretch (the fastest pace).
    scale: f64,
}

impl ClockLag {
    /// `settled`: the longest round trip of the calls that set the clocks before the load.
    pub(in crate::live) fn new(edges: Vec<Instant>, settled: Duration, scale: f64) -> ClockLag {
        ClockLag { edges, settled_edges: AtomicUsize::new(0), settled_micros: AtomicU64::new(settled.as_micros() as u64), scale }
    }

    /// The auditor's margin in real time for an answer received at `now`.
    pub(in crate::live) fn real_at(&self, now: Instant) -> Duration {
        let settled = Duration::from_micros(self.settled_micros.load(Relaxed));
        let told = self.settled_edges.load(Relaxed);
        let under_way = self.edges.get(told).map_or(Duration::ZERO, |edge| now.saturating_duration_since(*edge));
        AUDIT_MARGIN + settled.max(under_way)
    }

    /// The same in virtual microseconds (at the fastest pace, so that it holds at every pace).
    pub(in crate::live) fn virtual_micros_at(&self, now: Instant) -> i64 {
        (self.real_at(now).as_secs_f64() * 1e6 * self.scale) as i64
    }

    /// The widest margin settled (for the report).
    pub(in crate::live) fn widest(&self) -> Duration {
        AUDIT_MARGIN + Duration::from_micros(self.settled_micros.load(Relaxed))
    }

    /// The next edge's calls are done, `took` after the edge.
    fn settle(&self, took: Duration) {
        self.settled_micros.fetch_max(took.as_micros() as u64, Relaxed);
        self.settled_edges.fetch_add(1, Relaxed);
    }

    fn settled_edges(&self) -> usize {
        self.settled_edges.load(Relaxed)
    }
}

/// The edges of `clock`'s real-time stretch that fall inside `spec`'s timeline, when the run
/// sets its targets' clocks (`sync_clock`).
pub(super) fn edges(spec: &Spec, clock: &VirtualClock, sync_clock: bool) -> VecDeque<SimTime> {
    match (clock.real_time(), sync_clock) {
        (Some((a, b)), true) => [a, b].into_iter().filter(|t| *t > spec.start && *t < spec.end).collect(),
        _ => VecDeque::new(),
    }
}

pub(super) struct Pace {
    /// The edges of the real-time stretch inside the timeline, not yet passed.
    due: VecDeque<SimTime>,
    /// How many edges were passed.
    passed: usize,
    /// Whether this shard tells the targets (shard 0, or the only one); another learns when
    /// the calls were done from shard 0's file.
    tells: bool,
    lag: Arc<ClockLag>,
    reports: Vec<HookReport>,
}

impl Pace {
    /// `lag`'s edges are `edges(spec, clock, sync_clock)`'s.
    pub(super) fn new(spec: &Spec, clock: &VirtualClock, sync_clock: bool, tells: bool, lag: Arc<ClockLag>) -> Pace {
        Pace { due: edges(spec, clock, sync_clock), passed: 0, tells, lag, reports: Vec::new() }
    }

    /// The real instant of the next edge.
    pub(super) fn next_due(&self, clock: &VirtualClock) -> Option<Instant> {
        self.due.front().map(|t| clock.real_instant(*t))
    }

    /// Tell every target following the run's clock its pace from now on (shard 0), and
    /// tell the other shards when that was done.
    pub(super) async fn tell(
        &mut self,
        spec: &Spec,
        targets: &[&Target],
        checks: &PreflightConfig<'_>,
        started: Instant,
        shared: Option<&Shared>,
    ) {
        let Some(at) = self.due.pop_front() else { return };
        let edge = self.passed;
        self.passed += 1;
        if !self.tells {
            return;
        }
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
        let took = Instant::now().saturating_duration_since(checks.clock.real_instant(at));
        self.lag.settle(took);
        if let Some(sh) = shared {
            sh.publish_pace(edge, took);
        }
    }

    /// Another shard: the edges shard 0 has told since last asked.
    pub(super) fn learn(&self, shared: Option<&Shared>) {
        let Some(sh) = shared.filter(|_| !self.tells) else { return };
        while let Some(took) = sh.pace_told(self.lag.settled_edges()) {
            self.lag.settle(took);
        }
    }

    /// What was told, and the edges never reached as not run.
    pub(super) fn finish(self, spec: &Spec) -> Vec<HookReport> {
        let mut reports = self.reports;
        if !self.tells {
            return reports;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_lag_is_the_longest_call_and_grows_from_an_edge_until_it_is_told() {
        let t0 = Instant::now();
        let (edge1, edge2) = (t0 + 100 * MS, t0 + 300 * MS);
        let lag = ClockLag::new(vec![edge1, edge2], 2 * MS, 1000.0);
        // Before the first edge: the start's round trip.
        assert_eq!(lag.real_at(t0 + 50 * MS), AUDIT_MARGIN + 2 * MS);
        assert_eq!(lag.virtual_micros_at(t0 + 50 * MS), 7_000 * 1000);
        // Past it, untold: the target may still keep the old pace, for as long as since the edge.
        assert_eq!(lag.real_at(edge1 + MS), AUDIT_MARGIN + 2 * MS, "the start's call is longer still");
        assert_eq!(lag.real_at(edge1 + 40 * MS), AUDIT_MARGIN + 40 * MS);
        // Told 30 ms after the edge: the margin keeps that, and stops growing.
        lag.settle(30 * MS);
        assert_eq!(lag.real_at(edge1 + 40 * MS), AUDIT_MARGIN + 30 * MS);
        assert_eq!(lag.real_at(edge2 - MS), AUDIT_MARGIN + 30 * MS);
        // The second edge, then told quickly: the widest stays.
        assert_eq!(lag.real_at(edge2 + 90 * MS), AUDIT_MARGIN + 90 * MS);
        lag.settle(3 * MS);
        assert_eq!(lag.real_at(edge2 + 90 * MS), AUDIT_MARGIN + 30 * MS);
        assert_eq!(lag.widest(), AUDIT_MARGIN + 30 * MS);
        // No edge left: nothing under way.
        assert_eq!(lag.real_at(edge2 + 10_000 * MS), AUDIT_MARGIN + 30 * MS);
    }

    /// Another shard does not tell the targets: it learns from shard 0's file when each edge
    /// was told, and until then its window keeps growing from the edge.
    #[test]
    fn another_shard_learns_when_shard_0_told_the_pace() {
        let root = std::env::temp_dir().join(format!("cutover-pace-{}", std::process::id()));
        let (zero, one) = (Shared::new(&root, "r", Some(1), 0, 2).unwrap(), Shared::new(&root, "r", Some(1), 1, 2).unwrap());
        let t0 = Instant::now();
        let lag = Arc::new(ClockLag::new(vec![t0, t0 + 10 * MS], Duration::ZERO, 1.0));
        let pace = Pace { due: VecDeque::new(), passed: 0, tells: false, lag: lag.clone(), reports: Vec::new() };
        pace.learn(Some(&one));
        assert_eq!(lag.real_at(t0 + 500 * MS), AUDIT_MARGIN + 500 * MS, "nothing told yet: under way since the edge");
        zero.publish_pace(0, 40 * MS);
        pace.learn(Some(&one));
        assert_eq!(lag.settled_edges(), 1);
        assert_eq!(lag.real_at(t0 + 500 * MS), AUDIT_MARGIN + 490 * MS, "the second edge is under way");
        zero.publish_pace(1, 20 * MS);
        pace.learn(Some(&one));
        assert_eq!((lag.settled_edges(), lag.widest()), (2, AUDIT_MARGIN + 40 * MS));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
