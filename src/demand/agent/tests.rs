//! The payer state machine's reactions, answer by answer.
use super::*;
use crate::population::Population;
use crate::scenario;
use std::sync::Arc;

fn setup() -> (Arc<scenario::Spec>, Demand) {
    let spec = Arc::new(scenario::parse("ci-smoke.json", include_str!("../../../scenarios/ci-smoke.json")).unwrap());
    let d = Demand::new(spec.clone(), 11);
    (spec, d)
}

fn agents(spec: &scenario::Spec, d: &Demand, n: u32) -> Vec<(Agent, Next)> {
    let pop = Population::new(spec, 11);
    (0..n).map(|i| Agent::new(d, &pop.payer(GroupKind::ResidentPension, i))).collect()
}

/// The payer's next step once any hotline call it makes first is answered.
fn past_calls(a: &mut Agent, d: &Demand, mut next: Next) -> Next {
    for _ in 0..MAX_CALLS {
        match next {
            Next::At(t) if matches!(a.request(), Request::Call { .. }) => next = a.on_response(d, t, &Response::CallAnswered),
            _ => break,
        }
    }
    next
}

fn at(s: &str) -> SimTime {
    SimTime::from_datetime(&chrono::DateTime::parse_from_rfc3339(s).unwrap())
}

#[test]
fn refused_payers_wait_for_the_reopening_switch_or_give_up() {
    let (spec, d) = setup();
    let now = at("2021-04-27T10:00:00+08:00");
    let resume = at("2021-05-01T00:00:00+08:00");
    let (mut waited, mut switched, mut gave_up) = (0, 0, 0);
    for (mut a, _) in agents(&spec, &d, 500) {
        let before = a.channel;
        let key = a.key();
        let next = a.on_response(&d, now, &Response::Suspended { resume_at: Some(resume) });
        match past_calls(&mut a, &d, next) {
            Next::At(t) if a.channel == before => {
                assert!(t >= resume, "retried at {t:?} before the announced reopening");
                waited += 1;
            }
            Next::At(t) => {
                assert!(t >= now);
                switched += 1;
            }
            Next::Finished => {
                // Gave up, or the drawn retry falls after the end of the timeline.
                assert!(matches!(a.stage, Stage::GaveUp | Stage::Pay | Stage::Assess));
                gave_up += (a.stage == Stage::GaveUp) as u32;
            }
        }
        assert!(a.displaced);
        assert_eq!(a.key(), key, "a retry reuses the idempotency key");
    }
    // Every channel is closed during the suspension, so nobody can switch.
    assert_eq!(switched, 0);
    assert!(waited > 400 && gave_up > 5, "waited {waited}, gave up {gave_up}");
}

#[test]
fn the_answer_changes_what_happens_next() {
    let (spec, d) = setup();
    let now = at("2021-05-06T10:00:00+08:00");
    let mut differ = 0;
    for (a, _) in agents(&spec, &d, 100).into_iter().filter(|(a, _)| a.stage == Stage::Pay) {
        let (mut ok, mut busy) = (a.clone(), a.clone());
        let n1 = ok.on_response(&d, now, &Response::Accepted { payment: TargetId::Num(1), replayed: false });
        let n2 = busy.on_response(&d, now, &Response::Overloaded { retry_after_micros: 5_000_000 });
        assert!(ok.paid && !busy.paid);
        if let Next::At(t) = n2 {
            assert!(t >= now.plus_micros(5_000_000), "overload retry before Retry-After");
            assert_eq!(busy.request().operation(), crate::model::Operation::Pay);
        }
        if n1 != n2 {
            differ += 1;
        }
    }
    assert!(differ > 80, "{differ}");
}

