//! The file format of a scenario's `cutover` section: the two systems, the migration, the
//! answers payers lose on the way, the rollback.

use super::{Dist, Gate, Source, star};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The cutover itself: the old system that stops, the new one that opens, the migration
/// between them, and the answers payers lose on the way.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cutover {
    /// The system that takes payments until it stops (`stops` required).
    pub old: SystemDef,
    /// The system that opens (`opens` required) and takes over.
    pub new: SystemDef,
    /// The old system's payments and open assessments copied into the new one.
    #[serde(default)]
    pub migration: Option<MigrationDef>,
    /// Chance that a payer never gets the answer, by channel and phase; the first entry that
    /// matches a request applies.
    #[serde(default)]
    pub lost_answers: Vec<LostAnswers>,
    /// What a payer does after losing the answer to a payment (relative weights).
    #[serde(default)]
    pub after_lost_answer: AfterLostAnswer,
    /// How long after losing the answer the payer acts, in seconds.
    #[serde(default = "lost_answer_delay")]
    pub lost_answer_delay_seconds: Dist,
    /// Share of a batch's members who, their debit refused as suspended, pay the missed
    /// month by hand after reopening (the next run then debits that month again too).
    #[serde(default)]
    pub withheld_pay_by_hand_share: f64,
    /// A rollback rehearsal: the new system fails at reopening and the runbook suspends
    /// payment again (a phase of the timeline, with its hooks).
    #[serde(default)]
    pub rollback: Option<RollbackDef>,
    pub source: Source,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackDef {
    /// The phase that suspends payment again (after the new system opens); its hooks are the
    /// runbook's re-suspension, and the phase after it the retry.
    pub phase: String,
    /// Why (the gate that failed at reopening), for the report.
    #[serde(default)]
    pub reason: String,
    /// The go / no-go gates of the reopening: evaluated `decide_minutes_before` the phase
    /// starts, over what the payers were answered since the new system opened; the rollback
    /// happens only if one fails (else the phase keeps the channels the phase before it
    /// had, and its hooks do not run). Empty: the rollback always happens.
    #[serde(default)]
    pub when: Vec<Gate>,
    /// How long before the phase the gates are evaluated (virtual minutes): the runbook's
    /// time to re-suspend payment.
    #[serde(default = "decide_minutes")]
    pub decide_minutes_before: f64,
}

fn decide_minutes() -> f64 {
    60.0
}

fn lost_answer_delay() -> Dist {
    Dist::Exponential { mean: 3600.0 }
}

/// One system of the cutover.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemDef {
    /// Name in reports ("old", "new").
    pub name: String,
    /// It takes requests from this instant (RFC 3339); absent: from the timeline's start.
    #[serde(default)]
    pub opens: Option<String>,
    /// It stops at this instant: everything is refused from then on; absent: never.
    #[serde(default)]
    pub stops: Option<String>,
    /// Channel ids that belong to this system; empty: every channel.
    #[serde(default)]
    pub channels: Vec<String>,
    /// A second payment for the same payer, insurance type and period under another key.
    #[serde(default)]
    pub duplicate_payments: DuplicatePayments,
    /// What a look-up answers before the record is visible.
    #[serde(default)]
    pub lookup_before_visible: LookupBeforeVisible,
    /// Hours an idempotency key is kept after its payment; absent: for ever.
    #[serde(default)]
    pub idempotency_hours: Option<f64>,
    /// The ids this system gives start above this number (distinct id spaces).
    #[serde(default)]
    pub id_base: u64,
    /// Take payments and assessments only from payers registered in this system (answering
    /// `not_registered` to the others). The old system holds the registrations of every
    /// payer of the rehearsal; the new one holds those the migration brought.
    #[serde(default)]
    pub registered_payers_only: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePayments {
    /// Refused with `already_paid`.
    #[default]
    Refuse,
    /// Taken and paid back at once: answered `already_paid` with `refunded: true`, nothing kept.
    Refund,
    /// Only the idempotency key is checked: accepted (a double charge).
    KeysOnly,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LookupBeforeVisible {
    /// `not_yet_visible` with the instant the record appears.
    VisibleAt,
    /// `no_record`, without saying when (what a real system usually answers).
    #[default]
    NoRecord,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationDef {
    /// When the migration runs (during the suspension), RFC 3339.
    pub at: String,
    /// Payments copied per batch.
    #[serde(default = "migration_batch")]
    pub batch_size: u32,
}

fn migration_batch() -> u32 {
    500
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LostAnswers {
    /// Channel id or "*".
    #[serde(default = "star")]
    pub channel: String,
    /// Phase name or "*".
    #[serde(default = "star")]
    pub phase: String,
    /// Chance that an answer on this channel in this phase never reaches the payer.
    pub probability: f64,
}

/// Relative weights of what a payer does after losing the answer to a payment.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AfterLostAnswer {
    /// Ask again later with the same key, on the same channel.
    pub same_key: f64,
    /// Start a new order (a new key) on the same channel.
    pub new_order: f64,
    /// Start a new order on another open channel.
    pub switch_channel: f64,
    /// Look the record up first; pay again (a new order) only if there is none.
    pub lookup_first: f64,
}

impl Default for AfterLostAnswer {
    fn default() -> Self {
        AfterLostAnswer { same_key: 0.4, new_order: 0.2, switch_channel: 0.1, lookup_first: 0.3 }
    }
}
