//! Demand: who tries what, when, on which channel, and what they do next.
//!
//! The first attempt of every active payer comes from the plan here (a day
//! weighted by kind, an hour from the intra-day profile, a channel from the
//! group's mix in the payer's league). Everything after the first answer is
//! decided by the per-payer state machine in [`agent`], driven by the answers
//! the target actually gives, so the same code serves the virtual-time engine
//! and a live run. Nothing here precomputes a retry from what the model would
//! answer: the surge after reopening comes out of deferrals, retries and batch
//! runs reacting to refusals.

pub(crate) mod agent;
#[cfg(test)]
mod tests;

pub(crate) use agent::{Agent, Next, Stage};

use crate::dist::Cdf;
use crate::model::Rules;
use crate::scenario::{ChannelIdx, ChannelKind, GroupKind, Spec};
use crate::time::{MICROS_PER_DAY, MICROS_PER_HOUR, SimTime};
use rand::{Rng, RngExt};
use std::sync::Arc;

/// Everything the agents need to plan, precomputed once per run.
pub(crate) struct Demand {
    pub spec: Arc<Spec>,
    pub rules: Arc<Rules>,
    pub seed: u64,
    /// The seed's (and a live run's id's) part of the idempotency keys payers and batches
    /// send ([`crate::rng::key_tag`]).
    pub key_tag: u64,
    online_hours: Cdf,
    offline_hours: Cdf,
    /// Channel choice per league and group: `channel_cdf[league][group]`.
    channel_cdf: Vec<Vec<Cdf>>,
    /// Timeline days (local day numbers) and their kinds.
    first_day: i64,
    /// Per channel: the first-attempt day choice over the timeline's days.
    day_cdf: Vec<Cdf>,
    /// Per channel: each timeline day's weight for a first attempt, and their mean (the
    /// weight of a day after the timeline).
    day_weight: Vec<(Vec<f64>, f64)>,
    /// Per channel: its heaviest day's weight.
    day_weight_max: Vec<f64>,
    /// Per group: where its assessments happen (the agencies), if the scenario says.
    assess_cdf: Vec<Option<Cdf>>,
}

/// Where a payer's due date sends it ([`Demand::aim`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aim {
    At(SimTime),
    /// Its lead brings it past the end of the timeline.
    AfterTimeline,
    /// No due date ahead presses (none, already past, or too far to weigh).
    NoPressure,
}

impl Demand {
    /// The keys of a live run named `run_id`: its own, apart from every other run's at the
    /// same seed (a second run against the same deployment replays nothing of the first).
    pub(crate) fn for_run(mut self, run_id: &str) -> Demand {
        self.key_tag = crate::rng::key_tag(self.seed, Some(run_id));
        self
    }

    pub(crate) fn new(spec: Arc<Spec>, seed: u64) -> Demand {
        let rules = Arc::new(Rules::from_spec(&spec));
        Demand::with_rules(spec, seed, rules)
    }

    /// The demand under `rules` shared with the systems of the run (a rollback decided
    /// during the run is one switch for both).
    pub(crate) fn with_rules(spec: Arc<Spec>, seed: u64, rules: Arc<Rules>) -> Demand {
        let b = &spec.raw.behaviour;
        let channel_cdf = (0..spec.leagues.len())
            .map(|l| GroupKind::ALL.iter().map(|g| Cdf::new(spec.channels.iter().map(|c| c.share[l][g.index()]))).collect())
            .collect();
        let first_day = spec.calendar.local_day(spec.start);
        let last_day = spec.calendar.local_day(SimTime(spec.end.0 - 1));
        let days = (last_day - first_day + 1).max(1);
        let mut d = Demand {
            key_tag: crate::rng::key_tag(seed, None),
            online_hours: Cdf::new(b.online_hour_weights.iter().copied()),
            offline_hours: Cdf::new(b.offline_hour_weights.iter().copied()),
            channel_cdf,
            first_day,
            day_cdf: Vec::new(),
            day_weight: Vec::new(),
            day_weight_max: Vec::new(),
            assess_cdf: GroupKind::ALL
                .iter()
                .map(|g| {
                    let cdf = Cdf::new(spec.channels.iter().map(|c| c.assessment_share[g.index()]));
                    (cdf.total() > 0.0).then_some(cdf)
                })
                .collect(),
            rules,
            seed,
            spec,
        };
        d.day_weight = (0..d.spec.channels.len())
            .map(|c| {
                let w: Vec<f64> = (0..days).map(|k| d.spec.first_attempt_day_weight(c as ChannelIdx, first_day + k)).collect();
                let mean = w.iter().sum::<f64>() / w.len() as f64;
                (w, mean)
            })
            .collect();
        d.day_cdf = d.day_weight.iter().map(|(w, _)| Cdf::new(w.iter().copied())).collect();
        d.day_weight_max = d.day_weight.iter().map(|(w, _)| w.iter().copied().fold(0.0, f64::max)).collect();
        d
    }

