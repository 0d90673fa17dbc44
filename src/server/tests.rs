use super::parse_body;
use crate::contract::PaymentBody;

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
    let b: PaymentBody = parse_body(good).map_err(text).expect("a well-formed body");
    assert_eq!((b.payer_id, b.league.as_str(), b.channel.as_str()), (7, "Hohhot", "wechat_mini"));

    // Read directly first, the path is found on the second reading of a refused body.
    let bad = br#"{"payer_id":7,"group":"flexible","league":"Hohhot","channel":42,"items_fen":{"pension":74040}}"#;
    let (status, body) = text(parse_body::<PaymentBody>(bad).expect_err("refused"));
    assert_eq!(status, 400);
    assert!(body.contains("invalid JSON body at channel: invalid type: integer `42`"), "{body}");

    let (_, body) = text(parse_body::<PaymentBody>(b"{not json").expect_err("refused"));
    assert!(body.contains("invalid JSON body at ?: key must be a string"), "{body}");
}
