//! How a deployment's API looks: the bundled contract or a target profile. The one place
//! that knows which; the target, the transports and the readiness loop ask it for a
//! request's wire form and read answers through it.

use super::profile::Profile;
use crate::contract::{self, WireRef, WireRequest, WireScratch};
use crate::model::{IdemKey, LedgerCell, LedgerKey, Request, Response};
use crate::scenario::Spec;
use crate::time::SimTime;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A target's ledger cells, as read through its API.
pub(crate) type Ledger = BTreeMap<LedgerKey, LedgerCell>;

/// How a deployment's API looks.
#[derive(Clone, Debug)]
pub enum Api {
    /// The bundled `/v1` contract (`cutover serve`), through the driver's own fast paths.
    Contract,
    Profile(Arc<Profile>),
}

impl Api {
    /// The HTTP request for `req`; for the contract written into `scratch` without
    /// allocating, for a profile rendered into `rendered`.
    pub(crate) fn wire<'a>(
        &self,
        spec: &Spec,
        req: &Request,
        scratch: &'a mut WireScratch,
        rendered: &'a mut Option<WireRequest>,
    ) -> WireRef<'a> {
        match self {
            Api::Contract => contract::wire_into(spec, req, scratch),
            Api::Profile(p) => rendered.insert(p.render(spec, req)).as_ref(),
        }
    }

    /// The HTTP request for `req`, owned.
    pub(crate) fn request(&self, spec: &Spec, req: &Request) -> WireRequest {
        match self {
            Api::Contract => contract::to_wire(spec, req),
            Api::Profile(p) => p.render(spec, req),
        }
    }

    /// An HTTP answer to `req` as a model answer, with the instant the target says it
    /// accepted a payment, if it says so.
    pub(crate) fn read(
        &self,
        spec: &Spec,
        req: &Request,
        status: u16,
        retry_after: Option<&str>,
        body: &[u8],
    ) -> (Response, Option<SimTime>) {
        match self {
            Api::Contract => contract::from_wire_timed(status, retry_after, body),
            Api::Profile(p) => p.read_answer_timed(spec, req, status, retry_after, body),
        }
    }

    pub(in crate::live) fn ledger_request(&self) -> WireRequest {
        match self {
            Api::Contract => {
                WireRequest { method: "GET", path: "/v1/ledger".into(), idempotency_key: None, headers: Vec::new(), body: None }
            }
            Api::Profile(p) => p.ledger_request(),
        }
    }

    pub(in crate::live) fn read_ledger(&self, spec: &Spec, body: &[u8]) -> Result<Ledger, String> {
        match self {
            Api::Contract => {
                let w: contract::LedgerWire = serde_json::from_slice(body).map_err(|e| format!("the ledger is not the contract's: {e}"))?;
                let mut out = BTreeMap::new();
                for c in w.cells {
                    let l = spec.leagues.iter().position(|x| x.name == c.league).ok_or_else(|| format!("unknown league {:?}", c.league))?;
                    let cell: &mut LedgerCell = out.entry((l as u8, c.group, c.insurance)).or_default();
                    cell.count += c.count;
                    cell.sum_fen += c.sum_fen;
                }
                Ok(out)
            }
            Api::Profile(p) => p.read_ledger(spec, body),
        }
    }

    pub(in crate::live) fn payment_path(&self, key: IdemKey) -> String {
        match self {
            Api::Contract => format!("/v1/payments/{}", key.to_text()),
            Api::Profile(p) => p.payment_path(key),
        }
    }

    /// Whether an answer to [`Api::payment_path`] says a payment is held under the key
    /// (`Some(true)`), none is (`Some(false)`), or neither: then the key is not known.
    pub(in crate::live) fn read_held(&self, status: u16, body: &[u8]) -> Option<bool> {
        match self {
            Api::Contract => match status {
                200 => Some(true),
                404 => Some(false),
                _ => None,
            },
            Api::Profile(p) => p.payment_by_key.read(status, body),
        }
    }

    /// The headers of every request (a profile's, secrets resolved).
    pub(in crate::live) fn headers(&self) -> Vec<(&str, &str)> {
        match self {
            Api::Contract => Vec::new(),
            Api::Profile(p) => p.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
        }
    }

    pub(in crate::live) fn clock_path(&self) -> Option<&str> {
        match self {
            Api::Contract => Some("/v1/admin/clock"),
            Api::Profile(p) => p.clock_path.as_deref(),
        }
    }

    /// The method and path template of `req` (ids as placeholders, no query): how the
    /// failures table names a request.
    pub(in crate::live) fn route(&self, req: &Request) -> (&'static str, String) {
        match self {
            Api::Contract => {
                let (method, path) = match req {
                    Request::Assess { .. } => ("POST", "/v1/assessments"),
                    Request::Pay { .. } => ("POST", "/v1/payments"),
                    Request::Lookup { .. } => ("GET", "/v1/payers/{payer_id}/records"),
                    Request::Certificate { .. } => ("POST", "/v1/certificates"),
                    // Never sent: answered by the host itself.
                    Request::Call { .. } => ("-", "(hotline, not sent)"),
                };
                (method, path.to_string())
            }
            Api::Profile(p) => p.route(req),
        }
    }

    pub(in crate::live) fn describe(&self) -> String {
        match self {
            Api::Contract => "the bundled contract".into(),
            Api::Profile(p) => format!("profile {:?}", p.name),
        }
    }
}
