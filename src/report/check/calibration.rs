//! The calibration table: each figure the scenario expects (`expectations`) beside what the
//! run produced, their ratio, and whether it lands within the expectation's factor.

use crate::report::BatchReport;
use crate::report::data::plan::CalibrationRow;
use crate::report::feed::days::DaysTally;
use crate::scenario::{ChannelKind, ChannelSelect, ExpectMetric, Spec};
use crate::time::MICROS_PER_HOUR;

pub(crate) fn table(spec: &Spec, days: &DaysTally, batches: &[BatchReport]) -> Vec<CalibrationRow> {
    let by_kind = |sel: ChannelSelect| {
        let kind = match sel {
            ChannelSelect::SelfPaid => None,
            ChannelSelect::Online => Some(ChannelKind::Online),
            ChannelSelect::Offline => Some(ChannelKind::Offline),
        };
        days.payments_by_hour(spec, kind)
    };
    // The hours of local days `a..=b` as indices of the timeline's hours.
    let hours_of = |a: i64, b: i64, len: usize| {
        let from = (spec.calendar.day_start(a).0 - spec.start.0).div_euclid(MICROS_PER_HOUR).max(0) as usize;
        let to = (spec.calendar.day_start(b + 1).0 - spec.start.0).div_euclid(MICROS_PER_HOUR).max(0) as usize;
        from.min(len)..to.min(len)
    };
    spec.expectations
        .iter()
        .map(|e| {
            let simulated = match e.metric {
                ExpectMetric::PaymentsPerDay => e.days.map(|(a, b)| {
                    let hours = by_kind(e.channels);
                    let sum: u64 = hours[hours_of(a, b, hours.len())].iter().sum();
                    sum as f64 / (b - a + 1).max(1) as f64
                }),
                ExpectMetric::PeakHourPayments => e.days.and_then(|(a, b)| {
                    let hours = by_kind(e.channels);
                    hours[hours_of(a, b, hours.len())].iter().max().map(|&m| m as f64)
                }),
                ExpectMetric::BurstRatio => e.at.and_then(|at| days.burst(at)).and_then(|m| {
                    let mean_per_minute = m.iter().map(|&x| x as f64).sum::<f64>() / m.len() as f64;
                    let n = (e.minutes as usize).min(m.len());
                    let burst = m[..n].iter().map(|&x| x as f64).sum::<f64>() / n.max(1) as f64;
                    (mean_per_minute > 0.0).then(|| burst / mean_per_minute)
                }),
                ExpectMetric::BatchRunDebits => {
                    e.run.and_then(|(b, r)| batches.get(b).and_then(|b| b.runs.get(r)).map(|r| r.accepted as f64))
                }
            };
            let round = |x: f64| (x * 100.0).round() / 100.0;
            let ratio = simulated.map(|s| (s / e.expected * 1000.0).round() / 1000.0);
            CalibrationRow {
                name: e.name.clone(),
                metric: e.metric,
                expected: e.expected,
                simulated: simulated.map(round),
                ratio,
                within_factor: e.within_factor,
                within: ratio.is_some_and(|r| r >= 1.0 / e.within_factor && r <= e.within_factor),
                source: e.source,
                note: e.note.clone(),
            }
        })
        .collect()
}
