//! The connections of one sending thread for `--transport http1`: plain non-blocking
//! sockets in one `mio` poll (epoll on Linux), and the thread's timer in the same set.
//!
//! The thread itself waits in the poll, reads the events and advances each connection's
//! exchange ([`super::http1::Conn`]); no async runtime, no future, task or waker per
//! request. A finished exchange (answered, failed, or past its deadline) goes on the ready
//! list as a [`Done`] with its connection's index, for the thread to account for and to
//! give the connection its next request.

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
    /// While the events of a wait are handled: when the wait ended.
    woke: Option<Instant>,
    #[cfg(target_os = "linux")]
    timer: Option<super::timer::TimerFd>,
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
            #[cfg(target_os = "linux")]
            timer,
        })
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
        lane.work = Some(w);
        self.busy += 1;
        self.advance(i, step);
    }

    /// Act on what an exchange did.
    fn advance(&mut self, i: u32, step: Step) {
        let lane = &mut self.lanes[i as usize];
        let (resp, decided_at, seen) = match step {
            Step::Pending => return,
            Step::Failed(kind) => (Response::Error { kind }, None, None),
            Step::Answered => {
                let Some(w) = &lane.work else { return };
                let (status, retry_after, body) = lane.conn.answer();
                let (resp, at) = lane.api.read(&self.ctx.spec, &w.req, status, retry_after, body);
                let seen = Seen::of(&lane.api, &w.req, &resp, Some((status, body)));
                lane.conn.done();
                (self.ctx.on_the_clock(resp), at, seen)
            }
        };
        self.finish(i, resp, decided_at, seen);
    }

    /// The exchange on connection `i` ended with `resp` (`seen`: what its answer showed, if
    /// one came).
    fn finish(&mut self, i: u32, resp: Response, decided_at: Option<crate::time::SimTime>, seen: Option<Box<Seen>>) {
        let lane = &mut self.lanes[i as usize];
        let Some(w) = lane.work.take() else { return };
        let seen = seen.or_else(|| Seen::of(&lane.api, &w.req, &resp, None));
        lane.deadline = None;
        assert!(self.busy > 0, "a lane finished with none busy");
        self.busy -= 1;
        let (resp, decided_at) = self.ctx.timed(resp, decided_at);
        let sent = lane.sent;
        // An exchange finished by the wait's events is timed at the wait's end; one that
        // failed when sending, or passed its deadline, now.
        let done = self.woke.unwrap_or_else(Instant::now);
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

    /// One wait of the poll, its events handled; whether there were any.
    fn take_events(&mut self, timeout: Option<Duration>) -> bool {
        let Some(mut events) = self.events.take() else { return false };
        // An interrupted wait (a signal) is taken as an early wake-up.
        let _ = self.poll.poll(&mut events, timeout);
        let any = !events.is_empty();
        if any {
            // One reading for the batch: every answer in it was there when the wait ended.
            self.woke = Some(Instant::now());
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
                self.finish(i as u32, Response::Error { kind: Failure::Timeout }, None, None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_refused_connection_and_a_silent_target_end_as_error_kinds() {
        use crate::model::{IdemKey, PayerRef, Request};
        use crate::scenario::GroupKind;
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
                done.extend(list.drain(..).map(|(lane, d)| (lane, d.id, d.resp, d.done.saturating_duration_since(d.sent))));
                r.recycle(list);
            }
        }
        done.sort_by_key(|d| d.0);
        assert!(matches!(done[0], (0, 7, Response::Error { kind: Failure::Refused }, _)), "{:?}", done[0]);
        // The silent target: given up at its deadline (200 ms), no sooner.
        assert!(matches!(done[1], (1, 8, Response::Error { kind: Failure::Timeout }, _)), "{:?}", done[1]);
        assert!(done[1].3 >= Duration::from_millis(200), "{:?}", done[1]);
        assert!(!r.busy());
        drop(silent);
    }
}
