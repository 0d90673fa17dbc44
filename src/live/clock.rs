//! The compressed real-time clock shared by `cutover run` and `cutover serve`:
//! virtual time advances `scale` times faster than the wall clock from an anchor.
//! This module and the rest of `live` and `server` are the only places that read
//! the wall clock.

use crate::time::SimTime;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct VirtualClock {
    virtual_at_anchor: SimTime,
    anchor: Instant,
    scale: f64,
}

impl VirtualClock {
    /// A clock at which `virtual_now` is now, advancing `scale` virtual seconds per real second.
    pub fn starting_now(virtual_now: SimTime, scale: f64) -> VirtualClock {
        VirtualClock {
            virtual_at_anchor: virtual_now,
            anchor: Instant::now(),
            scale: scale.max(1e-9),
        }
    }
    pub fn scale(&self) -> f64 {
        self.scale
    }
    pub fn now(&self) -> SimTime {
        self.at(Instant::now())
    }
    pub fn at(&self, real: Instant) -> SimTime {
        let real_micros = real.saturating_duration_since(self.anchor).as_micros() as f64;
        self.virtual_at_anchor
            .plus_micros((real_micros * self.scale) as i64)
    }
    /// The real instant at which the virtual clock shows `t` (the anchor for instants before it).
    pub fn real_instant(&self, t: SimTime) -> Instant {
        let virt = t.micros_since(self.virtual_at_anchor).max(0) as f64;
        self.anchor + Duration::from_micros((virt / self.scale) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_and_virtual_instants_correspond() {
        let c = VirtualClock::starting_now(SimTime(1_000_000), 1000.0);
        let r = c.real_instant(SimTime(1_000_000 + 5_000_000));
        // 5 virtual seconds at 1000x are 5 real milliseconds after the anchor.
        assert_eq!(r.duration_since(c.anchor), Duration::from_micros(5_000));
        assert_eq!(c.at(r), SimTime(6_000_000));
    }
}
