//! The target contract (`/v1`): wire types shared by `cutover serve` and the HTTP
//! target of `cutover run`, and the mapping between HTTP answers and model
//! [`Response`]s. The contract is written down in `src/server/openapi.json`
//! (served at `/v1/openapi.json`).
//!
//! Money is integer fen; instants are RFC 3339; refusals are RFC 9457
//! `application/problem+json` with a machine-readable `code`.

use crate::model::{IdemKey, PayerRef, Request, Response};
use crate::population::Items;
use crate::scenario::{GroupKind, Insurance, Spec, SpecialKind};
use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Amounts per insurance type, in fen, as sent on the wire.
pub type ItemsWire = BTreeMap<Insurance, i64>;

pub fn items_to_wire(items: &Items) -> ItemsWire {
    Insurance::ALL.iter().filter(|i| items[i.index()] != 0).map(|i| (*i, items[i.index()])).collect()
}

pub fn items_from_wire(w: &ItemsWire) -> Items {
    let mut items = [0; 6];
    for (i, a) in w {
        items[i.index()] = *a;
    }
    items
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentBody {
    pub payer_id: u32,
    pub group: GroupKind,
    pub league: String,
    pub channel: String,
    pub kind: SpecialKind,
    pub items_fen: ItemsWire,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    pub payer_id: u32,
    pub group: GroupKind,
    pub league: String,
    pub channel: String,
    pub items_fen: ItemsWire,
    #[serde(default)]
    pub special: bool,
    #[serde(default)]
    pub assessment_id: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateBody {
    pub payer_id: u32,
    pub group: GroupKind,
    pub league: String,
    pub channel: String,
    pub payment_id: u64,
}

/// Query of `GET /v1/payers/{payer_id}/records` and `GET /v1/status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayerQuery {
    pub group: GroupKind,
    pub league: String,
    pub channel: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Answer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replayed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_payment_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<u64>,
    /// When the payment was accepted (the target's clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<String>,
}

/// RFC 9457 problem details, with this contract's extension members.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Machine-readable reason: suspended, overloaded, idempotency_conflict,
    /// assessment_required, not_yet_visible, no_record, invalid, not_found, unauthorized.
    pub code: String,
    /// Whether anything was accepted (always false on a problem).
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LedgerCellWire {
    pub league: String,
    pub group: GroupKind,
    pub insurance: Insurance,
    pub count: u64,
    pub sum_fen: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LedgerWire {
    pub cells: Vec<LedgerCellWire>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaymentLookup {
    pub payment_id: u64,
    pub payer_id: u32,
    pub items_fen: ItemsWire,
    /// Ledger entries booked under this key (1 on a correct system).
    pub ledger_entries: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatusWire {
    pub now: String,
    pub open: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    /// The virtual instant that corresponds to the moment the request is received.
    pub virtual_now: String,
    /// Virtual seconds per real second.
    pub time_scale: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StallBody {
    pub millis: u64,
}

/// An HTTP request to send: method, path (with query) and optional body and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireRequest {
    pub method: &'static str,
    pub path: String,
    pub idempotency_key: Option<String>,
    /// Further headers (from a target profile).
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

fn league_name(spec: &Spec, l: u8) -> String {
    spec.leagues.get(l as usize).map(|x| x.name.clone()).unwrap_or_default()
}

fn channel_id(spec: &Spec, c: u8) -> String {
    spec.channels.get(c as usize).map(|x| x.id.clone()).unwrap_or_default()
}

fn encode(s: &str) -> String {
    // Query values here are snake_case ids and league names (ASCII letters): escape the rest.
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The bundled contract's HTTP request for a model request.
pub fn to_wire(spec: &Spec, req: &Request) -> WireRequest {
    let json = |v: &dyn erased::Ser| v.to_vec();
    match req {
        Request::Assess { payer, channel, kind, items } => WireRequest {
            method: "POST",
            path: "/v1/assessments".into(),
            idempotency_key: None,
            headers: Vec::new(),
            body: Some(json(&AssessmentBody {
                payer_id: payer.id,
                group: payer.group,
                league: league_name(spec, payer.league),
                channel: channel_id(spec, *channel),
                kind: *kind,
                items_fen: items_to_wire(items),
            })),
        },
        Request::Pay { key, payer, channel, items, special, assessment } => WireRequest {
            method: "POST",
            path: "/v1/payments".into(),
            idempotency_key: Some(key.to_text()),
            headers: Vec::new(),
            body: Some(json(&PaymentBody {
                payer_id: payer.id,
                group: payer.group,
                league: league_name(spec, payer.league),
                channel: channel_id(spec, *channel),
                items_fen: items_to_wire(items),
                special: *special,
                assessment_id: *assessment,
            })),
        },
        Request::Lookup { payer, channel } => WireRequest {
            method: "GET",
            path: format!(
                "/v1/payers/{}/records?group={}&league={}&channel={}",
                payer.id,
                payer.group.as_str(),
                encode(&league_name(spec, payer.league)),
                encode(&channel_id(spec, *channel))
            ),
            idempotency_key: None,
            headers: Vec::new(),
            body: None,
        },
        Request::Certificate { payer, channel, payment } => WireRequest {
            method: "POST",
            path: "/v1/certificates".into(),
            idempotency_key: None,
            headers: Vec::new(),
            body: Some(json(&CertificateBody {
                payer_id: payer.id,
                group: payer.group,
                league: league_name(spec, payer.league),
                channel: channel_id(spec, *channel),
                payment_id: *payment,
            })),
        },
    }
}

mod erased {
    /// Object-safe JSON serialization for the few body types above.
    pub trait Ser {
        fn to_vec(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_vec(&self) -> Vec<u8> {
            // Plain structs of numbers, strings and maps with string keys always serialize.
            serde_json::to_vec(self).unwrap_or_default()
        }
    }
}

pub fn parse_instant(s: &str) -> Option<SimTime> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| SimTime::from_datetime(&d))
}

/// Map an HTTP answer to a model [`Response`]. `retry_after_virtual_micros` converts a
/// `Retry-After` in real seconds into virtual time (the run's time scale).
pub fn from_wire(status: u16, retry_after: Option<&str>, body: &[u8], time_scale: f64) -> Response {
    from_wire_timed(status, retry_after, body, time_scale).0
}

/// [`from_wire`], plus the instant the target says it accepted a payment (`accepted_at`).
pub fn from_wire_timed(status: u16, retry_after: Option<&str>, body: &[u8], time_scale: f64) -> (Response, Option<SimTime>) {
    if (200..300).contains(&status) {
        let Ok(a) = serde_json::from_slice::<Answer>(body) else {
            return (Response::Error { kind: "bad_body" }, None);
        };
        let at = a.accepted_at.as_deref().and_then(parse_instant);
        let r = if let Some(id) = a.assessment_id {
            Response::Assessed { assessment: id }
        } else if let Some(id) = a.payment_id {
            Response::Accepted { payment: id, replayed: a.replayed.unwrap_or(false) }
        } else if let Some(n) = a.payments {
            Response::Records { payments: n, latest: a.latest_payment_id.unwrap_or(0) }
        } else if let Some(id) = a.certificate_id {
            Response::Certificate { certificate: id }
        } else {
            Response::Error { kind: "bad_body" }
        };
        return (r, at);
    }
    (refusal(status, retry_after, body, time_scale), None)
}

fn refusal(status: u16, retry_after: Option<&str>, body: &[u8], time_scale: f64) -> Response {
    let problem: Option<Problem> = serde_json::from_slice(body).ok();
    let code = problem.as_ref().map(|p| p.code.as_str()).unwrap_or("");
    let retry_secs = retry_after.and_then(|v| v.trim().parse::<f64>().ok());
    match (status, code) {
        (503, "suspended") => {
            let at = problem.as_ref().and_then(|p| p.resume_at.as_deref()).and_then(parse_instant).or_else(|| {
                retry_after.and_then(|v| httpdate::parse_http_date(v).ok()).map(|t| {
                    let micros = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
                    SimTime(micros)
                })
            });
            Response::Suspended { resume_at: at }
        }
        (429, _) | (503, _) => {
            let secs = retry_secs.unwrap_or(1.0).max(0.0);
            Response::Overloaded { retry_after_micros: (secs * 1e6 * time_scale.max(1.0)) as i64 }
        }
        (422, "idempotency_conflict") => Response::Conflict,
        (422, "assessment_required") => Response::AssessmentRequired,
        (404, "not_yet_visible") => match problem.as_ref().and_then(|p| p.visible_at.as_deref()).and_then(parse_instant) {
            Some(at) => Response::NotYetVisible { visible_at: at },
            None => Response::Error { kind: "bad_body" },
        },
        (404, "no_record") => Response::NoRecord,
        (400, _) | (422, _) => Response::Invalid { reason: "refused as invalid" },
        _ => Response::Error { kind: "unexpected_status" },
    }
}

/// The payer of a wire body, resolved against the scenario.
pub fn payer_ref(spec: &Spec, payer_id: u32, group: GroupKind, league: &str) -> Result<PayerRef, String> {
    let l = spec.leagues.iter().position(|x| x.name == league).ok_or_else(|| format!("unknown league {league:?}"))?;
    Ok(PayerRef { id: payer_id, group, league: l as u8 })
}

pub fn channel_index(spec: &Spec, channel: &str) -> Result<u8, String> {
    spec.channel_index(channel).ok_or_else(|| format!("unknown channel {channel:?}"))
}

/// Key text of an `Idempotency-Key` header.
pub fn key_from_header(v: &str) -> IdemKey {
    IdemKey::from_text(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_foreign_keys_hash() {
        let k = IdemKey(0x1234_5678_9abc_def0_1122_3344_5566_7788);
        assert_eq!(IdemKey::from_text(&k.to_text()), k);
        assert_ne!(IdemKey::from_text("order-1"), IdemKey::from_text("order-2"));
        assert_eq!(IdemKey::from_text("order-1"), IdemKey::from_text("order-1"));
    }

    #[test]
    fn problems_map_to_responses() {
        let p = |code: &str, extra: &str| {
            format!(r#"{{"type":"x","title":"t","status":0,"detail":"d","code":"{code}","accepted":false{extra}}}"#).into_bytes()
        };
        assert_eq!(
            from_wire(503, Some("Sat, 01 May 2021 00:00:00 GMT"), &p("suspended", r#","resume_at":"2021-05-01T00:00:00+08:00""#), 1.0),
            Response::Suspended { resume_at: parse_instant("2021-05-01T00:00:00+08:00") }
        );
        assert_eq!(from_wire(429, Some("2"), &p("overloaded", ""), 10.0), Response::Overloaded { retry_after_micros: 20_000_000 });
        assert_eq!(from_wire(422, None, &p("idempotency_conflict", ""), 1.0), Response::Conflict);
        assert_eq!(from_wire(500, None, b"oops", 1.0), Response::Error { kind: "unexpected_status" });
        assert_eq!(
            from_wire(201, None, br#"{"payment_id":4,"status":"accepted","replayed":false}"#, 1.0),
            Response::Accepted { payment: 4, replayed: false }
        );
    }
}
