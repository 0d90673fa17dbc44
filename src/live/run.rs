//! `cutover run`: replay the scenario's demand in real time, compressed by the time
//! scale, open loop, against an HTTP target or the in-process model.
//!
//! The coordinator (the caller's thread) sets the target's clock, splits the payers and
//! the connections among the driver's threads ([`super::shard`]: each sends its payers'
//! requests on its own connections and accounts for the answers, with nothing passed
//! between threads per request), runs the phase hooks at their instants, shows progress,
//! and on Ctrl-C tells the threads to stop. At the end it merges what the threads
//! recorded and reconciles the journal against the target's books.

pub use super::abort::AbortRule;
use super::abort::{AbortWindow, abort_reason};
use super::deployment::target::{PreflightConfig, Target, client_for};
use super::findings::{complete_from_journal, driver_lateness, mark_driver_late, since, unreadable};
use super::merged::{Merged, merge};
use super::pace::Pace;
use super::progress::Progress;
use super::runbook::Runbook;
use super::switching::Switching;
use super::thread::journal::Journal;
use super::thread::shard::{self, Gauge, Plan};
use crate::clock::VirtualClock;
use crate::cohort::Members;
use crate::demand::{Cast, Demand};
use crate::model::{IdemKey, Request};
use crate::population::Population;
use crate::report::data::live::{LiveReport, Reconciliation};
use crate::scenario::{NEW, OLD, Spec, SystemIdx};
use crate::time::SimTime;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

pub use super::thread::transport::TransportKind;

pub struct RunConfig {
    /// The target; for a cutover, the old system's (or, in process, both systems).
    pub target: Target,
    /// A cutover's new system over HTTP (`--new`).
    pub new_target: Option<Target>,
    pub transport: TransportKind,
    pub time_scale: f64,
    pub connections: usize,
    pub queue_bound: usize,
    /// Threads sending requests (each with its share of payers and connections); at most
    /// one per connection.
    pub threads: usize,
    pub timeout: Duration,
    pub seed: u64,
    /// This run's name: in its idempotency keys, the report and a hook's `{run}`.
    pub run_id: String,
    pub out: PathBuf,
    /// Tell the target the run's virtual clock through `POST /v1/admin/clock`.
    pub sync_clock: bool,
    /// Before the load, try each operation of a profile once, changing nothing.
    pub probe_operations: bool,
    pub admin_token: Option<String>,
    /// Progress display on standard error.
    pub progress: bool,
    /// How long to wait for answers in flight after the end or an interrupt.
    pub drain: Duration,
    /// The target keeps real time (`--rebase-now`): instants it states (reopening, record
    /// visibility, acceptance) are wall-clock instants, mapped onto the run's virtual timeline.
    pub rebase_now: bool,
    /// Run although a `cutover serve` target runs other rules.
    pub allow_other_scenario: bool,
    /// A stretch of the timeline (from, until) run at one virtual second per real second,
    /// the rest at `time_scale` (`--real-time`).
    pub real_time: Option<(SimTime, SimTime)>,
    /// Keep the latency histograms whole in the report, for HdrHistogram interval logs.
    pub hlog: bool,
    /// Serve the run's figures as Prometheus text at http://ADDR/metrics while it runs.
    pub metrics_addr: Option<String>,
    /// `--abort-early`: when most of a system's recent answers are errors.
    pub abort: Option<AbortRule>,
    /// A calibration (`run --dry-run`): send for this long, run no hook, then stop and drain.
    pub calibrate: Option<Duration>,
}

impl RunConfig {
    /// The target a request to `system` goes to.
    pub(crate) fn target_for(&self, system: SystemIdx) -> &Target {
        match (&self.new_target, system) {
            (Some(t), NEW) => t,
            _ => &self.target,
        }
    }

    /// Each distinct target once, with the system it is given for (`None`: every system).
    pub(super) fn targets(&self) -> Vec<(&Target, Option<SystemIdx>)> {
        match &self.new_target {
            Some(n) => vec![(&self.target, Some(OLD)), (n, Some(NEW))],
            None => vec![(&self.target, None)],
        }
    }
}

