//! Reports: aggregation of the recorder into the `report.json` document
//! (described in `reports/README.md`), gate evaluation, and the Markdown
//! summary. Serialization happens only here, at the edge; every list is in a
//! fixed order (phase, channel, operation; hour; league, group, insurance), so
//! the same run gives the same bytes.

pub(crate) mod calibration;
pub(crate) mod cutover;
pub(crate) mod days;
pub(crate) mod dues;
pub mod hlog;
pub mod html;
pub(crate) mod human;
pub mod junit;
mod kinds;
pub mod lang;
pub(crate) mod listed;

pub use kinds::{CheckState, Mode};
pub(crate) mod live;
pub mod markdown;
mod markdown_plan;
pub(crate) mod reconcile;
pub(crate) mod recorder;
pub(crate) mod registrations;
pub(crate) mod rollback;
pub(crate) mod svg;

use crate::model::{LedgerCell, LedgerKey, Outcome};
use crate::scenario::{ChannelKind, GateMetric, GroupKind, Insurance, Operation, Spec};
use crate::time::{MICROS_PER_HOUR, SimTime};
use recorder::Recorder;
use serde::Serialize;
use std::collections::BTreeMap;

pub(crate) const REPORT_FORMAT_VERSION: u32 = 1;

/// The JSON Schema of `report.json` (`reports/report.schema.json` is this, kept in the tree).
pub fn schema() -> serde_json::Value {
    // A derived schema always serializes.
    let schema = schemars::generate::SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<Report>();
    serde_json::to_value(schema).expect("schema serializes")
}

/// The measured figures gates read besides the recorder's cells.
struct GateInputs {
    error_rate: f64,
    attempts: u64,
    mismatched: u64,
    /// None in `simulate`: no auditor ran.
    audit_disagreements: Option<u64>,
    cutover: Option<cutover::CutoverFigures>,
}

/// Every gate of the scenario, measured, with the samples behind each.
fn gate_results(spec: &Spec, rec: &Recorder, m: GateInputs) -> Vec<GateResult> {
    spec.gates
        .iter()
        .map(|g| {
            let run = m.attempts;
            let cut = |f: fn(&cutover::CutoverFigures) -> u64| m.cutover.as_ref().map_or((0.0, 0), |c| (f(c) as f64, run));
            let mut detail = None;
            let mut bound = None;
            let (value, samples) = match g.metric {
                GateMetric::ErrorRate => (m.error_rate, run),
                GateMetric::AcceptedWhileSuspended => (rec.accepted_while_suspended as f64, run),
                GateMetric::LedgerMismatchedCells => (m.mismatched as f64, run),
                // The auditor checks live answers only; simulate has none to check.
                GateMetric::AuditorDisagreements => m.audit_disagreements.map_or((0.0, 0), |n| (n as f64, run)),
                GateMetric::MigrationMismatchedCells => cut(|c| c.migration_mismatched_cells),
                GateMetric::DoubleCharges => cut(|c| c.double_charges),
                GateMetric::LostAtBoundary => cut(|c| c.lost_at_boundary),
                GateMetric::RegistrationsMismatched => cut(|c| c.registrations_mismatched),
                GateMetric::LatencyMsP50 => latency_gate(rec, g, 0.5),
                GateMetric::LatencyMsP90 => latency_gate(rec, g, 0.9),
                GateMetric::LatencyMsP99 => latency_gate(rec, g, 0.99),
                GateMetric::LatencyMsP999 => latency_gate(rec, g, 0.999),
                GateMetric::WaitingMinP50
                | GateMetric::WaitingMinP99
                | GateMetric::GaveUp
                | GateMetric::TurnedAwayAtClosing
                | GateMetric::HungUp
                | GateMetric::QueuePeak => rec.days.gate(spec, g),
                GateMetric::BacklogClearedHours => {
                    let at = if g.share >= 1.0 {
                        rec.backlog_cleared_at
                    } else if g.share >= 0.99 {
                        rec.backlog_99pct_cleared_at
                    } else {
                        rec.backlog_90pct_cleared_at
                    };
                    let hours = |t: SimTime, from: SimTime| (t.micros_since(from) as f64 / MICROS_PER_HOUR as f64 * 100.0).round() / 100.0;
                    // `by` an instant: the bound is the hours from the reopening to it.
                    if let (Some(by), Some(open)) = (g.by, rec.reopen_at) {
                        bound = Some(hours(by, open));
                    }
                    match (rec.reopen_at, at) {
                        (Some(open), Some(t)) => (hours(t, open), rec.displaced_total),
                        (Some(open), None) => {
                            detail = Some(format!(
                                "never: not cleared by the end of the timeline, {} h after the reopening",
                                hours(spec.end, open)
                            ));
                            (hours(spec.end, open), rec.displaced_total)
                        }
                        (None, _) => (0.0, 0),
                    }
                }
                // Hooks run in `cutover run` only; its coordinator measures this gate.
                GateMetric::HooksFailed => (0.0, 0),
            };
            let g = &crate::scenario::GateSpec { max: bound.unwrap_or(g.max), ..g.clone() };
            let mut r = gate_result(spec, g, value, Some(samples));
            if detail.is_some() {
                r.passed = false;
                r.detail = detail;
            }
            r
        })
        .collect()
}

