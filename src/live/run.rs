//! `cutover run`: replay the scenario's demand in real time, compressed by the time
//! scale, open loop, against an HTTP target or the in-process model.
//!
//! Two threads. The scheduler (the caller's) owns the agents, batch runners, recorder,
//! auditor and journal; the connection thread owns the fixed pool of connections. At its
//! scheduled instant a request is handed to the connection thread, which sends it on an idle
//! connection, as one future in a set of requests in flight; with every connection busy it
//! waits in a backlog. The scheduler bounds what it has handed over (connections plus
//! `--queue-bound`): past that an arrival is counted as not sent (and its payer told so),
//! never dropped silently. Work and answers cross between the threads one message each
//! (a message wakes the other thread only when it sleeps, so under load one wake-up
//! covers many; batching them in vectors cost more, in memory handed across threads,
//! than it saved); two threads
//! because a single one gets only its fair share of two cores shared with the target, and
//! that share, not the CPU per request, capped the rate. A request's response time runs
//! from its scheduled instant, so a stalled target shows in every request that had to wait,
//! not only in those on the wire.

use super::auditor::Auditor;
use super::clock::VirtualClock;
use super::journal::Journal;
use super::report::{HookReport, JournalReport, LiveReport, Reconciliation};
use super::transport::{Base, Transport};
use crate::FastSet;
use crate::contract;
use crate::demand::{Agent, Cast, Demand, Next};
use crate::engine::batch::BatchRunner;
use crate::engine::queue::{Ev, EventQueue};
use crate::engine::{Books, EngineStats, Owner, answer_agent, schedule_agent};
use crate::model::{IdemKey, LedgerCell, LedgerKey, Model, Request, Response, Rules};
use crate::population::Population;
use crate::report::recorder::{Recorder, Timing};
use crate::scenario::Spec;
use crate::time::SimTime;
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Clone, Debug)]
pub enum TargetChoice {
    Http { url: String },
    Model,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    Http1,
    Hyper,
    Reqwest,
}

