//! The cohort: the payers one host drives, with no I/O and no clock of its own.
//!
//! Both hosts are this core plus what they add around it: the virtual-time engine adds
//! queues at channels and the backend and calls the model; a live sending thread adds its
//! connections and the real clock. The cohort owns what they share:
//! - the agents (per-payer state machines, [`crate::demand::Agent`]) and the batch runners
//!   ([`batch`]) of its payers, built from the population by [`Members`];
//! - their pending steps in time order (one [`queue::EventQueue`], which also carries the
//!   host's own events, so that equal instants keep the order they were scheduled in);
//! - the requests started and not yet answered (jobs, by id), dispatch of an answer to
//!   the agent or batch that owns it, the batch debits an answer lets start;
//! - the backlog bookkeeping of displaced payers and the recorder feed.
//!
//! Its interface is small: [`Cohort::next_due`] (what is due next and when),
//! [`Cohort::pop_due`] (take what is due by an instant; the requests it starts wait in
//! [`Cohort::take_started`]), [`Cohort::answer`] (here is the answer for this job at this
//! instant). A host never touches an agent or a batch runner itself.

pub(crate) mod batch;
pub(crate) mod counters;
pub(crate) mod queue;

use crate::demand::{Agent, Cast, Demand, Next, Stage};
use crate::hash::prefetch;
use crate::model::{Request, Response};
use crate::report::EngineStats;
use crate::report::feed::recorder::{Recorder, Timing};
use crate::scenario::Spec;
use crate::time::SimTime;
use batch::BatchRunner;
use queue::EventQueue;
use std::collections::VecDeque;
use std::sync::Arc;

/// What a job belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    Agent(u32),
    Batch { batch: u16, member: u32 },
}

/// An entry of the cohort's queue: a step of its payers, or an event of the host's, kept
/// flat (a host's event as a kind and an id) so that an entry of the heap stays 24 bytes:
/// nesting the host's enum made it 32, and the heap's moves showed in the engine's profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ev {
    /// An agent's scheduled attempt.
    Wake(u32),
    /// A batch run starts.
    BatchRun { batch: u16, run: u16 },
    /// A batch debit refused as overloaded is sent again.
    BatchRetry { batch: u16, member: u32 },
    /// The notice comes out: the payers it displaced (their payments moved past the
    /// suspension) join the backlog now, not at the timeline's start (a run stopped before
    /// it has no backlog).
    NoticeRead,
    /// An event of the host's.
    Host { kind: u8, id: u32 },
}

/// A host's own events, as the cohort's queue carries them.
pub(crate) trait HostEvent: Copy {
    fn encode(self) -> (u8, u32);
    fn decode(kind: u8, id: u32) -> Self;
}

/// A request started and not answered yet.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub owner: Owner,
    pub req: Request,
    /// The instant it started (its phase is the phase in force then).
    pub started: SimTime,
    pub phase: u8,
    /// The system the payer reached (0 with one system).
    pub system: crate::scenario::SystemIdx,
    /// A visit at a booked slot: counters serve it before walk-ins.
    pub booked: bool,
}

/// Who a cohort starts with: agents with their first decisions, and batch runners.
#[derive(Default)]
pub(crate) struct Members {
    pub agents: crate::demand::Agents,
    pub first: Vec<Next>,
    pub batches: Vec<BatchRunner>,
    pub payers_active: u64,
}

impl Members {
    /// Everyone of the population who acts during the timeline.
    pub(crate) fn all(spec: &Spec, cast: Cast) -> Members {
        let batches = cast
            .batch_members
            .into_iter()
            .enumerate()
            .map(|(b, members)| BatchRunner::new(b, &spec.batches[b], members, &spec.calendar, cast.key_tag))
            .collect();
        Members { agents: cast.agents, first: cast.first, batches, payers_active: cast.payers_active }
    }