/// A live run's hooks as a check: the scenario's `hooks_failed` gates measured, and with
/// hooks but no such gate one added (`hooks_failed <= 0`), so a failed hook fails the run.
pub(crate) fn hooks_gate(spec: &Spec, report: &mut Report) {
    let Some(live) = &report.live else { return };
    let (ran, failed) = (live.hooks.len() as u64, live.hooks.iter().filter(|h| !h.ok).count() as u64);
    let mut found = false;
    for (g, r) in spec.gates.iter().zip(report.gates.iter_mut()) {
        if g.metric == GateMetric::HooksFailed {
            *r = gate_result(spec, g, failed as f64, Some(ran));
            found = true;
        }
    }
    if !found && ran > 0 {
        let g = crate::scenario::GateSpec {
            metric: GateMetric::HooksFailed,
            operation: None,
            channel: None,
            phase: None,
            day: None,
            kind: None,
            share: 1.0,
            allow_empty: false,
            max: 0.0,
            by: None,
        };
        report.gates.push(gate_result(spec, &g, failed as f64, Some(ran)));
    }
    report.summary.gates_passed = report.gates.iter().all(|g| g.passed);
}

/// A gate measured at `value` with `samples` behind it (None: not judged on data, as a
/// rollback's decision on the figures so far), as the report names it.
pub(crate) fn gate_result(spec: &Spec, g: &crate::scenario::GateSpec, value: f64, samples: Option<u64>) -> GateResult {
    let star = |name: Option<&str>| name.unwrap_or("*").to_string();
    let no_data = samples == Some(0);
    GateResult {
        metric: g.metric,
        operation: star(g.operation.map(|o| o.as_str())),
        channel: star(g.channel.map(|c| spec.channels[c as usize].id.as_str())),
        phase: star(g.phase.map(|p| spec.phases[p].name.as_str())),
        day: g.day.map(|d| spec.calendar.date_of_day(d).format("%Y-%m-%d").to_string()),
        kind: g.kind,
        share: (g.metric == GateMetric::BacklogClearedHours).then_some(g.share),
        by: g.by.map(|t| t.format(spec.calendar.offset)),
        max: g.max,
        value,
        samples,
        no_data,
        allow_empty: g.allow_empty,
        passed: value <= g.max && (!no_data || g.allow_empty),
        detail: None,
    }
}

/// The `q` quantile (ms) of response times over the cells a gate selects, and how many
/// responses there are (0: the value is 0 and means nothing).
fn latency_gate(rec: &Recorder, g: &crate::scenario::GateSpec, q: f64) -> (f64, u64) {
    let mut merged: Option<hdrhistogram::Histogram<u64>> = None;
    for (phase, ch, op, cell) in rec.cells() {
        let ok = g.phase.is_none_or(|p| p == phase) && g.channel.is_none_or(|c| c == ch) && g.operation.is_none_or(|o| o == op);
        if !ok {
            continue;
        }
        match merged.as_mut() {
            None => merged = Some(cell.latency_micros.clone()),
            // Same bounds everywhere, so adding cannot fail.
            Some(m) => {
                let _ = m.add(&cell.latency_micros);
            }
        }
    }
    merged.map(|h| (ms(h.value_at_quantile(q)), h.len())).unwrap_or((0.0, 0))
}

