//! The rules of the timeline as plain data: which channel is closed when, for
//! whom, and until when; when a record becomes visible.

use crate::scenario::{ChannelIdx, GroupKind, Spec, StagedSpec};
use crate::time::{Calendar, SimTime};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicI64};

#[derive(Clone, Debug)]
pub struct Rules {
    /// (start, end, closed per channel) in time order.
    phases: Vec<(SimTime, SimTime, Vec<bool>)>,
    staged: Vec<StagedSpec>,
    calendar: Calendar,
    visible_working_days: u32,
    leagues: usize,
    channels: usize,
    /// A rollback decided by gates during the run: its phase closes channels only from the
    /// instant in the switch (`i64::MAX`: not rolled back, the phase keeps the channels of
    /// the phase before it). Every clone shares the switch: one decision for the run.
    rollback: Option<(usize, Arc<AtomicI64>)>,
    /// Channels a deployment's operators closed, whatever the timeline says (`cutover serve`'s
    /// `POST /v1/admin/maintenance`): closed until switched open again, with no reopening
    /// announced. Every clone shares it; the run's own rules never set it.
    maintenance: Arc<[AtomicBool]>,
    /// Units pay only against the agency's assessment, for the assessed amount.
    pub(crate) units_assessed: bool,
}

impl Rules {
    pub fn from_spec(spec: &Spec) -> Rules {
        Rules {
            phases: spec.phases.iter().map(|p| (p.start, p.end, p.closed.clone())).collect(),
            staged: spec.staged.clone(),
            calendar: spec.calendar.clone(),
            visible_working_days: spec.raw.behaviour.record_visible_working_days,
            leagues: spec.leagues.len(),
            channels: spec.channels.len(),
            units_assessed: spec.raw.population.groups.unit.assessed,
            maintenance: spec.channels.iter().map(|_| AtomicBool::new(false)).collect(),
            rollback: spec
                .cutover
                .as_ref()
                .and_then(|x| x.rollback.as_ref())
                .filter(|r| r.conditional())
                .map(|r| (r.phase, Arc::new(AtomicI64::new(i64::MAX)))),
        }
    }

    /// The rules of a deployment that keeps real time and knows nothing of the rehearsal's
    /// timeline: no phase, staged opening or rollback closes a channel; only its maintenance
    /// switch does ([`Rules::set_maintenance`]). Visibility and the calendar stay.
    pub fn keeping_real_time(mut self) -> Rules {
        self.phases = vec![(SimTime(0), SimTime(i64::MAX), vec![false; self.channels])];
        self.staged.clear();
        self.rollback = None;
        self
    }

    /// Close exactly the channels flagged in `closed` (by index; missing ones open).
    pub(crate) fn set_maintenance(&self, closed: &[bool]) {
        for (i, m) in self.maintenance.iter().enumerate() {
            m.store(closed.get(i).copied().unwrap_or(false), Relaxed);
        }
    }

    /// The run's rollback decided: payment suspended again from `from` through the
    /// rollback's phase (`None`: not rolled back; the phase keeps the channels open).
    /// Without a conditional rollback, nothing to decide.
    pub(crate) fn decide_rollback(&self, from: Option<SimTime>) {
        if let Some((_, switch)) = &self.rollback {
            switch.store(from.map_or(i64::MAX, |t| t.0), Relaxed);
        }
    }

    /// Whether phase `i` closes channel `c` at `t` (in it): a conditional rollback's phase
    /// closes only once decided, else it keeps what the phase before it had.
    fn closed_in(&self, i: usize, c: ChannelIdx, t: SimTime) -> bool {
        if let Some((phase, switch)) = &self.rollback
            && *phase == i
            && t.0 < switch.load(Relaxed)
        {
            return i > 0 && self.closed_in(i - 1, c, t);
        }
        self.phases.get(i).is_some_and(|p| p.2.get(c as usize).copied().unwrap_or(true))
    }

