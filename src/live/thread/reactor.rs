//! The connections of one sending thread for `--transport http1`: plain non-blocking
//! sockets in one `mio` poll (epoll on Linux), and the thread's timer in the same set.
//!
//! The thread itself waits in the poll, reads the events and advances each connection's
//! exchange ([`super::http1::Conn`]); no async runtime, no future, task or waker per
//! request. A finished exchange (answered, failed, or past its deadline) goes on the ready
//! list as a [`Done`] with its connection's index, for the thread to account for and to
//! give the connection its next request.
//!
//! On Linux the requests a turn starts are written together, by one `io_uring` submission,
//! when the thread next waits (polls, looks, naps). Written one `send` each, every request
//! woke the target's thread onto this one's core, which it then took from the sender on its
//! way out of each `send`: a context switch a request (BENCHMARKS.md, thirteenth sitting).
//! Without a ring (an older kernel, one that forbids it), or once one fails, each request is
//! written at once.

use super::super::deployment::api::Api;
use super::super::deployment::base::Base;
use super::http1::{Conn, Step};
use super::lanes::{CallCtx, Done, Lanes, Seen, Work};
use crate::clock::VirtualClock;
use crate::contract::WireScratch;
use crate::model::Response;
use crate::scenario::SystemIdx;
use crate::vocabulary::Failure;
use mio::{Events, Poll, Token};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The token of the thread's timer in the poll set (connections use their index).
const TIMER: Token = Token(usize::MAX);

/// One connection and the request it carries.
pub(in crate::live) struct Lane {
    /// The system it reaches.
    system: SystemIdx,
    conn: Conn,
    scratch: WireScratch,
    api: Api,
    work: Option<Work>,
    sent: Instant,
    deadline: Option<Instant>,
    /// Waiting for the thread's batch of writes ([`Reactor::flush`]).
    #[cfg(target_os = "linux")]
    queued: bool,
}

impl Lane {
    pub(in crate::live) fn new(base: &Base, api: Api, system: SystemIdx) -> Lane {
        Lane {
            system,
            conn: Conn::new(base.addr, &base.host),
            scratch: WireScratch::default(),
            api,
            work: None,
            sent: Instant::now(),
            deadline: None,
            #[cfg(target_os = "linux")]
            queued: false,
        }
    }
}

pub(in crate::live) struct Reactor {
    poll: Poll,
    /// Taken while its events are handled.
    events: Option<Events>,
    lanes: Vec<Lane>,
    /// Idle connections, per system.
    idle: Vec<Vec<u32>>,
    busy: usize,
    pub ctx: Arc<CallCtx>,
    /// Finished exchanges not yet taken by the thread.
    ready: Vec<(u32, Done)>,
    /// The ready list's other buffer, swapped in while the thread takes the list.
    spare: Vec<(u32, Done)>,
    /// While the events of a wait are handled: when the wait ended, by the monotonic clock
    /// and by the real-time one (the kernel's arrival stamps are real time).
    woke: Option<(Instant, Duration)>,
    /// Whether the thread asked its connections for the kernel's arrival stamps
    /// ([`Reactor::want_naps`]).
    stamps_asked: bool,
    /// Whether some connection's socket could not be stamped by the kernel, once asked: its
    /// answers are timed when read, so the thread may not sleep through them ([`Reactor::nap`]).
    unstamped: bool,
    /// Whether the last answer read on a stamped socket carried its stamp. The kernel turns
    /// its stamping on a moment after the first socket asks for it (a deferred switch), so
    /// the first answers may come unstamped: until one comes stamped, the thread does not
    /// sleep through answers.
    stamps_seen: bool,
    #[cfg(target_os = "linux")]
    timer: Option<super::timer::TimerFd>,
    /// The requests started since the thread last waited, written together before it waits
    /// again: one system call for them all (`io_uring`), where a write each let the target's
    /// thread, woken by each, take the core between them.
    #[cfg(target_os = "linux")]
    batch: Option<Batch>,
}

/// The writes of one turn, submitted to the kernel at once.
#[cfg(target_os = "linux")]
struct Batch {
    ring: io_uring::IoUring,
    lanes: Vec<u32>,
    /// Submissions made (tests).
    #[cfg(test)]
    submissions: u32,
}

