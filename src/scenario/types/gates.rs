//! The file format of a scenario's `gates`: what is measured, what it selects, the bound.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateMetric {
    LatencyMsP50,
    LatencyMsP90,
    LatencyMsP99,
    LatencyMsP999,
    ErrorRate,
    AcceptedWhileSuspended,
    LedgerMismatchedCells,
    /// Answers of the target that the auditor found wrong (`cutover run`).
    AuditorDisagreements,
    /// Ledger cells (league x group x insurance) where the migrated payments differ from the
    /// old system's.
    MigrationMismatchedCells,
    /// Payments charged twice: a second accepted payment for a payer, insurance and period.
    DoubleCharges,
    /// Payments acknowledged (or whose money was taken) and in no ledger after the switch.
    LostAtBoundary,
    /// Registrations of the old system missing from the new one, held there with another
    /// group or league, or unknown to the old one.
    RegistrationsMismatched,
    /// Waiting for a counter or an agent, minutes, over the days and channels selected
    /// (`day`, `channel`, `kind`): the median and the 99th percentile of every wait there.
    WaitingMinP50,
    WaitingMinP99,
    /// Payers who gave up on the selected days and channels.
    GaveUp,
    /// Payers still queueing when the counters closed, sent away.
    TurnedAwayAtClosing,
    /// Hotline callers who hung up before an agent answered.
    HungUp,
    /// Most people queueing at once at one channel on one of the selected days.
    QueuePeak,
    /// Hours after the reopening until `share` of the payers the suspension displaced had
    /// paid or given up (never: infinite).
    BacklogClearedHours,
    /// Runbook hooks that failed (`cutover run`; a live run with hooks checks this always).
    HooksFailed,
}

impl GateMetric {
    /// A count that only grows as more answers come (payments accepted while suspended, the
    /// auditor's disagreements): past its bound on part of the answers, the gate is lost
    /// whatever the rest says (`--abort-early`, a merge with a shard missing).
    pub fn only_grows(self) -> bool {
        matches!(self, GateMetric::AcceptedWhileSuspended | GateMetric::AuditorDisagreements)
    }
    /// Measured over days and channels (`day`, `kind` apply), not over phase cells.
    pub fn is_daily(self) -> bool {
        matches!(
            self,
            GateMetric::WaitingMinP50
                | GateMetric::WaitingMinP99
                | GateMetric::GaveUp
                | GateMetric::TurnedAwayAtClosing
                | GateMetric::HungUp
                | GateMetric::QueuePeak
        )
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub metric: GateMetric,
    /// For latency gates: operation ("pay", "assess", "lookup", "certificate") or "*".
    #[serde(default = "star")]
    pub operation: String,
    /// For latency gates: channel id or "*".
    #[serde(default = "star")]
    pub channel: String,
    /// For latency gates: phase name or "*".
    #[serde(default = "star")]
    pub phase: String,
    /// For gates per day (waiting, give-ups, sent away, hung up, queue peak): a local date
    /// YYYY-MM-DD of the timeline, or "*".
    #[serde(default = "star")]
    pub day: String,
    /// For gates per day: the channels of one kind ("online", "offline", "batch",
    /// "hotline") or "*".
    #[serde(default = "star")]
    pub kind: String,
    /// For auditor_disagreements: one kind of disagreement only ("refused_while_open",
    /// "accepted_while_suspended", "answered_while_suspended", "expected_X_got_Y"), or "*".
    #[serde(default = "star")]
    pub disagreement: String,
    /// For backlog_cleared_hours: the share of the displaced payers, 0.9, 0.99 or 1.
    #[serde(default)]
    pub share: Option<f64>,
    /// A gate with nothing measured behind it (no request, no wait, no hook) is "no data"
    /// and fails, unless it may be empty.
    #[serde(default)]
    pub allow_empty: bool,
    /// The run fails when the measured value is greater than this. Required, except for a
    /// backlog_cleared_hours gate given `by`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// For backlog_cleared_hours instead of `max`: the instant (RFC 3339) by which the share
    /// must have cleared ("90 % of the backlog cleared by 2021-05-06T00:00:00+08:00").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

pub(super) fn star() -> String {
    "*".to_string()
}

/// What a request does (also what a gate selects).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Assess,
    Pay,
    Lookup,
    Certificate,
    /// A call to the hotline (served by its agents, never by the system under test).
    Call,
}

impl Operation {
    pub const ALL: [Operation; 5] = [Operation::Assess, Operation::Pay, Operation::Lookup, Operation::Certificate, Operation::Call];
    /// How many there are (cells are kept per operation).
    pub const COUNT: usize = Operation::ALL.len();
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Assess => "assess",
            Operation::Pay => "pay",
            Operation::Lookup => "lookup",
            Operation::Certificate => "certificate",
            Operation::Call => "call",
        }
    }
    /// Its name in the Chinese reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            Operation::Assess => "核定",
            Operation::Pay => "缴费",
            Operation::Lookup => "查询",
            Operation::Certificate => "开具证明",
            Operation::Call => "来电",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.as_str() == name)
    }
}
