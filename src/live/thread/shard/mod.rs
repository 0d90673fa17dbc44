//! One thread of the live driver: a share of the payers and of the connections, and
//! everything between them.
//!
//! `cutover run` splits the payers' agents among its threads (the bank's batch debits all
//! go to the first), and gives each thread its share of the connections and of the backlog
//! bound. A thread owns its agents, batch runners, recorder, auditor and journal writer,
//! and its connections: at a request's scheduled instant it sends the request itself on an
//! idle connection of its own (for `--transport http1`, a socket in the thread's own
//! readiness loop, [`super::reactor`]; otherwise one future in its set of requests in
//! flight on the thread's tokio runtime) or, with every one busy, puts it in its backlog; past connections plus backlog bound the arrival is
//! counted as not sent (and its payer told so), never dropped silently. Nothing passes
//! between threads per request: handing each request and answer between a scheduler thread
//! and a connection thread cost about an eighth of the CPU per request (measured:
//! BENCHMARKS.md). A payer's requests all go through one thread, so each
//! thread's auditor sees the whole history of its payers. The coordinator merges the
//! threads' results at the end (see [`crate::report::feed::recorder::Recorder::merge`]).
//!
//! A request's response time runs from its scheduled instant, so a stalled target shows
//! in every request that had to wait, not only in those on the wire.

use super::auditor::Auditor;
pub(in crate::live) use super::gauge::Gauge;
use super::gauge::Snapshot;
use super::journal::Journal;
use super::lanes::{CallCtx, Done, Lanes, Work};
use chores::Chores;

mod chores;
mod drive;
use super::transport::Transport;
use crate::clock::VirtualClock;
use crate::cohort::counters::{Arrival, CounterEvent as Local, Counters};
use crate::cohort::{Cohort, Members};
use crate::demand::Demand;
use crate::hash::FastSet;
use crate::model::{IdemKey, Request, Response};
use crate::report::EngineStats;
use crate::report::data::live::AuditReport;
use crate::report::feed::recorder::{LATENCY_MAX_MICROS, Recorder, RecorderPart, Timing};
use crate::scenario::Spec;
use crate::time::SimTime;
use crate::vocabulary::Failure;
pub(in crate::live) use drive::start;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Everything a thread starts with.
pub(in crate::live) struct Plan {
    /// This thread's index and how many there are (for its share of the counters).
    pub thread: (usize, usize),
    pub spec: Arc<Spec>,
    pub demand: Arc<Demand>,
    pub clock: VirtualClock,
    pub members: Members,
    pub conns: Conns,
    pub ctx: Arc<CallCtx>,
    /// Requests handed to the connections (in flight or in the backlog) at most.
    pub capacity: usize,
    pub journal: Journal,
    /// How long to wait for answers in flight after the end or a stop.
    pub drain: Duration,
    /// When the systems' maintenance switches went through.
    pub switches: Arc<super::switchboard::Switchboard>,
    /// How late a step may be taken while steps fall due closer together than this
    /// (`--slack-us`, see [`Shard::wake_for`]).
    pub slack: Duration,
}

/// A thread's connections: driven by its own readiness loop (`--transport http1`), or
/// each a future on its tokio runtime (the other transports and the in-process model).
pub(in crate::live) enum Conns {
    Http1(Vec<super::reactor::Lane>),
    Tasks(Vec<Transport>),
}

