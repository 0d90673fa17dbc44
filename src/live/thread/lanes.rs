//! What a sending thread and its connections share, whatever drives the connections: the
//! request handed to a connection ([`Work`]), the answer it gives back ([`Done`]), the
//! context of every call ([`CallCtx`]) and the [`Lanes`] a thread sends on (its own
//! readiness loop, [`super::reactor`], or futures on a runtime, [`super::tasks`]).

use crate::clock::VirtualClock;
use crate::model::{Request, Response};
use crate::scenario::{Spec, SystemIdx};
use crate::time::SimTime;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one request in flight needs besides its connection (shared, read-only).
pub(in crate::live) struct CallCtx {
    pub spec: Arc<Spec>,
    pub timeout: Duration,
    /// The run's clock (replaced by the one anchored when the start gate opens).
    pub clock: VirtualClock,
    /// The target keeps real time: the instants it states are rebased onto `clock`.
    pub rebase: bool,
}

impl CallCtx {
    /// An answer put on the run's clock: a wait the target asks for (`Retry-After`) is real
    /// time on the wire, and the virtual clock runs that many times faster now (never
    /// slower: a run slower than real time waits as asked).
    pub(in crate::live) fn on_the_clock(&self, resp: Response) -> Response {
        match resp {
            Response::Overloaded { retry_after_micros } => {
                let scale = self.clock.scale_at(self.clock.now()).max(1.0);
                Response::Overloaded { retry_after_micros: (retry_after_micros as f64 * scale) as i64 }
            }
            other => other,
        }
    }

    /// An answer and the instant the target says it decided, on the run's clock: a target
    /// keeping real time states wall-clock instants, rebased here.
    pub(in crate::live) fn timed(&self, resp: Response, decided_at: Option<SimTime>) -> (Response, Option<SimTime>) {
        match self.rebase {
            true => rebase(&self.clock, resp, decided_at),
            false => (resp, decided_at),
        }
    }

    /// The context on `clock`, the run's, anchored when the start gate opened.
    pub(in crate::live) fn anchored(self: &Arc<Self>, clock: VirtualClock) -> Arc<CallCtx> {
        Arc::new(CallCtx { spec: self.spec.clone(), timeout: self.timeout, clock, rebase: self.rebase })
    }
}

pub(in crate::live) struct Done {
    pub id: u32,
    pub resp: Response,
    /// When the target says it decided (payments), if it says so.
    pub decided_at: Option<SimTime>,
    pub sent: Instant,
    pub done: Instant,
    /// What the wire showed, for an answer counted as an error (none for others, and for
    /// answers that never went over a wire).
    pub seen: Option<Box<Seen>>,
}

/// The body bytes kept of a failed answer (the report shows fewer).
pub(in crate::live) const SEEN_BODY_BYTES: usize = 512;

/// What the wire showed of an answer counted as an error ([`Response::error_kind`]), for the
/// failures table: the request's method and path template, the HTTP status (none when no
/// answer came: a timeout, a refused or reset connection) and the body's first bytes; for an
/// exchange that broke before its answer, what the client said instead.
#[derive(Clone, Debug, PartialEq)]
pub(in crate::live) struct Seen {
    pub method: &'static str,
    pub path: String,
    pub status: Option<u16>,
    pub body: Vec<u8>,
    pub error: Option<String>,
}

impl Seen {
    /// For `resp`, the answer to `req` through `api` (`answer`: its status and body, if one
    /// came): something only when `resp` counts as an error, so answers that do not cost
    /// nothing.
    pub(in crate::live) fn of(
        api: &crate::live::deployment::api::Api,
        req: &Request,
        resp: &Response,
        answer: Option<(u16, &[u8])>,
    ) -> Option<Box<Seen>> {
        resp.error_kind()?;
        let (method, path) = api.route(req);
        let (status, body) = match answer {
            Some((status, body)) => (Some(status), body[..body.len().min(SEEN_BODY_BYTES)].to_vec()),
            None => (None, Vec::new()),
        };
        Some(Box::new(Seen { method, path, status, body, error: None }))
    }

    /// For `resp`, an exchange with `req` through `api` that broke before its answer, and why.
    pub(in crate::live) fn broken(api: &crate::live::deployment::api::Api, req: &Request, resp: &Response, why: &str) -> Option<Box<Seen>> {
        let mut seen = Seen::of(api, req, resp, None)?;
        seen.error = Some(why.to_string());
        Some(seen)
    }
}

/// A request for a connection: its job's index, the request, and the system it goes to
/// (a connection reaches one system; 0 with one system).
pub(in crate::live) struct Work {
    pub id: u32,
    pub req: Request,
    pub system: SystemIdx,
}

/// A thread's connections, as the code they share sees them.
pub(in crate::live) trait Lanes {
    /// Send `w` on an idle connection to its system, or give it back when none is idle.
    // Handed back only when every connection is busy; boxing it would allocate per request.
    #[allow(clippy::result_large_err)]
    fn start(&mut self, w: Work) -> Result<(), Work>;
    /// Give up every exchange whose deadline passed by `now`.
    fn sweep(&mut self, now: Instant);
    /// Run on `clock` from now on (see [`CallCtx::anchored`]).
    fn anchor(&mut self, clock: VirtualClock);
}

/// Map the instants a real-time target states onto the run's virtual timeline.
pub(in crate::live) fn rebase(clock: &VirtualClock, resp: Response, decided_at: Option<SimTime>) -> (Response, Option<SimTime>) {
    let wall_now = crate::clock::wall_now();
    let map = |t: SimTime| clock.virtual_of_wall(t, wall_now);
    let resp = match resp {
        Response::Suspended { resume_at } => Response::Suspended { resume_at: resume_at.map(map) },
        Response::NotYetVisible { visible_at } => Response::NotYetVisible { visible_at: map(visible_at) },
        other => other,
    };
    (resp, decided_at.map(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_asked_on_the_wire_runs_on_the_compressed_clock() {
        let spec = Arc::new(crate::scenario::parse("ci-smoke.json", include_str!("../../../scenarios/ci-smoke.json")).expect("ci-smoke"));
        let ctx = |scale| CallCtx {
            spec: spec.clone(),
            timeout: Duration::from_secs(1),
            clock: VirtualClock::starting_now(spec.start, scale),
            rebase: false,
        };
        let two_seconds = Response::Overloaded { retry_after_micros: 2_000_000 };
        assert_eq!(ctx(1000.0).on_the_clock(two_seconds.clone()), Response::Overloaded { retry_after_micros: 2_000_000_000 });
        // Slower than real time: the wait is not shortened.
        assert_eq!(ctx(0.5).on_the_clock(two_seconds.clone()), two_seconds);
        assert_eq!(ctx(1000.0).on_the_clock(Response::Conflict), Response::Conflict);
    }
}
