//! The one vocabulary of refusals and failures.
//!
//! A [`Refusal`] is an answer of the target's that says no: its machine-readable code, its
//! HTTP status and its title are written here once, for the server's replies, the
//! client's decoding, a target profile's code map and the auditor's categories. A
//! [`Failure`] is not an answer at all (the exchange failed, or the answer could not be
//! read): each kind says whether the target may have acted on the request all the same.

/// The contract's refusal codes (`code` of an RFC 9457 problem).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Refusal {
    Suspended,
    Overloaded,
    IdempotencyConflict,
    AssessmentRequired,
    /// A second payment for a payer, insurance type and period already paid (whatever the
    /// key or channel): the business-level duplicate check of a cutover's new system.
    AlreadyPaid,
    /// The payer has no registration in this system (a cutover's new system takes payments
    /// and assessments only from the payers it holds, which the migration brought).
    NotRegistered,
    NotYetVisible,
    NoRecord,
    Invalid,
    NotFound,
    Unauthorized,
    Forbidden,
    StorageFailed,
    Error,
}

impl Refusal {
    pub(crate) const ALL: [Refusal; 14] = [
        Refusal::Suspended,
        Refusal::Overloaded,
        Refusal::IdempotencyConflict,
        Refusal::AssessmentRequired,
        Refusal::AlreadyPaid,
        Refusal::NotRegistered,
        Refusal::NotYetVisible,
        Refusal::NoRecord,
        Refusal::Invalid,
        Refusal::NotFound,
        Refusal::Unauthorized,
        Refusal::Forbidden,
        Refusal::StorageFailed,
        Refusal::Error,
    ];

    /// The refusals a target profile may map a deployment's codes to: those that are
    /// answers to a payer's request.
    pub(crate) const ANSWERS: [Refusal; 9] = [
        Refusal::Suspended,
        Refusal::Overloaded,
        Refusal::IdempotencyConflict,
        Refusal::AssessmentRequired,
        Refusal::AlreadyPaid,
        Refusal::NotRegistered,
        Refusal::NotYetVisible,
        Refusal::NoRecord,
        Refusal::Invalid,
    ];

    pub(crate) fn code(self) -> &'static str {
        match self {
            Refusal::Suspended => "suspended",
            Refusal::Overloaded => "overloaded",
            Refusal::IdempotencyConflict => "idempotency_conflict",
            Refusal::AssessmentRequired => "assessment_required",
            Refusal::AlreadyPaid => "already_paid",
            Refusal::NotRegistered => "not_registered",
            Refusal::NotYetVisible => "not_yet_visible",
            Refusal::NoRecord => "no_record",
            Refusal::Invalid => "invalid",
            Refusal::NotFound => "not_found",
            Refusal::Unauthorized => "unauthorized",
            Refusal::Forbidden => "forbidden",
            Refusal::StorageFailed => "storage_failed",
            Refusal::Error => "error",
        }
    }

    /// The HTTP status the contract answers it with.
    pub(crate) fn status(self) -> u16 {
        match self {
            Refusal::Suspended | Refusal::StorageFailed => 503,
            Refusal::Overloaded => 429,
            Refusal::IdempotencyConflict | Refusal::AssessmentRequired | Refusal::AlreadyPaid | Refusal::NotRegistered => 422,
            Refusal::NotYetVisible | Refusal::NoRecord | Refusal::NotFound => 404,
            Refusal::Invalid => 400,
            Refusal::Unauthorized => 401,
            Refusal::Forbidden => 403,
            Refusal::Error => 500,
        }
    }

    /// The problem's `title`.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Refusal::Suspended => "Payment suspended",
            Refusal::Overloaded => "Too many requests",
            Refusal::IdempotencyConflict => "Idempotency key reused with another body",
            Refusal::AssessmentRequired => "Assessment required",
            Refusal::AlreadyPaid => "Already paid for this period",
            Refusal::NotRegistered => "Payer not registered in this system",
            Refusal::NotYetVisible => "Record not yet visible",
            Refusal::NoRecord => "No record",
            Refusal::Invalid => "Invalid request",
            Refusal::NotFound => "Not found",
            Refusal::Unauthorized => "Unauthorized",
            Refusal::Forbidden => "Forbidden",
            Refusal::StorageFailed => "Storage failed",
            Refusal::Error => "Internal error",
        }
    }

    pub(crate) fn from_code(code: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// Why an exchange gave no answer the driver could use. Counted by kind, never an error
/// of the tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Failure {
    /// No answer within the timeout.
    Timeout,
    /// The connection was refused: nothing was sent.
    Refused,
    /// The connection closed or reset mid-exchange.
    Reset,
    /// Any other failure of the connection or of the HTTP framing.
    Transport,
    /// A success status whose body does not say what succeeded.
    BadBody,
    /// A status the contract (or the profile) does not give for this request.
    UnexpectedStatus,
    /// A refusal code the client does not know.
    UnknownCode,
    /// The target says its storage failed: the outcome is unknown.
    StorageFailed,
    /// The target says it failed inside (`error`, 500).
    ServerError,
    /// Every connection busy and the queue full: never sent.
    NotSent,
    /// The target answered, but the payer never got the answer (timeout, app killed,
    /// network): drawn by the scenario's `cutover.lost_answers`, on top of what was really lost.
    AnswerLost,
}

