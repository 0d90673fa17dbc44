//! `cutover serve`: the reference model behind HTTP (axum on tokio).
//!
//! The same [`Model`] as `simulate` decides every request; this module only
//! translates HTTP to model requests and back (see [`crate::contract`]), keeps
//! the compressed clock, bounds the requests in flight, and (with `--data`)
//! logs every state change durably before acknowledging it.

mod listen;
mod metrics;
pub mod store;
#[cfg(test)]
mod tests;

pub use listen::{ConnLimits, serve, serve_on};

use crate::clock::VirtualClock;
use crate::contract::{self, PROBLEM_JSON};
use crate::model::{IdemKey, Model, Request, Response, TargetId};
use crate::scenario::{GroupKind, Spec};
use crate::time::SimTime;
use crate::vocabulary::{Failure, Refusal};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use store::Store;
use tokio::sync::Semaphore;

pub(crate) const OPENAPI: &str = include_str!("openapi.json");
/// Largest request body accepted.
pub(crate) const BODY_LIMIT_BYTES: usize = 64 * 1024;
/// The largest batch `POST /v1/admin/import` takes.
const IMPORT_LIMIT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub admin_token: Option<String>,
    pub max_in_flight: usize,
    pub fault_accept_while_suspended: bool,
    /// Answer ids as text (see [`Ids`]).
    pub text_ids: bool,
    pub clock: VirtualClock,
    /// The system of the scenario's cutover this server plays (`--role`), by name.
    pub system: Option<String>,
}

/// How the server writes the model's ids: as numbers (the contract's own), or as text
/// ("pay-17", "asm-3", "cert-5"), as most real deployments do, taken back in that form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ids {
    text: bool,
}

const ID_PREFIXES: [&str; 3] = ["pay-", "asm-", "cert-"];

impl Ids {
    fn out(self, prefix: &str, id: TargetId) -> TargetId {
        match (self.text, id) {
            (true, TargetId::Num(n)) => TargetId::text(format!("{prefix}{n}")),
            (_, id) => id,
        }
    }

    /// The answer with its ids written as this server writes them.
    fn outward(self, resp: Response) -> Response {
        match resp {
            Response::Assessed { assessment } => Response::Assessed { assessment: self.out("asm-", assessment) },
            Response::Accepted { payment, replayed } => Response::Accepted { payment: self.out("pay-", payment), replayed },
            Response::Records { payments, latest } => Response::Records { payments, latest: latest.map(|l| self.out("pay-", l)) },
            Response::Certificate { certificate } => Response::Certificate { certificate: self.out("cert-", certificate) },
            other => other,
        }
    }

    /// An id a request quotes, as the model numbers it (text it never gave stays text).
    fn inward(self, id: TargetId) -> TargetId {
        if let TargetId::Text(t) = &id
            && self.text
            && let Some(n) = ID_PREFIXES.iter().find_map(|p| t.strip_prefix(p)).and_then(|n| n.parse().ok())
        {
            return TargetId::Num(n);
        }
        id
    }
}

pub struct AppState {
    spec: Arc<Spec>,
    model: Mutex<Model>,
    clock: RwLock<VirtualClock>,
    store: Option<Store>,
    admin_token: Option<String>,
    in_flight: Semaphore,
    ids: Ids,
    /// Until when decisions are held (`POST /v1/admin/stall`): nanoseconds after `started`,
    /// 0 for never. An atomic, read by every decision without a lock (a mutex here, with the
    /// metrics', cost 6-11 % of the server's CPU a request: BENCHMARKS.md, fifteenth sitting).
    stall_until: AtomicU64,
    started: tokio::time::Instant,
    system: Option<String>,
    metrics: metrics::ServeMetrics,
    max_in_flight: usize,
}

