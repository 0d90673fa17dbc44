//! The target contract (`/v1`): wire types shared by `cutover serve` and the HTTP
//! target of `cutover run`, and the mapping between HTTP answers and model
//! [`Response`]s. The contract is written down in `src/server/openapi.json`
//! (served at `/v1/openapi.json`).
//!
//! Money is integer fen; instants are RFC 3339; refusals are RFC 9457
//! `application/problem+json` with a machine-readable `code`.

use crate::model::{IdemKey, PayerRef, Period, Request, Response, TargetId};
use crate::population::Items;
use crate::scenario::{GroupKind, Insurance, Spec, SpecialKind};
use crate::time::SimTime;
use crate::vocabulary::{Failure, Refusal};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// Amounts per insurance type, in fen, as sent on the wire.
pub(crate) type ItemsWire = BTreeMap<Insurance, i64>;

pub(crate) fn items_to_wire(items: &Items) -> ItemsWire {
    Insurance::ALL.iter().filter(|i| items[i.index()] != 0).map(|i| (*i, items[i.index()])).collect()
}

pub(crate) fn items_from_wire(w: &ItemsWire) -> Items {
    let mut items = [0; 6];
    for (i, a) in w {
        items[i.index()] = *a;
    }
    items
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssessmentBody {
    pub payer_id: u32,
    pub group: GroupKind,
    pub league: String,
    pub channel: String,
    pub kind: SpecialKind,
    pub items_fen: ItemsWire,
}

/// A payment's body as serde writes and reads it: the reference the driver's hand-written
/// text ([`request::write_payment_members`]) and the server's reading ([`PaymentIn`]) are held
/// to by tests.
#[cfg(test)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaymentBody {
    pub payer_id: u32,
    pub group: GroupKind,
    pub league: String,
    pub channel: String,
    pub items_fen: ItemsWire,
    /// The first month the payment covers, "YYYY-MM" (absent: not said; then the
    /// business-level duplicate check does not apply to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Months covered from `period` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_months: Option<u16>,
    #[serde(default)]
    pub special: bool,
    #[serde(default)]
    pub assessment_id: Option<TargetId>,
}

#[cfg(test)]
impl PaymentBody {
    /// The body as [`PaymentIn`] sees one.
    pub(crate) fn as_in(&self) -> PaymentIn<'_> {
        PaymentIn {
            payer_id: self.payer_id,
            group: self.group,
            league: Cow::Borrowed(&self.league),
            channel: Cow::Borrowed(&self.channel),
            items_fen: items_from_wire(&self.items_fen),
            period: self.period.as_deref().map(Cow::Borrowed),
            period_months: self.period_months,
            special: self.special,
            assessment_id: self.assessment_id.clone(),
        }
    }
}

fn period_of(period: Option<&str>, months: Option<u16>) -> Result<Period, String> {
    match (period, months) {
        (None, None) => Ok(Period::UNKNOWN),
        (None, Some(_)) => Err("period_months without period".into()),
        (Some(p), m) => Period::parse(p, m.unwrap_or(1))
            .ok_or_else(|| format!("period must be \"YYYY-MM\" with period_months from 1 to {}, got {p:?} and {m:?}", Period::MAX_MONTHS)),
    }
}

/// A payment's body as the server reads it: the names borrowed from the body (unless written
/// with JSON escapes) and the amounts read straight into [`Items`], where [`PaymentBody`]
/// allocates a string for each name and a map for the amounts. It takes exactly the bodies
/// [`PaymentBody`] takes (held so by a test).
#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaymentIn<'a> {
    pub payer_id: u32,
    pub group: GroupKind,
    #[serde(borrow)]
    pub league: Cow<'a, str>,
    #[serde(borrow)]
    pub channel: Cow<'a, str>,
    #[serde(deserialize_with = "items_in")]
    pub items_fen: Items,
    #[serde(default, borrow)]
    pub period: Option<Cow<'a, str>>,
    #[serde(default)]
    pub period_months: Option<u16>,
    #[serde(default)]
    pub special: bool,
    #[serde(default)]
    pub assessment_id: Option<TargetId>,
}