pub struct RunOutput {
    pub report: crate::report::Report,
    pub interrupted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Target(String),
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// CPU time (user + system) of this process so far, from /proc (Linux); None elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    // Linux reports clock ticks of 1/100 s on every common configuration (USER_HZ).
    Some((utime + stime) / 100.0)
}

/// `n` split into `parts` near-equal shares, larger first.
fn split(n: usize, parts: usize) -> impl Iterator<Item = usize> {
    (0..parts).map(move |i| n / parts + usize::from(i < n % parts))
}

/// The auditor's window is widened by this much real time (clock skew, scheduling), besides
/// the clock call's round trip (how far the target's clock may lag).
const AUDIT_MARGIN: Duration = Duration::from_millis(5);
/// How often the coordinator refreshes the progress display.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Acknowledged payments looked up one by one at most; beyond it the reconciliation says
/// it was not by key (`checked_by_key: false`) and relies on the ledger's counts.
const KEY_CHECK_LIMIT: usize = 200_000;

/// What the threads start with, and what the report needs of the setup.
struct Setup {
    demand: Arc<Demand>,
    plans: Vec<Plan>,
    sync_rtt: Option<Duration>,
    margin_real: Duration,
    journal_path: PathBuf,
    connections: usize,
    threads: usize,
    /// The ids of the payments each system held before the load (cutover runs).
    /// The ids of the payments each system held before the load, when its books can be read
    /// in bulk (always for a cutover run).
    baseline: Option<Vec<crate::hash::FastSet<u64>>>,
    /// The systems' maintenance switches, set before the load.
    switching: Option<Switching>,
}

/// How the sending went, as the coordinator saw it.
struct Driven {
    parts: Vec<shard::Output>,
    hooks: Runbook,
    switching: Switching,
    /// The targets' clocks told the run's pace at the edges of its real-time stretch.
    paced: Vec<crate::report::data::live::HookReport>,
    /// A conditional rollback's go / no-go, if the run reached it.
    rollback: Option<crate::report::RollbackDecision>,
    interrupted: bool,
    /// Why the load was stopped early (`--abort-early`).
    aborted: Option<String>,
    /// The timeline's instant the load reached: its end, or where it was stopped.
    reached: SimTime,
    wall_seconds: f64,
    cpu_seconds: Option<f64>,
}

