//! What an answer counts as, wherever answers are counted: the recorder's cells, the hours
//! and days of the report, the Prometheus labels of a run. One classification, here.

use super::{Request, Response};

/// The outcome of one request as the reports count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Done: assessed, accepted (a replay too), records or a certificate given, a call answered.
    Success,
    /// Refused because the channel (or the region) is suspended.
    RefusedSuspended,
    /// A look-up or certificate before the record shows ("not yet visible", or "no record"
    /// from a system that does not say when).
    RefusedNotYetVisible,
    /// Any other refusal (not registered, a conflict, invalid, ...).
    RefusedUnexpected,
    /// A second payment for a payer, insurance type and period already paid, refused: a
    /// double charge prevented, the right answer (never "unexpected").
    RefusedAlreadyPaid,
    /// The host's capacity or the transport: overloaded, timed out, refused, reset.
    Error,
    /// Still queueing at a counter when it closed: told to come back.
    TurnedAway,
    /// A hotline caller who hung up before an agent answered.
    HungUp,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Success,
        Outcome::RefusedSuspended,
        Outcome::RefusedNotYetVisible,
        Outcome::RefusedUnexpected,
        Outcome::RefusedAlreadyPaid,
        Outcome::Error,
        Outcome::TurnedAway,
        Outcome::HungUp,
    ];
    pub const COUNT: usize = Outcome::ALL.len();

    pub fn index(self) -> usize {
        self as usize
    }

    /// Its name as a label (`cutover_requests_total{outcome=...}`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::RefusedSuspended => "refused_suspended",
            Outcome::RefusedNotYetVisible => "refused_not_yet_visible",
            Outcome::RefusedUnexpected => "refused_unexpected",
            Outcome::RefusedAlreadyPaid => "refused_already_paid",
            Outcome::Error => "error",
            Outcome::TurnedAway => "turned_away",
            Outcome::HungUp => "hung_up",
        }
    }

    /// What `resp` to `req` counts as: the answer's kind ([`Response::category`], which the
    /// auditor compares and `serve`'s metrics label by), counted in one of the report's
    /// classes.
    pub(crate) fn of(req: &Request, resp: &Response) -> Outcome {
        use crate::vocabulary::{AnswerKind as K, Refusal};
        match resp.category() {
            K::Assessed | K::Accepted | K::Records | K::Certificate | K::CallAnswered => Outcome::Success,
            K::Refused(Refusal::Suspended) => Outcome::RefusedSuspended,
            K::Refused(Refusal::NotYetVisible) => Outcome::RefusedNotYetVisible,
            K::Refused(Refusal::AlreadyPaid) => Outcome::RefusedAlreadyPaid,
            // A look-up in a rehearsal follows a payment: "no record" is the record not shown
            // yet, as a system that does not say when answers it.
            K::Refused(Refusal::NoRecord) if matches!(req, Request::Lookup { .. } | Request::Certificate { .. }) => {
                Outcome::RefusedNotYetVisible
            }
            K::Refused(Refusal::Overloaded | Refusal::StorageFailed | Refusal::Error) | K::Error => Outcome::Error,
            K::TurnedAway => Outcome::TurnedAway,
            K::CallAbandoned => Outcome::HungUp,
            K::Refused(_) | K::AnyDecision => Outcome::RefusedUnexpected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_and_names_are_distinct_and_in_order() {
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
        }
        let mut names: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Outcome::COUNT);
    }
}
