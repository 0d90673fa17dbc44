//! Batch debits: bank withholding of flexible employees and the government's
//! proxy payments. A run debits every enrolled payer for all periods owed since
//! its last accepted debit, keeping a bounded number in flight. A run refused as
//! suspended stops (its remaining debits wait for the next run, which then takes
//! the missed period too); overloaded debits are sent again a second later.

use crate::hash::FastMap;
use crate::model::{IdemKey, PayerRef, Period, Request, Response, TargetId};
use crate::population::{Items, PackedItems};
use crate::report::{BatchReport, RunReport};
use crate::scenario::{BatchSpec, Spec, SpecialKind};
use crate::time::{Calendar, SimTime};

/// 48 bytes (a million members in a region): the items packed, the rare assessment beside.
struct Member {
    payer: PayerRef,
    per_period: PackedItems,
    owed: u16,
    /// This run's debit was cut to the run's own month (the others were paid by hand).
    reduced: bool,
}

pub(crate) struct BatchRunner {
    /// The seed's part of the debits' keys (the run's `rng::key_tag`).
    key_tag: u64,
    index: u16,
    channel: u8,
    concurrency: u32,
    /// Each debit against an assessment made at the run (`BatchSpec::assessed`).
    assessed: bool,
    members: Vec<Member>,
    /// An assessed batch: what the target called this run's assessment of a member, by
    /// member (only those assessed and not yet debited).
    assessments: FastMap<u32, TargetId>,
    run: usize,
    run_at: Vec<SimTime>,
    /// The local month of each run.
    run_month: Vec<u32>,
    cursor: usize,
    in_flight: u32,
    stopped: bool,
    runs: Vec<RunReport>,
}

impl BatchRunner {
    pub(crate) fn new(index: usize, spec: &BatchSpec, members: Vec<(PayerRef, Items)>, calendar: &Calendar, key_tag: u64) -> BatchRunner {
        BatchRunner {
            key_tag,
            index: index as u16,
            channel: spec.channel,
            concurrency: spec.concurrency,
            assessed: spec.assessed,
            members: members
                .into_iter()
                .map(|(payer, per_period)| Member { payer, per_period: PackedItems::new(&per_period), owed: 0, reduced: false })
                .collect(),
            assessments: FastMap::default(),
            run: 0,
            run_at: spec.runs.clone(),
            run_month: spec.runs.iter().map(|t| Period::month_of(*t, calendar)).collect(),
            cursor: 0,
            in_flight: 0,
            stopped: false,
            runs: vec![RunReport::default(); spec.runs.len()],
        }
    }

    /// Which of the scenario's batches this runs.
    pub(crate) fn index(&self) -> usize {
        self.index as usize
    }

