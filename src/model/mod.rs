//! The reference model of the new collection system.
//!
//! Pure and deterministic: a decision is a function of the model's state, the
//! request and the instant passed in. It does no I/O and reads no clock, so the
//! virtual-time engine, a real-time in-process target and an HTTP server can
//! all host the same rules without re-implementing any of them.
//!
//! Rules kept (see `shared/domain.md`):
//! - nothing is accepted on a channel closed by the current phase or by a staged
//!   reopening; the refusal carries the instant service resumes;
//! - a special payment is accepted only against an unused agency assessment of the
//!   same payer, for the assessed amount;
//! - payments are idempotent by key: the same key and body give the first result
//!   again, the same key with another body is a conflict. Refusals are not stored,
//!   so a payment refused during the suspension succeeds with the same key later;
//! - every accepted payment lands in the ledger exactly once;
//! - a payment's record (and certificate) is visible a configured number of working
//!   days after it succeeded.

pub(crate) mod rules;
mod target_id;

pub use rules::Rules;
pub(crate) use target_id::TargetId;

use crate::FastMap;
use crate::population::{Items, PayerId};
pub(crate) use crate::scenario::Operation;
use crate::scenario::{ChannelIdx, GroupKind, Insurance, SpecialKind};
use crate::time::SimTime;
pub(crate) use crate::vocabulary::{Failure, Refusal};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct PayerRef {
    pub id: PayerId,
    pub group: GroupKind,
    pub league: u8,
}

/// An idempotency key (128 bits; an HTTP host hashes arbitrary key text into one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct IdemKey(pub u128);

impl IdemKey {
    /// The key as sent over HTTP: 32 lowercase hex digits.
    pub(crate) fn to_text(self) -> String {
        String::from_utf8_lossy(&self.hex()).into_owned()
    }
    /// [`IdemKey::to_text`] without allocating.
    pub(crate) fn hex(self) -> [u8; 32] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = DIGITS[((self.0 >> (124 - 4 * i)) & 0xf) as usize];
        }
        out
    }
    /// Parse key text: 32 hex digits are taken as they are; any other text (a real
    /// deployment's keys) is hashed into 128 bits (two FNV-1a passes with distinct seeds).
    pub(crate) fn from_text(text: &str) -> IdemKey {
        if text.len() == 32
            && let Ok(v) = u128::from_str_radix(text, 16)
        {
            return IdemKey(v);
        }
        let fnv = |seed: u64| {
            let mut h = seed;
            for b in text.bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            h
        };
        IdemKey(((fnv(0xcbf2_9ce4_8422_2325) as u128) << 64) | fnv(0x6c62_272e_07bb_0142) as u128)
    }
}

impl serde::Serialize for IdemKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> serde::Deserialize<'de> for IdemKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<IdemKey, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        Ok(IdemKey::from_text(&text))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Request {
    Assess { payer: PayerRef, channel: ChannelIdx, kind: SpecialKind, items: Items },
    Pay { key: IdemKey, payer: PayerRef, channel: ChannelIdx, items: Items, special: bool, assessment: Option<TargetId> },
    Lookup { payer: PayerRef, channel: ChannelIdx },
    Certificate { payer: PayerRef, channel: ChannelIdx, payment: TargetId },
}