pub async fn run(spec: Arc<Spec>, cfg: RunConfig, scenario_file: &str) -> Result<RunOutput, RunError> {
    let mut setup = set_up(&spec, &cfg).await?;
    let plans = std::mem::take(&mut setup.plans);
    let switching = setup.switching.take().unwrap_or_else(|| Switching::new(&spec, setup.demand.rules.clone(), Vec::new()));
    let driven = drive(&spec, &cfg, plans, switching, scenario_file).await?;
    let mut hook_reports = driven.hooks.finish(&spec).await;
    hook_reports.extend(driven.switching.finish(&spec).await);
    hook_reports.extend(driven.paced);
    let mut merged = merge(&spec, &setup.demand, driven.parts, setup.journal_path.display().to_string());
    merged.recorder.rollback_decision = driven.rollback;
    let (rec, actual, cutover) = match &setup.baseline {
        Some(baseline) => reconcile_books(&cfg, &spec, &mut merged, baseline, driven.reached).await,
        None => {
            let (rec, actual) = reconcile(&cfg.target, &spec, &mut merged).await;
            (rec, actual, None)
        }
    };
    let batches = merged.batches.iter().map(|b| b.report(&spec)).collect();
    let mut report = crate::report::check::build::build(crate::report::check::build::BuildInput {
        spec: &spec,
        scenario_file,
        mode: crate::report::Mode::Run,
        seed: cfg.seed,
        recorder: &merged.recorder,
        stats: &merged.stats,
        batches,
        actual_ledger: actual,
        audit: Some(&merged.audit),
        cutover,
        keep_histograms: cfg.hlog,
        reached: driven.reached,
    });
    let wall = driven.wall_seconds;
    let completed = merged.completed;
    report.live = Some(LiveReport {
        run_id: cfg.run_id.clone(),
        target: match &cfg.new_target {
            Some(n) => format!("{} (old), {} (new)", cfg.target.label(), n.label()),
            None => cfg.target.label(),
        },
        transport: super::thread::transport_name(&cfg.target, cfg.transport).into(),
        time_scale: cfg.time_scale,
        connections: setup.connections,
        threads: setup.threads,
        queue_bound: cfg.queue_bound,
        interrupted: driven.interrupted,
        aborted: driven.aborted.clone(),
        reached: driven.reached.format(spec.calendar.offset),
        wall_seconds: (wall * 1000.0).round() / 1000.0,
        requests_completed: completed,
        requests_per_second: (completed as f64 / wall.max(1e-9)).round(),
        client_cpu_seconds: driven.cpu_seconds.map(|c| (c * 100.0).round() / 100.0),
        client_cpu_micros_per_request: driven
            .cpu_seconds
            .filter(|_| completed > 0)
            .map(|c| (c * 1e6 / completed as f64 * 10.0).round() / 10.0),
        response_time_ms: crate::report::check::latency::latency(&merged.response_all),
        service_time_ms: crate::report::check::latency::latency(&merged.service_all),
        response_time_distribution: crate::report::check::latency::distribution(&merged.response_all),
        service_time_distribution: crate::report::check::latency::distribution(&merged.service_all),
        not_sent: merged.not_sent,
        clock_sync_round_trip_ms: setup.sync_rtt.map(|d| (d.as_secs_f64() * 1e5).round() / 100.0),
        audit_margin_ms: (setup.margin_real.as_secs_f64() * 1e5).round() / 100.0,
        driver_lateness: driver_lateness(&spec, &merged.lateness),
        errors_by_kind: merged.recorder.errors_by_kind.clone(),
        failures: std::mem::take(&mut merged.failures).rows(&spec, &cfg.admin_token.as_deref().into_iter().collect::<Vec<_>>()),
        journal: merged.journal,
        reconciliation: rec,
        audit: merged.audit,
        hooks: hook_reports,
    });
    mark_driver_late(&mut report);
    report.wrong_payments = crate::report::check::wrong::collect(&report);
    complete_from_journal(&mut report.wrong_payments, &setup.journal_path);
    crate::report::check::gates::live_gates(&spec, &mut report);
    report.verdict = crate::report::check::verdicts::verdict(&report);
    if let Some(e) = merged.journal_error {
        return Err(RunError::Io { path: setup.journal_path.display().to_string(), source: std::io::Error::other(e) });
    }
    Ok(RunOutput { report, interrupted: driven.interrupted })
}

