//! How much memory one simulation takes at its peak, estimated from the scenario alone:
//! what `sweep` runs at once by (it refuses a parallelism that would not fit).
//!
//! A simulation's memory is its active payers' (agents, batch members, their payments in
//! every system, the indexes and the recorder's book) plus a part that grows with the
//! timeline (the day-by-day tallies and their histograms). The constants below are measured
//! peaks (maximum resident set, release build, BENCHMARKS.md, issue 24) with a quarter's
//! margin: ci-smoke 66 MiB with 2,421 active payers over 32 days; the region 689 MiB with
//! 2.43 M (269 bytes each above the smoke's); the two-system cutover-2021 827 MiB with 2.43 M
//! (329 bytes each), at a135243 (items interned in records, packed in agents and members).

use crate::scenario::Spec;

/// A day of timeline: its tallies and histograms, with the margin.
const PER_DAY_BYTES: u64 = 5 << 19;
/// The process itself, whatever the scenario.
const BASE_BYTES: u64 = 16 << 20;
const PER_ACTIVE_ONE_SYSTEM_BYTES: u64 = 340;
const PER_ACTIVE_TWO_SYSTEMS_BYTES: u64 = 415;

/// The peak resident memory one `simulate` of `spec` should stay under, in bytes.
pub fn peak_bytes_estimate(spec: &Spec) -> u64 {
    let days = ((spec.end.0 - spec.start.0).max(0) as u64).div_ceil(crate::time::MICROS_PER_DAY as u64);
    let per_active = if spec.cutover.is_some() { PER_ACTIVE_TWO_SYSTEMS_BYTES } else { PER_ACTIVE_ONE_SYSTEM_BYTES };
    let active = crate::scenario::expected_active(&spec.raw.population.groups);
    BASE_BYTES.saturating_add(days.saturating_mul(PER_DAY_BYTES)).saturating_add(active.saturating_mul(per_active))
}

/// Memory the system says is available for new work (`MemAvailable`), in bytes; `None` where
/// it cannot be read (not Linux).
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_larger_population_or_a_second_system_needs_more() {
        let load = |f: &str| crate::scenario::load(std::path::Path::new(f)).expect("scenario");
        let smoke = super::peak_bytes_estimate(&load("scenarios/ci-smoke.json"));
        let region = super::peak_bytes_estimate(&load("scenarios/inner-mongolia-2021.json"));
        let cutover = super::peak_bytes_estimate(&load("scenarios/cutover-2021.json"));
        assert!(smoke < 100 << 20, "the smoke scenario is small: {smoke}");
        assert!(region > 800 << 20 && region < 2 << 30, "the region: {region}");
        assert!(cutover > region, "two systems hold more: {cutover} against {region}");
    }
}
