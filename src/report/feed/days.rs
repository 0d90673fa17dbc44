//! A planner's view: per local date and channel (offline channels per league too) what
//! happened, with waiting at the counters apart from service, counter use, queue peaks,
//! people sent away at closing and give-ups; the backend's use per day; and hourly counts
//! split by channel and operation. Requests are counted on the day their answer came;
//! waiting on the day the payer reached a counter.

use crate::model::{Outcome, Request, Response};
use crate::report::data::days::{BackendDay, ChannelDay, DayFigures, DayReport, HourChannelReport, LeagueDay};
use crate::scenario::{ChannelKind, Operation, Spec};
use crate::time::{DayKind, MICROS_PER_DAY, MICROS_PER_HOUR, SimTime};
use hdrhistogram::Histogram;

/// Longest wait a day's histogram holds, in milliseconds (two days); longer ones count there.
const WAIT_MAX_MS: u64 = 2 * 86_400_000;

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct DayCell {
    attempts: u64,
    successes: u64,
    refusals: u64,
    errors: u64,
    payments: u64,
    turned_away: u64,
    abandoned: u64,
    booked: u64,
    gave_up: u64,
    queue_peak: u64,
    busy_micros: u64,
    /// Waiting for a counter, and the counter's service, in milliseconds (offline only).
    #[serde(with = "crate::metrics::encoded::optional_boxed")]
    waiting_ms: Option<Box<Histogram<u32>>>,
    #[serde(with = "crate::metrics::encoded::optional_boxed")]
    service_ms: Option<Box<Histogram<u32>>>,
}

/// The tally behind `days` and `hourly_by_channel` in `report.json`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct DaysTally {
    start: SimTime,
    first_day: i64,
    days: usize,
    channels: usize,
    leagues: usize,
    /// `[day][channel]`.
    cells: Vec<DayCell>,
    /// `[day][channel][league]`, offline channels only used.
    league_cells: Vec<DayCell>,
    /// `[hour][channel][operation]`: (attempts, successes).
    hourly: Vec<(u32, u32)>,
    /// `[hour]`: busy time of the backend's servers.
    backend_busy_micros: Vec<u64>,
    /// Per burst the scenario expects: its start and self-paid attempts per minute over the
    /// day from it (counted when the attempt starts).
    bursts: Vec<(SimTime, Vec<u32>)>,
}

/// Two significant digits from 1 ms up to the longest value recorded (at most two days,
/// [`WAIT_MAX_MS`]: longer ones are clamped before): a region holds thousands of these, and
/// one made for two days from the start took a fifth more memory than one grown to the
/// hours it holds. Its quantiles do not depend on the range.
fn wait_histogram() -> Box<Histogram<u32>> {
    // Two digits is within hdrhistogram's bounds: creation cannot fail.
    Box::new(Histogram::new(2).expect("two significant digits"))
}

impl DayCell {
    fn add(&mut self, o: &DayCell) {
        self.attempts += o.attempts;
        self.successes += o.successes;
        self.refusals += o.refusals;
        self.errors += o.errors;
        self.payments += o.payments;
        self.turned_away += o.turned_away;
        self.abandoned += o.abandoned;
        self.booked += o.booked;
        self.gave_up += o.gave_up;
        self.queue_peak = self.queue_peak.max(o.queue_peak);
        self.busy_micros += o.busy_micros;
        for (into, from) in [(&mut self.waiting_ms, &o.waiting_ms), (&mut self.service_ms, &o.service_ms)] {
            if let Some(f) = from {
                // Growing to the other's range (one read back from a part has a fixed one):
                // adding cannot fail.
                let into = into.get_or_insert_with(wait_histogram);
                into.auto(true);
                let _ = into.add(&**f);
            }
        }
    }
}