impl AppState {
    pub fn new(spec: Arc<Spec>, mut model: Model, store: Option<Store>, cfg: &ServeConfig) -> AppState {
        model.set_fault_accept_while_suspended(cfg.fault_accept_while_suspended);
        AppState {
            spec,
            model: Mutex::new(model),
            clock: RwLock::new(cfg.clock),
            store,
            admin_token: cfg.admin_token.clone(),
            in_flight: Semaphore::new(cfg.max_in_flight.max(1)),
            ids: Ids { text: cfg.text_ids },
            stall_until: AtomicU64::new(0),
            started: tokio::time::Instant::now(),
            system: cfg.system.clone(),
            metrics: metrics::ServeMetrics::default(),
            max_in_flight: cfg.max_in_flight.max(1),
        }
    }
    /// The end of a stall still under way, if any.
    fn stalled_until(&self) -> Option<tokio::time::Instant> {
        let nanos = self.stall_until.load(Ordering::Acquire);
        let until = self.started + std::time::Duration::from_nanos(nanos);
        (nanos != 0 && until > tokio::time::Instant::now()).then_some(until)
    }

    fn now(&self) -> SimTime {
        self.clock.read().map(|c| c.now()).unwrap_or_default()
    }
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/health", get(|| async { "ok" }))
        .route("/metrics", get(prometheus))
        .route("/v1/about", get(about))
        .route("/v1/status", get(status))
        .route("/v1/assessments", post(assess))
        .route("/v1/payments", post(pay))
        .route("/v1/payments/{key}", get(payment_by_key))
        .route("/v1/payers/{payer_id}/records", get(records))
        .route("/v1/certificates", post(certificate))
        .route("/v1/ledger", get(ledger))
        .route("/v1/admin/clock", post(admin_clock))
        .route("/v1/admin/stall", post(admin_stall))
        .route("/v1/admin/rollback", post(admin_rollback))
        .route("/v1/admin/maintenance", post(admin_maintenance))
        .route("/v1/admin/export/payments", get(export_payments))
        .route("/v1/admin/export/assessments", get(export_assessments))
        .route("/v1/admin/export/registrations", get(export_registrations))
        // A migration's batch (thousands of payments) is far larger than a payer's request.
        .route("/v1/admin/import", post(import).layer(DefaultBodyLimit::max(IMPORT_LIMIT_BYTES)))
        .fallback(|| async { problem(Refusal::NotFound, "no such resource", None, None) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .with_state(state)
}

type Reply = axum::response::Response;

fn problem(refusal: Refusal, detail: &str, resume_at: Option<String>, visible_at: Option<String>) -> Reply {
    send(contract::problem(refusal, detail, resume_at, visible_at))
}

/// An answer of the contract's as HTTP.
fn send(a: contract::WireAnswer) -> Reply {
    // Built directly: a tuple's `into_response` writes a content type and then replaces it.
    let mut r = Reply::new(axum::body::Body::from(a.body));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = HeaderValue::from_static(if a.problem { PROBLEM_JSON } else { "application/json" });
    r.headers_mut().insert(header::CONTENT_TYPE, kind);
    if let Some(v) = a.retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// A request's whole body, within its route's limit ([`BODY_LIMIT_BYTES`] for a payer's
/// request). A body past the limit is a 413 problem and one that breaks off a 400, in the
/// contract's vocabulary (axum's own rejections are plain text).
struct Body(Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = Reply;
    async fn from_request(req: axum::extract::Request, st: &S) -> Result<Self, Reply> {
        Bytes::from_request(req, st).await.map(Body).map_err(|e| body_refused(e.status() == StatusCode::PAYLOAD_TOO_LARGE))
    }
}

/// The answer to a body that could not be read whole: past the route's limit, or broken off.
fn body_refused(too_large: bool) -> Reply {
    if too_large {
        let detail = format!(
            "the request body is larger than this endpoint takes ({} KiB for a payer's request, {} MiB for an import)",
            BODY_LIMIT_BYTES >> 10,
            IMPORT_LIMIT_BYTES >> 20
        );
        let mut r = invalid(detail);
        *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        r
    } else {
        invalid("the request body could not be read whole".into())
    }
}

fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Reply {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], serde_json::to_vec(v).unwrap_or_default())
        .into_response()
}

/// Turn a model answer into HTTP; `now` is the instant it was decided.
fn reply(spec: &Spec, resp: Response, now: SimTime) -> Reply {
    send(contract::answer_to_wire(spec, &resp, now))
}

// The error is the reply itself, made once on the way out: boxing it would add an allocation.
#[allow(clippy::result_large_err)]
fn parse_body<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, Reply> {
    // Most bodies are well formed: parse them directly, and only a refused one a second time
    // to name where it goes wrong (tracking the path took about 4 % of the server's time in a
    // profile, paid by every body).
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let detail =
            if path == "." { format!("invalid JSON body: {}", e.inner()) } else { format!("invalid JSON body at {path}: {}", e.inner()) };
        problem(Refusal::Invalid, &detail, None, None)
    })
}

