//! What one generator sends on this machine, for `run --dry-run`'s capacity plan: the
//! scenario's payers sent flat out with the run's threads, connections and queue bound, no
//! hook run and nothing kept, against the in-process model: no network and no server, so an
//! upper bound (over HTTP a generator also spends on its client; `BENCHMARKS.md` measures
//! that against `cutover serve`). Sending flat out over HTTP from the timeline's start does
//! not calibrate: at the scale that saturates it, almost every request overflows the queue
//! bound before any is answered, and the figure measures that churn, not the sending.

use crate::cli::RunArgs;
use crate::live::deployment::target::Target;
use crate::live::run::{RunConfig, TransportKind};
use crate::scenario::Spec;
use std::sync::Arc;
use std::time::Duration;

/// How long the sending of one calibration lasts at least (rounds repeated for a small
/// scenario, whose payers are all done sooner).
const CALIBRATION: Duration = Duration::from_secs(2);

/// Calibration runs at most, per target.
const CALIBRATION_ROUNDS: usize = 30;

/// Requests answered, and the seconds they took.
pub(super) struct Measured {
    pub requests: u64,
    pub seconds: f64,
    /// The sending threads (`--threads`, else one per core).
    pub threads: usize,
}

impl Measured {
    fn per_second(&self) -> f64 {
        (self.requests as f64 / self.seconds.max(1e-6)).round().max(1.0)
    }
}

/// What one generator sends against the in-process model, for up to [`CALIBRATION`]
/// (repeated for a small scenario).
pub(super) fn calibrate(spec: &Arc<Spec>, seed: u64, a: &RunArgs, file: &str) -> anyhow::Result<Measured> {
    rounds(|| round(spec, seed, a, file, Target::model(spec, Default::default())))
}

/// `once` again until [`CALIBRATION`] has been spent sending, at most
/// [`CALIBRATION_ROUNDS`] times, summed.
fn rounds(mut once: impl FnMut() -> anyhow::Result<Measured>) -> anyhow::Result<Measured> {
    let mut sum = Measured { requests: 0, seconds: 0.0, threads: 0 };
    for _ in 0..CALIBRATION_ROUNDS {
        let m = once()?;
        sum.requests += m.requests;
        sum.seconds += m.seconds;
        sum.threads = m.threads;
        if sum.seconds >= CALIBRATION.as_secs_f64() {
            break;
        }
    }
    Ok(sum)
}

/// One calibration run against `target`, sending for [`CALIBRATION`] at most.
fn round(spec: &Arc<Spec>, seed: u64, a: &RunArgs, file: &str, target: Target) -> anyhow::Result<Measured> {
    let out = std::env::temp_dir().join(format!("cutover-calibration-{}", std::process::id()));
    let cfg = RunConfig {
        target,
        new_target: None,
        transport: TransportKind::Http1,
        time_scale: crate::time::MAX_TIME_SCALE,
        connections: a.connections,
        queue_bound: a.queue_bound,
        // Not told, a run takes as many threads as its plan's rate needs, up to the cores:
        // flat out, what it sends at most is with every core.
        threads: Some(a.threads.unwrap_or_else(super::args::cores)),
        timeout: Duration::from_secs(10),
        slack: super::args::slack(a.slack_us)?,
        seed,
        run_id: format!("calibration-{}", std::process::id()),
        out: out.clone(),
        sync_clock: true,
        probe_operations: false,
        admin_token: None,
        progress: false,
        drain: Duration::from_secs(1),
        rebase_now: false,
        allow_other_scenario: true,
        real_time: None,
        hlog: false,
        metrics_addr: None,
        abort: None,
        calibrate: Some(CALIBRATION),
        shard: None,
        start_at: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let output = rt.block_on(crate::live::run::run(spec.clone(), cfg, file));
    let _ = std::fs::remove_dir_all(&out);
    let live = output?.report.and_then(|r| r.live).ok_or_else(|| anyhow::anyhow!("the calibration ran no live load"))?;
    Ok(Measured { requests: live.requests_completed, seconds: live.wall_seconds, threads: live.threads })
}

/// How many generators the plan needs at `time_scale` for the busiest hour's rate (`peak`,
/// requests per second), from what one sends here at most, and the time scale one keeps.
pub(super) fn capacity(m: &Measured, peak: f64, time_scale: f64, a: &RunArgs) -> String {
    let peak = peak.round();
    let sends = m.per_second();
    let needed = (peak / sends).ceil().max(1.0);
    let keeps = (time_scale * sends / peak.max(1.0)).floor().max(1.0);
    format!(
        "capacity: one generator here ({} thread(s), {} connections) sends at most {sends:.0} requests per second ({} requests flat out in {:.2} s against the in-process model: no network and no server, so over HTTP to a deployment it sends fewer)\n\
         capacity: the busiest hour needs {peak:.0} per second at {time_scale}x: {needed:.0} generator(s) at least (`run --shard I/N` on each, `cutover merge` after; README, \"Several generators\"), or one at --time-scale {keeps:.0} at most\n",
        m.threads, a.connections, m.requests, m.seconds,
    )
}