/// What a thread ends with: all the coordinator merges, and what a shard writes in its part
/// file for `cutover merge` (histograms in their own encoding, so the merge adds counts).
#[derive(serde::Serialize, serde::Deserialize)]
pub(in crate::live) struct Output {
    pub recorder: RecorderPart,
    pub audit: AuditReport,
    pub stats: EngineStats,
    /// `stats.payers_active`, which the report's engine section does not write.
    pub payers_active: u64,
    pub batches: Vec<crate::report::BatchReport>,
    /// Lines the thread wrote to the journal: acknowledged payments, and outcomes unknown.
    pub journal_accepted: u64,
    pub journal_unknown: u64,
    pub journal_error: Option<String>,
    #[serde(with = "crate::metrics::encoded::one")]
    pub response_all: hdrhistogram::Histogram<u64>,
    #[serde(with = "crate::metrics::encoded::one")]
    pub service_all: hdrhistogram::Histogram<u64>,
    pub not_sent: u64,
    pub completed: u64,
    /// Payments whose outcome stayed unknown (timeouts, resets) and never got an answer later.
    pub unknown: Vec<Request>,
    /// Answers counted as errors, with what the wire showed.
    pub failures: super::failures::FailureLog,
    /// Per system: the timeline's instant of its last answer that was not an error.
    pub last_good: [Option<SimTime>; 2],
    /// How late the thread itself started each request against its due instant (µs), per
    /// phase × channel (`phase * channels + channel`).
    #[serde(with = "crate::metrics::encoded::list_of_optional")]
    pub lateness: Vec<Option<hdrhistogram::Histogram<u64>>>,
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u64::MAX as u128) as u64
}

pub(in crate::live) use crate::metrics::latency_histogram as histogram;

/// A sending thread: its cohort plus its connections and the real clock.
struct Shard<P> {
    spec: Arc<Spec>,
    clock: VirtualClock,
    cohort: Cohort<Local>,
    /// The people at counters and the hotline's agents, in the run's compressed time: a
    /// payer queues there, and its request goes to the target when a counter served it.
    counters: Counters,
    counter_rng: rand_chacha::ChaCha8Rng,
    /// The real instant each job (by the cohort's id) was due.
    due: Vec<Instant>,
    /// The real instant a job left its counter (served, or sent away), for jobs of a channel
    /// with counters: its wait there counts in the payer's virtual minutes, apart from the
    /// target's answer time.
    left_counter: Vec<Option<Instant>>,
    /// Whether new requests go out (not after the end or a stop: the drain only listens).
    sending: bool,
    pool: P,
    /// Requests waiting for a connection, oldest first, per system (a connection reaches one).
    backlog: Vec<VecDeque<Work>>,
    /// Requests handed to the pool (in flight or in its backlog) and not answered yet.
    outstanding: usize,
    capacity: usize,
    auditor: Auditor,
    journal: Journal,
    not_sent: u64,
    completed: u64,
    unknown_keys: FastSet<IdemKey>,
    unknown_reqs: Vec<Request>,
    failures: super::failures::FailureLog,
    /// Per system: answers over the wire (or never sent), and those counted as errors.
    answers_by_system: [u64; 2],
    failed_by_system: [u64; 2],
    last_good: [Option<SimTime>; 2],
    /// See [`Output::lateness`].
    lateness: Vec<Option<hdrhistogram::Histogram<u64>>>,
    response_all: hdrhistogram::Histogram<u64>,
    service_all: hdrhistogram::Histogram<u64>,
    journal_error: Option<String>,
    switches: Arc<super::switchboard::Switchboard>,
    /// When the oldest journal line not yet written was taken (None: none waits).
    pending_since: Option<Instant>,
    /// The mean time between answers lately (nanoseconds, exponentially weighted), and
    /// when the last one was read: whether the next answer is worth waiting for awake.
    answer_gap_ns: f64,
    last_answer: Instant,
    /// See [`Plan::slack`].
    slack: Duration,
    /// The mean time between due steps lately (nanoseconds, exponentially weighted), and the
    /// last one's instant: whether the steps come close enough together to wake for several.
    due_gap_ns: f64,
    last_due: Option<Instant>,
    /// The real instant a conditional rollback is decided at, until this thread published
    /// its figures for it.
    decide: Option<Instant>,
    /// How far the targets' clocks may lag the run's (from the start gate): the auditor's
    /// margin at each answer.
    lag: Option<Arc<crate::live::pace::ClockLag>>,
}

/// The journal's lines go to the file at most this long after their answers.
const JOURNAL_EVERY: Duration = Duration::from_millis(1);

