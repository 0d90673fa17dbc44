//! The reference model of the new collection system.
//!
//! Pure and deterministic: a decision is a function of the model's state, the
//! request and the instant passed in. It does no I/O and reads no clock, so the
//! virtual-time engine, a real-time in-process target and an HTTP server can
//! all host the same rules without re-implementing any of them.
//!
//! Rules kept (see `docs/domain.md`):
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

mod books;
mod durable;
mod index;
mod ledger;
pub use durable::RestoreError;
pub(crate) use durable::{Decision, ImportAnswer};
pub mod migration;
mod outcome;
mod payments;
mod period;
pub(crate) mod rules;
mod slots;
pub mod systems;
mod target_id;

pub(crate) use ledger::{LedgerCell, LedgerKey, LedgerTable};
pub use migration::MigrationFault;
pub use outcome::Outcome;
pub(crate) use period::Period;
pub use systems::{Faults, Systems, system_model};

pub use rules::Rules;
pub(crate) use target_id::TargetId;

use crate::hash::{FastMap, Fnv1a};
use crate::population::{Items, PayerId};
pub(crate) use crate::scenario::Operation;
use crate::scenario::{ChannelIdx, GroupKind, SpecialKind};
use crate::time::SimTime;
pub(crate) use crate::vocabulary::{AnswerKind, Failure, InvalidReason, Refusal};
use payments::{PaymentRecord, Payments};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct PayerRef {
    pub id: PayerId,
    pub group: GroupKind,
    pub league: u8,
}

/// An idempotency key (128 bits; an HTTP host hashes arbitrary key text into one). Kept as
/// two words, high first (the order of the 128-bit number): a `u128` would align every
/// record, row and map entry holding a key to 16 bytes (the model's key map took 32 bytes an
/// entry instead of 24).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct IdemKey {
    high: u64,
    low: u64,
}

impl IdemKey {
    pub(crate) const fn new(value: u128) -> IdemKey {
        IdemKey { high: (value >> 64) as u64, low: value as u64 }
    }
    /// The 128-bit number.
    pub(crate) const fn value(self) -> u128 {
        ((self.high as u128) << 64) | self.low as u128
    }
    /// The key as sent over HTTP: 32 lowercase hex digits.
    pub(crate) fn to_text(self) -> String {
        String::from_utf8_lossy(&self.hex()).into_owned()
    }
    /// [`IdemKey::to_text`] without allocating.
    pub(crate) fn hex(self) -> [u8; 32] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        // A byte at a time: shifting the 128-bit value for each digit took 270 instructions.
        for (pair, b) in out.chunks_exact_mut(2).zip(self.value().to_be_bytes()) {
            pair[0] = DIGITS[(b >> 4) as usize];
            pair[1] = DIGITS[(b & 0xf) as usize];
        }
        out
    }
    /// Parse key text: 32 hex digits are taken as they are; any other text (a real
    /// deployment's keys) is hashed into 128 bits (two FNV-1a passes with distinct seeds).
    pub(crate) fn from_text(text: &str) -> IdemKey {
        if text.len() == 32
            && let Ok(v) = u128::from_str_radix(text, 16)
        {
            return IdemKey::new(v);
        }
        let fnv = |basis: u64| Fnv1a::with_basis(basis).bytes(text.as_bytes()).finish();
        IdemKey::new(((fnv(Fnv1a::OFFSET) as u128) << 64) | fnv(0x6c62_272e_07bb_0142) as u128)
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
    Assess {
        payer: PayerRef,
        channel: ChannelIdx,
        kind: SpecialKind,
        items: Items,
    },
    Pay {
        key: IdemKey,
        payer: PayerRef,
        channel: ChannelIdx,
        items: Items,
        period: Period,
        special: bool,
        assessment: Option<TargetId>,
    },
    Lookup {
        payer: PayerRef,
        channel: ChannelIdx,
    },
    Certificate {
        payer: PayerRef,
        channel: ChannelIdx,
        payment: TargetId,
    },
    /// A call to the hotline: answered by the host's agents, never sent to a system.
    Call {
        payer: PayerRef,
        channel: ChannelIdx,
    },
}