impl DaysTally {
    pub(crate) fn new(spec: &Spec) -> DaysTally {
        let first_day = spec.calendar.local_day(spec.start);
        let days = (spec.calendar.local_day(SimTime(spec.end.0 - 1)) - first_day + 1).max(1) as usize;
        let (channels, leagues, hours) = (spec.channels.len(), spec.leagues.len(), spec.hours_total());
        DaysTally {
            start: spec.start,
            first_day,
            days,
            channels,
            leagues,
            cells: vec![DayCell::default(); days * channels],
            league_cells: vec![DayCell::default(); days * channels * leagues],
            hourly: vec![(0, 0); hours * channels * Operation::COUNT],
            backend_busy_micros: vec![0; hours],
            bursts: spec
                .expectations
                .iter()
                .filter_map(|e| e.at.filter(|_| e.metric == crate::scenario::ExpectMetric::BurstRatio))
                .map(|at| (at, vec![0; crate::scenario::MINUTES_PER_DAY]))
                .collect(),
        }
    }

    /// A self-paid attempt started at `start`.
    pub(crate) fn self_paid_attempt(&mut self, start: SimTime) {
        for (at, minutes) in &mut self.bursts {
            let m = start.micros_since(*at).div_euclid(60_000_000);
            if let Some(slot) = usize::try_from(m).ok().and_then(|m| minutes.get_mut(m)) {
                *slot = slot.saturating_add(1);
            }
        }
    }

    /// Self-paid attempts per minute over the day from `at`, if a burst there was counted.
    pub(crate) fn burst(&self, at: SimTime) -> Option<&[u32]> {
        self.bursts.iter().find(|(t, _)| *t == at).map(|(_, m)| m.as_slice())
    }

    fn day(&self, spec: &Spec, t: SimTime) -> Option<usize> {
        let d = spec.calendar.local_day(t) - self.first_day;
        (d >= 0 && (d as usize) < self.days).then_some(d as usize)
    }

    fn hour(&self, t: SimTime) -> Option<usize> {
        let h = (t.0 - self.start.0).div_euclid(MICROS_PER_HOUR);
        (h >= 0 && (h as usize) < self.backend_busy_micros.len()).then_some(h as usize)
    }

    fn at(&mut self, spec: &Spec, t: SimTime, channel: u8, league: u8) -> Option<(&mut DayCell, &mut DayCell)> {
        let d = self.day(spec, t)?;
        let i = d * self.channels + channel as usize;
        let cell = self.cells.get_mut(i)?;
        let lc = self.league_cells.get_mut(i * self.leagues + league as usize)?;
        Some((cell, lc))
    }

    /// An answer recorded at `now`.
    /// The answer at `now` to a request started at `started`: by the hour it started (as the
    /// report's hours count), and on the day its answer came.
    pub(crate) fn outcome(&mut self, spec: &Spec, started: SimTime, now: SimTime, req: &Request, resp: &Response, outcome: Outcome) {
        let (c, league, op) = (req.channel(), req.payer().league, req.operation());
        if let Some(h) = self.hour(started) {
            let slot = &mut self.hourly[(h * self.channels + c as usize) * Operation::COUNT + op.index()];
            slot.0 = slot.0.saturating_add(1);
            slot.1 = slot.1.saturating_add((outcome == Outcome::Success) as u32);
        }
        let Some((cell, lc)) = self.at(spec, now, c, league) else { return };
        for x in [cell, lc] {
            x.attempts += 1;
            match outcome {
                Outcome::Success => {
                    x.successes += 1;
                    x.payments += (op == Operation::Pay && matches!(resp, Response::Accepted { .. })) as u64;
                }
                Outcome::Error => x.errors += 1,
                Outcome::TurnedAway => {
                    x.turned_away += 1;
                    x.refusals += 1;
                }
                Outcome::HungUp => {
                    x.abandoned += 1;
                    x.refusals += 1;
                }
                _ => x.refusals += 1,
            }
        }
    }