/// Counts about a run itself (not the target): the cohort keeps those about payers, the
/// host those about its events and queues.
/// Also the report's `engine` section (`payers_active` goes to the summary instead).
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
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

impl std::ops::AddAssign<&EngineStats> for EngineStats {
    fn add_assign(&mut self, b: &EngineStats) {
        self.events += b.events;
        self.payers_active += b.payers_active;
        self.agents += b.agents;
        self.batch_members += b.batch_members;
        self.in_flight_at_end += b.in_flight_at_end;
        self.pending_at_end += b.pending_at_end;
        self.unserved_at_end += b.unserved_at_end;
        self.turned_away_full_hall += b.turned_away_full_hall;
        self.turned_away_at_closing += b.turned_away_at_closing;
        self.hotline_abandoned += b.hotline_abandoned;
    }
}

/// One run of a batch (bank withholding, proxy payments), as the report shows it.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct RunReport {
    pub at: String,
    pub debits_sent: u64,
    /// An assessed batch: members assessed for what they owe before their debit.
    #[serde(skip_serializing_if = "is_zero")]
    pub assessed: u64,
    pub accepted: u64,
    pub periods_debited: u64,
    pub refused_suspended: u64,
    pub overloaded: u64,
    pub other_failures: u64,
    pub stopped_as_suspended: bool,
    /// Debits refused as already paid (a month paid by hand meanwhile); each is sent again
    /// for the run's own month only.
    #[serde(skip_serializing_if = "is_zero")]
    pub refused_already_paid: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
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
    /// Scenarios with `dues` only: per group, payments by the due date, by the moved one, late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dues: Option<Vec<dues::GroupDues>>,
    /// Per local date and channel (offline channels per league too): the planner's view.
    pub days: Vec<days::DayReport>,
    /// Attempts and successes per hour, channel and operation (rows with attempts only).
    pub hourly_by_channel: Vec<days::HourChannelReport>,
    /// The scenario's expectations beside the run's figures.
    pub calibration: Vec<calibration::CalibrationRow>,
    /// Live runs only (`cutover run`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<live::LiveReport>,
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
    #[serde(skip_serializing_if = "lang::LabelsZh::is_empty")]
    pub labels_zh: lang::LabelsZh,
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
}

impl GateResult {
    /// Where it stands (see [`CheckState`]): an empty gate that allows it passes; one that
    /// does not is unknown.
    pub fn state(&self) -> CheckState {
        match (self.passed, self.no_data) {
            (true, _) => CheckState::Pass,
            (false, true) => CheckState::Unknown { reason: "no data: nothing measured behind this gate".to_string() },
            (false, false) => CheckState::Fail,
        }
    }

