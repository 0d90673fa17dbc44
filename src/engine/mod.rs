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

pub mod memory;
mod rehearsal;
pub mod shards;

pub use rehearsal::{Extras, SimulationOutput, simulate, simulate_with};

use crate::cohort::counters::{Arrival, CounterEvents, Counters};
use crate::cohort::{Cohort, HostEvent, Members};
use crate::demand::{Cast, Demand};
use crate::model::Response;
use crate::population::Population;
use crate::report::feed::recorder::{Recorder, Timing};
use crate::scenario::Spec;
use crate::target::VirtualTarget;
use crate::time::SimTime;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::sync::Arc;

pub(crate) use crate::report::{BatchReport, EngineStats};

/// The engine's own events, beside the cohort's steps in the cohort's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// A job finished at its channel (counter or gateway) and goes to the backend.
    ChannelDone(u32),
    /// The backend finished a job: the target decides now.
    BackendDone(u32),
    /// A counter pool's opening interval ends: who still queues is sent away.
    Closing(u32),
    /// A hotline caller's patience runs out (if still waiting for an agent).
    Abandon(u32),
}

impl CounterEvents for Service {
    fn served(job: u32) -> Self {
        Service::ChannelDone(job)
    }
    fn closing(pool: u32) -> Self {
        Service::Closing(pool)
    }
    fn hang_up(job: u32) -> Self {
        Service::Abandon(job)
    }
}

impl HostEvent for Service {
    fn encode(self) -> (u8, u32) {
        match self {
            Service::ChannelDone(j) => (0, j),
            Service::BackendDone(j) => (1, j),
            Service::Closing(p) => (2, p),
            Service::Abandon(j) => (3, j),
        }
    }
    fn decode(kind: u8, id: u32) -> Service {
        assert!(kind <= 3, "an engine event of unknown kind {kind}");
        match kind {
            0 => Service::ChannelDone(id),
            1 => Service::BackendDone(id),
            2 => Service::Closing(id),
            _ => Service::Abandon(id),
        }
    }
}

/// The cohort of every active payer, plus virtual queues and the target.
pub(crate) struct Engine<'t, T: VirtualTarget> {
    spec: Arc<Spec>,
    target: &'t mut T,
    cohort: Cohort<Service>,
    /// The counters of offline channels and the hotline's agents.
    counters: Counters,
    backend_busy: u32,
    backend_queue: VecDeque<u32>,
    service_rng: ChaCha8Rng,
    events: u64,
}

/// What a finished engine leaves ([`Engine::finish`]); the target is its owner's again.
pub(crate) struct Finished {
    pub recorder: Recorder,
    pub stats: EngineStats,
    pub batches: Vec<BatchReport>,
}

/// Progress callback: called once per simulated day with the virtual instant and events so far.
pub type Progress<'a> = &'a mut dyn FnMut(SimTime, u64);