impl Request {
    pub(crate) fn operation(&self) -> Operation {
        match self {
            Request::Assess { .. } => Operation::Assess,
            Request::Pay { .. } => Operation::Pay,
            Request::Lookup { .. } => Operation::Lookup,
            Request::Certificate { .. } => Operation::Certificate,
            Request::Call { .. } => Operation::Call,
        }
    }
    pub(crate) fn payer(&self) -> PayerRef {
        match self {
            Request::Assess { payer, .. }
            | Request::Pay { payer, .. }
            | Request::Lookup { payer, .. }
            | Request::Certificate { payer, .. }
            | Request::Call { payer, .. } => *payer,
        }
    }
    pub(crate) fn channel(&self) -> ChannelIdx {
        match self {
            Request::Assess { channel, .. }
            | Request::Pay { channel, .. }
            | Request::Lookup { channel, .. }
            | Request::Certificate { channel, .. }
            | Request::Call { channel, .. } => *channel,
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
    /// The payer already paid this insurance type for this period, under another key or on
    /// another channel (a system with the business-level duplicate check); `refunded`: the
    /// system took the payment and paid it back at once (nothing kept).
    AlreadyPaid {
        refunded: bool,
    },
    /// The payer has no registration in this system (a system that takes payments and
    /// assessments from registered payers only).
    NotRegistered,
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
        reason: InvalidReason,
    },
    /// Not a model answer: the counters closed (or were closed) while the payer queued; they
    /// open again at `reopens_at` (`None`: not within the timeline).
    TurnedAway {
        reopens_at: Option<SimTime>,
    },
    /// Not a model answer: an agent of the hotline took the call.
    CallAnswered,
    /// Not a model answer: the caller hung up before an agent answered (or the hotline closed).
    CallAbandoned,
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
    /// What a live run counts this answer among its errors as, if it is one: a failed
    /// exchange, a request refused as invalid, or the target's overload.
    pub(crate) fn error_kind(&self) -> Option<crate::vocabulary::ErrorKind> {
        use crate::vocabulary::ErrorKind;
        match self {
            Response::Error { kind } => Some(ErrorKind::Failure(*kind)),
            Response::Invalid { reason } => Some(ErrorKind::Invalid(*reason)),
            Response::Overloaded { .. } => Some(ErrorKind::Overloaded),
            _ => None,
        }
    }

    /// The answer's kind, as the auditor and the report name it: a success's name, a
    /// refusal's contract code, or `error`.
    pub(crate) fn category(&self) -> AnswerKind {
        match self {
            Response::Assessed { .. } => AnswerKind::Assessed,
            Response::Accepted { .. } => AnswerKind::Accepted,
            Response::Records { .. } => AnswerKind::Records,
            Response::Certificate { .. } => AnswerKind::Certificate,
            Response::Error { .. } => AnswerKind::Error,
            Response::TurnedAway { .. } => AnswerKind::TurnedAway,
            Response::CallAnswered => AnswerKind::CallAnswered,
            Response::CallAbandoned => AnswerKind::CallAbandoned,
            r => r.refusal().map_or(AnswerKind::Error, AnswerKind::Refused),
        }
    }

    /// The contract's refusal this answer is sent as, if it is one.
    pub(crate) fn refusal(&self) -> Option<Refusal> {
        Some(match self {
            Response::Suspended { .. } => Refusal::Suspended,
            Response::Conflict => Refusal::IdempotencyConflict,
            Response::AssessmentRequired => Refusal::AssessmentRequired,
            Response::AlreadyPaid { .. } => Refusal::AlreadyPaid,
            Response::NotRegistered => Refusal::NotRegistered,
            Response::NotYetVisible { .. } => Refusal::NotYetVisible,
            Response::NoRecord => Refusal::NoRecord,
            Response::Invalid { .. } => Refusal::Invalid,
            Response::Overloaded { .. } => Refusal::Overloaded,
            Response::Error { kind: Failure::StorageFailed } => Refusal::StorageFailed,
            Response::Error { .. } => Refusal::Error,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug)]
struct Assessment {
    payer: PayerId,
    total_fen: i64,
    used: bool,
    /// The id the old system gave it, if migrated from there (0 = made here).
    origin: u64,
}

/// How one system of a cutover behaves beyond the timeline's rules. The default is the one
/// system of a scenario without a `cutover` section: open for the whole timeline, payments
/// idempotent by key only, keys kept, ids from 1.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Policy {
    /// Takes requests from this instant; before it, refused as suspended until then.
    pub opens: Option<SimTime>,
    /// Stops at this instant: from then on everything is refused as suspended, naming
    /// `resume_after_stop` (the other system's opening).
    pub stops: Option<SimTime>,
    pub resume_after_stop: Option<SimTime>,
    /// Refuse a second payment for the same payer, insurance type and period, whatever the
    /// key and channel (`already_paid`).
    pub business_dedup: bool,
    /// A second payment found by that check is taken and paid back at once (the ledger keeps
    /// nothing of it) rather than refused.
    pub refund_duplicates: bool,
    /// A look-up before the record is visible answers "no record", not the instant.
    pub hide_visible_at: bool,
    /// Idempotency keys are forgotten this long after their payment (`None`: kept).
    pub key_ttl_micros: Option<i64>,
    /// The ids this system gives are above this number (its own id space).
    pub id_base: u64,
    /// Fault injection: payments are acknowledged after the stop too.
    pub accept_after_stop: bool,
    /// Take payments and assessments only from payers registered here (`not_registered`).
    pub requires_registration: bool,
}

/// One payment as a system's export lists it (and a migration carries it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct PaymentRow {
    /// This system's id of the payment.
    pub payment: u64,
    pub key: IdemKey,
    pub payer: PayerRef,
    pub channel: ChannelIdx,
    pub items: Items,
    pub period: Period,
    pub accepted_at: SimTime,
    pub visible_at: SimTime,
    /// The old system's id, for a payment migrated from it.
    pub origin: Option<u64>,
}

/// Both systems' books as the cutover's checks read them: every payment, and every
/// registration where the systems' registrations could be read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Books {
    pub payments: [Vec<PaymentRow>; 2],
    pub registrations: Option<[Vec<PayerRef>; 2]>,
}

