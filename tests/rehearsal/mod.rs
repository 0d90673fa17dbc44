//! The cutover rehearsal: two systems, the migration and the money that crosses the switch.
//! On the reference systems every check is zero; each deliberately broken variant is caught
//! and named, with the payments it got wrong listed.

use crate::util::{cutover, stderr, temp_dir};
use serde_json::Value;

const SCENARIO: &str = "scenarios/cutover-2021-ci.json";

fn simulate(name: &str, faults: &[&str]) -> (Option<i32>, Value, std::path::PathBuf) {
    let dir = temp_dir(name);
    let mut args = vec!["simulate", SCENARIO, "--out", dir.to_str().unwrap(), "--quiet"];
    for f in faults {
        args.extend(["--fault", f]);
    }
    let o = cutover(&args);
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap_or_else(|_| panic!("no report: {}", stderr(&o)));
    (o.status.code(), serde_json::from_str(&text).unwrap(), dir)
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn the_reference_systems_cross_the_switch_with_every_check_zero() {
    let (code, r, dir) = simulate("cutover_reference", &[]);
    assert_eq!(code, Some(0));
    let s = &r["summary"];
    for k in ["migration_mismatched_cells", "double_charges", "lost_at_boundary", "ledger_mismatched_cells", "accepted_while_suspended"] {
        assert_eq!(n(&s[k]), 0, "{k}");
    }
    let c = &r["cutover"];
    let (old, new) = (&c["systems"][0], &c["systems"][1]);
    assert_eq!(old["name"], "old");
    assert!(n(&old["payments"]) > 100, "the old system took payments before it stopped");
    assert_eq!(old["payments"], new["migrated_payments"], "every old payment migrated once");
    assert!(n(&new["payments"]) > n(&old["payments"]));
    let m = &c["migration"];
    assert_eq!(m["ran"], true);
    assert!(n(&m["batches"]) >= 2);
    assert_eq!(m["checked"], old["payments"]);
    for k in ["missing", "duplicated", "differing", "unknown_origin", "mismatched_cells"] {
        assert_eq!(n(&m[k]), 0, "migration {k}");
    }
    assert_eq!(c["records_after_migration"]["found"], old["payments"]);
    assert_eq!(n(&c["acknowledged_after_stop"]["count"]), 0);
    // The risky money was there: answers lost (some of them acceptances), payers who started
    // new orders, and second payments the new system refused as already paid.
    assert!(n(&c["lost_answers"]["acceptances"]) > 5, "{}", c["lost_answers"]);
    assert!(n(&c["lost_answers"]["new_orders"]) > 10);
    assert!(n(&c["refused_already_paid"]) > 10);
    assert_eq!(c["in_flight_at_stops"].as_array().unwrap().len(), 2);
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("## Cutover"), "{md}");
}

#[test]
fn keys_only_dedup_is_caught_as_double_charges_each_listed() {
    let (code, r, _) = simulate("cutover_naive", &["naive-dedup"]);
    assert_eq!(code, Some(1), "a gate on double_charges fails");
    let d = &r["cutover"]["double_charges"];
    let count = n(&d["count"]);
    assert!(count > 10, "{d}");
    assert_eq!(n(&r["summary"]["double_charges"]), count);
    let by_channel: u64 = d["by_channel"].as_object().unwrap().values().map(n).sum();
    assert_eq!(by_channel, count);
    for x in d["listed"].as_array().unwrap() {
        let (a, b) = (&x["first"], &x["second"]);
        assert_eq!(a["payer_id"], b["payer_id"]);
        // Two keys, or one key in two systems (the new one never saw the old one's keys):
        // either way no reconciliation by key sees it.
        assert!(a["key"] != b["key"] || a["system"] != b["system"], "{x}");
        assert!(!x["insurance"].as_array().unwrap().is_empty());
    }
    // Some of them cross the switch: paid to the old system, paid again to the new one.
    assert!(d["listed"].as_array().unwrap().iter().any(|x| x["first"]["system"] == "old" && x["second"]["system"] == "new"));
    // The ledger by cell and by key agrees with the payers' own book: only the business check sees it.
    assert_eq!(n(&r["summary"]["ledger_mismatched_cells"]), 0);
}