    /// The payers this batch debits.
    pub(crate) fn payer_ids(&self) -> impl Iterator<Item = crate::population::PayerId> + '_ {
        self.members.iter().map(|m| m.payer.id)
    }

    pub(crate) fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Start run `run`: every member owes one more period; returns the first debits to send.
    pub(crate) fn start_run(&mut self, _now: SimTime, run: usize) -> Vec<u32> {
        for m in &mut self.members {
            m.owed = m.owed.saturating_add(1);
            m.reduced = false;
        }
        // A run assesses anew what is owed now.
        self.assessments.clear();
        self.run = run;
        self.cursor = 0;
        self.stopped = false;
        self.fill()
    }

    fn fill(&mut self) -> Vec<u32> {
        let mut out = Vec::new();
        while !self.stopped && self.in_flight < self.concurrency && self.cursor < self.members.len() {
            let m = self.cursor;
            self.cursor += 1;
            if self.members[m].owed > 0 {
                self.in_flight += 1;
                self.runs[self.run].debits_sent += 1;
                out.push(m as u32);
            }
        }
        out
    }

    pub(crate) fn retry(&mut self, member: u32) -> Vec<u32> {
        self.in_flight += 1;
        vec![member]
    }

    /// The debit request for a member, for all periods it owes.
    pub(crate) fn request(&self, member: u32) -> Request {
        let m = &self.members[member as usize];
        let mut items = m.per_period.get();
        for a in &mut items {
            *a = a.saturating_mul(m.owed as i64);
        }
        // One key per (payer, run): a retry of the same debit reuses it.
        // A debit cut to one month is another order: another key.
        let reduced = (m.reduced as u128) << 62;
        let high = (self.key_tag as u128) << 32 | m.payer.id as u128;
        let key = IdemKey::new((high << 64) | (1u128 << 63) | reduced | ((self.index as u128) << 32) | (self.run as u128 + 1));
        // The months owed, up to the run's month.
        let month = self.run_month.get(self.run).copied().unwrap_or(0);
        let period = Period { first: (month + 1).saturating_sub(m.owed as u32), months: m.owed };
        let assessment = self.assessments.get(&member).cloned();
        if self.assessed && assessment.is_none() {
            return Request::Assess { payer: m.payer, channel: self.channel, kind: SpecialKind::GovernmentBehalf, items };
        }
        Request::Pay { key, payer: m.payer, channel: self.channel, items, period, special: self.assessed, assessment }
    }

    /// A member's debit was answered: the debits to send next go to `submit`; an overloaded
    /// debit is to be sent again at the returned instant.
    pub(crate) fn on_response(&mut self, now: SimTime, member: u32, resp: &Response, submit: &mut Vec<u32>) -> Option<SimTime> {
        assert!(self.in_flight > 0, "an answer for a debit not in flight");
        assert!((member as usize) < self.members.len(), "member {member} out of range");
        self.in_flight = self.in_flight.saturating_sub(1);
        let r = &mut self.runs[self.run];
        match resp {
            // Assessed: the debit itself goes at once, against it.
            Response::Assessed { assessment } => {
                r.assessed += 1;
                self.assessments.insert(member, assessment.clone());
                return Some(now);
            }
            Response::Accepted { .. } => {
                r.accepted += 1;
                let m = &mut self.members[member as usize];
                r.periods_debited += m.owed as u64;
                m.owed = 0;
                self.assessments.remove(&member);
            }
            Response::Suspended { .. } => {
                r.refused_suspended += 1;
                r.stopped_as_suspended = true;
                self.stopped = true;
            }
            // Some of the months owed were paid by hand meanwhile: debit the run's own month
            // only (and nothing if that is paid too).
            Response::AlreadyPaid { .. } => {
                r.refused_already_paid += 1;
                let m = &mut self.members[member as usize];
                if m.owed > 1 {
                    m.owed = 1;
                    m.reduced = true;
                    // Another amount: assessed again.
                    self.assessments.remove(&member);
                    return Some(now);
                }
                m.owed = 0;
            }
            Response::Overloaded { retry_after_micros } => {
                r.overloaded += 1;
                let wait = (*retry_after_micros).max(crate::time::MICROS_PER_SECOND);
                return Some(now.plus_micros(wait));
            }
            _ => r.other_failures += 1,
        }
        submit.extend(self.fill());
        None
    }

    /// The payers this batch debits.
    pub(crate) fn payers(&self) -> impl Iterator<Item = crate::model::PayerRef> + '_ {
        self.members.iter().map(|m| m.payer)
    }

    pub(crate) fn report(&self, spec: &Spec) -> BatchReport {
        let b = &spec.batches[self.index as usize];
        let mut runs = self.runs.clone();
        for (r, at) in runs.iter_mut().zip(&self.run_at) {
            r.at = at.format(spec.calendar.offset);
        }
        BatchReport {
            name: b.name.clone(),
            channel: spec.channels[b.channel as usize].id.clone(),
            group: b.group,
            members: self.members.len() as u64,
            members_owing_at_end: self.members.iter().filter(|m| m.owed > 0).count() as u64,
            runs,
        }
    }
}

#[cfg(test)]
mod tests {
    /// A million members in a region: a field that grows one shows in its memory.
    #[test]
    fn a_member_stays_48_bytes() {
        assert_eq!(std::mem::size_of::<super::Member>(), 48);
    }
}