impl<P: Lanes> Shard<P> {
    fn new(plan: Plan, pool: P) -> Shard<P> {
        let rules = plan.demand.rules.clone();
        let mut recorder = Recorder::new(plan.spec.clone(), rules.clone());
        recorder.keep_backlog_steps();
        // About one payment per payer: room for them up front.
        let payers = plan.members.agents.len();
        recorder.reserve(payers);
        let real_time = plan.ctx.rebase && plan.clock.scale() > 1.0;
        let mut auditor = Auditor::new(plan.spec.clone(), rules.clone(), plan.members.payers(), real_time);
        let decide = plan
            .spec
            .cutover
            .as_ref()
            .and_then(|x| x.rollback.as_ref())
            .filter(|r| r.conditional())
            .map(|r| plan.clock.real_instant(r.decide_at));
        auditor.reserve(payers);
        Shard {
            counters: Counters::share_of(&plan.spec, plan.thread.0, plan.thread.1),
            counter_rng: crate::rng::component(plan.demand.seed ^ plan.thread.0 as u64, "live/counters"),
            spec: plan.spec.clone(),
            clock: plan.clock,
            cohort: Cohort::new(plan.spec.clone(), plan.demand, plan.members, recorder),
            due: Vec::new(),
            left_counter: Vec::new(),
            sending: true,
            pool,
            backlog: (0..plan.spec.system_names().len()).map(|_| VecDeque::new()).collect(),
            outstanding: 0,
            capacity: plan.capacity,
            auditor,
            journal: plan.journal,
            not_sent: 0,
            completed: 0,
            unknown_keys: FastSet::default(),
            unknown_reqs: Vec::new(),
            failures: Default::default(),
            answers_by_system: [0; 2],
            failed_by_system: [0; 2],
            last_good: [None; 2],
            lateness: Vec::new(),
            response_all: histogram(),
            service_all: histogram(),
            journal_error: None,
            switches: plan.switches,
            pending_since: None,
            answer_gap_ns: f64::INFINITY,
            last_answer: Instant::now(),
            slack: plan.slack,
            due_gap_ns: f64::INFINITY,
            last_due: None,
            decide,
            lag: None,
        }
    }

    /// The gate opened: run on its clock from now on, anchored when it opened (every copy of
    /// the run's clock shows the same instant), and allow for the targets' clocks' lag.
    fn start(&mut self, start: Start) {
        let clock = start.clock;
        self.lag = Some(start.lag);
        self.clock = clock;
        if self.decide.is_some() {
            self.decide = self.spec.cutover.as_ref().and_then(|x| x.rollback.as_ref()).map(|r| clock.real_instant(r.decide_at));
        }
        self.pool.anchor(clock);
    }

    /// At a conditional rollback's decision instant: this thread's figures for the
    /// coordinator, which decides on every thread's.
    fn publish_rollback(&mut self, gauge: &Gauge) {
        self.decide = None;
        let Some(r) = self.spec.cutover.as_ref().and_then(|x| x.rollback.as_ref()) else { return };
        let w = crate::report::check::rollback::measure(&self.spec, r, &self.cohort.recorder);
        if let Ok(mut slot) = gauge.rollback.lock() {
            *slot = Some(w);
        }
    }

    /// Send (or queue for a connection) every request the cohort started, due at `due`.
    /// Past connections plus backlog bound a request is not sent, and its owner told so.
    fn send_started(&mut self, due: Instant, late: Option<Duration>) {
        if !self.sending {
            return;
        }
        while let Some(id) = self.cohort.take_started() {
            if let Some(late) = late {
                self.note_lateness(id, late);
            }
            if self.due.len() <= id as usize {
                self.due.resize(id as usize + 1, due);
                self.left_counter.resize(id as usize + 1, None);
            }
            self.due[id as usize] = due;
            self.left_counter[id as usize] = None;
            // To the counters first, where the channel has them.
            let now_v = self.clock.at(due);
            match self.counters.arrive(&self.spec, &mut self.cohort, &mut self.counter_rng, now_v, id, 0) {
                Arrival::Taken => {}
                Arrival::Answer(resp) => self.account(Done { id, resp, decided_at: None, sent: due, done: due, seen: None }, false),
                Arrival::NoCounter => self.send_job(id, due),
            }
        }
    }

