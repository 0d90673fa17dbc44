//! `cutover serve` under bad input: amounts that would overflow, periods past their bound,
//! slow and idle clients, more connections than it can hold. Each is refused with a clear
//! answer, and the server goes on serving everyone else.

use crate::util::{Server, http};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const OPEN: &str = r#"{"virtual_now":"2021-05-06T10:00:00+08:00","time_scale":1}"#;

fn payment(items: &str, period: &str) -> String {
    format!(r#"{{"payer_id":7,"group":"flexible","league":"Hohhot","channel":"wechat_mini","items_fen":{items}{period}}}"#)
}

#[test]
fn amounts_that_would_overflow_and_periods_past_their_bound_are_400() {
    // Regression: items of {2^63-1, 2^63-1, 3} wrapped to a 1-fen payment that was accepted,
    // and two ledger cells saturated for good.
    let server = Server::start(0, &["--scenario", "scenarios/ci-smoke.json"]);
    let p = server.port;
    assert_eq!(http(p, "POST", "/v1/admin/clock", &[], OPEN).0, 200);
    let max = i64::MAX;
    let huge = payment(&format!(r#"{{"pension":{max},"medical":{max},"unemployment":3}}"#), "");
    let (status, _, body) = http(p, "POST", "/v1/payments", &[("Idempotency-Key", "huge")], &huge);
    assert_eq!(status, 400, "{body}");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["code"], "invalid", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("largest amount"), "{problem}");
    // One item just past the bound is refused too; one at it is taken.
    let past = payment(r#"{"pension":10000000001}"#, "");
    assert_eq!(http(p, "POST", "/v1/payments", &[("Idempotency-Key", "past")], &past).0, 400);
    let at = payment(r#"{"pension":10000000000}"#, "");
    assert_eq!(http(p, "POST", "/v1/payments", &[("Idempotency-Key", "at")], &at).0, 201);
    // An assessment likewise.
    let assess = r#"{"payer_id":8,"group":"unit","league":"Hohhot","channel":"unit_client","kind":"unit_contribution","items_fen":{"pension":9223372036854775807,"medical":9223372036854775807}}"#;
    let (status, _, body) = http(p, "POST", "/v1/assessments", &[], assess);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("largest amount"), "{body}");
    // Months past the bound (twenty years) or none: 400 naming the field.
    for months in ["0", "241", "65535"] {
        let body = payment(r#"{"pension":100}"#, &format!(r#","period":"2021-04","period_months":{months}"#));
        let (status, _, answer) = http(p, "POST", "/v1/payments", &[("Idempotency-Key", &format!("months-{months}"))], &body);
        assert_eq!(status, 400, "period_months {months}: {answer}");
        assert!(answer.contains("period_months"), "{answer}");
    }
    // The ledger holds the one payment at the bound, nothing wrapped or saturated.
    let (_, _, body) = http(p, "GET", "/v1/ledger", &[], "");
    let ledger: serde_json::Value = serde_json::from_str(&body).unwrap();
    let cells = ledger["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{ledger}");
    assert_eq!(cells[0]["sum_fen"], 10_000_000_000i64);
}

/// Read until the server closes the connection, at most `limit`: what it sent, or None if it
/// kept the connection open that long.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> Option<String> {
    s.set_read_timeout(Some(limit)).unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // A reset is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(String::from_utf8_lossy(&got).into_owned()),
            Err(_) => return None,
        }
        if start.elapsed() > limit {
            return None;
        }
    }
}

#[test]
fn slow_and_idle_connections_are_closed_after_the_header_timeout() {
    // Regression: there were no header, idle or request timeouts (3,000 slowloris
    // connections held for 65 s).
    let server = Server::start(0, &["--scenario", "scenarios/ci-smoke.json", "--header-timeout-seconds", "0.5"]);
    let p = server.port;
    // Half a request head, then nothing: closed.
    let mut slow = TcpStream::connect(("127.0.0.1", p)).unwrap();
    slow.write_all(b"POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\n").unwrap();
    // Nothing at all: closed.
    let mut silent = TcpStream::connect(("127.0.0.1", p)).unwrap();
    // One answered request, then idle on keep-alive: closed.
    let mut idle = TcpStream::connect(("127.0.0.1", p)).unwrap();
    idle.write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    for (what, s) in [("half a head", &mut slow), ("nothing sent", &mut silent), ("idle after an answer", &mut idle)] {
        let got = read_until_closed(s, Duration::from_secs(10));
        let got = got.unwrap_or_else(|| panic!("{what}: still open 10 s after a 0.5 s header timeout"));
        if what == "idle after an answer" {
            assert!(got.starts_with("HTTP/1.1 200"), "{what}: {got}");
        }
    }
    // And everyone else is still served.
    assert_eq!(http(p, "GET", "/v1/health", &[], "").0, 200);
}

#[test]
fn a_body_that_never_comes_whole_is_answered_408_after_the_request_timeout() {
    // The request timeout had no test: a payment whose head promises more body than is sent
    // is answered 408 (a problem naming the limit) and its connection closed, while others
    // are served.
    let server = Server::start(0, &["--scenario", "scenarios/ci-smoke.json", "--request-timeout-seconds", "0.5"]);
    let p = server.port;
    assert_eq!(http(p, "POST", "/v1/admin/clock", &[], OPEN).0, 200);
    let body = payment(r#"{"pension":100}"#, "");
    let mut s = TcpStream::connect(("127.0.0.1", p)).unwrap();
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nIdempotency-Key: half\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body.as_bytes()[..body.len() / 2]).unwrap();
    let start = Instant::now();
    let got = read_until_closed(&mut s, Duration::from_secs(10)).expect("answered and closed within 10 s of a 0.5 s request timeout");
    assert!(start.elapsed() >= Duration::from_millis(400), "answered before the timeout: {got}");
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    let problem: serde_json::Value = serde_json::from_str(got.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(problem["code"], "invalid", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("within 0.5 s"), "{problem}");
    // Nothing of it was decided; a whole payment is.
    let (_, _, ledger) = http(p, "GET", "/v1/ledger", &[], "");
    assert!(ledger.contains("\"cells\":[]"), "{ledger}");
    assert_eq!(http(p, "POST", "/v1/payments", &[("Idempotency-Key", "whole")], &body).0, 201);
}

#[test]
fn connections_past_the_cap_get_a_clear_503_and_the_server_recovers() {
    // Regression: 1,100 idle sockets locked every client out at a 1,024-descriptor limit.
    let server = Server::start(0, &["--scenario", "scenarios/ci-smoke.json", "--max-connections", "3", "--header-timeout-seconds", "60"]);
    let p = server.port;
    let held: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(("127.0.0.1", p)).unwrap()).collect();
    // The server takes them in order; give it a moment to have accepted the three.
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = TcpStream::connect(("127.0.0.1", p)).unwrap();
    let got = read_until_closed(&mut extra, Duration::from_secs(10)).expect("the extra connection is answered and closed");
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    assert!(got.to_ascii_lowercase().contains("retry-after: 1"), "{got}");
    let body: serde_json::Value = serde_json::from_str(got.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["code"], "overloaded", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("--max-connections"), "{body}");
    // The held ones closed: served again (the server frees their slots as it sees them close).
    drop(held);
    let start = Instant::now();
    loop {
        if std::panic::catch_unwind(|| http(p, "GET", "/v1/health", &[], "").0).ok() == Some(200) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still refused 10 s after the held connections closed");
        std::thread::sleep(Duration::from_millis(50));
    }
}
