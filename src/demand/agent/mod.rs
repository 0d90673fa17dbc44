//! The per-payer state machine: what a payer does after each answer.
//!
//! An agent holds its own random stream (seeded from the master seed and the
//! payer's id), so its choices do not depend on the order in which answers
//! arrive. The engine and the live driver both call [`Agent::on_response`]
//! with whatever the target answered; nothing is decided in advance.

use super::{Aim, Demand};
use crate::model::{IdemKey, PayerRef, Period, Request, Response, TargetId};
use crate::population::{PackedItems, Payer};
use crate::scenario::{ChannelIdx, GroupKind, SpecialKind};
use crate::time::SimTime;
use rand::RngExt;
use rand_pcg::Pcg64Mcg;

/// Pause between two steps of one visit (assessment then payment, look-up then
/// certificate), in microseconds.
const THINK_MICROS: i64 = 60 * crate::time::MICROS_PER_SECOND;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    Assess,
    Pay,
    Lookup,
    Certificate,
    Done,
    GaveUp,
}

/// What the agent does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Send [`Agent::request`] at this instant.
    At(SimTime),
    /// Nothing more to do in this timeline.
    Finished,
}

#[derive(Clone, Debug)]
pub(crate) struct Agent {
    pub payer: PayerRef,
    /// The payer's items, packed (32 bytes of the agent's 112 instead of 48).
    pub items: PackedItems,
    pub period: Period,
    pub special: Option<SpecialKind>,
    pub channel: ChannelIdx,
    /// The channel it pays on, once assessed (an agency's channel assesses, another pays).
    pub pay_channel: ChannelIdx,
    /// The payer's order for this payment: 1 for the first, one more for each new order
    /// (a new idempotency key) after a lost answer or a "no record".
    pub order: u8,
    pub stage: Stage,
    /// Attempts at the current operation.
    pub attempts: u8,
    /// The suspension displaced this payer's payment (read the notice and moved it, or
    /// was refused as suspended); cleared from the backlog when it pays or gives up.
    pub displaced: bool,
    /// The payment was accepted (or the payer learnt it had been).
    pub paid: bool,
    /// Looking the record up to learn whether a payment whose answer was lost went through.
    pub verifying: bool,
    rng: Pcg64Mcg,
    /// What the target called this payer's assessment, until the payment is accepted; from
    /// then on what it called the payment (one field: an agent needs one at a time, and
    /// every active payer has an agent).
    target_id: Option<TargetId>,
    /// The seed's and the run's part of the payer's keys ([`Demand::key_tag`]).
    key_tag: u32,
    /// On the phone to the hotline: the next request is a call, and then the payer goes on
    /// at `resume` (`None`: it had finished).
    calling: bool,
    calls: u8,
    hotline: ChannelIdx,
    /// The next visit is at a booked slot (served before walk-ins).
    pub booked: bool,
    /// `NOT_RESUMING` for none: an `Option<SimTime>` took 16 bytes, and with them the agent
    /// 16 bytes more (millions of agents).
    resume: SimTime,
}

/// [`Agent`]'s `resume` when the payer had finished before it called.
const NOT_RESUMING: SimTime = SimTime(i64::MIN);

/// Most hotline calls (first calls and redials) one payer makes in a timeline.
const MAX_CALLS: u8 = 3;

impl Agent {
    /// An agent for an active self-paying payer, with the instant of its first attempt.
    pub(crate) fn new(d: &Demand, payer: &Payer) -> (Agent, Next) {
        let mut rng = crate::rng::item(d.seed, "agent", payer.id as u64);
        let channel = d.pick_channel(&mut rng, payer.league, payer.group);
        let mut agent = Agent::fresh(d, payer, d.period_of(payer), payer.special, channel, rng);
        // Assessed first at an agency, where the scenario has them: that visit comes first.
        if agent.stage == Stage::Assess
            && let Some(a) = d.pick_assessment_channel(&mut agent.rng, payer.group)
        {
            agent.channel = a;
        }
        let channel = agent.channel;
        // Aimed at the due date as published, if one presses in the timeline.
        let aimed = d
            .spec
            .due_of(payer.group, agent.period.first, agent.period.months)
            .map(|due| d.aim(&mut agent.rng, channel, due, d.spec.start, true));
        let intended = match aimed {
            Some(Aim::At(t)) => t,
            _ => d.intended_instant(&mut agent.rng, channel),
        };
        let next = agent.plan_first(d, intended);
        (agent, next)
    }