    /// The instant a payer who must pay by `due` means to pay on channel `c`, from `from`
    /// on: a day weighted by the chance its lead (days before the due date,
    /// `dues.lead_days`) brings it there and by the day's kind, then an hour from the
    /// profile. `within`: the payer acts in the timeline whatever its lead (a first
    /// attempt of an active payer); otherwise a lead that brings it past the end of the
    /// timeline means it pays after it (a day there weighs the channel's mean day).
    pub(crate) fn aim<R: Rng + ?Sized>(&self, rng: &mut R, c: ChannelIdx, due: SimTime, from: SimTime, within: bool) -> Aim {
        let Some(dues) = &self.spec.dues else { return Aim::NoPressure };
        if from >= due {
            return Aim::NoPressure;
        }
        let cal = &self.spec.calendar;
        // The due instant is the end of its day.
        let due_day = cal.local_day(SimTime(due.0 - 1));
        let (weights, mean) = &self.day_weight[c as usize];
        let last_day = self.first_day + weights.len() as i64 - 1;
        let (first, last) = (cal.local_day(from).max(self.first_day), due_day.min(last_day));
        let w = |d: i64| weights[(d - self.first_day) as usize] * dues.lead_between(due_day - d, due_day - d + 1);
        let total: f64 = (first..=last).map(w).sum();
        let after = if within || due_day <= last_day { 0.0 } else { mean * dues.lead_between(0, due_day - last_day) };
        if total + after <= 1e-12 || total.is_nan() {
            return Aim::NoPressure;
        }
        // A payer acting in the timeline whatever its lead is led by the due date as often as
        // its lead lands in the days from `from` (a resident paying in May for December is
        // not): the others come by the day weights.
        if within && rng.random::<f64>() >= dues.lead_between(due_day - last, due_day - first + 1) {
            return Aim::NoPressure;
        }
        let mut u = rng.random::<f64>() * (total + after);
        if u >= total {
            return Aim::AfterTimeline;
        }
        let mut day = last;
        for d in first..=last {
            u -= w(d);
            if u < 0.0 {
                day = d;
                break;
            }
        }
        let t = if day == cal.local_day(from) { self.at_or_after(rng, c, from, 0.0) } else { self.time_in_day(rng, c, day) };
        match t {
            Some(t) if t < self.spec.end => Aim::At(t),
            _ if within => Aim::NoPressure,
            _ => Aim::AfterTimeline,
        }
    }

    /// A channel for a payer of `group` in `league`, drawn from the mix.
    /// The months a payer's regular payment in this timeline covers: a unit's or a flexible
    /// employee's from the month the timeline starts in (one month, or the payer's period);
    /// a resident's, the calendar year.
    pub(crate) fn period_of(&self, payer: &crate::population::Payer) -> crate::model::Period {
        use crate::model::Period;
        let start = Period::month_of(self.spec.start, &self.spec.calendar);
        match payer.group {
            GroupKind::Unit => Period { first: start, months: 1 },
            GroupKind::Flexible => Period { first: start, months: payer.months.max(1) },
            GroupKind::ResidentPension | GroupKind::ResidentMedical | GroupKind::Proxy => Period { first: start - start % 12, months: 12 },
        }
    }

    pub(crate) fn pick_channel<R: Rng + ?Sized>(&self, rng: &mut R, league: u8, group: GroupKind) -> ChannelIdx {
        self.channel_cdf[league as usize][group.index()].pick(rng) as ChannelIdx
    }

