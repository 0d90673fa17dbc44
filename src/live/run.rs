//! `cutover run`: replay the scenario's demand in real time, compressed by the time
//! scale, open loop, against an HTTP target or the in-process model.
//!
//! The coordinator (the caller's thread) sets the target's clock, splits the payers and
//! the connections among the driver's threads ([`super::shard`]: each sends its payers'
//! requests on its own connections and accounts for the answers, with nothing passed
//! between threads per request), runs the phase hooks at their instants, shows progress,
//! and on Ctrl-C tells the threads to stop. At the end it merges what the threads
//! recorded and reconciles the journal against the target's books.

use super::journal::Journal;
use super::shard::{self, Gauge, Plan};
use super::target::{PreflightConfig, Target, client};
use crate::clock::VirtualClock;
use crate::cohort::Members;
use crate::demand::{Cast, Demand};
use crate::model::{IdemKey, Request};
use crate::population::Population;
use crate::report::EngineStats;
use crate::report::live::{HookReport, JournalReport, LiveReport, Reconciliation};
use crate::report::recorder::Recorder;
use crate::scenario::Spec;
use crate::time::SimTime;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    Http1,
    Hyper,
    Reqwest,
}

pub struct RunConfig {
    pub target: Target,
    pub transport: TransportKind,
    pub time_scale: f64,
    pub connections: usize,
    pub queue_bound: usize,
    /// Threads sending requests (each with its share of payers and connections); at most
    /// one per connection.
    pub threads: usize,
    pub timeout: Duration,
    pub seed: u64,
    pub out: PathBuf,
    /// Tell the target the run's virtual clock through `POST /v1/admin/clock`.
    pub sync_clock: bool,
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

/// Run a hook's command to its end, killing it past `limit` (on a thread of its own: tokio's
/// child-process support would have every runtime of the driver look for exited children
/// at each turn, which showed in the sending threads' profile).
fn run_command(argv: &[String], limit: Duration, secs: f64) -> (bool, String) {
    use std::process::{Command, Stdio};
    let mut child = match Command::new(&argv[0]).args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::null()).spawn() {
        Ok(c) => c,
        Err(e) => return (false, format!("cannot start: {e}")),
    };
    let begin = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                return (st.success(), format!("exit status {}", st.code().map(|c| c.to_string()).unwrap_or_else(|| "signal".into())));
            }
            Ok(None) if begin.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                return (false, format!("timed out after {secs} s"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return (false, format!("cannot wait for it: {e}")),
        }
    }
}

async fn run_hook(hook: crate::scenario::Hook, due_at: String, started: Instant) -> HookReport {
    let begin = Instant::now();
    let limit = Duration::from_secs_f64(hook.timeout_seconds);
    let (action, result) = if let Some(h) = &hook.http {
        let mut rb = client(limit).request(reqwest::Method::from_bytes(h.method.as_bytes()).unwrap_or(reqwest::Method::GET), &h.url);
        if let Some(b) = &h.body {
            rb = rb.json(b);
        }
        let r = match rb.send().await {
            Ok(r) => (r.status().is_success(), format!("HTTP {}", r.status().as_u16())),
            Err(e) => (false, format!("failed: {e}")),
        };
        (format!("{} {}", h.method, h.url), r)
    } else {
        let argv = hook.command.clone();
        let secs = hook.timeout_seconds;
        let r = tokio::task::spawn_blocking(move || run_command(&argv, limit, secs))
            .await
            .unwrap_or_else(|_| (false, "the hook's thread failed".into()));
        (hook.command.join(" "), r)
    };
    HookReport {
        phase: hook.phase.clone(),
        action,
        due_at,
        started_after_seconds: begin.saturating_duration_since(started).as_secs_f64(),
        duration_ms: begin.elapsed().as_secs_f64() * 1000.0,
        ok: result.0,
        outcome: result.1,
    }
}

struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_plain: Instant,
    enabled: bool,
}

