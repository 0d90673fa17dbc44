//! The report built from what the host fed: the recorder's cells and hours, the ledger
//! reconciled, the cutover's checks, the gates measured.

use super::gates::{GateInputs, gate_results};
use super::latency::latency;
use super::{calibration, reconcile};
use crate::model::{LedgerCell, LedgerKey, Outcome};
use crate::report::data::labels::LabelsZh;
use crate::report::feed::recorder::{self, Recorder};
use crate::report::{
    BatchReport, CellReport, EngineStats, HourReport, Mode, PeakHour, PhaseInfo, Reopening, Report, ScenarioInfo, Summary, Tool,
    ViolationReport,
};
use crate::scenario::Spec;
use crate::time::{MICROS_PER_HOUR, SimTime};
use std::collections::BTreeMap;

pub(crate) const REPORT_FORMAT_VERSION: u32 = 1;

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
    /// The auditor's report (`run`; none in `simulate`).
    pub audit: Option<&'a crate::report::data::live::AuditReport>,
    /// The cutover's checks (scenarios with two systems).
    pub cutover: Option<crate::report::data::cutover::CutoverReport>,
    /// Keep the latency histograms whole in the report (for `--hlog`).
    pub keep_histograms: bool,
    /// The timeline's instant the run reached (its end, or where it was stopped): gates
    /// judging later instants are not reached.
    pub reached: SimTime,
}

/// The recorder's histograms whole, with the instants and names the logs need.
fn histograms(spec: &Spec, rec: &Recorder) -> crate::report::Histograms {
    use crate::report::{CellHistograms, Histograms, PhaseBounds};
    Histograms {
        start_micros: spec.start.0,
        phases: spec.phases.iter().map(|p| PhaseBounds { name: p.name.clone(), start_micros: p.start.0, end_micros: p.end.0 }).collect(),
        channels: spec.channels.iter().map(|c| c.id.clone()).collect(),
        cells: rec
            .cells()
            .map(|(phase, channel, operation, cell)| CellHistograms {
                phase,
                channel,
                operation,
                response_micros: cell.latency_micros.clone(),
                service_micros: cell.service_micros.clone(),
            })
            .collect(),
    }
}

pub(crate) fn build(input: BuildInput) -> Report {
    let spec = input.spec;
    let fmt = |t: SimTime| t.format(spec.calendar.offset);
    let rec = input.recorder;
    let (cells, totals) = cell_reports(spec, rec);
    let hourly = hour_reports(spec, rec);
    let (days_report, hourly_by_channel) = rec.days.report(spec);
    let calibration = calibration::table(spec, &rec.days, &input.batches);
    let peak_hour = peak(&hourly, |h| h.attempts);
    let peak_hour_self_paid = peak(&hourly, |h| h.self_paid_attempts);
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
            ledger_read: ledger.read_error.is_none(),
            audit: input.audit,
            cutover: figures,
        },
    );
    let mut gates = gates;
    if input.reached < spec.end {
        super::gates::mark_not_reached(spec, &mut gates, input.reached);
    }
    let gates_passed = gates.iter().all(|g| g.passed);
    let mut report = Report {
        format_version: REPORT_FORMAT_VERSION,
        tool: Tool { name: "cutover", version: env!("CARGO_PKG_VERSION") },
        mode: input.mode,
        verdict: crate::report::data::VerdictReport { verdict: crate::report::Verdict::Go, reasons: Vec::new(), notes: Vec::new() },
        scenario: ScenarioInfo {
            name: spec.raw.name.clone(),
            file: input.scenario_file.to_string(),
            start: fmt(spec.start),
            end: fmt(spec.end),
            utc_offset: spec.raw.timeline.utc_offset.clone(),
            labels_zh: LabelsZh::of(&spec.raw),
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
            rejected_already_paid: totals.get(Outcome::RefusedAlreadyPaid),
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
        reopening: reopening(spec, rec, input.reached),
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
        wrong_payments: Default::default(),
        live: None,
        histograms: input.keep_histograms.then(|| histograms(spec, rec)),
    };
    report.wrong_payments = super::wrong::collect(&report);
    report.verdict = super::verdicts::verdict(&report);
    report
}