    /// Another channel of the group's mix, open to this payer at `t`, if any.
    pub(crate) fn pick_other_open_channel<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        league: u8,
        group: GroupKind,
        current: ChannelIdx,
        t: SimTime,
    ) -> Option<ChannelIdx> {
        self.other_open(rng, league, group, current, t, |c| c.share[league as usize][group.index()])
    }

    /// A channel other than `current` open to this payer at `t`, drawn by `weight`.
    fn other_open<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        league: u8,
        group: GroupKind,
        current: ChannelIdx,
        t: SimTime,
        weight: impl Fn(&crate::scenario::ChannelSpec) -> f64,
    ) -> Option<ChannelIdx> {
        let weights = self.spec.channels.iter().enumerate().map(|(i, c)| {
            let open = i as ChannelIdx != current && !self.rules.is_closed(i as ChannelIdx, group, league, t);
            if open { weight(c) } else { 0.0 }
        });
        let cdf = Cdf::new(weights);
        (cdf.total() > 0.0).then(|| cdf.pick(rng) as ChannelIdx)
    }

    /// Another channel of the group's mix that takes this payer's payment at `t` or opens
    /// later, with the instant it does: for a payer whose channel closed for good (the old
    /// system's self-service terminals after the peripheral stop).
    pub(crate) fn pick_channel_that_reopens<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        league: u8,
        group: GroupKind,
        current: ChannelIdx,
        t: SimTime,
    ) -> Option<(ChannelIdx, SimTime)> {
        let opens: Vec<Option<SimTime>> = (0..self.spec.channels.len())
            .map(|i| match self.rules.closure(i as ChannelIdx, group, league, t) {
                _ if i as ChannelIdx == current => None,
                None => Some(t),
                Some(r) => r,
            })
            .collect();
        let cdf = Cdf::new(
            self.spec.channels.iter().zip(&opens).map(|(c, o)| if o.is_some() { c.share[league as usize][group.index()] } else { 0.0 }),
        );
        if cdf.total() <= 0.0 {
            return None;
        }
        let c = cdf.pick(rng);
        opens[c].map(|at| (c as ChannelIdx, at))
    }

    /// Where a payer of `group` has its payment assessed: an agency's hall or online service
    /// by the scenario's `assessment_share`; `None`: on its payment channel.
    pub(crate) fn pick_assessment_channel<R: Rng + ?Sized>(&self, rng: &mut R, group: GroupKind) -> Option<ChannelIdx> {
        self.assess_cdf[group.index()].as_ref().map(|c| c.pick(rng) as ChannelIdx)
    }

    /// Another assessment channel of the group open to this payer at `t`, if the group
    /// assesses at the agencies and one is open.
    pub(crate) fn pick_other_open_assessment_channel<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        league: u8,
        group: GroupKind,
        current: ChannelIdx,
        t: SimTime,
    ) -> Option<ChannelIdx> {
        self.assess_cdf[group.index()].as_ref()?;
        self.other_open(rng, league, group, current, t, |c| c.assessment_share[group.index()])
    }

    /// An online channel of the group's mix, for look-ups after a payment made offline.
    pub(crate) fn pick_online_channel<R: Rng + ?Sized>(&self, rng: &mut R, league: u8, group: GroupKind) -> Option<ChannelIdx> {
        let cdf = Cdf::new(
            self.spec.channels.iter().map(|c| if c.kind == ChannelKind::Online { c.share[league as usize][group.index()] } else { 0.0 }),
        );
        (cdf.total() > 0.0).then(|| cdf.pick(rng) as ChannelIdx)
    }

    /// The instant a payer first means to act on channel `c`: a timeline day weighted by
    /// its kind, then an hour from the profile within the channel's opening hours.
    pub(crate) fn intended_instant<R: Rng + ?Sized>(&self, rng: &mut R, c: ChannelIdx) -> SimTime {
        let day = self.first_day + self.day_cdf[c as usize].pick(rng) as i64;
        let t = self.time_in_day(rng, c, day).unwrap_or_else(|| self.spec.calendar.day_start(day));
        t.max(self.spec.start).min(SimTime(self.spec.end.0 - 1))
    }

    /// A time on local `day` when channel `c` serves, drawn from the hour profile.
    pub(crate) fn time_in_day<R: Rng + ?Sized>(&self, rng: &mut R, c: ChannelIdx, day: i64) -> Option<SimTime> {
        let ch = &self.spec.channels[c as usize];
        let start = self.spec.calendar.day_start(day);
        if !self.spec.channel_serves_at(c, start) && ch.hours.is_empty() {
            return None;
        }
        let profile = if ch.kind == ChannelKind::Online { &self.online_hours } else { &self.offline_hours };
        // A bounded number of draws; then the first opening instant of the day.
        for _ in 0..16 {
            let hour = profile.pick(rng) as i64;
            let t = start.plus_micros(hour * MICROS_PER_HOUR + rng.random_range(0..MICROS_PER_HOUR));
            if self.spec.channel_serves_at(c, t) {
                return Some(t);
            }
        }
        let first = start.plus_micros(ch.hours.first().map(|h| h.0).unwrap_or(0));
        self.spec.channel_serves_at(c, first).then_some(first)
    }

    /// The first instant at or after `t_min + delay_days` (placed by the hour profile)
    /// when channel `c` serves; `None` if not before the end of the timeline.
    pub(crate) fn at_or_after<R: Rng + ?Sized>(&self, rng: &mut R, c: ChannelIdx, t_min: SimTime, delay_days: f64) -> Option<SimTime> {
        let target = t_min.plus_micros((delay_days.max(0.0) * MICROS_PER_DAY as f64) as i64);
        let first = self.spec.calendar.local_day(target);
        for day in first..first + 400 {
            if self.spec.calendar.day_start(day) >= self.spec.end {
                return None;
            }
            // Days thinned as first attempts are (weekends, holidays at a hall's holiday
            // capacity): who knows a hall works at a tenth over the holiday mostly waits.
            if rng.random::<f64>() >= self.day_acceptance(c, day) {
                continue;
            }
            for _ in 0..4 {
                if let Some(t) = self.time_in_day(rng, c, day)
                    && t >= target
                {
                    return Some(t);
                }
            }
            // The profile placed us before the target on its own day: take the target itself
            // when the channel serves then, else move on to the next day.
            if day == first && self.spec.channel_serves_at(c, target) {
                return Some(target);
            }
        }
        None
    }

    /// The chance a payer who means to come to channel `c` on `day` does, rather than on a
    /// later day: the day's first-attempt weight against the channel's heaviest day.
    fn day_acceptance(&self, c: ChannelIdx, day: i64) -> f64 {
        let (weights, _) = &self.day_weight[c as usize];
        let max = self.day_weight_max[c as usize];
        match usize::try_from(day - self.first_day).ok().and_then(|i| weights.get(i)) {
            Some(w) if max > 0.0 => w / max,
            _ => 1.0,
        }
    }

    /// When an eager payer comes to channel `c` from `t` on: the next instant it serves,
    /// unless its counters work at reduced strength that day (a hall over the holiday):
    /// then only at that strength's chance, else a later day as [`Demand::at_or_after`] places it.
    pub(crate) fn eager_at<R: Rng + ?Sized>(&self, rng: &mut R, c: ChannelIdx, t: SimTime) -> Option<SimTime> {
        let at = self.next_serving(c, t)?;
        let ch = &self.spec.channels[c as usize];
        let day = self.spec.calendar.local_day(at);
        let reduced = ch.kind == ChannelKind::Offline && self.spec.calendar.kind_of_day(day) == crate::time::DayKind::Holiday;
        if !reduced || rng.random::<f64>() < ch.holiday_capacity {
            return Some(at);
        }
        self.at_or_after(rng, c, self.spec.calendar.day_start(day + 1), 0.0)
    }

    /// A booked slot for a visit meant for `t`: uniform over the time channel `c` is still
    /// open on `t`'s day from `t` on (off-peak as much as on-peak); `t` itself for a channel
    /// open around the clock or closed then.
    pub(crate) fn slot_from<R: Rng + ?Sized>(&self, rng: &mut R, c: ChannelIdx, t: SimTime) -> SimTime {
        let ch = &self.spec.channels[c as usize];
        let tod = self.spec.calendar.time_of_day_micros(t);
        let left: Vec<(i64, i64)> = ch.hours.iter().filter(|&&(_, b)| b > tod).map(|&(a, b)| (a.max(tod), b)).collect();
        let total: i64 = left.iter().map(|(a, b)| b - a).sum();
        if total <= 0 || !self.spec.channel_serves_at(c, t) && ch.hours.is_empty() {
            return t;
        }
        let mut u = rng.random_range(0..total);
        for (a, b) in left {
            if u < b - a {
                return t.plus_micros(a + u - tod);
            }
            u -= b - a;
        }
        t
    }

    /// The next instant at or after `t` when channel `c` serves (offline opening hours).
    pub(crate) fn next_serving(&self, c: ChannelIdx, t: SimTime) -> Option<SimTime> {
        if self.spec.channel_serves_at(c, t) {
            return Some(t);
        }
        let ch = &self.spec.channels[c as usize];
        let first = self.spec.calendar.local_day(t);
        for day in first..first + 400 {
            let start = self.spec.calendar.day_start(day);
            if start >= self.spec.end {
                return None;
            }
            let candidates: Vec<i64> = if ch.hours.is_empty() { vec![0] } else { ch.hours.iter().map(|h| h.0).collect() };
            for off in candidates {
                let s = start.plus_micros(off);
                if s >= t && self.spec.channel_serves_at(c, s) {
                    return Some(s);
                }
            }
        }
        None
    }
}

