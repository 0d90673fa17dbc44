//! How many sending threads a run starts when `--threads` is not given: as many as the
//! planned rate needs, at most the cores.
//!
//! A thread's CPU per request falls as its wake-ups find more to send, so at a moderate rate
//! one thread sends for less than two (at 1,000 and 5,000 requests a second about a fifth
//! less CPU per request); flat out, two threads on two cores sent a fifth more than one. The
//! planned rate is the busiest second of real time of the payers' first attempts, at the
//! run's time scale; follow-ups, retries and the batches' debits come on top, so a thread is
//! given half of what one was measured to sustain (BENCHMARKS.md, "Speed, twelfth sitting").

use crate::demand::agent::Next;
use crate::report::data::live::ThreadsChosen;

/// First attempts a second one thread is planned for: one thread sent 60,000 requests a
/// second on its timers with a lateness p99 under 1 ms, so the rest is room for follow-ups.
const PER_THREAD: u64 = 30_000;

/// Threads for these first steps at `time_scale` (virtual seconds per real second): one per
/// [`PER_THREAD`] first attempts in the busiest second, at least one, at most `cores`; with
/// what they were chosen for, as the report states it.
/// A stretch run at one virtual second per real second (`--real-time`) is counted at
/// `time_scale` too: its rate is lower than counted, never higher.
pub(in crate::live) fn threads_for(first: &[Next], time_scale: f64, cores: usize) -> (usize, ThreadsChosen) {
    let mut at: Vec<i64> = first
        .iter()
        .filter_map(|n| match n {
            Next::At(t) => Some(t.0),
            Next::Finished => None,
        })
        .collect();
    at.sort_unstable();
    // A second of real time in virtual microseconds (at least one).
    let window = (time_scale * 1e6).clamp(1.0, i64::MAX as f64) as i64;
    // The most first attempts within any one window: for each attempt, those from it to a
    // window later.
    let mut peak = 0usize;
    let mut end = 0usize;
    for (start, t) in at.iter().enumerate() {
        let until = t.saturating_add(window);
        while end < at.len() && at[end] < until {
            end += 1;
        }
        peak = peak.max(end - start);
    }
    let busiest_second = peak as u64;
    let threads = (busiest_second.div_ceil(PER_THREAD) as usize).clamp(1, cores.max(1));
    (threads, ThreadsChosen { busiest_second, per_thread: PER_THREAD, cores })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;

    /// `n` first attempts evenly over `seconds` of virtual time.
    fn even(n: i64, seconds: i64) -> Vec<Next> {
        (0..n).map(|i| Next::At(SimTime(1_000_000_000 + i * seconds * 1_000_000 / n))).collect()
    }

    #[test]
    fn a_moderate_rate_gets_one_thread() {
        // 200,000 over a day at 8,640x: 10 s of real time, 20,000 a second.
        let (threads, chosen) = threads_for(&even(200_000, 86_400), 8_640.0, 8);
        assert_eq!((threads, chosen), (1, ThreadsChosen { busiest_second: 20_000, per_thread: PER_THREAD, cores: 8 }));
    }

    #[test]
    fn a_rate_past_a_thread_gets_more_up_to_the_cores() {
        // 700,000 over a day at 8,640x: 70,000 a second needs three.
        assert_eq!(threads_for(&even(700_000, 86_400), 8_640.0, 8).0, 3);
        assert_eq!(threads_for(&even(700_000, 86_400), 8_640.0, 2).0, 2);
        // Everything due at once (a saturated run): every core.
        let (threads, chosen) = threads_for(&even(100_000, 3_600), 1e8, 4);
        assert_eq!((threads, chosen.busiest_second), (4, 100_000));
    }

    #[test]
    fn the_busiest_second_counts_not_the_average() {
        // 1,000 a second for an hour of real time, and a burst of 40,000 within one second.
        let mut first = even(3_600_000, 3_600);
        first.extend((0..40_000).map(|i| Next::At(SimTime(1_000_000_000 + 1_800_000_000 + i * 20))));
        first.push(Next::Finished);
        let (threads, chosen) = threads_for(&first, 1.0, 8);
        assert!(chosen.busiest_second >= 41_000, "{chosen:?}");
        assert_eq!(threads, 2);
    }

    #[test]
    fn nothing_planned_still_gets_a_thread() {
        let (threads, chosen) = threads_for(&[Next::Finished], 60_000.0, 2);
        assert_eq!((threads, chosen.busiest_second), (1, 0));
        assert_eq!(threads_for(&[], 1.0, 0).0, 1);
    }
}
