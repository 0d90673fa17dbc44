//! Unit and property tests of the reference model's rules.

use super::*;
use crate::scenario::{self, Insurance, Spec};
use proptest::prelude::*;

fn spec() -> Spec {
    scenario::parse("ci-smoke.json", include_str!("../../scenarios/ci-smoke.json")).expect("ci-smoke is valid")
}

fn at(s: &str) -> SimTime {
    SimTime::from_datetime(&chrono::DateTime::parse_from_rfc3339(s).unwrap())
}

fn model(spec: &Spec) -> Model {
    Model::new(Arc::new(Rules::from_spec(spec)))
}

fn payer(id: u32) -> PayerRef {
    PayerRef { id, group: GroupKind::Flexible, league: 1 }
}

fn items(pension: i64) -> Items {
    let mut i = [0; 6];
    i[Insurance::Pension.index()] = pension;
    i
}

fn pay(spec: &Spec, id: u32, key: u128, amount: i64, channel: &str) -> Request {
    Request::Pay {
        key: IdemKey::new(key),
        payer: payer(id),
        channel: spec.channel_index(channel).unwrap(),
        items: items(amount),
        period: crate::model::Period::UNKNOWN,
        special: false,
        assessment: None,
    }
}

#[test]
fn suspension_refuses_and_names_the_reopening() {
    let s = spec();
    let mut m = model(&s);
    let r = m.handle(at("2021-04-27T10:00:00+08:00"), &pay(&s, 1, 1, 100, "wechat_mini"));
    assert_eq!(r, Response::Suspended { resume_at: Some(at("2021-05-01T00:00:00+08:00")) });
    assert!(m.ledger().is_empty());
    // The same key succeeds once the new system is live: refusals are not stored.
    let r = m.handle(at("2021-05-01T00:00:01+08:00"), &pay(&s, 1, 1, 100, "wechat_mini"));
    assert_eq!(r, Response::Accepted { payment: TargetId::Num(1), replayed: false });
}

#[test]
fn peripheral_channels_close_first() {
    let s = spec();
    let mut m = model(&s);
    let t = at("2021-04-22T12:00:00+08:00");
    assert_eq!(m.handle(t, &pay(&s, 1, 1, 100, "wechat_mini")), Response::Suspended { resume_at: Some(at("2021-05-01T00:00:00+08:00")) });
    assert!(matches!(m.handle(t, &pay(&s, 2, 2, 100, "hall_cash")), Response::Accepted { .. }));
}

#[test]
fn idempotency_replays_and_detects_conflicts() {
    let s = spec();
    let mut m = model(&s);
    let t = at("2021-05-06T10:00:00+08:00");
    assert_eq!(m.handle(t, &pay(&s, 7, 99, 500, "alipay")), Response::Accepted { payment: TargetId::Num(1), replayed: false });
    assert_eq!(m.handle(t, &pay(&s, 7, 99, 500, "alipay")), Response::Accepted { payment: TargetId::Num(1), replayed: true });
    // Same key and body through another channel is still the same payment.
    assert_eq!(m.handle(t, &pay(&s, 7, 99, 500, "wechat_mini")), Response::Accepted { payment: TargetId::Num(1), replayed: true });
    assert_eq!(m.handle(t, &pay(&s, 7, 99, 501, "alipay")), Response::Conflict);
    let ledger = m.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger.values().next().copied(), Some(LedgerCell { count: 1, sum_fen: 500 }));
}