impl Progress {
    fn new(enabled: bool, spec: &Spec) -> Progress {
        use std::io::IsTerminal;
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let total = ((spec.end.0 - spec.start.0) / 1_000_000).max(1) as u64;
            let b = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:24} {msg}") {
                b.set_style(style);
            }
            b
        });
        Progress { bar, last_plain: Instant::now(), enabled }
    }

    /// Show the threads' latest figures (they update them four times a second).
    fn update(&mut self, spec: &Spec, gauges: &[Arc<Gauge>], now_v: SimTime, started: Instant) {
        if !self.enabled {
            return;
        }
        let elapsed = started.elapsed().as_secs_f64().max(1e-9);
        let completed: u64 = gauges.iter().map(|g| g.completed.load(Relaxed)).sum();
        let outstanding: u64 = gauges.iter().map(|g| g.outstanding.load(Relaxed)).sum();
        let errors: u64 = gauges.iter().map(|g| g.errors.load(Relaxed)).sum();
        let mut all = shard::histogram();
        for g in gauges {
            if let Ok(h) = g.response.lock()
                && let Some(h) = &*h
            {
                let _ = all.add(h);
            }
        }
        let p99 = all.value_at_quantile(0.99) as f64 / 1000.0;
        let now_v = now_v.min(spec.end);
        let phase = &spec.phases[spec.phase_at(now_v)].name;
        let msg = format!(
            "{} {:<18} {:>7.0} req/s  p99 {:>8.1} ms  errors {}  in flight {}",
            &now_v.format(spec.calendar.offset)[..16],
            phase,
            completed as f64 / elapsed,
            p99,
            errors,
            outstanding
        );
        match &self.bar {
            Some(b) => {
                b.set_position(((now_v.0 - spec.start.0) / 1_000_000).max(0) as u64);
                b.set_message(msg);
            }
            None if self.last_plain.elapsed() >= Duration::from_secs(5) => {
                self.last_plain = Instant::now();
                eprintln!("run: {msg}");
            }
            None => {}
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// `n` split into `parts` near-equal shares, larger first.
fn split(n: usize, parts: usize) -> impl Iterator<Item = usize> {
    (0..parts).map(move |i| n / parts + usize::from(i < n % parts))
}

pub async fn run(spec: Arc<Spec>, cfg: RunConfig, scenario_file: &str) -> Result<RunOutput, RunError> {
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| RunError::Io { path, source }
    };
    std::fs::create_dir_all(&cfg.out).map_err(io(&cfg.out))?;
    let scale = cfg.time_scale;
    let demand = Arc::new(Demand::new(spec.clone(), cfg.seed));
    let population = Population::new(&spec, cfg.seed);
    let members = Members::all(&spec, Cast::new(&demand, &population));

    let target = &cfg.target;
    let clock = VirtualClock::starting_now(spec.start, scale);
    let checks = PreflightConfig {
        clock: &clock,
        sync_clock: cfg.sync_clock,
        admin_token: cfg.admin_token.as_deref(),
        allow_other_scenario: cfg.allow_other_scenario,
    };
    let sync_rtt = target.preflight(&spec, &checks).await.map_err(RunError::Target)?.clock_round_trip;
    let connections = cfg.connections.max(1);
    let threads = cfg.threads.clamp(1, connections);
    let shared_reqwest = client(cfg.timeout);
    let ctx = target.call_ctx(&spec, cfg.timeout, scale, cfg.rebase_now.then_some(clock));
    // The auditor's window is widened by 5 ms of real time (clock skew, scheduling)
    // and by the clock call's round trip (how far the target's clock may lag).
    let margin_real = Duration::from_millis(5) + sync_rtt.unwrap_or_default();
    let margin = (margin_real.as_secs_f64() * 1e6 * scale) as i64;
    let journal = Journal::create(&cfg.out).map_err(io(&cfg.out.join("journal.jsonl")))?;
    let journal_path = journal.path.clone();

    // Payers' agents dealt round-robin among the threads; the batch debits to the first.
    let plans: Vec<Plan> = split(connections, threads)
        .zip(split(cfg.queue_bound, threads))
        .zip(members.deal(threads))
        .map(|((n, queue), members)| Plan {
            spec: spec.clone(),
            demand: demand.clone(),
            clock,
            members,
            conns: target.connections(n, cfg.transport, clock, &shared_reqwest),
            ctx: ctx.clone(),
            capacity: n + queue,
            journal: journal.share(),
            margin_micros: margin,
            drain: cfg.drain,
        })
        .collect();
    drop(journal);

    let mut hooks: Vec<(SimTime, crate::scenario::Hook)> = spec
        .raw
        .hooks
        .iter()
        .filter_map(|h| spec.phases.iter().find(|p| p.name == h.phase).map(|p| (p.start.max(spec.start), h.clone())))
        .collect();
    hooks.sort_by_key(|(t, _)| *t);
    let mut hooks = std::collections::VecDeque::from(hooks);
    let mut hook_tasks = Vec::new();

    let mut gauges = Vec::new();
    let mut results = Vec::new();
    let mut handles = Vec::new();
    // Every thread sets itself up first; the wall time and CPU of the run count from when
    // all of them are ready to send.
    let gate = Arc::new(shard::StartGate::default());
    let n = plans.len();
    for (i, plan) in plans.into_iter().enumerate() {
        let gauge = Arc::new(Gauge::default());
        gauge.wants_latency.store(cfg.progress, Relaxed);
        match shard::start(format!("cutover-run-{i}"), plan, gauge.clone(), gate.clone()) {
            Ok((rx, handle)) => {
                gauges.push(gauge);
                results.push(rx);
                handles.push(handle);
            }
            Err(e) => {
                // The threads already started stop at once.
                for g in &gauges {
                    g.stop.store(true, Relaxed);
                }
                gate.open();
                return Err(RunError::Target(format!("cannot start a sending thread: {e}")));
            }
        }
    }
    gate.wait_ready(n);
    gate.open();
    let started = Instant::now();
    let cpu_at_start = cpu_seconds();
    let mut progress = Progress::new(cfg.progress, &spec);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    let all_done = futures_util::future::join_all(results);
    tokio::pin!(all_done);
    let outputs = loop {
        let next_hook = hooks.front().map(|(t, _)| tokio::time::Instant::from_std(clock.real_instant(*t)));
        tokio::select! {
            biased;
            _ = &mut ctrl_c, if !interrupted => {
                // The threads stop sending and wait a bounded time for answers in flight.
                interrupted = true;
                for g in &gauges {
                    g.stop.store(true, Relaxed);
                }
            }
            outs = &mut all_done => break outs,
            _ = tokio::time::sleep_until(next_hook.unwrap_or_else(tokio::time::Instant::now)), if next_hook.is_some() && !interrupted => {
                let now_real = Instant::now();
                while hooks.front().is_some_and(|(t, _)| clock.real_instant(*t) <= now_real) {
                    if let Some((t, h)) = hooks.pop_front() {
                        hook_tasks.push(tokio::spawn(run_hook(h, t.format(spec.calendar.offset), started)));
                    }
                }
            }
            _ = tick.tick() => progress.update(&spec, &gauges, clock.now(), started),
        }
    };
    for h in handles {
        let _ = h.join();
    }
    progress.finish();
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_at_start.zip(cpu_seconds()).map(|(a, b)| b - a);
    let mut parts = Vec::with_capacity(outputs.len());
    for o in outputs {
        parts.push(o.map_err(|_| RunError::Target("a sending thread failed".into()))?);
    }

    // One account of the threads' parts.
    let mut stats = EngineStats::default();
    let mut response_all = shard::histogram();
    let mut service_all = shard::histogram();
    let (mut completed, mut not_sent, mut accepted_journal, mut unknown_journal) = (0, 0, 0, 0);
    let mut journal_error = None;
    let mut unknown_reqs = Vec::new();
    let mut batches = Vec::new();
    let mut recorders = Vec::new();
    let mut audit = crate::report::live::AuditReport::default();
    for p in parts {
        // The first thread's count of active payers is the whole cast's.
        stats += &p.stats;
        let _ = response_all.add(&p.response_all);
        let _ = service_all.add(&p.service_all);
        completed += p.completed;
        not_sent += p.not_sent;
        accepted_journal += p.journal.accepted;
        unknown_journal += p.journal.unknown;
        if journal_error.is_none() {
            journal_error = p.journal_error;
        }
        unknown_reqs.extend(p.unknown);
        batches.extend(p.batches);
        recorders.push(p.recorder);
        audit.merge(p.audit);
    }
    audit.finish();
    let mut recorder = Recorder::merge(spec.clone(), demand.rules.clone(), recorders);
    unknown_reqs.sort_by_key(contract_key);

    let mut hook_reports = Vec::new();
    for t in hook_tasks {
        if let Ok(r) = t.await {
            hook_reports.push(r);
        }
    }
    for (t, h) in hooks {
        hook_reports.push(HookReport {
            phase: h.phase.clone(),
            action: if h.command.is_empty() {
                h.http.as_ref().map(|x| format!("{} {}", x.method, x.url)).unwrap_or_default()
            } else {
                h.command.join(" ")
            },
            due_at: t.format(spec.calendar.offset),
            started_after_seconds: 0.0,
            duration_ms: 0.0,
            ok: false,
            outcome: "not run: the run ended first".into(),
        });
    }

    // Reconciliation against the target's books.
    let mut rec = Reconciliation { acknowledged: recorder.acknowledged().len() as u64, ..Reconciliation::default() };
    rec.unknown = unknown_reqs.len() as u64;
    for req in &unknown_reqs {
        let Some(key) = contract_key(req) else {
            continue;
        };
        match target.holds(key).await {
            Ok(true) => {
                rec.unknown_present += 1;
                recorder.book(req);
            }
            Ok(false) => rec.unknown_absent += 1,
            Err(e) => {
                rec.read_error.get_or_insert(e);
            }
        }
    }
    const KEY_CHECK_LIMIT: usize = 200_000;
    if recorder.acknowledged().len() <= KEY_CHECK_LIMIT {
        rec.checked_by_key = true;
        let mut keys: Vec<IdemKey> = recorder.acknowledged().iter().copied().collect();
        keys.sort();
        for key in keys {
            match target.holds(key).await {
                Ok(true) => {}
                Ok(false) => {
                    rec.lost += 1;
                    if rec.lost_keys.len() < 20 {
                        rec.lost_keys.push(key.to_text());
                    }
                }
                Err(e) => {
                    rec.read_error.get_or_insert(e);
                    break;
                }
            }
        }
    }
    let actual = target.ledger(&spec).await;
    if let Ok(a) = &actual {
        rec.ledger_entries = a.values().map(|c| c.count).sum();
        let expected = recorder.expected_ledger();
        rec.phantoms_or_duplicates = a.iter().map(|(k, c)| c.count.saturating_sub(expected.get(k).map(|e| e.count).unwrap_or(0))).sum();
    }

    let batches = batches.iter().map(|b| b.report(&spec)).collect();
    let mut report = crate::report::build(crate::report::BuildInput {
        spec: &spec,
        scenario_file,
        mode: "run",
        seed: cfg.seed,
        recorder: &recorder,
        stats: &stats,
        batches,
        actual_ledger: actual,
        audit_disagreements: audit.disagreements,
    });
    report.live = Some(LiveReport {
        target: target.label(),
        transport: target.transport_name(cfg.transport).into(),
        time_scale: scale,
        connections,
        threads,
        queue_bound: cfg.queue_bound,
        interrupted,
        wall_seconds: (wall * 1000.0).round() / 1000.0,
        requests_completed: completed,
        requests_per_second: (completed as f64 / wall.max(1e-9)).round(),
        client_cpu_seconds: cpu.map(|c| (c * 100.0).round() / 100.0),
        client_cpu_micros_per_request: cpu.filter(|_| completed > 0).map(|c| (c * 1e6 / completed as f64 * 10.0).round() / 10.0),
        response_time_ms: crate::report::latency(&response_all),
        service_time_ms: crate::report::latency(&service_all),
        not_sent,
        clock_sync_round_trip_ms: sync_rtt.map(|d| (d.as_secs_f64() * 1e5).round() / 100.0),
        audit_margin_ms: (margin_real.as_secs_f64() * 1e5).round() / 100.0,
        errors_by_kind: recorder.errors_by_kind.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        journal: JournalReport { path: journal_path.display().to_string(), accepted: accepted_journal, unknown: unknown_journal },
        reconciliation: rec,
        audit,
        hooks: hook_reports,
    });
    if let Some(e) = journal_error {
        return Err(RunError::Io { path: journal_path.display().to_string(), source: std::io::Error::other(e) });
    }
    Ok(RunOutput { report, interrupted })
}

fn contract_key(req: &Request) -> Option<IdemKey> {
    super::journal::key_of(req)
}
