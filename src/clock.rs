//! The compressed real-time clock shared by `cutover run` and `cutover serve`:
//! virtual time advances `scale` times faster than the wall clock from an anchor, except in
//! a stretch of the timeline a run maps onto wall time one to one (`run --real-time`).
//! This module and the rest of `live` and `server` are the only places that read
//! the wall clock.

use crate::time::SimTime;
use std::time::{Duration, Instant};

/// The wall clock now, as an instant (Unix microseconds).
pub fn wall_now() -> SimTime {
    SimTime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0))
}

#[derive(Clone, Copy, Debug)]
pub struct VirtualClock {
    virtual_at_anchor: SimTime,
    anchor: Instant,
    scale: f64,
    /// A stretch of the timeline (from, until) run at one virtual second per real second.
    real_time: Option<(SimTime, SimTime)>,
}

impl VirtualClock {
    /// A clock at which `virtual_now` is now, advancing `scale` virtual seconds per real second.
    pub fn starting_now(virtual_now: SimTime, scale: f64) -> VirtualClock {
        VirtualClock { virtual_at_anchor: virtual_now, anchor: Instant::now(), scale: scale.max(1e-9), real_time: None }
    }
    /// A clock that showed `virtual_at` at wall-clock time `wall_at_unix_micros` (used to
    /// restore a server's clock after a restart).
    pub fn from_wall(virtual_at: SimTime, wall_at_unix_micros: i64, scale: f64) -> VirtualClock {
        let now_wall = wall_now().0;
        let since = Duration::from_micros((now_wall - wall_at_unix_micros).max(0) as u64);
        let now = Instant::now();
        match now.checked_sub(since) {
            Some(anchor) => VirtualClock { virtual_at_anchor: virtual_at, anchor, scale: scale.max(1e-9), real_time: None },
            // The monotonic clock cannot reach that far back: anchor now, advanced by the gap.
            None => VirtualClock {
                virtual_at_anchor: virtual_at.plus_micros((since.as_micros() as f64 * scale) as i64),
                anchor: now,
                scale: scale.max(1e-9),
                real_time: None,
            },
        }
    }
    /// The same clock, running the stretch `[from, until)` of the timeline at one virtual
    /// second per real second (a window a real-time deployment lives through as it will).
    pub fn with_real_time(mut self, window: Option<(SimTime, SimTime)>) -> VirtualClock {
        self.real_time = window.filter(|(a, b)| a < b);
        self
    }

    /// The stretch run in real time, if any.
    pub(crate) fn real_time(&self) -> Option<(SimTime, SimTime)> {
        self.real_time
    }

    /// The real-time window as virtual offsets from the anchor, (start, end), clamped to it,
    /// and the real offset (µs) at which it starts.
    fn window(&self) -> Option<(f64, f64, f64)> {
        let (a, b) = self.real_time?;
        let a = a.micros_since(self.virtual_at_anchor).max(0) as f64;
        let b = b.micros_since(self.virtual_at_anchor).max(0) as f64;
        Some((a, b, a / self.scale))
    }

    /// Virtual µs after the anchor at `real` µs after it.
    fn virtual_offset(&self, real: f64) -> f64 {
        match self.window() {
            None => real * self.scale,
            Some((_, _, ra)) if real <= ra => real * self.scale,
            Some((a, b, ra)) if real <= ra + (b - a) => a + (real - ra),
            Some((a, b, ra)) => b + (real - ra - (b - a)) * self.scale,
        }
    }

    /// Real µs after the anchor at `virt` µs after it.
    fn real_offset(&self, virt: f64) -> f64 {
        match self.window() {
            None => virt / self.scale,
            Some((a, _, _)) if virt <= a => virt / self.scale,
            Some((a, b, ra)) if virt <= b => ra + (virt - a),
            Some((a, b, ra)) => ra + (b - a) + (virt - b) / self.scale,
        }
    }