#[test]
fn special_payments_need_a_matching_assessment() {
    let s = spec();
    let mut m = model(&s);
    let t = at("2021-05-06T10:00:00+08:00");
    let c = s.channel_index("hall_cash").unwrap();
    let special = |assessment, amount| Request::Pay {
        key: IdemKey::new(5),
        payer: payer(3),
        channel: c,
        items: items(amount),
        period: crate::model::Period::UNKNOWN,
        special: true,
        assessment,
    };
    assert_eq!(m.handle(t, &special(None, 1000)), Response::AssessmentRequired);
    let a = match m.handle(t, &Request::Assess { payer: payer(3), channel: c, kind: SpecialKind::NearRetirement, items: items(1000) }) {
        Response::Assessed { assessment } => assessment,
        other => panic!("expected an assessment, got {other:?}"),
    };
    assert_eq!(m.handle(t, &special(Some(a.clone()), 999)), Response::AssessmentRequired, "amount must be the assessed one");
    let other_payer = Request::Pay {
        key: IdemKey::new(6),
        payer: payer(4),
        channel: c,
        items: items(1000),
        period: crate::model::Period::UNKNOWN,
        special: true,
        assessment: Some(a.clone()),
    };
    assert_eq!(m.handle(t, &other_payer), Response::AssessmentRequired, "assessment belongs to payer 3");
    assert!(matches!(m.handle(t, &special(Some(a.clone()), 1000)), Response::Accepted { replayed: false, .. }));
    let again = Request::Pay {
        key: IdemKey::new(7),
        payer: payer(3),
        channel: c,
        items: items(1000),
        period: crate::model::Period::UNKNOWN,
        special: true,
        assessment: Some(a.clone()),
    };
    assert_eq!(m.handle(t, &again), Response::AssessmentRequired, "an assessment is used once");
}

#[test]
fn a_unit_pays_only_the_agencys_assessment_of_its_contribution() {
    // The smoke scenario has units assessed (population.groups.unit.assessed).
    let s = spec();
    assert!(s.raw.population.groups.unit.assessed);
    let mut m = model(&s);
    let t = at("2021-05-06T10:00:00+08:00");
    let (agency, client) = (s.channel_index("si_agency_hall").unwrap(), s.channel_index("unit_client").unwrap());
    let unit = PayerRef { id: 8, group: GroupKind::Unit, league: 2 };
    let unit_pay = |key: u128, amount: i64, assessment: Option<TargetId>| Request::Pay {
        key: IdemKey::new(key),
        payer: unit,
        channel: client,
        items: items(amount),
        period: crate::model::Period::UNKNOWN,
        special: false,
        assessment,
    };
    assert_eq!(m.handle(t, &unit_pay(1, 5000, None)), Response::AssessmentRequired, "no assessment, no unit payment");
    let assess = Request::Assess { payer: unit, channel: agency, kind: SpecialKind::UnitContribution, items: items(5000) };
    let Response::Assessed { assessment } = m.handle(t, &assess) else { panic!("the agency assesses") };
    assert_eq!(m.handle(t, &unit_pay(2, 4999, Some(assessment.clone()))), Response::AssessmentRequired, "the assessed amount only");
    assert!(matches!(m.handle(t, &unit_pay(3, 5000, Some(assessment))), Response::Accepted { replayed: false, .. }));
    // A flexible employee's regular payment needs none.
    assert!(matches!(m.handle(t, &pay(&s, 9, 4, 700, "wechat_mini")), Response::Accepted { .. }));
}

