//! The two loops a sending thread runs until its payers are done and its answers in: its
//! own readiness loop for `--transport http1` ([`Shard::drive_http1`]: send what is due,
//! look for answers awake while they come close together, else sleep, through them when
//! they can be timed by their arrival, and account for them), or futures on its own tokio
//! runtime for the other transports ([`Shard::drive`]); and [`start`], which starts a
//! thread with the one its connections need.

use super::super::lanes::Done;
use super::super::reactor::Reactor;
use super::super::tasks::{Pool, Slot};
use super::super::timer::PreciseTimer;
use super::super::transport::Transport;
use super::chores::Chores;
use super::{Conns, Gauge, Output, Plan, Shard, StartGate};
use futures_util::FutureExt;
use futures_util::stream::StreamExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How many times a thread on a tokio runtime looks for answers without blocking before it
/// sleeps, when answers have lately come less than [`SPIN_GAP_NS`] apart.
const SPIN_ROUNDS: u32 = 30;
const SPIN_GAP_NS: f64 = 50_000.0;
/// How long a thread with its own readiness loop (`--transport http1`) looks for answers
/// without blocking before it sleeps, under the same condition.
const SPIN_FOR: Duration = Duration::from_micros(40);
/// The longest a sending thread sleeps through answers it could read ([`Reactor::nap`]): how
/// much later than their arrival an answer's connection may be back to work, its payer's
/// next step taken, its line journaled.
const NAP_AT_MOST: Duration = Duration::from_millis(2);

impl Shard<Pool> {
    /// An answer came: put its connection back to work first, then account for it.
    fn answered(&mut self, slot: Slot, d: Done) {
        let next = self.next_waiting(slot.system());
        self.pool.restart(slot, next);
        self.complete(d, true);
    }

    /// Take every answer already there, then the chores that follow answers.
    fn take_answers(&mut self, slot: Slot, d: Done, flush_due: &mut Option<Instant>) {
        let mut last = d.done;
        let mut n = 1u32;
        self.answered(slot, d);
        while let Some(Some((slot, d))) = self.pool.in_flight.next().now_or_never() {
            last = last.max(d.done);
            n += 1;
            self.answered(slot, d);
        }
        self.after_answers(last, n, flush_due);
    }

    /// `timer`: the thread's precise timer, if it has one (else the runtime has timers).
    async fn drive(mut self, gauge: Arc<Gauge>, drain: Duration, mut timer: Option<PreciseTimer>) -> Output {
        let mut chores = Chores::new(self.pool.ctx.timeout);
        let mut spins = 0u32;
        while let Some(now) = self.begin_turn(&mut chores, &gauge) {
            let Some(next_due) = self.finished(now) else { break };
            // Answers have lately come close together: look for the next a few more times
            // before sleeping. Each look lets the runtime poll the sockets without blocking
            // and takes what arrived; a sleep would cost a context switch per handful of
            // answers (measured: BENCHMARKS.md).
            if spins < SPIN_ROUNDS && !self.pool.in_flight.is_empty() && self.answer_gap_ns < SPIN_GAP_NS {
                spins += 1;
                tokio::task::yield_now().await;
                if let Some(Some((slot, d))) = self.pool.in_flight.next().now_or_never() {
                    self.take_answers(slot, d, &mut chores.flush_due);
                    spins = 0;
                }
                continue;
            }
            spins = 0;
            let wake = chores.wake(&mut self, next_due);
            tokio::select! {
                biased;
                Some((slot, d)) = self.pool.in_flight.next(), if !self.pool.in_flight.is_empty() => {
                    self.take_answers(slot, d, &mut chores.flush_due);
                }
                _ = wait_until(&mut timer, wake) => {}
            }
        }

        // Wait a bounded time for the answers in flight.
        let unsent = self.drop_backlog();
        let deadline = Instant::now() + drain;
        while !self.pool.in_flight.is_empty() && self.drain_turn(&mut chores, deadline).is_some() {
            tokio::select! {
                biased;
                Some((slot, d)) = self.pool.in_flight.next() => {
                    self.complete(d, true);
                    drop(slot);
                }
                _ = wait_until(&mut timer, chores.next_sweep.min(deadline)) => {}
            }
        }
        self.output(&gauge, unsent)
    }
}

impl Shard<Reactor> {
    /// Account for every finished exchange on the ready list (each connection first gets
    /// the oldest waiting request); `drain`: no new requests, only answers.
    fn take_ready(&mut self, flush_due: &mut Option<Instant>, drain: bool) {
        let mut last = self.last_answer;
        let mut n = 0u32;
        // Starting a request may finish it at once (a refused connection): loop until none.
        while let Some(mut ready) = self.pool.take_ready() {
            // Every connection back to work first, then the accounting: the requests leave
            // together (the target wakes once for them all), and none waits for the
            // bookkeeping of answers before it.
            let now = Instant::now();
            for (lane, _) in &ready {
                let next = if drain { None } else { self.next_waiting(self.pool.system_of(*lane)) };
                self.pool.release(*lane, next, now);
            }
            for (_, d) in ready.drain(..) {
                last = last.max(d.done);
                n += 1;
                self.complete(d, true);
            }
            self.pool.recycle(ready);
        }
        if n > 0 && !drain {
            self.after_answers(last, n, flush_due);
        }
    }