    /// Job `id` was started `late` after its instant by the thread itself.
    fn note_lateness(&mut self, id: u32, late: Duration) {
        let job = self.cohort.job(id);
        let channels = self.spec.channels.len();
        let i = job.phase as usize * channels + job.req.channel() as usize;
        if self.lateness.len() <= i {
            self.lateness.resize_with(i + 1, || None);
        }
        let h = self.lateness[i].get_or_insert_with(crate::metrics::lateness_histogram);
        let _ = h.record(micros(late).clamp(1, crate::metrics::LATENESS_MAX_MICROS));
    }

    /// Job `id` left its counter at `at` (served, or sent away).
    fn left_counter_at(&mut self, id: u32, at: Instant) {
        if let Some(l) = self.left_counter.get_mut(id as usize) {
            *l = Some(at);
        }
    }

    /// Send job `id` to its system now (or queue it for a connection); a hotline call is
    /// answered here, never sent. Past connections plus backlog it is not sent.
    fn send_job(&mut self, id: u32, due: Instant) {
        if let Request::Call { .. } = self.cohort.job(id).req {
            self.account(Done { id, resp: Response::CallAnswered, decided_at: None, sent: due, done: due, seen: None }, false);
            return;
        }
        if self.outstanding < self.capacity {
            self.outstanding += 1;
            let job = self.cohort.job(id);
            let (req, system) = (job.req.clone(), job.system);
            match self.pool.start(Work { id, req, system }) {
                Ok(()) => self.auditor.prefetch(system, &self.cohort.job(id).req),
                Err(w) => self.backlog[system as usize].push_back(w),
            }
        } else {
            // Every connection busy and the backlog full: counted as not sent, and the payer hears so.
            self.not_sent += 1;
            let resp = Response::Error { kind: Failure::NotSent };
            self.account(Done { id, resp, decided_at: None, sent: due, done: due, seen: None }, false);
        }
    }

    /// Send every request due by `now_real` (at most `limit`, so that answers are read
    /// between long runs of sends).
    fn send_due(&mut self, now_real: Instant, limit: usize) {
        let mut sent_now = 0;
        while let Some(t) = self.cohort.next_due() {
            let due = self.clock.real_instant(t);
            if due > now_real || sent_now >= limit {
                break;
            }
            self.note_due(due);
            match self.cohort.pop_due(t) {
                Some((_, Some(ev))) => self.local(t, due, ev),
                Some((_, None)) => {}
                None => break,
            }
            sent_now += 1;
            // The thread's own lateness: the turn that reached this step began after its
            // instant (the pool and the queue bound come later, and are the target's doing).
            self.send_started(due, Some(now_real.saturating_duration_since(due)));
        }
    }

    /// One of the thread's own events, due at virtual `t` (real `due`).
    fn local(&mut self, t: SimTime, due: Instant, ev: Local) {
        match ev {
            Local::Served(job) => {
                self.left_counter_at(job, due);
                self.send_job(job, due)
            }
            Local::Closing(p) => {
                for (job, resp) in self.counters.closing(&self.cohort, t, p) {
                    self.left_counter_at(job, due);
                    self.account(Done { id: job, resp, decided_at: None, sent: due, done: due, seen: None }, false);
                }
            }
            Local::HangUp(job) => {
                if let Some(resp) = self.counters.hang_up(t, job) {
                    self.left_counter_at(job, due);
                    self.account(Done { id: job, resp, decided_at: None, sent: due, done: due, seen: None }, false);
                }
            }
        }
    }

