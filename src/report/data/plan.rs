//! The planner's tables of `report.json`: payments against their due dates, and the
//! calibration against what the scenario expects.

use crate::scenario::{ExpectMetric, GroupKind, Source};
use serde::Serialize;

/// One group's payments against their due dates.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct GroupDues {
    pub group: GroupKind,
    /// The earliest due date of the group's payments, as published, and where the
    /// suspension moved it.
    pub due: Option<String>,
    pub moved_to: Option<String>,
    /// Regular payments accepted (special payments have assessed dues of their own).
    pub payments: u64,
    pub paid_by_due: u64,
    /// After the published due date but by the moved one.
    pub paid_by_moved_due: u64,
    pub paid_late: u64,
    /// Late fees the late payments owe at `dues.late_fee_daily_rate`, in fen.
    pub late_fee_fen: i64,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct CalibrationRow {
    pub name: String,
    pub metric: ExpectMetric,
    pub expected: f64,
    /// What the run produced; `None` when nothing could be measured (a batch run that never
    /// came, a burst window outside the timeline).
    pub simulated: Option<f64>,
    /// simulated / expected.
    pub ratio: Option<f64>,
    pub within_factor: f64,
    /// The ratio lies within [1 / factor, factor].
    pub within: bool,
    pub source: Source,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}