impl Reactor {
    pub(in crate::live) fn new(ctx: Arc<CallCtx>, lanes: Vec<Lane>) -> std::io::Result<Reactor> {
        let poll = Poll::new()?;
        #[cfg(target_os = "linux")]
        let timer = match super::timer::TimerFd::new() {
            Ok(t) => {
                use std::os::fd::AsRawFd;
                poll.registry().register(&mut mio::unix::SourceFd(&t.as_raw_fd()), TIMER, mio::Interest::READABLE)?;
                Some(t)
            }
            // Then waits round up to the poll's millisecond.
            Err(_) => None,
        };
        #[cfg(target_os = "linux")]
        let batch = io_uring::IoUring::new((lanes.len() as u32).next_power_of_two().max(8)).ok().map(|ring| Batch {
            ring,
            lanes: Vec::new(),
            #[cfg(test)]
            submissions: 0,
        });
        #[cfg(target_os = "linux")]
        let mut lanes = lanes;
        #[cfg(target_os = "linux")]
        for l in &mut lanes {
            l.conn.defer = batch.is_some();
        }
        let systems = lanes.iter().map(|l| l.system as usize + 1).max().unwrap_or(1);
        let mut idle = vec![Vec::new(); systems];
        for i in (0..lanes.len()).rev() {
            idle[lanes[i].system as usize].push(i as u32);
        }
        Ok(Reactor {
            poll,
            events: Some(Events::with_capacity(1024)),
            lanes,
            idle,
            busy: 0,
            ctx,
            ready: Vec::new(),
            spare: Vec::new(),
            woke: None,
            stamps_asked: false,
            unstamped: false,
            stamps_seen: false,
            #[cfg(target_os = "linux")]
            timer,
            #[cfg(target_os = "linux")]
            batch,
        })
    }

    /// Write the requests waiting for the batch, in one submission; whether an exchange
    /// finished meanwhile (a socket's error).
    #[cfg(target_os = "linux")]
    fn flush(&mut self) -> bool {
        let Some(b) = &mut self.batch else { return false };
        if b.lanes.is_empty() {
            return false;
        }
        let before = self.ready.len();
        let mut lanes = std::mem::take(&mut b.lanes);
        let mut n = 0;
        for &i in &lanes {
            self.lanes[i as usize].queued = false;
            let Some((fd, out)) = self.lanes[i as usize].conn.deferred() else { continue };
            let sqe = send_entry(fd, out, i);
            // SAFETY: the bytes stay in the connection's buffer, untouched, until the
            // submission below returns with every completion (each send completes or fails
            // within it, MSG_DONTWAIT), or until the ring is dropped.
            if unsafe { b.ring.submission().push(&sqe) }.is_ok() {
                n += 1;
            }
        }
        #[cfg(test)]
        {
            b.submissions += 1;
        }
        let failed = loop {
            match b.ring.submit_and_wait(n) {
                Ok(_) => break false,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break true,
            }
        };
        let done: Vec<(u32, i32)> = b.ring.completion().map(|c| (c.user_data() as u32, c.result())).collect();
        if failed {
            // What the ring still holds goes with it; from now on each request is written
            // at once.
            self.batch = None;
            for l in &mut self.lanes {
                l.conn.defer = false;
            }
        }
        for (i, res) in done {
            let step = self.lanes[i as usize].conn.wrote(self.poll.registry(), Token(i as usize), res);
            self.advance(i, step);
        }
        // Not written by the batch (the ring refused it, or the socket was full): as a lone
        // write would be.
        for &i in &lanes {
            if self.lanes[i as usize].conn.unwritten() {
                let step = self.lanes[i as usize].conn.wrote(self.poll.registry(), Token(i as usize), -1);
                self.advance(i, step);
            }
        }
        if let Some(b) = &mut self.batch {
            lanes.clear();
            b.lanes = lanes;
        }
        self.ready.len() > before
    }

    #[cfg(not(target_os = "linux"))]
    fn flush(&mut self) -> bool {
        false
    }