impl<'t, T: VirtualTarget> Engine<'t, T> {
    /// The engine for every active payer of `population`, first attempts scheduled.
    /// `rules`: the timeline's, shared with the target's systems.
    pub(crate) fn new(
        spec: Arc<Spec>,
        seed: u64,
        target: &'t mut T,
        population: &Population,
        rules: Arc<crate::model::Rules>,
    ) -> Engine<'t, T> {
        let demand = Arc::new(Demand::with_rules(spec.clone(), seed, rules));
        let members = Members::all(&spec, Cast::new(&demand, population));
        target.register(&mut members.payers());
        target.reserve(members.payments_at_most(&spec));
        Engine::with_members(spec, seed, target, demand, members)
    }

    /// The engine for `members` (the equivalence test deals them itself).
    pub(crate) fn with_members(spec: Arc<Spec>, seed: u64, target: &'t mut T, demand: Arc<Demand>, members: Members) -> Engine<'t, T> {
        let mut recorder = Recorder::new(spec.clone(), demand.rules.clone());
        recorder.reserve(members.payments_at_most(&spec));
        Engine {
            service_rng: crate::rng::component(seed, "engine/service"),
            cohort: Cohort::new(spec.clone(), demand, members, recorder),
            counters: Counters::new(&spec),
            backend_busy: 0,
            backend_queue: VecDeque::new(),
            events: 0,
            target,
            spec,
        }
    }

    #[cfg(test)]
    pub(crate) fn recorder(&self) -> &Recorder {
        &self.cohort.recorder
    }

    /// Counts about the run.
    pub(crate) fn stats(&self) -> EngineStats {
        let mut s = self.cohort.stats.clone();
        s.events = self.events;
        s.turned_away_full_hall = self.counters.turned_away_full_hall;
        s.turned_away_at_closing = self.counters.turned_away_at_closing;
        s.hotline_abandoned = self.counters.abandoned;
        s
    }

    /// Route every request the cohort started (at `now`): to its channel's counters or
    /// through its gateway.
    fn route_started(&mut self, now: SimTime) {
        while let Some(job) = self.cohort.take_started() {
            let backend = self.backend_queue.len() as u64;
            match self.counters.arrive(&self.spec, &mut self.cohort, &mut self.service_rng, now, job, backend) {
                Arrival::Taken => {}
                Arrival::Answer(resp) => self.finish_job(now, job, resp),
                Arrival::NoCounter => {
                    let c = self.cohort.job(job).req.channel();
                    let d = self.spec.channels[c as usize].service_seconds.sample(&mut self.service_rng);
                    self.cohort.push_host(now.plus_seconds_f64(d), Service::ChannelDone(job));
                }
            }
        }
    }

    /// The counters of pool `p` close: everyone still queueing is told to come back.
    fn closing(&mut self, now: SimTime, p: u32) {
        for (job, resp) in self.counters.closing(&self.cohort, now, p) {
            self.finish_job(now, job, resp);
        }
    }

    /// A job's time at its channel ended: a payment, assessment or look-up goes on to the
    /// backend; a hotline call is over (the system under test never sees it).
    fn channel_done(&mut self, now: SimTime, job: u32) {
        let c = self.cohort.job(job).req.channel();
        if self.spec.channels[c as usize].kind == crate::scenario::ChannelKind::Hotline {
            self.finish_job(now, job, Response::CallAnswered);
        } else {
            self.backend_arrive(now, job);
        }
    }

    /// A hotline caller's patience ran out at `now`: if still waiting, it hangs up.
    fn abandon(&mut self, now: SimTime, job: u32) {
        if let Some(resp) = self.counters.hang_up(now, job) {
            self.finish_job(now, job, resp);
        }
    }

    fn backend_arrive(&mut self, now: SimTime, job: u32) {
        let be = &self.spec.raw.backend;
        if self.backend_busy < be.concurrency {
            self.backend_busy += 1;
            self.prefetch_decision(job);
            let d = be.service_ms.sample(&mut self.service_rng) / 1000.0;
            self.cohort.recorder.days.backend(now, (d * 1e6) as u64);
            self.cohort.push_host(now.plus_seconds_f64(d), Service::BackendDone(job));
        } else if self.backend_queue.len() >= be.queue_bound as usize {
            self.finish_job(now, job, Response::Overloaded { retry_after_micros: crate::time::MICROS_PER_SECOND });
        } else {
            self.backend_queue.push_back(job);
            let n = self.backend_queue.len() as u64;
            self.cohort.recorder.queue_lengths(now, n, None);
        }
    }

    fn backend_done(&mut self, now: SimTime, job: u32) {
        assert!(self.backend_busy > 0, "backend done with no job in service");
        self.backend_busy -= 1;
        if let Some(next) = self.backend_queue.pop_front() {
            self.backend_busy += 1;
            self.prefetch_decision(next);
            let d = self.spec.raw.backend.service_ms.sample(&mut self.service_rng) / 1000.0;
            self.cohort.recorder.days.backend(now, (d * 1e6) as u64);
            self.cohort.push_host(now.plus_seconds_f64(d), Service::BackendDone(next));
        }
        let j = self.cohort.job(job);
        let resp = self.target.call(now, j.system, &j.req);
        self.finish_job(now, job, resp);
    }

    /// Job `job` enters the backend's service: let the target ask for what its decision, at
    /// the service's end, will read first. Many other events come between, and the target's
    /// indexes are tables of millions read at random: their first read missed the cache at
    /// nearly every request (BENCHMARKS.md, tenth sitting).
    fn prefetch_decision(&self, job: u32) {
        let j = self.cohort.job(job);
        self.target.prefetch(j.system, &j.req);
    }

    /// The answer reached the payer (or the batch): free the counter, then the cohort
    /// records it and lets its owner react.
    fn finish_job(&mut self, now: SimTime, job: u32, resp: Response) {
        let started = self.cohort.job(job).started;
        self.counters.release(&self.spec, &mut self.cohort, &mut self.service_rng, now, job);
        let timing = Timing { response_micros: now.micros_since(started).max(0) as u64, service_micros: None, decided_from: now };
        self.cohort.answer(job, now, &resp, timing);
        self.route_started(now);
    }

    /// Run to the end of the timeline. `progress` is called once per simulated day.
    pub(crate) fn run(&mut self, mut progress: Option<Progress>) {
        let end = self.spec.end;
        let mut last_day = i64::MIN;
        // A conditional rollback is decided before the first event at or after its instant.
        let mut rollback = self.spec.cutover.as_ref().and_then(|x| x.rollback.clone()).filter(|r| r.conditional());
        while let Some((now, ev)) = self.cohort.pop_due(end) {
            self.events += 1;
            if let Some(r) = rollback.take_if(|r| now >= r.decide_at) {
                self.decide_rollback(&r);
            }
            if let Some(p) = progress.as_mut() {
                let day = self.spec.calendar.local_day(now);
                if day != last_day {
                    last_day = day;
                    p(now, self.events);
                }
            }
            match ev {
                None => self.route_started(now),
                Some(Service::ChannelDone(job)) => self.channel_done(now, job),
                Some(Service::Abandon(job)) => self.abandon(now, job),
                Some(Service::BackendDone(job)) => self.backend_done(now, job),
                Some(Service::Closing(p)) => self.closing(now, p),
            }
        }
        let c = &mut self.cohort;
        c.stats.in_flight_at_end = c.in_flight() as u64;
        c.stats.pending_at_end += c.pending_events() as u64;
    }

    /// The reopening's gates over what the payers were answered so far: payment suspended
    /// again from the rollback's phase if one fails.
    fn decide_rollback(&mut self, r: &crate::scenario::RollbackSpec) {
        let windows = crate::report::check::rollback::measure(&self.spec, r, &self.cohort.recorder);
        let d = crate::report::check::rollback::decide(&self.spec, r, &windows, None);
        self.cohort.demand().rules.decide_rollback(d.rolled_back.then(|| self.spec.phases[r.phase].start));
        self.cohort.recorder.rollback_decision = Some(d);
    }

    pub(crate) fn batch_reports(&self) -> Vec<BatchReport> {
        self.cohort.batch_reports()
    }

    /// The run is over: what the report needs (the recorder, the counts, the batches'
    /// reports), everything else dropped (a region's agents and pending events, a few
    /// hundred MB, before the books are read in full).
    pub(crate) fn finish(self) -> Finished {
        let stats = self.stats();
        let batches = self.batch_reports();
        let (recorder, _, _) = self.cohort.into_parts();
        Finished { recorder, stats, batches }
    }
}
