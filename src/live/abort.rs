//! `--abort-early`: when a run stops its load before the end. A gate that can only get worse
//! is already lost, or most of one system's answers in a recent window were errors; the
//! reason names the gate or the system.

use super::shared::Growing;
use super::thread::shard::Gauge;
use crate::scenario::Spec;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// When `--abort-early` judges a system down or drowning: past `grace` after the start,
/// more than half of its answers in the last `window` were errors.
#[derive(Clone, Copy, Debug)]
pub struct AbortRule {
    pub grace: Duration,
    pub window: Duration,
}

/// Answers needed before `--abort-early` judges: a handful of errors is no verdict.
const ABORT_MIN_ANSWERS: u64 = 20;

/// This process's counts that only grow, summed over its threads.
pub(super) fn growing(gauges: &[Arc<Gauge>]) -> Growing {
    let sum = |f: fn(&Gauge) -> &std::sync::atomic::AtomicU64| gauges.iter().map(|g| f(g).load(Relaxed)).sum::<u64>();
    Growing { accepted_while_suspended: sum(|g| &g.accepted_while_suspended), disagreements: sum(|g| &g.disagreements) }
}

/// Why the load should stop now (`--abort-early`): a gate that can only get worse is
/// already lost (payments accepted while suspended, the auditor's disagreements: at once,
/// no grace); or, past the grace period, most of one system's answers in the recent window
/// are errors (`window`: the threads' totals as the coordinator sampled them).
/// `targets`: each system's address, to name it.
pub(super) fn abort_reason(
    spec: &Spec,
    rule: Option<AbortRule>,
    targets: &[String],
    gauges: &[Arc<Gauge>],
    started: Instant,
    window: &mut AbortWindow,
    others: Growing,
) -> Option<String> {
    let rule = rule?;
    let mine = growing(gauges);
    for g in spec.gates.iter().filter(|g| g.metric.only_grows() && g.operation.is_none() && g.channel.is_none() && g.phase.is_none()) {
        let (here, elsewhere) = match g.metric {
            crate::scenario::GateMetric::AcceptedWhileSuspended => (mine.accepted_while_suspended, others.accepted_while_suspended),
            crate::scenario::GateMetric::AuditorDisagreements => (mine.disagreements, others.disagreements),
            _ => continue,
        };
        let so_far = here + elsewhere;
        if so_far as f64 > g.max {
            let name = crate::report::check::gates::gate_result(spec, g, so_far as f64, Some(1)).name();
            let count = match elsewhere {
                0 => format!("{so_far} so far"),
                _ => format!("{so_far} so far in all shards ({here} in this one)"),
            };
            return Some(format!("the gate {name} is already lost: {count}, and it can only grow"));
        }
    }
    let now = Instant::now();
    let (answers, errors) = per_system(gauges);
    let (span, d_answers, d_errors) = window.slide(now, answers, errors, rule.window);
    if now.duration_since(started) < rule.grace {
        return None;
    }
    if let Some(system) = failing_system(d_answers, d_errors, spec.system_names().len()) {
        let (a, e) = (d_answers[system], d_errors[system]);
        {
            let who = match spec.cutover {
                Some(_) => format!("the {} system ({})", spec.system_names()[system], targets.get(system).map_or("", |t| t.as_str())),
                None => format!("the target ({})", targets.first().map_or("", |t| t.as_str())),
            };
            return Some(format!(
                "{e} of the {a} answers from {who} in the last {:.0} s were errors (more than half): it is down or drowning \
                 (the report's failures table says which requests failed and how)",
                span.as_secs_f64()
            ));
        }
    }
    None
}

/// The first system of `systems` most of whose answers (of enough) were errors.
fn failing_system(answers: [u64; 2], errors: [u64; 2], systems: usize) -> Option<usize> {
    (0..systems.min(2)).find(|&s| answers[s] >= ABORT_MIN_ANSWERS && errors[s] * 2 > answers[s])
}

/// Every thread's answers and errors so far, per system.
fn per_system(gauges: &[Arc<Gauge>]) -> ([u64; 2], [u64; 2]) {
    let (mut answers, mut errors) = ([0u64; 2], [0u64; 2]);
    for g in gauges {
        for s in 0..2 {
            answers[s] += g.answers[s].load(Relaxed);
            errors[s] += g.failed[s].load(Relaxed);
        }
    }
    (answers, errors)
}

/// The totals the coordinator sampled lately, for judging a recent window of answers.
#[derive(Default)]
pub(super) struct AbortWindow {
    samples: std::collections::VecDeque<(Instant, [u64; 2], [u64; 2])>,
}

impl AbortWindow {
    /// Note the totals at `now`; the span judged (at most `window`, back to the newest sample
    /// at least that old) and the answers and errors per system within it.
    fn slide(&mut self, now: Instant, answers: [u64; 2], errors: [u64; 2], window: Duration) -> (Duration, [u64; 2], [u64; 2]) {
        self.samples.push_back((now, answers, errors));
        // Keep one sample at or before the window's start as its baseline.
        while self.samples.len() > 1 && self.samples.get(1).is_some_and(|s| now.duration_since(s.0) >= window) {
            self.samples.pop_front();
        }
        let (t0, a0, e0) = self.samples.front().copied().unwrap_or((now, answers, errors));
        let d = |x: [u64; 2], y: [u64; 2]| [x[0].saturating_sub(y[0]), x[1].saturating_sub(y[1])];
        (now.duration_since(t0), d(answers, a0), d(errors, e0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a system that failed after many good answers was judged on the whole run
    /// so far, and noticed as late again; the window sees only the recent answers.
    #[test]
    fn a_late_death_among_many_good_answers_is_judged_on_the_window() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let window = Duration::from_secs(30);
        let mut w = AbortWindow::default();
        // 20 minutes of good answers from the new system, sampled every 10 s.
        for i in 0..=120u64 {
            w.slide(at(i * 10), [0, i * 1000], [0, 0], window);
        }
        // Then it dies: every answer an error, 100 a second, for 30 s.
        let (good, mut bad) = (120_000u64, 0u64);
        for i in 1..=3u64 {
            bad = i * 1000;
            let (span, a, e) = w.slide(at(1200 + i * 10), [0, good + bad], [0, bad], window);
            if i == 3 {
                assert_eq!(span, window);
                assert_eq!((a[1], e[1]), (3000, 3000));
                assert_eq!(failing_system(a, e, 2), Some(1), "caught within the window");
            }
        }
        // Judged on the whole run so far it would not be.
        assert_eq!(failing_system([0, good + bad], [0, bad], 2), None);
        // Few answers are no verdict; the old system is judged apart.
        assert_eq!(failing_system([5, 0], [5, 0], 2), None);
        assert_eq!(failing_system([100, 100], [60, 0], 2), Some(0));
        assert_eq!(failing_system([100, 100], [0, 60], 1), None, "one system: only the first");
    }
}
