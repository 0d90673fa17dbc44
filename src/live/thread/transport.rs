//! How one connection of the live driver reaches its target.
//!
//! The fast path for plain `http://` targets, the driver's own HTTP/1.1 connections
//! ([`super::http1`]), is not here: those are driven by the sending thread's own readiness
//! loop ([`super::reactor`]), not as futures. Here, each connection is a future on the
//! thread's runtime:
//! - `Hyper`: one HTTP/1.1 connection through hyper's connection-level client (kept to
//!   compare against: it costs more CPU per request);
//! - `Reqwest`: a shared reqwest client (general, slower);
//! - `Model`: the in-process reference model, called in real time with the run's clock.
//!
//! A transport never fails the run: every failure becomes [`Response::Error`] with a kind
//! (`timeout`, `refused`, `reset`, `transport`, `unexpected_status`, `bad_body`).

use super::super::deployment::api::Api;
use super::super::deployment::base::Base;
use super::lanes::{CallCtx, Seen};
use crate::clock::VirtualClock;
use crate::contract::WireRequest;
use crate::model::{Request, Response, Systems};
use crate::scenario::SystemIdx;
use crate::time::SimTime;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};

/// Which client a run's connections use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// The driver's own HTTP/1.1 client in the thread's readiness loop.
    Http1,
    Hyper,
    Reqwest,
}

pub(in crate::live) enum Transport {
    Hyper {
        base: Base,
        sender: Option<SendRequest<Full<Bytes>>>,
        api: Api,
        system: SystemIdx,
    },
    Reqwest {
        base: Base,
        client: reqwest::Client,
        api: Api,
        system: SystemIdx,
    },
    /// The in-process systems; `system` is the one this connection reaches.
    Model {
        model: Arc<Mutex<Systems>>,
        clock: VirtualClock,
        system: SystemIdx,
    },
}

/// The raw answer of an HTTP exchange.
pub(in crate::live) struct RawAnswer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Bytes,
}

use super::http1::{Broken, classify};
use crate::vocabulary::Failure;

use crate::live::deployment::why::{why, words};

fn broken_hyper(e: &hyper::Error) -> Broken {
    Broken { kind: classify_hyper(e), why: words(e).into() }
}

/// In the words of the checks before the load (`timeout`: the client's own).
fn broken_reqwest(e: &reqwest::Error, timeout: std::time::Duration) -> Broken {
    Broken { kind: classify_reqwest(e), why: why(e, timeout).into() }
}

fn classify_hyper(e: &hyper::Error) -> Failure {
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        return Failure::Reset;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return classify(io);
        }
        src = s.source();
    }
    Failure::Transport
}

/// A failed exchange through reqwest, in the words of the other transports: what hyper or
/// the socket underneath said (a connection closed mid-exchange is a reset, as with them).
fn classify_reqwest(e: &reqwest::Error) -> Failure {
    if e.is_timeout() {
        return Failure::Timeout;
    }
    if e.is_connect() {
        return Failure::Refused;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            return classify_hyper(h);
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return classify(io);
        }
        src = s.source();
    }
    Failure::Transport
}

impl Transport {
    /// The system this connection reaches.
    pub(in crate::live) fn system(&self) -> SystemIdx {
        match self {
            Transport::Hyper { system, .. } | Transport::Reqwest { system, .. } | Transport::Model { system, .. } => *system,
        }
    }

    /// Whether this is the in-process model (answers in virtual time, not from a wire).
    pub(in crate::live) fn is_in_process(&self) -> bool {
        matches!(self, Transport::Model { .. })
    }

    /// After a call was abandoned on its deadline: the connection may hold half an
    /// answer, so start afresh.
    pub(in crate::live) fn after_timeout(&mut self) {
        if let Transport::Hyper { sender, .. } = self {
            *sender = None;
        }
    }

    /// Run on `clock` from now on (the in-process model answers on it).
    pub(in crate::live) fn anchor(&mut self, to: VirtualClock) {
        if let Transport::Model { clock, .. } = self {
            *clock = to;
        }
    }

    /// Send one request and map the answer. No deadline here: the caller races the call
    /// against the request's deadline and calls [`Transport::after_timeout`] when it loses.
    /// Also returns the instant the target says it decided, when it says so.
    /// With what the wire showed of an answer counted as an error (none in process).
    pub(in crate::live) async fn call(&mut self, ctx: &CallCtx, req: &Request) -> (Response, Option<SimTime>, Option<Box<Seen>>) {
        let spec = &*ctx.spec;
        match self {
            Transport::Model { model, clock, system } => {
                let now = clock.now();
                match model.lock() {
                    Ok(mut m) => (m.handle(now, *system, req), Some(now), None),
                    Err(_) => (Response::Error { kind: Failure::Transport }, None, None),
                }
            }
            _ => {
                let api = match self {
                    Transport::Hyper { api, .. } | Transport::Reqwest { api, .. } => api.clone(),
                    Transport::Model { .. } => return (Response::Error { kind: Failure::Transport }, None, None),
                };
                let wire = api.request(spec, req);
                match self.exchange(&wire, ctx.timeout).await {
                    Err(broken) => {
                        let resp = Response::Error { kind: broken.kind };
                        let seen = Seen::broken(&api, req, &resp, &broken.why);
                        (resp, None, seen)
                    }
                    Ok(a) => {
                        let (resp, at) = api.read(spec, req, a.status, a.retry_after.as_deref(), &a.body);
                        let seen = Seen::of(&api, req, &resp, Some((a.status, &a.body)));
                        (resp, at, seen)
                    }
                }
            }
        }
    }