#[test]
fn records_show_two_working_days_later() {
    let s = spec();
    let mut m = model(&s);
    let c = s.channel_index("wechat_mini").unwrap();
    let lookup = Request::Lookup { payer: payer(9), channel: c };
    assert_eq!(m.handle(at("2021-05-06T09:00:00+08:00"), &lookup), Response::NoRecord);
    // Paid Thu 6 May; Fri 7 is the first working day after, Sat 8 (a make-up day) the second.
    assert!(matches!(m.handle(at("2021-05-06T10:00:00+08:00"), &pay(&s, 9, 1, 100, "wechat_mini")), Response::Accepted { .. }));
    // Before it shows, the system says "no record" and never when it will show.
    assert_eq!(m.handle(at("2021-05-07T23:00:00+08:00"), &lookup), Response::NoRecord);
    let cert = |payment: u64| Request::Certificate { payer: payer(9), channel: c, payment: TargetId::Num(payment) };
    assert_eq!(m.handle(at("2021-05-07T23:00:00+08:00"), &cert(1)), Response::NoRecord);
    assert_eq!(m.handle(at("2021-05-08T00:00:00+08:00"), &lookup), Response::Records { payments: 1, latest: Some(TargetId::Num(1)) });
    // A system told to announce the instant (a cutover system's `lookup_before_visible:
    // visible_at`) does.
    let mut announcing = Model::with_policy(Arc::new(Rules::from_spec(&s)), Policy::default());
    assert!(matches!(announcing.handle(at("2021-05-06T10:00:00+08:00"), &pay(&s, 9, 1, 100, "wechat_mini")), Response::Accepted { .. }));
    assert_eq!(
        announcing.handle(at("2021-05-07T23:00:00+08:00"), &lookup),
        Response::NotYetVisible { visible_at: at("2021-05-08T00:00:00+08:00") }
    );
    assert_eq!(m.handle(at("2021-05-08T01:00:00+08:00"), &cert(1)), Response::Certificate { certificate: TargetId::Num(1) });
    assert_eq!(m.handle(at("2021-05-08T01:00:00+08:00"), &cert(2)), Response::NoRecord);
}

#[test]
fn staged_reopening_keeps_named_groups_closed() {
    let mut raw: serde_json::Value = serde_json::from_str(include_str!("../../scenarios/ci-smoke.json")).unwrap();
    raw["timeline"]["staged_reopening"] = serde_json::json!([{
        "groups": ["resident_medical"], "leagues": ["Hohhot"],
        "from": "2021-05-01T00:00:00+08:00", "opens": "2021-05-07T00:00:00+08:00", "source": "S"
    }]);
    let s = scenario::parse("staged.json", &raw.to_string()).unwrap();
    let mut m = model(&s);
    let c = s.channel_index("wechat_mini").unwrap();
    let req = |league| Request::Pay {
        key: IdemKey::new(league as u128),
        payer: PayerRef { id: 1, group: GroupKind::ResidentMedical, league },
        channel: c,
        items: {
            let mut i = [0; 6];
            i[Insurance::Medical.index()] = 28_000;
            i
        },
        period: crate::model::Period::UNKNOWN,
        special: false,
        assessment: None,
    };
    let t = at("2021-05-02T10:00:00+08:00");
    assert_eq!(m.handle(t, &req(1)), Response::Suspended { resume_at: Some(at("2021-05-07T00:00:00+08:00")) });
    assert!(matches!(m.handle(t, &req(0)), Response::Accepted { .. }), "Chifeng is not staged");
    // During the suspension the resume instant skips past the staged closure too.
    assert_eq!(
        m.handle(at("2021-04-27T10:00:00+08:00"), &req(1)),
        Response::Suspended { resume_at: Some(at("2021-05-07T00:00:00+08:00")) }
    );
}