impl PaymentIn<'_> {
    /// The period the body names; `Err` names what is wrong with it.
    pub(crate) fn period(&self) -> Result<Period, String> {
        period_of(self.period.as_deref(), self.period_months)
    }
}

/// `items_fen` as [`ItemsWire`] reads it (a later amount of the same type replaces an
/// earlier one), into [`Items`].
fn items_in<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Items, D::Error> {
    struct Amounts;
    impl<'de> serde::de::Visitor<'de> for Amounts {
        type Value = Items;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of insurance types to amounts in fen")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Items, A::Error> {
            let mut items = [0; 6];
            while let Some((kind, fen)) = m.next_entry::<Insurance, i64>()? {
                items[kind.index()] = fen;
            }
            Ok(items)
        }
    }
    d.deserialize_map(Amounts)
}

/// Append `,"period":"YYYY-MM","period_months":N` for a known period (what serde writes for
/// [`PaymentBody`]'s two fields).
pub(crate) fn write_period_members(period: &Period, out: &mut Vec<u8>) {
    if period.months == 0 {
        return;
    }
    out.extend_from_slice(b",\"period\":\"");
    period.write_first(out);
    out.extend_from_slice(b"\",\"period_months\":");
    out.extend_from_slice(itoa::Buffer::new().format(period.months).as_bytes());
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateBody {
    pub payer_id: u32,
    pub group: GroupKind,
    pub league: String,
    pub channel: String,
    pub payment_id: TargetId,
}

/// Query of `GET /v1/payers/{payer_id}/records` and `GET /v1/status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PayerQuery {
    pub group: GroupKind,
    pub league: String,
    pub channel: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Answer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment_id: Option<TargetId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<TargetId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replayed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_payment_id: Option<TargetId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<TargetId>,
    /// When the payment was accepted (the target's clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<String>,
}

/// The members of an [`Answer`] the driver reads, borrowed from the body where it can.
#[derive(Deserialize, Debug, PartialEq, Default)]
struct AnswerIn<'a> {
    assessment_id: Option<TargetId>,
    payment_id: Option<TargetId>,
    replayed: Option<bool>,
    payments: Option<u32>,
    latest_payment_id: Option<TargetId>,
    certificate_id: Option<TargetId>,
    #[serde(borrow)]
    accepted_at: Option<std::borrow::Cow<'a, str>>,
}

