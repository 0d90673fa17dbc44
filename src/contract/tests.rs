//! Tests of the contract: the server's answers read back, the hand-written wire text
//! against serde's, instants, keys.

mod vocabulary {
    use super::super::*;
    use proptest::prelude::*;

    fn spec() -> Spec {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ci-smoke.json");
        crate::scenario::load(&path).expect("the bundled scenario loads")
    }

    /// Instants within the timeline's years, to the microsecond.
    fn instant() -> impl Strategy<Value = SimTime> {
        (1_600_000_000_000_000i64..1_700_000_000_000_000).prop_map(SimTime)
    }

    /// Identifiers as a target may give them: numbers or text (escapes and all).
    fn target_id() -> impl Strategy<Value = TargetId> + Clone {
        prop_oneof![(1u64..(1 << 53)).prop_map(TargetId::Num), "[ -~\\u{4e00}-\\u{4e0f}]{1,12}".prop_map(TargetId::text),]
    }

    /// Every answer the server can send.
    fn answer() -> impl Strategy<Value = Response> {
        let id = target_id();
        prop_oneof![
            id.clone().prop_map(|assessment| Response::Assessed { assessment }),
            (id.clone(), any::<bool>()).prop_map(|(payment, replayed)| Response::Accepted { payment, replayed }),
            proptest::option::of(instant()).prop_map(|resume_at| Response::Suspended { resume_at }),
            Just(Response::Conflict),
            Just(Response::AssessmentRequired),
            any::<bool>().prop_map(|refunded| Response::AlreadyPaid { refunded }),
            (any::<u32>(), proptest::option::of(id.clone())).prop_map(|(payments, latest)| Response::Records { payments, latest }),
            instant().prop_map(|visible_at| Response::NotYetVisible { visible_at }),
            Just(Response::NoRecord),
            id.prop_map(|certificate| Response::Certificate { certificate }),
            Just(Response::Invalid { reason: crate::vocabulary::InvalidReason::AmountNotPositive }),
            (1i64..100_000).prop_map(|s| Response::Overloaded { retry_after_micros: s * 1_000_000 }),
            Just(Response::Error { kind: Failure::StorageFailed }),
            Just(Response::Error { kind: Failure::ServerError }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn decoding_the_servers_reply_gives_the_answer_back(resp in answer(), now in instant()) {
            let spec = spec();
            let wire = answer_to_wire(&spec, &resp, now);
            let (back, at) = from_wire_timed(wire.status, wire.retry_after.as_deref(), &wire.body);
            let expected = match resp {
                // The reason is the problem's detail, for people; the driver reads the code.
                Response::Invalid { .. } => Response::Invalid { reason: crate::vocabulary::InvalidReason::Refused },
                ref r => r.clone(),
            };
            prop_assert_eq!(&back, &expected, "wire {:?}", wire);
            if let Response::Accepted { .. } = resp {
                prop_assert_eq!(at, Some(now));
            }
            // The status is the refusal's, written once.
            if let Some(r) = resp.refusal() {
                prop_assert_eq!(wire.status, r.status());
                prop_assert!(wire.problem);
            }
        }
    }

    #[test]
    fn a_code_nobody_knows_is_counted_as_such_not_as_overload() {
        let body = br#"{"type":"x","title":"x","status":503,"detail":"x","code":"maintenance_window","accepted":false}"#;
        assert_eq!(from_wire(503, None, body), Response::Error { kind: Failure::UnknownCode });
        let storage = contract_problem(Refusal::StorageFailed);
        assert_eq!(from_wire(503, None, &storage), Response::Error { kind: Failure::StorageFailed });
        // Without a problem code (a proxy's page), the status decides.
        assert!(matches!(from_wire(503, None, b"<html>busy</html>"), Response::Overloaded { .. }));
    }

    fn contract_problem(r: Refusal) -> Vec<u8> {
        problem(r, "x", None, None).body
    }

    #[test]
    fn the_openapi_document_lists_every_code() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("../server/openapi.json")).expect("openapi.json is JSON");
        let codes: Vec<&str> = doc
            .pointer("/components/schemas/Problem/properties/code/enum")
            .and_then(|v| v.as_array())
            .expect("the Problem schema lists its codes")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let ours: Vec<&str> = Refusal::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes, ours);
    }
}

mod wire {
    use super::super::*;