    /// An agent before its first decision: to assess first if its payment is special.
    fn fresh(d: &Demand, payer: &Payer, period: Period, special: Option<SpecialKind>, channel: ChannelIdx, rng: Pcg64Mcg) -> Agent {
        Agent {
            payer: PayerRef { id: payer.id, group: payer.group, league: payer.league },
            items: PackedItems::new(&payer.items),
            period,
            special,
            channel,
            pay_channel: channel,
            order: 1,
            // A special payment, and a unit's where units are assessed, needs an assessment.
            stage: if special.is_some() || (payer.group == GroupKind::Unit && d.rules.units_assessed) { Stage::Assess } else { Stage::Pay },
            attempts: 0,
            displaced: false,
            paid: false,
            verifying: false,
            rng,
            target_id: None,
            key_tag: d.key_tag as u32,
            calling: false,
            calls: 0,
            hotline: 0,
            booked: false,
            resume: NOT_RESUMING,
        }
    }

    /// A batch member who pays by hand the month a suspended batch run did not debit (the
    /// cutover's `withheld_pay_by_hand_share`): after the reopening, on a channel of the
    /// group's mix. `None` for the others (drawn from the payer's own stream, so scenarios
    /// without the share draw nothing).
    pub(crate) fn withheld_by_hand(d: &Demand, payer: &Payer) -> Option<(Agent, Next)> {
        let share = d.spec.cutover.as_ref().map_or(0.0, |x| x.withheld_pay_by_hand_share);
        if share <= 0.0 {
            return None;
        }
        let mut rng = crate::rng::item(d.seed, "withheld-by-hand", payer.id as u64);
        if rng.random::<f64>() >= share {
            return None;
        }
        // The first run of the payer's batch refused as suspended, and when payment resumes.
        let (run, resume) = d
            .spec
            .batches
            .iter()
            .filter(|b| b.group == payer.group)
            .find_map(|b| b.runs.iter().find_map(|t| d.rules.closure(b.channel, payer.group, payer.league, *t).map(|r| (*t, r))))?;
        let resume = resume?;
        let channel = d.pick_channel(&mut rng, payer.league, payer.group);
        let month = crate::model::Period::month_of(run, &d.spec.calendar);
        let mut agent = Agent::fresh(d, payer, Period { first: month, months: 1 }, None, channel, rng);
        let at = agent.come_back(d, resume, &d.spec.raw.behaviour.deferral_delay_days);
        let next = agent.schedule(d, at);
        Some((agent, next))
    }

    fn plan_first(&mut self, d: &Demand, intended: SimTime) -> Next {
        let b = &d.spec.raw.behaviour;
        let (g, l, c) = (self.payer.group, self.payer.league, self.channel);
        let Some(resume) = d.rules.closure(c, g, l, intended) else {
            return self.schedule(d, Some(intended));
        };
        let reads = self.rng.random::<f64>() < b.read_notice_share;
        if !reads || intended < d.spec.notice_published {
            // Comes anyway and will be refused: the state machine takes it from there.
            return self.schedule(d, Some(intended));
        }
        self.displaced = true;
        if self.rng.random::<f64>() < b.pay_early_share {
            let from = d.spec.notice_published.max(d.spec.start);
            // Pay on the own channel before it closes, or, if it is already closed when the
            // notice comes out, on another channel of the mix that is still open then.
            let channel = if d.rules.is_closed(c, g, l, from) { d.pick_other_open_channel(&mut self.rng, l, g, c, from) } else { Some(c) };
            if let Some(ch) = channel {
                let until = d.rules.closed_since(ch, g, l, intended.max(from));
                if until.0 - from.0 > crate::time::MICROS_PER_HOUR {
                    let pick = SimTime(self.rng.random_range(from.0..until.0));
                    if let Some(t) = d.next_serving(ch, pick)
                        && !d.rules.is_closed(ch, g, l, t)
                    {
                        self.channel = ch;
                        return self.schedule(d, Some(t));
                    }
                }
            }
        }
        let r = match resume {
            Some(r) => r,
            // The channel closes for good: the notice sends the payer to another of the mix.
            None => match d.pick_channel_that_reopens(&mut self.rng, l, g, c, intended) {
                Some((other, at)) => {
                    self.channel = other;
                    if at == intended {
                        return self.schedule(d, d.next_serving(other, intended));
                    }
                    at
                }
                None => return self.give_up(),
            },
        };
        let t = self.come_back(d, r, &b.deferral_delay_days);
        self.schedule(d, t)
    }