/// An assessment as a system's export lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AssessmentRow {
    pub assessment: u64,
    pub payer: PayerId,
    pub total_fen: i64,
    pub used: bool,
    pub origin: Option<u64>,
}

/// What the model holds for one idempotency key (for reconciliation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PaymentInfo {
    pub payment: u64,
    pub payer: PayerId,
    pub items: Items,
}

pub struct Model {
    rules: Arc<Rules>,
    assessments: Vec<Assessment>,
    /// The payments in the order taken, found by key and by payer.
    payments: Payments,
    ledger: LedgerTable,
    /// The part of `ledger` that came by migration.
    migrated: LedgerTable,
    /// Migrated assessments by the old system's id.
    assessment_by_origin: FastMap<u64, u64>,
    /// Migration batches taken in, by batch key: what each wrote.
    import_batches: BTreeMap<String, ImportAnswer>,
    /// The payers registered here, in the order they were registered (one each).
    registrations: Vec<PayerRef>,
    /// The payers in `registrations`.
    registered: crate::hash::FastSet<PayerId>,
    leagues: usize,
    certificates: u64,
    policy: Policy,
    /// Fault injection for tests of auditors: accept payments on closed channels.
    ignore_closures: bool,
}

/// Whether two payments charge one insurance type twice for a month.
fn same_fee(a: &Items, pa: &Period, b: &Items, pb: &Period) -> bool {
    pa.overlaps(pb) && a.iter().zip(b).any(|(x, y)| *x != 0 && *y != 0)
}

fn fingerprint(payer: PayerId, items: &Items, special: bool, assessment: Option<u64>) -> u64 {
    // FNV-1a over the body's fields; stable across runs and platforms.
    let mut h = Fnv1a::new();
    h.u64(payer as u64);
    for a in items {
        h.u64(*a as u64);
    }
    h.u64(special as u64);
    h.u64(assessment.map(|a| a.wrapping_add(1)).unwrap_or(0));
    h.finish()
}

impl Model {
    /// The one system of a scenario without a `cutover` section: a look-up before the record
    /// shows answers "no record", without the instant, as a real system does.
    pub fn new(rules: Arc<Rules>) -> Model {
        Model::with_policy(rules, Policy { hide_visible_at: true, ..Policy::default() })
    }

    /// A model of one system of a cutover.
    pub(crate) fn with_policy(rules: Arc<Rules>, policy: Policy) -> Model {
        let leagues = rules.leagues();
        Model {
            rules,
            assessments: Vec::new(),
            payments: Payments::default(),
            ledger: LedgerTable::with_leagues(leagues),
            migrated: LedgerTable::with_leagues(leagues),
            assessment_by_origin: FastMap::default(),
            import_batches: BTreeMap::new(),
            registrations: Vec::new(),
            registered: Default::default(),
            leagues,
            certificates: 0,
            policy,
            ignore_closures: false,
        }
    }