impl Failure {
    pub(crate) const ALL: [Failure; 11] = [
        Failure::Timeout,
        Failure::Refused,
        Failure::Reset,
        Failure::Transport,
        Failure::BadBody,
        Failure::UnexpectedStatus,
        Failure::UnknownCode,
        Failure::StorageFailed,
        Failure::ServerError,
        Failure::NotSent,
        Failure::AnswerLost,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::Refused => "refused",
            Failure::Reset => "reset",
            Failure::Transport => "transport",
            Failure::BadBody => "bad_body",
            Failure::UnexpectedStatus => "unexpected_status",
            Failure::UnknownCode => "unknown_code",
            Failure::StorageFailed => "storage_failed",
            Failure::ServerError => "server_error",
            Failure::NotSent => "not_sent",
            Failure::AnswerLost => "answer_lost",
        }
    }

    /// Its name in the Chinese reports.
    pub(crate) fn label_zh(self) -> &'static str {
        match self {
            Failure::Timeout => "超时",
            Failure::Refused => "连接被拒绝",
            Failure::Reset => "连接中断",
            Failure::Transport => "传输错误",
            Failure::BadBody => "应答无法解读",
            Failure::UnexpectedStatus => "意外的状态码",
            Failure::UnknownCode => "未知的拒绝代码",
            Failure::StorageFailed => "存储失败",
            Failure::ServerError => "服务器内部错误",
            Failure::NotSent => "未发送",
            Failure::AnswerLost => "应答丢失",
        }
    }

    /// Whether the target may have acted on the request (a payment may have been taken):
    /// everything but a request that never left.
    pub(crate) fn outcome_unknown(self) -> bool {
        !matches!(self, Failure::Refused | Failure::NotSent)
    }
}

/// The largest amount one item (an insurance type's share of a payment or an assessment) may
/// carry, in fen: 100 million yuan. Six such items sum far below `i64::MAX`, and a ledger cell
/// holds some 90,000 of them before it could overflow (it saturates rather than wrap).
pub const MAX_ITEM_FEN: i64 = 10_000_000_000;

/// Why a request was refused as invalid: the reference model's reasons, or a target's
/// refusal as invalid (which gives none the driver reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InvalidReason {
    UnknownLeague,
    UnknownChannel,
    /// A hotline call reached a system: calls are the host's, never a system's.
    HotlineCall,
    AssessedNotPositive,
    AmountNotPositive,
    /// An item above [`MAX_ITEM_FEN`]: refused, never summed into a wrapped amount.
    AmountTooLarge,
    /// A target refused it as invalid.
    Refused,
}

impl InvalidReason {
    pub(crate) const ALL: [InvalidReason; 7] = [
        InvalidReason::UnknownLeague,
        InvalidReason::UnknownChannel,
        InvalidReason::HotlineCall,
        InvalidReason::AssessedNotPositive,
        InvalidReason::AmountNotPositive,
        InvalidReason::AmountTooLarge,
        InvalidReason::Refused,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            InvalidReason::UnknownLeague => "unknown league",
            InvalidReason::UnknownChannel => "unknown channel",
            InvalidReason::HotlineCall => "a hotline call is not a system request",
            InvalidReason::AssessedNotPositive => "assessed amount must be positive",
            InvalidReason::AmountNotPositive => "amount must be positive",
            InvalidReason::AmountTooLarge => "an item is above the largest amount a payment may carry",
            InvalidReason::Refused => "refused as invalid",
        }
    }

    pub(crate) fn label_zh(self) -> &'static str {
        match self {
            InvalidReason::UnknownLeague => "未知的统筹区",
            InvalidReason::UnknownChannel => "未知的渠道",
            InvalidReason::HotlineCall => "热线来电不是系统请求",
            InvalidReason::AssessedNotPositive => "核定金额必须为正",
            InvalidReason::AmountNotPositive => "金额必须为正",
            InvalidReason::AmountTooLarge => "单项金额超过一笔缴费允许的上限",
            InvalidReason::Refused => "被拒绝为无效请求",
        }
    }
}

