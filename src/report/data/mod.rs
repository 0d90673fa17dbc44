//! What `report.json` holds, and nothing else: every type it serialises, each kind, mode,
//! verdict and reason an enum (serde snake_case) with its Chinese label as a method. The
//! checks fill these types; the renderers read them.

pub mod cutover;
pub mod days;
mod kinds;
pub mod labels;
pub mod listed;
pub mod live;
pub mod plan;

pub use kinds::{CheckState, Mode, Verdict};

use crate::scenario::{ChannelKind, GateMetric, GroupKind, Insurance, Operation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts about a run itself (not the target): the cohort keeps those about payers, the
/// host those about its events and queues.
/// Also the report's `engine` section (`payers_active` goes to the summary instead).
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EngineStats {
    pub events: u64,
    #[serde(skip)]
    pub payers_active: u64,
    pub agents: u64,
    pub batch_members: u64,
    pub in_flight_at_end: u64,
    pub pending_at_end: u64,
    pub unserved_at_end: u64,
    pub turned_away_full_hall: u64,
    /// Payers still queueing at counters when they closed, told to come back.
    pub turned_away_at_closing: u64,
    /// Hotline callers who hung up before an agent answered.
    pub hotline_abandoned: u64,
}

/// One run of a batch (bank withholding, proxy payments), as the report shows it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunReport {
    pub at: String,
    pub debits_sent: u64,
    /// An assessed batch: members assessed for what they owe before their debit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub assessed: u64,
    pub accepted: u64,
    pub periods_debited: u64,
    pub refused_suspended: u64,
    pub overloaded: u64,
    pub other_failures: u64,
    pub stopped_as_suspended: bool,
    /// Debits refused as already paid (a month paid by hand meanwhile); each is sent again
    /// for the run's own month only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refused_already_paid: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BatchReport {
    pub name: String,
    pub channel: String,
    pub group: GroupKind,
    pub members: u64,
    pub members_owing_at_end: u64,
    pub runs: Vec<RunReport>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub format_version: u32,
    pub tool: Tool,
    pub mode: Mode,
    /// GO, NO-GO or INCOMPLETE, and why: what the console, the summary, the page, JUnit and
    /// the exit code all say.
    pub verdict: VerdictReport,
    pub scenario: ScenarioInfo,
    pub summary: Summary,
    pub phases: Vec<PhaseInfo>,
    pub cells: Vec<CellReport>,
    pub hourly: Vec<HourReport>,
    pub peak_hour: Option<PeakHour>,
    /// The busiest hour counting only payers' own attempts (batch debits excluded).
    pub peak_hour_self_paid: Option<PeakHour>,
    pub reopening: Reopening,
    pub batches: Vec<BatchReport>,
    pub ledger: LedgerReport,
    pub gates: Vec<GateResult>,
    pub violations: Vec<ViolationReport>,
    pub engine: EngineStats,
    /// Scenarios with two systems only: the cutover's checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutover: Option<cutover::CutoverReport>,
    /// Every payment that went wrong (lost, phantom, duplicate, double-charged, misbooked,
    /// unmigrated, acknowledged after the stop), named in `wrong-payments.jsonl`.
    pub wrong_payments: cutover::WrongPayments,
    /// Scenarios with `dues` only: per group, payments by the due date, by the moved one, late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dues: Option<Vec<plan::GroupDues>>,
    /// Per local date and channel (offline channels per league too): the planner's view.
    pub days: Vec<days::DayReport>,
    /// Attempts and successes per hour, channel and operation (rows with attempts only).
    pub hourly_by_channel: Vec<days::HourChannelReport>,
    /// The scenario's expectations beside the run's figures.
    pub calibration: Vec<plan::CalibrationRow>,
    /// Live runs only (`cutover run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<live::LiveReport>,
    /// The recorder's latency histograms whole, when asked for (`--hlog`): for the interval
    /// logs, never in `report.json`.
    #[serde(skip)]
    #[schemars(skip)]
    pub histograms: Option<Histograms>,
}