    /// When a payer kept from paying until `r` comes back: aimed at its due date (as the
    /// suspension moved it) while that lies ahead in the timeline (for the scenario's
    /// `displaced_wait_for_due_share` of payers); soon after `r` if it is late and a late
    /// fee runs (`dues.late_delay_days`); otherwise `delay` days after `r`. `None`: not
    /// before the end of the timeline.
    fn come_back(&mut self, d: &Demand, r: SimTime, delay: &crate::scenario::Dist) -> Option<SimTime> {
        let mut delay = delay;
        // A due date beyond the timeline does not press: who meant to pay now comes back soon.
        if let Some(due) =
            d.spec.due_of(self.payer.group, self.period.first, self.period.months).map(|x| d.spec.due_moved(x)).filter(|t| *t <= d.spec.end)
            && let Some(x) = &d.spec.dues
        {
            let waits = r >= due || self.rng.random::<f64>() < x.displaced_wait_for_due_share;
            match if waits { d.aim(&mut self.rng, self.channel, due, r, false) } else { Aim::NoPressure } {
                Aim::At(t) => return Some(t),
                Aim::AfterTimeline => return None,
                Aim::NoPressure => {
                    if r >= due
                        && x.late_fee_ppm_per_day > 0
                        && let Some(late) = &x.late_delay_days
                    {
                        delay = late;
                    }
                }
            }
        }
        let days = delay.sample(&mut self.rng);
        d.at_or_after(&mut self.rng, self.channel, r, days)
    }

    fn schedule(&mut self, d: &Demand, t: Option<SimTime>) -> Next {
        match t {
            Some(t) => Next::At(self.maybe_book(d, t)),
            // Nothing possible before the end of the timeline: the payer stays unserved.
            None => Next::Finished,
        }
    }

    /// A visit to counters that take appointments: by the channel's share the payer books
    /// a slot and comes at it. Draws nothing where no channel takes appointments.
    fn maybe_book(&mut self, d: &Demand, t: SimTime) -> SimTime {
        self.booked = false;
        let share = d.spec.channels[self.channel as usize].appointment_share;
        if share <= 0.0 || !matches!(self.stage, Stage::Assess | Stage::Pay) || self.rng.random::<f64>() >= share {
            return t;
        }
        self.booked = true;
        d.slot_from(&mut self.rng, self.channel, t)
    }

    fn give_up(&mut self) -> Next {
        self.stage = Stage::GaveUp;
        Next::Finished
    }

    fn finish(&mut self) -> Next {
        self.stage = Stage::Done;
        Next::Finished
    }

    /// The idempotency key of this payer's payment: stable across retries of one order.
    pub(crate) fn key(&self) -> IdemKey {
        let high = (self.key_tag as u128) << 32 | self.payer.id as u128;
        IdemKey::new((high << 64) | self.order as u128)
    }

    /// The request for the current stage (or the hotline call the payer is making).
    pub(crate) fn request(&self) -> Request {
        if self.calling {
            return Request::Call { payer: self.payer, channel: self.hotline };
        }
        match self.stage {
            Stage::Assess => Request::Assess {
                payer: self.payer,
                channel: self.channel,
                kind: self.special.unwrap_or(if self.payer.group == GroupKind::Unit {
                    SpecialKind::UnitContribution
                } else {
                    SpecialKind::IndividualMonths
                }),
                items: self.items.get(),
            },
            Stage::Pay | Stage::Done | Stage::GaveUp => Request::Pay {
                key: self.key(),
                payer: self.payer,
                channel: self.channel,
                items: self.items.get(),
                period: self.period,
                special: self.special.is_some(),
                assessment: if self.paid { None } else { self.target_id.clone() },
            },
            Stage::Lookup => Request::Lookup { payer: self.payer, channel: self.channel },
            // A certificate is asked for only after the payment was accepted, which set its id.
            Stage::Certificate => Request::Certificate {
                payer: self.payer,
                channel: self.channel,
                payment: self.target_id.clone().unwrap_or(TargetId::Num(0)),
            },
        }
    }

    /// Whether the answer now arriving is lost on the way (chance `p`). Draws from the
    /// payer's own stream only when the chance is not zero, so scenarios without lost
    /// answers draw exactly what they drew before.
    pub(crate) fn draw_lost(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random::<f64>() < p
    }