/// What a live run counts among its errors, by kind: a failed exchange, a request refused
/// as invalid (by its reason), or the target's overload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Failure(Failure),
    Invalid(InvalidReason),
    Overloaded,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Failure(f) => f.as_str(),
            ErrorKind::Invalid(r) => r.as_str(),
            ErrorKind::Overloaded => "overloaded",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ErrorKind::Failure(f) => f.label_zh(),
            ErrorKind::Invalid(r) => r.label_zh(),
            ErrorKind::Overloaded => "目标过载",
        }
    }
}

/// What an answer was, by name: a success's name, a refusal's contract code, or `error`.
/// The auditor compares these; `serve`'s metrics label by them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnswerKind {
    Assessed,
    Accepted,
    Records,
    Certificate,
    Refused(Refusal),
    /// An error answer, or a failed exchange.
    Error,
    TurnedAway,
    CallAnswered,
    CallAbandoned,
    /// Not an answer: what the auditor expects where any decision (not a refusal as
    /// suspended) is right.
    AnyDecision,
}

impl AnswerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Assessed => "assessed",
            AnswerKind::Accepted => "accepted",
            AnswerKind::Records => "records",
            AnswerKind::Certificate => "certificate",
            AnswerKind::Refused(r) => r.code(),
            AnswerKind::Error => "error",
            AnswerKind::TurnedAway => "turned_away",
            AnswerKind::CallAnswered => "call_answered",
            AnswerKind::CallAbandoned => "call_abandoned",
            AnswerKind::AnyDecision => "a decision",
        }
    }
}

/// A kind that is an identifier in `report.json`: written as its name (`$name`, a method
/// giving `&str` or `Cow<str>`), and ordered by it, so that maps keyed by it list in the
/// names' order.
macro_rules! by_name {
    ($($t:ty => $name:ident),*) => {$(
        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for $t {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                AsRef::<str>::as_ref(&self.$name()).cmp(AsRef::<str>::as_ref(&other.$name()))
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(AsRef::<str>::as_ref(&self.$name()))
            }
        }
        impl schemars::JsonSchema for $t {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($t).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string" })
            }
        }
    )*};
}
pub(crate) use by_name;

/// A kind [`by_name`] writes, read back from its name: the one value of `$all` (every value
/// of the kind) with that name. What a shard's part file holds (`run --shard`), read by
/// `cutover merge`.
macro_rules! from_name {
    ($($t:ty => $name:ident, $all:expr),*) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                let all: Vec<$t> = $all;
                all.into_iter()
                    .find(|v| AsRef::<str>::as_ref(&v.$name()) == text.as_ref())
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown {}: {text}", stringify!($t))))
            }
        }
    )*};
}
pub(crate) use from_name;

by_name!(ErrorKind => as_str, AnswerKind => as_str);
from_name!(ErrorKind => as_str, ErrorKind::all(), AnswerKind => as_str, AnswerKind::all());

impl ErrorKind {
    /// Every kind.
    pub(crate) fn all() -> Vec<ErrorKind> {
        let invalid = InvalidReason::ALL.into_iter().map(ErrorKind::Invalid);
        Failure::ALL.into_iter().map(ErrorKind::Failure).chain(invalid).chain([ErrorKind::Overloaded]).collect()
    }
}

impl AnswerKind {
    /// Every kind.
    pub(crate) fn all() -> Vec<AnswerKind> {
        use AnswerKind::*;
        let refused = Refusal::ALL.into_iter().map(Refused);
        [Assessed, Accepted, Records, Certificate, Error, TurnedAway, CallAnswered, CallAbandoned, AnyDecision]
            .into_iter()
            .chain(refused)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_read_back() {
        for r in Refusal::ALL {
            assert_eq!(Refusal::from_code(r.code()), Some(r));
            assert!((400..600).contains(&r.status()), "{r:?}");
        }
        assert_eq!(Refusal::from_code("storage"), None);
        let names: std::collections::BTreeSet<_> = Failure::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(names.len(), Failure::ALL.len());
    }

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for k in ErrorKind::all() {
            let text = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<ErrorKind>(&text).unwrap(), k, "{text}");
        }
        // A refusal coded `error` and an error answer share their name (maps keyed by a kind
        // already hold them as one): the name reads back, as the first kind of that name.
        for k in AnswerKind::all() {
            let text = serde_json::to_string(&k).unwrap();
            let back = serde_json::from_str::<AnswerKind>(&text).unwrap();
            assert_eq!(serde_json::to_string(&back).unwrap(), text);
            assert!(back == k || k == AnswerKind::Refused(Refusal::Error), "{text}");
        }
        assert!(serde_json::from_str::<ErrorKind>("\"no such kind\"").is_err());
    }
}