/// Check the target, set its clock, deal the payers and connections among the threads.
async fn set_up(spec: &Arc<Spec>, cfg: &RunConfig) -> Result<Setup, RunError> {
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| RunError::Io { path, source }
    };
    std::fs::create_dir_all(&cfg.out).map_err(io(&cfg.out))?;
    let scale = cfg.time_scale;
    let target = &cfg.target;
    // The clock of the checks; the run's own starts when the threads are ready ([`drive`]),
    // and every copy made here is replaced by it then.
    let clock = VirtualClock::starting_now(spec.start, scale).with_real_time(cfg.real_time);
    let checks = PreflightConfig {
        clock: &clock,
        sync_clock: cfg.sync_clock,
        admin_token: cfg.admin_token.as_deref(),
        allow_other_scenario: cfg.allow_other_scenario,
        probe_operations: cfg.probe_operations,
    };
    let mut sync_rtt: Option<Duration> = None;
    for (t, system) in cfg.targets() {
        if let (Some(x), Some(system)) = (&spec.cutover, system) {
            let name = &x.systems[system as usize].name;
            t.check_role(name).await.map_err(|e| RunError::Target(format!("--{}: {e}", if system == OLD { "old" } else { "new" })))?;
        }
        let rtt = t.preflight(spec, &checks).await.map_err(RunError::Target)?.clock_round_trip;
        sync_rtt = sync_rtt.max(rtt);
    }
    // The books before the load: a deployment holds payments already, and a second run
    // meets the first's; the reconciliation and the checks count only what this run added.
    // A cutover run needs them; a run of one system uses them when the target has the
    // contract's export (else it reconciles key by key, as targets without one allow).
    let demand = Arc::new(Demand::new(spec.clone(), cfg.seed).for_run(&cfg.run_id));
    let population = Population::new(spec, cfg.seed);
    let members = Members::all(spec, Cast::new(&demand, &population));
    // A deployment that does not follow the run's clock is switched as the timeline's start
    // has it, before anything is read or sent.
    let switchers = (0..spec.system_names().len() as SystemIdx)
        .filter_map(|s| {
            let name = spec.system_names()[s as usize].to_string();
            cfg.target_for(s).switcher(&name, cfg.sync_clock, cfg.admin_token.as_deref()).map(|sw| (s, sw))
        })
        .collect();
    let mut switching = Switching::new(spec, demand.rules.clone(), switchers);
    switching.before_load(spec).await.map_err(RunError::Target)?;
    let payers: crate::hash::FastSet<crate::population::PayerId> = members.payers().map(|p| p.id).collect();
    let mut baseline = Some(Vec::new());
    let mut found = Vec::new();
    for system in 0..spec.system_names().len() as SystemIdx {
        let target = cfg.target_for(system);
        match target.books(spec, system, cfg.admin_token.as_deref()).await {
            Ok(rows) => {
                // The new system of a cutover gets its registrations by the migration: ones
                // it holds already were an earlier run's.
                let registrations = match spec.cutover.is_some() && system == NEW {
                    true => target.registrations(spec, system, cfg.admin_token.as_deref()).await.unwrap_or_default(),
                    false => Vec::new(),
                };
                let held = super::leftovers::held(&payers, &rows, &registrations);
                let name = match spec.cutover {
                    Some(_) => format!("the {} system ({})", spec.system_names()[system as usize], target.label()),
                    None => format!("the target ({})", target.label()),
                };
                found.push((name, held));
                if let Some(b) = baseline.as_mut() {
                    b.push(rows.into_iter().map(|r| r.payment).collect());
                }
            }
            // A deployment reached through a profile has no export the tool can read: the
            // run goes on, and its checks come from the deployment's own export files given to
            // `cutover reconcile` afterwards (the report's cutover section says so).
            Err(e) if spec.cutover.is_some() => {
                if cfg.progress {
                    eprintln!(
                        "{}",
                        crate::secrets::redact(&format!("note: the {} system's books: {e}", spec.system_names()[system as usize]))
                    );
                }
                if let Some(b) = baseline.as_mut() {
                    b.push(crate::hash::FastSet::default());
                }
            }
            Err(e) => {
                if cfg.progress {
                    eprintln!(
                        "{}",
                        crate::secrets::redact(&format!(
                            "note: the target's payments cannot be read in bulk ({e}): an earlier run's are not looked for"
                        ))
                    );
                }
                baseline = None
            }
        }
    }
    // A cutover's checks cannot tell an earlier run's payments and registrations from this
    // run's (the same payers, refused as already paid, the migration's batches replays):
    // refused. One system's reconciliation counts what changed during this run, and this
    // run's keys are its own: a note, for a deployment that refuses a second payment for a
    // month.
    if let Some(refusal) = super::leftovers::refusal(&found) {
        if spec.cutover.is_some() {
            return Err(RunError::Target(refusal));
        }
        if cfg.progress {
            eprintln!("note: {}", super::leftovers::note(&found));
        }
    }
    // The old system of a cutover holds the registrations of the rehearsal's payers before
    // the load (the migration moves them to the new one).
    if spec.cutover.is_some() {
        let payers: Vec<_> = members.payers().collect();
        let old = cfg.target_for(OLD);
        match old.register(spec, &payers, cfg.admin_token.as_deref()).await {
            Ok(n) if cfg.progress => eprintln!("registrations: {n} of {} payers registered in the old system", payers.len()),
            Ok(_) => {}
            // A deployment reached through a profile keeps its own registrations.
            Err(e) if old.keeps_own_registrations() => {
                if cfg.progress {
                    eprintln!("note: {}", crate::secrets::redact(&e));
                }
            }
            Err(e) => return Err(RunError::Target(format!("--old: the registrations before the load: {e}"))),
        }
    }
    let connections = cfg.connections.max(1);
    let threads = cfg.threads.clamp(1, connections);
    // One reqwest client per system (its TLS trust and headers), shared by the threads.
    let shared_reqwest: Vec<reqwest::Client> = (0..spec.system_names().len() as SystemIdx)
        .map(|s| match cfg.target_for(s) {
            Target::Http { base, api, .. } => client_for(base, api, cfg.timeout),
            Target::Model(_) => super::deployment::target::client(cfg.timeout),
        })
        .collect();
    let ctx = super::thread::call_ctx(target, spec, cfg.timeout, clock, cfg.rebase_now);
    let margin_real = AUDIT_MARGIN + sync_rtt.unwrap_or_default();
    let margin = (margin_real.as_secs_f64() * 1e6 * scale) as i64;
    let journal = Journal::create(&cfg.out).map_err(io(&cfg.out.join("journal.jsonl")))?;
    let journal_path = journal.path.clone();
    // Payers' agents dealt round-robin among the threads; the batch debits to the first.
    let plans = split(connections, threads)
        .zip(split(cfg.queue_bound, threads))
        .zip(members.deal(threads))
        .enumerate()
        .map(|(thread, ((n, queue), members))| Plan {
            thread: (thread, threads),
            spec: spec.clone(),
            demand: demand.clone(),
            clock,
            members,
            conns: thread_connections(cfg, spec, n, clock, &shared_reqwest),
            ctx: ctx.clone(),
            capacity: n + queue,
            journal: journal.share(),
            margin_micros: margin,
            drain: cfg.drain,
            switches: switching.board(),
        })
        .collect();
    Ok(Setup { demand, plans, sync_rtt, margin_real, journal_path, connections, threads, baseline, switching: Some(switching) })
}