impl Request {
    pub(crate) fn operation(&self) -> Operation {
        match self {
            Request::Assess { .. } => Operation::Assess,
            Request::Pay { .. } => Operation::Pay,
            Request::Lookup { .. } => Operation::Lookup,
            Request::Certificate { .. } => Operation::Certificate,
        }
    }
    pub(crate) fn payer(&self) -> PayerRef {
        match self {
            Request::Assess { payer, .. }
            | Request::Pay { payer, .. }
            | Request::Lookup { payer, .. }
            | Request::Certificate { payer, .. } => *payer,
        }
    }
    pub(crate) fn channel(&self) -> ChannelIdx {
        match self {
            Request::Assess { channel, .. }
            | Request::Pay { channel, .. }
            | Request::Lookup { channel, .. }
            | Request::Certificate { channel, .. } => *channel,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Response {
    Assessed {
        assessment: TargetId,
    },
    Accepted {
        payment: TargetId,
        replayed: bool,
    },
    /// Refused because the channel (or the region) is suspended; `resume_at` is when
    /// it reopens, `None` if not within the timeline.
    Suspended {
        resume_at: Option<SimTime>,
    },
    /// Same idempotency key, different body.
    Conflict,
    /// A special payment without a matching, unused assessment.
    AssessmentRequired,
    Records {
        payments: u32,
        /// The newest visible payment, if the target names it.
        latest: Option<TargetId>,
    },
    NotYetVisible {
        visible_at: SimTime,
    },
    NoRecord,
    Certificate {
        certificate: TargetId,
    },
    Invalid {
        reason: &'static str,
    },
    /// Not a model answer: the host refused for lack of capacity (queue full).
    Overloaded {
        retry_after_micros: i64,
    },
    /// Not a model answer: the target failed (timeout, reset, unexpected status).
    Error {
        kind: Failure,
    },
}

impl Response {
    /// The answer's kind, as the auditor and the report name it: a success's name, a
    /// refusal's contract code, or `error`.
    pub(crate) fn category(&self) -> &'static str {
        match self {
            Response::Assessed { .. } => "assessed",
            Response::Accepted { .. } => "accepted",
            Response::Records { .. } => "records",
            Response::Certificate { .. } => "certificate",
            Response::Error { .. } => "error",
            r => r.refusal().map_or("error", Refusal::code),
        }
    }

    /// The contract's refusal this answer is sent as, if it is one.
    pub(crate) fn refusal(&self) -> Option<Refusal> {
        Some(match self {
            Response::Suspended { .. } => Refusal::Suspended,
            Response::Conflict => Refusal::IdempotencyConflict,
            Response::AssessmentRequired => Refusal::AssessmentRequired,
            Response::NotYetVisible { .. } => Refusal::NotYetVisible,
            Response::NoRecord => Refusal::NoRecord,
            Response::Invalid { .. } => Refusal::Invalid,
            Response::Overloaded { .. } => Refusal::Overloaded,
            Response::Error { kind: Failure::StorageFailed } => Refusal::StorageFailed,
            Response::Error { .. } => Refusal::Error,
            _ => return None,
        })
    }

    pub(crate) fn is_success(&self) -> bool {
        matches!(self, Response::Assessed { .. } | Response::Accepted { .. } | Response::Records { .. } | Response::Certificate { .. })
    }
}

#[derive(Clone, Debug)]
struct Assessment {
    payer: PayerId,
    total_fen: i64,
    used: bool,
}

/// What the model holds for one idempotency key (for reconciliation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PaymentInfo {
    pub payment: u64,
    pub payer: PayerId,
    pub items: Items,
}

#[derive(Clone, Debug)]
struct PaymentRecord {
    payer: PayerId,
    visible_at: SimTime,
    /// Previous payment of the same payer (0 = none): a per-payer list without a Vec each.
    previous: u64,
    /// Of the request's body, to tell a replay from a conflict.
    fingerprint: u64,
    items: Items,
    /// The digest of the id another system gave this payment (0 = none): the auditor's
    /// shadow model notes the target's id here, so that a certificate request quoting it
    /// finds the shadow's record through the payer's few payments instead of a map of all ids.
    external: u64,
}

/// Count and sum of one ledger cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct LedgerCell {
    pub count: u64,
    pub sum_fen: i64,
}

/// Key of a ledger cell: league × payer group × insurance type.
pub(crate) type LedgerKey = (u8, GroupKind, Insurance);

pub struct Model {
    rules: Arc<Rules>,
    assessments: Vec<Assessment>,
    /// Payment id (1-based index into `payments`) by idempotency key. The record itself
    /// lives in `payments`, appended in order: the map's entries stay small (a random
    /// write per payment into a table of a few bytes each, not of the whole record).
    by_key: FastMap<IdemKey, u64>,
    payments: Vec<PaymentRecord>,
    latest_by_payer: FastMap<PayerId, u64>,
    ledger: Vec<LedgerCell>,
    leagues: usize,
    certificates: u64,
    /// Fault injection for tests of auditors: accept payments on closed channels.
    ignore_closures: bool,
}