    /// An answer came: account for it, then send what it let start (batch debits).
    fn complete(&mut self, d: Done, was_sent: bool) {
        let done = d.done;
        self.account(d, was_sent);
        self.send_started(done, None);
    }

    /// Account for an answer: the cohort records it and its owner reacts; the thread's
    /// histograms, auditor and journal.
    fn account(&mut self, d: Done, was_sent: bool) {
        if was_sent {
            assert!(self.outstanding > 0, "an answer with nothing outstanding");
            self.outstanding -= 1;
            self.completed += 1;
        }
        let now_v = self.clock.at(d.done);
        let due = self.due.get(d.id as usize).copied().unwrap_or(d.sent);
        // The target's part: from the instant the request was due to leave for it (after a
        // counter, when it left the counter). A wait at a counter is the payer's, in virtual
        // time as in `simulate`: the cell's response time is both, the headline the target's.
        let left = self.left_counter.get(d.id as usize).copied().flatten();
        let target = micros(d.done.saturating_duration_since(left.unwrap_or(due)));
        let at_counter = left.map_or(0, |l| self.clock.at(l).micros_since(self.clock.at(due)).max(0) as u64);
        let response = target.saturating_add(at_counter);
        let service = micros(d.done.saturating_duration_since(d.sent));
        // The target decided somewhere between send and answer (widened by how far its clock
        // may lag the run's now), by the rules before a switch still under way when it was sent.
        if let Some(lag) = &self.lag {
            let (before, after) = lag.margins(d.sent, d.done);
            self.auditor.set_margins(before, after);
        }
        let system = self.cohort.system_of(d.id).unwrap_or(0);
        let sent_v = self.switches.effective_from(system, self.clock.at(d.sent));
        let decided_from = SimTime(sent_v.0 - self.auditor.margin_before());
        let timing = Timing { response_micros: response, service_micros: was_sent.then_some(service), decided_from };
        // Its counter is free for the next in line.
        self.counters.release(&self.spec, &mut self.cohort, &mut self.counter_rng, now_v, d.id);
        let Some(job) = self.cohort.answer(d.id, now_v, &d.resp, timing) else {
            return;
        };
        self.failures.add(job.phase, job.system, &job.req, &d.resp, d.seen.as_deref());
        let error = d.resp.error_kind();
        if was_sent || error == Some(crate::vocabulary::ErrorKind::Failure(crate::vocabulary::Failure::NotSent)) {
            let s = (job.system as usize).min(1);
            self.answers_by_system[s] += 1;
            self.failed_by_system[s] += error.is_some() as u64;
            if error.is_none() && was_sent {
                self.last_good[s] = self.last_good[s].max(Some(now_v));
            }
        }
        if was_sent {
            let _ = self.response_all.record(target.clamp(1, LATENCY_MAX_MICROS));
            let _ = self.service_all.record(service.clamp(1, LATENCY_MAX_MICROS));
            let (cohort, payer) = (&self.cohort, job.req.payer().id);
            self.auditor.check(&job.req, job.system, &d.resp, sent_v, now_v, d.decided_at, || cohort.pays_in_flight(payer));
        }
        if let Request::Pay { key, .. } = &job.req {
            let written = match &d.resp {
                Response::Accepted { payment, .. } => {
                    self.unknown_keys.remove(key);
                    self.journal.accepted(&self.spec, now_v, job.system, &job.req, payment)
                }
                Response::Error { kind } if was_sent && kind.outcome_unknown() => {
                    // The target may or may not have taken it.
                    if self.unknown_keys.insert(*key) {
                        self.unknown_reqs.push(job.req.clone());
                    }
                    self.journal.unknown(&self.spec, now_v, job.system, &job.req)
                }
                _ => Ok(()),
            };
            if let Err(e) = written {
                self.journal_error.get_or_insert(e.to_string());
            }
        }
    }

    fn flush_journal(&mut self) {
        self.pending_since = None;
        if let Err(e) = self.journal.flush() {
            self.journal_error.get_or_insert(e.to_string());
        }
    }