    #[test]
    fn the_servers_payment_reading_takes_what_the_contracts_type_takes() {
        let base = r#""payer_id":7,"group":"flexible","league":"Hohhot","channel":"wechat_mini""#;
        let bodies: Vec<String> = [
            r#"{BASE,"items_fen":{"pension":74040}}"#,
            r#"{BASE,"items_fen":{"pension":74040,"medical":-5},"period":"2021-04","period_months":3,"special":true,"assessment_id":9}"#,
            r#"{BASE,"items_fen":{"pension":1,"pension":2},"period":null,"assessment_id":"asm-1"}"#,
            r#"{BASE,"items_fen":{},"period_months":2}"#,
            r#"{BASE,"items_fen":{"pension":1},"assessment_id":null,"special":false}"#,
            r#" { "items_fen" : { "pension" : 1 } , "payer_id":1,"group":"unit","league":"Hohhot","channel":"etax_web" } "#,
            r#"{"payer_id":7,"group":"flexible","league":"Ho\u0068hot","channel":"wechat_mini","items_fen":{"pension":1}}"#,
            r#"{BASE,"items_fen":{"pension":1},"period":"2021\u002d04"}"#,
            r#"{BASE,"items_fen":{"pensions":1}}"#,
            r#"{BASE,"items_fen":{"pension":1.5}}"#,
            r#"{BASE,"items_fen":[1]}"#,
            r#"{BASE}"#,
            r#"{BASE,"items_fen":{"pension":1},"extra":1}"#,
            r#"{BASE,"items_fen":{"pension":1},"league":"Baotou"}"#,
            r#"{"payer_id":-1,"group":"flexible","league":"Hohhot","channel":"wechat_mini","items_fen":{}}"#,
            r#"{"payer_id":7,"group":"nobody","league":"Hohhot","channel":"wechat_mini","items_fen":{}}"#,
            r#"{BASE,"items_fen":{"pension":1},"special":"yes"}"#,
            r#"{BASE,"items_fen":{"pension":1},"period_months":70000}"#,
            r#"{BASE,"items_fen":{"pension":1}} x"#,
            r#"{BASE,"items_fen":{"pension":9223372036854775808}}"#,
            r#"[]"#,
            r#""#,
            r#"{"payer_id":07,"group":"flexible","league":"Hohhot","channel":"wechat_mini","items_fen":{}}"#,
            "{BASE,\x0c\"items_fen\":{\"pension\":1}}",
            r#"{BASE,"items_fen":{"pension":1},"special":null}"#,
            r#"{BASE,"items_fen":{"pension":null}}"#,
            r#"{BASE,"items_fen":{"pension":1,}}"#,
            r#"{BASE,"items_fen":{"pension":1},"payer_id":8}"#,
            r#"{BASE,"items_fen":{"pension":1},"period":"2021-04","period_months":1,"assessment_id":18446744073709551615}"#,
        ]
        .iter()
        .map(|b| b.replace("BASE", base))
        .collect();
        let mut taken = 0;
        for b in &bodies {
            let read = serde_json::from_slice::<PaymentIn>(b.as_bytes());
            // The server's hand-read fast path reads a body as serde does, or leaves it to serde.
            if let Some(scanned) = scan_payment(b.as_bytes()) {
                assert_eq!(Some(&scanned), read.as_ref().ok(), "{b}");
            }
            let contract = serde_json::from_slice::<PaymentBody>(b.as_bytes());
            match (&read, &contract) {
                (Ok(r), Ok(c)) => {
                    assert_eq!(r, &c.as_in(), "{b}");
                    assert_eq!(r.period(), c.as_in().period(), "{b}");
                    taken += 1;
                }
                (Ok(r), Err(e)) => panic!("taken by the server's reading only: {b}: {r:?} ({e})"),
                (Err(e), Ok(_)) => panic!("refused by the server's reading only: {b}: {e}"),
                (Err(_), Err(_)) => {}
            }
        }
        assert_eq!(taken, 9, "the well-formed bodies, escaped names among them");
        // The bodies the driver writes take the fast path.
        for i in [0, 4, 5, 28] {
            assert!(scan_payment(bodies[i].as_bytes()).is_some(), "{}", bodies[i]);
        }
        // Names are borrowed from the body unless written with escapes.
        let plain = serde_json::from_slice::<PaymentIn>(bodies[0].as_bytes()).unwrap();
        assert!(matches!((&plain.league, &plain.channel), (Cow::Borrowed(_), Cow::Borrowed(_))));
        let escaped = serde_json::from_slice::<PaymentIn>(bodies[6].as_bytes()).unwrap();
        assert_eq!(escaped.league, "Hohhot");
    }

