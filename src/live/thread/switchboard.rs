//! When each system's maintenance switch took effect: what the sending threads need to
//! judge answers at the deployment's own instants.
//!
//! A deployment that follows the run's clock closes its channels at the phase's instant.
//! One switched by its operators (a profile's `switch`, `cutover serve --rebase-now`'s
//! maintenance) closes them when the runbook's call has gone through: between a phase's
//! start and the call's answer it may rightly answer by either phase's rules. The runbook
//! notes each switch's end here; a thread judging an answer sent in that stretch treats it
//! as possibly decided just before the phase started ([`Switchboard::effective_from`]).
//! Writes and reads are plain atomics: nothing waits, nothing crosses threads per request.

use crate::scenario::SystemIdx;
use crate::time::SimTime;
use std::sync::atomic::AtomicI64;
use std::sync::atomic::Ordering::Relaxed;

/// Not switched yet.
const PENDING: i64 = i64::MAX;

/// Per system, the instants a switch falls due, in time order, each with the virtual
/// instant its switch went through.
#[derive(Debug, Default)]
pub(in crate::live) struct Switchboard {
    systems: Vec<Vec<(SimTime, AtomicI64)>>,
}

impl Switchboard {
    /// No system switched: every answer is judged at its own instants.
    pub(in crate::live) fn none() -> Switchboard {
        Switchboard::default()
    }

    /// Switches due at `due[system]` (sorted), none gone through yet.
    pub(in crate::live) fn new(due: Vec<Vec<SimTime>>) -> Switchboard {
        let systems = due
            .into_iter()
            .map(|mut at| {
                at.sort_unstable();
                at.dedup();
                at.into_iter().map(|t| (t, AtomicI64::new(PENDING))).collect()
            })
            .collect();
        Switchboard { systems }
    }

    /// The switch of `system` due at `due` was answered by virtual instant `at` (gone through,
    /// or failed: the deployment then stays as it was, and is judged so from then on).
    pub(in crate::live) fn settled(&self, system: SystemIdx, due: SimTime, at: SimTime) {
        if let Some(s) = self.systems.get(system as usize).and_then(|s| s.iter().find(|(t, _)| *t == due)) {
            s.1.store(at.0.max(due.0), Relaxed);
        }
    }

    /// The earliest instant whose rules `system` may have applied to a request sent at
    /// `sent`: `sent` itself, or, while a switch due at or before it had not gone through
    /// when it was sent, the instant just before that switch was due.
    pub(in crate::live) fn effective_from(&self, system: SystemIdx, sent: SimTime) -> SimTime {
        let Some(switches) = self.systems.get(system as usize) else { return sent };
        switches
            .iter()
            .take_while(|(due, _)| *due <= sent)
            .find(|(_, done)| done.load(Relaxed) > sent.0)
            .map_or(sent, |(due, _)| SimTime(due.0 - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_sent_while_a_switch_is_under_way_may_follow_the_rules_before_it() {
        let board = Switchboard::new(vec![vec![SimTime(1_000), SimTime(5_000)], vec![]]);
        // Before any switch fell due: its own instant.
        assert_eq!(board.effective_from(0, SimTime(900)), SimTime(900));
        // Due, not gone through: possibly the rules just before 1,000.
        assert_eq!(board.effective_from(0, SimTime(1_200)), SimTime(999));
        board.settled(0, SimTime(1_000), SimTime(1_300));
        assert_eq!(board.effective_from(0, SimTime(1_200)), SimTime(999));
        // Sent after the switch went through: its own instant again.
        assert_eq!(board.effective_from(0, SimTime(1_300)), SimTime(1_300));
        assert_eq!(board.effective_from(0, SimTime(4_000)), SimTime(4_000));
        // The second switch pending; the other system has none.
        assert_eq!(board.effective_from(0, SimTime(6_000)), SimTime(4_999));
        assert_eq!(board.effective_from(1, SimTime(6_000)), SimTime(6_000));
        assert_eq!(Switchboard::none().effective_from(0, SimTime(6_000)), SimTime(6_000));
    }
}