    /// The 0-based index of one of this model's own ids (payments or assessments), if it
    /// is one (an id it never gave, text or another system's number, is none).
    fn own_index(&self, id: &TargetId) -> Option<usize> {
        id.num()?.checked_sub(self.policy.id_base + 1).map(|i| i as usize)
    }

    fn id_of(&self, index: usize) -> u64 {
        self.policy.id_base + index as u64 + 1
    }

    /// The assessment an id names: one of this model's own, or one migrated under the old
    /// system's id.
    fn assessment_index(&self, id: &TargetId) -> Option<usize> {
        match self.own_index(id).filter(|i| *i < self.assessments.len()) {
            Some(i) => Some(i),
            None => self.assessment_by_origin.get(&id.num()?).map(|i| *i as usize),
        }
    }

    /// The payment of `payer` an id names: one of this model's own, or one migrated under
    /// the old system's id (found among the payer's few payments).
    fn payment_index(&self, payer: PayerId, id: &TargetId) -> Option<usize> {
        if let Some(i) = self.own_index(id).filter(|i| *i < self.payments.len()) {
            return Some(i);
        }
        let origin = id.num()?;
        let mut p = self.payments.latest(payer)?;
        while p != 0 {
            let r = &self.payments[(p - 1) as usize];
            if self.payments.origin(r) == origin {
                return Some((p - 1) as usize);
            }
            p = r.previous as u64;
        }
        None
    }

    /// Whether the right answer to `req` at `t` is a refusal as suspended (the system's
    /// window, then the timeline's closures; faults aside).
    pub(crate) fn refuses_at(&self, req: &Request, t: SimTime) -> bool {
        let p = req.payer();
        let window = self.policy.stops.is_some_and(|s| t >= s) || self.policy.opens.is_some_and(|o| t < o);
        window || self.rules.is_closed(req.channel(), p.group, p.league, t)
    }

    /// The first instant at or after `t` at which `req` is not refused as suspended (none
    /// within the timeline, or the system stopped by then).
    pub(crate) fn open_from(&self, req: &Request, t: SimTime) -> Option<SimTime> {
        let p = req.payer();
        let from = self.policy.opens.map_or(t, |o| t.max(o));
        let at = match self.rules.closure(req.channel(), p.group, p.league, from) {
            None => from,
            Some(reopens) => reopens?,
        };
        self.policy.stops.is_none_or(|s| at < s).then_some(at)
    }

    /// Whether this system refuses everything at `now` (not yet open, or stopped), and the
    /// instant it names.
    fn window_closed(&self, now: SimTime, req: &Request) -> Option<Option<SimTime>> {
        if let Some(stops) = self.policy.stops
            && now >= stops
            && !(self.policy.accept_after_stop && matches!(req, Request::Pay { .. }))
        {
            return Some(self.policy.resume_after_stop);
        }
        let opens = self.policy.opens?;
        if now >= opens {
            return None;
        }
        let p = req.payer();
        Some(self.rules.closure(req.channel(), p.group, p.league, opens).unwrap_or(Some(opens)))
    }

    /// This system keeps real time and knows nothing of the rehearsal's timeline: it never
    /// opens or stops by the scenario's instants (its rules should be
    /// [`Rules::keeping_real_time`]; its maintenance switch alone closes channels).
    pub(crate) fn keep_real_time(&mut self) {
        self.policy.opens = None;
        self.policy.stops = None;
        self.policy.resume_after_stop = None;
    }

    /// Make this model deliberately wrong: it accepts payments while suspended. Only for
    /// rehearsing the auditor (`cutover serve --fault accept-while-suspended`).
    pub(crate) fn set_fault_accept_while_suspended(&mut self, on: bool) {
        self.ignore_closures = on;
    }

    /// Make room for about `payments` payments up front (the live driver knows how many
    /// payers it has): growing the maps by doubling showed as rehashing and page faults.
    pub(crate) fn reserve(&mut self, payments: usize) {
        self.payments.reserve(payments);
    }

    /// Ask the processor for the index slots that deciding `req` reads first (a hint, given
    /// while the request is still in service: the engine does, through its target).
    pub(crate) fn prefetch(&self, req: &Request) {
        match req {
            Request::Pay { key, payer, .. } => self.payments.prefetch(Some(key), payer.id),
            Request::Lookup { payer, .. } | Request::Certificate { payer, .. } => self.payments.prefetch(None, payer.id),
            Request::Assess { .. } | Request::Call { .. } => {}
        }
    }