    /// The thread's loop for `--transport http1`: send what is due, wait in the poll for
    /// answers or the next due instant, account for the answers.
    fn drive_http1(mut self, gauge: Arc<Gauge>, drain: Duration) -> Output {
        let mut chores = Chores::new(self.pool.ctx.timeout);
        while let Some(now) = self.begin_turn(&mut chores, &gauge) {
            // Sends that failed at once (a refused connection) are answers too.
            self.take_ready(&mut chores.flush_due, false);
            let Some(next_due) = self.finished(now) else { break };
            // Answers have lately come close together: look for the next without blocking,
            // for up to SPIN_FOR, before sleeping. A sleep costs a context switch, here and
            // in a target that then finds its client asleep: sleeping at once, or after a
            // fixed number of looks (each a quick `epoll_wait`), cost both sides more CPU
            // per request and a tenth of the throughput (measured: BENCHMARKS.md).
            // Otherwise, when the answers can wait (each is timed by its arrival, stamped by
            // the kernel) and nothing waits for a connection they would free, sleep to the
            // next due instant without waking for each answer, if it is near; else wait in
            // the poll, which wakes for each answer.
            let wake = chores.wake(&mut self, next_due);
            let spun = self.pool.busy() && self.answer_gap_ns < SPIN_GAP_NS && self.pool.spin(wake.min(now + SPIN_FOR));
            if !spun {
                let nap_fits = self.backlog.iter().all(VecDeque::is_empty) && (!self.pool.busy() || wake <= now + NAP_AT_MOST);
                if nap_fits {
                    // The stamps a nap needs are asked for the first time one would fit.
                    self.pool.want_naps();
                }
                if nap_fits && self.pool.can_nap() {
                    self.pool.nap(wake);
                } else {
                    self.pool.poll(Some(wake), now);
                }
            }
            self.take_ready(&mut chores.flush_due, false);
        }

        // Wait a bounded time for the answers in flight.
        let unsent = self.drop_backlog();
        let deadline = Instant::now() + drain;
        while self.pool.busy()
            && let Some(now) = self.drain_turn(&mut chores, deadline)
        {
            self.pool.poll(Some(chores.next_sweep.min(deadline)), now);
            self.take_ready(&mut chores.flush_due, true);
        }
        self.output(&gauge, unsent)
    }
}

/// Wait until `at`: precisely if the thread has its timer, else by the runtime's.
async fn wait_until(timer: &mut Option<PreciseTimer>, at: Instant) {
    match timer {
        Some(t) => t.until(at).await,
        None => tokio::time::sleep_until(at.into()).await,
    }
}

/// Start one thread of the driver (its own readiness loop, or its own single-threaded tokio
/// runtime). Its output arrives on the returned channel; the channel closes without one if
/// the thread failed. `gate`: see [`StartGate`].
pub(in crate::live) fn start(
    name: String,
    mut plan: Plan,
    gauge: Arc<Gauge>,
    gate: Arc<StartGate>,
) -> std::io::Result<(oneshot::Receiver<Output>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = oneshot::channel();
    let drain = plan.drain;
    let transports = match std::mem::replace(&mut plan.conns, Conns::Tasks(Vec::new())) {
        Conns::Http1(lanes) => {
            // The thread's own readiness loop: no runtime at all.
            let mut reactor = Reactor::new(plan.ctx.clone(), lanes)?;
            let handle = std::thread::Builder::new().name(name).spawn(move || {
                // Warm up before the start: the payers built (below), the connections open.
                reactor.open_ahead(plan.ctx.timeout.min(Duration::from_secs(2)));
                let mut shard = Shard::new(plan, reactor);
                if let Some(start) = gate.ready_then_wait() {
                    shard.start(start);
                }
                let _ = tx.send(shard.drive_http1(gauge, drain));
            })?;
            return Ok((rx, handle));
        }
        Conns::Tasks(t) => t,
    };
    // Sockets, and the runtime's timers only for the transports that use them (hyper,
    // reqwest): this thread's own waits go to its precise timer, and the runtime's timer
    // driver reads the clock and takes a lock at every turn. No signal or process driver
    // either (each turn would also look for exited children).
    let needs_timers = transports.iter().any(|t| matches!(t, Transport::Hyper { .. } | Transport::Reqwest { .. }));
    let build = |timers: bool| {
        let mut b = tokio::runtime::Builder::new_current_thread();
        b.enable_io();
        if timers {
            b.enable_time();
        }
        b.build()
    };
    let rt = build(needs_timers)?;
    // In case the precise timer cannot be had, a runtime with timers to fall back on.
    let fallback = if needs_timers { None } else { Some(build(true)?) };
    let handle = std::thread::Builder::new().name(name).spawn(move || {
        let (rt, timer) = match rt.block_on(async { PreciseTimer::new() }) {
            Ok(t) => (rt, Some(t)),
            Err(_) => (fallback.unwrap_or(rt), None),
        };
        let pool = Pool::new(plan.ctx.clone(), transports);
        let mut shard = Shard::new(plan, pool);
        if let Some(start) = gate.ready_then_wait() {
            shard.start(start);
        }
        let out = rt.block_on(async move { shard.drive(gauge, drain, timer).await });
        let _ = tx.send(out);
    })?;
    Ok((rx, handle))
}