    #[test]
    fn an_accepted_payments_answer_is_the_text_serde_writes_for_it() {
        let spec = crate::scenario::parse("ci-smoke.json", include_str!("../../scenarios/ci-smoke.json")).expect("ci-smoke");
        let now = SimTime::from_datetime(&chrono::DateTime::parse_from_rfc3339("2021-05-01T10:00:00.123456+08:00").unwrap());
        let ids = [TargetId::Num(0), TargetId::Num(u64::MAX), TargetId::text("PAY-\"7\"\\é\n")];
        for payment in ids {
            for replayed in [false, true] {
                let a = answer_to_wire(&spec, &Response::Accepted { payment: payment.clone(), replayed }, now);
                let by_serde = serde_json::to_vec(&Answer {
                    payment_id: Some(payment.clone()),
                    status: Some("accepted".into()),
                    replayed: Some(replayed),
                    accepted_at: Some(now.format(spec.calendar.offset)),
                    ..Answer::default()
                })
                .unwrap();
                assert_eq!(String::from_utf8(a.body).unwrap(), String::from_utf8(by_serde).unwrap(), "{payment:?} {replayed}");
                assert_eq!((a.status, a.problem, a.retry_after), (if replayed { 200 } else { 201 }, false, None));
            }
        }
    }

    #[test]
    fn the_answer_scanner_reads_what_serde_reads_or_leaves_it_to_serde() {
        let bodies: &[&str] = &[
            r#"{"payment_id":17,"status":"accepted","replayed":false,"accepted_at":"2021-05-01T10:00:00.123456+08:00"}"#,
            r#" { "payment_id" : 18 , "replayed" : true } "#,
            r#"{"assessment_id":3}"#,
            r#"{"payments":2,"latest_payment_id":9}"#,
            r#"{"certificate_id":1,"extra":null,"more":-1.5e3}"#,
            r#"{"payment_id":null,"certificate_id":4}"#,
            r#"{}"#,
            r#"{"payments":4294967296}"#,
            r#"{"payment_id":18446744073709551616}"#,
            r#"{"payment_id":-1}"#,
            r#"{"payment_id":1.0}"#,
            r#"{"payment_id":1,"payment_id":2}"#,
            r#"{"accepted_at":"2021-05-01T10:00:00\u002b08:00","payment_id":1}"#,
            r#"{"p\u0061yment_id":5}"#,
            r#"{"nested":{"payment_id":1},"payment_id":2}"#,
            r#"{"payment_id":"7"}"#,
            r#"{"replayed":1,"payment_id":2}"#,
            r#"{"payment_id":1,}"#,
            r#"{"payment_id":1} x"#,
            r#"[1]"#,
            r#""#,
            r#"{"accepted_at":"é","payment_id":3}"#,
        ];
        for b in bodies {
            let serde = serde_json::from_slice::<AnswerIn>(b.as_bytes()).ok();
            let scanned = scan_answer(b.as_bytes());
            if let Some(s) = &scanned {
                assert_eq!(Some(s), serde.as_ref(), "{b}");
            }
            let combined = scanned.or_else(|| serde_json::from_slice::<AnswerIn>(b.as_bytes()).ok());
            assert_eq!(combined, serde, "{b}");
        }
        // The contract's own answers take the fast path.
        assert!(scan_answer(bodies[0].as_bytes()).is_some());
        assert!(scan_answer(bodies[4].as_bytes()).is_none(), "a fraction is left to serde");
    }

    #[test]
    fn keys_round_trip_and_foreign_keys_hash() {
        let k = IdemKey::new(0x1234_5678_9abc_def0_1122_3344_5566_7788);
        assert_eq!(IdemKey::from_text(&k.to_text()), k);
        for v in [0u128, 1, u128::MAX, 0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100] {
            assert_eq!(IdemKey::new(v).to_text(), format!("{v:032x}"));
        }
        assert_ne!(IdemKey::from_text("order-1"), IdemKey::from_text("order-2"));
        assert_eq!(IdemKey::from_text("order-1"), IdemKey::from_text("order-1"));
    }

