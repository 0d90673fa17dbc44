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
use super::account::{Account, Part};
use super::deployment::target::{PreflightConfig, Target, client_for};
use super::finish::{Reading, finish};
use super::pace::Pace;
use super::progress::Progress;
use super::runbook::Runbook;
use super::switching::Switching;
use super::thread::journal::Journal;
use super::thread::shard::{self, Gauge, Plan};
use crate::clock::VirtualClock;
use crate::cohort::Members;
use crate::demand::{Cast, Demand};
use crate::population::Population;
use crate::scenario::{NEW, OLD, Spec, SystemIdx};
use crate::time::SimTime;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

pub use super::thread::transport::TransportKind;

/// The sending threads of each shard when `--threads` is not given: the same as `simulate
/// --shard`'s default, so that the shards deal the payers as their plan does.
pub const SHARD_THREADS: usize = 2;

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
    /// one per connection. `None`: as many as the planned rate needs, at most the cores
    /// ([`super::sizing`]); with `shard`, two (the shard plan's default).
    pub threads: Option<usize>,
    pub timeout: Duration,
    /// How late a sending thread may take a step while steps fall due closer together
    /// (`--slack-us`).
    pub slack: Duration,
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
    /// `--shard I/N`: this process sends one shard of the rehearsal and writes its part.
    pub shard: Option<Sharding>,
    /// `--start-at`: the wall-clock instant (Unix µs) the timeline starts at.
    pub start_at: Option<i64>,
}

/// One shard of a rehearsal sent by several generators (`run --shard I/N`).
pub struct Sharding {
    pub index: usize,
    pub count: usize,
    /// The scenario file's text, for the part (the merge builds the same spec from it).
    pub scenario_text: String,
    /// The targets as given, for the merge to read their books.
    pub targets: super::account::TargetChoice,
    /// Where the shards tell each other a stop and a rollback's figures (a directory every
    /// shard reaches).
    pub shared_dir: PathBuf,
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
    /// The report; none for a shard, whose part (`part.json`) a merge reads instead.
    pub report: Option<crate::report::Report>,
    /// Where a shard wrote its part.
    pub part: Option<PathBuf>,
    pub interrupted: bool,
    /// How late a run given a start instant began sending after it (real seconds).
    pub late_by_seconds: f64,
}

pub use super::finish::RunError;

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

/// How often the coordinator refreshes the progress display.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// What the threads start with, and what the report needs of the setup.
struct Setup {
    demand: Arc<Demand>,
    plans: Vec<Plan>,
    /// The preflight's clock call's round trip (the longest over the targets).
    sync_rtt: Option<Duration>,
    journal_path: PathBuf,
    connections: usize,
    threads: usize,
    /// How the threads were chosen for the plan's busiest second, when not by `--threads`.
    threads_chosen: Option<crate::report::data::live::ThreadsChosen>,
    queue_bound: usize,
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
    /// A conditional rollback's figures and how it was told, if the run reached it.
    rollback: Option<crate::report::check::rollback::Decided>,
    interrupted: bool,
    /// Why the load was stopped early (`--abort-early`).
    aborted: Option<String>,
    /// The timeline's instant the load reached: its end, or where it was stopped.
    reached: SimTime,
    wall_seconds: f64,
    cpu_seconds: Option<f64>,
    /// How late the sending began after `--start-at` (real seconds).
    late_by_seconds: f64,
    /// The longest round trip of the calls that set the targets' clocks before the load (the
    /// preflight's and the start's), and the widest margin the auditors allowed in real time
    /// (those calls', or a change of pace's, from its edge until it was told).
    sync_rtt: Option<Duration>,
    margin_real: Duration,
}