    /// After `n` answers, the last read at `last`: the mean gap between answers, the
    /// journal's flush if its oldest waiting line was taken a millisecond ago (else the
    /// turn that falls due then, or an earlier one's that would otherwise sleep past it).
    /// A line waits up to that millisecond, not less: flushed a millisecond after the last
    /// flush instead, a thread waking every 0.6 ms wrote at nearly every wake-up.
    fn after_answers(&mut self, last: Instant, n: u32, flush_due: &mut Option<Instant>) {
        let gap = last.saturating_duration_since(self.last_answer).as_nanos() as f64 / n.max(1) as f64;
        self.last_answer = last;
        self.answer_gap_ns = if self.answer_gap_ns.is_finite() { self.answer_gap_ns * 0.875 + gap * 0.125 } else { gap };
        if !self.journal.pending() {
            return;
        }
        // By the clock, not by the answers' arrival stamps: a thread that slept through
        // answers takes them up to NAP_AT_MOST after they came.
        let now = Instant::now();
        let since = *self.pending_since.get_or_insert(now);
        if now.saturating_duration_since(since) >= JOURNAL_EVERY {
            self.flush_journal();
            *flush_due = None;
        } else if flush_due.is_none_or(|f| f > since + JOURNAL_EVERY) {
            *flush_due = Some(since + JOURNAL_EVERY);
        }
    }

    /// The start of a turn of a thread's loop: the chores due, then the requests due.
    /// The clock's reading, or `None` when the coordinator says stop.
    fn begin_turn(&mut self, chores: &mut Chores, gauge: &Gauge) -> Option<Instant> {
        if gauge.stop.load(Relaxed) {
            return None;
        }
        let now = Instant::now();
        if chores.due(now, self, gauge) {
            self.pool.sweep(now);
        }
        if self.decide.is_some_and(|d| now >= d) {
            self.publish_rollback(gauge);
        }
        self.send_due(now, 20_000);
        Some(now)
    }

    /// A turn of the drain after the end or a stop: the deadline sweep if due; the clock's
    /// reading, or `None` once the drain's `deadline` passed.
    fn drain_turn(&mut self, chores: &mut Chores, deadline: Instant) -> Option<Instant> {
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        if chores.sweep_due(now) {
            self.pool.sweep(now);
        }
        Some(now)
    }

    /// Whether the run is over for this thread: nothing left to send or wait for. Else when
    /// to wake for the next due step ([`Shard::wake_for`]), if there is one.
    fn finished(&self, now: Instant) -> Option<Option<Instant>> {
        let next_due = self.cohort.next_due().map(|t| self.clock.real_instant(t));
        if next_due.is_none() && self.outstanding == 0 && self.cohort.started_waiting() == 0 {
            return None;
        }
        Some(next_due.map(|due| self.wake_for(due, now)))
    }

    /// A step fell due at `due`: the mean gap between due steps follows.
    fn note_due(&mut self, due: Instant) {
        if let Some(last) = self.last_due {
            let gap = due.saturating_duration_since(last).as_secs_f64() * 1e9;
            self.due_gap_ns = if self.due_gap_ns.is_finite() { self.due_gap_ns * 0.875 + gap * 0.125 } else { gap };
        }
        self.last_due = Some(due);
    }

    /// When to wake for a step due at `due`, it being `now`: at its instant; or, while steps
    /// have lately fallen due closer together than the slack, the slack after it, so that one
    /// wake-up takes every step of that stretch. Each wake-up costs a sleep and a context
    /// switch, the larger part of a request's CPU at a few thousand a second (measured:
    /// BENCHMARKS.md). A step taken late is late in the report too: its response time counts
    /// from its instant, and the driver's lateness shows the slack.
    fn wake_for(&self, due: Instant, now: Instant) -> Instant {
        if due > now && self.due_gap_ns < self.slack.as_nanos() as f64 { due + self.slack } else { due }
    }

