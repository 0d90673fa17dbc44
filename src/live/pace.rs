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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Release};
use std::time::{Duration, Instant};

/// The auditor's window is widened by this much real time (clock skew, scheduling), besides
/// how far a target's clock may lag the run's.
pub(super) const AUDIT_MARGIN: Duration = Duration::from_millis(5);

/// How far a target's clock may lag (or lead) the run's, shared by the coordinator, which
/// sets the targets' clocks, and the sending threads, whose auditors allow for it. A target
/// adopts the instant a clock call carries when the call arrives, so after a call its clock is
/// off by up to that call's duration, in real time: an answer's window is widened by that much
/// real time each side, read through the run's clock (at one virtual second per real second
/// inside the real-time stretch, where the window is as narrow as real time allows). At an
/// edge of the stretch the run's clock changes pace at once and the target's only when told:
/// from the edge until the call is done (and known done: another shard learns it from shard
/// 0's file) the target may keep the old pace, so a window reaching into that time is widened
/// by the time since the edge at the fastest pace.
pub(in crate::live) struct ClockLag {
    clock: VirtualClock,
    /// The real instants of the pace's edges, in order.
    edges: Vec<Instant>,
    /// Per edge, how long after it its calls were done (µs; `UNTOLD` until then).
    took: Vec<AtomicU64>,
    /// How many edges have been told.
    told: AtomicUsize,
    /// The longest call that set a target's clock (µs): the start's round trip, then each
    /// edge's calls from the edge until they were done.
    settled_micros: AtomicU64,
    /// Virtual seconds per real second at the fastest pace.
    fastest: f64,
}

const UNTOLD: u64 = u64::MAX;

impl ClockLag {
    /// The run's `clock`, the real instants of its pace's `edges`, and the longest round trip
    /// of the calls that set the targets' clocks before the load (`settled`).
    pub(in crate::live) fn new(clock: VirtualClock, edges: Vec<Instant>, settled: Duration) -> ClockLag {
        let fastest = if clock.real_time().is_some() { clock.scale().max(1.0) } else { clock.scale() };
        ClockLag {
            clock,
            took: edges.iter().map(|_| AtomicU64::new(UNTOLD)).collect(),
            edges,
            told: AtomicUsize::new(0),
            settled_micros: AtomicU64::new(settled.as_micros() as u64),
            fastest,
        }
    }

    /// The auditor's margins for a request sent at `sent` and answered at `done` (real
    /// instants): virtual microseconds before its virtual send instant and after its answer's.
    pub(in crate::live) fn margins(&self, sent: Instant, done: Instant) -> (i64, i64) {
        let settled = Duration::from_micros(self.settled_micros.load(Acquire));
        let m = AUDIT_MARGIN + settled;
        for (edge, took) in self.edges.iter().zip(&self.took) {
            let took = took.load(Acquire);
            let told_at = (took != UNTOLD).then(|| *edge + Duration::from_micros(took));
            // The target decided between send and answer: after the edge, and before it was
            // told, its clock may have kept the old pace.
            if *edge <= done && told_at.is_none_or(|t| t >= sent) {
                // Told, the settled lag is at least as long as the call took.
                let under_way = if told_at.is_some() { Duration::ZERO } else { done.saturating_duration_since(*edge) };
                let wide = ((AUDIT_MARGIN + settled.max(under_way)).as_secs_f64() * 1e6 * self.fastest) as i64;
                return (wide, wide);
            }
        }
        let m = m.as_micros() as i64;
        if self.clock.real_time().is_none() {
            // One pace throughout (most runs): no need to read the clock.
            let v = (m as f64 * self.fastest) as i64;
            return (v, v);
        }
        let before = self.clock.at_offset(sent, 0).micros_since(self.clock.at_offset(sent, -m));
        let after = self.clock.at_offset(done, m).micros_since(self.clock.at_offset(done, 0));
        (before, after)
    }

    /// The widest margin in real time the auditors allowed by `now` (for the report): the
    /// longest call settled, or the time since an edge whose call is still under way (a run
    /// stopped before it was told).
    pub(in crate::live) fn widest(&self, now: Instant) -> Duration {
        let settled = Duration::from_micros(self.settled_micros.load(Acquire));
        let under_way = self.edges.get(self.told()).map_or(Duration::ZERO, |edge| now.saturating_duration_since(*edge));
        AUDIT_MARGIN + settled.max(under_way)
    }

    /// The next edge's calls are done, `took` after the edge.
    fn settle(&self, took: Duration) {
        let micros = took.as_micros() as u64;
        self.settled_micros.fetch_max(micros, Release);
        let k = self.told.load(Acquire);
        if let Some(t) = self.took.get(k) {
            t.store(micros, Release);
            self.told.store(k + 1, Release);
        }
    }

    fn told(&self) -> usize {
        self.told.load(Acquire)
    }
}

/// The edges of `clock`'s real-time stretch that fall inside `spec`'s timeline, when the run
/// sets its targets' clocks (`sync_clock`).
fn edges(spec: &Spec, clock: &VirtualClock, sync_clock: bool) -> VecDeque<SimTime> {
    match (clock.real_time(), sync_clock) {
        (Some((a, b)), true) => [a, b].into_iter().filter(|t| *t > spec.start && *t < spec.end).collect(),
        _ => VecDeque::new(),
    }
}