    /// A payer who queued from `arrived` reached a counter at `now` for `service_seconds`.
    pub(crate) fn counter(&mut self, spec: &Spec, arrived: SimTime, now: SimTime, channel: u8, league: u8, service_seconds: f64) {
        let wait_ms = (now.micros_since(arrived).max(0) as u64 / 1000).clamp(1, WAIT_MAX_MS);
        let service_ms = ((service_seconds * 1000.0) as u64).clamp(1, WAIT_MAX_MS);
        let Some((cell, lc)) = self.at(spec, arrived, channel, league) else { return };
        for x in [cell, lc] {
            let _ = x.waiting_ms.get_or_insert_with(wait_histogram).record(wait_ms);
            let _ = x.service_ms.get_or_insert_with(wait_histogram).record(service_ms);
            x.busy_micros += service_ms * 1000;
        }
    }

    /// `n` people wait at channel `channel` in `league` at `now`.
    pub(crate) fn queue(&mut self, spec: &Spec, now: SimTime, channel: u8, league: u8, n: u64) {
        if let Some((cell, lc)) = self.at(spec, now, channel, league) {
            cell.queue_peak = cell.queue_peak.max(n);
            lc.queue_peak = lc.queue_peak.max(n);
        }
    }

    /// A payer came to `channel`'s counters at a booked slot at `now`.
    pub(crate) fn booked(&mut self, spec: &Spec, now: SimTime, channel: u8, league: u8) {
        if let Some((cell, lc)) = self.at(spec, now, channel, league) {
            cell.booked += 1;
            lc.booked += 1;
        }
    }

    /// A payer last on `channel` gave up at `now`.
    pub(crate) fn gave_up(&mut self, spec: &Spec, now: SimTime, channel: u8, league: u8) {
        if let Some((cell, lc)) = self.at(spec, now, channel, league) {
            cell.gave_up += 1;
            lc.gave_up += 1;
        }
    }

    /// The backend served a request for `micros` from `now`.
    pub(crate) fn backend(&mut self, now: SimTime, micros: u64) {
        if let Some(h) = self.hour(now) {
            self.backend_busy_micros[h] += micros;
        }
    }

    pub(crate) fn add(&mut self, o: &DaysTally) {
        for (a, b) in self.cells.iter_mut().zip(&o.cells) {
            a.add(b);
        }
        for (a, b) in self.league_cells.iter_mut().zip(&o.league_cells) {
            a.add(b);
        }
        for (a, b) in self.hourly.iter_mut().zip(&o.hourly) {
            a.0 = a.0.saturating_add(b.0);
            a.1 = a.1.saturating_add(b.1);
        }
        for (a, b) in self.backend_busy_micros.iter_mut().zip(&o.backend_busy_micros) {
            *a += b;
        }
        for ((_, a), (_, b)) in self.bursts.iter_mut().zip(&o.bursts) {
            for (x, y) in a.iter_mut().zip(b) {
                *x = x.saturating_add(*y);
            }
        }
    }

    /// Accepted self-paid payments per hour on channels of `kind` (all kinds but batch: `None`).
    pub(crate) fn payments_by_hour(&self, spec: &Spec, kind: Option<ChannelKind>) -> Vec<u64> {
        let hours = self.backend_busy_micros.len();
        (0..hours)
            .map(|h| {
                (0..self.channels)
                    .filter(|&c| {
                        let k = spec.channels[c].kind;
                        k != ChannelKind::Batch && kind.is_none_or(|x| x == k)
                    })
                    .map(|c| self.hourly[(h * self.channels + c) * Operation::COUNT + Operation::Pay.index()].1 as u64)
                    .sum()
            })
            .collect()
    }

