//! The `cutover` section of `report.json`: what the cutover's checks found, each wrong
//! payment or registration listed by name.

use crate::model::migration::MigrationTotals;
use crate::population::PayerId;
use crate::report::data::listed::Listed;
use crate::scenario::{GroupKind, Insurance};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct CutoverReport {
    pub systems: Vec<SystemReport>,
    pub in_flight_at_stops: Vec<StopReport>,
    pub lost_answers: LostAnswersReport,
    pub migration: MigrationReport,
    pub registrations: RegistrationsReport,
    pub acknowledged_after_stop: Listed<PaymentRef>,
    pub double_charges: DoubleCharges,
    /// Payments the systems refused as already paid (each a double charge a system checking
    /// keys only would have taken).
    pub refused_already_paid: u64,
    /// Of them, taken and paid back at once (`duplicate_payments: refund`), and their sum.
    pub refunded: u64,
    pub refunded_fen: i64,
    pub lost_at_boundary: Listed<LostPayment>,
    pub records_after_migration: RecordsAfterMigration,
    /// The rollback rehearsal, if the scenario has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackReport>,
    /// Why the systems' books could not be read (then no check ran).
    pub read_error: Option<String>,
    /// The migration's instant, which the run ended before: the migration's and the
    /// registrations' checks did not run (nothing is missing from the new system yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_reached: Option<String>,
    /// Every payment the checks found wrong, named (the lists above keep their first 1,000).
    #[serde(skip)]
    #[schemars(skip)]
    pub wrong: Vec<WrongPayment>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct SystemReport {
    pub name: String,
    pub opens: Option<String>,
    pub stops: Option<String>,
    /// Payments taken by this system itself.
    pub payments: u64,
    pub payments_fen: i64,
    /// Payments it holds by migration.
    pub migrated_payments: u64,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct StopReport {
    pub at: String,
    pub what: String,
    /// The phase that starts at this stop, if one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The system that stops here, if one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Requests on a stopping channel started before the instant and answered after it.
    pub in_flight: u64,
    pub accepted: u64,
    pub refused_suspended: u64,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LostAnswersReport {
    pub total: u64,
    /// Lost answers that were acceptances: money taken, payer not told.
    pub acceptances: u64,
    pub by_channel: BTreeMap<String, u64>,
    /// Payments started again as a new order (a new key).
    pub new_orders: u64,
}

/// One payment as the report names it.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct PaymentRef {
    pub system: String,
    pub payment_id: u64,
    pub key: String,
    pub payer_id: u32,
    pub group: GroupKind,
    pub league: String,
    pub channel: String,
    pub period: String,
    pub items_fen: ItemsFen,
    pub accepted_at: String,
    /// The old system's id, for a migrated copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<u64>,
}

/// A field in which a copy differs from its original (a payment or a registration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Payer,
    Group,
    League,
    Items,
    Period,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Payer => "payer",
            Field::Group => "group",
            Field::League => "league",
            Field::Items => "items",
            Field::Period => "period",
        }
    }
}

/// A payment's amount for each insurance type, in fen (indexed as `Insurance::ALL`); written
/// as an object of the types not zero, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemsFen(pub [i64; 6]);

impl ItemsFen {
    /// The types not zero, by name.
    pub fn by_name(&self) -> Vec<(Insurance, i64)> {
        let mut v: Vec<(Insurance, i64)> = Insurance::ALL.iter().map(|i| (*i, self.0[i.index()])).filter(|(_, f)| *f != 0).collect();
        v.sort_by_key(|(i, _)| i.as_str());
        v
    }

    pub fn total(&self) -> i64 {
        self.0.iter().sum()
    }
}

impl Serialize for ItemsFen {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let items = self.by_name();
        let mut m = s.serialize_map(Some(items.len()))?;
        for (i, f) in items {
            m.serialize_entry(i.as_str(), &f)?;
        }
        m.end()
    }
}

impl schemars::JsonSchema for ItemsFen {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ItemsFen".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<String, i64>>::json_schema(g)
    }
}

#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct MigrationReport {
    pub ran: bool,
    pub at: Option<String>,
    /// What the migration step said it did (in process; a live run's migration is a hook,
    /// whose own output says it).
    #[serde(flatten)]
    pub totals: Option<MigrationTotals>,
    /// Old payments checked (all of them).
    pub checked: u64,
    /// Old payments the new system does not hold.
    pub missing: u64,
    /// Extra copies of old payments in the new system.
    pub duplicated: u64,
    /// Copies whose payer, league, amounts or period differ from the old payment.
    pub differing: u64,
    /// Copies naming an old payment the old system does not have.
    pub unknown_origin: u64,
    pub mismatched_cells: u64,
    /// Cells where the copies' count or sum differs from the old system's.
    pub cells: Vec<MigrationCell>,
    /// Each payment the migration got wrong.
    pub differences: Listed<MigrationDifference>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct MigrationCell {
    pub league: String,
    pub group: GroupKind,
    pub insurance: Insurance,
    pub old_count: u64,
    pub old_fen: i64,
    pub migrated_count: u64,
    pub migrated_fen: i64,
}