    /// Take the finished exchanges, each with its connection's index (hand the list back
    /// with [`Reactor::recycle`]; exchanges finishing meanwhile go on a new list).
    pub(in crate::live) fn take_ready(&mut self) -> Option<Vec<(u32, Done)>> {
        if self.ready.is_empty() {
            return None;
        }
        Some(std::mem::replace(&mut self.ready, std::mem::take(&mut self.spare)))
    }

    /// A list from [`Reactor::take_ready`], emptied, for reuse.
    pub(in crate::live) fn recycle(&mut self, mut list: Vec<(u32, Done)>) {
        list.clear();
        self.spare = list;
    }

    /// Whether any exchange is under way.
    pub(in crate::live) fn busy(&self) -> bool {
        self.busy > 0
    }

    /// Open every connection ahead of the first request (the run's warm-up), each within
    /// `timeout`; one that cannot be opened now is opened by its first request.
    pub(in crate::live) fn open_ahead(&mut self, timeout: Duration) {
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            lane.conn.open_ahead(self.poll.registry(), Token(i), timeout);
        }
    }

    /// The system connection `i` reaches.
    pub(in crate::live) fn system_of(&self, i: u32) -> SystemIdx {
        self.lanes[i as usize].system
    }

    /// Connection `i` is free: give it `next` (sent `now`; a request to its system), or
    /// keep it idle.
    pub(in crate::live) fn release(&mut self, i: u32, next: Option<Work>, now: Instant) {
        match next {
            Some(w) => self.send(i, w, now),
            None => {
                let s = self.lanes[i as usize].system as usize;
                self.idle[s].push(i);
            }
        }
    }

    fn send(&mut self, i: u32, w: Work, now: Instant) {
        let lane = &mut self.lanes[i as usize];
        lane.sent = now;
        lane.deadline = Some(now + self.ctx.timeout);
        let mut rendered = None;
        let wire = lane.api.wire(&self.ctx.spec, &w.req, &mut lane.scratch, &mut rendered);
        let step = lane.conn.begin(self.poll.registry(), Token(i as usize), now, wire);
        #[cfg(target_os = "linux")]
        if let Some(b) = &mut self.batch
            && lane.conn.deferred().is_some()
            && !lane.queued
        {
            lane.queued = true;
            b.lanes.push(i);
        }
        self.unstamped |= self.stamps_asked && lane.conn.unstamped();
        lane.work = Some(w);
        self.busy += 1;
        self.advance(i, step);
    }

    /// Act on what an exchange did.
    fn advance(&mut self, i: u32, step: Step) {
        let lane = &mut self.lanes[i as usize];
        let (resp, decided_at, seen, arrived) = match step {
            Step::Pending => return,
            Step::Failed(broken) => {
                let resp = Response::Error { kind: broken.kind };
                let seen = lane.work.as_ref().and_then(|w| Seen::broken(&lane.api, &w.req, &resp, &broken.why));
                (resp, None, seen, None)
            }
            Step::Answered => {
                let Some(w) = &lane.work else { return };
                let (status, retry_after, body) = lane.conn.answer();
                let (resp, at) = lane.api.read(&self.ctx.spec, &w.req, status, retry_after, body);
                let seen = Seen::of(&lane.api, &w.req, &resp, Some((status, body)));
                let arrived = lane.conn.arrived();
                if lane.conn.stamped() {
                    self.stamps_seen = arrived.is_some();
                }
                lane.conn.done();
                (self.ctx.on_the_clock(resp), at, seen, arrived)
            }
        };
        self.finish(i, resp, decided_at, seen, arrived);
    }

    /// The exchange on connection `i` ended with `resp` (`seen`: what its answer showed, if
    /// one came; `arrived`: when its last bytes arrived, by the kernel's real-time stamp).
    fn finish(
        &mut self,
        i: u32,
        resp: Response,
        decided_at: Option<crate::time::SimTime>,
        seen: Option<Box<Seen>>,
        arrived: Option<Duration>,
    ) {
        let lane = &mut self.lanes[i as usize];
        let Some(w) = lane.work.take() else { return };
        let sent = lane.sent;
        let seen = seen.or_else(|| Seen::of(&lane.api, &w.req, &resp, None));
        lane.deadline = None;
        assert!(self.busy > 0, "a lane finished with none busy");
        self.busy -= 1;
        let (resp, decided_at) = self.ctx.timed(resp, decided_at);
        // An answer the kernel stamped is timed by its arrival: the wait's end less how long
        // before it the stamp is, by the real-time clock (within the send and the wait's end,
        // should that clock have been stepped meanwhile). Another exchange finished by the
        // wait's events is timed at the wait's end; one that failed when sending, or passed
        // its deadline, now.
        let done = match (self.woke, arrived) {
            (Some((woke, real)), Some(at)) => woke.checked_sub(real.saturating_sub(at)).map_or(sent, |t| t.max(sent).min(woke)),
            (Some((woke, _)), None) => woke,
            (None, _) => Instant::now(),
        };
        self.ready.push((i, Done { id: w.id, resp, decided_at, sent, done, seen }));
    }

    /// Wait for events until `until` (`None`: only take what is there; `now`: the caller's
    /// reading of the clock) and advance the exchanges they concern.
    pub(in crate::live) fn poll(&mut self, until: Option<Instant>, now: Instant) {
        let timeout = match until {
            Some(at) if at > now => self.wait_for(at, now),
            _ => Some(Duration::ZERO),
        };
        self.take_events(timeout);
    }

    /// Whether the thread may sleep without watching its connections ([`Reactor::nap`]):
    /// every answer it would then read late is timed by its arrival, stamped by the kernel
    /// (stamps asked for, every socket stamped, and the last answer read carried one).
    pub(in crate::live) fn can_nap(&self) -> bool {
        cfg!(target_os = "linux") && self.stamps_asked && !self.unstamped && self.stamps_seen
    }

    /// The thread would sleep through answers: ask every connection for the kernel's
    /// arrival stamps, once (the naps begin when an answer shows them, [`Reactor::can_nap`]).
    /// A thread that never would (one sending saturated) reads its answers without them.
    pub(in crate::live) fn want_naps(&mut self) {
        if self.stamps_asked || !cfg!(target_os = "linux") {
            return;
        }
        self.stamps_asked = true;
        for lane in &mut self.lanes {
            lane.conn.ask_stamps();
            self.unstamped |= lane.conn.unstamped();
        }
    }

    /// Sleep until `until` without watching the connections, then take what came meanwhile
    /// (one look at the poll): one wake-up for the due instant and the answers together,
    /// where a wait in the poll wakes for each answer as it comes. Only when [`Reactor::can_nap`].
    pub(in crate::live) fn nap(&mut self, until: Instant) {
        if self.flush() {
            return;
        }
        sleep_until(until);
        // With nothing under way there is nothing to take (a server closing an idle
        // connection is found by the probe before its next use).
        if self.busy > 0 {
            self.take_events(Some(Duration::ZERO));
        }
    }

    /// One wait of the poll, its events handled; whether there were any.
    fn take_events(&mut self, timeout: Option<Duration>) -> bool {
        // The turn's writes first; an exchange that failed in them is not waited past.
        let timeout = if self.flush() { Some(Duration::ZERO) } else { timeout };
        let Some(mut events) = self.events.take() else { return false };
        // An interrupted wait (a signal) is taken as an early wake-up.
        let _ = self.poll.poll(&mut events, timeout);
        let any = !events.is_empty();
        if any {
            // One reading for the batch: every answer in it was there when the wait ended.
            self.woke = Some((Instant::now(), real_now()));
        }
        for ev in events.iter() {
            let token = ev.token();
            if token == TIMER {
                #[cfg(target_os = "linux")]
                if let Some(t) = &mut self.timer {
                    t.expired();
                }
                continue;
            }
            let i = token.0 as u32;
            let Some(lane) = self.lanes.get_mut(token.0) else { continue };
            if lane.work.is_none() {
                continue;
            }
            let step = lane.conn.on_event(self.poll.registry(), token, ev);
            self.advance(i, step);
        }
        self.woke = None;
        self.events = Some(events);
        any
    }

    /// Look for events without sleeping until some come (then true, with them handled) or
    /// `until` passes. Between looks the thread yields its core to any other thread that
    /// can run (the target's, on a shared machine); the clock is read every fourth look.
    pub(in crate::live) fn spin(&mut self, until: Instant) -> bool {
        if self.flush() {
            return true;
        }
        let mut looks = 0u32;
        loop {
            #[cfg(unix)]
            // SAFETY: sched_yield takes no arguments and only gives up the processor.
            unsafe {
                libc::sched_yield();
            }
            if self.take_events(Some(Duration::ZERO)) {
                return true;
            }
            looks += 1;
            if looks.is_multiple_of(4) && Instant::now() >= until {
                return false;
            }
        }
    }

    /// The poll's timeout for a wait until `at`: none with the timer armed at `at`, else
    /// `at` rounded up to the poll's millisecond.
    fn wait_for(&mut self, at: Instant, now: Instant) -> Option<Duration> {
        #[cfg(target_os = "linux")]
        if let Some(t) = &mut self.timer
            && t.arm(at).is_ok()
        {
            return None;
        }
        let left = at - now;
        Some(Duration::from_millis(left.as_millis() as u64 + 1))
    }
}

