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
            let sqe = io_uring::opcode::Send::new(io_uring::types::Fd(fd), out.as_ptr(), out.len() as u32).build().user_data(u64::from(i));
            // SAFETY: the bytes stay in the connection's buffer, untouched, until the
            // submission below returns with every completion (each socket is non-blocking,
            // so each send completes or fails within it), or until the ring is dropped.
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
mod tests {
    use super::*;
    use crate::model::{IdemKey, PayerRef, Request};
    use crate::scenario::GroupKind;

    fn reactor(lanes: Vec<Lane>) -> Reactor {
        let spec = Arc::new(crate::scenario::load(std::path::Path::new("scenarios/ci-smoke.json")).expect("scenario"));
        let ctx = Arc::new(CallCtx {
            spec: spec.clone(),
            timeout: Duration::from_millis(200),
            clock: VirtualClock::starting_now(spec.start, 1.0),
            rebase: false,
        });
        Reactor::new(ctx, lanes).expect("poll")
    }

    #[test]
    fn waits_end_at_their_instant_not_at_the_next_millisecond() {
        // The poll's own timeout rounds up to whole milliseconds (~790 µs late here); the
        // thread's timerfd ends the wait on time.
        let mut r = reactor(Vec::new());
        crate::live::thread::timer::assert_waits_are_precise(|at| r.poll(Some(at), Instant::now()));
    }

    /// A server on loopback answering `{}` to every request on every connection it accepts.
    #[cfg(target_os = "linux")]
    fn answering_server() -> std::net::SocketAddr {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    let mut b = [0u8; 4096];
                    loop {
                        let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
                            match s.read(&mut b) {
                                Ok(n) if n > 0 => got.extend_from_slice(&b[..n]),
                                _ => return,
                            }
                            continue;
                        };
                        let head = String::from_utf8_lossy(&got[..i]).to_ascii_lowercase();
                        let len: usize =
                            head.split("content-length: ").nth(1).map_or(0, |v| v.split("\r\n").next().unwrap().parse().unwrap());
                        while got.len() < i + 4 + len {
                            match s.read(&mut b) {
                                Ok(n) if n > 0 => got.extend_from_slice(&b[..n]),
                                _ => return,
                            }
                        }
                        got.drain(..i + 4 + len);
                        if s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    #[cfg(target_os = "linux")]
    fn pay(id: u32) -> Work {
        let req = Request::Pay {
            key: IdemKey::new(u128::from(id)),
            payer: PayerRef { id, group: GroupKind::Flexible, league: 0 },
            channel: 0,
            items: [100, 0, 0, 0, 0, 0],
            period: crate::model::Period::UNKNOWN,
            special: false,
            assessment: None,
        };
        Work { id, req, system: 0 }
    }

    /// Every answer of `n` requests started on `r`'s open connections, by the polls' turns.
    #[cfg(target_os = "linux")]
    fn answers(r: &mut Reactor, n: usize) -> Vec<u32> {
        let give_up = Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        while got.len() < n {
            assert!(Instant::now() < give_up, "{} answers of {n}", got.len());
            r.poll(Some(Instant::now() + Duration::from_millis(1)), Instant::now());
            while let Some(mut list) = r.take_ready() {
                for (i, d) in list.drain(..) {
                    r.release(i, None, Instant::now());
                    // Answered on the wire (the server's `{}` is no payment's answer).
                    let lost = |r: &Response| {
                        matches!(
                            r,
                            Response::Error {
                                kind: Failure::Timeout | Failure::Refused | Failure::Reset | Failure::Transport | Failure::NotSent
                            }
                        )
                    };
                    assert!(!lost(&d.resp), "{:?}", d.resp);
                    got.push(d.id);
                }
                r.recycle(list);
            }
        }
        got.sort_unstable();
        got
    }

    /// The requests a thread starts in one turn are written together, by one submission,
    /// when it next waits; none is written before.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_turns_requests_are_written_by_one_submission() {
        let addr = answering_server();
        let base = Base { url: format!("http://{addr}"), host: addr.to_string(), addr, tls: None };
        let lanes = (0..8).map(|_| Lane::new(&base, crate::live::deployment::target::Api::Contract, 0)).collect();
        let mut r = reactor(lanes);
        r.open_ahead(Duration::from_secs(5));
        assert!(r.batch.is_some(), "io_uring is there on this machine");
        for id in 1..=8 {
            assert!(r.start(pay(id)).is_ok());
        }
        assert!(r.lanes.iter().all(|l| l.conn.unwritten()), "nothing written before the thread waits");
        assert_eq!(answers(&mut r, 8), (1..=8).collect::<Vec<_>>());
        assert_eq!(r.batch.as_ref().map(|b| b.submissions), Some(1), "one submission for the eight");
    }