/// The run's verdict and every gate or check that did not pass.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct VerdictReport {
    pub verdict: Verdict,
    /// Failed first, then unknown, then not reached; in each, in the order of the report.
    pub reasons: Vec<Reason>,
    /// What the verdict's figures should be read with (the driver's own lateness).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A gate or check that did not pass, or how the run fell short of its end.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Reason {
    /// `gates[index]`.
    Gate {
        index: usize,
        name: String,
        #[serde(flatten)]
        state: CheckState,
    },
    /// The tool's book against the target's ledger.
    Ledger {
        mismatched_cells: u64,
        #[serde(flatten)]
        state: CheckState,
    },
    /// The cutover's checks against both systems' books.
    Cutover {
        payments_wrong: u64,
        #[serde(flatten)]
        state: CheckState,
    },
    /// The load was stopped because the target's answers failed (`--abort-early`): failed.
    Aborted {
        why: String,
        #[serde(flatten)]
        state: CheckState,
    },
    /// The run was stopped (Ctrl-C) `at` an instant before the end of its timeline: not
    /// reached.
    Interrupted {
        at: String,
        #[serde(flatten)]
        state: CheckState,
    },
    /// Shards of a sharded rehearsal whose part is missing (`cutover merge`): unknown.
    ShardsMissing {
        missing: Vec<usize>,
        of: usize,
        #[serde(flatten)]
        state: CheckState,
    },
}

impl Reason {
    pub fn state(&self) -> &CheckState {
        match self {
            Reason::Gate { state, .. }
            | Reason::Ledger { state, .. }
            | Reason::Cutover { state, .. }
            | Reason::Aborted { state, .. }
            | Reason::Interrupted { state, .. }
            | Reason::ShardsMissing { state, .. } => state,
        }
    }
}

/// The latency histograms of every phase, channel and operation with answers, whole.
#[derive(Clone, Debug)]
pub struct Histograms {
    /// The timeline's start, microseconds since the Unix epoch.
    pub start_micros: i64,
    /// The timeline's phases, in order.
    pub phases: Vec<PhaseBounds>,
    /// Channel ids by index.
    pub channels: Vec<String>,
    pub cells: Vec<CellHistograms>,
}

#[derive(Clone, Debug)]
pub struct PhaseBounds {
    pub name: String,
    pub start_micros: i64,
    pub end_micros: i64,
}

