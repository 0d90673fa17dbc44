//! The profile's rendering and reading, against the bundled contract and other shapes.

use super::*;
use crate::model::PayerRef;

fn spec() -> Spec {
    crate::scenario::parse("ci-smoke.json", include_str!("../../../scenarios/ci-smoke.json")).unwrap()
}

fn pay(spec: &Spec) -> Request {
    let mut items = [0; 6];
    items[Insurance::Pension.index()] = 74_040;
    Request::Pay {
        key: IdemKey::new(0xab),
        payer: PayerRef { id: 7, group: GroupKind::Flexible, league: 1 },
        channel: spec.channel_index("wechat_mini").unwrap(),
        items,
        // A payment names its period (both paths write it the same way).
        period: crate::model::Period { first: crate::model::Period::month(2021, 4), months: 1 },
        special: false,
        assessment: None,
    }
}

#[test]
fn the_bundled_profile_renders_what_the_built_in_path_sends() {
    let s = spec();
    let p = Profile::parse("contract-v1.json", CONTRACT_V1).unwrap();
    let req = pay(&s);
    let generic = p.render(&s, &req);
    let builtin = contract::to_wire(&s, &req);
    assert_eq!(generic.method, builtin.method);
    assert_eq!(generic.path, builtin.path);
    assert_eq!(generic.headers, vec![("Idempotency-Key".to_string(), builtin.idempotency_key.clone().unwrap())]);
    let a: Value = serde_json::from_slice(&generic.body.unwrap()).unwrap();
    let b: Value = serde_json::from_slice(&builtin.body.unwrap()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn another_api_shape_is_rendered_and_read() {
    let s = spec();
    let p = Profile::parse("example-other-api.json", include_str!("../../../profiles/example-other-api.json")).unwrap();
    let w = p.render(&s, &pay(&s));
    assert_eq!(w.method, "POST");
    assert_eq!(w.path, "/api/v2/fee-collection/leagues/Hohhot/payments");
    assert!(w.headers.contains(&("X-Request-Id".to_string(), IdemKey::new(0xab).to_text())));
    let body: Value = serde_json::from_slice(&w.body.unwrap()).unwrap();
    assert_eq!(body["payer"]["number"], 7);
    assert_eq!(body["amountFen"], 74_040);
    assert_eq!(body["lines"]["pension"], 74_040);
    assert_eq!(body["note"], "cutover rehearsal via wechat_mini");
    let ok = br#"{"result":{"paymentNo":"991","duplicate":false}}"#;
    // The deployment's id is text, and stays text: opaque, never parsed.
    assert_eq!(p.read_answer(&s, &pay(&s), 200, None, ok), Response::Accepted { payment: TargetId::text("991"), replayed: false });
    let closed = br#"{"error":{"reason":"CHANNEL_FROZEN","reopensAt":"2021-05-01T00:00:00+08:00"}}"#;
    assert_eq!(
        p.read_answer(&s, &pay(&s), 503, None, closed),
        Response::Suspended { resume_at: contract::parse_instant("2021-05-01T00:00:00+08:00") }
    );
    let dup = br#"{"error":{"reason":"KEY_REUSED"}}"#;
    assert_eq!(p.read_answer(&s, &pay(&s), 422, None, dup), Response::Conflict);
}

/// A vendor that answers every call 200 and says what happened in its body.
fn in_body() -> Profile {
    let mut v: Value = serde_json::from_str(include_str!("../../../profiles/example-other-api.json")).unwrap();
    v["success"] = serde_json::json!({"pointer": "/code", "equals": "0000"});
    v["read"]["code"] = Value::from("/code");
    v["read"]["replayed"] = Value::from("/result/duplicate");
    v["codes"]["E1003"] = Value::from("suspended");
    v["payment_by_key"] = serde_json::json!({
        "path": "/api/v2/fee-collection/requests/{key}",
        "held": {"status": [200], "pointer": "/code", "equals": "0000"},
        "absent": {"status": [200], "pointer": "/code", "equals": "E4040"}
    });
    Profile::parse("in-body.json", &v.to_string()).unwrap()
}

#[test]
fn answers_are_judged_by_their_body_when_the_profile_says_so() {
    let s = spec();
    let p = in_body();
    let pay = pay(&s);
    // A refusal in a 200 body is a refusal, not an acceptance or an error.
    let closed = r#"{"code":"E1003","msg":"系统维护中"}"#.as_bytes();
    assert_eq!(p.read_answer(&s, &pay, 200, None, closed), Response::Suspended { resume_at: None });
    let ok = br#"{"code":"0000","result":{"paymentNo":"P-1","duplicate":"N"}}"#;
    assert_eq!(p.read_answer(&s, &pay, 200, None, ok), Response::Accepted { payment: TargetId::text("P-1"), replayed: false });
    // `replayed` from a flag of any JSON type.
    for flag in [r#""Y""#, "1", "true", r#""是""#] {
        let again = format!(r#"{{"code":"0000","result":{{"paymentNo":"P-1","duplicate":{flag}}}}}"#);
        assert_eq!(
            p.read_answer(&s, &pay, 200, None, again.as_bytes()),
            Response::Accepted { payment: TargetId::text("P-1"), replayed: true },
            "{flag}"
        );
    }
    // A code nobody mapped is counted as such; a 200 with neither is malformed.
    assert_eq!(
        p.read_answer(&s, &pay, 200, None, br#"{"code":"E9999"}"#),
        Response::Error { kind: crate::vocabulary::Failure::UnknownCode }
    );
    assert_eq!(p.read_answer(&s, &pay, 200, None, br#"{"msg":"?"}"#), Response::Error { kind: crate::vocabulary::Failure::BadBody });
    // Without a success rule a 2xx is a success, as before.
    let plain = Profile::parse("example-other-api.json", include_str!("../../../profiles/example-other-api.json")).unwrap();
    assert_eq!(plain.read_answer(&s, &pay, 200, None, closed), Response::Error { kind: crate::vocabulary::Failure::BadBody });
}

/// A vendor's own forms: payers by number, codes, yuan strings, lines, `YYYYMM`, local times.
#[test]
fn values_are_written_and_read_in_the_vendors_forms() {
    let s = spec();
    let mut v: Value = serde_json::from_str(include_str!("../../../profiles/example-other-api.json")).unwrap();
    let leagues: serde_json::Map<String, Value> =
        s.leagues.iter().enumerate().map(|(i, l)| (l.name.clone(), Value::from(format!("15{:02}00", i + 1)))).collect();
    v["values"] = serde_json::json!({
        "amount": "yuan", "period": "YYYYMM", "time": "local", "payer": "number",
        "codes": {"league": leagues, "group": {"unit": "01", "flexible": "02", "resident_pension": "03", "resident_medical": "04", "proxy": "05"},
                  "insurance": {"pension": "110", "medical": "310", "unemployment": "210", "work_injury": "410", "supplementary": "320", "occupational_annuity": "130"}},
        "lines": {"insurance": "xzdm", "amount": "je"}
    });
    v["operations"]["pay"]["body"] = serde_json::json!({"payerNo": "{payer_id}", "region": "{league}", "category": "{group}",
        "total": "{amount_fen}", "lines": "{items_fen}", "period": "{period}"});
    let p = Profile::parse("vendor.json", &v.to_string()).unwrap();
    p.values.check_against(&s, "values").unwrap();
    let req = pay(&s);
    let body: Value = serde_json::from_slice(&p.render(&s, &req).body.unwrap()).unwrap();
    let number = crate::population::payer_number(&s, 7, GroupKind::Flexible, 1);
    assert_eq!(
        body,
        serde_json::json!({"payerNo": number, "region": "150200", "category": "02", "total": "740.40",
            "lines": [{"xzdm": "110", "je": "740.40"}], "period": "202104"})
    );
    // The ledger in codes and yuan strings reads into the contract's cells, exactly.
    let ledger =
        br#"{"result": {"rows": [{"region": "150200", "category": "02", "insurance": "110", "entries": "3", "totalFen": "2221.20"}]}}"#;
    let cells = p.read_ledger(&s, ledger).unwrap();
    assert_eq!(cells.get(&(1, GroupKind::Flexible, Insurance::Pension)).map(|c| (c.count, c.sum_fen)), Some((3, 222_120)));
    let bad = br#"{"result": {"rows": [{"region": "159900", "category": "02", "insurance": "110", "entries": 1, "totalFen": "1.00"}]}}"#;
    assert!(p.read_ledger(&s, bad).unwrap_err().contains("unknown league code \"159900\""));
    // A local time without an offset is the scenario's.
    let closed = br#"{"error": {"reason": "CHANNEL_FROZEN", "reopensAt": "2021-05-01 00:00:00"}}"#;
    assert_eq!(
        p.read_answer(&s, &req, 503, None, closed),
        Response::Suspended { resume_at: contract::parse_instant("2021-05-01T00:00:00+08:00") }
    );
}

#[test]
fn a_key_lookup_says_not_found_in_its_body() {
    let p = in_body();
    assert_eq!(p.payment_by_key.read(200, br#"{"code":"0000","data":{}}"#), Some(true));
    assert_eq!(p.payment_by_key.read(200, br#"{"code":"E4040","msg":"not found"}"#), Some(false));
    // Anything else is neither: the key is unknown, never "absent" (a 500, an outage page).
    assert_eq!(p.payment_by_key.read(200, br#"{"code":"E5000"}"#), None);
    assert_eq!(p.payment_by_key.read(404, b"<html>"), None);
    assert_eq!(p.payment_by_key.read(500, br#"{"code":"E4040"}"#), None);
    // The plain form: 200 held, 404 not.
    let plain = Profile::parse("contract-v1.json", CONTRACT_V1).unwrap();
    assert_eq!(
        (plain.payment_by_key.read(200, b""), plain.payment_by_key.read(404, b""), plain.payment_by_key.read(503, b"")),
        (Some(true), Some(false), None)
    );
}

#[test]
fn bad_success_rules_name_the_field() {
    let mut v: Value = serde_json::from_str(CONTRACT_V1).unwrap();
    v["operations"]["pay"]["success"] = serde_json::json!({"pointer": "/code"});
    let e = Profile::parse("p.json", &v.to_string()).unwrap_err().to_string();
    assert!(e.contains("operations.pay.success.equals"), "{e}");
    let mut v: Value = serde_json::from_str(CONTRACT_V1).unwrap();
    v["success"] = serde_json::json!({"status": [2000]});
    let e = Profile::parse("p.json", &v.to_string()).unwrap_err().to_string();
    assert!(e.contains("success.status"), "{e}");
}

#[test]
fn bad_profiles_name_the_field() {
    let e = Profile::parse("p.json", r#"{"name": "x"}"#).unwrap_err().to_string();
    assert!(e.contains("p.json") && e.contains("operations"), "{e}");
    let bad = CONTRACT_V1.replace(r#""method": "POST""#, r#""method": "BREW""#);
    let e = Profile::parse("p.json", &bad).unwrap_err().to_string();
    assert!(e.contains("unsupported method"), "{e}");
}
