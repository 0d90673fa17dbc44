//! Who paid by the due date: per group, the regular payments accepted by the due date as
//! published, by the date the suspension moved it to, and after that (late), with the late
//! fees the late ones owe at the scenario's rate. Counted as payments are booked (one per
//! acknowledged key), so both hosts count the same way.

use crate::model::Request;
use crate::report::data::plan::GroupDues;
use crate::scenario::{GroupKind, Spec};
use crate::time::SimTime;

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct DuesTally {
    groups: [GroupTally; 5],
}

#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
struct GroupTally {
    payments: u64,
    by_due: u64,
    by_moved_due: u64,
    late: u64,
    late_fee_fen: i64,
    first_due: Option<SimTime>,
    first_moved_due: Option<SimTime>,
}

impl DuesTally {
    /// A payment accepted at `now`, booked once.
    pub(crate) fn accepted(&mut self, spec: &Spec, now: SimTime, req: &Request) {
        let Request::Pay { payer, items, period, special: false, .. } = req else { return };
        let Some(due) = spec.due_of(payer.group, period.first, period.months) else { return };
        let moved = spec.due_moved(due);
        let g = &mut self.groups[payer.group.index()];
        g.payments += 1;
        g.first_due = Some(g.first_due.map_or(due, |d| d.min(due)));
        g.first_moved_due = Some(g.first_moved_due.map_or(moved, |d| d.min(moved)));
        if now <= due {
            g.by_due += 1;
        } else if now <= moved {
            g.by_moved_due += 1;
        } else {
            g.late += 1;
            let amount = items.iter().fold(0i64, |a, x| a.saturating_add(*x));
            g.late_fee_fen = g.late_fee_fen.saturating_add(spec.late_fee_fen(amount, moved, now));
        }
    }

    pub(crate) fn add(&mut self, o: &DuesTally) {
        for (a, b) in self.groups.iter_mut().zip(&o.groups) {
            a.payments += b.payments;
            a.by_due += b.by_due;
            a.by_moved_due += b.by_moved_due;
            a.late += b.late;
            a.late_fee_fen = a.late_fee_fen.saturating_add(b.late_fee_fen);
            a.first_due = a.first_due.into_iter().chain(b.first_due).min();
            a.first_moved_due = a.first_moved_due.into_iter().chain(b.first_moved_due).min();
        }
    }

    /// The groups with a due rule, in the scenario's group order; `None` without `dues`.
    pub(crate) fn report(&self, spec: &Spec) -> Option<Vec<GroupDues>> {
        let d = spec.dues.as_ref()?;
        let fmt = |t: SimTime| t.format(spec.calendar.offset);
        Some(
            GroupKind::ALL
                .iter()
                .filter(|g| d.rules[g.index()].is_some())
                .map(|g| {
                    let t = &self.groups[g.index()];
                    GroupDues {
                        group: *g,
                        due: t.first_due.map(fmt),
                        moved_to: t.first_moved_due.filter(|m| Some(*m) != t.first_due).map(fmt),
                        payments: t.payments,
                        paid_by_due: t.by_due,
                        paid_by_moved_due: t.by_moved_due,
                        paid_late: t.late,
                        late_fee_fen: t.late_fee_fen,
                    }
                })
                .collect(),
        )
    }
}
