//! The planner's per-day figures of `report.json`: per local date and channel (offline
//! channels per league too), the backend per day, and the hourly counts by channel.

use crate::scenario::{ChannelKind, Operation};
use crate::time::DayKind;
use serde::Serialize;

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct DayReport {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    pub kind: DayKind,
    pub channels: Vec<ChannelDay>,
    pub backend: BackendDay,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ChannelDay {
    pub channel: String,
    pub kind: ChannelKind,
    #[serde(flatten)]
    pub figures: DayFigures,
    /// Channels with counters or agents: the same per league.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leagues: Vec<LeagueDay>,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LeagueDay {
    pub league: String,
    #[serde(flatten)]
    pub figures: DayFigures,
}

/// One day of one channel. Requests count on the day their answer came; waiting and service
/// at counters on the day the payer reached the queue.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct DayFigures {
    pub attempts: u64,
    pub successes: u64,
    /// Payments accepted.
    pub payments: u64,
    pub refusals: u64,
    pub errors: u64,
    pub turned_away_at_closing: u64,
    /// Hotline: callers who hung up before an agent answered.
    pub abandoned: u64,
    /// Visits at a booked slot (served before walk-ins).
    pub booked_visits: u64,
    /// Payers whose last channel this was and who gave up that day.
    pub gave_up: u64,
    /// Offline channels in `simulate`: payers who reached a counter, waiting for one apart
    /// from the counter's own service (minutes), busy share of the counters' open time, most
    /// people queueing at once.
    pub served_at_counters: Option<u64>,
    pub waiting_min_p50: Option<f64>,
    pub waiting_min_p99: Option<f64>,
    pub service_min_p50: Option<f64>,
    pub service_min_p99: Option<f64>,
    pub counter_utilisation: Option<f64>,
    pub queue_peak: Option<u64>,
}

/// The backend's busy share of its servers over the day and in its busiest hour
/// (`simulate`; 0 for a live run, whose backend is the target's), and the headroom left then.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct BackendDay {
    pub utilisation: f64,
    pub peak_hour_utilisation: f64,
    pub headroom: f64,
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct HourChannelReport {
    pub start: String,
    pub channel: String,
    pub operation: Operation,
    pub attempts: u64,
    pub successes: u64,
}