    /// The virtual instant corresponding to a wall-clock instant `wall` (Unix microseconds,
    /// as a real-time deployment states it), given the wall clock now.
    pub(crate) fn virtual_of_wall(&self, wall: SimTime, wall_now: SimTime) -> SimTime {
        let real_now = Instant::now().saturating_duration_since(self.anchor).as_micros() as f64;
        let real = real_now + (wall.0 - wall_now.0) as f64;
        if real < 0.0 {
            // Before the anchor: at the scale the run started with.
            return self.virtual_at_anchor.plus_micros((real * self.scale) as i64);
        }
        self.virtual_at_anchor.plus_micros(self.virtual_offset(real) as i64)
    }
    /// Virtual seconds per real second: the run's scale (the fastest it goes).
    pub(crate) fn scale(&self) -> f64 {
        self.scale
    }
    /// Virtual seconds per real second at `t`: 1 in the real-time stretch, else the scale.
    pub(crate) fn scale_at(&self, t: SimTime) -> f64 {
        match self.real_time {
            Some((a, b)) if t >= a && t < b => 1.0,
            _ => self.scale,
        }
    }
    pub(crate) fn now(&self) -> SimTime {
        self.at(Instant::now())
    }
    pub(crate) fn at(&self, real: Instant) -> SimTime {
        let real_micros = real.saturating_duration_since(self.anchor).as_micros() as f64;
        self.virtual_at_anchor.plus_micros(self.virtual_offset(real_micros) as i64)
    }
    /// The virtual instant `micros` real microseconds after `real` (before it, if negative);
    /// before the anchor, at the pace the run started with.
    pub(crate) fn at_offset(&self, real: Instant, micros: i64) -> SimTime {
        let since = if real >= self.anchor {
            real.duration_since(self.anchor).as_micros() as f64
        } else {
            -(self.anchor.duration_since(real).as_micros() as f64)
        };
        self.virtual_at_anchor.plus_micros(self.virtual_offset(since + micros as f64) as i64)
    }
    /// The real instant at which the virtual clock shows `t` (the anchor for instants before it).
    pub(crate) fn real_instant(&self, t: SimTime) -> Instant {
        let virt = t.micros_since(self.virtual_at_anchor).max(0) as f64;
        self.anchor + Duration::from_micros(self.real_offset(virt) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_instants_map_onto_the_virtual_timeline() {
        let c = VirtualClock::starting_now(SimTime(1_000_000_000), 1.0);
        let wall_now = SimTime(5_000_000_000);
        // A deployment keeping real time says "reopens in 10 s": 10 virtual seconds at 1x.
        let v = c.virtual_of_wall(SimTime(5_010_000_000), wall_now);
        let expected = c.now().plus_micros(10_000_000);
        assert!((v.0 - expected.0).abs() < 50_000, "{v:?} vs {expected:?}");
    }

    #[test]
    fn a_real_time_window_runs_one_to_one_between_compressed_stretches() {
        let start = SimTime(0);
        let hour = 3_600_000_000;
        // 1000x, with hours 10 to 12 of the timeline in real time.
        let c = VirtualClock::starting_now(start, 1000.0).with_real_time(Some((SimTime(10 * hour), SimTime(12 * hour))));
        let real = |t: i64| c.real_instant(SimTime(t)).duration_since(c.anchor).as_micros() as i64;
        // 10 virtual hours at 1000x: 36 real seconds; then 2 hours one to one; then 1000x again.
        assert_eq!(real(10 * hour), 36_000_000);
        assert_eq!(real(11 * hour), 36_000_000 + hour);
        assert_eq!(real(12 * hour), 36_000_000 + 2 * hour);
        assert_eq!(real(13 * hour), 36_000_000 + 2 * hour + 3_600_000);
        for t in [5 * hour, 10 * hour, 11 * hour + 17, 12 * hour, 20 * hour] {
            assert!((c.at(c.real_instant(SimTime(t))).0 - t).abs() <= 1000, "{t}");
        }
        assert_eq!(c.scale_at(SimTime(11 * hour)), 1.0);
        assert_eq!(c.scale_at(SimTime(12 * hour)), 1000.0);
        assert_eq!(c.scale(), 1000.0);
        // Without a window, the same clock as before.
        let plain = c.with_real_time(None);
        assert_eq!(plain.real_instant(SimTime(11 * hour)).duration_since(plain.anchor).as_micros(), 39_600_000);
    }

    #[test]
    fn real_and_virtual_instants_correspond() {
        let c = VirtualClock::starting_now(SimTime(1_000_000), 1000.0);
        let r = c.real_instant(SimTime(1_000_000 + 5_000_000));
        // 5 virtual seconds at 1000x are 5 real milliseconds after the anchor.
        assert_eq!(r.duration_since(c.anchor), Duration::from_micros(5_000));
        assert_eq!(c.at(r), SimTime(6_000_000));
    }
}