    /// Every payer of these members (a batch member paying a month by hand appears twice):
    /// the registrations the old system of a cutover holds before the rehearsal.
    pub(crate) fn payers(&self) -> impl Iterator<Item = crate::model::PayerRef> + '_ {
        self.agents.iter().map(|a| a.payer).chain(self.batches.iter().flat_map(|b| b.payers()))
    }

    /// About as many payments as these members make at most: one an agent (a payer pays
    /// once, bar a double charge), one a batch member per run of its batch.
    pub(crate) fn payments_at_most(&self, spec: &Spec) -> usize {
        let debits: usize = self.batches.iter().map(|b| b.member_count() * spec.batches[b.index()].runs.len()).sum();
        self.agents.len() + debits
    }

    /// `n` shares: agents dealt round-robin by payer, every batch to the first share (its
    /// concurrency bound is the batch's own, not to be split), and with the batches the
    /// agents of batch members (who pay a missed month by hand): all of a payer's requests go
    /// through one share, so that its auditor sees the payer's whole history.
    pub(crate) fn deal(self, n: usize) -> Vec<Members> {
        let n = n.max(1);
        let mut shares: Vec<Members> = (0..n).map(|_| Members::default()).collect();
        shares[0].payers_active = self.payers_active;
        let in_batches: crate::hash::FastSet<crate::population::PayerId> = self.batches.iter().flat_map(|b| b.payer_ids()).collect();
        let mut dealt = 0usize;
        for (agent, next) in self.agents.into_iter().zip(self.first) {
            let i = if in_batches.contains(&agent.payer.id) {
                0
            } else {
                dealt += 1;
                (dealt - 1) % n
            };
            let s = &mut shares[i];
            s.agents.push(agent);
            s.first.push(next);
        }
        shares[0].batches = self.batches;
        shares
    }
}

pub(crate) struct Cohort<H> {
    spec: Arc<Spec>,
    demand: Arc<Demand>,
    agents: Vec<Agent>,
    batches: Vec<BatchRunner>,
    events: EventQueue<Ev>,
    host: std::marker::PhantomData<H>,
    jobs: Vec<Option<Job>>,
    free_jobs: Vec<u32>,
    /// Jobs started and not yet taken by the host, oldest first.
    started: VecDeque<u32>,
    in_flight: usize,
    /// Debits an answer let start, reused between answers.
    submit: Vec<u32>,
    pub recorder: Recorder,
    /// Agents the notice displaced: they join the backlog when it comes out ([`Ev::NoticeRead`]).
    notice_readers: u32,
    pub stats: EngineStats,
}

impl<H: HostEvent> Cohort<H> {
    /// The demand its payers plan by (and its rules).
    pub(crate) fn demand(&self) -> &Arc<Demand> {
        &self.demand
    }

    /// The cohort of `members`, their first steps scheduled. `recorder` is set up by the
    /// host (a live thread keeps the backlog's steps for the merge).
    pub(crate) fn new(spec: Arc<Spec>, demand: Arc<Demand>, members: Members, recorder: Recorder) -> Cohort<H> {
        // The agents are kept in the order of their first step (ties in the members' order),
        // so that a region's first attempts walk their memory forward rather than at random
        // (reading an agent was a cache miss in the engine's profile). Their steps are still
        // scheduled in the members' order below: the queue's sequence numbers, which order
        // equal instants, are what they were.
        let first_at = |n: &Next| match n {
            Next::At(t) => *t,
            Next::Finished => SimTime(i64::MAX),
        };
        // The order is sorted as (instant, index) pairs and the agents gathered into a new
        // array in that order (`gather`), on another core while this one queues their first
        // steps, which reads them where they were: the two took 0.15 s and 0.09 s one after
        // the other in a region's set-up (BENCHMARKS.md, twentieth sitting).
        // The second array lives only during the set-up, whose memory is far below the run's
        // peak.
        let mut order: Vec<(SimTime, u32)> = members.first.iter().enumerate().map(|(i, n)| (first_at(n), i as u32)).collect();
        order.sort_unstable();
        let mut position = vec![0u32; order.len()];
        for (new, (_, old)) in order.iter().enumerate() {
            position[*old as usize] = new as u32;
        }
        let source = members.agents;
        let by_index = source.refs();
        let mut events = EventQueue::default();
        let mut stats = EngineStats { payers_active: members.payers_active, agents: source.len() as u64, ..EngineStats::default() };
        let mut recorder = recorder;
        let start = spec.start;
        // Before any agent's step: at the notice's instant the backlog is joined first.
        let notice_readers = source.iter().filter(|a| a.displaced).count() as u32;
        if notice_readers > 0 {
            events.push(spec.notice_published.max(start), Ev::NoticeRead);
        }
        let agents = std::thread::scope(|s| {
            // Where no thread can be had, the gather runs here after the queueing.
            let gathered = std::thread::Builder::new().name("cohort-gather".into()).spawn_scoped(s, || gather(&by_index, &order)).ok();
            let mut first = Following { spec: &spec, events: &mut events, stats: &mut stats, recorder: &mut recorder };
            for ((old, next), agent) in members.first.into_iter().enumerate().zip(source.iter()) {
                first.follow(agent, position[old], next, start);
            }
            match gathered {
                Some(h) => h.join().expect("the agents' gather"),
                None => gather(&by_index, &order),
            }
        });
        drop((order, position, by_index));
        drop(source);
        let mut c = Cohort {
            agents,
            batches: members.batches,
            events,
            host: std::marker::PhantomData,
            jobs: Vec::new(),
            free_jobs: Vec::new(),
            started: VecDeque::new(),
            in_flight: 0,
            submit: Vec::new(),
            recorder,
            notice_readers,
            stats,
            spec,
            demand,
        };
        for (b, runner) in c.batches.iter().enumerate() {
            c.stats.batch_members += runner.member_count() as u64;
            for (r, at) in c.spec.batches[runner.index()].runs.iter().enumerate() {
                c.events.push(*at, Ev::BatchRun { batch: b as u16, run: r as u16 });
            }
        }
        c
    }

