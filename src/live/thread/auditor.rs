//! The auditor: every answer of the target is checked against what the reference
//! model says a correct system answers for that request at that instant.
//!
//! A shadow [`Model`] receives the same requests. Because the driver only knows
//! that the target decided somewhere between sending and receiving (widened by a
//! margin for clock skew), a suspension answer is accepted as right when the
//! channel was closed at either end of that window, and a decision as right when
//! it was open at either end; the shadow then decides at an open instant. The
//! target's assessment and payment ids are mapped to the shadow's, so later
//! requests that quote them are checked against the right records.

use crate::hash::FastMap;
use crate::model::{Faults, Request, Response, Rules, Systems, TargetId};
use crate::report::data::live::{AuditReport, Disagreement, DisagreementKind, KEPT};
use crate::scenario::Spec;
use crate::scenario::{OLD, SystemIdx};
use crate::time::SimTime;
use crate::vocabulary::AnswerKind;
use std::sync::Arc;

pub(in crate::live) struct Auditor {
    spec: Arc<Spec>,
    /// The reference systems (one, or a cutover's two, with the migration at its instant).
    shadow: Systems,
    /// Virtual µs before a request's send instant and after its answer's that the target's
    /// clock may have shown when it decided.
    margins: (i64, i64),
    /// The target keeps real time and the run compresses it: its records become visible
    /// `time_scale` times later on the run's clock than the shadow's (see
    /// [`AuditReport::visibility_in_real_time`]).
    real_time: bool,
    /// The shadow's assessment id by the target's.
    assessment_ids: FastMap<TargetId, u64>,
    report: AuditReport,
}

fn category(r: &Response) -> AnswerKind {
    r.category()
}

/// The model shows a record (a look-up's records, a certificate) that the target says is not
/// visible (yet): what a deployment whose visibility runs in real time answers in a
/// compressed run.
fn visible_later(expected: &Response, got: &Response) -> bool {
    matches!(expected, Response::Records { .. } | Response::Certificate { .. })
        && matches!(got, Response::NoRecord | Response::NotYetVisible { .. })
}

impl Auditor {
    /// `payers`: those whose requests it sees (registered in the shadow's old system).
    /// `rules`: the run's (a rollback decided during the run is one switch for the payers
    /// and the shadow). `real_time`: the target keeps real time and the run is compressed.
    pub(in crate::live) fn new(
        spec: Arc<Spec>,
        rules: Arc<Rules>,
        payers: impl Iterator<Item = crate::model::PayerRef>,
        real_time: bool,
    ) -> Auditor {
        let mut shadow = Systems::from_spec(&spec, rules, Faults::default());
        shadow.register_old(payers);
        Auditor { shadow, spec, margins: (0, 0), real_time, assessment_ids: FastMap::default(), report: AuditReport::default() }
    }

    /// Virtual time added before and after a request's send/answer window (the targets'
    /// clocks may lag the run's by that much): set before each answer is checked.
    pub(in crate::live) fn set_margins(&mut self, before: i64, after: i64) {
        self.margins = (before, after);
    }

    /// The virtual time added before the send instant.
    pub(in crate::live) fn margin_before(&self) -> i64 {
        self.margins.0
    }

    fn disagree(&mut self, kind: DisagreementKind, at: SimTime, req: &Request, expected: AnswerKind, got: AnswerKind) {
        self.report.disagreements += 1;
        *self.report.by_kind.entry(kind).or_default() += 1;
        if self.report.first.len() < KEPT {
            self.report.first.push(Disagreement {
                kind,
                at: at.format(self.spec.calendar.offset),
                operation: req.operation(),
                channel: self.spec.channels[req.channel() as usize].id.clone(),
                payer_id: req.payer().id,
                expected,
                got,
            });
        }
    }