    /// What the wire showed of a call abandoned on its deadline, and `why` (none in process).
    pub(in crate::live) fn timed_out(&self, req: &Request, resp: &Response, why: &str) -> Option<Box<Seen>> {
        match self {
            Transport::Hyper { api, .. } | Transport::Reqwest { api, .. } => Seen::broken(api, req, resp, why),
            Transport::Model { .. } => None,
        }
    }

    /// One HTTP exchange through hyper or reqwest (`call` serves `Model` itself).
    /// `timeout`: reqwest's own, which the run's deadline races.
    async fn exchange(&mut self, wire: &WireRequest, timeout: std::time::Duration) -> Result<RawAnswer, Broken> {
        match self {
            Transport::Hyper { base, sender, .. } => {
                if sender.as_ref().is_none_or(|s| s.is_closed()) {
                    let stream = tokio::net::TcpStream::connect(base.addr).await.map_err(|e| Broken::io(&e))?;
                    let _ = stream.set_nodelay(true);
                    let (s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| broken_hyper(&e))?;
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    *sender = Some(s);
                }
                let Some(s) = sender.as_mut() else {
                    return Err(Broken::said(Failure::Transport, "connection gone"));
                };
                s.ready().await.map_err(|e| broken_hyper(&e))?;
                let mut b = hyper::Request::builder().method(wire.method).uri(&wire.path).header("host", &base.host);
                if let Some(k) = &wire.idempotency_key {
                    b = b.header("idempotency-key", k);
                }
                for (k, v) in &wire.headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                let body = match &wire.body {
                    Some(bytes) => {
                        b = b.header("content-type", "application/json");
                        Full::new(Bytes::from(bytes.clone()))
                    }
                    None => Full::new(Bytes::new()),
                };
                let request = b.body(body).map_err(|e| Broken { kind: Failure::Transport, why: words(&e).into() })?;
                let resp = match s.send_request(request).await {
                    Ok(r) => r,
                    Err(e) => {
                        *sender = None;
                        return Err(broken_hyper(&e));
                    }
                };
                let status = resp.status().as_u16();
                let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
                let body = match resp.into_body().collect().await {
                    Ok(c) => c.to_bytes(),
                    Err(e) => {
                        *sender = None;
                        return Err(broken_hyper(&e));
                    }
                };
                Ok(RawAnswer { status, retry_after, body })
            }
            Transport::Reqwest { base, client, .. } => {
                let url = format!("{}{}", base.url, wire.path);
                let method = reqwest::Method::from_bytes(wire.method.as_bytes())
                    .map_err(|e| Broken { kind: Failure::Transport, why: words(&e).into() })?;
                let mut rb = client.request(method, url);
                if let Some(k) = &wire.idempotency_key {
                    rb = rb.header("idempotency-key", k);
                }
                for (k, v) in &wire.headers {
                    rb = rb.header(k.as_str(), v.as_str());
                }
                if let Some(bytes) = &wire.body {
                    rb = rb.header("content-type", "application/json").body(bytes.clone());
                }
                let resp = rb.send().await.map_err(|e| broken_reqwest(&e, timeout))?;
                let status = resp.status().as_u16();
                let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
                let body = resp.bytes().await.map_err(|e| Broken { kind: Failure::Reset, why: why(&e, timeout).into() })?;
                Ok(RawAnswer { status, retry_after, body })
            }
            // `call` serves these itself.
            Transport::Model { .. } => Err(Broken::said(Failure::Transport, "no wire in process")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that reads a request and closes without answering: reqwest's error is
    /// counted as the other transports count it, a reset, not an unnamed transport failure.
    #[test]
    fn a_connection_closed_before_the_answer_is_a_reset_through_reqwest_too() {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let addr = listener.local_addr().expect("its address");
        // Bounded: it gives up waiting for the connection, and for the request, after 5 s.
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let server = std::thread::spawn(move || {
            let give_up = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while std::time::Instant::now() < give_up {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                        let mut buf = [0u8; 4096];
                        let _ = s.read(&mut buf);
                        return;
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let url = format!("http://{addr}/v1/payments");
        let err = rt
            .block_on(async {
                crate::live::deployment::target::client(std::time::Duration::from_secs(5)).post(url).body("{}").send().await
            })
            .expect_err("no answer came");
        server.join().expect("the server");
        let broken = broken_reqwest(&err, std::time::Duration::from_secs(5));
        assert_eq!(broken.kind, Failure::Reset, "{err:?}");
        // The report's sample says what happened, through the sources reqwest wraps.
        assert_eq!(broken.why, "connection closed before a whole answer came (reset)");
    }
}