    /// A ring that fails (here: its descriptor replaced under it) is dropped, the requests
    /// waiting for it are written one by one, and later ones at once.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_ring_leaves_the_requests_to_lone_writes() {
        use std::os::fd::AsRawFd;
        let addr = answering_server();
        let base = Base { url: format!("http://{addr}"), host: addr.to_string(), addr, tls: None };
        let lanes = (0..4).map(|_| Lane::new(&base, crate::live::deployment::target::Api::Contract, 0)).collect();
        let mut r = reactor(lanes);
        r.open_ahead(Duration::from_secs(5));
        for id in 1..=4 {
            assert!(r.start(pay(id)).is_ok());
        }
        let null = std::fs::File::open("/dev/null").unwrap();
        let ring = r.batch.as_ref().expect("a ring").ring.as_raw_fd();
        // SAFETY: both descriptors are open; the ring's is replaced by /dev/null's (the
        // ring's own file then closes), and closed once, by the ring when dropped.
        assert_eq!(unsafe { libc::dup2(null.as_raw_fd(), ring) }, ring);
        assert_eq!(answers(&mut r, 4), vec![1, 2, 3, 4]);
        assert!(r.batch.is_none() && r.lanes.iter().all(|l| !l.conn.defer), "the ring given up");
        for id in 5..=8 {
            assert!(r.start(pay(id)).is_ok());
        }
        assert!(r.lanes.iter().all(|l| !l.conn.unwritten()), "written at once");
        assert_eq!(answers(&mut r, 4), vec![5, 6, 7, 8]);
    }

    /// An answer read long after it came is timed by its arrival, not by the read: the
    /// thread sleeps through it ([`Reactor::nap`]) and reads it 50 ms later. The thread
    /// naps only once an answer has come stamped (the kernel switches its stamping on a
    /// moment after the first socket asks), so a first exchange is read as it comes.
    #[cfg(target_os = "linux")]
    #[test]
    fn an_answer_read_late_is_timed_by_its_arrival() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = Vec::new();
            let mut b = [0u8; 4096];
            // Each request answered until the client closes.
            'serve: loop {
                // The head, then the body by its length.
                let need = loop {
                    if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&got[..i]).to_ascii_lowercase();
                        let len: usize =
                            head.split("content-length: ").nth(1).map_or(0, |v| v.split("\r\n").next().unwrap().parse().unwrap());
                        break i + 4 + len;
                    }
                    match s.read(&mut b) {
                        Ok(n) if n > 0 => got.extend_from_slice(&b[..n]),
                        _ => break 'serve,
                    }
                };
                while got.len() < need {
                    let n = s.read(&mut b).unwrap();
                    assert!(n > 0);
                    got.extend_from_slice(&b[..n]);
                }
                got.drain(..need);
                let before = Instant::now();
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
                let _ = tx.send((before, Instant::now()));
            }
        });
        let base = Base { url: format!("http://{addr}"), host: addr.to_string(), addr, tls: None };
        let mut r = reactor(vec![Lane::new(&base, crate::live::deployment::target::Api::Contract, 0)]);
        assert!(!r.can_nap(), "no answer has shown the kernel's stamps yet");
        let req = |key| Request::Pay {
            key: IdemKey::new(key),
            payer: PayerRef { id: 1, group: GroupKind::Flexible, league: 0 },
            channel: 0,
            items: [100, 0, 0, 0, 0, 0],
            period: crate::model::Period::UNKNOWN,
            special: false,
            assessment: None,
        };
        let give_up = Instant::now() + Duration::from_secs(10);
        // Exchanges read as they come: none carries a stamp until the thread would nap.
        let mut id = 0;
        let exchange = |r: &mut Reactor, id: u32| {
            let w = Work { id, req: req(u128::from(id)), system: 0 };
            if id == 1 {
                assert!(r.start(w).is_ok())
            } else {
                r.release(0, Some(w), Instant::now())
            }
            let mut got = Vec::new();
            while got.is_empty() {
                assert!(Instant::now() < give_up, "no answer to exchange {id}");
                r.poll(Some(Instant::now() + Duration::from_millis(1)), Instant::now());
                while let Some(mut list) = r.take_ready() {
                    got.extend(list.drain(..).map(|(i, d)| (i, d.id)));
                    r.recycle(list);
                }
            }
            assert_eq!(got, vec![(0, id)]);
            rx.recv().unwrap();
        };
        for _ in 0..3 {
            id += 1;
            exchange(&mut r, id);
            assert!(!r.can_nap() && !r.lanes[0].conn.stamped(), "stamps not asked for");
        }
        // Asked for, they come after the kernel turns them on.
        r.want_naps();
        while !r.can_nap() {
            id += 1;
            assert!(id <= 100, "a plain socket on Linux is stamped, yet 100 answers came without");
            exchange(&mut r, id);
        }
        id += 1;
        r.release(0, Some(Work { id, req: req(u128::from(id)), system: 0 }), Instant::now());
        let mut done = Vec::new();
        while done.is_empty() {
            assert!(Instant::now() < give_up, "no answer");
            // Writing takes a turn or two; the answer is then slept through.
            let (before, after) = match rx.try_recv() {
                Ok(t) => t,
                Err(_) => {
                    r.poll(Some(Instant::now() + Duration::from_millis(1)), Instant::now());
                    continue;
                }
            };
            let nap_until = after + Duration::from_millis(50);
            r.nap(nap_until);
            assert!(Instant::now() >= nap_until, "the nap ended early");
            while let Some(mut list) = r.take_ready() {
                done.extend(list.drain(..).map(|(_, d)| (d.id, d.sent, d.done, before, after)));
                r.recycle(list);
            }
            assert_eq!(done.len(), 1, "the answer taken after the nap");
        }
        let (got, sent, at, before, after) = done[0];
        assert_eq!(got, id);
        // On loopback the answer arrives while the server writes it; the clocks' conversion
        // leaves a few microseconds either way.
        let slack = Duration::from_millis(2);
        assert!(at + slack >= before && at >= sent, "timed before the answer was written: {:?}", before.checked_duration_since(at));
        assert!(at <= after + slack, "timed {:?} after the answer was written, not at its arrival", at.duration_since(after));
        drop(r);
        server.join().unwrap();
    }

    #[test]
    fn a_refused_connection_and_a_silent_target_end_as_error_kinds() {
        // A port nobody listens on, and a listener that accepts but never answers.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused_addr = closed.local_addr().unwrap();
        drop(closed);
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = |addr: std::net::SocketAddr| Base { url: format!("http://{addr}"), host: addr.to_string(), addr, tls: None };
        let mut r = reactor(vec![
            Lane::new(&base(refused_addr), crate::live::deployment::target::Api::Contract, 0),
            Lane::new(&base(silent.local_addr().unwrap()), crate::live::deployment::target::Api::Contract, 0),
        ]);
        let req = |n: u32| Request::Pay {
            key: IdemKey::new(n as u128),
            payer: PayerRef { id: n, group: GroupKind::Flexible, league: 0 },
            channel: 0,
            items: [100, 0, 0, 0, 0, 0],
            period: crate::model::Period::UNKNOWN,
            special: false,
            assessment: None,
        };
        assert!(r.start(Work { id: 7, req: req(1), system: 0 }).is_ok());
        assert!(r.start(Work { id: 8, req: req(2), system: 0 }).is_ok());
        assert!(r.start(Work { id: 9, req: req(3), system: 0 }).is_err(), "a third request with two connections busy");
        let mut done = Vec::new();
        let give_up = Instant::now() + Duration::from_secs(10);
        while done.len() < 2 {
            assert!(Instant::now() < give_up, "not both finished: {:?}", done);
            let now = Instant::now();
            r.sweep(now);
            r.poll(Some(now + Duration::from_millis(20)), now);
            while let Some(mut list) = r.take_ready() {
                done.extend(list.drain(..).map(|(lane, d)| {
                    let why = d.seen.and_then(|s| s.error).unwrap_or_default();
                    (lane, d.id, d.resp, d.done.saturating_duration_since(d.sent), why)
                }));
                r.recycle(list);
            }
        }
        done.sort_by_key(|d| d.0);
        assert!(matches!(done[0], (0, 7, Response::Error { kind: Failure::Refused }, _, _)), "{:?}", done[0]);
        // The silent target: given up at its deadline (200 ms), no sooner.
        assert!(matches!(done[1], (1, 8, Response::Error { kind: Failure::Timeout }, _, _)), "{:?}", done[1]);
        assert!(done[1].3 >= Duration::from_millis(200), "{:?}", done[1]);
        // Each says why, for the report's failure samples: the socket's words, the deadline.
        assert!(done[0].4.contains("refused"), "{:?}", done[0]);
        assert_eq!(done[1].4, "timed out: no answer within 0.2 s");
        assert!(!r.busy());
        drop(silent);
    }
}