    /// Start a new order for the same payment: a new idempotency key.
    fn new_order(&mut self) {
        self.order = self.order.saturating_add(1);
    }

    /// Pay the same fee again, as a new order on the same channel.
    fn pay_again(&mut self, d: &Demand, now: SimTime) -> Next {
        self.stage = Stage::Pay;
        self.attempts = 0;
        self.new_order();
        let t = d.next_serving(self.channel, now.plus_micros(THINK_MICROS));
        self.schedule(d, t)
    }

    fn bump_attempts(&mut self, d: &Demand) -> bool {
        self.attempts = self.attempts.saturating_add(1);
        self.attempts as u32 >= d.spec.raw.behaviour.max_attempts
    }

    /// React to the answer the target (or the hotline) gave at `now`.
    pub(crate) fn on_response(&mut self, d: &Demand, now: SimTime, resp: &Response) -> Next {
        if self.calling {
            return self.on_call_ended(d, now, resp);
        }
        let next = self.decide(d, now, resp);
        self.maybe_call(d, now, resp, next)
    }

    /// Refused or confused, the payer may call the hotline first (`behaviour.hotline`'s
    /// chance for this answer), then go on as it decided. Draws nothing without a hotline.
    fn maybe_call(&mut self, d: &Demand, now: SimTime, resp: &Response, next: Next) -> Next {
        let Some(h) = &d.spec.hotline else { return next };
        let chance = match resp {
            Response::Suspended { .. } => h.after_suspended,
            Response::NoRecord if self.paid => h.after_no_record,
            Response::TurnedAway { .. } => h.after_turned_away,
            Response::Conflict | Response::AssessmentRequired | Response::NotRegistered | Response::Invalid { .. } => h.after_refused,
            _ => 0.0,
        };
        if chance <= 0.0 || self.calls >= MAX_CALLS || self.rng.random::<f64>() >= chance {
            return next;
        }
        // At once if the hotline is open; else placed by the hour profile (no burst at its opening).
        let t0 = now.plus_micros(THINK_MICROS);
        let at = if d.spec.channel_serves_at(h.channel, t0) { Some(t0) } else { d.at_or_after(&mut self.rng, h.channel, t0, 0.0) };
        let Some(t) = at.filter(|t| *t < d.spec.end) else { return next };
        self.calling = true;
        self.calls += 1;
        self.hotline = h.channel;
        self.resume = match next {
            Next::At(t) => t,
            Next::Finished => NOT_RESUMING,
        };
        Next::At(t)
    }

    /// The call ended, answered or not: who hung up may call again; then the payer goes on.
    fn on_call_ended(&mut self, d: &Demand, now: SimTime, resp: &Response) -> Next {
        if !matches!(resp, Response::CallAnswered)
            && let Some(h) = &d.spec.hotline
            && self.calls < MAX_CALLS
            && self.rng.random::<f64>() < h.redial_share
        {
            let delay = h.redial_delay_seconds.sample(&mut self.rng);
            if let Some(t) = d.next_serving(h.channel, now.plus_seconds_f64(delay)).filter(|t| *t < d.spec.end) {
                self.calls += 1;
                return Next::At(t);
            }
        }
        self.calling = false;
        match std::mem::replace(&mut self.resume, NOT_RESUMING) {
            NOT_RESUMING => Next::Finished,
            t => Next::At(t.max(now)),
        }
    }