/// The payer and channel a request names, or a 400 problem naming what is unknown.
// The error is the reply itself, made once on the way out: boxing it would add an allocation.
#[allow(clippy::result_large_err)]
fn resolve(spec: &Spec, payer_id: u32, group: GroupKind, league: &str, channel: &str) -> Result<(crate::model::PayerRef, u8), Reply> {
    let payer = contract::payer_ref(spec, payer_id, group, league).map_err(invalid)?;
    let channel = contract::channel_index(spec, channel).map_err(invalid)?;
    Ok((payer, channel))
}

fn invalid(detail: String) -> Reply {
    problem(Refusal::Invalid, &detail, None, None)
}

/// Prometheus text: the decisions so far.
async fn prometheus(State(st): State<Arc<AppState>>) -> impl IntoResponse {
    let in_flight = st.max_in_flight.saturating_sub(st.in_flight.available_permits());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render(&st.spec, in_flight))
}

/// Decide a request: bound the in-flight count, honour a stall, log durably, answer.
async fn decide(st: &AppState, req: Request) -> Reply {
    let started = std::time::Instant::now();
    let Ok(_permit) = st.in_flight.try_acquire() else {
        st.metrics.count(&req, "overloaded");
        return reply(&st.spec, Response::Overloaded { retry_after_micros: 1_000_000 }, st.now());
    };
    if let Some(until) = st.stalled_until() {
        tokio::time::sleep_until(until).await;
    }
    let now = st.now();
    let (resp, wait_for) = {
        let Ok(mut model) = st.model.lock() else {
            return reply(&st.spec, Response::Error { kind: Failure::ServerError }, now);
        };
        // The two index slots a payment reads (by key, by payer) are each a cache miss in a
        // ledger of millions: asked for together, their waits overlap.
        model.prefetch(&req);
        let resp = model.handle(now, &req);
        let wait_for = st.store.as_ref().map(|store| match model.decision(&req, &resp) {
            Some(d) => store.log(now, &d),
            // An answer may reveal state not yet committed (a replay): wait for it too.
            None => store.settled(),
        });
        (resp, wait_for)
    };
    let outcome = metrics::outcome(&resp);
    if let (Some(store), Some(durable)) = (&st.store, wait_for)
        && !store.wait(durable).await
    {
        st.metrics.count(&req, outcome);
        return reply(&st.spec, Response::Error { kind: Failure::StorageFailed }, now);
    }
    st.metrics.decided(&req, outcome, started.elapsed().as_micros() as u64);
    reply(&st.spec, st.ids.outward(resp), now)
}

async fn about(State(st): State<Arc<AppState>>) -> Reply {
    let scenario =
        contract::AboutScenario { name: st.spec.raw.name.clone(), digest: st.spec.digest(), rules_digest: st.spec.rules_digest() };
    let about = contract::About { tool: "cutover".into(), version: env!("CARGO_PKG_VERSION").into(), scenario, system: st.system.clone() };
    json(StatusCode::OK, &about)
}

async fn openapi() -> Reply {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response()
}

