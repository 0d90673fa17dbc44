//! The file format of a scenario's `expectations`: figures the scenario's sources expect,
//! set beside what the run produced in the report's calibration table.

use super::Source;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One figure the scenario expects, with where it comes from.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// What the figure is, in words (a row of the calibration table).
    pub name: String,
    pub metric: ExpectMetric,
    /// Which channels count (payments metrics); default every self-paid channel.
    #[serde(default)]
    pub channels: ChannelSelect,
    /// First and last local date (`YYYY-MM-DD`) of the days counted (`payments_per_day`,
    /// `peak_hour_payments`).
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    /// `burst_ratio`: the instant the burst starts, and how many minutes of it count.
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub minutes: Option<u32>,
    /// `batch_run_debits`: the batch's name and the instant of its run.
    #[serde(default)]
    pub batch: Option<String>,
    #[serde(default)]
    pub run_at: Option<String>,
    /// The expected value.
    pub expected: f64,
    /// How far the run may land from it and still count as calibrated (a factor: 1.5 means
    /// from expected / 1.5 to expected x 1.5).
    #[serde(default = "default_factor")]
    pub within_factor: f64,
    pub source: Source,
    /// Free text: where the figure comes from.
    #[serde(default)]
    pub note: String,
}

fn default_factor() -> f64 {
    1.5
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpectMetric {
    /// Payments accepted a day, averaged over `from`..=`to`.
    PaymentsPerDay,
    /// The most payments accepted in one hour within `from`..=`to`.
    PeakHourPayments,
    /// Self-paid attempts a minute in the first `minutes` after `at`, over their mean a
    /// minute in the 24 hours from `at`.
    BurstRatio,
    /// Debits a batch run had accepted.
    BatchRunDebits,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelSelect {
    /// Every channel but the batches.
    #[default]
    SelfPaid,
    Online,
    Offline,
}
