//! The virtual-time discrete-event engine.
//!
//! The engine owns the clock: events are ordered by (instant, sequence number)
//! and nothing reads the wall clock or does I/O. Around the target it adds
//! what a deployment adds in reality: a queue with servers at each offline
//! channel (per league), a gateway delay at online channels, and the shared
//! backend with a bounded concurrency and a bounded queue (past the bound the
//! request is refused as overloaded). The payers' next steps come from their
//! state machines ([`crate::demand::Agent`]); bank and proxy batches from
//! [`batch`].
//!
//! Every loop is bounded: the event loop by the timeline's end (events due at
//! or after it are dropped), queues by their bounds.

pub mod batch;
pub mod queue;

use crate::demand::{Agent, Demand, Next, Stage};
use crate::model::{Request, Response};
use crate::population::Population;
use crate::report::recorder::{Recorder, Timing};
use crate::scenario::{OpenDays, Spec};
use crate::target::Target;
use crate::time::{DayKind, SimTime};
use batch::BatchRunner;
use queue::{Ev, EventQueue};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::sync::Arc;

/// Most people waiting at one offline channel in one league; beyond it, arrivals are
/// turned away as overloaded (the hall is full) and come back later.
pub const CHANNEL_QUEUE_BOUND: usize = 200_000;

/// What a job belongs to (shared with the live driver).
#[derive(Clone, Copy, Debug)]
pub enum Owner {
    Agent(u32),
    Batch { batch: u16, member: u32 },
}

struct Job {
    owner: Owner,
    req: Request,
    started: SimTime,
    phase: u8,
    /// The channel pool the job holds a server of, if any.
    pool: Option<u32>,
}

struct Pool {
    channel: u8,
    servers: u32,
    busy: u32,
    queue: VecDeque<u32>,
}

/// Counts about the run itself (not the target).
#[derive(Clone, Debug, Default)]
pub struct EngineStats {
    pub events: u64,
    pub payers_active: u64,
    pub agents: u64,
    pub batch_members: u64,
    pub in_flight_at_end: u64,
    pub pending_at_end: u64,
    pub unserved_at_end: u64,
    pub turned_away_full_hall: u64,
}

impl std::ops::AddAssign<&EngineStats> for EngineStats {
    fn add_assign(&mut self, b: &EngineStats) {
        self.events += b.events;
        self.payers_active += b.payers_active;
        self.agents += b.agents;
        self.batch_members += b.batch_members;
        self.in_flight_at_end += b.in_flight_at_end;
        self.pending_at_end += b.pending_at_end;
        self.unserved_at_end += b.unserved_at_end;
        self.turned_away_full_hall += b.turned_away_full_hall;
    }
}

pub struct Engine<'t, T: Target> {
    spec: Arc<Spec>,
    demand: Arc<Demand>,
    target: &'t mut T,
    pub recorder: Recorder,
    events: EventQueue,
    jobs: Vec<Option<Job>>,
    free_jobs: Vec<u32>,
    agents: Vec<Agent>,
    pools: Vec<Pool>,
    /// `pool_of[channel * leagues + league]`: index into `pools`.
    pool_of: Vec<Option<u32>>,
    backend_busy: u32,
    backend_queue: VecDeque<u32>,
    batches: Vec<BatchRunner>,
    service_rng: ChaCha8Rng,
    pub stats: EngineStats,
}

/// Progress callback: called once per simulated day with the virtual instant and events so far.
pub type Progress<'a> = &'a mut dyn FnMut(SimTime, u64);