    /// After the drain: the thread's results. `unsent`: requests that still waited for a
    /// connection when sending stopped.
    fn output(mut self, gauge: &Gauge, unsent: usize) -> Output {
        self.flush_journal();
        self.publish(gauge);
        self.publish_metrics(gauge);
        // Done before the decision (or stopped): its figures are final.
        if self.decide.is_some() {
            self.publish_rollback(gauge);
        }
        let pending = self.cohort.pending_events() as u64;
        let never_sent = self.cohort.started_waiting();
        let (recorder, mut stats, batches) = self.cohort.into_parts();
        // Sent and not answered within the drain, plus those still waiting for a connection.
        stats.in_flight_at_end = (self.outstanding + unsent + never_sent) as u64;
        stats.pending_at_end += pending;
        stats.events = self.completed + self.not_sent;
        let unknown = self
            .unknown_reqs
            .iter()
            .filter(|r| super::journal::key_of(r).is_some_and(|k| self.unknown_keys.contains(&k)))
            .cloned()
            .collect();
        Output {
            recorder: recorder.into_part(),
            audit: self.auditor.report(),
            payers_active: stats.payers_active,
            stats,
            batches: batches.iter().map(|b| b.report(&self.spec)).collect(),
            journal_accepted: self.journal.accepted,
            journal_unknown: self.journal.unknown,
            journal_error: self.journal_error,
            response_all: self.response_all,
            service_all: self.service_all,
            not_sent: self.not_sent,
            completed: self.completed,
            unknown,
            failures: self.failures,
            last_good: self.last_good,
            lateness: self.lateness,
        }
    }

    /// The oldest request waiting for a connection to `system`, which is about to be sent:
    /// the auditor is told, to ask for what checking its answer will read.
    fn next_waiting(&mut self, system: crate::scenario::SystemIdx) -> Option<Work> {
        let w = self.backlog[system as usize].pop_front()?;
        self.auditor.prefetch(w.system, &w.req);
        Some(w)
    }

    /// Stop sending: what waits for a connection stays unsent. Returns how many did.
    fn drop_backlog(&mut self) -> usize {
        self.sending = false;
        let unsent: usize = self.backlog.iter().map(VecDeque::len).sum();
        self.backlog.iter_mut().for_each(VecDeque::clear);
        self.outstanding -= unsent.min(self.outstanding);
        unsent
    }

    /// The figures a metrics scrape reads: this thread's cells, copied.
    fn publish_metrics(&self, g: &Gauge) {
        if !g.wants_metrics.load(Relaxed) {
            return;
        }
        let cells = self.cohort.recorder.cells().map(|(p, ch, op, c)| (p, ch, op, c.counters.clone(), c.latency_micros.clone())).collect();
        let snap = Snapshot { cells, not_sent: self.not_sent, disagreements: self.auditor.disagreements() };
        if let Ok(mut m) = g.metrics.lock() {
            *m = Some(snap);
        }
    }

    fn publish(&self, g: &Gauge) {
        g.completed.store(self.completed, Relaxed);
        g.outstanding.store(self.outstanding as u64, Relaxed);
        g.errors.store(self.cohort.recorder.errors_by_kind.values().sum(), Relaxed);
        for s in 0..2 {
            g.answers[s].store(self.answers_by_system[s], Relaxed);
            g.failed[s].store(self.failed_by_system[s], Relaxed);
        }
        g.accepted_while_suspended.store(self.cohort.recorder.accepted_while_suspended, Relaxed);
        g.disagreements.store(self.auditor.disagreements(), Relaxed);
        if g.wants_latency.load(Relaxed)
            && let Ok(mut h) = g.response.lock()
        {
            match &mut *h {
                Some(h) => {
                    h.reset();
                    let _ = h.add(&self.response_all);
                }
                slot @ None => *slot = Some(self.response_all.clone()),
            }
        }
    }
}

mod gate;
pub(in crate::live) use gate::{Start, StartGate};

#[cfg(test)]
mod tests;