    /// What the payer does after the system's answer at `now`.
    fn decide(&mut self, d: &Demand, now: SimTime, resp: &Response) -> Next {
        let b = &d.spec.raw.behaviour;
        match (self.stage, resp) {
            (Stage::Assess, Response::Assessed { assessment }) => {
                self.target_id = Some(assessment.clone());
                self.stage = Stage::Pay;
                self.attempts = 0;
                // Assessed at an agency: on to the payment channel, when it serves next.
                self.channel = self.pay_channel;
                let t = d.next_serving(self.channel, now.plus_micros(THINK_MICROS));
                self.schedule(d, t)
            }
            (Stage::Pay, Response::Accepted { payment, .. }) => self.on_accepted(d, now, payment),
            // Told it was paid already (under another key or channel): nothing more to pay.
            (Stage::Pay, Response::AlreadyPaid { .. }) => {
                self.paid = true;
                self.finish()
            }
            // A payment whose answer never came (lost, timed out): what the payer does next.
            (Stage::Pay, Response::Error { kind }) if kind.outcome_unknown() && d.spec.cutover.is_some() => self.on_lost(d, now),
            (Stage::Lookup, Response::Records { .. }) if self.verifying => {
                // The lost payment went through.
                self.verifying = false;
                self.paid = true;
                self.finish()
            }
            // After a lost answer "no record" means "not paid": pay again, as a new order.
            (Stage::Lookup, Response::NoRecord) if self.verifying => {
                self.verifying = false;
                self.pay_again(d, now)
            }
            // After a payment the payer saw accepted, the record is not shown yet and the
            // system does not say when: look again later, pay again, or stop looking.
            (Stage::Lookup | Stage::Certificate, Response::NoRecord) if self.paid => {
                let w = &b.after_no_record;
                let total = w.look_again + w.pay_again + w.give_up;
                let roll = self.rng.random::<f64>() * total;
                // Who stops looking has paid all the same: done, not given up.
                if roll < w.look_again {
                    if self.bump_attempts(d) {
                        return self.finish();
                    }
                    let days = b.look_again_days.sample(&mut self.rng);
                    let t = d.next_serving(self.channel, now.plus_seconds_f64(days * 86_400.0));
                    self.schedule(d, t)
                } else if roll < w.look_again + w.pay_again {
                    self.pay_again(d, now)
                } else {
                    self.finish()
                }
            }
            (Stage::Lookup, Response::Records { .. }) => {
                if self.rng.random::<f64>() < b.certificate_share {
                    self.stage = Stage::Certificate;
                    self.attempts = 0;
                    let t = d.next_serving(self.channel, now.plus_micros(THINK_MICROS));
                    self.schedule(d, t)
                } else {
                    self.finish()
                }
            }
            (Stage::Certificate, Response::Certificate { .. }) => self.finish(),
            (Stage::Lookup | Stage::Certificate, Response::NotYetVisible { visible_at }) => {
                if self.bump_attempts(d) {
                    return self.give_up();
                }
                let delay = self.rng.random::<f64>();
                let t = d.at_or_after(&mut self.rng, self.channel, (*visible_at).max(now), delay);
                self.schedule(d, t)
            }
            (_, Response::Suspended { resume_at }) => self.on_suspended(d, now, *resume_at),
            (_, Response::TurnedAway { reopens_at }) => self.on_turned_away(d, now, *reopens_at),
            (_, Response::Overloaded { .. } | Response::Error { .. }) if !matches!(self.stage, Stage::Done | Stage::GaveUp) => {
                if self.bump_attempts(d) {
                    return self.give_up();
                }
                let wait = b.overload_retry_seconds.sample(&mut self.rng);
                let hint = match resp {
                    Response::Overloaded { retry_after_micros } => *retry_after_micros,
                    _ => 0,
                };
                let t = now.plus_micros(hint).plus_seconds_f64(wait);
                let t = d.next_serving(self.channel, t);
                self.schedule(d, t)
            }
            // Conflicts, missing assessments, invalid requests, missing records, or an answer
            // that does not fit the stage: a real payer would call the hotline; here it stops.
            _ => self.give_up(),
        }
    }

    /// The payment was accepted: done, or on to look the record up (online or at a hall).
    fn on_accepted(&mut self, d: &Demand, now: SimTime, payment: &TargetId) -> Next {
        let b = &d.spec.raw.behaviour;
        self.target_id = Some(payment.clone());
        self.paid = true;
        self.attempts = 0;
        let looks_up = matches!(self.payer.group, GroupKind::Flexible | GroupKind::ResidentPension | GroupKind::ResidentMedical)
            && self.rng.random::<f64>() < b.lookup_share;
        if !looks_up {
            return self.finish();
        }
        self.stage = Stage::Lookup;
        // Records are looked up where the channel offers it (online, the halls); other
        // channels send the payer online.
        if !d.spec.channels[self.channel as usize].lookups {
            match d.pick_online_channel(&mut self.rng, self.payer.league, self.payer.group) {
                Some(c) => self.channel = c,
                None => return self.finish(),
            }
        }
        let delay = b.lookup_delay_days.sample(&mut self.rng);
        let t = d.at_or_after(&mut self.rng, self.channel, now, delay);
        self.schedule(d, t)
    }