/// The agents of a cast in payer order, as the cores made them: each core's parts kept apart
/// rather than joined into one array (joining copied a region's 140 MiB of agents into fresh
/// memory on one core while the other waited: BENCHMARKS.md, twenty-first sitting). The
/// cohort gathers them into the order of their first steps anyway.
#[derive(Default)]
pub(crate) struct Agents {
    parts: Vec<Vec<Agent>>,
}

impl Agents {
    pub(crate) fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Agent> + '_ {
        self.parts.iter().flatten()
    }

    /// Every agent by reference, in order: agent `i` at `i`, read without a search of the
    /// parts.
    pub(crate) fn refs(&self) -> Vec<&Agent> {
        let mut all = Vec::with_capacity(self.len());
        all.extend(self.iter());
        all
    }

    pub(crate) fn push(&mut self, agent: Agent) {
        match self.parts.last_mut() {
            Some(last) => last.push(agent),
            None => self.parts.push(vec![agent]),
        }
    }

    /// `more` after these, without copying them.
    pub(crate) fn append(&mut self, more: Agents) {
        self.parts.extend(more.parts.into_iter().filter(|p| !p.is_empty()));
    }
}

impl IntoIterator for Agents {
    type Item = Agent;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<Agent>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.parts.into_iter().flatten()
    }
}

