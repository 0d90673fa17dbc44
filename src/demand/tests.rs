//! Due dates and the demand: first attempts pulled toward the due date, dues moved by the
//! suspension, late fees.

use super::*;
use crate::model::Period;
use crate::scenario;
use crate::time::MICROS_PER_DAY;

fn spec_with(lead_median_days: f64) -> Arc<Spec> {
    let mut v: serde_json::Value = serde_json::from_str(include_str!("../../scenarios/ci-smoke.json")).unwrap();
    v["dues"]["lead_days"] = serde_json::json!({"kind": "log_normal", "median": lead_median_days, "p90": lead_median_days * 3.0});
    Arc::new(scenario::parse("ci-smoke.json", &v.to_string()).unwrap())
}

fn at(s: &str) -> SimTime {
    SimTime::from_datetime(&chrono::DateTime::parse_from_rfc3339(s).unwrap())
}

/// Share of `n` first attempts of units on the unit client within `days` before the due date.
fn share_near_due(spec: &Arc<Spec>, n: u64, days: i64, with_due: bool) -> f64 {
    let d = Demand::new(spec.clone(), 7);
    let c = spec.channel_index("unit_client").unwrap();
    let april = Period { first: Period::month(2021, 4), months: 1 };
    let due = spec.due_of(GroupKind::Unit, april.first, april.months).unwrap();
    let mut near = 0;
    for i in 0..n {
        let mut rng = crate::rng::item(7, "due-test", i);
        // As an agent plans: aimed at the due date, or (a lead longer than the days left)
        // by the day weights.
        let t = match with_due.then(|| d.aim(&mut rng, c, due, spec.start, true)) {
            Some(Aim::At(t)) => {
                assert!(t < due && t >= spec.start, "aimed at {t:?}, due {due:?}");
                t
            }
            Some(Aim::AfterTimeline) => panic!("a first attempt stays in the timeline"),
            Some(Aim::NoPressure) | None => d.intended_instant(&mut rng, c),
        };
        near += (t < due && t.0 >= due.0 - days * MICROS_PER_DAY) as u64;
    }
    near as f64 / n as f64
}

#[test]
fn the_due_date_pulls_first_attempts_toward_it() {
    let spec = spec_with(4.0);
    let without = share_near_due(&spec, 4000, 3, false);
    let with = share_near_due(&spec, 4000, 3, true);
    assert!(with > 2.0 * without, "within 3 days of the due date: {with} with a due date, {without} without");
    // Payers who pay closer to the due date crowd it more.
    let closer = share_near_due(&spec_with(1.0), 4000, 3, true);
    assert!(closer > with + 0.1, "lead median 1 day: {closer}; 4 days: {with}");
}

#[test]
fn a_due_inside_the_suspension_moves_and_a_late_one_pays_a_fee() {
    let spec = spec_with(4.0);
    let april = Period { first: Period::month(2021, 4), months: 1 };
    let due = spec.due_of(GroupKind::Unit, april.first, april.months).unwrap();
    // The end of 30 April, inside the suspension: moved to the end of 20 May.
    assert_eq!(due, at("2021-05-01T00:00:00+08:00"));
    assert_eq!(spec.due_moved(due), at("2021-05-21T00:00:00+08:00"));
    // A resident's year falls due at its end, outside any suspension: it stays.
    let year = Period { first: Period::month(2021, 1), months: 12 };
    let resident = spec.due_of(GroupKind::ResidentPension, year.first, year.months).unwrap();
    assert_eq!(resident, at("2022-01-01T00:00:00+08:00"));
    assert_eq!(spec.due_moved(resident), resident);
    // No rule for proxy persons.
    assert_eq!(spec.due_of(GroupKind::Proxy, year.first, year.months), None);
    // 0.05 % a day: 100 yuan two and a half days late owe three days, 15 fen.
    let moved = spec.due_moved(due);
    assert_eq!(spec.late_fee_fen(10_000, moved, moved.plus_micros(MICROS_PER_DAY * 5 / 2)), 15);
    assert_eq!(spec.late_fee_fen(10_000, moved, moved), 0);
}

#[test]
fn a_lead_past_the_end_of_the_timeline_pays_after_it() {
    let spec = spec_with(4.0);
    let d = Demand::new(spec.clone(), 7);
    let c = spec.channel_index("unit_client").unwrap();
    // Due ten days after the end: most leads bring the payer past it.
    let due = spec.end.plus_micros(10 * MICROS_PER_DAY);
    let from = spec.end.plus_micros(-5 * MICROS_PER_DAY);
    let mut after = 0;
    for i in 0..2000 {
        let mut rng = crate::rng::item(7, "due-after", i);
        match d.aim(&mut rng, c, due, from, false) {
            Aim::AfterTimeline => after += 1,
            Aim::At(t) => assert!(t >= from && t < spec.end),
            Aim::NoPressure => panic!("a due date ahead presses"),
        }
    }
    assert!(after > 1500, "{after} of 2000 after the timeline");
    // Already past its due date: no pressure (the caller's delays apply).
    let mut rng = crate::rng::item(7, "due-after", 0);
    assert_eq!(d.aim(&mut rng, c, spec.start, spec.start.plus_micros(1), false), Aim::NoPressure);
}