/// A thread's `n` connections to each system of the scenario.
fn thread_connections(cfg: &RunConfig, spec: &Spec, n: usize, clock: VirtualClock, shared: &[reqwest::Client]) -> shard::Conns {
    let mut all: Option<shard::Conns> = None;
    for system in 0..spec.system_names().len() as SystemIdx {
        let c = super::thread::connections(cfg.target_for(system), n, cfg.transport, clock, &shared[system as usize], system);
        all = Some(match (all, c) {
            (None, c) => c,
            (Some(shard::Conns::Http1(mut a)), shard::Conns::Http1(b)) => {
                a.extend(b);
                shard::Conns::Http1(a)
            }
            (Some(shard::Conns::Tasks(mut a)), shard::Conns::Tasks(b)) => {
                a.extend(b);
                shard::Conns::Tasks(a)
            }
            // The two systems' targets are both HTTP or both the model: one kind.
            (Some(a), _) => a,
        });
    }
    all.unwrap_or(shard::Conns::Tasks(Vec::new()))
}

/// Start the threads together, run the hooks and the progress display while they send,
/// tell them to stop on Ctrl-C, and collect what they did.
async fn drive(
    spec: &Arc<Spec>,
    cfg: &RunConfig,
    plans: Vec<Plan>,
    mut switching: Switching,
    scenario_file: &str,
) -> Result<Driven, RunError> {
    let vars = hook_vars(cfg, scenario_file);
    let in_process = !cfg.target.is_http();
    let mut hooks = Runbook::new(spec, vars, in_process);
    if cfg.calibrate.is_some() {
        for phase in 0..spec.phases.len() {
            hooks.skip_phase(phase, "not run: a calibration");
        }
    }
    // A conditional rollback, decided on every thread's figures at its instant.
    let rules = plans.first().map(|p| p.demand.rules.clone());
    let mut rollback = spec.cutover.as_ref().and_then(|x| x.rollback.clone()).filter(|r| r.conditional());
    let mut decision = None;
    let Threads { gauges, results, handles, gate } = start_threads(cfg, plans)?;
    let metrics = match serve_metrics(cfg, spec, &gauges).await {
        Ok(m) => m,
        Err(e) => {
            stop_all(&gauges);
            gate.open(None);
            return Err(e);
        }
    };
    // Warm: the payers built, the connections open. The timeline starts now, not when the
    // set-up began (at 1440x each second of set-up would be 24 minutes of requests due at
    // once), and the targets' clocks are set to it again.
    let clock = VirtualClock::starting_now(spec.start, cfg.time_scale).with_real_time(cfg.real_time);
    let checks = PreflightConfig {
        clock: &clock,
        sync_clock: cfg.sync_clock,
        admin_token: cfg.admin_token.as_deref(),
        allow_other_scenario: true,
        probe_operations: false,
    };
    for (t, _) in cfg.targets() {
        if let Err(e) = t.set_clock(spec, &checks).await {
            stop_all(&gauges);
            gate.open(None);
            return Err(RunError::Target(e));
        }
    }
    let clock = &clock;
    gate.open(Some(*clock));
    let mut pace = Pace::new(spec, clock, cfg.sync_clock);
    let targets: Vec<&Target> = cfg.targets().into_iter().map(|(t, _)| t).collect();
    let started = Instant::now();
    let cpu_at_start = cpu_seconds();
    let mut progress = Progress::new(cfg.progress, spec);
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    let mut aborted: Option<String> = None;
    let mut abort_window = AbortWindow::default();
    let labels: Vec<String> = (0..spec.system_names().len() as SystemIdx).map(|s| cfg.target_for(s).label()).collect();
    let mut stopped_at: Option<SimTime> = None;
    let all_done = futures_util::future::join_all(results);
    tokio::pin!(all_done);
    let calibrated = cfg.calibrate.map(|d| tokio::time::Instant::from_std(started + d));
    let outputs = loop {
        let next_hook = hooks.next_due(clock).map(tokio::time::Instant::from_std);
        let next_switch = switching.next_due(clock).map(tokio::time::Instant::from_std);
        let next_pace = pace.next_due(clock).map(tokio::time::Instant::from_std);
        let next_decision = rollback.as_ref().map(|r| tokio::time::Instant::from_std(clock.real_instant(r.decide_at)));
        tokio::select! {
            biased;
            _ = &mut ctrl_c, if !interrupted => {
                // The threads stop sending and wait a bounded time for answers in flight.
                interrupted = true;
                stopped_at.get_or_insert(clock.now());
                stop_all(&gauges);
            }
            outs = &mut all_done => break outs,
            _ = tokio::time::sleep_until(calibrated.unwrap_or_else(tokio::time::Instant::now)), if calibrated.is_some() && stopped_at.is_none() => {
                stopped_at = Some(clock.now());
                stop_all(&gauges);
            }
            _ = tokio::time::sleep_until(next_hook.unwrap_or_else(tokio::time::Instant::now)), if next_hook.is_some() && !interrupted => {
                hooks.start_due(spec, clock, started);
            }
            _ = tokio::time::sleep_until(next_switch.unwrap_or_else(tokio::time::Instant::now)), if next_switch.is_some() && !interrupted => {
                switching.start_due(spec, clock, started);
            }
            _ = tokio::time::sleep_until(next_pace.unwrap_or_else(tokio::time::Instant::now)), if next_pace.is_some() && !interrupted => {
                pace.tell(spec, &targets, &checks, started).await;
            }
            _ = tokio::time::sleep_until(next_decision.unwrap_or_else(tokio::time::Instant::now)), if next_decision.is_some() && !interrupted => {
                if let Some(r) = rollback.take() {
                    decision = Some(super::rollback::decide_live(spec, &cfg.targets(), cfg.admin_token.as_deref(), clock, &r, &gauges, rules.as_deref(), &mut hooks).await);
                }
            }
            _ = tick.tick() => {
                progress.update(spec, &gauges, clock, started);
                if aborted.is_none() && !interrupted && let Some(reason) = abort_reason(spec, cfg.abort, &labels, &gauges, started, &mut abort_window) {
                    eprintln!("aborting: {}", crate::secrets::redact(&reason));
                    aborted = Some(reason);
                    stopped_at.get_or_insert(clock.now());
                    stop_all(&gauges);
                }
            }
        }
    };
    for h in handles {
        let _ = h.join();
    }
    if let Some(m) = metrics {
        m.abort();
    }
    progress.finish();
    let wall_seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_at_start.zip(cpu_seconds()).map(|(a, b)| b - a);
    let mut parts = Vec::with_capacity(outputs.len());
    for o in outputs {
        parts.push(o.map_err(|_| RunError::Target("a sending thread failed".into()))?);
    }
    let reached = stopped_at.map_or(spec.end, |t| t.min(spec.end));
    let paced = pace.finish(spec);
    Ok(Driven { parts, hooks, switching, paced, rollback: decision, interrupted, aborted, reached, wall_seconds, cpu_seconds: cpu })
}

