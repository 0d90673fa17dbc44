//! Counters: the people at offline channels (tax halls, bank tellers, the agencies' halls)
//! and the hotline's agents, per channel and league. They are not the system under test, so
//! both hosts keep them the same way: the engine in virtual time, a live sending thread in
//! the run's compressed time. A payer takes a free counter or queues (those who booked a
//! slot first); at closing time whoever still queues is sent away; a hotline caller hangs
//! up when its patience runs out; a counter is free again when its payer's answer is given.
//!
//! The host decides what a counter's service leads to (the engine: its backend; a live
//! thread: the request sent to the target; the hotline: a call answered) and gives the
//! answers these counters return (sent away, full, hung up) through its own path.

use super::{Cohort, HostEvent};
use crate::model::Response;
use crate::scenario::Spec;
use crate::time::{DayKind, SimTime};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Most people waiting at one offline channel in one league; beyond it, arrivals are
/// turned away as overloaded (the hall is full) and come back later.
pub(crate) const CHANNEL_QUEUE_BOUND: usize = 200_000;

/// The host events counters need: a counter's service ended, a pool's opening interval
/// ended, a caller's patience ran out.
pub(crate) trait CounterEvents: HostEvent {
    fn served(job: u32) -> Self;
    fn closing(pool: u32) -> Self;
    fn hang_up(job: u32) -> Self;
}

/// The events of counters alone, for a host with no others (a live sending thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CounterEvent {
    /// A counter (or hotline agent) finished with the payer: its request goes on now.
    Served(u32),
    Closing(u32),
    HangUp(u32),
}

impl HostEvent for CounterEvent {
    fn encode(self) -> (u8, u32) {
        match self {
            CounterEvent::Served(j) => (0, j),
            CounterEvent::Closing(p) => (1, p),
            CounterEvent::HangUp(j) => (2, j),
        }
    }
    fn decode(kind: u8, id: u32) -> Self {
        match kind {
            0 => CounterEvent::Served(id),
            1 => CounterEvent::Closing(id),
            _ => CounterEvent::HangUp(id),
        }
    }
}

impl CounterEvents for CounterEvent {
    fn served(job: u32) -> Self {
        CounterEvent::Served(job)
    }
    fn closing(pool: u32) -> Self {
        CounterEvent::Closing(pool)
    }
    fn hang_up(job: u32) -> Self {
        CounterEvent::HangUp(job)
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
    /// The closing instant a closing event is pending for.
    closing_at: Option<SimTime>,
}

/// What became of an arrival.
pub(crate) enum Arrival {
    /// The channel has no counters (an online gateway, a batch).
    NoCounter,
    /// At a counter now, or in the queue.
    Taken,
    /// An answer to give now: sent away (closed), or the hall is full.
    Answer(Response),
}

#[derive(Default)]
pub(crate) struct Counters {
    pools: Vec<Pool>,
    /// `pool_of[channel * leagues + league]`: index into `pools`.
    pool_of: Vec<Option<u32>>,
    leagues: usize,
    /// The pool each job (by the cohort's job id) holds a counter of or queues at, if any.
    job_pool: Vec<Option<u32>>,
    /// Per job waiting at a hotline with patience: the instant the caller hangs up.
    hang_up_at: Vec<Option<SimTime>>,
    pub turned_away_full_hall: u64,
    pub turned_away_at_closing: u64,
    /// Hotline callers who hung up before an agent answered.
    pub abandoned: u64,
}

impl Counters {
    pub(crate) fn new(spec: &Spec) -> Counters {
        Counters::share_of(spec, 0, 1)
    }

    /// Thread `i`'s share of `n` threads: its part of each pool's counters, at least one
    /// each (every thread serves its share of the payers of every league).
    pub(crate) fn share_of(spec: &Spec, i: usize, n: usize) -> Counters {
        let n = n.max(1);
        let leagues = spec.leagues.len();
        let mut c = Counters { pool_of: vec![None; spec.channels.len() * leagues], leagues, ..Counters::default() };
        for (ch_i, ch) in spec.channels.iter().enumerate() {
            if let Some(per_league) = &ch.servers {
                for (l, servers) in per_league.iter().enumerate() {
                    c.pool_of[ch_i * leagues + l] = Some(c.pools.len() as u32);
                    c.pools.push(Pool {
                        channel: ch_i as u8,
                        league: l as u8,
                        servers: (*servers as usize / n + (i < *servers as usize % n) as usize).max(1) as u32,
                        busy: 0,
                        queue: VecDeque::new(),
                        booked: VecDeque::new(),
                        closing_at: None,
                    });
                }
            }
        }
        c
    }

    fn effective_servers(spec: &Spec, now: SimTime, p: &Pool) -> u32 {
        let ch = &spec.channels[p.channel as usize];
        let day = spec.calendar.local_day(now);
        if spec.calendar.kind_of_day(day) == DayKind::Holiday {
            ((p.servers as f64 * ch.holiday_capacity).ceil() as u32).min(p.servers)
        } else {
            p.servers
        }
    }

