//! A conditional rollback in a live run: at the decision instant every sending thread has
//! published the figures of its payers; the coordinator decides on their sum (the same rule
//! as the engine's, `report::check::rollback`), tells every system (the run's rules, the in-process
//! models, a `cutover serve` through `POST /v1/admin/rollback`; a deployment reached through
//! a profile is re-suspended by the runbook's hook), and without a rollback drops the
//! hooks of the rollback's phase.

use super::deployment::target::Target;
use super::runbook::Runbook;
use super::shared::{Shared, Verdict};
use super::thread::gauge::Gauge;
use crate::clock::VirtualClock;
use crate::model::Rules;
use crate::report::check::rollback::{Decided, Window, decide, merge};
use crate::scenario::SystemIdx;
use crate::scenario::{RollbackSpec, Spec};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the coordinator waits for a thread's figures past the decision instant.
const WAIT_FOR_THREADS: Duration = Duration::from_secs(2);
/// How long shard 0 waits for the other shards' figures, and they for its decision.
const WAIT_FOR_SHARDS: Duration = Duration::from_secs(10);

/// Who the decision is told to, and with what.
pub(super) struct Deciding<'a> {
    pub targets: &'a [(&'a Target, Option<SystemIdx>)],
    pub admin_token: Option<&'a str>,
    pub clock: &'a VirtualClock,
    pub rules: Option<&'a Rules>,
    /// The other shards of a sharded rehearsal: shard 0 decides on every shard's figures and
    /// tells the systems; the others follow its decision.
    pub shared: Option<&'a Shared>,
}

pub(super) async fn decide_live(spec: &Spec, to: Deciding<'_>, r: &RollbackSpec, gauges: &[Arc<Gauge>], hooks: &mut Runbook) -> Decided {
    let deadline = Instant::now() + WAIT_FOR_THREADS;
    let published = |g: &Gauge| g.rollback.lock().map(|s| s.is_some()).unwrap_or(true);
    while !gauges.iter().all(|g| published(g)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut d = Decided { windows: vec![Window::default(); r.when.len()], late_by_seconds: None, notes: Vec::new() };
    let mut missing = 0;
    for g in gauges {
        match g.rollback.lock().ok().and_then(|s| s.clone()) {
            Some(w) => merge(&mut d.windows, &w),
            None => missing += 1,
        }
    }
    if missing > 0 {
        d.notes.push(format!("{missing} sending threads had not published their figures in time; decided without them"));
    }
    match to.shared {
        Some(sh) if sh.index != 0 => {
            sh.publish_figures(&d.windows);
            match sh.await_verdict(Instant::now() + 2 * WAIT_FOR_SHARDS).await {
                Some(v) => {
                    if let Some(rules) = to.rules {
                        rules.decide_rollback(v.from);
                    }
                    // Learnt after the rollback's phase began: this shard's answers between its
                    // start and now were judged as if not rolled back.
                    let now = to.clock.now();
                    if v.rolled_back && v.from.is_some_and(|f| now > f) {
                        let late = now.micros_since(v.from.unwrap_or(now)) as f64 / 1e6;
                        d.notes
                            .push(format!("shard {}/{}: learnt the rollback {late:.0} virtual seconds after it began", sh.index, sh.count));
                    }
                    if !v.rolled_back {
                        hooks.skip_phase(r.phase, "not run: the reopening's gates passed (no rollback)");
                    }
                }
                None => d.notes.push(format!(
                    "shard {}/{}: shard 0's decision did not come in time; this shard went on without a rollback",
                    sh.index, sh.count
                )),
            }
            return d;
        }
        Some(sh) => {
            let (others, missing) = sh.gather_figures(Instant::now() + WAIT_FOR_SHARDS).await;
            for w in &others {
                merge(&mut d.windows, w);
            }
            if !missing.is_empty() {
                let list: Vec<String> = missing.iter().map(|i| format!("{i}/{}", sh.count)).collect();
                d.notes.push(format!("shard {} had not published its figures in time; decided without them", list.join(", ")));
            }
        }
        None => {}
    }
    let rolled_back = decide(spec, r, &d.windows, None).rolled_back;
    let start = spec.phases[r.phase].start;
    // Suspended from the phase's start, or from now if the decision comes after it (what
    // was decided before stays as it was decided).
    let from = rolled_back.then(|| start.max(to.clock.now()));
    if let Some(f) = from
        && f > start
    {
        d.late_by_seconds = Some(f.micros_since(start) as f64 / 1e6);
    }
    if let Some(sh) = to.shared {
        sh.publish_verdict(Verdict { rolled_back, from });
    }
    if let Some(rules) = to.rules {
        rules.decide_rollback(from);
    }
    for (t, _) in to.targets {
        if let Err(e) = t.decide_rollback(spec, from, to.admin_token).await {
            d.notes.push(e);
        }
    }
    if !rolled_back {
        hooks.skip_phase(r.phase, "not run: the reopening's gates passed (no rollback)");
    }
    d
}