#[test]
fn too_early_lookups_come_back_after_visibility() {
    let (spec, d) = setup();
    let now = at("2021-05-06T10:00:00+08:00");
    let visible = at("2021-05-08T00:00:00+08:00");
    let mut checked = 0;
    for (mut a, _) in agents(&spec, &d, 300).into_iter().filter(|(a, _)| a.stage == Stage::Pay) {
        if let Next::At(_) = a.on_response(&d, now, &Response::Accepted { payment: TargetId::Num(3), replayed: false }) {
            assert_eq!(a.stage, Stage::Lookup);
            if let Next::At(t) = a.on_response(&d, now, &Response::NotYetVisible { visible_at: visible }) {
                assert!(t >= visible);
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} payers looked up");
}

#[test]
fn no_record_after_a_payment_means_look_again_later_pay_again_or_stop() {
    // The cutover scenario's payers: look again 0.5, pay again 0.3, stop 0.2.
    let spec = Arc::new(scenario::parse("c.json", include_str!("../../../scenarios/cutover-2021-ci.json")).unwrap());
    let d = Demand::new(spec.clone(), 11);
    let now = at("2021-05-06T10:00:00+08:00");
    let (mut again, mut pays, mut stops) = (0, 0, 0);
    for (mut a, _) in agents(&spec, &d, 2000).into_iter().filter(|(a, _)| a.stage == Stage::Pay) {
        let Next::At(_) = a.on_response(&d, now, &Response::Accepted { payment: TargetId::Num(3), replayed: false }) else { continue };
        if a.stage != Stage::Lookup {
            continue;
        }
        let key = a.key();
        let next = a.on_response(&d, now, &Response::NoRecord);
        match past_calls(&mut a, &d, next) {
            Next::At(t) if a.stage == Stage::Lookup => {
                // Later, by the payer's own delay: no instant was given to aim at.
                assert!(t > now.plus_micros(3_600_000_000), "looked again at {t:?}");
                again += 1;
            }
            Next::At(_) => {
                assert_eq!(a.stage, Stage::Pay);
                assert_ne!(a.key(), key, "paying again is a new order");
                pays += 1;
            }
            Next::Finished => {
                assert!(a.paid, "who stops looking has paid");
                stops += 1;
            }
        }
    }
    assert!(again > 20 && pays > 10 && stops > 5, "again {again}, pays {pays}, stops {stops}");
    assert!(again > pays && pays > stops, "weights 0.5 / 0.3 / 0.2: {again} / {pays} / {stops}");
}

#[test]
fn a_refused_payer_calls_the_hotline_then_goes_on_as_it_decided() {
    let mut v: serde_json::Value = serde_json::from_str(include_str!("../../../scenarios/ci-smoke.json")).unwrap();
    v["behaviour"]["hotline"]["after_suspended"] = 1.0.into();
    v["behaviour"]["hotline"]["redial_share"] = 1.0.into();
    let spec = Arc::new(scenario::parse("s.json", &v.to_string()).unwrap());
    let d = Demand::new(spec.clone(), 11);
    let hotline = spec.channel_index("hotline_12366").unwrap();
    let now = at("2021-04-27T10:00:00+08:00");
    let resume = at("2021-05-01T00:00:00+08:00");
    let mut called = 0;
    for (mut a, _) in agents(&spec, &d, 200) {
        let key = a.key();
        let Next::At(t) = a.on_response(&d, now, &Response::Suspended { resume_at: Some(resume) }) else { continue };
        // The call comes first, a minute later, while the hotline is open.
        assert_eq!(a.request(), Request::Call { payer: a.payer, channel: hotline });
        assert!(t > now && t < now.plus_micros(3_600_000_000), "called at {t:?}");
        called += 1;
        // Hung up: called again; answered: on with the payment, after the reopening.
        let Next::At(again) = a.on_response(&d, t, &Response::CallAbandoned) else { panic!("redials") };
        assert!(again > t);
        assert!(matches!(a.request(), Request::Call { .. }));
        match a.on_response(&d, again, &Response::CallAnswered) {
            Next::At(next) => {
                assert!(matches!(a.request(), Request::Pay { .. } | Request::Assess { .. }), "{:?}", a.request());
                // Every channel is closed in the suspension: it waited for the reopening.
                assert!(next >= resume, "went on at {next:?}");
                assert_eq!(a.key(), key);
            }
            Next::Finished => assert!(matches!(a.stage, Stage::GaveUp | Stage::Pay | Stage::Assess)),
        }
    }
    assert!(called > 150, "{called} of 200 called");
}

#[test]
fn a_lost_answer_leads_to_the_same_key_a_new_order_or_a_look_up() {
    let spec = Arc::new(scenario::parse("c.json", include_str!("../../../scenarios/cutover-2021-ci.json")).unwrap());
    let d = Demand::new(spec.clone(), 11);
    let now = at("2021-05-06T10:00:00+08:00");
    let lost = Response::Error { kind: crate::model::Failure::AnswerLost };
    let (mut same, mut new_order, mut lookup) = (0, 0, 0);
    for (mut a, _) in agents(&spec, &d, 400).into_iter().filter(|(a, _)| a.stage == Stage::Pay) {
        let key = a.key();
        let Next::At(t) = a.on_response(&d, now, &lost) else { continue };
        assert!(t >= now);
        match a.stage {
            Stage::Pay if a.key() == key => same += 1,
            Stage::Pay => new_order += 1,
            Stage::Lookup => {
                lookup += 1;
                assert!(a.verifying);
                // "No record": not paid, so a new order; records: it went through.
                let mut b = a.clone();
                assert!(matches!(b.on_response(&d, t, &Response::NoRecord), Next::At(_)));
                assert_eq!(b.stage, Stage::Pay);
                assert_ne!(b.key(), key);
                let mut c = a.clone();
                let records = Response::Records { payments: 1, latest: None };
                assert_eq!(c.on_response(&d, t, &records), Next::Finished);
                assert!(c.paid && c.stage == Stage::Done);
            }
            s => panic!("unexpected stage {s:?}"),
        }
    }
    assert!(same > 20 && new_order > 20 && lookup > 20, "same {same}, new order {new_order}, look-up {lookup}");
    // Told it was paid already, the payer stops.
    let (mut a, _) = agents(&spec, &d, 50).into_iter().find(|(a, _)| a.stage == Stage::Pay).unwrap();
    assert_eq!(a.on_response(&d, now, &Response::AlreadyPaid { refunded: false }), Next::Finished);
    assert!(a.paid);
}

#[test]
fn who_books_a_slot_comes_at_it_over_the_hours_left_that_day() {
    // Every visitor of the halls' cash counters books (appointment_share 1).
    let mut v: serde_json::Value = serde_json::from_str(include_str!("../../../scenarios/ci-smoke.json")).unwrap();
    let hall = v["channels"].as_array().unwrap().iter().position(|c| c["id"] == "hall_cash").unwrap();
    v["channels"][hall]["appointment_share"] = 1.0.into();
    let spec = Arc::new(scenario::parse("s.json", &v.to_string()).unwrap());
    let d = Demand::new(spec.clone(), 11);
    let c = spec.channel_index("hall_cash").unwrap();
    let (mut booked, mut afternoon) = (0, 0);
    for (a, next) in agents(&spec, &d, 3000) {
        let Next::At(t) = next else { continue };
        if a.channel != c || a.stage != Stage::Pay {
            continue;
        }
        assert!(a.booked, "every cash-counter visitor books");
        assert!(spec.channel_serves_at(c, t), "a slot in the opening hours: {t:?}");
        booked += 1;
        // The hour profile puts most walk-ins in the morning; slots fill the afternoon too.
        afternoon += (spec.calendar.time_of_day_micros(t) >= 14 * crate::time::MICROS_PER_HOUR) as u32;
    }
    assert!(booked > 20, "{booked} booked");
    assert!(afternoon * 4 > booked, "{afternoon} of {booked} slots in the afternoon");
    // A slot is never before the instant meant, and on its day.
    let t = at("2021-05-06T15:00:00+08:00");
    for i in 0..200 {
        let mut rng = crate::rng::item(1, "slot", i);
        let s = d.slot_from(&mut rng, c, t);
        assert!(s >= t && spec.calendar.local_day(s) == spec.calendar.local_day(t) && spec.channel_serves_at(c, s), "{s:?}");
    }
}