    #[test]
    fn borrowed_payment_body_is_the_same_json_as_the_owned_one() {
        let spec = crate::scenario::load(std::path::Path::new("scenarios/ci-smoke.json")).expect("scenario");
        let payer = PayerRef { id: 77, group: GroupKind::Flexible, league: 1 };
        let april = crate::model::Period { first: crate::model::Period::month(2021, 4), months: 1 };
        let year = crate::model::Period { first: crate::model::Period::month(2021, 1), months: 12 };
        let cases = [
            ([74040, 0, 0, 0, 0, 0], None, false, april),
            ([1, 2, 0, 4, 0, 6], Some(TargetId::Num(9)), true, year),
            ([1, 2, 0, 4, 0, 6], Some(TargetId::text("asm-\"9\"")), true, crate::model::Period::UNKNOWN),
        ];
        for (items, assessment, special, period) in cases {
            let req = Request::Pay { key: IdemKey::new(42), payer, channel: 2, items, period, special, assessment: assessment.clone() };
            let w = to_wire(&spec, &req);
            let owned = PaymentBody {
                payer_id: 77,
                group: GroupKind::Flexible,
                league: spec.leagues[1].name.clone(),
                channel: spec.channels[2].id.clone(),
                items_fen: items_to_wire(&items),
                period: (period.months > 0).then(|| period.first_text()),
                period_months: (period.months > 0).then_some(period.months),
                special,
                assessment_id: assessment,
            };
            let back: PaymentBody = serde_json::from_str(&serde_json::to_string(&owned).unwrap()).unwrap();
            assert_eq!(back.as_in().period(), Ok(period));
            assert_eq!(String::from_utf8(w.body.unwrap()).unwrap(), serde_json::to_string(&owned).unwrap());
            assert_eq!(w.idempotency_key.as_deref(), Some(IdemKey::new(42).to_text().as_str()));
            assert_eq!(w.path, "/v1/payments");
        }
    }

    #[test]
    fn fast_instant_parsing_agrees_with_chrono() {
        use chrono::FixedOffset;
        let chrono_parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok().map(|d| SimTime::from_datetime(&d));
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            // Instants from 1900 to 2100, some on whole seconds, offsets -12:00..+14:00.
            let t = (x >> 11) as i64 % (200 * 365 * 86_400_000_000) - 70 * 365 * 86_400_000_000;
            let t = if i % 3 == 0 { t - t.rem_euclid(1_000_000) } else { t };
            let off = FixedOffset::east_opt(((x >> 3) % 1561) as i32 * 60 - 12 * 3600).unwrap();
            let text = SimTime(t).format(off);
            assert_eq!(parse_instant_fast(text.as_bytes()), Some(SimTime(t)), "{text}");
            assert_eq!(chrono_parse(&text), Some(SimTime(t)), "{text}");
        }
        for s in ["2021-05-01T00:00:00Z", "2021-05-01T00:00:00.5+08:00", "2024-02-29T23:59:59.123-03:30", "2000-02-29T00:00:00Z"] {
            assert_eq!(parse_instant_fast(s.as_bytes()), chrono_parse(s), "{s}");
        }
        // Left to chrono: nanoseconds, leap seconds, impossible dates, other shapes.
        for s in ["2021-05-01T00:00:00.123456789Z", "2021-02-29T00:00:00Z", "2021-05-01 00:00:00Z", "2021-05-01T00:00:60Z", "x", ""] {
            assert_eq!(parse_instant_fast(s.as_bytes()), None, "{s}");
            assert_eq!(parse_instant(s), chrono_parse(s), "{s}");
        }
    }

    #[test]
    fn problems_map_to_responses() {
        let p = |code: &str, extra: &str| {
            format!(r#"{{"type":"x","title":"t","status":0,"detail":"d","code":"{code}","accepted":false{extra}}}"#).into_bytes()
        };
        assert_eq!(
            from_wire(503, Some("Sat, 01 May 2021 00:00:00 GMT"), &p("suspended", r#","resume_at":"2021-05-01T00:00:00+08:00""#)),
            Response::Suspended { resume_at: parse_instant("2021-05-01T00:00:00+08:00") }
        );
        assert_eq!(from_wire(429, Some("2"), &p("overloaded", "")), Response::Overloaded { retry_after_micros: 2_000_000 });
        assert_eq!(from_wire(422, None, &p("idempotency_conflict", "")), Response::Conflict);
        assert_eq!(from_wire(500, None, b"oops"), Response::Error { kind: Failure::UnexpectedStatus });
        assert_eq!(
            from_wire(201, None, br#"{"payment_id":4,"status":"accepted","replayed":false}"#),
            Response::Accepted { payment: TargetId::Num(4), replayed: false }
        );
    }
}