/// This model's own number in an identifier a request quotes; an id it never gave (text)
/// is a number it has not used.
fn own_id(id: &TargetId) -> u64 {
    id.num().unwrap_or(u64::MAX)
}

fn fingerprint(payer: PayerId, items: &Items, special: bool, assessment: Option<u64>) -> u64 {
    // FNV-1a over the body's fields; stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |x: u64| {
        for b in x.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(payer as u64);
    for a in items {
        feed(*a as u64);
    }
    feed(special as u64);
    feed(assessment.map(|a| a + 1).unwrap_or(0));
    h
}

/// What a state-changing answer decided, as a durable host keeps it: enough to put the
/// model back in the same state without deciding anything again, whatever the rules (or
/// the build) are at the restart.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "decided", rename_all = "snake_case")]
pub(crate) enum Decision {
    Assessed { assessment: u64, payer: PayerId, total_fen: i64 },
    Paid { payment: u64, key: IdemKey, payer: PayerRef, items: Items, fingerprint: u64, visible_at_micros: i64, assessment: Option<u64> },
    Certified { certificate: u64 },
}

/// Why a decision cannot be restored into this model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("{what} {id} comes out of order (the next is {expected})")]
    OutOfOrder { what: &'static str, id: u64, expected: u64 },
    #[error("payment {payment} is in league {league}, which this scenario does not have ({leagues} leagues)")]
    UnknownLeague { payment: u64, league: u8, leagues: usize },
    #[error("payment {payment} repeats idempotency key {key}")]
    DuplicateKey { payment: u64, key: String },
}

impl Model {
    pub fn new(rules: Arc<Rules>) -> Model {
        let leagues = rules.leagues();
        Model {
            rules,
            assessments: Vec::new(),
            by_key: FastMap::default(),
            payments: Vec::new(),
            latest_by_payer: FastMap::default(),
            ledger: vec![LedgerCell::default(); leagues * 5 * 6],
            leagues,
            certificates: 0,
            ignore_closures: false,
        }
    }

    /// Make this model deliberately wrong: it accepts payments while suspended. Only for
    /// rehearsing the auditor (`cutover serve --fault accept-while-suspended`).
    pub(crate) fn set_fault_accept_while_suspended(&mut self, on: bool) {
        self.ignore_closures = on;
    }

    /// Make room for about `payments` payments up front (the live driver knows how many
    /// payers it has): growing the maps by doubling showed as rehashing and page faults.
    pub(crate) fn reserve(&mut self, payments: usize) {
        self.by_key.reserve(payments);
        self.payments.reserve(payments);
        self.latest_by_payer.reserve(payments);
    }

    /// The payment stored under an idempotency key, if any.
    pub(crate) fn payment_by_key(&self, key: IdemKey) -> Option<PaymentInfo> {
        let &payment = self.by_key.get(&key)?;
        let rec = self.payments.get((payment - 1) as usize)?;
        Some(PaymentInfo { payment, payer: rec.payer, items: rec.items })
    }

    /// Note that another system calls payment `payment` (this model's id) `external`.
    pub(crate) fn set_external_id(&mut self, payment: &TargetId, external: &TargetId) {
        let r = payment.num().and_then(|p| p.checked_sub(1)).and_then(|i| self.payments.get_mut(i as usize));
        if let Some(r) = r {
            r.external = external.digest();
        }
    }

    /// This model's id of the payment of `payer` that another system calls `external`.
    pub(crate) fn by_external_id(&self, payer: PayerId, external: &TargetId) -> Option<u64> {
        let digest = external.digest();
        let mut id = *self.latest_by_payer.get(&payer)?;
        while id != 0 {
            let r = &self.payments[(id - 1) as usize];
            if r.external == digest {
                return Some(id);
            }
            id = r.previous;
        }
        None
    }