    /// A gate per day measured over its days, channels and kind: (value, samples behind it).
    pub(crate) fn gate(&self, spec: &Spec, g: &crate::scenario::GateSpec) -> (f64, u64) {
        use crate::scenario::GateMetric as M;
        let mut waits: Option<Box<Histogram<u32>>> = None;
        let (mut sum, mut peak, mut samples) = (0u64, 0u64, 0u64);
        for d in 0..self.days {
            if g.day.is_some_and(|day| day != self.first_day + d as i64) {
                continue;
            }
            for (c, ch) in spec.channels.iter().enumerate() {
                if g.channel.is_some_and(|x| x as usize != c) || g.kind.is_some_and(|k| ch.kind != k) {
                    continue;
                }
                let cell = &self.cells[d * self.channels + c];
                if let Some(h) = &cell.waiting_ms {
                    // It grows to each one's range: adding cannot fail.
                    let _ = waits.get_or_insert_with(wait_histogram).add(&**h);
                }
                samples += cell.attempts + cell.gave_up;
                sum += match g.metric {
                    M::GaveUp => cell.gave_up,
                    M::TurnedAwayAtClosing => cell.turned_away,
                    M::HungUp => cell.abandoned,
                    _ => 0,
                };
                peak = peak.max(cell.queue_peak);
            }
        }
        let quantile = |q: f64| match &waits {
            Some(h) if !h.is_empty() => ((h.value_at_quantile(q) as f64 / 60_000.0 * 100.0).round() / 100.0, h.len()),
            _ => (0.0, 0),
        };
        match g.metric {
            M::WaitingMinP50 => quantile(0.5),
            M::WaitingMinP99 => quantile(0.99),
            M::QueuePeak => (peak as f64, samples),
            _ => (sum as f64, samples),
        }
    }