    /// The instant of the earliest pending event, if it falls before the end of the timeline.
    pub(crate) fn next_due(&self) -> Option<SimTime> {
        self.events.peek_time().filter(|t| *t < self.spec.end)
    }

    /// Take the earliest pending event if it is due by `until` (and before the end of the
    /// timeline). A step of the cohort's is carried out at its instant (the requests it
    /// starts wait in [`Cohort::take_started`]) and gives `(instant, None)`; a host's event
    /// is handed back.
    pub(crate) fn pop_due(&mut self, until: SimTime) -> Option<(SimTime, Option<H>)> {
        let t = self.next_due().filter(|t| *t <= until)?;
        let (_, ev) = self.events.pop()?;
        self.prefetch_next();
        match ev {
            Ev::Host { kind, id } => return Some((t, Some(H::decode(kind, id)))),
            Ev::Wake(idx) => {
                let req = self.agents[idx as usize].request();
                self.start(t, Owner::Agent(idx), req);
            }
            Ev::BatchRun { batch, run } => {
                let members = self.batches[batch as usize].start_run(t, run as usize);
                self.start_batch(t, batch, &members);
            }
            Ev::BatchRetry { batch, member } => {
                let members = self.batches[batch as usize].retry(member);
                self.start_batch(t, batch, &members);
            }
            Ev::NoticeRead => {
                for _ in 0..self.notice_readers {
                    self.recorder.displaced(t);
                }
            }
        }
        Some((t, None))
    }

    /// Ask the processor for what the next event will read first, while this one is carried
    /// out: its agent, or the job a host's event is about. The agents lie at random in an
    /// array of millions (a region's, 150 MB), and the first read of one missed the cache:
    /// 80 % of `Agent::request` in `perf`, which the hint took out of the profile's top
    /// (BENCHMARKS.md, ninth sitting). Only a hint: what it names is read as before, and a
    /// host event whose number is not a job's (a counter pool closing) names memory that is
    /// never read.
    fn prefetch_next(&self) {
        match self.events.peek() {
            Some(Ev::Wake(idx)) => {
                if let Some(a) = self.agents.get(*idx as usize) {
                    prefetch(a)
                }
            }
            Some(Ev::Host { id, .. }) => {
                if let Some(j) = self.jobs.get(*id as usize) {
                    prefetch(j)
                }
            }
            _ => {}
        }
    }

    /// Schedule an event of the host's.
    pub(crate) fn push_host(&mut self, at: SimTime, h: H) {
        let (kind, id) = h.encode();
        self.events.push(at, Ev::Host { kind, id });
    }

    /// The oldest started request the host has not taken yet.
    pub(crate) fn take_started(&mut self) -> Option<u32> {
        self.started.pop_front()
    }

    /// Started requests the host has not taken.
    pub(crate) fn started_waiting(&self) -> usize {
        self.started.len()
    }

    /// A job started and not answered. Panics on an id that is not one: hosts hold only ids
    /// the cohort gave them, each until its answer.
    pub(crate) fn job(&self, id: u32) -> &Job {
        assert!((id as usize) < self.jobs.len(), "job id {id} out of range");
        self.jobs[id as usize].as_ref().expect("a job in flight")
    }

    /// The system job `id` went to, while it waits for its answer.
    pub(crate) fn system_of(&self, id: u32) -> Option<crate::scenario::SystemIdx> {
        self.jobs.get(id as usize)?.as_ref().map(|j| j.system)
    }

    /// Whether a payment of `payer` is in flight (started and not answered). Scans the jobs:
    /// for the rare answer that needs it.
    pub(crate) fn pays_in_flight(&self, payer: crate::population::PayerId) -> bool {
        self.jobs.iter().flatten().any(|j| matches!(j.req, crate::model::Request::Pay { .. }) && j.req.payer().id == payer)
    }