pub async fn run(spec: Arc<Spec>, cfg: RunConfig, scenario_file: &str) -> Result<RunOutput, RunError> {
    let mut setup = set_up(&spec, &cfg).await?;
    let plans = std::mem::take(&mut setup.plans);
    let switching = setup.switching.take().unwrap_or_else(|| Switching::new(&spec, setup.demand.rules.clone(), Vec::new()));
    let driven = drive(&spec, &cfg, plans, switching, scenario_file, setup.sync_rtt).await?;
    let mut hooks = driven.hooks.finish(&spec).await;
    hooks.extend(driven.switching.finish(&spec).await);
    hooks.extend(driven.paced);
    let sorted = |ids: &crate::hash::FastSet<u64>| {
        let mut v: Vec<u64> = ids.iter().copied().collect();
        v.sort_unstable();
        v
    };
    let account = Account {
        run_id: cfg.run_id.clone(),
        seed: cfg.seed,
        time_scale: cfg.time_scale,
        transport: super::thread::transport_name(&cfg.target, cfg.transport).into(),
        connections: setup.connections,
        threads: setup.threads,
        threads_chosen: setup.threads_chosen,
        queue_bound: setup.queue_bound,
        slack_micros: cfg.slack.as_micros() as u64,
        sync_rtt_micros: driven.sync_rtt.map(|d| d.as_micros() as u64),
        margin_real_micros: driven.margin_real.as_micros() as u64,
        journal_path: setup.journal_path.clone(),
        baseline: setup.baseline.as_ref().map(|b| b.iter().map(sorted).collect()),
        hooks,
        rollback: driven.rollback,
        interrupted: driven.interrupted,
        aborted: driven.aborted,
        reached: driven.reached,
        wall_seconds: driven.wall_seconds,
        cpu_seconds: driven.cpu_seconds,
        shards: None,
    };
    let (interrupted, late_by_seconds) = (driven.interrupted, driven.late_by_seconds);
    if let Some(shard) = &cfg.shard {
        let mut threads = driven.parts;
        let secrets: Vec<&str> = cfg.admin_token.as_deref().into_iter().collect();
        for t in &mut threads {
            if let Some(e) = t.journal_error.take() {
                return Err(RunError::Io { path: setup.journal_path.display().to_string(), source: std::io::Error::other(e) });
            }
            t.failures.redact(&secrets);
        }
        let part = Part::new(
            (shard.index, shard.count),
            (scenario_file.to_string(), shard.scenario_text.clone()),
            (cfg.start_at, late_by_seconds),
            shard.targets.clone(),
            account,
            threads,
        );
        let path = part
            .write(&cfg.out)
            .map_err(|source| RunError::Io { path: cfg.out.join(super::account::PART_FILE).display().to_string(), source })?;
        return Ok(RunOutput { report: None, part: Some(path), interrupted, late_by_seconds });
    }
    let reading =
        Reading { target: &cfg.target, new_target: cfg.new_target.as_ref(), admin_token: cfg.admin_token.as_deref(), hlog: cfg.hlog };
    let report = finish(&spec, setup.demand.rules.clone(), &reading, &account, driven.parts, scenario_file).await?;
    Ok(RunOutput { report: Some(report), part: None, interrupted, late_by_seconds })
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
    // Dealt among every sending thread of the rehearsal: a shard's are threads I·T to
    // I·T + T - 1 of N·T (payers, connections, the queue bound and the counters alike), so
    // that N shards send what one process with N·T threads sends.
    let connections = cfg.connections.max(1);
    let (index, shards) = cfg.shard.as_ref().map_or((0, 1), |s| (s.index, s.count));
    if connections < shards {
        return Err(RunError::Target(format!("--connections {connections}: fewer than the {shards} shards (each needs one at least)")));
    }
    let members = Members::all(spec, Cast::new(&demand, &population));
    let mut threads_chosen = None;
    let threads = match (cfg.threads, &cfg.shard) {
        (Some(t), _) => t,
        (None, Some(_)) => SHARD_THREADS,
        (None, None) => {
            let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let (threads, chosen) = super::sizing::threads_for(&members.first, scale, cores);
            if cfg.progress {
                eprintln!(
                    "threads: {threads} sending (the busiest second plans {} first attempts, one thread per {}; {cores} cores; --threads N to choose)",
                    chosen.busiest_second, chosen.per_thread
                );
            }
            threads_chosen = Some(chosen);
            threads
        }
    }
    .clamp(1, connections / shards);
    let global = threads * shards;
    let mine = index * threads..(index + 1) * threads;
    // (global thread, ((connections, queue bound), members)).
    type Share = (usize, ((usize, usize), Members));
    let shares: Vec<Share> = split(connections, global)
        .zip(split(cfg.queue_bound, global))
        .zip(members.deal(global))
        .enumerate()
        .filter(|(i, _)| mine.contains(i))
        .collect();
    let members: Vec<&Members> = shares.iter().map(|(_, (_, m))| m).collect();
    // A deployment that does not follow the run's clock is switched as the timeline's start
    // has it, before anything is read or sent.
    let switchers: Vec<_> = (0..spec.system_names().len() as SystemIdx)
        .filter_map(|s| {
            let name = spec.system_names()[s as usize].to_string();
            cfg.target_for(s).switcher(&name, cfg.sync_clock, cfg.admin_token.as_deref()).map(|sw| (s, sw))
        })
        .collect();
    if shards > 1 && !switchers.is_empty() {
        return Err(RunError::Target(
            "--shard: a deployment switched through its maintenance switch (a profile's `switch`, or a server keeping real time) is not yet rehearsed in shards: the other shards would not know when each switch went through; run it as one process".into(),
        ));
    }
    let mut switching = Switching::new(spec, demand.rules.clone(), switchers);
    switching.before_load(spec).await.map_err(RunError::Target)?;
    // This process's payers (a shard's own: the others' payments in the books are theirs).
    let payers: crate::hash::FastSet<crate::population::PayerId> = members.iter().flat_map(|m| m.payers()).map(|p| p.id).collect();
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
        let payers: Vec<_> = members.iter().flat_map(|m| m.payers()).collect();
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
    // One reqwest client per system (its TLS trust and headers), shared by the threads.
    let shared_reqwest: Vec<reqwest::Client> = (0..spec.system_names().len() as SystemIdx)
        .map(|s| match cfg.target_for(s) {
            Target::Http { base, api, .. } => client_for(base, api, cfg.timeout),
            Target::Model(_) => super::deployment::target::client(cfg.timeout),
        })
        .collect();
    let ctx = super::thread::call_ctx(target, spec, cfg.timeout, clock, cfg.rebase_now);
    let journal = Journal::create(&cfg.out).map_err(io(&cfg.out.join("journal.jsonl")))?;
    let journal_path = journal.path.clone();
    // Payers' agents dealt round-robin among the threads; the batch debits to the first.
    let my_connections = shares.iter().map(|(_, ((n, _), _))| n).sum();
    let my_queue = shares.iter().map(|(_, ((_, q), _))| q).sum();
    let plans = shares
        .into_iter()
        .map(|(thread, ((n, queue), members))| Plan {
            thread: (thread, global),
            spec: spec.clone(),
            demand: demand.clone(),
            clock,
            members,
            conns: thread_connections(cfg, spec, n, clock, &shared_reqwest),
            ctx: ctx.clone(),
            capacity: n + queue,
            journal: journal.share(),
            drain: cfg.drain,
            switches: switching.board(),
            slack: cfg.slack,
        })
        .collect();
    Ok(Setup {
        demand,
        plans,
        sync_rtt,
        journal_path,
        connections: my_connections,
        threads,
        threads_chosen,
        queue_bound: my_queue,
        baseline,
        switching: Some(switching),
    })
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
    preflight_rtt: Option<Duration>,
) -> Result<Driven, RunError> {
    let vars = hook_vars(cfg, scenario_file);
    let in_process = !cfg.target.is_http();
    let mut hooks = Runbook::new(spec, vars, in_process);
    let other_shard = cfg.shard.as_ref().filter(|s| s.index > 0);
    if cfg.calibrate.is_some() || other_shard.is_some() {
        let why = if cfg.calibrate.is_some() { "not run: a calibration" } else { "not run here: the runbook is shard 0's" };
        for phase in 0..spec.phases.len() {
            hooks.skip_phase(phase, why);
        }
    }
    // A conditional rollback, decided on every thread's figures at its instant.
    let rules = plans.first().map(|p| p.demand.rules.clone());
    let mut rollback = spec.cutover.as_ref().and_then(|x| x.rollback.clone()).filter(|r| r.conditional());
    let mut decision = None;
    let shared = match cfg.shard.as_ref().filter(|s| s.count > 1) {
        Some(s) => Some(
            super::shared::Shared::new(&s.shared_dir, &cfg.run_id, cfg.start_at, s.index, s.count)
                .map_err(|source| RunError::Io { path: s.shared_dir.display().to_string(), source })?,
        ),
        None => None,
    };
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
    let (clock, late_by_seconds) = match start_clock(spec, cfg).await {
        Ok(c) => c,
        Err(e) => {
            stop_all(&gauges);
            gate.open(None);
            return Err(e);
        }
    };
    let checks = PreflightConfig {
        clock: &clock,
        sync_clock: cfg.sync_clock,
        admin_token: cfg.admin_token.as_deref(),
        allow_other_scenario: true,
        probe_operations: false,
    };
    // Each target's clock lags the run's by up to its call's round trip: the auditor's window
    // allows for the longest (under load a call at the start may take far longer than the
    // preflight's did).
    let mut sync_rtt = preflight_rtt;
    for (t, _) in cfg.targets() {
        match t.set_clock(spec, &checks).await {
            Ok(rtt) => sync_rtt = sync_rtt.max(rtt),
            Err(e) => {
                stop_all(&gauges);
                gate.open(None);
                return Err(RunError::Target(e));
            }
        }
    }
    let clock = &clock;
    // The targets are told each change of pace once, by shard 0; until that is done (and,
    // on another shard, known done) the auditors' window widens with the time since the edge.
    let mut pace = Pace::new(spec, clock, cfg.sync_clock, other_shard.is_none(), sync_rtt.unwrap_or_default());
    gate.open(Some(shard::Start { clock: *clock, lag: pace.lag() }));
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
                pace.tell(spec, &targets, &checks, started, shared.as_ref()).await;
            }
            _ = tokio::time::sleep_until(next_decision.unwrap_or_else(tokio::time::Instant::now)), if next_decision.is_some() && !interrupted => {
                if let Some(r) = rollback.take() {
                    let targets = cfg.targets();
                    let to = super::rollback::Deciding {
                        targets: &targets,
                        admin_token: cfg.admin_token.as_deref(),
                        clock,
                        rules: rules.as_deref(),
                        shared: shared.as_ref(),
                    };
                    decision = Some(super::rollback::decide_live(spec, to, &r, &gauges, &mut hooks).await);
                }
            }
            _ = tick.tick() => {
                progress.update(spec, &gauges, clock, started);
                pace.learn(shared.as_ref());
                // The other shards' counts that only grow, this shard's told them.
                let others = shared.as_ref().map(|sh| sh.exchange(super::abort::growing(&gauges))).unwrap_or_default();
                if aborted.is_none() && !interrupted {
                    let told = shared.as_ref().and_then(|sh| sh.stop_raised());
                    let reason = told.clone().or_else(|| abort_reason(spec, cfg.abort, &labels, &gauges, started, &mut abort_window, others));
                    if let Some(reason) = reason {
                        eprintln!("aborting: {}", crate::secrets::redact(&reason));
                        if let (Some(sh), None) = (&shared, &told) {
                            sh.raise_stop(&reason);
                        }
                        aborted = Some(reason);
                        stopped_at.get_or_insert(clock.now());
                        stop_all(&gauges);
                    }
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
    let margin_real = pace.lag().widest(Instant::now());
    let paced = pace.finish(spec);
    Ok(Driven {
        parts,
        hooks,
        switching,
        paced,
        rollback: decision,
        interrupted,
        aborted,
        reached,
        wall_seconds,
        cpu_seconds: cpu,
        late_by_seconds,
        sync_rtt,
        margin_real,
    })
}

/// The run's clock: its timeline starts now (the threads are ready), or at `--start-at`,
/// waited for when ahead; a run ready after it starts late, says so, and sends what fell due
/// meanwhile at once. Also how late (real seconds).
async fn start_clock(spec: &Spec, cfg: &RunConfig) -> Result<(VirtualClock, f64), RunError> {
    let Some(at) = cfg.start_at else {
        return Ok((VirtualClock::starting_now(spec.start, cfg.time_scale).with_real_time(cfg.real_time), 0.0));
    };
    let ahead = at - crate::clock::wall_now().0;
    if ahead > 0 {
        if cfg.progress {
            eprintln!("waiting {:.1} s for --start-at", ahead as f64 / 1e6);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_micros(ahead as u64)) => {}
            _ = tokio::signal::ctrl_c() => return Err(RunError::Target("interrupted while waiting for --start-at: nothing was sent".into())),
        }
    }
    let late = (crate::clock::wall_now().0 - at).max(0) as f64 / 1e6;
    if late > 0.05 {
        eprintln!(
            "note: started sending {late:.2} s after --start-at: the requests due meanwhile (about {:.0} virtual minutes) go out at once, late",
            late * cfg.time_scale / 60.0
        );
    }
    Ok((VirtualClock::from_wall(spec.start, at, cfg.time_scale).with_real_time(cfg.real_time), late))
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