/// What the migration got wrong about one payment.
/// (Variants in the order of their names: lists sort by them as they did by the text.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MigrationProblem {
    /// The copy differs in payer, group, league, items or period.
    Differs,
    /// The new system holds more than one copy.
    Duplicated,
    /// The old system took it; the new one holds no copy.
    Missing,
    /// The new system holds a copy of a payment the old one never took.
    UnknownOrigin,
}

impl MigrationProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationProblem::Missing => "missing",
            MigrationProblem::Duplicated => "duplicated",
            MigrationProblem::Differs => "differs",
            MigrationProblem::UnknownOrigin => "unknown_origin",
        }
    }
    /// Its name in the Chinese reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            MigrationProblem::Missing => "缺失",
            MigrationProblem::Duplicated => "重复",
            MigrationProblem::Differs => "不符",
            MigrationProblem::UnknownOrigin => "来源不明",
        }
    }
}

/// Why an acknowledged payment counts as lost at the boundary.
/// (Variants in the order of their names: lists sort by them as they did by the text.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LostReason {
    /// Acknowledged to the payer; no system holds its key.
    InNoLedger,
    /// The old system took it; the new one does not hold it.
    NotMigrated,
}

impl LostReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LostReason::NotMigrated => "not_migrated",
            LostReason::InNoLedger => "in_no_ledger",
        }
    }
    /// Its name in the Chinese reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            LostReason::NotMigrated => "未迁移",
            LostReason::InNoLedger => "不在任何账本",
        }
    }
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct MigrationDifference {
    /// "missing", "duplicated", "differs" or "unknown_origin".
    pub problem: MigrationProblem,
    /// The fields that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    pub old: Option<PaymentRef>,
    pub new: Option<PaymentRef>,
}

#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct DoubleCharges {
    /// Payments that charged a payer's insurance type for a month already paid.
    pub count: u64,
    /// By the channel of the second payment.
    pub by_channel: BTreeMap<String, u64>,
    pub listed: Vec<DoubleCharge>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct DoubleCharge {
    pub payer_id: u32,
    pub insurance: Vec<Insurance>,
    pub first: PaymentRef,
    pub second: PaymentRef,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LostPayment {
    /// "not_migrated" (the old system took it; the new one does not hold it) or
    /// "in_no_ledger" (acknowledged to the payer; no system holds its key).
    pub reason: LostReason,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentRef>,
}

/// What the new system took between its opening and the rollback, and what the rollback
/// refused; the ledger and the checks cover it like everything else.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct RollbackReport {
    pub phase: String,
    pub reason: String,
    pub at: String,
    /// Whether payment was suspended again (a conditional rollback: a gate failed).
    pub rolled_back: bool,
    /// The reopening's gates as evaluated, for a conditional rollback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<crate::report::RollbackDecision>,
    /// When payment resumes (the next phase that opens a channel), if within the timeline.
    pub resumed_at: Option<String>,
    /// Payments the new system took between its opening and the rollback: the money a
    /// rollback must keep.
    pub accepted_before: u64,
    pub accepted_before_fen: i64,
    /// Requests refused as suspended during the rollback's phase, on the channels it closes
    /// (not those closed before it).
    pub refused_during: u64,
    /// Payments taken during the rollback's phase (must be 0).
    pub accepted_during: u64,
}

#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct RecordsAfterMigration {
    pub old_payments: u64,
    /// Found among the payer's records in the new system, visible within the timeline.
    pub found: u64,
    pub missing: u64,
}

#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct RegistrationsReport {
    /// Both systems' registrations were read (a deployment reached through a profile, or
    /// `cutover reconcile` without registration files: not, and nothing below is checked).
    pub checked: bool,
    pub old: u64,
    pub new: u64,
    /// Old registrations the new system does not hold.
    pub missing: u64,
    /// Held with another group or league.
    pub differing: u64,
    /// New registrations of payers the old system never registered.
    pub unknown: u64,
    pub differences: Listed<RegistrationDifference>,
    /// Payments and assessments the systems refused because the payer is not registered,
    /// by channel: what missing registrations cost the payers.
    pub refused_not_registered: u64,
    pub refused_by_channel: BTreeMap<String, u64>,
}