impl<'t, T: Target> Engine<'t, T> {
    pub fn new(spec: Arc<Spec>, seed: u64, target: &'t mut T) -> Engine<'t, T> {
        let demand = Arc::new(Demand::new(spec.clone(), seed));
        let recorder = Recorder::new(spec.clone(), demand.rules.clone());
        let leagues = spec.leagues.len();
        let mut pools = Vec::new();
        let mut pool_of = vec![None; spec.channels.len() * leagues];
        for (c, ch) in spec.channels.iter().enumerate() {
            if let Some(per_league) = &ch.servers {
                for (l, n) in per_league.iter().enumerate() {
                    pool_of[c * leagues + l] = Some(pools.len() as u32);
                    pools.push(Pool { channel: c as u8, servers: *n, busy: 0, queue: VecDeque::new() });
                }
            }
        }
        Engine {
            service_rng: crate::rng::component(seed, "engine/service"),
            recorder,
            events: EventQueue::default(),
            jobs: Vec::new(),
            free_jobs: Vec::new(),
            agents: Vec::new(),
            pools,
            pool_of,
            backend_busy: 0,
            backend_queue: VecDeque::new(),
            batches: Vec::new(),
            stats: EngineStats::default(),
            target,
            demand,
            spec,
        }
    }

    /// Build the agents and batch members from the population and schedule first attempts.
    pub fn populate(&mut self, population: &Population) {
        let spec = self.spec.clone();
        let cast = crate::demand::Cast::new(&self.demand, population);
        self.stats.payers_active = cast.payers_active;
        self.agents = cast.agents;
        for (idx, next) in cast.first.into_iter().enumerate() {
            if self.agents[idx].displaced {
                self.recorder.displaced(spec.start);
            }
            self.follow(idx as u32, next, spec.start);
        }
        let batch_members = cast.batch_members;
        self.stats.agents = self.agents.len() as u64;
        for (b, members) in batch_members.into_iter().enumerate() {
            self.stats.batch_members += members.len() as u64;
            let runner = BatchRunner::new(b, &spec.batches[b], members);
            for (r, at) in spec.batches[b].runs.iter().enumerate() {
                self.events.push(*at, Ev::BatchRun { batch: b as u16, run: r as u16 });
            }
            self.batches.push(runner);
        }
    }

    /// Act on an agent's decision.
    fn follow(&mut self, idx: u32, next: Next, now: SimTime) {
        let books = Books { events: &mut self.events, stats: &mut self.stats, recorder: &mut self.recorder, end: self.spec.end };
        schedule_agent(books, &self.agents[idx as usize], idx, next, now);
    }

    fn new_job(&mut self, job: Job) -> u32 {
        match self.free_jobs.pop() {
            Some(i) => {
                self.jobs[i as usize] = Some(job);
                i
            }
            None => {
                self.jobs.push(Some(job));
                (self.jobs.len() - 1) as u32
            }
        }
    }

    /// Start a request now: into the channel's queue or through its gateway.
    fn start_request(&mut self, now: SimTime, owner: Owner, req: Request) {
        let phase = self.spec.phase_at(now);
        self.recorder.attempt(now, phase, &req);
        let c = req.channel();
        let league = req.payer().league;
        let pool = self.pool_of[c as usize * self.spec.leagues.len() + league as usize];
        let job = self.new_job(Job { owner, req, started: now, phase: phase as u8, pool });
        match pool {
            Some(p) => self.pool_arrive(now, p, job),
            None => {
                let d = self.spec.channels[c as usize].service_seconds.sample(&mut self.service_rng);
                self.events.push(now.plus_seconds_f64(d), Ev::ChannelDone(job));
            }
        }
    }

    fn effective_servers(&self, now: SimTime, p: &Pool) -> u32 {
        let ch = &self.spec.channels[p.channel as usize];
        let day = self.spec.calendar.local_day(now);
        if ch.open_days == OpenDays::WorkingDays && self.spec.calendar.kind_of_day(day) == DayKind::Holiday {
            ((p.servers as f64 * ch.holiday_capacity).ceil() as u32).min(p.servers)
        } else {
            p.servers
        }
    }

    fn pool_arrive(&mut self, now: SimTime, p: u32, job: u32) {
        let pool = &self.pools[p as usize];
        if pool.busy < self.effective_servers(now, pool) {
            self.pools[p as usize].busy += 1;
            self.begin_channel_service(now, p, job);
        } else if pool.queue.len() >= CHANNEL_QUEUE_BOUND {
            self.stats.turned_away_full_hall += 1;
            self.finish_job(now, job, Response::Overloaded { retry_after_micros: crate::time::MICROS_PER_HOUR });
        } else {
            let pool = &mut self.pools[p as usize];
            pool.queue.push_back(job);
            let (c, n) = (pool.channel, pool.queue.len() as u64);
            let backend = self.backend_queue.len() as u64;
            self.recorder.queue_lengths(now, backend, Some((c, n)));
        }
    }

    fn begin_channel_service(&mut self, now: SimTime, p: u32, job: u32) {
        let c = self.pools[p as usize].channel as usize;
        let d = self.spec.channels[c].service_seconds.sample(&mut self.service_rng);
        self.events.push(now.plus_seconds_f64(d), Ev::ChannelDone(job));
    }

    fn backend_arrive(&mut self, now: SimTime, job: u32) {
        let be = &self.spec.raw.backend;
        if self.backend_busy < be.concurrency {
            self.backend_busy += 1;
            let d = be.service_ms.sample(&mut self.service_rng) / 1000.0;
            self.events.push(now.plus_seconds_f64(d), Ev::BackendDone(job));
        } else if self.backend_queue.len() >= be.queue_bound as usize {
            self.finish_job(now, job, Response::Overloaded { retry_after_micros: crate::time::MICROS_PER_SECOND });
        } else {
            self.backend_queue.push_back(job);
            let n = self.backend_queue.len() as u64;
            self.recorder.queue_lengths(now, n, None);
        }
    }

    fn backend_done(&mut self, now: SimTime, job: u32) {
        self.backend_busy -= 1;
        if let Some(next) = self.backend_queue.pop_front() {
            self.backend_busy += 1;
            let d = self.spec.raw.backend.service_ms.sample(&mut self.service_rng) / 1000.0;
            self.events.push(now.plus_seconds_f64(d), Ev::BackendDone(next));
        }
        let resp = {
            // The job exists: BackendDone is scheduled only for live jobs.
            let j = self.jobs[job as usize].as_ref().expect("live job");
            self.target.call(now, &j.req)
        };
        self.finish_job(now, job, resp);
    }

    /// The answer reached the payer (or the batch): record it, free the counter, react.
    fn finish_job(&mut self, now: SimTime, job: u32, resp: Response) {
        let Some(j) = self.jobs[job as usize].take() else {
            return;
        };
        self.free_jobs.push(job);
        let timing = Timing { response_micros: now.micros_since(j.started).max(0) as u64, service_micros: None, decided_from: now };
        self.recorder.outcome(now, j.phase as usize, &j.req, &resp, timing);
        if let Some(p) = j.pool {
            let pool = &mut self.pools[p as usize];
            pool.busy -= 1;
            let pool = &self.pools[p as usize];
            if pool.busy < self.effective_servers(now, pool)
                && let Some(next) = self.pools[p as usize].queue.pop_front()
            {
                self.pools[p as usize].busy += 1;
                self.begin_channel_service(now, p, next);
            }
        }
        match j.owner {
            Owner::Agent(idx) => {
                let next = answer_agent(&mut self.agents[idx as usize], &self.demand, &mut self.recorder, now, &resp);
                self.follow(idx, next, now);
            }
            Owner::Batch { batch, member } => {
                let mut submit = Vec::new();
                self.batches[batch as usize].on_response(now, member, &resp, &mut submit, &mut self.events);
                self.submit_batch(now, batch, submit);
            }
        }
    }

    fn submit_batch(&mut self, now: SimTime, batch: u16, members: Vec<u32>) {
        for m in members {
            let req = self.batches[batch as usize].request(m);
            self.start_request(now, Owner::Batch { batch, member: m }, req);
        }
    }

    /// Run to the end of the timeline. `progress` is called once per simulated day.
    pub fn run(&mut self, mut progress: Option<Progress>) {
        let end = self.spec.end;
        let mut last_day = i64::MIN;
        while let Some((now, ev)) = self.events.pop() {
            if now >= end {
                break;
            }
            self.stats.events += 1;
            if let Some(p) = progress.as_mut() {
                let day = self.spec.calendar.local_day(now);
                if day != last_day {
                    last_day = day;
                    p(now, self.stats.events);
                }
            }
            match ev {
                Ev::Wake(idx) => {
                    let req = self.agents[idx as usize].request();
                    self.start_request(now, Owner::Agent(idx), req);
                }
                Ev::ChannelDone(job) => self.backend_arrive(now, job),
                Ev::BackendDone(job) => self.backend_done(now, job),
                Ev::BatchRun { batch, run } => {
                    let submit = self.batches[batch as usize].start_run(now, run as usize);
                    self.submit_batch(now, batch, submit);
                }
                Ev::BatchRetry { batch, member } => {
                    let submit = self.batches[batch as usize].retry(member);
                    self.submit_batch(now, batch, submit);
                }
            }
        }
        self.stats.in_flight_at_end = self.jobs.iter().filter(|j| j.is_some()).count() as u64;
        self.stats.pending_at_end += self.events.len() as u64;
    }

    pub fn batch_reports(&self) -> Vec<batch::BatchReport> {
        self.batches.iter().map(|b| b.report(&self.spec)).collect()
    }

    pub fn target(&mut self) -> &mut T {
        self.target
    }

    /// Draw from the engine's service stream (exposed for the queueing tests).
    pub fn service_rng(&mut self) -> &mut impl Rng {
        &mut self.service_rng
    }
}

pub use batch::{BatchReport, RunReport};

/// Hand an answer to a payer's state machine and keep the backlog books. The engine and the
/// live driver both turn answers into next steps through here.
pub fn answer_agent(agent: &mut Agent, demand: &Demand, recorder: &mut Recorder, now: SimTime, resp: &Response) -> Next {
    let was_displaced = agent.displaced;
    let next = agent.on_response(demand, now, resp);
    if agent.displaced && !was_displaced {
        recorder.displaced(now);
    }
    let gave_up = agent.stage == Stage::GaveUp && !agent.paid;
    if agent.displaced && (agent.paid && matches!(resp, Response::Accepted { .. }) || gave_up) {
        recorder.resolved(now, gave_up);
    }
    next
}

/// What [`schedule_agent`] updates.
pub struct Books<'a> {
    pub events: &'a mut EventQueue,
    pub stats: &'a mut EngineStats,
    pub recorder: &'a mut Recorder,
    pub end: SimTime,
}

/// Act on an agent's decision: an event before the end of the timeline, or the end counters.
pub fn schedule_agent(b: Books, agent: &Agent, idx: u32, next: Next, now: SimTime) {
    match next {
        Next::At(t) if t < b.end => b.events.push(t.max(now), Ev::Wake(idx)),
        Next::At(_) => b.stats.pending_at_end += 1,
        Next::Finished => {
            if agent.stage == Stage::GaveUp {
                b.recorder.gave_up += 1;
            }
            if !matches!(agent.stage, Stage::Done | Stage::GaveUp) && !agent.paid {
                b.stats.unserved_at_end += 1;
            }
        }
    }
}
