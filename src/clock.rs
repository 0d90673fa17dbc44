//! The compressed real-time clock shared by `cutover run` and `cutover serve`:
//! virtual time advances `scale` times faster than the wall clock from an anchor.
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
}

impl VirtualClock {
    /// A clock at which `virtual_now` is now, advancing `scale` virtual seconds per real second.
    pub fn starting_now(virtual_now: SimTime, scale: f64) -> VirtualClock {
        VirtualClock { virtual_at_anchor: virtual_now, anchor: Instant::now(), scale: scale.max(1e-9) }
    }
    /// A clock that showed `virtual_at` at wall-clock time `wall_at_unix_micros` (used to
    /// restore a server's clock after a restart).
    pub fn from_wall(virtual_at: SimTime, wall_at_unix_micros: i64, scale: f64) -> VirtualClock {
        let now_wall = wall_now().0;
        let since = Duration::from_micros((now_wall - wall_at_unix_micros).max(0) as u64);
        let now = Instant::now();
        match now.checked_sub(since) {
            Some(anchor) => VirtualClock { virtual_at_anchor: virtual_at, anchor, scale: scale.max(1e-9) },
            // The monotonic clock cannot reach that far back: anchor now, advanced by the gap.
            None => VirtualClock {
                virtual_at_anchor: virtual_at.plus_micros((since.as_micros() as f64 * scale) as i64),
                anchor: now,
                scale: scale.max(1e-9),
            },
        }
    }
    /// The virtual instant corresponding to a wall-clock instant `wall` (Unix microseconds,
    /// as a real-time deployment states it), given the wall clock now.
    pub(crate) fn virtual_of_wall(&self, wall: SimTime, wall_now: SimTime) -> SimTime {
        let now = self.now();
        now.plus_micros(((wall.0 - wall_now.0) as f64 * self.scale) as i64)
    }
    pub(crate) fn scale(&self) -> f64 {
        self.scale
    }
    pub(crate) fn now(&self) -> SimTime {
        self.at(Instant::now())
    }
    pub(crate) fn at(&self, real: Instant) -> SimTime {
        let real_micros = real.saturating_duration_since(self.anchor).as_micros() as f64;
        self.virtual_at_anchor.plus_micros((real_micros * self.scale) as i64)
    }
    /// The real instant at which the virtual clock shows `t` (the anchor for instants before it).
    pub(crate) fn real_instant(&self, t: SimTime) -> Instant {
        let virt = t.micros_since(self.virtual_at_anchor).max(0) as f64;
        self.anchor + Duration::from_micros((virt / self.scale) as u64)
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
    fn real_and_virtual_instants_correspond() {
        let c = VirtualClock::starting_now(SimTime(1_000_000), 1000.0);
        let r = c.real_instant(SimTime(1_000_000 + 5_000_000));
        // 5 virtual seconds at 1000x are 5 real milliseconds after the anchor.
        assert_eq!(r.duration_since(c.anchor), Duration::from_micros(5_000));
        assert_eq!(c.at(r), SimTime(6_000_000));
    }
}