    pub(crate) fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Decide one request at instant `now`.
    pub(crate) fn handle(&mut self, now: SimTime, req: &Request) -> Response {
        let payer = req.payer();
        if payer.league as usize >= self.leagues {
            return Response::Invalid { reason: "unknown league" };
        }
        if (req.channel() as usize) >= self.rules.channels() {
            return Response::Invalid { reason: "unknown channel" };
        }
        if let Some(resume_at) = self.rules.closure(req.channel(), payer.group, payer.league, now)
            && !(self.ignore_closures && matches!(req, Request::Pay { .. }))
        {
            return Response::Suspended { resume_at };
        }
        match req {
            Request::Assess { payer, items, .. } => {
                let total: i64 = items.iter().sum();
                if total <= 0 || items.iter().any(|a| *a < 0) {
                    return Response::Invalid { reason: "assessed amount must be positive" };
                }
                self.assessments.push(Assessment { payer: payer.id, total_fen: total, used: false });
                Response::Assessed { assessment: TargetId::Num(self.assessments.len() as u64) }
            }
            Request::Pay { key, payer, items, special, assessment, .. } => {
                self.pay(now, *key, *payer, items, *special, assessment.as_ref().map(own_id))
            }
            Request::Lookup { payer, .. } => match self.latest_by_payer.get(&payer.id) {
                None => Response::NoRecord,
                Some(&latest) => {
                    // Count the visible payments, newest first; bounded by the payer's payments.
                    let mut visible = 0u32;
                    let mut newest_visible = 0u64;
                    let mut earliest_hidden: Option<SimTime> = None;
                    let mut id = latest;
                    while id != 0 {
                        let rec = &self.payments[(id - 1) as usize];
                        if rec.visible_at <= now {
                            visible += 1;
                            if newest_visible == 0 {
                                newest_visible = id;
                            }
                        } else {
                            earliest_hidden = Some(earliest_hidden.map_or(rec.visible_at, |e: SimTime| e.min(rec.visible_at)));
                        }
                        id = rec.previous;
                    }
                    match (visible, earliest_hidden) {
                        (0, Some(at)) => Response::NotYetVisible { visible_at: at },
                        (0, None) => Response::NoRecord,
                        _ => Response::Records { payments: visible, latest: Some(TargetId::Num(newest_visible)) },
                    }
                }
            },
            Request::Certificate { payer, payment, .. } => {
                let Some(rec) = own_id(payment).checked_sub(1).and_then(|i| self.payments.get(i as usize)) else {
                    return Response::NoRecord;
                };
                if rec.payer != payer.id {
                    return Response::NoRecord;
                }
                if rec.visible_at > now {
                    return Response::NotYetVisible { visible_at: rec.visible_at };
                }
                self.certificates += 1;
                Response::Certificate { certificate: TargetId::Num(self.certificates) }
            }
        }
    }