    /// The answer to a payment never came: ask again with the same key, start a new order
    /// (here or on another channel), or look the record up first (scenario's weights).
    fn on_lost(&mut self, d: &Demand, now: SimTime) -> Next {
        let Some(x) = d.spec.cutover.as_ref() else { return self.give_up() };
        if self.bump_attempts(d) {
            return self.give_up();
        }
        let u: f64 = self.rng.random();
        let delay = x.lost_answer_delay_seconds.sample(&mut self.rng);
        let t = now.plus_seconds_f64(delay);
        let (l, g) = (self.payer.league, self.payer.group);
        if u < x.after_lost[0] {
            // Same key, same channel.
        } else if u < x.after_lost[1] {
            self.new_order();
        } else if u < x.after_lost[2] {
            self.new_order();
            if let Some(c) = d.pick_other_open_channel(&mut self.rng, l, g, self.channel, t) {
                self.channel = c;
            }
        } else {
            self.verifying = true;
            self.stage = Stage::Lookup;
            self.attempts = 0;
            if !d.spec.channels[self.channel as usize].lookups
                && let Some(c) = d.pick_online_channel(&mut self.rng, l, g)
            {
                self.channel = c;
            }
        }
        let t = d.next_serving(self.channel, t);
        self.schedule(d, t)
    }

    /// Refused as suspended: give up, switch to another open channel, or come back when the
    /// channel reopens (at once if eager, else some days later).
    /// After a refusal for a closed channel: give up (out of attempts, or by chance) or try
    /// another open channel; `None`: wait for this one to open.
    fn give_up_or_switch(&mut self, d: &Demand, now: SimTime) -> Option<Next> {
        let b = &d.spec.raw.behaviour;
        if self.bump_attempts(d) {
            return Some(self.give_up());
        }
        let u: f64 = self.rng.random();
        if u < b.give_up_probability {
            return Some(self.give_up());
        }
        if u < b.give_up_probability + b.switch_channel_probability {
            let (l, g) = (self.payer.league, self.payer.group);
            // An assessment moves among the agencies' channels, a payment among the mix.
            let other = if self.stage == Stage::Assess && self.channel != self.pay_channel {
                d.pick_other_open_assessment_channel(&mut self.rng, l, g, self.channel, now)
            } else {
                d.pick_other_open_channel(&mut self.rng, l, g, self.channel, now)
            };
            if let Some(c) = other {
                if self.stage != Stage::Assess || self.channel == self.pay_channel {
                    self.pay_channel = c;
                }
                self.channel = c;
                let t = d.next_serving(c, now.plus_micros(THINK_MICROS));
                return Some(self.schedule(d, t));
            }
        }
        None
    }

    /// Sent away from closed counters: come back another day (placed by the hour profile on
    /// or after the reopening, not at its first second), try another open channel, or give up.
    fn on_turned_away(&mut self, d: &Demand, now: SimTime, reopens_at: Option<SimTime>) -> Next {
        if let Some(next) = self.give_up_or_switch(d, now) {
            return next;
        }
        match reopens_at {
            None => self.give_up(),
            Some(r) => {
                let t = d.at_or_after(&mut self.rng, self.channel, r, 0.0);
                self.schedule(d, t)
            }
        }
    }

    fn on_suspended(&mut self, d: &Demand, now: SimTime, resume_at: Option<SimTime>) -> Next {
        let b = &d.spec.raw.behaviour;
        if matches!(self.stage, Stage::Assess | Stage::Pay) {
            self.displaced = true;
        }
        if let Some(next) = self.give_up_or_switch(d, now) {
            return next;
        }
        let resume_at = match resume_at {
            Some(r) => Some(r),
            // The channel closed for good: another of the mix, now if one is open.
            None => match d.pick_channel_that_reopens(&mut self.rng, self.payer.league, self.payer.group, self.channel, now) {
                Some((other, at)) => {
                    self.channel = other;
                    if at == now {
                        return self.schedule(d, d.next_serving(other, now.plus_micros(THINK_MICROS)));
                    }
                    Some(at)
                }
                None => None,
            },
        };
        match resume_at {
            None => self.give_up(),
            Some(r) => {
                let t = if self.rng.random::<f64>() < b.eager_share {
                    let delay = b.eager_delay_seconds.sample(&mut self.rng);
                    d.eager_at(&mut self.rng, self.channel, r.plus_seconds_f64(delay))
                } else {
                    self.come_back(d, r, &b.retry_delay_days)
                };
                self.schedule(d, t)
            }
        }
    }
}

#[cfg(test)]
mod tests;
