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

use crate::cohort::{Cohort, HostEvent, Members};
use crate::demand::{Cast, Demand};
use crate::model::Response;
use crate::population::Population;
use crate::report::recorder::{Recorder, Timing};
use crate::scenario::Spec;
use crate::target::Target;
use crate::time::{DayKind, SimTime};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::sync::Arc;

pub(crate) use crate::report::{BatchReport, EngineStats};

/// Most people waiting at one offline channel in one league; beyond it, arrivals are
/// turned away as overloaded (the hall is full) and come back later.
pub(crate) const CHANNEL_QUEUE_BOUND: usize = 200_000;

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
        debug_assert!(kind <= 3, "an engine event of unknown kind {kind}");
        match kind {
            0 => Service::ChannelDone(id),
            1 => Service::BackendDone(id),
            2 => Service::Closing(id),
            _ => Service::Abandon(id),
        }
    }
}

struct Pool {
    channel: u8,
    league: u8,
    servers: u32,
    busy: u32,
    queue: VecDeque<u32>,
    /// Those who booked a slot: served before the walk-ins of `queue`.
    booked: VecDeque<u32>,
    /// The closing instant a [`Service::Closing`] is pending for.
    closing_at: Option<SimTime>,
}

/// The cohort of every active payer, plus virtual queues and the target.
pub(crate) struct Engine<'t, T: Target> {
    spec: Arc<Spec>,
    target: &'t mut T,
    cohort: Cohort<Service>,
    /// The channel pool each job (by the cohort's job id) holds a server of, if any.
    job_pool: Vec<Option<u32>>,
    /// Per job waiting at a hotline with patience: the instant the caller hangs up.
    hang_up_at: Vec<Option<SimTime>>,
    pools: Vec<Pool>,
    /// `pool_of[channel * leagues + league]`: index into `pools`.
    pool_of: Vec<Option<u32>>,
    backend_busy: u32,
    backend_queue: VecDeque<u32>,
    service_rng: ChaCha8Rng,
    turned_away_full_hall: u64,
    turned_away_at_closing: u64,
    /// Hotline callers who hung up before an agent answered.
    abandoned: u64,
    events: u64,
}

/// Progress callback: called once per simulated day with the virtual instant and events so far.
pub(crate) type Progress<'a> = &'a mut dyn FnMut(SimTime, u64);