impl RegistrationsReport {
    /// Registrations the migration got wrong: missing, differing or unknown.
    pub fn mismatched(&self) -> u64 {
        self.missing + self.differing + self.unknown
    }
}

/// What is wrong with one payer's registration after the migration.
/// (Variants in the order of their names: lists sort by them as they did by the text.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationProblem {
    /// The new system holds it with another group or league.
    Differs,
    /// The old system held it; the new one does not.
    Missing,
    /// The new system holds a registration the old one never had.
    Unknown,
}

impl RegistrationProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationProblem::Missing => "missing",
            RegistrationProblem::Differs => "differs",
            RegistrationProblem::Unknown => "unknown",
        }
    }
    /// Its name in the Chinese reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            RegistrationProblem::Missing => "缺失",
            RegistrationProblem::Differs => "不符",
            RegistrationProblem::Unknown => "旧系统中没有",
        }
    }
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct RegistrationDifference {
    /// "missing", "differs" or "unknown".
    pub problem: RegistrationProblem,
    pub payer_id: PayerId,
    /// The fields that differ (`group`, `league`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    pub old: Option<RegistrationRef>,
    pub new: Option<RegistrationRef>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct RegistrationRef {
    pub group: GroupKind,
    pub league: String,
}

// Every payment that went wrong, named: what `wrong-payments.jsonl` holds, a line each, and
// the report's count of them by kind with the first few (one-system runs' lost payments too).

/// How a payment went wrong. (Variants in the order of their names.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WrongKind {
    /// The old system acknowledged it after its stop.
    AcknowledgedAfterStop,
    /// It charged a payer's insurance type for a month an earlier payment already charged.
    DoubleCharged,
    /// The new system holds more than one copy of it.
    Duplicate,
    /// Acknowledged to the payer; no system holds it.
    Lost,
    /// Its copy in the new system differs from it (payer, group, league, items or period).
    Misbooked,
    /// The new system holds a copy of a payment the old one never took.
    Phantom,
    /// The old system took it; the new one holds no copy.
    Unmigrated,
}

impl WrongKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WrongKind::AcknowledgedAfterStop => "acknowledged_after_stop",
            WrongKind::DoubleCharged => "double_charged",
            WrongKind::Duplicate => "duplicate",
            WrongKind::Lost => "lost",
            WrongKind::Misbooked => "misbooked",
            WrongKind::Phantom => "phantom",
            WrongKind::Unmigrated => "unmigrated",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            WrongKind::AcknowledgedAfterStop => "停机后仍确认",
            WrongKind::DoubleCharged => "重复扣费",
            WrongKind::Duplicate => "重复副本",
            WrongKind::Lost => "丢失",
            WrongKind::Misbooked => "记账有误",
            WrongKind::Phantom => "凭空出现",
            WrongKind::Unmigrated => "未迁移",
        }
    }
}

/// One payment that went wrong: what is known of it (a payment lost in no ledger is known
/// only by its key and, in a live run, by the journal's line).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WrongPayment {
    pub kind: WrongKind,
    pub key: String,
    /// The system that holds it (or acknowledged it, for a lost one).
    pub system: Option<String>,
    pub payment_id: Option<String>,
    pub payer_id: Option<u32>,
    pub group: Option<GroupKind>,
    pub league: Option<String>,
    pub channel: Option<String>,
    pub period: Option<String>,
    /// Per insurance type, and their sum.
    pub items_fen: Option<ItemsFen>,
    pub amount_fen: Option<i64>,
    pub accepted_at: Option<String>,
    /// What else names it: the fields a copy differs in, the payment charged first, the
    /// original of a duplicate or a misbooked copy.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Rows the report keeps (the file holds all).
pub const WRONG_SHOWN: usize = 20;

/// The wrong payments: counted by kind, the first few in report.json, every one in the file.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct WrongPayments {
    /// Every wrong payment, named in `file` (a line each): the counts equal its lines.
    pub count: u64,
    pub by_kind: BTreeMap<WrongKind, u64>,
    /// `wrong-payments.jsonl` beside report.json.
    pub file: String,
    /// Why the list may be short: what the checks could not look at (books that could not
    /// be read, a migration the run did not reach, keys not looked up one by one). Absent:
    /// everything was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_verified: Option<String>,
    /// The first 20, in the file's order (by kind, then key).
    pub first: Vec<WrongPayment>,
    /// All of them, for the file; never serialised into report.json.
    #[serde(skip)]
    #[schemars(skip)]
    pub all: Vec<WrongPayment>,
}

/// The file beside report.json.
pub const WRONG_FILE: &str = "wrong-payments.jsonl";
