//! A sending thread's waits (the next scheduled request, its housekeeping), precise to tens
//! of microseconds without blocking the thread.
//!
//! Tokio's timers tick in whole milliseconds, and so does `epoll_wait`'s timeout, so a
//! request due in 300 µs would go out up to a millisecond late, and the lag would show in
//! every response time. Sleeping the thread instead would be precise but would also stop it
//! reading answers, which are timed when they are read. On Linux the wait is a `timerfd`
//! (nanosecond resolution, high-resolution kernel timer) watched like any socket: by the
//! thread's own readiness loop ([`TimerFd`], for `--transport http1`) or by its tokio runtime
//! ([`PreciseTimer`], for the other transports); elsewhere, the runtime's timer or a
//! millisecond timeout.

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::time::Instant;
    use tokio::io::unix::AsyncFd;

    /// A non-blocking `timerfd` armed at one instant at a time: readable once it passes.
    pub(crate) struct TimerFd {
        fd: OwnedFd,
        armed: Option<Instant>,
    }

    impl AsRawFd for TimerFd {
        fn as_raw_fd(&self) -> RawFd {
            self.fd.as_raw_fd()
        }
    }

    impl TimerFd {
        pub(crate) fn new() -> io::Result<TimerFd> {
            // SAFETY: timerfd_create takes no pointers; a non-negative result is a new fd we own.
            let raw = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `raw` is a valid, open descriptor that nothing else owns.
            Ok(TimerFd { fd: unsafe { OwnedFd::from_raw_fd(raw) }, armed: None })
        }

        /// Make the fd readable at `at` (no system call if it already is armed for `at`).
        pub(crate) fn arm(&mut self, at: Instant) -> io::Result<()> {
            if self.armed == Some(at) {
                return Ok(());
            }
            // A relative time: `Instant` does not expose its clock reading. At least 1 ns,
            // since zero would disarm the timer.
            let left = at.saturating_duration_since(Instant::now()).max(std::time::Duration::from_nanos(1));
            let spec = libc::itimerspec {
                it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
                it_value: libc::timespec { tv_sec: left.as_secs() as libc::time_t, tv_nsec: left.subsec_nanos() as libc::c_long },
            };
            // SAFETY: the fd is a timerfd we own; `spec` is a valid itimerspec; the old value
            // is not asked for (null).
            let r = unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            self.armed = Some(at);
            Ok(())
        }

        /// Take the expiry, if it came: true when it did (the timer is then disarmed).
        pub(crate) fn expired(&mut self) -> bool {
            let mut ticks = [0u8; 8];
            // SAFETY: reads at most 8 bytes into an 8-byte buffer from a fd we own.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), ticks.as_mut_ptr().cast(), ticks.len()) };
            if n == 8 {
                self.armed = None;
            }
            n == 8
        }
    }

    pub(crate) struct PreciseTimer {
        fd: AsyncFd<TimerFd>,
    }

    impl PreciseTimer {
        pub(crate) fn new() -> io::Result<PreciseTimer> {
            // SAFETY: the TimerFd owns its fd, which stays open, and the same, for as long as
            // the AsyncFd owns the TimerFd.
            let fd = unsafe { AsyncFd::register_with_interest(TimerFd::new()?, tokio::io::Interest::READABLE) }?;
            Ok(PreciseTimer { fd })
        }

        /// Wait until `at` (at once if it has passed).
        pub(crate) async fn until(&mut self, at: Instant) {
            if at <= Instant::now() {
                return;
            }
            if self.fd.get_mut().arm(at).is_err() {
                tokio::time::sleep_until(at.into()).await;
                return;
            }
            loop {
                let Ok(mut guard) = self.fd.readable_mut().await else {
                    tokio::time::sleep_until(at.into()).await;
                    return;
                };
                let fired = guard.get_inner_mut().expired();
                guard.clear_ready();
                if fired {
                    return;
                }
                // Nothing to read: a readiness left over from an earlier arming. Wait on.
                if Instant::now() >= at {
                    return;
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::time::Instant;

    pub struct PreciseTimer;

    impl PreciseTimer {
        pub fn new() -> std::io::Result<PreciseTimer> {
            Ok(PreciseTimer)
        }

        pub async fn until(&mut self, at: Instant) {
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

pub(in crate::live) use imp::PreciseTimer;
#[cfg(target_os = "linux")]
pub(in crate::live) use imp::TimerFd;

/// For tests of a thread's waits: 50 waits of 300 µs through `wait` (given the instant to
/// wait until, it returns once it has waited); asserts that none ends early and, on Linux,
/// that the median ends within 500 µs of its instant. A millisecond timer (tokio's, or
/// `epoll_wait`'s timeout) ends such a wait at the next millisecond tick or later; a precise
/// wait within tens of microseconds on a quiet machine. The bound leaves room for a loaded
/// machine but stays below the tick.
#[cfg(test)]
pub(in crate::live) fn assert_waits_are_precise(mut wait: impl FnMut(std::time::Instant)) {
    use std::time::{Duration, Instant};
    let mut lags = Vec::new();
    for _ in 0..50 {
        let at = Instant::now() + Duration::from_micros(300);
        wait(at);
        let woke = Instant::now();
        assert!(woke >= at, "woke before the instant");
        lags.push(woke.duration_since(at).as_micros() as u64);
    }
    lags.sort_unstable();
    let median = lags[lags.len() / 2];
    #[cfg(target_os = "linux")]
    assert!(median < 500, "median wake-up lag {median} µs; all: {lags:?}");
    #[cfg(not(target_os = "linux"))]
    let _ = median;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_at_the_instant_not_a_millisecond_later() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut t = rt.block_on(async { PreciseTimer::new() }).unwrap();
        assert_waits_are_precise(|at| rt.block_on(t.until(at)));
    }
}