    pub(crate) fn leagues(&self) -> usize {
        self.leagues
    }
    pub(crate) fn channels(&self) -> usize {
        self.channels
    }

    fn phase_index(&self, t: SimTime) -> usize {
        self.phases.partition_point(|p| p.0 <= t).saturating_sub(1)
    }

    fn phase_closed(&self, c: ChannelIdx, t: SimTime) -> bool {
        self.maintenance.get(c as usize).is_some_and(|m| m.load(Relaxed)) || self.closed_in(self.phase_index(t), c, t)
    }

    /// Whether channel `c` is closed to everyone at `t` by the timeline's phases (a staged
    /// opening, which holds some payers only, aside): what a deployment's maintenance switch
    /// is set to at each phase start.
    pub(crate) fn channel_closed(&self, c: ChannelIdx, t: SimTime) -> bool {
        self.phase_closed(c, t)
    }

    /// The instants within `[from, until)` at which some phase starts (where a maintenance
    /// switch may have to change).
    pub(crate) fn phase_starts(&self, from: SimTime, until: SimTime) -> Vec<SimTime> {
        self.phases.iter().map(|p| p.0).filter(|t| *t > from && *t < until).collect()
    }

    /// Staged closures holding this payer at `t`.
    fn staged_at(&self, group: GroupKind, league: u8, t: SimTime) -> impl Iterator<Item = &StagedSpec> {
        self.staged.iter().filter(move |s| {
            s.from <= t && t < s.opens && s.groups.contains(&group) && s.leagues.get(league as usize).copied().unwrap_or(false)
        })
    }

    fn staged_until(&self, group: GroupKind, league: u8, t: SimTime) -> Option<SimTime> {
        self.staged_at(group, league, t).map(|s| s.opens).max()
    }

    /// `None` when channel `c` takes requests from this payer at `t`; otherwise
    /// `Some(resume_at)`, the instant it reopens (`Some(None)` if never within the timeline).
    pub(crate) fn closure(&self, c: ChannelIdx, group: GroupKind, league: u8, t: SimTime) -> Option<Option<SimTime>> {
        if !self.phase_closed(c, t) && self.staged_until(group, league, t).is_none() {
            return None;
        }
        // Walk forward through phase starts and staged openings; each step moves to a
        // later boundary, so the walk ends within phases + staged steps.
        let mut at = t;
        for _ in 0..(self.phases.len() + self.staged.len() + 2) {
            if self.phase_closed(c, at) {
                let i = self.phase_index(at);
                match (i + 1..self.phases.len()).find(|j| !self.closed_in(*j, c, self.phases[*j].0)) {
                    Some(j) => at = self.phases[j].0,
                    None => return Some(None),
                }
            } else if let Some(opens) = self.staged_until(group, league, at) {
                at = opens;
            } else {
                return Some(Some(at));
            }
        }
        Some(None)
    }

    /// The instant the closure holding `t` began (the start of the run of closing
    /// phases, or of the staged closure).
    pub(crate) fn closed_since(&self, c: ChannelIdx, group: GroupKind, league: u8, t: SimTime) -> SimTime {
        if self.phase_closed(c, t) {
            let mut i = self.phase_index(t);
            while i > 0 && self.closed_in(i - 1, c, self.phases[i - 1].0) {
                i -= 1;
            }
            return self.phases[i].0;
        }
        self.staged_at(group, league, t).map(|s| s.from).min().unwrap_or(t)
    }

    /// Whether any payment on channel `c` by this payer is refused at `t`.
    pub(crate) fn is_closed(&self, c: ChannelIdx, group: GroupKind, league: u8, t: SimTime) -> bool {
        self.closure(c, group, league, t).is_some()
    }

    /// When a payment accepted at `t` shows up in look-ups.
    pub(crate) fn record_visible_at(&self, t: SimTime) -> SimTime {
        if self.visible_working_days == 0 {
            return t;
        }
        self.calendar.nth_working_day_after(t, self.visible_working_days)
    }
}