pub(super) struct Pace {
    /// The edges of the real-time stretch inside the timeline, not yet passed.
    due: VecDeque<SimTime>,
    /// Whether this shard tells the targets (shard 0, or the only one); another learns when
    /// the calls were done from shard 0's file.
    tells: bool,
    lag: Arc<ClockLag>,
    reports: Vec<HookReport>,
}

impl Pace {
    /// The edges of the run's real-time stretch, from the instant `clock` was anchored; the
    /// targets' clocks lag it by up to `settled` (the calls that set them before the load).
    pub(super) fn new(spec: &Spec, clock: &VirtualClock, sync_clock: bool, tells: bool, settled: Duration) -> Pace {
        let due = edges(spec, clock, sync_clock);
        let lag = Arc::new(ClockLag::new(*clock, due.iter().map(|t| clock.real_instant(*t)).collect(), settled));
        Pace { due, tells, lag, reports: Vec::new() }
    }

    /// How far the targets' clocks may lag the run's, for the sending threads' auditors.
    pub(super) fn lag(&self) -> Arc<ClockLag> {
        self.lag.clone()
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
        let edge = self.lag.edges.len() - self.due.len();
        let Some(at) = self.due.pop_front() else { return };
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
        while let Some(took) = sh.pace_told(self.lag.told()) {
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

    /// A stretch of one virtual second at one virtual second per real second, 100 virtual
    /// seconds after the start of a run at 1000x; its edges' real instants.
    fn stretched() -> (VirtualClock, Instant, Instant) {
        let start = SimTime(1_000_000_000_000);
        let stretch = (start.plus_micros(100_000_000), start.plus_micros(101_000_000));
        let clock = VirtualClock::starting_now(start, 1000.0).with_real_time(Some(stretch));
        (clock, clock.real_instant(stretch.0), clock.real_instant(stretch.1))
    }

    fn near(got: (i64, i64), want: i64) {
        assert!((got.0 - want).abs() <= 2 && (got.1 - want).abs() <= 2, "{got:?}, not {want} each side");
    }

    #[test]
    fn the_window_is_real_time_through_the_clock_and_wide_while_a_pace_is_untold() {
        let (clock, e1, e2) = stretched();
        let lag = ClockLag::new(clock, vec![e1, e2], 2 * MS);
        // Before the first edge: 5 ms and the start's round trip, at 1000x.
        near(lag.margins(e1 - 90 * MS, e1 - 80 * MS), 7_000_000);
        // Past it, untold: the target may keep the old pace, as long as since the edge, at the
        // fastest pace.
        near(lag.margins(e1 + 30 * MS, e1 + 40 * MS), 45_000_000);
        // Told 30 ms after the edge: an answer whose window reaches into those 30 ms is judged
        // as widely; one well inside the stretch by real time, 35 ms each side.
        lag.settle(30 * MS);
        near(lag.margins(e1 + 20 * MS, e1 + 50 * MS), 35_000_000);
        near(lag.margins(e1 + 500 * MS, e1 + 510 * MS), 35_000);
        // A window reaching past the stretch's end: 35 ms of real time each side through the
        // clock, part at 1x and part at 1000x.
        let (before, after) = lag.margins(e2 - 20 * MS, e2 - 10 * MS);
        assert_eq!(before, 35_000);
        assert!((after - (10_000 + 25_000_000)).abs() <= 2, "{after}");
        // The second edge, untold, then told quickly: the widest settled stays.
        near(lag.margins(e2 + 80 * MS, e2 + 90 * MS), 95_000_000);
        assert_eq!(lag.widest(e2 + 90 * MS), AUDIT_MARGIN + 90 * MS, "a run stopped now allowed that much");
        lag.settle(3 * MS);
        assert_eq!(lag.widest(e2 + 90 * MS), AUDIT_MARGIN + 30 * MS);
        near(lag.margins(e2 + 5_000 * MS, e2 + 5_010 * MS), 35_000_000);
    }

    /// Another shard does not tell the targets: it learns from shard 0's file when each edge
    /// was told, and until then its window keeps growing from the edge.
    #[test]
    fn another_shard_learns_when_shard_0_told_the_pace() {
        let root = std::env::temp_dir().join(format!("cutover-pace-{}", std::process::id()));
        let (zero, one) = (Shared::new(&root, "r", Some(1), 0, 2).unwrap(), Shared::new(&root, "r", Some(1), 1, 2).unwrap());
        let (clock, e1, e2) = stretched();
        let lag = Arc::new(ClockLag::new(clock, vec![e1, e2], Duration::ZERO));
        let pace = Pace { due: VecDeque::new(), tells: false, lag: lag.clone(), reports: Vec::new() };
        pace.learn(Some(&one));
        near(lag.margins(e1 + 490 * MS, e1 + 500 * MS), 505_000_000);
        zero.publish_pace(0, 40 * MS);
        pace.learn(Some(&one));
        assert_eq!(lag.told(), 1);
        near(lag.margins(e1 + 490 * MS, e1 + 500 * MS), 45_000);
        zero.publish_pace(1, 20 * MS);
        pace.learn(Some(&one));
        assert_eq!((lag.told(), lag.widest(e2 + 90 * MS)), (2, AUDIT_MARGIN + 40 * MS));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
