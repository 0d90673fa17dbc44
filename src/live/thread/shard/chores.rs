//! A sending thread's housekeeping, due by instants checked once per turn.

use super::super::lanes::Lanes;
use super::{Gauge, Shard};
use std::time::{Duration, Instant};

/// Housekeeping by instants checked once per turn (not by timers polled in every turn:
/// their polling showed in profiles): the deadline sweep, the progress figures (also how
/// soon a stop is seen: the thread wakes at least this often), and the journal's flush when
/// no later answer did it.
pub(super) struct Chores {
    period: Duration,
    pub(super) next_sweep: Instant,
    next_tick: Instant,
    /// Ticks since the last copy of the metrics (made every fourth: once a second).
    ticks: u32,
    pub(super) flush_due: Option<Instant>,
}

const TICK: Duration = Duration::from_millis(250);

impl Chores {
    pub(super) fn new(timeout: Duration) -> Chores {
        // A tenth of the timeout, within 1 ms..1 s.
        let period = (timeout / 10).clamp(Duration::from_millis(1), Duration::from_secs(1));
        let now = Instant::now();
        Chores { period, next_sweep: now + period, next_tick: now + TICK, ticks: 0, flush_due: None }
    }

    /// The chores due at `now`: whether to sweep; the progress figures and the journal's
    /// flush done here.
    pub(super) fn due<P: Lanes>(&mut self, now: Instant, shard: &mut Shard<P>, gauge: &Gauge) -> bool {
        if now >= self.next_tick {
            shard.publish(gauge);
            self.ticks += 1;
            if self.ticks >= 4 {
                self.ticks = 0;
                shard.publish_metrics(gauge);
            }
            self.next_tick = now + TICK;
        }
        if self.flush_due.is_some_and(|f| now >= f) {
            self.flush_due = None;
            shard.flush_journal();
        }
        self.sweep_due(now)
    }

    /// Whether the deadline sweep is due at `now` (then the next one is scheduled).
    pub(super) fn sweep_due(&mut self, now: Instant) -> bool {
        if now >= self.next_sweep {
            self.next_sweep = now + self.period;
            return true;
        }
        false
    }

    /// When the loop's next sleep ends: the next chore's instant, `next_due`'s or the
    /// rollback decision's, whichever is first. A journal flush that would end the sleep by
    /// itself is done now instead: a write costs the thread less than a wake-up (a context
    /// switch), and the lines reach the file sooner, never later.
    pub(super) fn wake<P: Lanes>(&mut self, shard: &mut Shard<P>, next_due: Option<Instant>) -> Instant {
        let wake = [next_due, shard.decide].into_iter().flatten().fold(self.next_sweep.min(self.next_tick), Instant::min);
        if self.flush_due.is_some_and(|f| f < wake) {
            self.flush_due = None;
            shard.flush_journal();
        }
        wake
    }
}