#[derive(Clone, Debug)]
pub struct CellHistograms {
    /// Index into [`Histograms::phases`].
    pub phase: usize,
    /// Index into [`Histograms::channels`].
    pub channel: u8,
    pub operation: Operation,
    /// From the scheduled instant (live runs) or the start (simulate), µs.
    pub response_micros: hdrhistogram::Histogram<u64>,
    /// From the actual send (live runs), µs.
    pub service_micros: Option<hdrhistogram::Histogram<u64>>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ScenarioInfo {
    pub name: String,
    pub file: String,
    pub start: String,
    pub end: String,
    pub utc_offset: String,
    /// The scenario's Chinese names (`label_zh`) by identifier, for `--lang zh`.
    #[serde(skip_serializing_if = "labels::LabelsZh::is_empty")]
    pub labels_zh: labels::LabelsZh,
}

/// The fields scripts and CI read; names are part of the format.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub seed: u64,
    pub attempts: u64,
    pub accepted: u64,
    pub rejected_suspended: u64,
    pub accepted_while_suspended: u64,
    pub errors: u64,
    pub ledger_expected_fen: i64,
    pub ledger_actual_fen: i64,
    pub ledger_mismatched_cells: u64,
    pub gates_passed: bool,
    pub successes: u64,
    pub rejected_not_yet_visible: u64,
    pub rejected_unexpected: u64,
    /// Second payments for a period already paid, refused: double charges prevented (a
    /// cutover's new system; absent when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub rejected_already_paid: u64,
    pub error_rate: f64,
    pub payers_active: u64,
    pub gave_up: u64,
    /// Scenarios with two systems only (see the `cutover` section).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration_mismatched_cells: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub double_charges: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_at_boundary: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registrations_mismatched: Option<u64>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct PhaseInfo {
    pub name: String,
    pub start: String,
    pub end: String,
    pub closed_channels: Vec<String>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
    pub mean: f64,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct CellReport {
    pub phase: String,
    pub channel: String,
    pub operation: Operation,
    pub attempts: u64,
    pub successes: u64,
    pub rejected_suspended: u64,
    pub rejected_not_yet_visible: u64,
    pub rejected_unexpected: u64,
    /// Second payments for a period already paid, refused (absent when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub rejected_already_paid: u64,
    pub errors: u64,
    /// Payers still queueing when the counters closed, told to come back (`simulate`).
    pub turned_away: u64,
    /// Hotline callers who hung up before an agent answered (`simulate`).
    pub abandoned: u64,
    /// Response time: from the scheduled instant (live runs) or the start (simulate).
    pub latency_ms: Latency,
    /// Service time from the actual send (live runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_ms: Option<Latency>,
    /// Live runs whose driver was late here (`live.driver_lateness`): the driver's own
    /// lateness at the 99th percentile, ms, which the response times include.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_late_ms_p99: Option<f64>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct HourReport {
    pub hour: usize,
    pub start: String,
    pub phase: String,
    pub attempts: u64,
    pub self_paid_attempts: u64,
    pub successes: u64,
    pub rejections: u64,
    pub errors: u64,
    pub backend_queue_max: u64,
    pub channel_queue_max: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct PeakHour {
    pub start: String,
    pub attempts: u64,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Reopening {
    pub at: Option<String>,
    pub displaced_payers: u64,
    pub backlog_peak: u64,
    pub backlog_peak_at: Option<String>,
    pub backlog_cleared_at: Option<String>,
    pub backlog_90pct_cleared_at: Option<String>,
    pub backlog_99pct_cleared_at: Option<String>,
    pub backlog_at_end: u64,
    pub displaced_gave_up: u64,
    /// The reopening's instant, when the run ended before it: the backlog figures are those
    /// so far, and none of it can have cleared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_reached: Option<String>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LedgerRow {
    pub league: String,
    pub group: GroupKind,
    pub insurance: Insurance,
    pub expected_count: u64,
    pub expected_fen: i64,
    pub actual_count: u64,
    pub actual_fen: i64,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LedgerReport {
    pub expected_fen: i64,
    pub actual_fen: i64,
    pub mismatched_cells: u64,
    pub differences: Vec<LedgerRow>,
    pub cells: Vec<LedgerRow>,
    pub read_error: Option<String>,
}

/// The decision as the report gives it.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct RollbackDecision {
    /// When the gates were evaluated (the scenario's instant).
    pub decided_at: String,
    pub rolled_back: bool,
    pub gates: Vec<GateResult>,
    /// A live run: how much later than the scenario's instant the decision reached the
    /// systems (virtual seconds; payment is suspended from the later instant then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_by_seconds: Option<f64>,
    /// What went wrong telling the systems, or measuring (a live run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct GateResult {
    pub metric: GateMetric,
    pub operation: String,
    pub channel: String,
    pub phase: String,
    /// Gates per day: the date selected (absent: every day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    /// Gates per day: the kind of channel selected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ChannelKind>,
    /// backlog_cleared_hours: the share of the displaced payers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// auditor_disagreements: the one kind counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disagreement: Option<String>,
    /// backlog_cleared_hours given an instant: it; `max` is then the hours from the
    /// reopening to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    pub max: f64,
    pub value: f64,
    /// What was measured behind the value (requests, waits, displaced payers, hooks); absent
    /// for a rollback's decision on the figures so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// Nothing was measured: the gate fails unless it allows being empty.
    pub no_data: bool,
    pub allow_empty: bool,
    pub passed: bool,
    /// Why a value is not what it seems ("never: not cleared by the end ...").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The instant this gate judges, which the run ended before (Ctrl-C, an abort): not
    /// reached, whatever was measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_reached: Option<String>,
}

/// A gate's views of its own fields: where it stands and its one spelling.
impl GateResult {
    /// Where it stands (see [`CheckState`]): an empty gate that allows it passes; one that
    /// does not is unknown.
    pub fn state(&self) -> CheckState {
        if let Some(instant) = &self.not_reached {
            return CheckState::NotReached { instant: instant.clone() };
        }
        match (self.passed, self.no_data) {
            (true, _) => CheckState::Pass,
            (false, true) => CheckState::Unknown { reason: "no data: nothing measured behind this gate".to_string() },
            (false, false) => CheckState::Fail,
        }
    }

    /// The gate's one spelling everywhere (summary, HTML, JUnit, console): the metric as the
    /// scenario names it, what it selects, and its bound.
    pub fn name(&self) -> String {
        use std::fmt::Write;
        let mut name = serde_json::to_value(self.metric).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let day = self.day.clone().unwrap_or_default();
        let kind = self.kind.map(ChannelKind::as_str).unwrap_or_default().to_string();
        let share = self.share.map(|s| s.to_string()).unwrap_or_default();
        let disagreement = self.disagreement.clone().unwrap_or_default();
        for (what, v) in [
            ("operation", &self.operation),
            ("channel", &self.channel),
            ("phase", &self.phase),
            ("day", &day),
            ("kind", &kind),
            ("share", &share),
            ("disagreement", &disagreement),
        ] {
            if v != "*" && !v.is_empty() {
                let _ = write!(name, " {what}={v}");
            }
        }
        match &self.by {
            Some(by) => {
                let _ = write!(name, " by={by}");
            }
            None => {
                let _ = write!(name, " <= {}", self.max);
            }
        }
        name
    }
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ViolationReport {
    pub at: String,
    pub what: String,
}

/// One point of a latency distribution: the value at or below which `percentile` % fall.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Quantile {
    pub percentile: f64,
    pub ms: f64,
}