    /// Job `job` (started at `now`) comes to its channel. `backend_queue`: the host's backend
    /// queue length, for the hourly queue maxima.
    pub(crate) fn arrive<H: CounterEvents>(
        &mut self,
        spec: &Spec,
        cohort: &mut Cohort<H>,
        rng: &mut ChaCha8Rng,
        now: SimTime,
        job: u32,
        backend_queue: u64,
    ) -> Arrival {
        let j = cohort.job(job);
        let (c, league, booked) = (j.req.channel(), j.req.payer().league, j.booked);
        let pool = self.pool_of[c as usize * self.leagues + league as usize];
        if self.job_pool.len() <= job as usize {
            self.job_pool.resize(job as usize + 1, None);
        }
        self.job_pool[job as usize] = pool;
        let Some(p) = pool else { return Arrival::NoCounter };
        if booked {
            cohort.recorder.days.booked(spec, now, c, league);
        }
        if !spec.channel_serves_at(c, now) {
            // The counters are closed: come back when they open.
            return Arrival::Answer(self.send_away(cohort, now, job, c));
        }
        let pool = &self.pools[p as usize];
        if pool.busy < Self::effective_servers(spec, now, pool) {
            self.pools[p as usize].busy += 1;
            self.begin(spec, cohort, rng, now, p, job);
        } else if pool.queue.len() + pool.booked.len() >= CHANNEL_QUEUE_BOUND {
            self.turned_away_full_hall += 1;
            // Not at a counter: nothing to free.
            self.job_pool[job as usize] = None;
            return Arrival::Answer(Response::Overloaded { retry_after_micros: crate::time::MICROS_PER_HOUR });
        } else {
            let close = spec.closing_at(c, now);
            // A hotline caller waits as long as its patience lasts.
            if let Some(patience) = &spec.channels[c as usize].patience_seconds {
                let at = now.plus_seconds_f64(patience.sample(rng));
                if self.hang_up_at.len() <= job as usize {
                    self.hang_up_at.resize(job as usize + 1, None);
                }
                self.hang_up_at[job as usize] = Some(at);
                cohort.push_host(at, H::hang_up(job));
            }
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
                cohort.push_host(close, H::closing(p));
            }
            cohort.recorder.queue_lengths(now, backend_queue, Some((c, league, n)));
        }
        Arrival::Taken
    }

    /// "Come back when we open": the answer for a payer at closed counters of channel `c`.
    fn send_away<H: HostEvent>(&mut self, cohort: &Cohort<H>, now: SimTime, job: u32, c: u8) -> Response {
        self.turned_away_at_closing += 1;
        self.job_pool[job as usize] = None;
        let reopens_at = cohort.demand().next_serving(c, now.plus_micros(1));
        Response::TurnedAway { reopens_at }
    }

    /// The counters of pool `p` close at `now`: everyone still queueing is sent away; the
    /// answers to give, in queue order (booked first).
    pub(crate) fn closing<H: HostEvent>(&mut self, cohort: &Cohort<H>, now: SimTime, p: u32) -> Vec<(u32, Response)> {
        let pool = &mut self.pools[p as usize];
        if pool.closing_at != Some(now) {
            return Vec::new();
        }
        pool.closing_at = None;
        let c = pool.channel;
        let sent_away: Vec<u32> = pool.booked.drain(..).chain(pool.queue.drain(..)).collect();
        sent_away.into_iter().map(|job| (job, self.send_away(cohort, now, job, c))).collect()
    }

    /// A hotline caller's patience ran out at `now`: if still waiting, it hangs up (the
    /// answer to give).
    pub(crate) fn hang_up(&mut self, now: SimTime, job: u32) -> Option<Response> {
        if self.hang_up_at.get(job as usize).copied().flatten() != Some(now) {
            return None;
        }
        self.hang_up_at[job as usize] = None;
        let p = self.job_pool[job as usize]?;
        let queue = &mut self.pools[p as usize].queue;
        // Bounded by the queue's length (at most CHANNEL_QUEUE_BOUND).
        let pos = queue.iter().position(|&j| j == job)?;
        queue.remove(pos);
        self.abandoned += 1;
        // Not at a counter: nothing to free.
        self.job_pool[job as usize] = None;
        Some(Response::CallAbandoned)
    }

    fn begin<H: CounterEvents>(&mut self, spec: &Spec, cohort: &mut Cohort<H>, rng: &mut ChaCha8Rng, now: SimTime, p: u32, job: u32) {
        if let Some(h) = self.hang_up_at.get_mut(job as usize) {
            *h = None;
        }
        let (c, league) = (self.pools[p as usize].channel as usize, self.pools[p as usize].league);
        let d = spec.channels[c].service_seconds.sample(rng);
        let arrived = cohort.job(job).started;
        cohort.recorder.days.counter(spec, arrived, now, c as u8, league, d);
        cohort.push_host(now.plus_seconds_f64(d), H::served(job));
    }

    /// Job `job`'s answer is about to be given at `now`: its counter (if it held one) is free,
    /// and the next in line (booked first) takes it.
    pub(crate) fn release<H: CounterEvents>(&mut self, spec: &Spec, cohort: &mut Cohort<H>, rng: &mut ChaCha8Rng, now: SimTime, job: u32) {
        // Its id may serve another job next: no hang-up of this one may touch that.
        if let Some(h) = self.hang_up_at.get_mut(job as usize) {
            *h = None;
        }
        let Some(p) = self.job_pool.get_mut(job as usize).and_then(Option::take) else { return };
        let pool = &mut self.pools[p as usize];
        assert!(pool.busy > 0, "a counter freed twice");
        pool.busy -= 1;
        let pool = &self.pools[p as usize];
        if pool.busy < Self::effective_servers(spec, now, pool)
            && let Some(next) = {
                let pool = &mut self.pools[p as usize];
                pool.booked.pop_front().or_else(|| pool.queue.pop_front())
            }
        {
            self.pools[p as usize].busy += 1;
            self.begin(spec, cohort, rng, now, p, next);
        }
    }
}
