//! The scenario's expectations compiled: names resolved, dates turned into local days and
//! instants, so the report's calibration table reads them without parsing.

use super::validate::Checker;
use super::{BatchSpec, ChannelSelect, ExpectMetric, Expectation, Source};
use crate::time::{Calendar, SimTime};

/// Longest burst window, in minutes (a day).
pub(crate) const MAX_BURST_MINUTES: u32 = MINUTES_PER_DAY as u32;
pub(crate) const MINUTES_PER_DAY: usize = 1440;

#[derive(Clone, Debug)]
pub struct ExpectationSpec {
    pub name: String,
    pub metric: ExpectMetric,
    pub channels: ChannelSelect,
    /// Local day numbers, inclusive.
    pub days: Option<(i64, i64)>,
    pub at: Option<SimTime>,
    pub minutes: u32,
    /// Batch index and run index.
    pub run: Option<(usize, usize)>,
    pub expected: f64,
    pub within_factor: f64,
    pub source: Source,
    pub note: String,
}

pub(super) fn compile(c: &mut Checker, list: &[Expectation], raw_batches: &[super::Batch], batches: &[BatchSpec]) -> Vec<ExpectationSpec> {
    let day = |c: &mut Checker, path: &str, s: &Option<String>| -> Option<i64> {
        let Some(s) = s else {
            c.push(path, "required by this metric");
            return None;
        };
        c.date(path, s).map(Calendar::day_of_date)
    };
    list.iter()
        .enumerate()
        .map(|(i, e)| {
            let path = format!("expectations[{i}]");
            if e.name.is_empty() {
                c.push(format!("{path}.name"), "must not be empty");
            }
            if !(e.expected > 0.0 && e.expected.is_finite()) {
                c.push(format!("{path}.expected"), format!("must be above 0, got {}", e.expected));
            }
            if !(e.within_factor >= 1.0 && e.within_factor.is_finite()) {
                c.push(format!("{path}.within_factor"), format!("must be at least 1, got {}", e.within_factor));
            }
            let mut spec = ExpectationSpec {
                name: e.name.clone(),
                metric: e.metric,
                channels: e.channels,
                days: None,
                at: None,
                minutes: 0,
                run: None,
                expected: e.expected,
                within_factor: e.within_factor,
                source: e.source,
                note: e.note.clone(),
            };
            match e.metric {
                ExpectMetric::PaymentsPerDay | ExpectMetric::PeakHourPayments => {
                    let (a, b) = (day(c, &format!("{path}.from"), &e.from), day(c, &format!("{path}.to"), &e.to));
                    if let (Some(a), Some(b)) = (a, b) {
                        if b < a {
                            c.push(format!("{path}.to"), "must not be before `from`");
                        }
                        spec.days = Some((a, b));
                    }
                }
                ExpectMetric::BurstRatio => {
                    match &e.at {
                        Some(s) => spec.at = c.instant(&format!("{path}.at"), s),
                        None => c.push(format!("{path}.at"), "required by this metric"),
                    }
                    spec.minutes = e.minutes.unwrap_or(10);
                    if !(1..=MAX_BURST_MINUTES).contains(&spec.minutes) {
                        c.push(format!("{path}.minutes"), format!("must be 1 to {MAX_BURST_MINUTES}, got {}", spec.minutes));
                    }
                }
                ExpectMetric::BatchRunDebits => {
                    let name = e.batch.as_deref().unwrap_or_default();
                    let b = raw_batches.iter().position(|b| b.name == name);
                    if b.is_none() {
                        let hint = c.suggest(name, raw_batches.iter().map(|b| b.name.clone()));
                        c.push(format!("{path}.batch"), format!("unknown batch {name:?}{hint}"));
                    }
                    let at = match &e.run_at {
                        Some(s) => c.instant(&format!("{path}.run_at"), s),
                        None => {
                            c.push(format!("{path}.run_at"), "required by this metric");
                            None
                        }
                    };
                    if let (Some(b), Some(at)) = (b, at) {
                        match batches.get(b).and_then(|bs| bs.runs.iter().position(|r| *r == at)) {
                            Some(r) => spec.run = Some((b, r)),
                            None => c.push(format!("{path}.run_at"), format!("not a run of batch {name:?}")),
                        }
                    }
                }
            }
            spec
        })
        .collect()
}
