//! What a deployment already holds of this rehearsal's payers before the load.
//!
//! The payers of a scenario are the same whatever the seed (a payer's id is its group's
//! offset plus its index), so a system that already holds payments of them, or a new system
//! that already holds their registrations, was left so by an earlier run. A cutover run would
//! meet them everywhere: its payments refused as already paid, the migration's batches
//! taken as replays, and the checks counting the earlier run's payments and registrations as
//! this run's (a migration that did not run would pass, or money would read as lost): it is
//! refused before the load, saying what was found and how to reset. A run of one system goes
//! on with a note: its reconciliation counts only what changed during the run, and its keys
//! are its own. Payments of other payers (a staging deployment's own data) are no obstacle.

use crate::hash::FastSet;
use crate::model::{PayerRef, PaymentRow};
use crate::population::PayerId;

/// What one system holds of this run's payers.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Held {
    /// Payments of this run's payers.
    pub payments: u64,
    /// The first of them (lowest payment id), to name.
    pub first: Option<PaymentRow>,
    /// Registrations of this run's payers, counted only where they would mislead (the new
    /// system of a cutover: the migration brings them).
    pub registrations: u64,
}

impl Held {
    pub(super) fn is_empty(&self) -> bool {
        self.payments == 0 && self.registrations == 0
    }
}

/// What `books` (every payment a system holds) and `registrations` (where they count) hold of
/// `payers`.
pub(super) fn held(payers: &FastSet<PayerId>, books: &[PaymentRow], registrations: &[PayerRef]) -> Held {
    let mut out = Held::default();
    for row in books.iter().filter(|r| payers.contains(&r.payer.id)) {
        out.payments += 1;
        if out.first.as_ref().is_none_or(|f| row.payment < f.payment) {
            out.first = Some(row.clone());
        }
    }
    out.registrations = registrations.iter().filter(|r| payers.contains(&r.id)).count() as u64;
    out
}

/// The refusal: each system that holds something (its name and address), what it holds, why
/// it matters and how to reset.
pub(super) fn refusal(found: &[(String, Held)]) -> Option<String> {
    let parts: Vec<String> = found
        .iter()
        .filter(|(_, h)| !h.is_empty())
        .map(|(system, h)| {
            let mut what = Vec::new();
            if h.payments > 0 {
                let first = h
                    .first
                    .as_ref()
                    .map(|r| format!(" (the first: payment {} of payer {}, key {})", r.payment, r.payer.id, r.key.to_text()));
                what.push(format!("{} payments of this rehearsal's payers{}", h.payments, first.unwrap_or_default()));
            }
            if h.registrations > 0 {
                what.push(format!("{} registrations of them (a migration's)", h.registrations));
            }
            format!("{system} already holds {}", what.join(" and "))
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "{}: an earlier run left them, and this run's checks would count them as its own (its payments \
         refused as already paid, the migration's batches taken as replays); the payers are the same \
         whatever the seed. Reset before rehearsing again: restart each `cutover serve` (in memory it \
         starts empty; with --data DIR, remove DIR first), or remove these payers' records from the deployment",
        parts.join("; ")
    ))
}

/// The same finding for one system, whose reconciliation counts only what changed during the
/// run: what a deployment that refuses a second payment for a month will do.
pub(super) fn note(found: &[(String, Held)]) -> String {
    let payments: u64 = found.iter().map(|(_, h)| h.payments).sum();
    format!(
        "the target already holds {payments} payments of this rehearsal's payers, from an earlier run: the \
         reconciliation counts only what this run changes, but a deployment that refuses a second payment \
         for a month will refuse this run's (reset it to rehearse from empty)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IdemKey, Period};
    use crate::scenario::types::GroupKind;
    use crate::time::SimTime;

    fn row(payment: u64, payer: PayerId) -> PaymentRow {
        PaymentRow {
            payment,
            key: IdemKey::new(payment as u128 + 1000),
            payer: PayerRef { id: payer, group: GroupKind::Flexible, league: 0 },
            channel: 0,
            items: [0; 6],
            period: Period::UNKNOWN,
            accepted_at: SimTime(0),
            visible_at: SimTime(0),
            origin: None,
        }
    }

    #[test]
    fn only_this_runs_payers_count_and_the_first_is_named() {
        let payers: FastSet<PayerId> = [3, 4].into_iter().collect();
        let books = [row(9, 4), row(5, 3), row(1, 7), row(7, 4)];
        let regs = [PayerRef { id: 3, group: GroupKind::Flexible, league: 0 }, PayerRef { id: 8, group: GroupKind::Unit, league: 1 }];
        let h = held(&payers, &books, &regs);
        assert_eq!(h.payments, 3);
        assert_eq!(h.first.as_ref().map(|r| r.payment), Some(5));
        assert_eq!(h.registrations, 1);
        let msg = refusal(&[("the new system (http://x)".into(), h)]).unwrap();
        assert!(msg.starts_with("the new system (http://x) already holds 3 payments"), "{msg}");
        assert!(msg.contains("payment 5 of payer 3"), "{msg}");
        assert!(msg.contains("1 registrations"), "{msg}");
        assert!(msg.contains("remove DIR"), "{msg}");
    }

    #[test]
    fn a_deployments_own_data_is_no_obstacle() {
        let payers: FastSet<PayerId> = [3].into_iter().collect();
        let h = held(&payers, &[row(1, 7), row(2, 8)], &[PayerRef { id: 9, group: GroupKind::Unit, league: 0 }]);
        assert!(h.is_empty());
        assert_eq!(refusal(&[("the old system".into(), h)]), None);
    }
}