/// What a hook may name: this binary, the scenario file, the run's targets, the output
/// directory, and a name unique to this run (for a hook's own state files).
fn hook_vars(cfg: &RunConfig, scenario_file: &str) -> Vec<(String, String)> {
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "cutover".into());
    vec![
        ("{cutover}".to_string(), exe),
        ("{scenario}".to_string(), scenario_file.to_string()),
        ("{target}".to_string(), cfg.target.label()),
        ("{old}".to_string(), cfg.target_for(OLD).label()),
        ("{new}".to_string(), cfg.target_for(NEW).label()),
        ("{out}".to_string(), cfg.out.display().to_string()),
        ("{run}".to_string(), cfg.run_id.clone()),
    ]
}

/// The sending threads, started and ready, waiting at their gate.
struct Threads {
    gauges: Vec<Arc<Gauge>>,
    results: Vec<tokio::sync::oneshot::Receiver<shard::Output>>,
    handles: Vec<std::thread::JoinHandle<()>>,
    gate: Arc<shard::StartGate>,
}

/// Tell every sending thread to stop sending.
fn stop_all(gauges: &[Arc<Gauge>]) {
    for g in gauges {
        g.stop.store(true, Relaxed);
    }
}

/// Start a thread per plan; each sets itself up first, then waits at the gate, so the wall
/// time and CPU of the run count from when all of them are ready to send.
fn start_threads(cfg: &RunConfig, plans: Vec<Plan>) -> Result<Threads, RunError> {
    let mut gauges = Vec::new();
    let mut results = Vec::new();
    let mut handles = Vec::new();
    let gate = Arc::new(shard::StartGate::default());
    let n = plans.len();
    for (i, plan) in plans.into_iter().enumerate() {
        let gauge = Arc::new(Gauge::default());
        gauge.wants_latency.store(cfg.progress, Relaxed);
        gauge.wants_metrics.store(cfg.metrics_addr.is_some(), Relaxed);
        match shard::start(format!("cutover-run-{i}"), plan, gauge.clone(), gate.clone()) {
            Ok((rx, handle)) => {
                gauges.push(gauge);
                results.push(rx);
                handles.push(handle);
            }
            Err(e) => {
                // The threads already started stop at once.
                stop_all(&gauges);
                gate.open(None);
                return Err(RunError::Target(format!("cannot start a sending thread: {e}")));
            }
        }
    }
    gate.wait_ready(n);
    Ok(Threads { gauges, results, handles, gate })
}