/// RFC 9457 problem details, with this contract's extension members.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Machine-readable reason: a [`Refusal`]'s code.
    pub code: String,
    /// Whether anything was accepted (always false on a problem).
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible_at: Option<String>,
    /// `already_paid` only: the payment was taken and paid back at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct LedgerCellWire {
    pub league: String,
    pub group: GroupKind,
    pub insurance: Insurance,
    pub count: u64,
    pub sum_fen: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct LedgerWire {
    pub cells: Vec<LedgerCellWire>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PaymentLookup {
    pub payment_id: TargetId,
    pub payer_id: u32,
    pub items_fen: ItemsWire,
    /// Ledger entries booked under this key (1 on a correct system).
    pub ledger_entries: u64,
}

/// `GET /v1/about`: what a `cutover serve` runs, so that a run can tell it runs the same rules.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct About {
    /// `cutover`.
    pub tool: String,
    pub version: String,
    pub scenario: AboutScenario,
    /// Which system of the scenario's cutover this server plays (`--role`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

// The admin endpoints' bodies (a system's export, a migration's import).
mod export;
pub(crate) use export::*;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AboutScenario {
    pub name: String,
    /// Of the whole scenario's content.
    pub digest: String,
    /// Of what the rules decide by: phases and their closed channels, staged reopenings,
    /// channels, leagues, calendar, record visibility.
    pub rules_digest: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StatusWire {
    pub now: String,
    pub open: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClockBody {
    /// The virtual instant that corresponds to the moment the request is received.
    pub virtual_now: String,
    /// Virtual seconds per real second.
    pub time_scale: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StallBody {
    pub millis: u64,
}

// Requests as the contract sends them (the driver's hot path writes them without allocating).
mod request;
pub(crate) use request::*;

pub fn parse_instant(s: &str) -> Option<SimTime> {
    parse_instant_fast(s.as_bytes()).or_else(|| chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| SimTime::from_datetime(&d)))
}

/// The shape every answer of the bundled server has (`YYYY-MM-DDTHH:MM:SS`, optionally
/// `.ffffff`, then `Z` or `±HH:MM`), parsed without chrono's general machinery (an
/// `accepted_at` per payment showed in profiles); anything else is left to chrono.
fn parse_instant_fast(b: &[u8]) -> Option<SimTime> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        d.iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as i64))
    };
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && (sep(10, b'T') || sep(10, b't')) && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (y, mo, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut at = 19;
    let mut micros = 0;
    if sep(at, b'.') {
        let digits = b[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 6 {
            return None; // none, or more than microseconds: left to chrono
        }
        micros = num(at + 1..at + 1 + digits)? * 10i64.pow(6 - digits as u32);
        at += 1 + digits;
    }
    let offset = match b.get(at..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let oh = num(at + 1..at + 3)?;
            let om = num(at + 4..at + 6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    let days_in_month = [31, if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if d > days_in_month[(mo - 1) as usize] {
        return None;
    }
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Some(SimTime(secs * 1_000_000 + micros))
}

// The contract's flat JSON read by hand (the hot paths of both the driver and the server).
mod scan;
use scan::scan_answer;
pub(crate) use scan::scan_payment;

/// Map an HTTP answer to a model [`Response`]. Durations stay as the wire gives them, in real
/// time (a `Retry-After` of 2 is 2 s): the sending thread puts them on its clock.
pub(crate) fn from_wire(status: u16, retry_after: Option<&str>, body: &[u8]) -> Response {
    from_wire_timed(status, retry_after, body).0
}

/// [`from_wire`], plus the instant the target says it accepted a payment (`accepted_at`).
pub(crate) fn from_wire_timed(status: u16, retry_after: Option<&str>, body: &[u8]) -> (Response, Option<SimTime>) {
    if (200..300).contains(&status) {
        let Some(a) = scan_answer(body).or_else(|| serde_json::from_slice::<AnswerIn>(body).ok()) else {
            return (Response::Error { kind: Failure::BadBody }, None);
        };
        let at = a.accepted_at.as_deref().and_then(parse_instant);
        let r = if let Some(id) = a.assessment_id {
            Response::Assessed { assessment: id }
        } else if let Some(id) = a.payment_id {
            Response::Accepted { payment: id, replayed: a.replayed.unwrap_or(false) }
        } else if let Some(n) = a.payments {
            Response::Records { payments: n, latest: a.latest_payment_id }
        } else if let Some(id) = a.certificate_id {
            Response::Certificate { certificate: id }
        } else {
            Response::Error { kind: Failure::BadBody }
        };
        return (r, at);
    }
    (refusal(status, retry_after, body), None)
}

fn refusal(status: u16, retry_after: Option<&str>, body: &[u8]) -> Response {
    let problem: Option<Problem> = serde_json::from_slice(body).ok();
    let code = problem.as_ref().map(|p| p.code.as_str()).unwrap_or("");
    let overloaded = || {
        let secs = retry_after.and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(1.0).max(0.0);
        Response::Overloaded { retry_after_micros: (secs * 1e6) as i64 }
    };
    let known = Refusal::from_code(code);
    match known {
        Some(Refusal::Suspended) => {
            let at = problem.as_ref().and_then(|p| p.resume_at.as_deref()).and_then(parse_instant).or_else(|| {
                retry_after.and_then(|v| httpdate::parse_http_date(v).ok()).map(|t| {
                    let micros = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
                    SimTime(micros)
                })
            });
            Response::Suspended { resume_at: at }
        }
        Some(Refusal::Overloaded) => overloaded(),
        Some(Refusal::IdempotencyConflict) => Response::Conflict,
        Some(Refusal::AssessmentRequired) => Response::AssessmentRequired,
        Some(Refusal::AlreadyPaid) => Response::AlreadyPaid { refunded: problem.as_ref().and_then(|p| p.refunded).unwrap_or(false) },
        Some(Refusal::NotRegistered) => Response::NotRegistered,
        Some(Refusal::NotYetVisible) => match problem.as_ref().and_then(|p| p.visible_at.as_deref()).and_then(parse_instant) {
            Some(at) => Response::NotYetVisible { visible_at: at },
            None => Response::Error { kind: Failure::BadBody },
        },
        Some(Refusal::NoRecord) => Response::NoRecord,
        Some(Refusal::Invalid) => Response::Invalid { reason: crate::vocabulary::InvalidReason::Refused },
        Some(Refusal::StorageFailed) => Response::Error { kind: Failure::StorageFailed },
        Some(Refusal::Error) => Response::Error { kind: Failure::ServerError },
        Some(Refusal::NotFound | Refusal::Unauthorized | Refusal::Forbidden) => Response::Error { kind: Failure::UnexpectedStatus },
        // A code nobody here knows is counted as such, never guessed from the status.
        None if !code.is_empty() => Response::Error { kind: Failure::UnknownCode },
        // No problem code: a proxy's or load balancer's answer, read by its status.
        None => match status {
            429 | 503 => overloaded(),
            400 | 422 => Response::Invalid { reason: crate::vocabulary::InvalidReason::Refused },
            _ => Response::Error { kind: Failure::UnexpectedStatus },
        },
    }
}

/// An answer to send: status, `Retry-After`, body, and whether it is a problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WireAnswer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
    pub problem: bool,
}

/// The answer to an accepted payment, the one every payment gets: written by hand, the same
/// text as serde writes for the [`Answer`] it is (held so by a test), without building one.
fn accepted(spec: &Spec, payment: &TargetId, replayed: bool, now: SimTime) -> WireAnswer {
    let mut body = Vec::with_capacity(128);
    body.extend_from_slice(b"{\"payment_id\":");
    payment.write_json(&mut body);
    body.extend_from_slice(if replayed {
        b",\"status\":\"accepted\",\"replayed\":true,\"accepted_at\":\""
    } else {
        b",\"status\":\"accepted\",\"replayed\":false,\"accepted_at\":\""
    });
    // An RFC 3339 instant has nothing JSON escapes.
    let mut at = String::with_capacity(32);
    now.write_rfc3339(spec.calendar.offset, &mut at);
    body.extend_from_slice(at.as_bytes());
    body.extend_from_slice(b"\"}");
    WireAnswer { status: if replayed { 200 } else { 201 }, retry_after: None, body, problem: false }
}

/// The problem document of `refusal`, with its detail and instants.
pub(crate) fn problem(refusal: Refusal, detail: &str, resume_at: Option<String>, visible_at: Option<String>) -> WireAnswer {
    problem_with(refusal, detail, |p| {
        p.resume_at = resume_at;
        p.visible_at = visible_at;
    })
}

/// A problem answer, its optional members set by `fill`.
fn problem_with(refusal: Refusal, detail: &str, fill: impl FnOnce(&mut Problem)) -> WireAnswer {
    let code = refusal.code();
    let mut p = Problem {
        kind: format!("/v1/openapi.json#problem-{code}"),
        title: refusal.title().to_string(),
        status: refusal.status(),
        detail: detail.to_string(),
        code: code.to_string(),
        accepted: false,
        resume_at: None,
        visible_at: None,
        refunded: None,
    };
    fill(&mut p);
    WireAnswer { status: refusal.status(), retry_after: None, body: serde_json::to_vec(&p).unwrap_or_default(), problem: true }
}

fn http_date(t: SimTime) -> Option<String> {
    let st = std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_micros(t.0.max(0) as u64))?;
    Some(httpdate::fmt_http_date(st))
}

/// A model answer as the contract sends it; `now` is the instant it was decided. The
/// inverse of [`from_wire`] (tested for every answer).
pub(crate) fn answer_to_wire(spec: &Spec, resp: &Response, now: SimTime) -> WireAnswer {
    let fmt = |t: SimTime| t.format(spec.calendar.offset);
    let json =
        |status: u16, a: &Answer| WireAnswer { status, retry_after: None, body: serde_json::to_vec(a).unwrap_or_default(), problem: false };
    match resp.clone() {
        Response::Assessed { assessment } => json(201, &Answer { assessment_id: Some(assessment), ..Answer::default() }),
        Response::Accepted { payment, replayed } => accepted(spec, &payment, replayed, now),
        Response::Records { payments, latest } => {
            json(200, &Answer { payments: Some(payments), latest_payment_id: latest, ..Answer::default() })
        }
        Response::Certificate { certificate } => json(201, &Answer { certificate_id: Some(certificate), ..Answer::default() }),
        Response::Suspended { resume_at } => {
            let detail = match resume_at {
                Some(t) => format!("payment is suspended on this channel until {}; nothing was accepted", fmt(t)),
                None => "payment is suspended on this channel; nothing was accepted".to_string(),
            };
            let mut a = problem(Refusal::Suspended, &detail, resume_at.map(fmt), None);
            a.retry_after = resume_at.and_then(http_date);
            a
        }
        Response::Conflict => {
            problem(Refusal::IdempotencyConflict, "this Idempotency-Key was used with a different body; nothing was accepted", None, None)
        }
        Response::AssessmentRequired => problem(
            Refusal::AssessmentRequired,
            "a special payment needs an unused assessment of this payer for this amount; nothing was accepted",
            None,
            None,
        ),
        Response::AlreadyPaid { refunded: false } => problem(
            Refusal::AlreadyPaid,
            "this payer already paid this insurance type for this period (under another key or channel); nothing was accepted",
            None,
            None,
        ),
        Response::AlreadyPaid { refunded: true } => problem_with(
            Refusal::AlreadyPaid,
            "this payer already paid this insurance type for this period (under another key or channel); the payment was refunded, nothing was kept",
            |p| p.refunded = Some(true),
        ),
        Response::NotRegistered => problem(
            Refusal::NotRegistered,
            "this payer is not registered in this system (register at the agency first); nothing was accepted",
            None,
            None,
        ),
        Response::NotYetVisible { visible_at } => problem(
            Refusal::NotYetVisible,
            &format!("the payment's record is visible from {}", fmt(visible_at)),
            None,
            Some(fmt(visible_at)),
        ),
        Response::NoRecord => problem(Refusal::NoRecord, "no such payment record", None, None),
        Response::Invalid { reason } => problem(Refusal::Invalid, reason.as_str(), None, None),
        // Counters are the engine's, never a target's: sent as what a payer hears, come back.
        Response::TurnedAway { reopens_at } => {
            let mut a = problem(Refusal::Overloaded, "the counters closed; nothing was accepted", None, None);
            a.retry_after = reopens_at.map(|t| (t.micros_since(now).max(0) / 1_000_000).max(1).to_string());
            a
        }
        // Hotline calls are the host's, never a target's (nothing sends them over the wire).
        Response::CallAnswered | Response::CallAbandoned => problem(Refusal::Invalid, "a hotline call is not a system request", None, None),
        Response::Overloaded { retry_after_micros } => {
            let mut a = problem(Refusal::Overloaded, "too many requests in flight; nothing was accepted", None, None);
            a.retry_after = Some((retry_after_micros / 1_000_000).max(1).to_string());
            a
        }
        Response::Error { kind: Failure::StorageFailed } => {
            problem(Refusal::StorageFailed, "storage failed; the outcome is unknown", None, None)
        }
        Response::Error { kind } => problem(Refusal::Error, kind.as_str(), None, None),
    }
}

/// The payer of a wire body, resolved against the scenario.
pub(crate) fn payer_ref(spec: &Spec, payer_id: u32, group: GroupKind, league: &str) -> Result<PayerRef, String> {
    let l = spec.leagues.iter().position(|x| x.name == league).ok_or_else(|| format!("unknown league {league:?}"))?;
    Ok(PayerRef { id: payer_id, group, league: l as u8 })
}

pub(crate) fn channel_index(spec: &Spec, channel: &str) -> Result<u8, String> {
    spec.channel_index(channel).ok_or_else(|| format!("unknown channel {channel:?}"))
}

/// Key text of an `Idempotency-Key` header.
pub(crate) fn key_from_header(v: &str) -> IdemKey {
    IdemKey::from_text(v)
}

#[cfg(test)]
mod tests;