    fn pay(&mut self, now: SimTime, key: IdemKey, payer: PayerRef, items: &Items, special: bool, assessment: Option<u64>) -> Response {
        if items.iter().any(|a| *a < 0) || items.iter().sum::<i64>() <= 0 {
            return Response::Invalid { reason: "amount must be positive" };
        }
        let fp = fingerprint(payer.id, items, special, assessment);
        let slot = match self.by_key.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let payment = *e.get();
                let same = self.payments.get((payment - 1) as usize).is_some_and(|r| r.fingerprint == fp);
                return if same { Response::Accepted { payment: TargetId::Num(payment), replayed: true } } else { Response::Conflict };
            }
            std::collections::hash_map::Entry::Vacant(v) => v,
        };
        let total: i64 = items.iter().sum();
        if special || assessment.is_some() {
            let a = assessment.and_then(|a| a.checked_sub(1)).and_then(|i| self.assessments.get_mut(i as usize));
            match a {
                Some(a) if a.payer == payer.id && a.total_fen == total && !a.used => a.used = true,
                _ => return Response::AssessmentRequired,
            }
        }
        let id = self.payments.len() as u64 + 1;
        slot.insert(id);
        let previous = self.latest_by_payer.insert(payer.id, id).unwrap_or(0);
        let visible_at = self.rules.record_visible_at(now);
        self.payments.push(PaymentRecord { payer: payer.id, visible_at, previous, fingerprint: fp, items: *items, external: 0 });
        self.book(payer, items);
        Response::Accepted { payment: TargetId::Num(id), replayed: false }
    }

    fn cell_index(&self, league: u8, group: GroupKind, ins: Insurance) -> usize {
        (league as usize * 5 + group.index()) * 6 + ins.index()
    }

    /// What answering `req` with `resp` decided, if it changed the state (see
    /// a durable host keeps it); call right after [`Model::handle`] gave `resp`.
    pub(crate) fn decision(&self, req: &Request, resp: &Response) -> Option<Decision> {
        match (req, resp) {
            (Request::Assess { payer, .. }, Response::Assessed { assessment }) => {
                let assessment = assessment.num()?;
                let a = self.assessments.get(assessment.checked_sub(1)? as usize)?;
                Some(Decision::Assessed { assessment, payer: payer.id, total_fen: a.total_fen })
            }
            (Request::Pay { key, payer, assessment, .. }, Response::Accepted { payment, replayed: false }) => {
                let payment = payment.num()?;
                let r = self.payments.get(payment.checked_sub(1)? as usize)?;
                Some(Decision::Paid {
                    payment,
                    key: *key,
                    payer: *payer,
                    items: r.items,
                    fingerprint: r.fingerprint,
                    visible_at_micros: r.visible_at.0,
                    assessment: assessment.as_ref().map(own_id),
                })
            }
            (Request::Certificate { .. }, Response::Certificate { certificate }) => {
                Some(Decision::Certified { certificate: certificate.num()? })
            }
            _ => None,
        }
    }

    /// Put a decision back, as it was decided: no rule is applied again. Decisions come in
    /// the order they were made.
    pub(crate) fn restore(&mut self, d: &Decision) -> Result<(), RestoreError> {
        match d {
            Decision::Assessed { assessment, payer, total_fen } => {
                let expected = self.assessments.len() as u64 + 1;
                if *assessment != expected {
                    return Err(RestoreError::OutOfOrder { what: "assessment", id: *assessment, expected });
                }
                self.assessments.push(Assessment { payer: *payer, total_fen: *total_fen, used: false });
            }
            Decision::Paid { payment, key, payer, items, fingerprint, visible_at_micros, assessment } => {
                let expected = self.payments.len() as u64 + 1;
                if *payment != expected {
                    return Err(RestoreError::OutOfOrder { what: "payment", id: *payment, expected });
                }
                if payer.league as usize >= self.leagues {
                    return Err(RestoreError::UnknownLeague { payment: *payment, league: payer.league, leagues: self.leagues });
                }
                if self.by_key.contains_key(key) {
                    return Err(RestoreError::DuplicateKey { payment: *payment, key: key.to_text() });
                }
                if let Some(a) = assessment.and_then(|a| a.checked_sub(1)).and_then(|i| self.assessments.get_mut(i as usize)) {
                    a.used = true;
                }
                self.by_key.insert(*key, *payment);
                let previous = self.latest_by_payer.insert(payer.id, *payment).unwrap_or(0);
                let visible_at = SimTime(*visible_at_micros);
                self.payments.push(PaymentRecord {
                    payer: payer.id,
                    visible_at,
                    previous,
                    fingerprint: *fingerprint,
                    items: *items,
                    external: 0,
                });
                self.book(*payer, items);
            }
            Decision::Certified { certificate } => self.certificates = self.certificates.max(*certificate),
        }
        Ok(())
    }

    fn book(&mut self, payer: PayerRef, items: &Items) {
        for ins in Insurance::ALL {
            let a = items[ins.index()];
            if a != 0 {
                let i = self.cell_index(payer.league, payer.group, ins);
                let cell = &mut self.ledger[i];
                cell.count += 1;
                cell.sum_fen = cell.sum_fen.checked_add(a).unwrap_or(i64::MAX);
            }
        }
    }

    /// Ledger totals, non-empty cells only, in key order.
    pub(crate) fn ledger(&self) -> BTreeMap<LedgerKey, LedgerCell> {
        let mut out = BTreeMap::new();
        for l in 0..self.leagues {
            for g in GroupKind::ALL {
                for ins in Insurance::ALL {
                    let cell = self.ledger[self.cell_index(l as u8, g, ins)];
                    if cell.count > 0 {
                        out.insert((l as u8, g, ins), cell);
                    }
                }
            }
        }
        out
    }

    #[cfg(test)]
    pub(crate) fn payments_accepted(&self) -> u64 {
        self.payments.len() as u64
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
