//! The file format of a scenario's `dues` section: when each group's regular payment falls
//! due, how close to that day payers pay, where a suspension moves the dues it covers, and
//! what a missed one costs.

use super::{Dist, GroupKind, Source};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// When fees fall due and how payers time their payment against it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dues {
    /// Per group: the due date of its regular payment for a period. A group absent has no
    /// due date that presses in the timeline (its payers come by the day weights alone).
    #[serde(default)]
    pub groups: BTreeMap<GroupKind, DueRule>,
    /// How many days before its due date a payer pays, drawn per payer.
    pub lead_days: Dist,
    /// Dues that fall inside a suspension (a phase with `suspend_all`) move to the end of
    /// this date (`YYYY-MM-DD`, at or after the reopening). Absent: they stay, and are missed.
    #[serde(default)]
    pub suspended_dues_move_to: Option<String>,
    /// Share of the payers the suspension kept from paying who then aim at the moved due
    /// date like any payer; the others come back soon after the reopening
    /// (`behaviour.deferral_delay_days`, or `retry_delay_days` after a refusal).
    #[serde(default = "one")]
    pub displaced_wait_for_due_share: f64,
    /// Late fee per day past the due date, as a fraction of the amount (0.0005: 0.05 % a
    /// day). 0: no late fee.
    #[serde(default)]
    pub late_fee_daily_rate: f64,
    /// With a late fee: how many days after learning it is late (its due date passed before
    /// it could pay) a payer comes. Absent, or without a late fee: `behaviour.deferral_delay_days`.
    #[serde(default)]
    pub late_delay_days: Option<Dist>,
    pub source: Source,
    /// Free text: where the dates come from.
    #[serde(default)]
    pub note: String,
}

/// The due date of a group's payment for a period: a day of the period's first or last month.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DueRule {
    /// Which month of the payer's period the due date falls in.
    #[serde(default)]
    pub month: DueMonth,
    /// The day of that month, 1 to 31 (past the month's end: its last day).
    pub day: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueMonth {
    /// The period's first month (paid in advance).
    #[default]
    First,
    /// The period's last month.
    Last,
}

fn one() -> f64 {
    1.0
}