    /// What was measured, in words where the number alone misleads.
    pub fn measured(&self) -> String {
        if self.no_data {
            "no data (nothing measured behind it)".to_string()
        } else if let Some(d) = &self.detail {
            d.clone()
        } else {
            self.value.to_string()
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
        for (what, v) in [
            ("operation", &self.operation),
            ("channel", &self.channel),
            ("phase", &self.phase),
            ("day", &day),
            ("kind", &kind),
            ("share", &share),
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

fn ms(micros: u64) -> f64 {
    // Three decimals: microsecond resolution, stable text.
    (micros as f64 / 1000.0 * 1000.0).round() / 1000.0
}

pub(crate) fn latency(h: &hdrhistogram::Histogram<u64>) -> Latency {
    Latency {
        p50: ms(h.value_at_quantile(0.5)),
        p90: ms(h.value_at_quantile(0.9)),
        p99: ms(h.value_at_quantile(0.99)),
        p99_9: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
        mean: (h.mean() / 1000.0 * 1000.0).round() / 1000.0,
    }
}

/// The percentiles a live run's distributions are given at: the body in tens, then the
/// tail, closer and closer to the maximum (as HdrHistogram's percentile output spaces them).
pub(crate) const DISTRIBUTION_PERCENTILES: [f64; 18] =
    [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 97.5, 99.0, 99.5, 99.9, 99.95, 99.99, 100.0];

/// One point of a latency distribution: the value at or below which `percentile` % fall.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Quantile {
    pub percentile: f64,
    pub ms: f64,
}

/// A histogram as its percentile distribution ([`DISTRIBUTION_PERCENTILES`]); empty when
/// nothing was recorded.
pub(crate) fn distribution(h: &hdrhistogram::Histogram<u64>) -> Vec<Quantile> {
    if h.is_empty() {
        return Vec::new();
    }
    DISTRIBUTION_PERCENTILES
        .iter()
        .map(|&p| Quantile {
            percentile: p,
            ms: ms(match p {
                0.0 => h.min(),
                100.0 => h.max(),
                _ => h.value_at_quantile(p / 100.0),
            }),
        })
        .collect()
}

pub(crate) struct BuildInput<'a> {
    pub spec: &'a Spec,
    pub scenario_file: &'a str,
    pub mode: Mode,
    pub seed: u64,
    pub recorder: &'a Recorder,
    pub stats: &'a EngineStats,
    pub batches: Vec<BatchReport>,
    pub actual_ledger: Result<BTreeMap<LedgerKey, LedgerCell>, String>,
    /// Answers the auditor found wrong (live runs; 0 in simulate).
    pub audit_disagreements: u64,
    /// The cutover's checks (scenarios with two systems).
    pub cutover: Option<cutover::CutoverReport>,
}

pub(crate) fn build(input: BuildInput) -> Report {
    let spec = input.spec;
    let fmt = |t: SimTime| t.format(spec.calendar.offset);
    let rec = input.recorder;
    let (cells, totals) = cell_reports(spec, rec);
    let hourly = hour_reports(spec, rec);
    let (days_report, hourly_by_channel) = rec.days.report(spec);
    let calibration = calibration::table(spec, &rec.days, &input.batches);
    let peak = |count: fn(&HourReport) -> u64| {
        hourly
            .iter()
            .filter(|h| count(h) > 0)
            // Highest count; the earliest such hour on ties.
            .max_by(|a, b| count(a).cmp(&count(b)).then(b.hour.cmp(&a.hour)))
            .map(|h| PeakHour { start: h.start.clone(), attempts: count(h) })
    };
    let peak_hour = peak(|h| h.attempts);
    let peak_hour_self_paid = peak(|h| h.self_paid_attempts);
    let ledger = reconcile::ledger_report(spec, rec, input.actual_ledger);
    let mismatched = ledger.mismatched_cells;
    let error_rate = if totals.attempts == 0 { 0.0 } else { totals.get(Outcome::Error) as f64 / totals.attempts as f64 };
    let figures = input.cutover.as_ref().map(|c| c.figures());
    let gates = gate_results(
        spec,
        rec,
        GateInputs {
            error_rate,
            attempts: totals.attempts,
            mismatched,
            audit_disagreements: (input.mode == Mode::Run).then_some(input.audit_disagreements),
            cutover: figures,
        },
    );
    let gates_passed = gates.iter().all(|g| g.passed);
    Report {
        format_version: REPORT_FORMAT_VERSION,
        tool: Tool { name: "cutover", version: env!("CARGO_PKG_VERSION") },
        mode: input.mode,
        scenario: ScenarioInfo {
            name: spec.raw.name.clone(),
            file: input.scenario_file.to_string(),
            start: fmt(spec.start),
            end: fmt(spec.end),
            utc_offset: spec.raw.timeline.utc_offset.clone(),
            labels_zh: lang::LabelsZh::of(&spec.raw),
        },
        summary: Summary {
            seed: input.seed,
            attempts: totals.attempts,
            accepted: rec.accepted,
            rejected_suspended: totals.get(Outcome::RefusedSuspended),
            accepted_while_suspended: rec.accepted_while_suspended,
            errors: totals.get(Outcome::Error),
            ledger_expected_fen: ledger.expected_fen,
            ledger_actual_fen: ledger.actual_fen,
            ledger_mismatched_cells: mismatched,
            gates_passed,
            successes: totals.get(Outcome::Success),
            rejected_not_yet_visible: totals.get(Outcome::RefusedNotYetVisible),
            rejected_unexpected: totals.get(Outcome::RefusedUnexpected),
            error_rate: (error_rate * 1e6).round() / 1e6,
            payers_active: input.stats.payers_active,
            gave_up: rec.gave_up,
            migration_mismatched_cells: figures.map(|f| f.migration_mismatched_cells),
            double_charges: figures.map(|f| f.double_charges),
            lost_at_boundary: figures.map(|f| f.lost_at_boundary),
            registrations_mismatched: figures.map(|f| f.registrations_mismatched),
        },
        phases: phase_infos(spec),
        cells,
        hourly,
        peak_hour,
        peak_hour_self_paid,
        reopening: Reopening {
            at: rec.reopen_at.map(fmt),
            displaced_payers: rec.displaced_total,
            backlog_peak: rec.backlog_peak,
            backlog_peak_at: rec.backlog_peak_at.map(fmt),
            backlog_cleared_at: rec.backlog_cleared_at.map(fmt),
            backlog_90pct_cleared_at: rec.backlog_90pct_cleared_at.map(fmt),
            backlog_99pct_cleared_at: rec.backlog_99pct_cleared_at.map(fmt),
            backlog_at_end: rec.backlog,
            displaced_gave_up: rec.gave_up_displaced,
        },
        batches: input.batches,
        dues: rec.dues.report(spec),
        days: days_report,
        calibration,
        hourly_by_channel,
        ledger,
        gates,
        violations: rec.violations.iter().map(|v| ViolationReport { at: fmt(v.at), what: v.what.clone() }).collect(),
        engine: input.stats.clone(),
        cutover: input.cutover,
        live: None,
    }
}

/// Every phase × channel × operation cell that saw traffic, and their totals.
fn cell_reports(spec: &Spec, rec: &Recorder) -> (Vec<CellReport>, recorder::CellCounters) {
    let mut cells = Vec::new();
    let mut totals = recorder::CellCounters::default();
    for (phase, ch, op, cell) in rec.cells() {
        let c = &cell.counters;
        totals += c;
        cells.push(CellReport {
            phase: spec.phases[phase].name.clone(),
            channel: spec.channels[ch as usize].id.clone(),
            operation: op,
            attempts: c.attempts,
            successes: c.get(Outcome::Success),
            rejected_suspended: c.get(Outcome::RefusedSuspended),
            rejected_not_yet_visible: c.get(Outcome::RefusedNotYetVisible),
            rejected_unexpected: c.get(Outcome::RefusedUnexpected),
            errors: c.get(Outcome::Error),
            turned_away: c.get(Outcome::TurnedAway),
            abandoned: c.get(Outcome::HungUp),
            latency_ms: latency(&cell.latency_micros),
            service_ms: cell.service_micros.as_ref().map(latency),
        });
    }
    (cells, totals)
}

fn hour_reports(spec: &Spec, rec: &Recorder) -> Vec<HourReport> {
    rec.hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let start = spec.start.plus_micros(i as i64 * MICROS_PER_HOUR);
            HourReport {
                hour: i,
                start: start.format(spec.calendar.offset),
                phase: spec.phases[spec.phase_at(start)].name.clone(),
                attempts: h.attempts,
                self_paid_attempts: h.self_paid_attempts,
                successes: h.successes,
                rejections: h.rejections,
                errors: h.errors,
                backend_queue_max: h.backend_queue_max,
                channel_queue_max: spec
                    .channels
                    .iter()
                    .zip(&h.channel_queue_max)
                    .filter(|(c, _)| c.servers.is_some())
                    .map(|(c, n)| (c.id.clone(), *n))
                    .collect(),
            }
        })
        .collect()
}

fn phase_infos(spec: &Spec) -> Vec<PhaseInfo> {
    let fmt = |t: SimTime| t.format(spec.calendar.offset);
    spec.phases
        .iter()
        .map(|p| PhaseInfo {
            name: p.name.clone(),
            start: fmt(p.start),
            end: fmt(p.end),
            // The hotline takes no payments: a suspension does not close its phones.
            closed_channels: spec
                .channels
                .iter()
                .zip(&p.closed)
                .filter(|(ch, c)| **c && ch.kind != crate::scenario::ChannelKind::Hotline)
                .map(|(ch, _)| ch.id.clone())
                .collect(),
        })
        .collect()
}