impl Lanes for Reactor {
    fn anchor(&mut self, clock: VirtualClock) {
        self.ctx = self.ctx.anchored(clock);
    }

    fn start(&mut self, w: Work) -> Result<(), Work> {
        match self.idle.get_mut(w.system as usize).and_then(|idle| idle.pop()) {
            Some(i) => {
                self.send(i, w, Instant::now());
                Ok(())
            }
            None => Err(w),
        }
    }

    fn sweep(&mut self, now: Instant) {
        for i in 0..self.lanes.len() {
            let lane = &mut self.lanes[i];
            if lane.deadline.is_some_and(|d| d <= now) {
                lane.conn.abort();
                let resp = Response::Error { kind: Failure::Timeout };
                let why = crate::live::deployment::why::no_answer_within(self.ctx.timeout);
                let seen = lane.work.as_ref().and_then(|w| Seen::broken(&lane.api, &w.req, &resp, &why));
                self.finish(i as u32, resp, None, seen, None);
            }
        }
    }
}

/// The real-time clock's reading, since the Unix epoch (the kernel's arrival stamps are on it).
fn real_now() -> Duration {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
}

/// The batch's send of `out` on socket `fd` for lane `i`. MSG_DONTWAIT: on a full socket the
/// send fails at once (EAGAIN; the lone write that follows waits for room in the poll). The
/// ring does not take the socket's O_NONBLOCK for that (Linux 6.18): without the flag it
/// arms the send, and `submit_and_wait` waits for a target that does not read, past every
/// deadline.
#[cfg(target_os = "linux")]
fn send_entry(fd: std::os::fd::RawFd, out: &[u8], i: u32) -> io_uring::squeue::Entry {
    io_uring::opcode::Send::new(io_uring::types::Fd(fd), out.as_ptr(), out.len() as u32)
        .flags(libc::MSG_DONTWAIT)
        .build()
        .user_data(u64::from(i))
}

/// Sleep the thread until `at`, to the kernel's high-resolution timer on Linux (an absolute
/// `clock_nanosleep` on the monotonic clock `Instant` reads: no timer to arm or read back).
fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at <= now {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes one timespec into `ts`, which outlives the call.
        if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } == 0 {
            let left = at - now;
            let nanos = ts.tv_nsec as u64 + u64::from(left.subsec_nanos());
            ts.tv_sec += (left.as_secs() + nanos / 1_000_000_000) as libc::time_t;
            ts.tv_nsec = (nanos % 1_000_000_000) as libc::c_long;
            // An interrupted sleep (a signal) ends early, as a wait in the poll would.
            // SAFETY: `ts` is a valid timespec; no remainder is asked for with TIMER_ABSTIME.
            unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &ts, std::ptr::null_mut()) };
            return;
        }
    }
    std::thread::sleep(at - now);
}

#[cfg(test)]
#[path = "reactor_tests.rs"]
mod tests;