    /// Requests started and not answered.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Events (steps and the host's) still pending.
    pub(crate) fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// The answer for job `id` reached its owner at `now`: record it, let the owner react
    /// (an agent's next step, a batch's next debits). Gives the job back, or `None` if `id`
    /// was already answered.
    pub(crate) fn answer(&mut self, id: u32, now: SimTime, resp: &Response, timing: Timing) -> Option<Job> {
        let j = self.jobs.get_mut(id as usize)?.take()?;
        self.free_jobs.push(id);
        assert!(self.in_flight > 0, "answer without a job in flight");
        self.in_flight -= 1;
        self.recorder.outcome(j.started, now, j.phase as usize, j.system, &j.req, resp, timing);
        self.recorder.cutover_outcome(j.started, now, &j.req, resp);
        match j.owner {
            Owner::Agent(idx) => {
                // The payer may never get the answer (the scenario's chance for the channel
                // and phase): the target decided all the same, and the books say so.
                let lost = match &self.spec.cutover {
                    Some(x) if !matches!(resp, Response::Error { .. } | Response::Overloaded { .. }) => {
                        let p = x.lost_probability(j.phase as usize, j.req.channel(), self.spec.channels.len());
                        self.agents[idx as usize].draw_lost(p)
                    }
                    _ => false,
                };
                let seen = if lost {
                    self.recorder.lost(&j.req, resp);
                    &Response::Error { kind: crate::model::Failure::AnswerLost }
                } else {
                    resp
                };
                let next = self.answer_agent(idx, now, seen);
                self.follow(idx, next, now);
            }
            Owner::Batch { batch, member } => {
                let mut submit = std::mem::take(&mut self.submit);
                if let Some(at) = self.batches[batch as usize].on_response(now, member, resp, &mut submit) {
                    self.events.push(at, Ev::BatchRetry { batch, member });
                }
                self.start_batch(now, batch, &submit);
                submit.clear();
                self.submit = submit;
            }
        }
        Some(j)
    }

    /// The recorder, stats and batch runners, once the host is done.
    pub(crate) fn into_parts(mut self) -> (Recorder, EngineStats, Vec<BatchRunner>) {
        self.recorder.settle();
        (self.recorder, self.stats, self.batches)
    }

    pub(crate) fn batch_reports(&self) -> Vec<crate::report::BatchReport> {
        self.batches.iter().map(|b| b.report(&self.spec)).collect()
    }

    fn start(&mut self, now: SimTime, owner: Owner, req: Request) {
        let phase = self.spec.phase_at(now);
        self.recorder.attempt(now, phase, &req);
        let system = self.spec.system_for(req.channel(), now);
        let booked = match owner {
            Owner::Agent(idx) => self.agents[idx as usize].booked && !matches!(req, Request::Call { .. }),
            Owner::Batch { .. } => false,
        };
        let job = Job { owner, req, started: now, phase: phase as u8, system, booked };
        let id = match self.free_jobs.pop() {
            Some(i) => {
                self.jobs[i as usize] = Some(job);
                i
            }
            None => {
                self.jobs.push(Some(job));
                (self.jobs.len() - 1) as u32
            }
        };
        self.in_flight += 1;
        self.started.push_back(id);
    }

    fn start_batch(&mut self, now: SimTime, batch: u16, members: &[u32]) {
        for &m in members {
            let req = self.batches[batch as usize].request(m);
            self.start(now, Owner::Batch { batch, member: m }, req);
        }
    }

    /// Hand an answer to a payer's state machine and keep the backlog books.
    fn answer_agent(&mut self, idx: u32, now: SimTime, resp: &Response) -> Next {
        let agent = &mut self.agents[idx as usize];
        let was_displaced = agent.displaced;
        let (was_paid, order, had_given_up) = (agent.paid, agent.order, agent.stage == Stage::GaveUp);
        let next = agent.on_response(&self.demand, now, resp);
        if agent.order != order {
            self.recorder.cutover.new_orders += 1;
        }
        if agent.displaced && !was_displaced {
            self.recorder.displaced(now);
        }
        // Once: a payer who gave up may still call the hotline, and hear it end after.
        let gave_up = agent.stage == Stage::GaveUp && !agent.paid && !had_given_up;
        // Once: the first acceptance (or the first sign the payment had gone through).
        let paid_now = agent.paid && !was_paid;
        if agent.displaced && (paid_now || gave_up) {
            self.recorder.resolved(now, gave_up);
        }
        next
    }