// The error is the reply itself, made once on the way out.
#[allow(clippy::result_large_err)]
async fn status(State(st): State<Arc<AppState>>, Query(q): Query<std::collections::BTreeMap<String, String>>) -> Reply {
    let get = |k: &str| q.get(k).cloned().ok_or_else(|| invalid(format!("query parameter {k} is required")));
    let (channel, group, league) = match (get("channel"), get("group"), get("league")) {
        (Ok(c), Ok(g), Ok(l)) => (c, g, l),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
    };
    let Ok(group) = serde_json::from_value::<GroupKind>(serde_json::Value::String(group.clone())) else {
        return invalid(format!("unknown group {group:?}"));
    };
    let payer = match contract::payer_ref(&st.spec, 0, group, &league) {
        Ok(p) => p,
        Err(e) => return invalid(e),
    };
    let c = match contract::channel_index(&st.spec, &channel) {
        Ok(c) => c,
        Err(e) => return invalid(e),
    };
    let now = st.now();
    let closure = st.model.lock().ok().and_then(|m| m.rules().closure(c, payer.group, payer.league, now));
    let fmt = |t: SimTime| t.format(st.spec.calendar.offset);
    json(StatusCode::OK, &contract::StatusWire { now: fmt(now), open: closure.is_none(), resume_at: closure.flatten().map(fmt) })
}

async fn assess(State(st): State<Arc<AppState>>, Body(body): Body) -> Reply {
    let b: contract::AssessmentBody = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (payer, channel) = match resolve(&st.spec, b.payer_id, b.group, &b.league, &b.channel) {
        Ok(x) => x,
        Err(r) => return r,
    };
    decide(&st, Request::Assess { payer, channel, kind: b.kind, items: contract::items_from_wire(&b.items_fen) }).await
}

/// The `Idempotency-Key` header alone: taking the whole `HeaderMap` as an argument clones
/// every header of every payment.
struct KeyHeader(Option<HeaderValue>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for KeyHeader {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(KeyHeader(parts.headers.get("idempotency-key").cloned()))
    }
}

async fn pay(State(st): State<Arc<AppState>>, KeyHeader(key): KeyHeader, Body(body): Body) -> Reply {
    pay_with(&st, key.as_ref(), &body).await
}

/// `POST /v1/payments` taken straight from the connection, beside the router (which keeps the
/// route, and so the path's 405 for other methods): most of a rehearsal's requests are
/// payments, and the router's layers (routing, extensions, the body boxed three times over)
/// cost a payment about a fifth of the server's instructions (32.0 k -> 25.7 k). The same answers as the
/// router's route, held so by a test.
pub(crate) async fn pay_direct<B>(st: &AppState, req: axum::http::Request<B>) -> Reply
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, BODY_LIMIT_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return body_refused(e.is::<http_body_util::LengthLimitError>()),
    };
    pay_with(st, parts.headers.get("idempotency-key"), &body).await
}

/// A payment under its `Idempotency-Key`, decided.
async fn pay_with(st: &AppState, key: Option<&HeaderValue>, body: &[u8]) -> Reply {
    let Some(key) = key.and_then(|v| v.to_str().ok()).filter(|k| !k.is_empty() && k.len() <= 255) else {
        return invalid("the Idempotency-Key header is required (1 to 255 characters)".into());
    };
    let key = contract::key_from_header(key);
    // The common shape read by hand, anything else (or a refusal's explanation) by serde.
    let b: contract::PaymentIn = match contract::scan_payment(body) {
        Some(b) => b,
        None => match parse_body(body) {
            Ok(b) => b,
            Err(r) => return r,
        },
    };
    let (payer, channel) = match resolve(&st.spec, b.payer_id, b.group, &b.league, &b.channel) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let period = match b.period() {
        Ok(p) => p,
        Err(e) => return invalid(e),
    };
    let req = Request::Pay {
        key,
        payer,
        channel,
        items: b.items_fen,
        period,
        special: b.special,
        assessment: b.assessment_id.map(|a| st.ids.inward(a)),
    };
    decide(st, req).await
}

async fn payment_by_key(State(st): State<Arc<AppState>>, Path(key): Path<String>) -> Reply {
    let info = st.model.lock().ok().and_then(|m| m.payment_by_key(IdemKey::from_text(&key)));
    match info {
        Some(p) => json(
            StatusCode::OK,
            &contract::PaymentLookup {
                payment_id: st.ids.out("pay-", TargetId::Num(p.payment)),
                payer_id: p.payer,
                items_fen: contract::items_to_wire(&p.items),
                ledger_entries: 1,
            },
        ),
        None => problem(Refusal::NotFound, "no payment under this key", None, None),
    }
}

