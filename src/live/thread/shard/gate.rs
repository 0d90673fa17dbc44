//! The start gate: the sending threads wait at it, set up, until the coordinator opens it
//! with the run's clock and how far the targets' clocks may lag it.

use crate::clock::VirtualClock;
use crate::live::pace::ClockLag;
use std::sync::{Arc, Mutex};

/// What the threads start with when the gate opens: the run's clock, anchored then, and how
/// far the targets' clocks may lag it (the auditor's margin each side of a request's
/// send/answer window): each was set just before and lags by up to that call's round trip,
/// and the coordinator widens it at each change of pace.
#[derive(Clone)]
pub(in crate::live) struct Start {
    pub clock: VirtualClock,
    pub lag: Arc<ClockLag>,
}

/// Where the threads say they are set up (their share of agents scheduled, their tables
/// reserved, their connections open) and wait until the coordinator lets them all start, so
/// that the run's wall time and CPU count the sending alone. The gate hands them the run's
/// clock, anchored when it opens: set-up time does not make the first requests late.
#[derive(Default)]
pub(in crate::live) struct StartGate {
    /// Threads ready, whether the gate is open, and what it opened with (none when it
    /// opened only to let stopped threads end).
    state: Mutex<(usize, bool, Option<Start>)>,
    changed: std::sync::Condvar,
}

impl StartGate {
    pub(super) fn ready_then_wait(&self) -> Option<Start> {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        self.changed.notify_all();
        while !g.1 {
            g = self.changed.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        g.2.clone()
    }

    /// Block until `n` threads are ready.
    pub(in crate::live) fn wait_ready(&self, n: usize) {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while g.0 < n {
            g = self.changed.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Let the threads start (or, with none, end: they were told to stop).
    pub(in crate::live) fn open(&self, start: Option<Start>) {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        g.1 = true;
        g.2 = start;
        self.changed.notify_all();
    }
}