fn arb_request(channels: u8) -> impl Strategy<Value = (i64, Request)> {
    (0i64..(28 * 24), 0u32..20, 0u128..30, 1i64..5_000, 0..channels, 0u8..12).prop_map(|(hour, id, key, amount, channel, league)| {
        (
            hour,
            Request::Pay {
                key: IdemKey::new(key),
                payer: PayerRef { id, group: GroupKind::Flexible, league },
                channel,
                items: items(amount),
                period: crate::model::Period::UNKNOWN,
                special: false,
                assessment: None,
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Ledger conservation and idempotency: the ledger equals the sum of the first
    /// accepted body of every key, whatever mix of retries, conflicts and refusals.
    #[test]
    fn ledger_holds_each_accepted_key_once(reqs in proptest::collection::vec(arb_request(12), 1..200)) {
        let s = spec();
        let mut m = model(&s);
        let mut first: std::collections::HashMap<IdemKey, i64> = std::collections::HashMap::new();
        let mut reqs = reqs;
        reqs.sort_by_key(|(h, _)| *h);
        for (hour, req) in &reqs {
            let now = s.start.plus_micros(hour * crate::time::MICROS_PER_HOUR);
            let resp = m.handle(now, req);
            let Request::Pay { key, items, channel, payer, .. } = req else { unreachable!() };
            match resp {
                Response::Accepted { replayed: false, .. } => {
                    prop_assert!(first.insert(*key, items.iter().sum()).is_none(), "a key accepted twice as new");
                    prop_assert!(!m.rules().is_closed(*channel, payer.group, payer.league, now), "accepted while closed");
                }
                Response::Accepted { replayed: true, .. } => prop_assert!(first.contains_key(key)),
                Response::Conflict => prop_assert!(first.contains_key(key)),
                Response::Suspended { resume_at } => {
                    prop_assert!(m.rules().is_closed(*channel, payer.group, payer.league, now));
                    if let Some(r) = resume_at {
                        prop_assert!(r > now);
                        prop_assert!(!m.rules().is_closed(*channel, payer.group, payer.league, r));
                    }
                }
                other => prop_assert!(false, "unexpected answer {:?}", other),
            }
        }
        let total: i64 = m.ledger().values().map(|c| c.sum_fen).sum();
        let count: u64 = m.ledger().values().map(|c| c.count).sum();
        prop_assert_eq!(total, first.values().sum::<i64>());
        prop_assert_eq!(count, first.len() as u64);
    }

    /// Nothing is accepted on a channel closed by the phase at that instant.
    #[test]
    fn nothing_accepted_in_a_closed_phase(hour in 0i64..(28 * 24), channel in 0u8..12, league in 0u8..12) {
        let s = spec();
        let mut m = model(&s);
        let now = s.start.plus_micros(hour * crate::time::MICROS_PER_HOUR);
        let req = Request::Pay { key: IdemKey::new(1), payer: PayerRef { id: 1, group: GroupKind::Flexible, league }, channel, items: items(100), period: crate::model::Period::UNKNOWN, special: false, assessment: None };
        let resp = m.handle(now, &req);
        let closed = s.phases[s.phase_at(now)].closed[channel as usize];
        prop_assert_eq!(closed, matches!(resp, Response::Suspended { .. }));
        prop_assert_eq!(!closed, matches!(resp, Response::Accepted { .. }));
    }
}

#[test]
fn another_systems_ids_are_found_through_the_payers_payments() {
    let spec = spec();
    let mut m = model(&spec);
    let now = at("2021-05-10T10:00:00+08:00");
    let ids: Vec<TargetId> = [(7, 1), (7, 2), (8, 3)]
        .iter()
        .map(|&(p, k)| match m.handle(now, &pay(&spec, p, k, 1000 + k as i64, "wechat_mini")) {
            Response::Accepted { payment, .. } => payment,
            other => panic!("{other:?}"),
        })
        .collect();
    // The other system's ids: text for two, a number for one.
    let theirs = [TargetId::text("p-900"), TargetId::Num(901), TargetId::text("6f1c2a")];
    for (id, ext) in ids.iter().zip(&theirs) {
        m.set_external_id(id, ext);
    }
    let own = |i: usize| ids[i].num();
    assert_eq!(m.by_external_id(7, &theirs[0]), own(0));
    assert_eq!(m.by_external_id(7, &theirs[1]), own(1));
    assert_eq!(m.by_external_id(8, &theirs[2]), own(2));
    // Another payer's id, an unknown id, the number behind a text id, an unknown payer: nothing.
    assert_eq!(m.by_external_id(8, &theirs[0]), None);
    assert_eq!(m.by_external_id(7, &TargetId::text("p-999")), None);
    assert_eq!(m.by_external_id(7, &TargetId::Num(900)), None);
    assert_eq!(m.by_external_id(9, &theirs[0]), None);
    // A replay of a key answers with the stored payment; a changed body is a conflict.
    assert!(
        matches!(m.handle(now, &pay(&spec, 7, 1, 1001, "wechat_mini")), Response::Accepted { replayed: true, payment } if payment == ids[0])
    );
    assert_eq!(m.handle(now, &pay(&spec, 7, 1, 5, "wechat_mini")), Response::Conflict);
}

/// The smoke scenario with every channel suspended for the whole timeline.
fn suspended_everywhere() -> Spec {
    let mut v: serde_json::Value = serde_json::from_str(include_str!("../../scenarios/ci-smoke.json")).unwrap();
    for p in v["timeline"]["phases"].as_array_mut().unwrap() {
        p["suspend_all"] = serde_json::Value::Bool(true);
    }
    scenario::parse("suspended.json", &v.to_string()).expect("the changed scenario is valid")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Decisions put back into a model under rules that would refuse everything give the
    /// same state: the same ledger, every key's payment, replays, records and conflicts.
    #[test]
    fn restored_decisions_keep_every_payment_under_other_rules(reqs in proptest::collection::vec(arb_request(12), 1..200)) {
        let s = spec();
        let mut m = model(&s);
        let mut decisions = Vec::new();
        let mut reqs = reqs;
        reqs.sort_by_key(|(h, _)| *h);
        let assess = Request::Assess { payer: payer(3), channel: 0, kind: SpecialKind::NearRetirement, items: items(900) };
        let after = at("2021-05-06T10:00:00+08:00");
        let mut all: Vec<(SimTime, Request)> = reqs.iter().map(|(h, r)| (s.start.plus_micros(h * crate::time::MICROS_PER_HOUR), r.clone())).collect();
        all.push((after, assess));
        all.sort_by_key(|(t, _)| *t);
        for (now, req) in &all {
            let resp = m.handle(*now, req);
            if let Some(d) = m.decision(req, &resp) {
                // Through the text a store keeps.
                let text = serde_json::to_string(&d).unwrap();
                decisions.push(serde_json::from_str::<Decision>(&text).unwrap());
            }
            let changed = matches!(resp, Response::Accepted { replayed: false, .. } | Response::Assessed { .. });
            prop_assert_eq!(m.decision(req, &resp).is_some(), changed);
        }
        let other = suspended_everywhere();
        let mut back = model(&other);
        for d in &decisions {
            back.restore(d).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        prop_assert_eq!(back.ledger(), m.ledger());
        prop_assert_eq!(back.payments_accepted(), m.payments_accepted());
        for (_, req) in &all {
            if let Request::Pay { key, .. } = req {
                prop_assert_eq!(back.payment_by_key(*key), m.payment_by_key(*key));
            }
        }
        // The restored model still answers by its own (new) rules: everything is suspended.
        if let Some((_, r)) = reqs.first() {
            let suspended = matches!(back.handle(after, r), Response::Suspended { .. });
            prop_assert!(suspended, "the restored model answers by the new rules");
        }
        // Restoring the same decisions twice is refused, not booked twice.
        if let Some(d @ Decision::Paid { .. }) = decisions.iter().find(|d| matches!(d, Decision::Paid { .. })) {
            let mut twice = model(&s);
            for d in &decisions {
                twice.restore(d).unwrap();
            }
            prop_assert!(twice.restore(d).is_err());
        }
    }
}

fn cutover_spec() -> Spec {
    scenario::parse("cutover-2021-ci.json", include_str!("../../scenarios/cutover-2021-ci.json")).expect("cutover-2021-ci is valid")
}

/// The cutover's two systems, payers 1 to 20 registered in the old one (as a rehearsal's
/// payers are).
fn cutover_systems(s: &Spec, faults: Faults) -> Systems {
    let mut sys = Systems::from_spec(s, Arc::new(Rules::from_spec(s)), faults);
    sys.register_old((1..=20).map(payer));
    sys
}

fn pay_for(spec: &Spec, id: u32, key: u128, amount: i64, channel: &str, period: Period) -> Request {
    match pay(spec, id, key, amount, channel) {
        Request::Pay { key, payer, channel, items, special, assessment, .. } => {
            Request::Pay { key, payer, channel, items, period, special, assessment }
        }
        _ => unreachable!("pay builds a payment"),
    }
}

fn month(m: u32) -> Period {
    Period { first: Period::month(2021, m), months: 1 }
}

#[test]
fn the_new_system_refuses_a_fee_paid_twice_under_another_key_or_channel() {
    let s = cutover_spec();
    let mut sys = cutover_systems(&s, Faults::default());
    let may = at("2021-05-06T10:00:00+08:00");
    let first = sys.handle(may, crate::scenario::NEW, &pay_for(&s, 1, 1, 100, "wechat_mini", month(5)));
    assert!(matches!(first, Response::Accepted { replayed: false, .. }), "{first:?}");
    // Another key, another channel, the same payer, insurance and month.
    assert_eq!(
        sys.handle(may, crate::scenario::NEW, &pay_for(&s, 1, 2, 100, "alipay", month(5))),
        Response::AlreadyPaid { refunded: false }
    );
    // A period that overlaps (a year holding May) is the same fee too; another month is not.
    let year = Period { first: Period::month(2021, 1), months: 12 };
    assert_eq!(
        sys.handle(may, crate::scenario::NEW, &pay_for(&s, 1, 3, 100, "wechat_mini", year)),
        Response::AlreadyPaid { refunded: false }
    );
    assert!(matches!(sys.handle(may, crate::scenario::NEW, &pay_for(&s, 1, 4, 100, "wechat_mini", month(6))), Response::Accepted { .. }));
    // The same key replays, it does not count as a second payment.
    assert!(matches!(
        sys.handle(may, crate::scenario::NEW, &pay_for(&s, 1, 1, 100, "wechat_mini", month(5))),
        Response::Accepted { replayed: true, .. }
    ));
    // Keys only: the second payment is taken.
    let naive = Faults { naive_dedup: true, ..Faults::default() };
    let mut sys = cutover_systems(&s, naive);
    sys.handle(may, crate::scenario::NEW, &pay_for(&s, 1, 1, 100, "wechat_mini", month(5)));
    assert!(matches!(
        sys.handle(may, crate::scenario::NEW, &pay_for(&s, 1, 2, 100, "alipay", month(5))),
        Response::Accepted { replayed: false, .. }
    ));
}

#[test]
fn each_system_keeps_to_its_window_and_its_id_space() {
    let s = cutover_spec();
    let mut sys = cutover_systems(&s, Faults::default());
    let (old, new) = (crate::scenario::OLD, crate::scenario::NEW);
    let opens = at("2021-05-01T00:00:00+08:00");
    let april = at("2021-04-20T10:00:00+08:00");
    let a = sys.handle(april, old, &pay_for(&s, 1, 1, 100, "hall_cash", month(4)));
    assert_eq!(a, Response::Accepted { payment: TargetId::Num(1), replayed: false });
    // The new system is not open in April; the old one, once stopped, names the new one's opening.
    assert_eq!(sys.handle(april, new, &pay_for(&s, 2, 2, 100, "hall_cash", month(4))), Response::Suspended { resume_at: Some(opens) });
    let after_stop = at("2021-04-24T00:00:00+08:00");
    assert_eq!(sys.handle(after_stop, old, &pay_for(&s, 3, 3, 100, "hall_cash", month(4))), Response::Suspended { resume_at: Some(opens) });
    let b = sys.handle(at("2021-05-06T10:00:00+08:00"), new, &pay_for(&s, 4, 4, 100, "hall_cash", month(5)));
    assert_eq!(b, Response::Accepted { payment: TargetId::Num(900_000_000_000 + 2), replayed: false }, "after the migrated payment");
    // Faulty: the old system acknowledges after its stop.
    let f = Faults { accept_after_stop: true, ..Faults::default() };
    let mut sys = cutover_systems(&s, f);
    assert!(matches!(sys.handle(after_stop, old, &pay_for(&s, 3, 3, 100, "hall_cash", month(4))), Response::Accepted { .. }));
}

#[test]
fn migrated_payments_and_assessments_are_found_under_the_old_ids() {
    let s = cutover_spec();
    let mut sys = cutover_systems(&s, Faults::default());
    let (old, new) = (crate::scenario::OLD, crate::scenario::NEW);
    let april = at("2021-04-20T10:00:00+08:00");
    let ch = s.channel_index("hall_cash").unwrap();
    let p = payer(9);
    let Response::Accepted { payment, .. } = sys.handle(april, old, &pay_for(&s, 9, 1, 100, "hall_cash", month(4))) else { panic!() };
    let assess = Request::Assess { payer: p, channel: ch, kind: SpecialKind::IndividualMonths, items: items(500) };
    let Response::Assessed { assessment } = sys.handle(april, old, &assess) else { panic!() };
    let may = at("2021-05-10T10:00:00+08:00");
    // The first request decided after the migration's instant finds it done.
    let look = sys.handle(may, new, &Request::Lookup { payer: p, channel: ch });
    assert!(matches!(look, Response::Records { payments: 1, .. }), "{look:?}");
    assert_eq!(sys.migration().map(|m| (m.payments_written, m.assessments_written)), Some((1, 1)));
    let cert = sys.handle(may, new, &Request::Certificate { payer: p, channel: ch, payment: payment.clone() });
    assert!(matches!(cert, Response::Certificate { .. }), "{cert:?}");
    // The open assessment is honoured by the new system under the old id.
    let special = Request::Pay {
        key: IdemKey::new(77),
        payer: p,
        channel: ch,
        items: items(500),
        period: month(5),
        special: true,
        assessment: Some(assessment),
    };
    assert!(matches!(sys.handle(may, new, &special), Response::Accepted { replayed: false, .. }));
    // The April fee is paid already: a second payment for it is refused in May.
    assert_eq!(sys.handle(may, new, &pay_for(&s, 9, 5, 100, "wechat_mini", month(4))), Response::AlreadyPaid { refunded: false });
    let [o, n] = sys.books().payments;
    assert_eq!(o.len(), 1);
    assert_eq!(n.iter().filter(|r| r.origin == payment.num()).count(), 1);
}

/// The books taken from the systems a slice at a time, the systems consumed, are the books
/// read from them whole: more payments than a slice, migrated copies among them.
#[test]
fn books_taken_a_slice_at_a_time_are_the_books_read_whole() {
    let s = cutover_spec();
    let mut sys = cutover_systems(&s, Faults::default());
    sys.register_old((21..=70_000).map(payer));
    let (old, new) = (crate::scenario::OLD, crate::scenario::NEW);
    let april = at("2021-04-20T10:00:00+08:00");
    for id in 1..=70_000u32 {
        let answer = sys.handle(april, old, &pay_for(&s, id, id as u128, 100 + id as i64, "hall_cash", month(4)));
        assert!(matches!(answer, Response::Accepted { .. }), "{answer:?}");
    }
    let may = at("2021-05-10T10:00:00+08:00");
    for id in 1..=3u32 {
        let answer = sys.handle(may, new, &pay_for(&s, id, 100_000 + id as u128, 100, "wechat_mini", month(5)));
        assert!(matches!(answer, Response::Accepted { .. }), "{answer:?}");
    }
    let whole = sys.books();
    assert_eq!((whole.payments[0].len(), whole.payments[1].len()), (70_000, 70_003));
    assert!(whole.payments[1].iter().filter(|r| r.origin.is_some()).count() == 70_000, "the migrated copies");
    let taken = sys.into_books();
    assert!(taken.payments == whole.payments, "the rows, in order");
    assert_eq!(taken.registrations, whole.registrations);
}

#[test]
fn look_ups_before_the_record_shows_say_no_record_without_the_instant() {
    let s = cutover_spec();
    let mut sys = cutover_systems(&s, Faults::default());
    let new = crate::scenario::NEW;
    let ch = s.channel_index("wechat_mini").unwrap();
    let may = at("2021-05-06T10:00:00+08:00");
    sys.handle(may, new, &pay_for(&s, 5, 1, 100, "wechat_mini", month(5)));
    assert_eq!(sys.handle(may.plus_micros(60_000_000), new, &Request::Lookup { payer: payer(5), channel: ch }), Response::NoRecord);
    let later = at("2021-05-20T10:00:00+08:00");
    assert!(matches!(sys.handle(later, new, &Request::Lookup { payer: payer(5), channel: ch }), Response::Records { payments: 1, .. }));
}

#[test]
fn the_new_system_takes_only_the_payers_the_migration_registered() {
    let s = cutover_spec();
    let (old, new) = (crate::scenario::OLD, crate::scenario::NEW);
    let may = at("2021-05-06T10:00:00+08:00");
    let mut sys = cutover_systems(&s, Faults::default());
    // Payer 21 was never registered in the old system: the new one does not know it.
    assert_eq!(sys.handle(may, new, &pay_for(&s, 21, 1, 100, "wechat_mini", month(5))), Response::NotRegistered);
    assert!(matches!(sys.handle(may, new, &pay_for(&s, 20, 2, 100, "wechat_mini", month(5))), Response::Accepted { .. }));
    assert_eq!(sys.migration().map(|m| (m.registrations_read, m.registrations_written)), Some((20, 20)));
    let regs = sys.books().registrations.expect("in process, both systems' registrations are read");
    assert_eq!((regs[0].len(), regs[1].len()), (20, 20));
    // A registration is one per payer: registering again keeps the first.
    let m = sys.model_mut(old);
    assert!(!m.register(PayerRef { league: 0, ..payer(3) }));
    assert_eq!(m.registrations()[2], payer(3));
    // The league mapped wrongly by a broken migration is the registration the new system holds.
    let mut sys = cutover_systems(&s, Faults { migration: Some(MigrationFault::WrongLeague), ..Faults::default() });
    sys.register_old(std::iter::once(PayerRef { league: 1, ..payer(30) }));
    sys.advance(may);
    let regs = sys.books().registrations.unwrap();
    let moved = regs[1].iter().find(|r| r.id == 30).unwrap();
    assert_eq!(moved.league as usize, 2 % s.leagues.len());
}

#[test]
fn a_key_is_forgotten_after_its_lifetime() {
    let s = spec();
    let policy = Policy { key_ttl_micros: Some(3_600_000_000), ..Policy::default() };
    let mut m = Model::with_policy(Arc::new(Rules::from_spec(&s)), policy);
    let t = at("2021-05-06T10:00:00+08:00");
    assert!(matches!(m.handle(t, &pay(&s, 1, 1, 100, "wechat_mini")), Response::Accepted { replayed: false, .. }));
    assert!(matches!(m.handle(t.plus_micros(1_000_000), &pay(&s, 1, 1, 100, "wechat_mini")), Response::Accepted { replayed: true, .. }));
    // Two hours later the same key is a new payment: the system charges twice.
    assert!(matches!(
        m.handle(t.plus_micros(7_200_000_000), &pay(&s, 1, 1, 100, "wechat_mini")),
        Response::Accepted { replayed: false, .. }
    ));
    assert_eq!(m.payments_accepted(), 2);
}

/// A key's text is its 128 bits as 32 lowercase hex digits, read back as the same key.
#[test]
fn a_keys_text_is_its_value_in_hex_and_reads_back() {
    for v in [0u128, 1, 0xabc0, u128::MAX, 0x07e5_2880_0000_0344_0000_0000_0000_0001, 1 << 127, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
        let k = IdemKey::new(v);
        assert_eq!(k.to_text(), format!("{v:032x}"));
        assert_eq!(IdemKey::from_text(&k.to_text()), k);
    }
}