impl<'t, T: Target> Engine<'t, T> {
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
        Engine::with_members(spec, seed, target, demand, members)
    }

    /// The engine for `members` (the equivalence test deals them itself).
    pub(crate) fn with_members(spec: Arc<Spec>, seed: u64, target: &'t mut T, demand: Arc<Demand>, members: Members) -> Engine<'t, T> {
        let leagues = spec.leagues.len();
        let mut pools = Vec::new();
        let mut pool_of = vec![None; spec.channels.len() * leagues];
        for (c, ch) in spec.channels.iter().enumerate() {
            if let Some(per_league) = &ch.servers {
                for (l, n) in per_league.iter().enumerate() {
                    pool_of[c * leagues + l] = Some(pools.len() as u32);
                    pools.push(Pool {
                        channel: c as u8,
                        league: l as u8,
                        servers: *n,
                        busy: 0,
                        queue: VecDeque::new(),
                        booked: VecDeque::new(),
                        closing_at: None,
                    });
                }
            }
        }
        let recorder = Recorder::new(spec.clone(), demand.rules.clone());
        Engine {
            service_rng: crate::rng::component(seed, "engine/service"),
            cohort: Cohort::new(spec.clone(), demand, members, recorder),
            job_pool: Vec::new(),
            hang_up_at: Vec::new(),
            pools,
            pool_of,
            backend_busy: 0,
            backend_queue: VecDeque::new(),
            turned_away_full_hall: 0,
            turned_away_at_closing: 0,
            abandoned: 0,
            events: 0,
            target,
            spec,
        }
    }

    pub(crate) fn recorder(&self) -> &Recorder {
        &self.cohort.recorder
    }

    /// Counts about the run.
    pub(crate) fn stats(&self) -> EngineStats {
        let mut s = self.cohort.stats.clone();
        s.events = self.events;
        s.turned_away_full_hall = self.turned_away_full_hall;
        s.turned_away_at_closing = self.turned_away_at_closing;
        s.hotline_abandoned = self.abandoned;
        s
    }

    /// Route every request the cohort started (at `now`): into its channel's queue or
    /// through its gateway.
    fn route_started(&mut self, now: SimTime) {
        while let Some(job) = self.cohort.take_started() {
            let req = &self.cohort.job(job).req;
            let (c, league) = (req.channel(), req.payer().league);
            let pool = self.pool_of[c as usize * self.spec.leagues.len() + league as usize];
            if self.job_pool.len() <= job as usize {
                self.job_pool.resize(job as usize + 1, None);
            }
            self.job_pool[job as usize] = pool;
            match pool {
                Some(p) => self.pool_arrive(now, p, job),
                None => {
                    let d = self.spec.channels[c as usize].service_seconds.sample(&mut self.service_rng);
                    self.cohort.push_host(now.plus_seconds_f64(d), Service::ChannelDone(job));
                }
            }
        }
    }

    fn effective_servers(&self, now: SimTime, p: &Pool) -> u32 {
        let ch = &self.spec.channels[p.channel as usize];
        let day = self.spec.calendar.local_day(now);
        if self.spec.calendar.kind_of_day(day) == DayKind::Holiday {
            ((p.servers as f64 * ch.holiday_capacity).ceil() as u32).min(p.servers)
        } else {
            p.servers
        }
    }

    fn pool_arrive(&mut self, now: SimTime, p: u32, job: u32) {
        let pool = &self.pools[p as usize];
        let c = pool.channel;
        if self.cohort.job(job).booked {
            let (spec, league) = (&self.spec, pool.league);
            self.cohort.recorder.days.booked(spec, now, c, league);
        }
        let pool = &self.pools[p as usize];
        if !self.spec.channel_serves_at(c, now) {
            // The counters are closed: come back when they open.
            return self.turn_away(now, job, c);
        }
        if pool.busy < self.effective_servers(now, pool) {
            self.pools[p as usize].busy += 1;
            self.begin_channel_service(now, p, job);
        } else if pool.queue.len() + pool.booked.len() >= CHANNEL_QUEUE_BOUND {
            self.turned_away_full_hall += 1;
            // Not at a counter: nothing to free.
            self.job_pool[job as usize] = None;
            self.finish_job(now, job, Response::Overloaded { retry_after_micros: crate::time::MICROS_PER_HOUR });
        } else {
            let close = self.spec.closing_at(c, now);
            // A hotline caller waits as long as its patience lasts.
            if let Some(patience) = &self.spec.channels[c as usize].patience_seconds {
                let at = now.plus_seconds_f64(patience.sample(&mut self.service_rng));
                if self.hang_up_at.len() <= job as usize {
                    self.hang_up_at.resize(job as usize + 1, None);
                }
                self.hang_up_at[job as usize] = Some(at);
                self.cohort.push_host(at, Service::Abandon(job));
            }
            let booked = self.cohort.job(job).booked;
            let pool = &mut self.pools[p as usize];
            if booked {
                pool.booked.push_back(job)
            } else {
                pool.queue.push_back(job)
            }
            let n = (pool.queue.len() + pool.booked.len()) as u64;
            // Who still queues when the counters close is sent away then.
            if let Some(close) = close
                && pool.closing_at != Some(close)
            {
                pool.closing_at = Some(close);
                self.cohort.push_host(close, Service::Closing(p));
            }
            let league = pool.league;
            let backend = self.backend_queue.len() as u64;
            self.cohort.recorder.queue_lengths(now, backend, Some((c, league, n)));
        }
    }

    /// The counters of pool `p` close: everyone still queueing is told to come back.
    fn closing(&mut self, now: SimTime, p: u32) {
        let pool = &mut self.pools[p as usize];
        if pool.closing_at != Some(now) {
            return;
        }
        pool.closing_at = None;
        let c = pool.channel;
        let sent_away: Vec<u32> = pool.booked.drain(..).chain(pool.queue.drain(..)).collect();
        for job in sent_away {
            self.turn_away(now, job, c);
        }
    }

    /// A payer at closed counters of channel `c` is told when they open again.
    fn turn_away(&mut self, now: SimTime, job: u32, c: u8) {
        self.turned_away_at_closing += 1;
        self.job_pool[job as usize] = None;
        let reopens_at = self.cohort.demand().next_serving(c, now.plus_micros(1));
        self.finish_job(now, job, Response::TurnedAway { reopens_at });
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
        if self.hang_up_at.get(job as usize).copied().flatten() != Some(now) {
            return;
        }
        self.hang_up_at[job as usize] = None;
        let Some(p) = self.job_pool[job as usize] else { return };
        let queue = &mut self.pools[p as usize].queue;
        // Bounded by the queue's length (at most CHANNEL_QUEUE_BOUND).
        let Some(pos) = queue.iter().position(|&j| j == job) else { return };
        queue.remove(pos);
        self.abandoned += 1;
        // Not at a counter: nothing to free.
        self.job_pool[job as usize] = None;
        self.finish_job(now, job, Response::CallAbandoned);
    }

    fn begin_channel_service(&mut self, now: SimTime, p: u32, job: u32) {
        if let Some(h) = self.hang_up_at.get_mut(job as usize) {
            *h = None;
        }
        let (c, league) = (self.pools[p as usize].channel as usize, self.pools[p as usize].league);
        let d = self.spec.channels[c].service_seconds.sample(&mut self.service_rng);
        let arrived = self.cohort.job(job).started;
        let spec = &self.spec;
        self.cohort.recorder.days.counter(spec, arrived, now, c as u8, league, d);
        self.cohort.push_host(now.plus_seconds_f64(d), Service::ChannelDone(job));
    }

    fn backend_arrive(&mut self, now: SimTime, job: u32) {
        let be = &self.spec.raw.backend;
        if self.backend_busy < be.concurrency {
            self.backend_busy += 1;
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
        debug_assert!(self.backend_busy > 0, "backend done with no job in service");
        self.backend_busy -= 1;
        if let Some(next) = self.backend_queue.pop_front() {
            self.backend_busy += 1;
            let d = self.spec.raw.backend.service_ms.sample(&mut self.service_rng) / 1000.0;
            self.cohort.recorder.days.backend(now, (d * 1e6) as u64);
            self.cohort.push_host(now.plus_seconds_f64(d), Service::BackendDone(next));
        }
        let j = self.cohort.job(job);
        let resp = self.target.call(now, j.system, &j.req);
        self.finish_job(now, job, resp);
    }

    /// The answer reached the payer (or the batch): free the counter, then the cohort
    /// records it and lets its owner react.
    fn finish_job(&mut self, now: SimTime, job: u32, resp: Response) {
        let started = self.cohort.job(job).started;
        // Its id may serve another job next: no hang-up of this one may touch that.
        if let Some(h) = self.hang_up_at.get_mut(job as usize) {
            *h = None;
        }
        if let Some(p) = self.job_pool[job as usize].take() {
            let pool = &mut self.pools[p as usize];
            debug_assert!(pool.busy > 0, "a counter freed twice");
            pool.busy -= 1;
            let pool = &self.pools[p as usize];
            if pool.busy < self.effective_servers(now, pool)
                && let Some(next) = {
                    let pool = &mut self.pools[p as usize];
                    pool.booked.pop_front().or_else(|| pool.queue.pop_front())
                }
            {
                self.pools[p as usize].busy += 1;
                self.begin_channel_service(now, p, next);
            }
        }
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
        let windows = crate::report::rollback::measure(&self.spec, r, &self.cohort.recorder);
        let d = crate::report::rollback::decide(&self.spec, r, &windows, None);
        self.cohort.demand().rules.decide_rollback(d.rolled_back.then(|| self.spec.phases[r.phase].start));
        self.cohort.recorder.rollback_decision = Some(d);
    }

    pub(crate) fn batch_reports(&self) -> Vec<BatchReport> {
        self.cohort.batch_reports()
    }

    pub(crate) fn target(&mut self) -> &mut T {
        self.target
    }
}