async fn records(State(st): State<Arc<AppState>>, Path(payer_id): Path<u32>, Query(q): Query<contract::PayerQuery>) -> Reply {
    let (payer, channel) = match resolve(&st.spec, payer_id, q.group, &q.league, &q.channel) {
        Ok(x) => x,
        Err(r) => return r,
    };
    decide(&st, Request::Lookup { payer, channel }).await
}

async fn certificate(State(st): State<Arc<AppState>>, Body(body): Body) -> Reply {
    let b: contract::CertificateBody = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (payer, channel) = match resolve(&st.spec, b.payer_id, b.group, &b.league, &b.channel) {
        Ok(x) => x,
        Err(r) => return r,
    };
    decide(&st, Request::Certificate { payer, channel, payment: st.ids.inward(b.payment_id) }).await
}

async fn ledger(State(st): State<Arc<AppState>>) -> Reply {
    let cells = st.model.lock().map(|m| m.ledger()).unwrap_or_default();
    let cells = cells
        .into_iter()
        .map(|((l, g, i), c)| contract::LedgerCellWire {
            league: st.spec.leagues.get(l as usize).map(|x| x.name.clone()).unwrap_or_default(),
            group: g,
            insurance: i,
            count: c.count,
            sum_fen: c.sum_fen,
        })
        .collect();
    json(StatusCode::OK, &contract::LedgerWire { cells })
}

/// An admin request's body, once the caller is allowed (the refusal otherwise).
// The error is the reply itself, made once on the way out: boxing it would add an allocation.
#[allow(clippy::result_large_err)]
fn admin_body<T: serde::de::DeserializeOwned>(st: &AppState, peer: SocketAddr, headers: &HeaderMap, body: &[u8]) -> Result<T, Reply> {
    admin_allowed(st, peer, headers)?;
    parse_body(body)
}

