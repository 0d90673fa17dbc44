//! The progress display of a live run on standard error: a bar on a terminal, a line every
//! few seconds otherwise, from the figures the sending threads publish.

use super::thread::gauge::Gauge;
use crate::scenario::Spec;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// How often a plain (not a terminal) progress line is written.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_plain: Instant,
    enabled: bool,
}

impl Progress {
    pub(super) fn new(enabled: bool, spec: &Spec) -> Progress {
        use std::io::IsTerminal;
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let total = ((spec.end.0 - spec.start.0) / 1_000_000).max(1) as u64;
            let b = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:24} {msg}") {
                b.set_style(style);
            }
            b
        });
        Progress { bar, last_plain: Instant::now(), enabled }
    }

    /// Show the threads' latest figures (they update them four times a second).
    pub(super) fn update(&mut self, spec: &Spec, gauges: &[Arc<Gauge>], clock: &crate::clock::VirtualClock, started: Instant) {
        if !self.enabled {
            return;
        }
        let now_v = clock.now();
        let elapsed = started.elapsed().as_secs_f64().max(1e-9);
        let completed: u64 = gauges.iter().map(|g| g.completed.load(Relaxed)).sum();
        let outstanding: u64 = gauges.iter().map(|g| g.outstanding.load(Relaxed)).sum();
        let errors: u64 = gauges.iter().map(|g| g.errors.load(Relaxed)).sum();
        let mut all = crate::metrics::latency_histogram();
        for g in gauges {
            if let Ok(h) = g.response.lock()
                && let Some(h) = &*h
            {
                let _ = all.add(h);
            }
        }
        let p99 = all.value_at_quantile(0.99) as f64 / 1000.0;
        let now_v = now_v.min(spec.end);
        let phase = &spec.phases[spec.phase_at(now_v)].name;
        let share = (now_v.0 - spec.start.0) as f64 / (spec.end.0 - spec.start.0).max(1) as f64;
        let left_s = clock.real_instant(spec.end).saturating_duration_since(Instant::now()).as_secs_f64();
        let msg = format!(
            "{:>3.0} %, {} left  {} {:<18} {:>7.0} req/s  p99 {:>8.1} ms  errors {}  in flight {}",
            share * 100.0,
            crate::report::render::human::duration_ms(left_s * 1000.0),
            &now_v.format(spec.calendar.offset)[..16],
            phase,
            completed as f64 / elapsed,
            p99,
            errors,
            outstanding
        );
        match &self.bar {
            Some(b) => {
                b.set_position(((now_v.0 - spec.start.0) / 1_000_000).max(0) as u64);
                b.set_message(msg);
            }
            None if self.last_plain.elapsed() >= PLAIN_EVERY => {
                self.last_plain = Instant::now();
                eprintln!("run: {}", crate::secrets::redact(&msg));
            }
            None => {}
        }
    }
    pub(super) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