    /// The request (to `system`) with the target's ids replaced by the shadow's. A payment
    /// the old system took and the new one holds by migration is named by the old shadow's
    /// id, which the new shadow knows as the copy's origin.
    fn translate<'a>(&self, system: SystemIdx, req: &'a Request) -> std::borrow::Cow<'a, Request> {
        // Most requests quote no id of the target's: those are checked as they are.
        if !matches!(req, Request::Pay { assessment: Some(_), .. } | Request::Certificate { .. }) {
            return std::borrow::Cow::Borrowed(req);
        }
        let mut r = req.clone();
        match &mut r {
            Request::Pay { assessment: Some(a), .. } => {
                *a = TargetId::Num(self.assessment_ids.get(a).copied().unwrap_or(u64::MAX));
            }
            Request::Certificate { payer, payment, .. } => {
                let own = self.shadow.model(system).by_external_id(payer.id, payment);
                let old = || (system != OLD).then(|| self.shadow.model(OLD).by_external_id(payer.id, payment)).flatten();
                *payment = TargetId::Num(own.or_else(old).unwrap_or(u64::MAX));
            }
            _ => {}
        }
        std::borrow::Cow::Owned(r)
    }

    /// Whether the right answer to `req` at `t` from `system` is a refusal as suspended.
    fn closed(&self, system: SystemIdx, req: &Request, t: SimTime) -> bool {
        self.shadow.model(system).refuses_at(req, t)
    }

    /// `decided_at`: the instant the target says it decided, used when it lies in the window;
    /// `another_in_flight`: whether another payment of the same payer is in flight now (asked
    /// only of a refusal as already paid).
    #[allow(clippy::too_many_arguments)]
    pub(in crate::live) fn check(
        &mut self,
        req: &Request,
        system: SystemIdx,
        got: &Response,
        sent: SimTime,
        received: SimTime,
        decided_at: Option<SimTime>,
        another_in_flight: impl FnOnce() -> bool,
    ) {
        if matches!(got, Response::Overloaded { .. } | Response::Error { .. }) {
            return; // the host's capacity or the transport, not a decision
        }
        let system = system.min(self.shadow.len() as SystemIdx - 1);
        self.report.checked += 1;
        let lo = SimTime(sent.0 - self.margins.0);
        let hi = received.plus_micros(self.margins.1);
        let closed_lo = self.closed(system, req, lo);
        let closed_hi = self.closed(system, req, hi);
        if let Response::Suspended { .. } = got {
            if !(closed_lo || closed_hi) {
                self.disagree(DisagreementKind::RefusedWhileOpen, received, req, AnswerKind::AnyDecision, category(got));
            }
            return;
        }
        if closed_lo && closed_hi {
            let kind = if matches!(got, Response::Accepted { .. }) {
                DisagreementKind::AcceptedWhileSuspended
            } else {
                DisagreementKind::AnsweredWhileSuspended
            };
            self.disagree(kind, received, req, AnswerKind::Refused(crate::vocabulary::Refusal::Suspended), category(got));
            return;
        }
        // Two payments of one payer in flight together: the deployment may have decided the
        // other first. This refusal is not judged, and the shadow does not take this payment.
        if matches!(got, Response::AlreadyPaid { .. }) && matches!(req, Request::Pay { .. }) && another_in_flight() {
            self.report.already_paid_while_another_in_flight += 1;
            return;
        }
        let at = match decided_at {
            Some(t) if t >= lo && t <= hi && !self.closed(system, req, t) => t,
            _ if !closed_hi => hi,
            _ => lo,
        };
        let expected = self.shadow.handle(at, system, &self.translate(system, req));
        match (&expected, got) {
            (Response::Assessed { assessment: s }, Response::Assessed { assessment: t }) => {
                if let Some(s) = s.num() {
                    self.assessment_ids.insert(t.clone(), s);
                }
            }
            (Response::Accepted { payment: s, .. }, Response::Accepted { payment: t, .. }) => {
                self.shadow.model_mut(system).set_external_id(s, t);
            }
            _ => {}
        }
        // Visibility is a function of time too: a look-up or certificate answered near the
        // instant a record becomes visible may rightly go either way within the window. The
        // earliest instant of the window at which the target could have answered it is its
        // start, or, when that was suspended, the reopening (a wide window may span both).
        let expected = match req {
            Request::Lookup { .. } | Request::Certificate { .. } if category(&expected) != category(got) => {
                let open = if closed_lo { self.shadow.model(system).open_from(req, lo).filter(|t| *t <= hi) } else { Some(lo) };
                match open.map(|t| self.shadow.handle(t, system, &self.translate(system, req))) {
                    Some(early) if category(&early) == category(got) => early,
                    _ => expected,
                }
            }
            _ => expected,
        };
        if category(&expected) != category(got) && self.real_time && visible_later(&expected, got) {
            self.report.visibility_in_real_time += 1;
            return;
        }
        if category(&expected) != category(got) {
            let (expected, got) = (category(&expected), category(got));
            self.disagree(DisagreementKind::Wrong { expected, got }, received, req, expected, got);
        }
    }

    /// `req` was just sent to `system`: ask the processor for the shadow's index slots that
    /// checking its answer will read (a hint; the answer comes a round trip later, after
    /// other connections' answers, and the shadow's tables are as large as the run).
    pub(in crate::live) fn prefetch(&self, system: SystemIdx, req: &Request) {
        self.shadow.prefetch(system, req);
    }

    /// Make room for about `payments` payments up front.
    pub(in crate::live) fn reserve(&mut self, payments: usize) {
        self.shadow.model_mut(OLD).reserve(payments);
    }

    /// Answers found wrong so far.
    pub(in crate::live) fn disagreements(&self) -> u64 {
        self.report.disagreements
    }

    pub(in crate::live) fn report(&self) -> AuditReport {
        self.report.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(ats: &[&str]) -> AuditReport {
        let mut r = AuditReport::default();
        for (i, at) in ats.iter().enumerate() {
            r.checked += 10;
            r.disagreements += 1;
            let kind = [DisagreementKind::RefusedWhileOpen, DisagreementKind::AcceptedWhileSuspended][i % 2];
            *r.by_kind.entry(kind).or_default() += 1;
            r.first.push(Disagreement {
                kind,
                at: at.to_string(),
                operation: crate::scenario::Operation::Pay,
                channel: "wechat_mini".into(),
                payer_id: i as u32,
                expected: AnswerKind::Refused(crate::vocabulary::Refusal::Suspended),
                got: AnswerKind::Accepted,
            });
        }
        r
    }

    #[test]
    fn merged_reports_add_up_and_keep_the_earliest() {
        let a: Vec<String> = (0..KEPT).map(|i| format!("2021-04-24T{:02}:00:00+08:00", i)).collect();
        let b: Vec<String> = (0..KEPT).map(|i| format!("2021-04-24T{:02}:30:00+08:00", i)).collect();
        let mut m = report(&a.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        m.merge(report(&b.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
        m.finish();
        assert_eq!(m.checked, 20 * KEPT as u64);
        assert_eq!(m.disagreements, 2 * KEPT as u64);
        assert_eq!(m.by_kind.values().sum::<u64>(), 2 * KEPT as u64);
        assert_eq!(m.first.len(), KEPT);
        // The earliest of both, interleaved, in time order.
        assert_eq!(m.first[0].at, "2021-04-24T00:00:00+08:00");
        assert_eq!(m.first[1].at, "2021-04-24T00:30:00+08:00");
        assert!(m.first.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(m.first.last().map(|d| d.at.as_str()), Some("2021-04-24T09:30:00+08:00"));
    }

    /// Two payments of one payer for one month in flight together (a system refusing a second
    /// payment for a month, as cutover-2021-ci's old one does): the deployment decided the
    /// second first (accepted) and the first answer back is the other's refusal as already
    /// paid. Not judged while the other is in flight; the shadow then takes the acceptance. A
    /// deployment refusing both is still caught on the second.
    #[test]
    fn a_refusal_as_already_paid_while_another_payment_is_in_flight_is_not_judged_out_of_order() {
        let spec = Arc::new(
            crate::scenario::parse("cutover-2021-ci.json", include_str!("../../../scenarios/cutover-2021-ci.json"))
                .expect("cutover-2021-ci"),
        );
        let t = SimTime::from_datetime(&chrono::DateTime::parse_from_rfc3339("2021-04-20T10:00:00+08:00").unwrap());
        let payer = crate::model::PayerRef { id: 9, group: crate::scenario::GroupKind::Flexible, league: 1 };
        let mut items = [0; 6];
        items[crate::scenario::Insurance::Pension.index()] = 100;
        let pay = |key: u128, channel: &str| Request::Pay {
            key: crate::model::IdemKey::new(key),
            payer,
            channel: spec.channel_index(channel).unwrap(),
            items,
            period: crate::model::Period::parse("2021-04", 1).unwrap(),
            special: false,
            assessment: None,
        };
        let (hall, bank) = (pay(1, "hall_pos"), pay(2, "wechat_mini"));
        let refused = Response::AlreadyPaid { refunded: false };
        let accepted = Response::Accepted { payment: TargetId::Num(1), replayed: false };
        let audit = |second: &Response, concurrent: bool| {
            let mut a = Auditor::new(spec.clone(), Arc::new(Rules::from_spec(&spec)), std::iter::once(payer), false);
            a.check(&hall, 0, &refused, t, t, None, || concurrent);
            a.check(&bank, 0, second, t, t, None, || false);
            a.report()
        };
        let r = audit(&accepted, true);
        assert_eq!((r.disagreements, r.already_paid_while_another_in_flight), (0, 1));
        // Judged in answer order without the other in flight: the pair of mirror kinds.
        let r = audit(&accepted, false);
        assert_eq!(r.disagreements, 2);
        // Both refused: the second refusal has nothing to hide behind.
        let r = audit(&refused, true);
        assert_eq!((r.disagreements, r.already_paid_while_another_in_flight), (1, 1));
        assert_eq!(r.first[0].kind.name(), "expected_accepted_got_already_paid");
    }

    /// A flexible employee's payment on the mini program accepted at `paid`, then its look-up
    /// answered "no record" at `asked`, checked with `margin_days` each side: the audit.
    fn no_record_after_payment(real_time: bool, paid: &str, margin_days: i64, asked: &str) -> AuditReport {
        let spec = Arc::new(crate::scenario::parse("ci-smoke.json", include_str!("../../../scenarios/ci-smoke.json")).expect("ci-smoke"));
        let at = |s: &str| SimTime::from_datetime(&chrono::DateTime::parse_from_rfc3339(s).unwrap());
        let payer = crate::model::PayerRef { id: 9, group: crate::scenario::GroupKind::Flexible, league: 1 };
        let channel = spec.channel_index("wechat_mini").unwrap();
        let mut items = [0; 6];
        items[crate::scenario::Insurance::Pension.index()] = 100;
        let pay = Request::Pay {
            key: crate::model::IdemKey::new(1),
            payer,
            channel,
            items,
            period: crate::model::Period::UNKNOWN,
            special: false,
            assessment: None,
        };
        let rules = Arc::new(Rules::from_spec(&spec));
        let mut a = Auditor::new(spec.clone(), rules, std::iter::once(payer), real_time);
        let paid = at(paid);
        a.check(&pay, 0, &Response::Accepted { payment: TargetId::Num(1), replayed: false }, paid, paid, None, || false);
        a.set_margins(margin_days * 86_400_000_000, margin_days * 86_400_000_000);
        let asked = at(asked);
        a.check(&Request::Lookup { payer, channel }, 0, &Response::NoRecord, asked, asked, None, || false);
        a.report()
    }

    /// A deployment keeping real time shows a record days of real time after it took it: in
    /// a run compressed 1440 times, its "no record" where the model shows the record is
    /// counted apart; the same answer from a target on the run's clock is a disagreement.
    #[test]
    fn a_real_time_deployments_late_visibility_is_counted_apart() {
        let audit = |real_time: bool| no_record_after_payment(real_time, "2021-05-06T10:00:00+08:00", 0, "2021-05-12T10:00:00+08:00");
        let real_time = audit(true);
        assert_eq!((real_time.checked, real_time.disagreements, real_time.visibility_in_real_time), (2, 0, 1));
        let same_clock = audit(false);
        assert_eq!((same_clock.checked, same_clock.disagreements, same_clock.visibility_in_real_time), (2, 1, 0));
        assert_eq!(same_clock.first[0].kind.name(), "expected_records_got_no_record");
    }

    /// A window wide enough to span the reopening (a target's clock lagging by days of the
    /// run's time, as when a change of pace is told slowly): a look-up's "no record" is right
    /// if the record was not yet visible at the window's first open instant, the reopening,
    /// though the window's start lies in the suspension.
    #[test]
    fn a_lookup_whose_window_spans_the_reopening_is_judged_from_the_reopening() {
        // Taken on the first morning after the reopening: visible two working days after the
        // May Day holidays, on 7 May.
        let paid = "2021-05-01T08:00:00+08:00";
        // From 28 April (suspended) to 8 May: at the reopening the record was not yet visible.
        let wide = no_record_after_payment(false, paid, 5, "2021-05-03T12:00:00+08:00");
        assert_eq!((wide.checked, wide.disagreements), (2, 0), "{:?}", wide.first);
        // From 2 to 4 May: the record is not visible at either end, nothing to judge.
        assert_eq!(no_record_after_payment(false, paid, 1, "2021-05-03T12:00:00+08:00").disagreements, 0);
        // Asked on 10 May with a day's margin: the record shows at every instant of the
        // window, and "no record" is wrong.
        assert_eq!(no_record_after_payment(false, paid, 1, "2021-05-10T12:00:00+08:00").disagreements, 1);
    }
}