/// The busiest hour by `count`: the highest count, the earliest such hour on ties.
fn peak(hourly: &[HourReport], count: fn(&HourReport) -> u64) -> Option<PeakHour> {
    hourly
        .iter()
        .filter(|h| count(h) > 0)
        .max_by(|a, b| count(a).cmp(&count(b)).then(b.hour.cmp(&a.hour)))
        .map(|h| PeakHour { start: h.start.clone(), attempts: count(h) })
}

/// The reopening and the backlog of displaced payers after it; not reached when the run
/// ended (at `reached`) before it.
fn reopening(spec: &Spec, rec: &Recorder, reached: SimTime) -> Reopening {
    let fmt = |t: SimTime| t.format(spec.calendar.offset);
    Reopening {
        at: rec.reopen_at.map(fmt),
        displaced_payers: rec.displaced_total,
        backlog_peak: rec.backlog_peak,
        backlog_peak_at: rec.backlog_peak_at.map(fmt),
        backlog_cleared_at: rec.backlog_cleared_at.map(fmt),
        backlog_90pct_cleared_at: rec.backlog_90pct_cleared_at.map(fmt),
        backlog_99pct_cleared_at: rec.backlog_99pct_cleared_at.map(fmt),
        backlog_at_end: rec.backlog,
        displaced_gave_up: rec.gave_up_displaced,
        not_reached: rec.reopen_at.filter(|at| *at > reached).map(fmt),
    }
}

/// Every phase × channel × operation cell that saw traffic, and their totals.
fn cell_reports(spec: &Spec, rec: &Recorder) -> (Vec<CellReport>, recorder::CellCounters) {
    let mut cells = Vec::new();
    let mut totals = recorder::CellCounters::default();
    for (phase, ch, op, cell) in rec.cells() {
        let c = &cell.counters;
        assert!(
            c.answered() <= c.attempts,
            "{} answers to {} attempts in phase {phase}, channel {ch}, operation {op:?}: an answer counted twice",
            c.answered(),
            c.attempts
        );
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
            rejected_already_paid: c.get(Outcome::RefusedAlreadyPaid),
            errors: c.get(Outcome::Error),
            turned_away: c.get(Outcome::TurnedAway),
            abandoned: c.get(Outcome::HungUp),
            latency_ms: latency(&cell.latency_micros),
            service_ms: cell.service_micros.as_ref().map(latency),
            driver_late_ms_p99: None,
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

impl LabelsZh {
    /// The scenario's Chinese names, as its file gives them.
    pub fn of(raw: &crate::scenario::Scenario) -> LabelsZh {
        let pick = |pairs: Vec<(String, &Option<String>)>| -> BTreeMap<String, String> {
            pairs.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))).collect()
        };
        let g = &raw.population.groups;
        LabelsZh {
            channels: pick(raw.channels.iter().map(|c| (c.id.clone(), &c.label_zh)).collect()),
            phases: pick(raw.timeline.phases.iter().map(|p| (p.name.clone(), &p.label_zh)).collect()),
            groups: pick(vec![
                ("unit".into(), &g.unit.label_zh),
                ("flexible".into(), &g.flexible.label_zh),
                ("resident_pension".into(), &g.resident_pension.label_zh),
                ("resident_medical".into(), &g.resident_medical.label_zh),
                ("proxy".into(), &g.proxy.label_zh),
            ]),
            leagues: pick(raw.population.leagues.iter().map(|l| (l.name.clone(), &l.label_zh)).collect()),
            systems: raw.cutover.iter().flat_map(|x| [x.old.name.clone(), x.new.name.clone()]).collect(),
        }
    }
}