/// The Prometheus endpoint (`--metrics-addr`), if asked for.
async fn serve_metrics(cfg: &RunConfig, spec: &Arc<Spec>, gauges: &[Arc<Gauge>]) -> Result<Option<tokio::task::JoinHandle<()>>, RunError> {
    let Some(addr) = &cfg.metrics_addr else { return Ok(None) };
    let l = tokio::net::TcpListener::bind(addr.as_str())
        .await
        .map_err(|e| RunError::Target(format!("--metrics-addr {addr}: cannot listen there: {e}")))?;
    if let Ok(a) = l.local_addr() {
        eprintln!("metrics at http://{a}/metrics");
    }
    Ok(Some(super::metrics::serve(l, spec.clone(), Arc::new(gauges.to_vec()))))
}

/// Ask the target for the keys the reconciliation needs, read its ledger, and let
/// [`crate::report::check::reconcile::by_key`] say what the answers mean.
async fn reconcile(target: &Target, spec: &Spec, m: &mut Merged) -> (Reconciliation, Result<super::deployment::target::Ledger, String>) {
    let mut unknown = Vec::with_capacity(m.unknown_reqs.len());
    for req in &m.unknown_reqs {
        if let Some(key) = contract_key(req) {
            unknown.push((req.clone(), OLD, target.holds(key).await));
        }
    }
    let acknowledged = if m.recorder.acknowledged().len() <= KEY_CHECK_LIMIT {
        let mut keys: Vec<IdemKey> = m.recorder.acknowledged().iter().copied().collect();
        keys.sort();
        let mut answers = Vec::with_capacity(keys.len());
        for key in keys {
            let held = target.holds(key).await;
            let failed = held.is_err();
            answers.push((key, held));
            // A target that cannot answer one lookup will not answer the next ones either.
            if failed {
                break;
            }
        }
        Some(answers)
    } else {
        None
    };
    let actual = target.ledger(spec).await.map_err(|e| format!("the target ({}): {e}{}", target.label(), since(spec, m.last_good[0])));
    let lookups = crate::report::check::reconcile::Lookups { unknown, acknowledged };
    let rec = crate::report::check::reconcile::by_key(&mut m.recorder, lookups, actual.as_ref().ok());
    (rec, actual)
}

