//! A conditional rollback in a live run: at the decision instant every sending thread has
//! published the figures of its payers; the coordinator decides on their sum (the same rule
//! as the engine's, `report::check::rollback`), tells every system (the run's rules, the in-process
//! models, a `cutover serve` through `POST /v1/admin/rollback`; a deployment reached through
//! a profile is re-suspended by the runbook's hook), and without a rollback drops the
//! hooks of the rollback's phase.

use super::deployment::target::Target;
use super::runbook::Runbook;
use super::thread::gauge::Gauge;
use crate::clock::VirtualClock;
use crate::model::Rules;
use crate::report::check::rollback::{RollbackDecision, Window, decide, merge};
use crate::scenario::SystemIdx;
use crate::scenario::{RollbackSpec, Spec};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the coordinator waits for a thread's figures past the decision instant.
const WAIT_FOR_THREADS: Duration = Duration::from_secs(2);

pub(super) async fn decide_live(
    spec: &Spec,
    targets: &[(&Target, Option<SystemIdx>)],
    admin_token: Option<&str>,
    clock: &VirtualClock,
    r: &RollbackSpec,
    gauges: &[Arc<Gauge>],
    rules: Option<&Rules>,
    hooks: &mut Runbook,
) -> RollbackDecision {
    let deadline = Instant::now() + WAIT_FOR_THREADS;
    let published = |g: &Gauge| g.rollback.lock().map(|s| s.is_some()).unwrap_or(true);
    while !gauges.iter().all(|g| published(g)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut windows: Vec<Window> = vec![Window::default(); r.when.len()];
    let mut missing = 0;
    for g in gauges {
        match g.rollback.lock().ok().and_then(|s| s.clone()) {
            Some(w) => merge(&mut windows, &w),
            None => missing += 1,
        }
    }
    let mut d = decide(spec, r, &windows, None);
    if missing > 0 {
        d.notes.push(format!("{missing} sending threads had not published their figures in time; decided without them"));
    }
    let start = spec.phases[r.phase].start;
    // Suspended from the phase's start, or from now if the decision comes after it (what
    // was decided before stays as it was decided).
    let from = d.rolled_back.then(|| start.max(clock.now()));
    if let Some(f) = from
        && f > start
    {
        d.late_by_seconds = Some(f.micros_since(start) as f64 / 1e6);
    }
    if let Some(rules) = rules {
        rules.decide_rollback(from);
    }
    for (t, _) in targets {
        if let Err(e) = t.decide_rollback(spec, from, admin_token).await {
            d.notes.push(e);
        }
    }
    if !d.rolled_back {
        hooks.skip_phase(r.phase, "not run: the reopening's gates passed (no rollback)");
    }
    d
}
