//! A histogram's figures as the report gives them: milliseconds to three decimals, the
//! usual quantiles, and the whole distribution at fixed percentiles.

use crate::report::{Latency, Quantile};

pub(crate) fn ms(micros: u64) -> f64 {
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
