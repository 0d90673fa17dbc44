//! Why an exchange failed, in the driver's vocabulary of failures, with the words of it.

use crate::vocabulary::Failure;
use std::io::ErrorKind;

/// Why an exchange failed: its kind, and what the socket or the parser said, for a failure
/// sample (an answer that never came has no body to show).
#[derive(Clone, Debug, PartialEq)]
pub(in crate::live) struct Broken {
    pub kind: Failure,
    pub why: std::borrow::Cow<'static, str>,
}

impl Broken {
    /// A socket's error, classified.
    pub(in crate::live) fn io(e: &std::io::Error) -> Broken {
        Broken { kind: classify(e), why: e.to_string().into() }
    }

    /// A failure the driver names itself.
    pub(in crate::live) fn said(kind: Failure, why: &'static str) -> Broken {
        Broken { kind, why: why.into() }
    }

    /// An answer the driver could not read.
    pub(super) fn malformed(why: &'static str) -> Broken {
        Broken::said(Failure::Transport, why)
    }
}

pub(in crate::live) fn classify(e: &std::io::Error) -> Failure {
    match e.kind() {
        ErrorKind::ConnectionRefused => Failure::Refused,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof => Failure::Reset,
        ErrorKind::TimedOut => Failure::Timeout,
        _ => Failure::Transport,
    }
}