/// Everyone who acts during the timeline: an agent (with its first decision) per active
/// self-paying payer, and the members of each batch. Shared by the engine and the live driver.
pub(crate) struct Cast {
    pub agents: Agents,
    pub first: Vec<Next>,
    /// Per scenario batch: (payer, one period's amounts).
    pub batch_members: Vec<Vec<(crate::model::PayerRef, crate::population::Items)>>,
    pub payers_active: u64,
    /// The seed's and the run's part of the keys the batches send ([`Demand::key_tag`]).
    pub key_tag: u64,
}

impl Cast {
    /// Everyone of the population who acts in the timeline, made on all cores and kept in
    /// payer order (each payer's agent depends on the payer alone): the agents in the cores'
    /// parts ([`Agents`]), the first decisions and the batches' members joined.
    pub(crate) fn new(d: &Demand, population: &crate::population::Population) -> Cast {
        let parts = population.fold_active_parts(|| Cast::empty(d), |cast, p| cast.add(d, p));
        let mut cast = Cast::empty(d);
        cast.first.reserve_exact(parts.iter().map(|c| c.first.len()).sum());
        for (b, members) in cast.batch_members.iter_mut().enumerate() {
            members.reserve_exact(parts.iter().map(|c| c.batch_members[b].len()).sum());
        }
        for part in parts {
            cast.payers_active += part.payers_active;
            cast.agents.append(part.agents);
            cast.first.extend(part.first);
            for (all, some) in cast.batch_members.iter_mut().zip(part.batch_members) {
                all.extend(some);
            }
        }
        cast
    }

    fn empty(d: &Demand) -> Cast {
        Cast {
            agents: Agents::default(),
            first: Vec::new(),
            batch_members: vec![Vec::new(); d.spec.batches.len()],
            payers_active: 0,
            key_tag: d.key_tag,
        }
    }

    /// Payer `p`: an agent if it acts by itself, a member of its group's batches if debited.
    fn add(&mut self, d: &Demand, p: &crate::population::Payer) {
        debug_assert!(p.active, "only active payers are cast");
        self.payers_active += 1;
        if p.batch {
            // Debited by every batch of its group.
            for (b, bs) in d.spec.batches.iter().enumerate() {
                if bs.group == p.group {
                    self.batch_members[b].push((crate::model::PayerRef { id: p.id, group: p.group, league: p.league }, p.items));
                }
            }
            // Some, their debit refused during the suspension, pay that month by hand.
            if let Some((agent, next)) = Agent::withheld_by_hand(d, p) {
                self.agents.push(agent);
                self.first.push(next);
            }
            return;
        }
        let (agent, next) = Agent::new(d, p);
        self.agents.push(agent);
        self.first.push(next);
    }
}
