//! Measuring, written once: the HdrHistogram constructor every recorder, sending thread and
//! server uses, and the Prometheus text format that `run --metrics-addr` and `serve`'s
//! `/metrics` both write ([`prometheus`]).

pub(crate) mod encoded;
pub(crate) mod prometheus;

use hdrhistogram::{Counter, Histogram};

/// Largest latency recorded (longer ones are clamped): 30 days, in microseconds (counters
/// and the hotline's queue wait hours; a payer's record days).
pub(crate) const LATENCY_MAX_MICROS: u64 = 30 * 86_400_000_000;

/// A histogram of values from 1 to `max` at `digits` significant decimal digits.
pub(crate) fn histogram<T: Counter>(max: u64, digits: u8) -> Histogram<T> {
    assert!(max >= 2 && digits <= 5, "histogram bounds: max {max}, digits {digits}");
    // Within the bounds asserted above hdrhistogram accepts every pair: creation cannot fail.
    Histogram::new_with_bounds(1, max, digits).expect("histogram bounds within hdrhistogram's limits")
}

/// A latency histogram: microseconds from 1 µs to [`LATENCY_MAX_MICROS`], 3 significant
/// digits. Every latency of a run is kept in one of these, so any two add.
pub(crate) fn latency_histogram() -> Histogram<u64> {
    histogram(LATENCY_MAX_MICROS, 3)
}

/// The largest lateness a lateness histogram keeps (an hour; more is recorded as that).
pub(crate) const LATENESS_MAX_MICROS: u64 = 3_600_000_000;

/// A histogram of the live driver's own lateness: 1 µs to an hour, 2 significant digits
/// (small: one per phase × channel per sending thread).
pub(crate) fn lateness_histogram() -> Histogram<u64> {
    histogram(LATENESS_MAX_MICROS, 2)
}

/// A latency in microseconds clamped into a latency histogram's range.
pub(crate) fn clamp_latency(micros: u64) -> u64 {
    micros.clamp(1, LATENCY_MAX_MICROS)
}