    /// Act on agent `idx`'s decision: a step before the end of the timeline, or the end
    /// counters.
    fn follow(&mut self, idx: u32, next: Next, now: SimTime) {
        let Cohort { spec, events, stats, recorder, agents, .. } = self;
        Following { spec, events, stats, recorder }.follow(&agents[idx as usize], idx, next, now);
    }
}

/// What following an agent's decision changes: its cohort's queue and counts (borrowed apart
/// from the agents, so that the first steps are queued while the agents are moved).
struct Following<'a> {
    spec: &'a Spec,
    events: &'a mut EventQueue<Ev>,
    stats: &'a mut EngineStats,
    recorder: &'a mut Recorder,
}

impl Following<'_> {
    /// [`Cohort::follow`] for `agent`, agent `idx` of the cohort.
    #[inline]
    fn follow(&mut self, agent: &Agent, idx: u32, next: Next, now: SimTime) {
        match next {
            Next::At(t) if t < self.spec.end => self.events.push(t.max(now), Ev::Wake(idx)),
            Next::At(_) => self.stats.pending_at_end += 1,
            Next::Finished => {
                if agent.stage == Stage::GaveUp {
                    self.recorder.gave_up += 1;
                    self.recorder.days.gave_up(self.spec, now, agent.channel, agent.payer.league);
                }
                if !matches!(agent.stage, Stage::Done | Stage::GaveUp) && !agent.paid {
                    self.stats.unserved_at_end += 1;
                }
            }
        }
    }
}

/// `agents` in the order of `order`'s indexes, as a new array: each read asked for
/// [`GATHER_AHEAD`] agents before it is made (and the reference to it twice as far ahead), so
/// that the misses overlap.
fn gather(agents: &[&Agent], order: &[(SimTime, u32)]) -> Vec<Agent> {
    let mut out = Vec::with_capacity(order.len());
    for (k, (_, old)) in order.iter().enumerate() {
        if let Some((_, further)) = order.get(k + 2 * GATHER_AHEAD) {
            prefetch(&agents[*further as usize]);
        }
        if let Some((_, ahead)) = order.get(k + GATHER_AHEAD) {
            prefetch(agents[*ahead as usize]);
        }
        out.push(agents[*old as usize].clone());
    }
    out
}

/// How many agents ahead [`gather`] asks for: enough misses in flight to cover one's latency.
const GATHER_AHEAD: usize = 16;

#[cfg(test)]
mod tests {
    /// Regression: the payers the notice displaced joined the backlog at the timeline's
    /// start, so a run stopped before the notice showed a backlog peak at its first instant.
    /// They join when the notice comes out.
    #[test]
    fn the_notice_displaces_payers_when_it_comes_out_not_at_the_start() {
        use crate::demand::{Cast, Demand};
        use std::sync::Arc;
        let spec = Arc::new(crate::scenario::load(std::path::Path::new("scenarios/ci-smoke.json")).expect("scenario"));
        assert!(spec.notice_published > spec.start, "the test needs a notice after the start");
        let demand = Arc::new(Demand::new(spec.clone(), 7));
        let population = crate::population::Population::new(&spec, 7);
        let members = super::Members::all(&spec, Cast::new(&demand, &population));
        let recorder = crate::report::feed::recorder::Recorder::new(spec.clone(), demand.rules.clone());
        let mut c: super::Cohort<crate::cohort::counters::CounterEvent> = super::Cohort::new(spec.clone(), demand, members, recorder);
        let readers = c.notice_readers as u64;
        assert!(readers > 10, "payers read the notice: {readers}");
        // Every step before the notice: no one displaced yet (answers are not given here).
        let before = crate::time::SimTime(spec.notice_published.0 - 1);
        while c.pop_due(before).is_some() {}
        assert_eq!((c.recorder.displaced_total, c.recorder.backlog_peak), (0, 0));
        c.pop_due(spec.notice_published);
        assert_eq!(c.recorder.displaced_total, readers, "they join at the notice, first");
        assert_eq!(c.recorder.backlog_peak_at, Some(spec.notice_published));
    }

    #[test]
    fn a_queue_entry_stays_small() {
        assert_eq!(std::mem::size_of::<super::Ev>(), 8);
    }

    /// Millions of agents: a field that grows one shows in a region's memory.
    #[test]
    fn an_agent_stays_112_bytes() {
        assert_eq!(std::mem::size_of::<crate::demand::Agent>(), 112);
    }
}