    /// The payment stored under an idempotency key, if any.
    pub(crate) fn payment_by_key(&self, key: IdemKey) -> Option<PaymentInfo> {
        let payment = self.payments.by_key(&key)?;
        let rec = self.payments.get((payment - 1) as usize)?;
        Some(PaymentInfo { payment: self.id_of((payment - 1) as usize), payer: rec.payer.id, items: *self.payments.items(rec) })
    }

    /// Note that another system calls payment `payment` (this model's id) `external`.
    pub(crate) fn set_external_id(&mut self, payment: &TargetId, external: &TargetId) {
        if let Some(i) = self.own_index(payment) {
            self.payments.set_external(i + 1, external.digest());
        }
    }

    /// This model's id of the payment of `payer` that another system calls `external`.
    pub(crate) fn by_external_id(&self, payer: PayerId, external: &TargetId) -> Option<u64> {
        let digest = external.digest();
        let mut id = self.payments.latest(payer)?;
        while id != 0 {
            let r = &self.payments[(id - 1) as usize];
            if self.payments.external(r) == digest {
                return Some(self.id_of((id - 1) as usize));
            }
            id = r.previous as u64;
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
            return Response::Invalid { reason: InvalidReason::UnknownLeague };
        }
        if (req.channel() as usize) >= self.rules.channels() {
            return Response::Invalid { reason: InvalidReason::UnknownChannel };
        }
        if let Some(resume_at) = self.window_closed(now, req) {
            return Response::Suspended { resume_at };
        }
        if self.policy.requires_registration
            && matches!(req, Request::Pay { .. } | Request::Assess { .. })
            && !self.registered.contains(&payer.id)
        {
            return Response::NotRegistered;
        }
        if let Request::Call { .. } = req {
            return Response::Invalid { reason: InvalidReason::HotlineCall };
        }
        let faulty = (self.ignore_closures || self.policy.accept_after_stop) && matches!(req, Request::Pay { .. });
        if let Some(resume_at) = self.rules.closure(req.channel(), payer.group, payer.league, now)
            && !faulty
        {
            return Response::Suspended { resume_at };
        }
        match req {
            Request::Assess { payer, items, .. } => {
                if items.iter().any(|a| *a > crate::vocabulary::MAX_ITEM_FEN) {
                    return Response::Invalid { reason: InvalidReason::AmountTooLarge };
                }
                let total: i64 = items.iter().sum();
                if total <= 0 || items.iter().any(|a| *a < 0) {
                    return Response::Invalid { reason: InvalidReason::AssessedNotPositive };
                }
                self.assessments.push(Assessment { payer: payer.id, total_fen: total, used: false, origin: 0 });
                Response::Assessed { assessment: TargetId::Num(self.id_of(self.assessments.len() - 1)) }
            }
            Request::Pay { key, payer, channel, items, period, special, assessment } => {
                self.pay(now, *key, *payer, *channel, items, *period, *special, assessment.as_ref())
            }
            Request::Lookup { payer, .. } => match self.payments.latest(payer.id) {
                None => Response::NoRecord,
                Some(latest) => {
                    // Count the visible payments, newest first; bounded by the payer's payments.
                    let mut visible = 0u32;
                    let mut newest_visible = None;
                    let mut earliest_hidden: Option<SimTime> = None;
                    let mut id = latest;
                    while id != 0 {
                        let rec = &self.payments[(id - 1) as usize];
                        if rec.visible_at <= now {
                            visible += 1;
                            newest_visible.get_or_insert(id);
                        } else {
                            earliest_hidden = Some(earliest_hidden.map_or(rec.visible_at, |e: SimTime| e.min(rec.visible_at)));
                        }
                        id = rec.previous as u64;
                    }
                    match (visible, earliest_hidden, newest_visible) {
                        (0, Some(_), _) if self.policy.hide_visible_at => Response::NoRecord,
                        (0, Some(at), _) => Response::NotYetVisible { visible_at: at },
                        (_, _, Some(newest)) => {
                            Response::Records { payments: visible, latest: Some(TargetId::Num(self.id_of((newest - 1) as usize))) }
                        }
                        _ => Response::NoRecord,
                    }
                }
            },
            Request::Certificate { payer, payment, .. } => {
                let Some(rec) = self.payment_index(payer.id, payment).map(|i| &self.payments[i]) else {
                    return Response::NoRecord;
                };
                if rec.payer.id != payer.id {
                    return Response::NoRecord;
                }
                if rec.visible_at > now {
                    return if self.policy.hide_visible_at {
                        Response::NoRecord
                    } else {
                        Response::NotYetVisible { visible_at: rec.visible_at }
                    };
                }
                self.certificates += 1;
                Response::Certificate { certificate: TargetId::Num(self.policy.id_base + self.certificates) }
            }
            // Answered above.
            Request::Call { .. } => Response::Invalid { reason: InvalidReason::HotlineCall },
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pay(
        &mut self,
        now: SimTime,
        key: IdemKey,
        payer: PayerRef,
        channel: ChannelIdx,
        items: &Items,
        period: Period,
        special: bool,
        assessment: Option<&TargetId>,
    ) -> Response {
        // Bounded first, so that the sum below cannot wrap.
        if items.iter().any(|a| *a > crate::vocabulary::MAX_ITEM_FEN) {
            return Response::Invalid { reason: InvalidReason::AmountTooLarge };
        }
        if items.iter().any(|a| *a < 0) || items.iter().sum::<i64>() <= 0 {
            return Response::Invalid { reason: InvalidReason::AmountNotPositive };
        }
        let assessment_index = assessment.map(|a| self.assessment_index(a));
        let fp = fingerprint(payer.id, items, special, assessment.map(|a| a.num().unwrap_or(u64::MAX)));
        if let Some(payment) = self.payments.by_key(&key) {
            let rec = &self.payments[(payment - 1) as usize];
            let expired = self.policy.key_ttl_micros.is_some_and(|ttl| now.micros_since(rec.accepted_at) > ttl);
            if !expired {
                let id = TargetId::Num(self.id_of((payment - 1) as usize));
                return if rec.fingerprint == fp { Response::Accepted { payment: id, replayed: true } } else { Response::Conflict };
            }
        }
        if self.policy.business_dedup && self.already_paid(payer.id, items, &period) {
            return Response::AlreadyPaid { refunded: self.policy.refund_duplicates };
        }
        let total: i64 = items.iter().sum();
        // A special payment, and a unit's where the scenario has units assessed, only against
        // an unused assessment of this payer, for its amount.
        if special || assessment.is_some() || (payer.group == GroupKind::Unit && self.rules.units_assessed) {
            match assessment_index.flatten().and_then(|i| self.assessments.get_mut(i)) {
                Some(a) if a.payer == payer.id && a.total_fen == total && !a.used => a.used = true,
                _ => return Response::AssessmentRequired,
            }
        }
        let visible_at = self.rules.record_visible_at(now);
        let index = self.payments.push(
            PaymentRecord {
                payer,
                channel,
                period,
                key,
                accepted_at: now,
                visible_at,
                previous: 0,
                extra: 0,
                fingerprint: fp,
                items: *items,
            },
            0,
        );
        self.book(payer, items, false);
        Response::Accepted { payment: TargetId::Num(self.id_of(index as usize - 1)), replayed: false }
    }

    /// Whether one of the payer's payments (made here or migrated) already charged one of
    /// these insurance types for a month of `period`.
    fn already_paid(&self, payer: PayerId, items: &Items, period: &Period) -> bool {
        let mut p = self.payments.latest(payer).unwrap_or(0);
        while p != 0 {
            let r = &self.payments[(p - 1) as usize];
            if same_fee(self.payments.items(r), &r.period, items, period) {
                return true;
            }
            p = r.previous as u64;
        }
        false
    }

    fn book(&mut self, payer: PayerRef, items: &Items, migrated: bool) {
        self.ledger.book(payer.league, payer.group, items);
        if migrated {
            self.migrated.book(payer.league, payer.group, items);
        }
    }

    /// The ledger's cells counting only the payments taken here (not migrated), non-empty
    /// cells in key order: what this system's payers paid it.
    pub(crate) fn native_ledger(&self) -> BTreeMap<LedgerKey, LedgerCell> {
        let mut out = self.ledger();
        for (k, cell) in out.iter_mut() {
            let m = self.migrated.get(*k);
            cell.count -= m.count;
            cell.sum_fen = cell.sum_fen.saturating_sub(m.sum_fen);
        }
        out.retain(|_, c| c.count > 0);
        out
    }

    /// Ledger totals, non-empty cells only, in key order.
    pub(crate) fn ledger(&self) -> BTreeMap<LedgerKey, LedgerCell> {
        self.ledger.cells()
    }

    #[cfg(test)]
    pub(crate) fn payments_accepted(&self) -> u64 {
        self.payments.len() as u64
    }
}

#[cfg(test)]
mod tests;
