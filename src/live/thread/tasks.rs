//! A thread's connections as futures on its single-threaded tokio runtime: hyper, reqwest
//! and the in-process model (`--transport http1` has its own readiness loop instead,
//! [`super::reactor`]).

use super::lanes::{CallCtx, Done, Lanes, Work};
use super::transport::Transport;
use crate::clock::VirtualClock;
use crate::model::{Request, Response};
use crate::scenario::SystemIdx;
use crate::vocabulary::Failure;
use futures_util::stream::FuturesUnordered;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// The deadline of the call in flight on one connection. Deadlines are checked by one
/// sweep every tenth of the timeout, instead of a timer per request (registering and
/// clearing one per request showed in profiles): a request times out between 1 and 1.1
/// timeouts after it was sent.
#[derive(Default)]
struct Deadline {
    at: Cell<Option<Instant>>,
    passed: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Deadline {
    fn poll_passed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.passed.get() {
            return Poll::Ready(());
        }
        let mut w = self.waker.borrow_mut();
        if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *w = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// One connection and its deadline.
pub(in crate::live) struct Slot {
    t: Transport,
    deadline: Rc<Deadline>,
}

impl Slot {
    /// The system the connection reaches.
    pub(in crate::live) fn system(&self) -> SystemIdx {
        self.t.system()
    }
}

/// A thread's connections as futures on its runtime.
pub(in crate::live) struct Pool {
    pub(in crate::live) ctx: Arc<CallCtx>,
    /// Idle connections, per system.
    idle: Vec<Vec<Slot>>,
    /// Every slot's deadline, for the sweep.
    deadlines: Vec<Rc<Deadline>>,
    pub(in crate::live) in_flight: FuturesUnordered<Call>,
}

pub(in crate::live) type Call = Pin<Box<dyn Future<Output = (Slot, Done)>>>;

/// Send one request on a connection; the future gives the connection back with the answer.
fn call(mut slot: Slot, ctx: Arc<CallCtx>, id: u32, req: Request) -> Call {
    Box::pin(async move {
        let sent = Instant::now();
        slot.deadline.at.set(Some(sent + ctx.timeout));
        let deadline = slot.deadline.clone();
        let answer = tokio::select! {
            biased;
            a = slot.t.call(&ctx, &req) => Some(a),
            _ = std::future::poll_fn(|cx| deadline.poll_passed(cx)) => None,
        };
        slot.deadline.at.set(None);
        slot.deadline.passed.set(false);
        let (resp, decided_at, seen) = match answer {
            // The in-process model answers on the run's clock already.
            Some((resp, at, seen)) if slot.t.is_in_process() => (resp, at, seen),
            Some((resp, at, seen)) => (ctx.on_the_clock(resp), at, seen),
            None => {
                slot.t.after_timeout();
                let resp = Response::Error { kind: Failure::Timeout };
                let seen = slot.t.timed_out(&req, &resp, &crate::live::deployment::why::no_answer_within(ctx.timeout));
                (resp, None, seen)
            }
        };
        let (resp, decided_at) = ctx.timed(resp, decided_at);
        (slot, Done { id, resp, decided_at, sent, done: Instant::now(), seen })
    })
}

impl Pool {
    pub(in crate::live) fn new(ctx: Arc<CallCtx>, transports: Vec<Transport>) -> Pool {
        let slots: Vec<Slot> = transports.into_iter().map(|t| Slot { t, deadline: Rc::new(Deadline::default()) }).collect();
        let deadlines = slots.iter().map(|s| s.deadline.clone()).collect();
        let systems = slots.iter().map(|s| s.system() as usize + 1).max().unwrap_or(1);
        let mut idle: Vec<Vec<Slot>> = (0..systems).map(|_| Vec::new()).collect();
        for s in slots {
            idle[s.system() as usize].push(s);
        }
        Pool { ctx, idle, deadlines, in_flight: FuturesUnordered::new() }
    }

    /// Connection `s` is free again: give it `next` (a request to its system), or keep it idle.
    pub(in crate::live) fn restart(&mut self, s: Slot, next: Option<Work>) {
        match next {
            Some(w) => self.in_flight.push(call(s, self.ctx.clone(), w.id, w.req)),
            None => {
                let i = s.system() as usize;
                self.idle[i].push(s);
            }
        }
    }
}

impl Lanes for Pool {
    fn start(&mut self, w: Work) -> Result<(), Work> {
        match self.idle.get_mut(w.system as usize).and_then(|idle| idle.pop()) {
            Some(s) => {
                self.in_flight.push(call(s, self.ctx.clone(), w.id, w.req));
                Ok(())
            }
            None => Err(w),
        }
    }

    fn sweep(&mut self, now: Instant) {
        for d in &self.deadlines {
            if d.at.get().is_some_and(|at| at <= now) && !d.passed.get() {
                d.passed.set(true);
                if let Some(w) = d.waker.borrow_mut().take() {
                    w.wake();
                }
            }
        }
    }

    /// Before the first request: every connection is idle.
    fn anchor(&mut self, clock: VirtualClock) {
        self.ctx = self.ctx.anchored(clock);
        for s in self.idle.iter_mut().flatten() {
            s.t.anchor(clock);
        }
    }
}