    pub(crate) fn report(&self, spec: &Spec) -> (Vec<DayReport>, Vec<HourChannelReport>) {
        let fmt = |t: SimTime| t.format(spec.calendar.offset);
        let concurrency = spec.raw.backend.concurrency.max(1) as u64;
        let days = (0..self.days)
            .map(|d| {
                let day = self.first_day + d as i64;
                let start = spec.calendar.day_start(day);
                let date = spec.calendar.date_of_day(day).format("%Y-%m-%d").to_string();
                let channels = (0..self.channels)
                    .filter_map(|c| {
                        let cell = &self.cells[d * self.channels + c];
                        if cell.attempts == 0 && cell.waiting_ms.is_none() && cell.gave_up == 0 {
                            return None;
                        }
                        let ch = &spec.channels[c];
                        let capacity = counter_capacity_micros(spec, c, day, None);
                        let leagues = if ch.servers.is_some() {
                            (0..self.leagues)
                                .filter_map(|l| {
                                    let lc = &self.league_cells[(d * self.channels + c) * self.leagues + l];
                                    (lc.attempts > 0 || lc.waiting_ms.is_some()).then(|| LeagueDay {
                                        league: spec.leagues[l].name.clone(),
                                        figures: figures(lc, counter_capacity_micros(spec, c, day, Some(l))),
                                    })
                                })
                                .collect()
                        } else {
                            Vec::new()
                        };
                        Some(ChannelDay { channel: ch.id.clone(), kind: ch.kind, figures: figures(cell, capacity), leagues })
                    })
                    .collect();
                let hours: Vec<usize> = (0..24).filter_map(|k| self.hour(start.plus_micros(k * MICROS_PER_HOUR))).collect();
                let busy: u64 = hours.iter().map(|&h| self.backend_busy_micros[h]).sum();
                let peak = hours.iter().map(|&h| self.backend_busy_micros[h]).max().unwrap_or(0);
                let hour_cap = concurrency * MICROS_PER_HOUR as u64;
                let backend = BackendDay {
                    utilisation: ratio(busy, hour_cap * hours.len().max(1) as u64),
                    peak_hour_utilisation: ratio(peak, hour_cap),
                    headroom: 1.0 - ratio(peak, hour_cap).min(1.0),
                };
                DayReport { date, kind: spec.calendar.kind_of_day(day), channels, backend }
            })
            .collect();
        let mut hourly = Vec::new();
        for h in 0..self.backend_busy_micros.len() {
            for c in 0..self.channels {
                for op in Operation::ALL {
                    let (a, s) = self.hourly[(h * self.channels + c) * Operation::COUNT + op.index()];
                    if a > 0 {
                        hourly.push(HourChannelReport {
                            start: fmt(self.start.plus_micros(h as i64 * MICROS_PER_HOUR)),
                            channel: spec.channels[c].id.clone(),
                            operation: op,
                            attempts: a as u64,
                            successes: s as u64,
                        });
                    }
                }
            }
        }
        (days, hourly)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { (a as f64 / b as f64 * 1e4).round() / 1e4 }
}

/// Counter time channel `c` offers on `day` (all leagues, or league `l`): servers at the
/// day's strength times the opening hours; `None` for a channel without counters.
fn counter_capacity_micros(spec: &Spec, c: usize, day: i64, league: Option<usize>) -> Option<u64> {
    let ch = &spec.channels[c];
    let servers = ch.servers.as_ref()?;
    let n: u64 = match league {
        Some(l) => servers.get(l).copied().unwrap_or(0) as u64,
        None => servers.iter().map(|&s| s as u64).sum(),
    };
    let start = spec.calendar.day_start(day);
    if !spec.channel_serves_at(c as u8, start) && !ch.hours.iter().any(|h| spec.channel_serves_at(c as u8, start.plus_micros(h.0))) {
        return Some(0);
    }
    let strength = if spec.calendar.kind_of_day(day) == DayKind::Holiday { ch.holiday_capacity } else { 1.0 };
    let open: i64 = if ch.hours.is_empty() { MICROS_PER_DAY } else { ch.hours.iter().map(|&(a, b)| b - a).sum() };
    Some(((n as f64 * strength).ceil() as u64) * open.max(0) as u64)
}

fn figures(c: &DayCell, capacity_micros: Option<u64>) -> DayFigures {
    let q = |h: &Option<Box<Histogram<u32>>>, p: f64| h.as_ref().map(|h| h.value_at_quantile(p) as f64 / 60_000.0);
    let round = |x: Option<f64>| x.map(|v| (v * 100.0).round() / 100.0);
    DayFigures {
        attempts: c.attempts,
        successes: c.successes,
        payments: c.payments,
        refusals: c.refusals,
        errors: c.errors,
        turned_away_at_closing: c.turned_away,
        abandoned: c.abandoned,
        booked_visits: c.booked,
        gave_up: c.gave_up,
        served_at_counters: c.waiting_ms.as_ref().map(|h| h.len()),
        waiting_min_p50: round(q(&c.waiting_ms, 0.5)),
        waiting_min_p99: round(q(&c.waiting_ms, 0.99)),
        service_min_p50: round(q(&c.service_ms, 0.5)),
        service_min_p99: round(q(&c.service_ms, 0.99)),
        counter_utilisation: capacity_micros.map(|cap| ratio(c.busy_micros, cap)),
        queue_peak: capacity_micros.map(|_| c.queue_peak),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day's waits added from parts (one read back from its serialized form, whose range
    /// is fixed at what it held) give the quantiles of all the waits recorded in one.
    #[test]
    fn waits_added_from_parts_of_other_ranges_are_the_waits_of_the_whole() {
        let cell = |waits: &[u64]| {
            let mut c = DayCell::default();
            for w in waits {
                let _ = c.waiting_ms.get_or_insert_with(wait_histogram).record(*w);
            }
            c
        };
        let (short, long): (Vec<u64>, Vec<u64>) = ((1..=300).map(|i| i * 7).collect(), (1..=300).map(|i| i * 400_000).collect());
        let part: DayCell = serde_json::from_str(&serde_json::to_string(&cell(&short)).unwrap()).unwrap();
        let mut merged = part;
        merged.add(&cell(&long));
        let whole = cell(&[short, long].concat());
        let (m, w) = (merged.waiting_ms.unwrap(), whole.waiting_ms.unwrap());
        assert_eq!(m.len(), 600, "every wait added");
        for q in [0.1, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(m.value_at_quantile(q), w.value_at_quantile(q), "quantile {q}");
        }
    }
}
