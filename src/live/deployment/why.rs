//! Why a call to a deployment failed, in the words people tell failures apart by: the same
//! for the checks before the load, the maintenance switch and the load's failure samples.

use std::time::Duration;

/// Why an exchange failed, as people tell failures apart: timed out (after how long),
/// refused (nothing listens there), reset, malformed, or the underlying error.
pub(in crate::live) fn why(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return no_answer_within(timeout);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            return match io.kind() {
                K::ConnectionRefused => "connection refused: nothing listens there".to_string(),
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    format!("connection reset before the answer ({io})")
                }
                K::TimedOut => format!("timed out connecting ({io})"),
                _ if io.to_string().contains("certificate") => format!(
                    "TLS: {io} (give --ca-file with the deployment's CA, or --accept-invalid-certificate for a self-signed staging certificate)"
                ),
                _ => format!("connection failed: {io}"),
            };
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() {
                return "connection closed before a whole answer came (reset)".to_string();
            }
            if h.is_parse() {
                return format!("malformed answer, not HTTP: {h}");
            }
        }
        source = s.source();
    }
    if e.is_decode() || e.is_body() {
        return format!("malformed answer: {}", words(e));
    }
    words(e)
}

/// The words of a call given up `timeout` after it was sent.
pub(in crate::live) fn no_answer_within(timeout: Duration) -> String {
    format!("timed out: no answer within {} s", timeout.as_secs_f64())
}

/// An error and each of its sources, joined (reqwest's own words name only the URL).
pub(in crate::live) fn words(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        // Some errors repeat their source's words in their own.
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        src = s.source();
    }
    out
}