#[derive(Clone, Debug)]
pub struct RunConfig {
    pub target: TargetChoice,
    pub transport: TransportKind,
    pub time_scale: f64,
    pub connections: usize,
    pub queue_bound: usize,
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
    /// How the target's API looks; `None` = the bundled contract.
    pub profile: Option<Arc<super::profile::Profile>>,
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

struct Job {
    owner: Owner,
    req: Request,
    phase: u8,
    due: Instant,
}

struct Done {
    id: u32,
    resp: Response,
    /// When the target says it decided (payments), if it says so.
    decided_at: Option<SimTime>,
    sent: Instant,
    done: Instant,
}

struct Work {
    id: u32,
    req: Request,
}

/// What the connection thread tells the scheduler.
enum FromIo {
    Answer(Done),
    /// Requests still waiting for a connection when sending stopped: never sent.
    Unsent(usize),
}

/// What one request in flight needs besides its connection (shared, read-only).
struct CallCtx {
    spec: Arc<Spec>,
    timeout: Duration,
    scale: f64,
    rebase_clock: Option<VirtualClock>,
}

/// The deadline of the call in flight on one connection. Deadlines are checked by one
/// sweep of the connection thread, every tenth of the timeout, instead of a timer per
/// request (registering and clearing one per request showed in profiles): a request times
/// out between 1 and 1.1 timeouts after it was sent.
#[derive(Default)]
struct Deadline {
    at: Cell<Option<Instant>>,
    passed: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Deadline {
    fn poll_passed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.passed.get() {
            return Poll::Ready(());
        }
        let mut w = self.waker.borrow_mut();
        if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *w = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// One connection and its deadline.
struct Slot {
    t: Transport,
    deadline: Rc<Deadline>,
}

/// The connection thread's state: the connections and the requests waiting for one.
struct Pool {
    ctx: Arc<CallCtx>,
    idle: Vec<Slot>,
    /// Every slot's deadline, for the sweep.
    deadlines: Vec<Rc<Deadline>>,
    in_flight: FuturesUnordered<Call>,
    backlog: VecDeque<Work>,
}

type Call = Pin<Box<dyn Future<Output = (Slot, Done)>>>;

/// Send one request on a connection; the future gives the connection back with the answer.
fn call(mut slot: Slot, ctx: Arc<CallCtx>, id: u32, req: Request) -> Call {
    Box::pin(async move {
        let sent = Instant::now();
        slot.deadline.at.set(Some(sent + ctx.timeout));
        let deadline = slot.deadline.clone();
        let answer = tokio::select! {
            biased;
            a = slot.t.call(&ctx.spec, &req, ctx.scale, sent) => Some(a),
            _ = std::future::poll_fn(|cx| deadline.poll_passed(cx)) => None,
        };
        slot.deadline.at.set(None);
        slot.deadline.passed.set(false);
        let (resp, decided_at) = match answer {
            Some(a) => a,
            None => {
                slot.t.after_timeout();
                (Response::Error { kind: "timeout" }, None)
            }
        };
        let (resp, decided_at) = match &ctx.rebase_clock {
            Some(c) => rebase(c, resp, decided_at),
            None => (resp, decided_at),
        };
        (slot, Done { id, resp, decided_at, sent, done: Instant::now() })
    })
}

impl Pool {
    fn start(&mut self, w: Work) {
        match self.idle.pop() {
            Some(s) => self.in_flight.push(call(s, self.ctx.clone(), w.id, w.req)),
            None => self.backlog.push_back(w),
        }
    }

    /// Connection `s` is free again: give it the oldest waiting request, if any.
    fn restart(&mut self, s: Slot) {
        match self.backlog.pop_front() {
            Some(w) => self.in_flight.push(call(s, self.ctx.clone(), w.id, w.req)),
            None => self.idle.push(s),
        }
    }

    /// Tell every call whose deadline passed.
    fn sweep(&self, now: Instant) {
        for d in &self.deadlines {
            if d.at.get().is_some_and(|at| at <= now) && !d.passed.get() {
                d.passed.set(true);
                if let Some(w) = d.waker.borrow_mut().take() {
                    w.wake();
                }
            }
        }
    }
}

/// The connection thread: take work, send it, hand the answers back. When the
/// work channel closes it drops what waits for a connection (reporting how many), finishes
/// what is in flight, and ends; it also ends as soon as the scheduler stops listening.
async fn connection_loop(mut pool: Pool, mut work_rx: mpsc::UnboundedReceiver<Work>, from_io: mpsc::UnboundedSender<FromIo>) {
    let mut open = true;
    let period = (pool.ctx.timeout / 10).clamp(Duration::from_millis(1), Duration::from_secs(1));
    let mut sweep = tokio::time::interval(period);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if !open && pool.in_flight.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            _ = from_io.closed() => break,
            _ = sweep.tick() => pool.sweep(Instant::now()),
            w = work_rx.recv(), if open => match w {
                Some(w) => {
                    pool.start(w);
                    while let Ok(w) = work_rx.try_recv() {
                        pool.start(w);
                    }
                }
                None => {
                    open = false;
                    let unsent = pool.backlog.len();
                    pool.backlog.clear();
                    if from_io.send(FromIo::Unsent(unsent)).is_err() {
                        break;
                    }
                }
            },
            Some((t, d)) = pool.in_flight.next(), if !pool.in_flight.is_empty() => {
                // Take every answer already there, putting each freed connection back to
                // work at once (before the scheduler hears of the answer).
                pool.restart(t);
                if from_io.send(FromIo::Answer(d)).is_err() {
                    break;
                }
                while let Some(Some((t, d))) = pool.in_flight.next().now_or_never() {
                    pool.restart(t);
                    if from_io.send(FromIo::Answer(d)).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Start the connection thread (its own single-threaded runtime).
fn start_connections(
    ctx: Arc<CallCtx>,
    idle: Vec<Transport>,
) -> std::io::Result<(mpsc::UnboundedSender<Work>, mpsc::UnboundedReceiver<FromIo>, std::thread::JoinHandle<()>)> {
    let (work_tx, work_rx) = mpsc::unbounded_channel();
    let (io_tx, io_rx) = mpsc::unbounded_channel();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let handle = std::thread::Builder::new().name("cutover-connections".into()).spawn(move || {
        let idle: Vec<Slot> = idle.into_iter().map(|t| Slot { t, deadline: Rc::new(Deadline::default()) }).collect();
        let deadlines = idle.iter().map(|s| s.deadline.clone()).collect();
        let pool = Pool { ctx, idle, deadlines, in_flight: FuturesUnordered::new(), backlog: VecDeque::new() };
        rt.block_on(connection_loop(pool, work_rx, io_tx));
    })?;
    Ok((work_tx, io_rx, handle))
}

/// Map the instants a real-time target states onto the run's virtual timeline.
fn rebase(clock: &VirtualClock, resp: Response, decided_at: Option<SimTime>) -> (Response, Option<SimTime>) {
    let wall_now = super::clock::wall_now();
    let map = |t: SimTime| clock.virtual_of_wall(t, wall_now);
    let resp = match resp {
        Response::Suspended { resume_at } => Response::Suspended { resume_at: resume_at.map(map) },
        Response::NotYetVisible { visible_at } => Response::NotYetVisible { visible_at: map(visible_at) },
        other => other,
    };
    (resp, decided_at.map(map))
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

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u64::MAX as u128) as u64
}

struct Scheduler {
    spec: Arc<Spec>,
    demand: Arc<Demand>,
    clock: VirtualClock,
    agents: Vec<Agent>,
    batches: Vec<BatchRunner>,
    events: EventQueue,
    jobs: Vec<Option<Job>>,
    free: Vec<u32>,
    /// Requests handed to the connection thread and not answered yet.
    outstanding: usize,
    /// At most this many outstanding: the connections plus the backlog's bound.
    capacity: usize,
    /// `None` once sending stopped.
    work_tx: Option<mpsc::UnboundedSender<Work>>,
    recorder: Recorder,
    auditor: Auditor,
    journal: Journal,
    not_sent: u64,
    completed: u64,
    unknown_keys: FastSet<IdemKey>,
    unknown_reqs: Vec<Request>,
    stats: EngineStats,
    response_all: hdrhistogram::Histogram<u64>,
    service_all: hdrhistogram::Histogram<u64>,
    journal_error: Option<String>,
    /// Batch debits to send, decided while handling an answer.
    pending_batch: Vec<(u16, Vec<u32>)>,
    /// Virtual time allowed for clock skew between driver and target.
    margin_micros: i64,
}

impl Scheduler {
    fn follow(&mut self, idx: u32, next: Next, now: SimTime) {
        let books = Books { events: &mut self.events, stats: &mut self.stats, recorder: &mut self.recorder, end: self.spec.end };
        schedule_agent(books, &self.agents[idx as usize], idx, next, now);
    }

    fn dispatch(&mut self, now_v: SimTime, due: Instant, owner: Owner, req: Request) {
        let phase = self.spec.phase_at(now_v);
        self.recorder.attempt(now_v, phase, &req);
        let job = Job { owner, req: req.clone(), phase: phase as u8, due };
        let id = match self.free.pop() {
            Some(i) => {
                self.jobs[i as usize] = Some(job);
                i
            }
            None => {
                self.jobs.push(Some(job));
                (self.jobs.len() - 1) as u32
            }
        };
        let handed = match &self.work_tx {
            Some(tx) if self.outstanding < self.capacity => tx.send(Work { id, req }).is_ok(),
            _ => false,
        };
        if handed {
            self.outstanding += 1;
        } else {
            // Every connection busy and the backlog full: counted as not sent, and the payer hears so.
            self.not_sent += 1;
            let now = Instant::now();
            self.complete(Done { id, resp: Response::Error { kind: "not_sent" }, decided_at: None, sent: now, done: now }, false);
        }
    }

    fn complete(&mut self, d: Done, was_sent: bool) {
        let Some(job) = self.jobs[d.id as usize].take() else {
            return;
        };
        self.free.push(d.id);
        if was_sent {
            self.outstanding -= 1;
            self.completed += 1;
        }
        let now_v = self.clock.at(d.done);
        let response = micros(d.done.saturating_duration_since(job.due));
        let service = micros(d.done.saturating_duration_since(d.sent));
        // The target decided somewhere between send and answer (widened by the skew margin).
        let decided_from = SimTime(self.clock.at(d.sent).0 - self.margin_micros);
        let timing = Timing { response_micros: response, service_micros: was_sent.then_some(service), decided_from };
        self.recorder.outcome(now_v, job.phase as usize, &job.req, &d.resp, timing);
        if was_sent {
            let _ = self.response_all.record(response.clamp(1, crate::report::recorder::LATENCY_MAX_MICROS));
            let _ = self.service_all.record(service.clamp(1, crate::report::recorder::LATENCY_MAX_MICROS));
            self.auditor.check(&job.req, &d.resp, self.clock.at(d.sent), now_v, d.decided_at);
        }
        if let Request::Pay { key, .. } = &job.req {
            let written = match &d.resp {
                Response::Accepted { payment, .. } => {
                    self.unknown_keys.remove(key);
                    self.journal.accepted(&self.spec, now_v, &job.req, *payment)
                }
                Response::Error { kind } if was_sent && *kind != "refused" => {
                    // The target may or may not have taken it.
                    if self.unknown_keys.insert(*key) {
                        self.unknown_reqs.push(job.req.clone());
                    }
                    self.journal.unknown(&self.spec, now_v, &job.req)
                }
                _ => Ok(()),
            };
            if let Err(e) = written {
                self.journal_error.get_or_insert(e.to_string());
            }
        }
        match job.owner {
            Owner::Agent(idx) => {
                let next = answer_agent(&mut self.agents[idx as usize], &self.demand, &mut self.recorder, now_v, &d.resp);
                self.follow(idx, next, now_v);
            }
            Owner::Batch { batch, member } => {
                let mut submit = Vec::new();
                self.batches[batch as usize].on_response(now_v, member, &d.resp, &mut submit, &mut self.events);
                self.pending_batch.push((batch, submit));
            }
        }
    }
}

fn histogram() -> hdrhistogram::Histogram<u64> {
    // Constant bounds within hdrhistogram's limits: creation cannot fail.
    hdrhistogram::Histogram::new_with_bounds(1, crate::report::recorder::LATENCY_MAX_MICROS, 3).expect("histogram bounds")
}

/// One-off HTTP calls (clock sync, ledger, reconciliation, hooks) go through reqwest.
fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap_or_default()
}

/// Set the target's clock to the run's. The target adopts the instant it is sent when it
/// receives it, so its clock lags by up to the call's round trip: the call is repeated (on
/// the same connection) until one round trip is short, and the last round trip is returned
/// so that the auditor's window can allow for it.
async fn sync_clock(base: &Base, clock: &VirtualClock, spec: &Spec, token: Option<&str>) -> Result<Duration, String> {
    const SHORT: Duration = Duration::from_millis(2);
    let http = client(Duration::from_secs(10));
    let mut rtt = Duration::ZERO;
    for _ in 0..5 {
        let body = contract::ClockBody { virtual_now: clock.now().format(spec.calendar.offset), time_scale: clock.scale() };
        let mut rb = http.post(format!("{}/v1/admin/clock", base.url)).json(&body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let sent = Instant::now();
        match rb.send().await {
            Ok(r) if r.status().is_success() => rtt = sent.elapsed(),
            Ok(r) => {
                return Err(format!(
                    "{}: POST /v1/admin/clock answered {} (give --admin-token, or --no-clock-sync for a target that keeps its own clock)",
                    base.url,
                    r.status()
                ));
            }
            Err(e) => return Err(format!("cannot reach the target {}: {e}", base.url)),
        }
        if rtt < SHORT {
            break;
        }
    }
    Ok(rtt)
}

async fn read_ledger_profile(base: &Base, spec: &Spec, p: &super::profile::Profile) -> Result<BTreeMap<LedgerKey, LedgerCell>, String> {
    let w = p.ledger_request();
    let method = reqwest::Method::from_bytes(w.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let r = client(Duration::from_secs(30))
        .request(method, format!("{}{}", base.url, w.path))
        .send()
        .await
        .map_err(|e| format!("{} {}: {e}", w.method, w.path))?;
    if !r.status().is_success() {
        return Err(format!("{} {} answered {}", w.method, w.path, r.status()));
    }
    let body = r.bytes().await.map_err(|e| format!("{} {}: {e}", w.method, w.path))?;
    p.read_ledger(spec, &body)
}

async fn read_ledger_http(base: &Base, spec: &Spec) -> Result<BTreeMap<LedgerKey, LedgerCell>, String> {
    let r =
        client(Duration::from_secs(30)).get(format!("{}/v1/ledger", base.url)).send().await.map_err(|e| format!("GET /v1/ledger: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("GET /v1/ledger answered {}", r.status()));
    }
    let w: contract::LedgerWire = r.json().await.map_err(|e| format!("GET /v1/ledger: {e}"))?;
    let mut out = BTreeMap::new();
    for c in w.cells {
        let l =
            spec.leagues.iter().position(|x| x.name == c.league).ok_or_else(|| format!("GET /v1/ledger: unknown league {:?}", c.league))?;
        let cell: &mut LedgerCell = out.entry((l as u8, c.group, c.insurance)).or_default();
        cell.count += c.count;
        cell.sum_fen += c.sum_fen;
    }
    Ok(out)
}

/// Whether the target holds a payment under `key`.
async fn present(
    target: &TargetChoice,
    base: Option<&Base>,
    model: Option<&Arc<Mutex<Model>>>,
    http: &reqwest::Client,
    key: IdemKey,
    profile: Option<&super::profile::Profile>,
) -> Result<bool, String> {
    match (target, base, model) {
        (TargetChoice::Model, _, Some(m)) => Ok(m.lock().map(|m| m.payment_by_key(key).is_some()).unwrap_or(false)),
        (_, Some(b), _) => {
            let path = match profile {
                Some(p) => p.payment_path(key),
                None => format!("/v1/payments/{}", key.to_text()),
            };
            let r = http.get(format!("{}{path}", b.url)).send().await.map_err(|e| format!("GET {path}: {e}"))?;
            match r.status().as_u16() {
                200 => Ok(true),
                404 => Ok(false),
                s => Err(format!("GET {path} answered {s}")),
            }
        }
        _ => Err("no target".into()),
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
        let mut cmd = tokio::process::Command::new(&hook.command[0]);
        cmd.args(&hook.command[1..]).kill_on_drop(true).stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
        let r = match tokio::time::timeout(limit, async { cmd.status().await }).await {
            Ok(Ok(st)) => (st.success(), format!("exit status {}", st.code().map(|c| c.to_string()).unwrap_or_else(|| "signal".into()))),
            Ok(Err(e)) => (false, format!("cannot start: {e}")),
            Err(_) => (false, format!("timed out after {} s", hook.timeout_seconds)),
        };
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
        Progress { bar, last_plain: Instant::now() }
    }
    fn update(&mut self, enabled: bool, s: &Scheduler, now_v: SimTime, started: Instant) {
        if !enabled {
            return;
        }
        let elapsed = started.elapsed().as_secs_f64().max(1e-9);
        let p99 = s.response_all.value_at_quantile(0.99) as f64 / 1000.0;
        let errors: u64 = s.recorder.errors_by_kind.values().sum();
        let phase = &s.spec.phases[s.spec.phase_at(now_v)].name;
        let msg = format!(
            "{} {:<18} {:>7.0} req/s  p99 {:>8.1} ms  errors {}  in flight {}",
            &now_v.format(s.spec.calendar.offset)[..16],
            phase,
            s.completed as f64 / elapsed,
            p99,
            errors,
            s.outstanding
        );
        match &self.bar {
            Some(b) => {
                b.set_position(((now_v.0 - s.spec.start.0) / 1_000_000).max(0) as u64);
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

pub async fn run(spec: Arc<Spec>, cfg: RunConfig, scenario_file: &str) -> Result<RunOutput, RunError> {
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| RunError::Io { path, source }
    };
    std::fs::create_dir_all(&cfg.out).map_err(io(&cfg.out))?;
    let scale = cfg.time_scale;
    let demand = Arc::new(Demand::new(spec.clone(), cfg.seed));
    let population = Population::new(&spec, cfg.seed);
    let cast = Cast::new(&demand, &population);

    let base = match &cfg.target {
        TargetChoice::Http { url } => Some(Base::parse(url).map_err(RunError::Target)?),
        TargetChoice::Model => None,
    };
    let model = matches!(cfg.target, TargetChoice::Model).then(|| Arc::new(Mutex::new(Model::new(Arc::new(Rules::from_spec(&spec))))));
    let clock = VirtualClock::starting_now(spec.start, scale);
    let sync_rtt = match (&base, cfg.sync_clock) {
        (Some(b), true) => Some(sync_clock(b, &clock, &spec, cfg.admin_token.as_deref()).await.map_err(RunError::Target)?),
        _ => None,
    };
    let connections = cfg.connections.max(1);
    let shared_reqwest = client(cfg.timeout);
    let transports: Vec<Transport> = (0..connections)
        .map(|_| match (&base, &model, cfg.transport) {
            (Some(b), _, TransportKind::Http1) => Transport::Http1 {
                conn: super::http1::Conn::new(b.addr, &b.host),
                scratch: Default::default(),
                profile: cfg.profile.clone(),
            },
            (Some(b), _, TransportKind::Hyper) => Transport::Hyper { base: b.clone(), sender: None, profile: cfg.profile.clone() },
            (Some(b), _, TransportKind::Reqwest) => {
                Transport::Reqwest { base: b.clone(), client: shared_reqwest.clone(), profile: cfg.profile.clone() }
            }
            (None, Some(m), _) => Transport::Model { model: m.clone(), clock },
            (None, None, _) => unreachable!("a model target always has a model"),
        })
        .collect();

    let ctx = Arc::new(CallCtx {
        spec: spec.clone(),
        timeout: cfg.timeout,
        scale,
        rebase_clock: (cfg.rebase_now && base.is_some()).then_some(clock),
    });
    let (work_tx, mut from_io, io_thread) =
        start_connections(ctx, transports).map_err(|e| RunError::Target(format!("cannot start the connection thread: {e}")))?;

    let rules = demand.rules.clone();
    // The auditor's window is widened by 5 ms of real time (clock skew, scheduling).
    // and by the clock call's round trip (how far the target's clock may lag).
    let margin_real = Duration::from_millis(5) + sync_rtt.unwrap_or_default();
    let margin = (margin_real.as_secs_f64() * 1e6 * scale) as i64;
    let mut s = Scheduler {
        spec: spec.clone(),
        demand: demand.clone(),
        clock,
        agents: cast.agents,
        batches: Vec::new(),
        events: EventQueue::default(),
        jobs: Vec::new(),
        free: Vec::new(),
        outstanding: 0,
        capacity: connections + cfg.queue_bound,
        work_tx: Some(work_tx),
        recorder: Recorder::new(spec.clone(), rules),
        auditor: Auditor::new(spec.clone(), margin),
        journal: Journal::create(&cfg.out).map_err(io(&cfg.out.join("journal.jsonl")))?,
        not_sent: 0,
        completed: 0,
        unknown_keys: FastSet::default(),
        unknown_reqs: Vec::new(),
        stats: EngineStats { payers_active: cast.payers_active, ..EngineStats::default() },
        response_all: histogram(),
        service_all: histogram(),
        journal_error: None,
        pending_batch: Vec::new(),
        margin_micros: margin,
    };
    s.stats.agents = s.agents.len() as u64;
    // About one payment per payer: room for them up front.
    s.recorder.reserve(s.agents.len());
    s.auditor.reserve(s.agents.len());
    for (idx, next) in cast.first.into_iter().enumerate() {
        if s.agents[idx].displaced {
            s.recorder.displaced(spec.start);
        }
        s.follow(idx as u32, next, spec.start);
    }
    for (b, members) in cast.batch_members.into_iter().enumerate() {
        s.stats.batch_members += members.len() as u64;
        s.batches.push(BatchRunner::new(b, &spec.batches[b], members));
        for (r, at) in spec.batches[b].runs.iter().enumerate() {
            s.events.push(*at, Ev::BatchRun { batch: b as u16, run: r as u16 });
        }
    }
    let mut hooks: Vec<(SimTime, crate::scenario::Hook)> = spec
        .raw
        .hooks
        .iter()
        .filter_map(|h| spec.phases.iter().find(|p| p.name == h.phase).map(|p| (p.start.max(spec.start), h.clone())))
        .collect();
    hooks.sort_by_key(|(t, _)| *t);
    let mut hooks = std::collections::VecDeque::from(hooks);
    let mut hook_tasks = Vec::new();

    let started = Instant::now();
    let cpu_at_start = cpu_seconds();
    let mut progress = Progress::new(cfg.progress, &spec);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;

    loop {
        // Send everything due.
        let now_real = Instant::now();
        let mut sent_now = 0;
        while let Some(t) = s.events.peek_time() {
            if t >= spec.end || s.clock.real_instant(t) > now_real || sent_now >= 20_000 {
                break;
            }
            let Some((t, ev)) = s.events.pop() else { break };
            let due = s.clock.real_instant(t);
            sent_now += 1;
            match ev {
                Ev::Wake(idx) => {
                    let req = s.agents[idx as usize].request();
                    s.dispatch(t, due, Owner::Agent(idx), req);
                }
                Ev::BatchRun { batch, run } => {
                    let submit = s.batches[batch as usize].start_run(t, run as usize);
                    s.pending_batch.push((batch, submit));
                }
                Ev::BatchRetry { batch, member } => {
                    let submit = s.batches[batch as usize].retry(member);
                    s.pending_batch.push((batch, submit));
                }
                Ev::ChannelDone(_) | Ev::BackendDone(_) => {}
            }
            while let Some((batch, members)) = s.pending_batch.pop() {
                for m in members {
                    let req = s.batches[batch as usize].request(m);
                    s.dispatch(t, due, Owner::Batch { batch, member: m }, req);
                }
            }
        }
        while hooks.front().is_some_and(|(t, _)| s.clock.real_instant(*t) <= now_real) {
            if let Some((t, h)) = hooks.pop_front() {
                hook_tasks.push(tokio::spawn(run_hook(h, t.format(spec.calendar.offset), started)));
            }
        }
        let next_due = s.events.peek_time().filter(|t| *t < spec.end).map(|t| s.clock.real_instant(t));
        if next_due.is_none() && s.outstanding == 0 && s.pending_batch.is_empty() {
            break;
        }
        // The runtime's timers tick in whole milliseconds: a request due sooner than two of
        // them is waited for by a precise sleep of this thread instead, or the lag of the
        // timer (up to a millisecond and more) would show in every response time. (Answers
        // are timed on the connection thread, so the pause delays no measurement.)
        if let Some(due) = next_due {
            let left = due.saturating_duration_since(Instant::now());
            if !left.is_zero() && left < Duration::from_millis(2) {
                std::thread::sleep(left);
            }
        }
        let wake = next_due.map(tokio::time::Instant::from_std).unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            biased;
            _ = &mut ctrl_c => { interrupted = true; break; }
            Some(m) = from_io.recv(), if s.outstanding > 0 => {
                // Take every answer already there, then flush the journal once.
                let mut next = Some(m);
                while let Some(m) = next {
                    if let FromIo::Answer(d) = m {
                        s.complete(d, true);
                    }
                    next = from_io.try_recv().ok();
                }
                if let Err(e) = s.journal.flush() {
                    s.journal_error.get_or_insert(e.to_string());
                }
                let now_v = s.clock.now();
                while let Some((batch, members)) = s.pending_batch.pop() {
                    for m in members {
                        let req = s.batches[batch as usize].request(m);
                        s.dispatch(now_v, Instant::now(), Owner::Batch { batch, member: m }, req);
                    }
                }
            }
            _ = tokio::time::sleep_until(wake), if next_due.is_some() => {}
            _ = tick.tick() => progress.update(cfg.progress, &s, s.clock.now(), started),
        }
    }

    // Stop sending (what waits for a connection stays unsent); wait a bounded time for the
    // answers in flight.
    s.work_tx = None;
    let deadline = tokio::time::Instant::now() + cfg.drain;
    let mut unsent = 0;
    let mut told_unsent = false;
    while s.outstanding > 0 || !told_unsent {
        tokio::select! {
            m = from_io.recv() => match m {
                Some(FromIo::Answer(d)) => s.complete(d, true),
                Some(FromIo::Unsent(n)) => {
                    told_unsent = true;
                    unsent = n;
                    s.outstanding -= n.min(s.outstanding);
                }
                None => break,
            },
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    // The connection thread ends as soon as it sees nobody listens.
    drop(from_io);
    let _ = io_thread.join();
    progress.finish();
    if let Err(e) = s.journal.flush() {
        s.journal_error.get_or_insert(e.to_string());
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_at_start.zip(cpu_seconds()).map(|(a, b)| b - a);
    s.stats.in_flight_at_end = (s.outstanding + unsent) as u64;
    s.stats.pending_at_end += s.events.len() as u64;
    s.stats.events = s.completed + s.not_sent;
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
    let http = client(Duration::from_secs(10));
    let mut rec = Reconciliation { acknowledged: s.recorder.acknowledged().len() as u64, ..Reconciliation::default() };
    let unknown: Vec<Request> =
        s.unknown_reqs.iter().filter(|r| contract_key(r).is_some_and(|k| s.unknown_keys.contains(&k))).cloned().collect();
    rec.unknown = unknown.len() as u64;
    for req in &unknown {
        let Some(key) = contract_key(req) else {
            continue;
        };
        match present(&cfg.target, base.as_ref(), model.as_ref(), &http, key, cfg.profile.as_deref()).await {
            Ok(true) => {
                rec.unknown_present += 1;
                s.recorder.book(req);
            }
            Ok(false) => rec.unknown_absent += 1,
            Err(e) => {
                rec.read_error.get_or_insert(e);
            }
        }
    }
    const KEY_CHECK_LIMIT: usize = 200_000;
    if s.recorder.acknowledged().len() <= KEY_CHECK_LIMIT {
        rec.checked_by_key = true;
        let mut keys: Vec<IdemKey> = s.recorder.acknowledged().iter().copied().collect();
        keys.sort();
        for key in keys {
            match present(&cfg.target, base.as_ref(), model.as_ref(), &http, key, cfg.profile.as_deref()).await {
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
    let actual = match (&base, &model) {
        (Some(b), _) => match &cfg.profile {
            Some(p) => read_ledger_profile(b, &spec, p).await,
            None => read_ledger_http(b, &spec).await,
        },
        (None, Some(m)) => m.lock().map(|m| m.ledger()).map_err(|_| "model lock poisoned".to_string()),
        _ => Err("no target".into()),
    };
    if let Ok(a) = &actual {
        rec.ledger_entries = a.values().map(|c| c.count).sum();
        let expected = s.recorder.expected_ledger();
        rec.phantoms_or_duplicates = a.iter().map(|(k, c)| c.count.saturating_sub(expected.get(k).map(|e| e.count).unwrap_or(0))).sum();
    }

    let batches = s.batches.iter().map(|b| b.report(&spec)).collect();
    let audit = s.auditor.report();
    let mut report = crate::report::build(crate::report::BuildInput {
        spec: &spec,
        scenario_file,
        mode: "run",
        seed: cfg.seed,
        recorder: &s.recorder,
        stats: &s.stats,
        batches,
        actual_ledger: actual,
        audit_disagreements: audit.disagreements,
    });
    let target = match &cfg.target {
        TargetChoice::Http { url } => url.clone(),
        TargetChoice::Model => "in-process model".into(),
    };
    report.live = Some(LiveReport {
        target,
        transport: match (&cfg.target, cfg.transport) {
            (TargetChoice::Model, _) => "model".into(),
            (_, TransportKind::Http1) => "http1".into(),
            (_, TransportKind::Hyper) => "hyper-http1".into(),
            (_, TransportKind::Reqwest) => "reqwest".into(),
        },
        time_scale: scale,
        connections,
        queue_bound: cfg.queue_bound,
        interrupted,
        wall_seconds: (wall * 1000.0).round() / 1000.0,
        requests_completed: s.completed,
        requests_per_second: (s.completed as f64 / wall.max(1e-9)).round(),
        client_cpu_seconds: cpu.map(|c| (c * 100.0).round() / 100.0),
        client_cpu_micros_per_request: cpu.filter(|_| s.completed > 0).map(|c| (c * 1e6 / s.completed as f64 * 10.0).round() / 10.0),
        response_time_ms: crate::report::latency(&s.response_all),
        service_time_ms: crate::report::latency(&s.service_all),
        not_sent: s.not_sent,
        clock_sync_round_trip_ms: sync_rtt.map(|d| (d.as_secs_f64() * 1e5).round() / 100.0),
        audit_margin_ms: (margin_real.as_secs_f64() * 1e5).round() / 100.0,
        errors_by_kind: s.recorder.errors_by_kind.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        journal: JournalReport { path: s.journal.path.display().to_string(), accepted: s.journal.accepted, unknown: s.journal.unknown },
        reconciliation: rec,
        audit,
        hooks: hook_reports,
    });
    if let Some(e) = s.journal_error {
        return Err(RunError::Io { path: s.journal.path.display().to_string(), source: std::io::Error::other(e) });
    }
    Ok(RunOutput { report, interrupted })
}

fn contract_key(req: &Request) -> Option<IdemKey> {
    super::journal::key_of(req)
}