/// The reconciliation from the systems' books read in bulk (every payment each holds): the
/// ledger from the payments each system took itself during this run (those it held before
/// the load count only if this run acknowledged their key, a replay), every acknowledged key
/// and every payment of unknown outcome looked up in them, with no limit, and for a cutover
/// the cutover's checks.
async fn reconcile_books(
    cfg: &RunConfig,
    spec: &Arc<Spec>,
    m: &mut Merged,
    baseline: &[crate::hash::FastSet<u64>],
    reached: SimTime,
) -> (Reconciliation, Result<super::deployment::target::Ledger, String>, Option<crate::report::data::cutover::CutoverReport>) {
    let mut books: [Vec<crate::model::PaymentRow>; 2] = [Vec::new(), Vec::new()];
    // Registrations are checked where both systems' can be read (not through a profile).
    let mut registrations: Option<[Vec<crate::model::PayerRef>; 2]> = spec.cutover.as_ref().map(|_| [Vec::new(), Vec::new()]);
    if let Some(regs) = registrations.as_mut() {
        for system in [OLD, NEW] {
            match cfg.target_for(system).registrations(spec, system, cfg.admin_token.as_deref()).await {
                Ok(r) => regs[system as usize] = r,
                Err(_) => {
                    registrations = None;
                    break;
                }
            }
        }
    }
    let mut held: crate::hash::FastSet<IdemKey> = crate::hash::FastSet::default();
    let mut error = None;
    for system in 0..spec.system_names().len() as SystemIdx {
        match cfg.target_for(system).books(spec, system, cfg.admin_token.as_deref()).await {
            Ok(rows) => {
                held.extend(crate::report::check::reconcile::held_keys(system, &rows));
                books[system as usize] = crate::report::check::reconcile::this_runs_payments(
                    system,
                    rows,
                    baseline.get(system as usize),
                    m.recorder.acknowledged(),
                );
            }
            Err(e) => error = Some(unreadable(&cfg.target_for(system).label(), spec, system, &e, m.last_good[system as usize])),
        }
    }
    if let Some(e) = error {
        let unknown = m.unknown_reqs.iter().map(|r| (r.clone(), OLD, Err(e.clone()))).collect();
        let lookups = crate::report::check::reconcile::Lookups { unknown, acknowledged: None };
        let rec = crate::report::check::reconcile::by_key(&mut m.recorder, lookups, None);
        let input =
            crate::report::check::cutover::CutoverInput { spec, recorder: &m.recorder, books: Err(e.clone()), migration: None, reached };
        return (rec, Err(e), crate::report::check::cutover::check(input));
    }
    let actual = crate::report::check::reconcile::ledger_of_books(&books);
    let unknown = m.unknown_reqs.iter().filter_map(|r| contract_key(r).map(|k| (r.clone(), k))).collect();
    let lookups = crate::report::check::reconcile::lookups_from_books(&held, unknown, m.recorder.acknowledged());
    let rec = crate::report::check::reconcile::by_key(&mut m.recorder, lookups, Some(&actual));
    let migration = cfg.target.migration();
    let books = crate::model::Books { payments: books, registrations };
    let input = crate::report::check::cutover::CutoverInput { spec, recorder: &m.recorder, books: Ok(books), migration, reached };
    (rec, Ok(actual), crate::report::check::cutover::check(input))
}

fn contract_key(req: &Request) -> Option<IdemKey> {
    super::thread::journal::key_of(req)
}
