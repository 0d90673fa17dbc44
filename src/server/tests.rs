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
    let opened = Store::open(&dir, &mut model, &mark).expect("the store again");
    assert_eq!(opened.restored, 300, "every acknowledged decision is on disk");
    let _ = std::fs::remove_dir_all(&dir);
}