// The error is the reply itself, made once on the way out: boxing it would add an allocation.
#[allow(clippy::result_large_err)]
fn admin_allowed(st: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<(), Reply> {
    match &st.admin_token {
        Some(token) => {
            let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
            if given == Some(token.as_str()) {
                Ok(())
            } else {
                Err(problem(Refusal::Unauthorized, "admin endpoints need Authorization: Bearer <admin token>", None, None))
            }
        }
        None if peer.ip().is_loopback() => Ok(()),
        None => Err(problem(Refusal::Forbidden, "without --admin-token, admin endpoints answer only loopback callers", None, None)),
    }
}

async fn admin_clock(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(body): Body,
) -> Reply {
    let b: contract::ClockBody = match admin_body(&st, peer, &headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(at) = contract::parse_instant(&b.virtual_now) else {
        return invalid(format!("virtual_now: not an RFC 3339 instant: {:?}", b.virtual_now));
    };
    if let Err(e) = crate::time::check_time_scale(b.time_scale) {
        return invalid(format!("time_scale: {e}"));
    }
    let wall = crate::clock::wall_now().0;
    if let Ok(mut c) = st.clock.write() {
        *c = VirtualClock::starting_now(at, b.time_scale);
    }
    if let Some(store) = &st.store
        && let Err(e) = store.save_clock(store::SavedClock { virtual_micros: at.0, wall_micros: wall, scale: b.time_scale }).await
    {
        return problem(Refusal::StorageFailed, &format!("the clock could not be saved: {e}"), None, None);
    }
    json(StatusCode::OK, &serde_json::json!({"virtual_now": at.format(st.spec.calendar.offset), "time_scale": b.time_scale}))
}

/// The operators' maintenance switch (kept with `--data`): exactly the channels named refuse
/// as suspended, with no reopening announced, until the switch is set again.
async fn admin_maintenance(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(body): Body,
) -> Reply {
    let b: contract::MaintenanceBody = match admin_body(&st, peer, &headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut closed = Vec::new();
    for (i, id) in b.closed_channels.iter().enumerate() {
        match st.spec.channel_index(id) {
            Some(c) => closed.push(c),
            None => return invalid(format!("closed_channels[{i}]: unknown channel {id:?}")),
        }
    }
    closed.sort_unstable();
    closed.dedup();
    let now = st.now();
    let wait_for = {
        let Ok(model) = st.model.lock() else {
            return problem(Refusal::Error, "model lock poisoned", None, None);
        };
        let mut flags = vec![false; st.spec.channels.len()];
        for c in &closed {
            flags[*c as usize] = true;
        }
        model.rules().set_maintenance(&flags);
        st.store.as_ref().map(|store| store.log(now, &crate::model::Decision::Maintenance { closed: closed.clone() }))
    };
    if let (Some(store), Some(durable)) = (&st.store, wait_for)
        && !store.wait(durable).await
    {
        return problem(Refusal::StorageFailed, "the switch could not be stored; the outcome is unknown", None, None);
    }
    let names: Vec<&str> = closed.iter().map(|c| st.spec.channels[*c as usize].id.as_str()).collect();
    json(StatusCode::OK, &serde_json::json!({"closed_channels": names}))
}

/// A conditional rollback's decision, told by the run (kept with `--data`): payment
/// suspended again from `suspended_from` through the rollback's phase, or not at all.
async fn admin_rollback(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(body): Body,
) -> Reply {
    let b: contract::RollbackBody = match admin_body(&st, peer, &headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let conditional = st.spec.cutover.as_ref().and_then(|x| x.rollback.as_ref()).is_some_and(|r| r.conditional());
    if !conditional {
        return invalid("this scenario has no rollback decided by gates (cutover.rollback.when)".into());
    }
    let from = match b.suspended_from.as_deref().map(|t| contract::parse_instant(t).ok_or(t)) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(t)) => return invalid(format!("suspended_from: not an RFC 3339 instant: {t:?}")),
    };
    let now = st.now();
    let wait_for = {
        let Ok(model) = st.model.lock() else {
            return problem(Refusal::Error, "model lock poisoned", None, None);
        };
        model.rules().decide_rollback(from);
        st.store.as_ref().map(|store| store.log(now, &crate::model::Decision::RolledBack { from_micros: from.map(|t| t.0) }))
    };
    if let (Some(store), Some(durable)) = (&st.store, wait_for)
        && !store.wait(durable).await
    {
        return problem(Refusal::StorageFailed, "the decision could not be stored; the outcome is unknown", None, None);
    }
    json(StatusCode::OK, &serde_json::json!({"suspended_from": from.map(|t| t.format(st.spec.calendar.offset))}))
}

async fn admin_stall(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(body): Body,
) -> Reply {
    let b: contract::StallBody = match admin_body(&st, peer, &headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let until = tokio::time::Instant::now() + std::time::Duration::from_millis(b.millis.min(60_000));
    let nanos = until.saturating_duration_since(st.started).as_nanos().clamp(1, u64::MAX as u128) as u64;
    st.stall_until.store(nanos, Ordering::Release);
    json(StatusCode::OK, &serde_json::json!({"stalled_millis": b.millis.min(60_000)}))
}

/// Query of the exports: the page after `after` (an id), `limit` entries at most.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    #[serde(default)]
    after: u64,
    #[serde(default = "page_default")]
    limit: usize,
}

fn page_default() -> usize {
    1000
}

/// Most entries of one page of an export.
const PAGE_MAX: usize = 10_000;

/// A page of an export after the admin check: `page(model, after, limit)` gives the rows,
/// `id` each row's id, `wire` the page's body.
fn export_page<R, B: serde::Serialize>(
    st: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    q: PageQuery,
    page: impl FnOnce(&Model, u64, usize) -> Vec<R>,
    id: impl Fn(&R) -> u64,
    wire: impl FnOnce(&[R], Option<u64>) -> B,
) -> Reply {
    if let Err(r) = admin_allowed(st, peer, headers) {
        return r;
    }
    let limit = q.limit.clamp(1, PAGE_MAX);
    let rows = match st.model.lock() {
        Ok(m) => page(&m, q.after, limit),
        Err(_) => return problem(Refusal::Error, "model lock poisoned", None, None),
    };
    let next_after = if rows.len() == limit { rows.last().map(id) } else { None };
    json(StatusCode::OK, &wire(&rows, next_after))
}

/// Every payment the system holds, page by page, in id order: what the cutover's checks and
/// a migration read.
async fn export_payments(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Reply {
    export_page(
        &st,
        peer,
        &headers,
        q,
        |m, a, l| m.payments_page(a, l),
        |r| r.payment,
        |rows, next_after| contract::PaymentsPage {
            payments: rows.iter().map(|r| contract::payment_to_export(&st.spec, r)).collect(),
            next_after,
        },
    )
}

async fn export_assessments(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Reply {
    export_page(
        &st,
        peer,
        &headers,
        q,
        |m, a, l| m.assessments_page(a, l),
        |r| r.assessment,
        |rows, next_after| contract::AssessmentsPage { assessments: rows.iter().map(contract::assessment_to_export).collect(), next_after },
    )
}

/// Every registration the system holds, in the order they were made; `after` is a position.
async fn export_registrations(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Reply {
    export_page(
        &st,
        peer,
        &headers,
        q,
        |m, a, l| m.registrations_page(a, l).iter().enumerate().map(|(k, r)| (a + k as u64 + 1, *r)).collect(),
        |(position, _)| *position,
        |rows, next_after| contract::RegistrationsPage {
            registrations: rows.iter().map(|(p, r)| contract::registration_to_export(&st.spec, *p, r)).collect(),
            next_after,
        },
    )
}

/// Take in one batch of a migration, once per batch key, durably (with `--data`) before
/// answering: a migration resumed after a crash sends its last batch again and nothing is
/// written twice.
async fn import(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(body): Body,
) -> Reply {
    let b: contract::ImportBody = match admin_body(&st, peer, &headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if b.batch.is_empty() || b.batch.len() > 255 {
        return invalid("batch: a key of 1 to 255 characters is required".into());
    }
    let mut payments = Vec::with_capacity(b.payments.len());
    for (i, w) in b.payments.iter().enumerate() {
        match contract::payment_from_export(&st.spec, w) {
            Ok(r) => payments.push(r),
            Err(e) => return invalid(format!("payments[{i}]: {e}")),
        }
    }
    let assessments: Vec<_> = b.assessments.iter().map(contract::assessment_from_export).collect();
    let mut registrations = Vec::with_capacity(b.registrations.len());
    for (i, w) in b.registrations.iter().enumerate() {
        match contract::registration_from_export(&st.spec, w) {
            Ok(r) => registrations.push(r),
            Err(e) => return invalid(format!("registrations[{i}]: {e}")),
        }
    }
    let now = st.now();
    let (answer, wait_for) = {
        let Ok(mut model) = st.model.lock() else {
            return problem(Refusal::Error, "model lock poisoned", None, None);
        };
        let answer = match model.import_batch(&b.batch, &payments, &assessments, &registrations) {
            Ok(a) => a,
            Err(e) => return invalid(e.to_string()),
        };
        let wait_for = st.store.as_ref().map(|store| {
            if answer.replayed {
                store.settled()
            } else {
                store.log(now, &crate::model::Decision::Imported { batch: b.batch.clone(), payments, assessments, registrations })
            }
        });
        (answer, wait_for)
    };
    if let (Some(store), Some(durable)) = (&st.store, wait_for)
        && !store.wait(durable).await
    {
        return problem(Refusal::StorageFailed, "the batch could not be stored; the outcome is unknown", None, None);
    }
    let status = if answer.replayed { StatusCode::OK } else { StatusCode::CREATED };
    json(
        status,
        &contract::ImportAnswerWire {
            batch: b.batch,
            payments_written: answer.payments,
            assessments_written: answer.assessments,
            registrations_written: answer.registrations,
            replayed: answer.replayed,
        },
    )
}