#[test]
fn a_dropped_batch_is_caught_as_missing_payments_lost_at_the_boundary() {
    let (code, r, _) = simulate("cutover_drop", &["migration-drop-batch"]);
    assert_eq!(code, Some(1));
    let c = &r["cutover"];
    let m = &c["migration"];
    let missing = n(&m["missing"]);
    assert!(missing > 0);
    assert_eq!(missing, n(&m["payments_read"]) - n(&m["payments_written"]));
    let listed = m["differences"]["listed"].as_array().unwrap();
    assert_eq!(listed.iter().filter(|d| d["problem"] == "missing").count() as u64, missing);
    assert!(listed.iter().all(|d| d["old"]["system"] == "old" && d["new"].is_null()));
    assert!(n(&m["mismatched_cells"]) > 0);
    let lost = &c["lost_at_boundary"];
    assert!(n(&lost["count"]) >= missing);
    assert!(lost["listed"].as_array().unwrap().iter().all(|l| l["reason"] == "not_migrated"));
    assert_eq!(n(&c["records_after_migration"]["missing"]), missing);
}

#[test]
fn a_batch_imported_twice_is_caught_as_duplicated_copies() {
    let (code, r, _) = simulate("cutover_twice", &["migration-import-twice"]);
    assert_eq!(code, Some(1));
    let m = &r["cutover"]["migration"];
    let dup = n(&m["duplicated"]);
    assert!(dup > 0);
    assert_eq!(dup, n(&m["payments_written"]) - n(&m["payments_read"]));
    assert_eq!(n(&m["missing"]), 0);
    let listed = m["differences"]["listed"].as_array().unwrap();
    assert!(listed.iter().all(|d| d["problem"] == "duplicated" && d["old"]["payment_id"] == d["new"]["origin"]));
    assert!(n(&r["summary"]["migration_mismatched_cells"]) > 0);
}

#[test]
fn a_league_mapped_wrongly_is_caught_naming_the_field() {
    let (code, r, _) = simulate("cutover_league", &["migration-wrong-league"]);
    assert_eq!(code, Some(1));
    let m = &r["cutover"]["migration"];
    assert!(n(&m["differing"]) > 0);
    for d in m["differences"]["listed"].as_array().unwrap() {
        assert_eq!(d["problem"], "differs");
        assert_eq!(d["fields"], serde_json::json!(["league"]));
        assert_ne!(d["old"]["league"], d["new"]["league"]);
    }
    assert!(n(&m["mismatched_cells"]) > 0);
}

#[test]
fn an_old_system_acknowledging_after_its_stop_is_caught() {
    let (code, r, _) = simulate("cutover_after_stop", &["accept-after-stop"]);
    assert_eq!(code, Some(1));
    let c = &r["cutover"];
    let after = &c["acknowledged_after_stop"];
    assert!(n(&after["count"]) > 0);
    let stops = c["systems"][0]["stops"].as_str().unwrap().to_string();
    for p in after["listed"].as_array().unwrap() {
        assert_eq!(p["system"], "old");
        assert!(p["accepted_at"].as_str().unwrap() >= stops.as_str(), "{p}");
    }
}

#[test]
fn the_cutover_rehearsal_is_deterministic() {
    let (_, _, a) = simulate("cutover_det_a", &[]);
    let (_, _, b) = simulate("cutover_det_b", &[]);
    assert_eq!(std::fs::read(a.join("report.json")).unwrap(), std::fs::read(b.join("report.json")).unwrap());
    assert_eq!(std::fs::read(a.join("summary.md")).unwrap(), std::fs::read(b.join("summary.md")).unwrap());
}
