use super::parse_body;
use crate::contract::PaymentIn;

/// The body of a refused answer, as text.
fn text(r: super::Reply) -> (u16, String) {
    let status = r.status().as_u16();
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let bytes = rt.block_on(axum::body::to_bytes(r.into_body(), 1 << 20)).expect("the body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[test]
fn a_well_formed_body_is_read_and_a_malformed_one_is_refused_naming_where() {
    let good = br#"{"payer_id":7,"group":"flexible","league":"Hohhot","channel":"wechat_mini","items_fen":{"pension":74040}}"#;
    let b: PaymentIn = parse_body(good).map_err(text).expect("a well-formed body");
    assert_eq!((b.payer_id, &*b.league, &*b.channel), (7, "Hohhot", "wechat_mini"));

    // Read directly first, the path is found on the second reading of a refused body.
    let bad = br#"{"payer_id":7,"group":"flexible","league":"Hohhot","channel":42,"items_fen":{"pension":74040}}"#;
    let (status, body) = text(parse_body::<PaymentIn>(bad).expect_err("refused"));
    assert_eq!(status, 400);
    assert!(body.contains("invalid JSON body at channel: invalid type: integer `42`"), "{body}");

    let (_, body) = text(parse_body::<PaymentIn>(b"{not json").expect_err("refused"));
    assert!(body.contains("invalid JSON body at ?: key must be a string"), "{body}");
}

/// Each logged decision is acknowledged once committed, a wait for everything logged so far
/// too, and all of it is on disk: a store opened again on the same directory restores it.
#[test]
fn the_store_tells_each_handler_of_its_own_commit_and_keeps_what_it_acknowledged() {
    use super::store::{ScenarioMark, Store};
    use crate::model::{Decision, Model, Rules};
    use std::sync::Arc;
    let spec = crate::scenario::parse("ci-smoke.json", include_str!("../../scenarios/ci-smoke.json")).expect("ci-smoke");
    let dir = std::env::temp_dir().join(format!("cutover-store-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mark = ScenarioMark { name: "ci-smoke".into(), digest: "d".into() };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    {
        let mut model = Model::new(Arc::new(Rules::from_spec(&spec)));
        let opened = Store::open(&dir, &mut model, &mark).expect("a new store");
        assert_eq!(opened.restored, 0);
        let store = opened.store;
        // A second server on the same data is refused while the first holds it.
        let mut other = Model::new(Arc::new(Rules::from_spec(&spec)));
        let refused = Store::open(&dir, &mut other, &mark).err().expect("a second store on the same data is refused");
        assert!(refused.to_string().contains("ledger.sqlite: held by another process"), "{refused}");
        rt.block_on(store.save_clock(super::store::SavedClock { virtual_micros: 7, wall_micros: 8, scale: 9.0 })).expect("the clock saved");
        // 300 decisions logged at once (several commits), each waited for by its own handler.
        let pending: Vec<_> = (0..300u32)
            .map(|i| store.log(crate::time::SimTime(i as i64), &Decision::Maintenance { closed: vec![(i % 3) as u8] }))
            .collect();
        let all = store.settled();
        rt.block_on(async {
            for p in pending {
                assert!(store.wait(p).await, "a logged decision was not committed");
            }
            assert!(store.wait(all).await);
        });
    }
    let mut model = Model::new(Arc::new(Rules::from_spec(&spec)));
    let opened = Store::open(&dir, &mut model, &mark).expect("the store again, once the first is dropped");
    assert_eq!(opened.restored, 300, "every acknowledged decision is on disk");
    let clock = opened.saved_clock.expect("the clock kept");
    assert_eq!((clock.virtual_micros, clock.wall_micros, clock.scale), (7, 8, 9.0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `POST /v1/payments` is taken beside the router (`pay_direct`): for every kind of payment
/// request, accepted, replayed, in conflict, without a key, malformed, too large, with
/// escaped names, it answers what the router's own route answers, header for header and
/// byte for byte, each against a fresh server of the same scenario on a stopped clock.
#[test]
fn a_payment_taken_beside_the_router_is_answered_as_the_router_answers_it() {
    use super::{AppState, ServeConfig, pay_direct, router};
    use axum::http::Request;
    use http_body_util::Full;
    use std::sync::Arc;
    use tower_service::Service;
    let spec = Arc::new(crate::scenario::parse("ci-smoke.json", include_str!("../../scenarios/ci-smoke.json")).expect("ci-smoke"));
    let state = || {
        let rules = Arc::new(crate::model::Rules::from_spec(&spec));
        let model = crate::model::system_model(&spec, rules, 0, crate::model::Faults::default());
        let at = crate::contract::parse_instant("2021-05-06T10:00:00+08:00").expect("an instant");
        let cfg = ServeConfig {
            admin_token: None,
            max_in_flight: 8,
            fault_accept_while_suspended: false,
            text_ids: false,
            clock: crate::clock::VirtualClock::starting_now(at, 0.0),
            system: None,
        };
        Arc::new(AppState::new(spec.clone(), model, None, &cfg))
    };
    let good = r#"{"payer_id":7,"group":"flexible","league":"Hohhot","channel":"wechat_mini","items_fen":{"pension":74040}}"#;
    let long = "x".repeat(super::BODY_LIMIT_BYTES + 1);
    let requests: Vec<(Option<&str>, String)> = vec![
        (Some("k-1"), good.to_string()),
        (Some("k-1"), good.to_string()),
        (Some("k-1"), good.replace("74040", "74041")),
        (None, good.to_string()),
        (Some(""), good.to_string()),
        (Some("k-2"), good.replace("payer_id", "payer")),
        (Some("k-3"), good.replace("74040", "\"x\"")),
        (Some("k-4"), "{not json".to_string()),
        (Some("k-5"), long),
        (Some("k-6"), good.replace("Hohhot", "Hohho\\u0074").replace("\"payer_id\":7", "\"payer_id\":8")),
        (Some("k-7"), good.replace("Hohhot", "Atlantis")),
    ];
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let (routed, direct) = (state(), state());
    let mut app = router(routed);
    let mut statuses = Vec::new();
    for (key, body) in requests {
        let head = || {
            let r = Request::post("/v1/payments").header("content-type", "application/json");
            match key {
                Some(k) => r.header("idempotency-key", k),
                None => r,
            }
        };
        let a = rt.block_on(app.call(head().body(axum::body::Body::from(body.clone())).expect("a request"))).expect("an answer");
        let b = rt.block_on(pay_direct(&direct, head().body(Full::new(axum::body::Bytes::from(body.clone()))).expect("a request")));
        assert_eq!(a.status(), b.status(), "{key:?} {body:.80}");
        for h in ["content-type", "retry-after"] {
            assert_eq!(a.headers().get(h), b.headers().get(h), "{h} of {key:?} {body:.80}");
        }
        statuses.push(a.status().as_u16());
        let (a, b) = (text(a), text(b));
        assert_eq!(a, b, "{key:?} {body:.80}");
    }
    // The requests above reach every answer they are meant to.
    assert_eq!(statuses, [201, 200, 422, 400, 400, 400, 400, 400, 413, 201, 400]);
}
