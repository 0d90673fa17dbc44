//! The cutover's checks, all of them, and the report section they make.
//!
//! From the two systems' books (every payment each holds, read in bulk at the end) and the
//! tool's own counts, each check lists the payments it found wrong, not ledger cells:
//! - **migration**: every payment of the old system is in the new one exactly once, with the
//!   same payer, league, insurance amounts and period; counts and sums per league × payer
//!   group × insurance type agree;
//! - **acknowledged after the stop**: payments the old system took at or after it stopped;
//! - **double charges**: two payments of one payer charging one insurance type for one
//!   month, across systems, keys and channels (migrated copies are not payments of their own);
//! - **lost at the boundary**: money the old system took that the new one does not hold,
//!   and payments acknowledged to a payer that no system holds;
//! - **records after migration**: each old payment is among its payer's records in the new
//!   system (the copy is the payer's and becomes visible within the timeline).
//!
//! Pure: the hosts read the books (in process or through the contract's export); what the
//! books mean is decided here. Every list is in a fixed order and holds the first
//! [`LISTED`] entries; every count is of all of them.

use crate::hash::FastMap;
use crate::model::migration::MigrationTotals;
use crate::model::{LedgerKey, LedgerTable, PaymentRow};
use crate::report::data::cutover::WrongKind;
use crate::report::data::cutover::{
    CutoverReport, DoubleCharge, DoubleCharges, LostAnswersReport, LostPayment, LostReason, MigrationCell, MigrationDifference,
    MigrationProblem, MigrationReport, PaymentRef, RecordsAfterMigration, RegistrationsReport, RollbackReport, StopReport, SystemReport,
};
use crate::report::data::cutover::{Field, ItemsFen};
use crate::report::data::listed::{LISTED, Listed};
use crate::report::feed::recorder::Recorder;
use crate::scenario::{GroupKind, Insurance, NEW, OLD, Spec};
use crate::time::SimTime;

/// What the checks read.
pub(crate) struct CutoverInput<'a> {
    pub spec: &'a Spec,
    pub recorder: &'a Recorder,
    /// Every payment (and registration, where they could be read) the old and the new
    /// system hold at the end.
    pub books: Result<crate::model::Books, String>,
    /// What the migration step reported, if it ran.
    pub migration: Option<MigrationTotals>,
    /// The timeline's instant the run reached: its end, or where it was stopped. Checks
    /// whose instant lies beyond it are not reached, not failed.
    pub reached: SimTime,
}

/// The instant the migration is due (the in-process step's, else the new system's opening):
/// before it, nothing is missing from the new system yet.
pub(crate) fn migration_due(x: &crate::scenario::CutoverSpec) -> Option<SimTime> {
    x.migration.as_ref().map(|m| m.at).or(x.systems[NEW as usize].opens)
}

fn payment_ref(spec: &Spec, system: &str, r: &PaymentRow) -> PaymentRef {
    PaymentRef {
        system: system.to_string(),
        payment_id: r.payment,
        key: r.key.to_text(),
        payer_id: r.payer.id,
        group: r.payer.group,
        league: spec.leagues.get(r.payer.league as usize).map_or_else(|| format!("#{}", r.payer.league), |l| l.name.clone()),
        channel: spec.channels.get(r.channel as usize).map_or_else(|| format!("#{}", r.channel), |c| c.id.clone()),
        period: r.period.to_text(),
        items_fen: ItemsFen(r.items),
        accepted_at: r.accepted_at.format(spec.calendar.offset),
        origin: r.origin,
    }
}

/// The fields in which a copy differs from the old payment.
fn differing_fields(old: &PaymentRow, new: &PaymentRow) -> Vec<Field> {
    let mut f = Vec::new();
    if old.payer.id != new.payer.id {
        f.push(Field::Payer);
    }
    if old.payer.group != new.payer.group {
        f.push(Field::Group);
    }
    if old.payer.league != new.payer.league {
        f.push(Field::League);
    }
    if old.items != new.items {
        f.push(Field::Items);
    }
    if old.period != new.period {
        f.push(Field::Period);
    }
    f
}

/// Run every check.
pub(crate) fn check(input: CutoverInput) -> Option<CutoverReport> {
    let spec = input.spec;
    let x = spec.cutover.as_ref()?;
    let names = [x.systems[OLD as usize].name.as_str(), x.systems[NEW as usize].name.as_str()];
    let mut report = before_the_books(spec, x, &input);
    let books = match input.books {
        Ok(b) => b,
        Err(e) => {
            report.read_error = Some(e);
            report.registrations = super::registrations::check(spec, input.recorder, None);
            return Some(report);
        }
    };
    let [old, new] = books.payments;
    // A migration ran if the new system holds copies (in process, its totals say so too).
    report.migration.ran |= new.iter().any(|r| r.origin.is_some());
    count_payments(&mut report, &old, &new);
    match migration_due(x).filter(|due| *due > input.reached) {
        // Stopped before the migration was due: the new system cannot hold the old one's
        // payments and registrations yet, and nothing is missing from it.
        Some(due) => report.not_reached = Some(due.format(spec.calendar.offset)),
        None => {
            let regs = books.registrations.as_ref().map(|[o, n]| (o.as_slice(), n.as_slice()));
            report.registrations = super::registrations::check(spec, input.recorder, regs);
            migration_checks(spec, names, &old, &new, &mut report);
        }
    }
    if let Some(stops) = x.systems[OLD as usize].stops {
        for r in old.iter().filter(|r| r.accepted_at >= stops) {
            let p = payment_ref(spec, names[0], r);
            report.wrong.push(super::wrong::named(
                WrongKind::AcknowledgedAfterStop,
                &p,
                format!("after the stop at {}", fmt_at(spec, stops)),
            ));
            report.acknowledged_after_stop.push(p);
        }
    }
    double_charges(spec, names, &old, &new, &mut report.double_charges, &mut report.wrong);
    report.rollback = x.rollback.as_ref().map(|r| rollback(spec, input.recorder, r, &new));
    acknowledged_nowhere(&mut report, input.recorder, names, &old, &new);
    Some(report)
}

/// The report before any book is read: the systems, the stops, the answers lost on the way.
fn before_the_books(spec: &Spec, x: &crate::scenario::CutoverSpec, input: &CutoverInput) -> CutoverReport {
    let fmt = |t: SimTime| t.format(spec.calendar.offset);
    let tally = &input.recorder.cutover;
    let in_flight_at_stops = x
        .stops
        .iter()
        .zip(&tally.in_flight)
        .map(|(s, t)| StopReport {
            at: fmt(s.at),
            what: s.what.clone(),
            phase: s.phase.clone(),
            system: s.system.clone(),
            in_flight: t.in_flight,
            accepted: t.accepted,
            refused_suspended: t.refused_suspended,
        })
        .collect();
    let lost_answers = LostAnswersReport {
        total: tally.lost_by_channel.iter().sum(),
        acceptances: tally.lost_acceptances,
        by_channel: spec.channels.iter().zip(&tally.lost_by_channel).filter(|(_, n)| **n > 0).map(|(c, n)| (c.id.clone(), *n)).collect(),
        new_orders: tally.new_orders,
    };
    CutoverReport {
        systems: x
            .systems
            .iter()
            .map(|s| SystemReport {
                name: s.name.clone(),
                opens: s.opens.map(fmt),
                stops: s.stops.map(fmt),
                payments: 0,
                payments_fen: 0,
                migrated_payments: 0,
            })
            .collect(),
        in_flight_at_stops,
        lost_answers,
        migration: MigrationReport {
            ran: input.migration.is_some(),
            at: x.migration.as_ref().map(|m| fmt(m.at)),
            totals: input.migration.clone(),
            ..MigrationReport::default()
        },
        registrations: RegistrationsReport::default(),
        acknowledged_after_stop: Listed::default(),
        double_charges: DoubleCharges::default(),
        refused_already_paid: tally.already_paid,
        refunded: tally.refunded,
        refunded_fen: tally.refunded_fen,
        lost_at_boundary: Listed::default(),
        records_after_migration: RecordsAfterMigration::default(),
        rollback: None,
        read_error: None,
        not_reached: None,
        wrong: Vec::new(),
    }
}

/// What each system took itself, and the copies it holds from the migration.
fn count_payments(report: &mut CutoverReport, old: &[PaymentRow], new: &[PaymentRow]) {
    for (sys, rows) in report.systems.iter_mut().zip([old, new]) {
        for r in rows {
            if r.origin.is_some() {
                sys.migrated_payments += 1;
            } else {
                sys.payments += 1;
                sys.payments_fen = sys.payments_fen.saturating_add(r.items.iter().sum());
            }
        }
    }
}

/// Payments acknowledged to a payer that no system holds: lost at the boundary.
fn acknowledged_nowhere(report: &mut CutoverReport, recorder: &Recorder, names: [&str; 2], old: &[PaymentRow], new: &[PaymentRow]) {
    let mut held: crate::hash::FastSet<crate::model::IdemKey> = crate::hash::FastSet::default();
    for (system, rows) in [(OLD, old), (NEW, new)] {
        held.extend(super::reconcile::held_keys(system, rows));
    }
    let mut unheld: Vec<_> = recorder.acknowledged().iter().filter(|k| !held.contains(k)).copied().collect();
    unheld.sort();
    for k in unheld {
        let sent = crate::report::feed::recorder::sent_key(k);
        let system = booked_system(names, k).to_string();
        report.wrong.push(super::wrong::by_key(WrongKind::Lost, sent.to_text(), Some(system)));
        report.lost_at_boundary.push(LostPayment { reason: LostReason::InNoLedger, key: sent.to_text(), payment: None });
    }
}

fn rollback(spec: &Spec, rec: &Recorder, rb: &crate::scenario::RollbackSpec, new: &[PaymentRow]) -> RollbackReport {
    let fmt = |t: SimTime| t.format(spec.calendar.offset);
    let phase = rb.phase;
    let p = &spec.phases[phase];
    let opens = spec.cutover.as_ref().and_then(|x| x.systems[NEW as usize].opens).unwrap_or(spec.start);
    let resumed_at = spec.phases[phase + 1..].iter().find(|q| q.closed.iter().any(|c| !*c)).map(|q| fmt(q.start));
    let decision = rec.rollback_decision.clone();
    let rolled_back = !rb.conditional() || decision.as_ref().is_some_and(|d| d.rolled_back);
    let mut r = RollbackReport {
        phase: p.name.clone(),
        reason: reason_of(rb, decision.as_ref()),
        at: fmt(p.start),
        resumed_at,
        rolled_back,
        decision,
        ..Default::default()
    };
    for row in new.iter().filter(|row| row.origin.is_none()) {
        if row.accepted_at >= opens && row.accepted_at < p.start {
            r.accepted_before += 1;
            r.accepted_before_fen = r.accepted_before_fen.saturating_add(row.items.iter().sum());
        } else if row.accepted_at >= p.start && row.accepted_at < p.end {
            r.accepted_during += 1;
        }
    }
    // Refusals on channels the rollback closes: a channel closed already before it (closed
    // for good, say) is not the rollback's doing.
    let before = phase.checked_sub(1).map(|i| &spec.phases[i].closed);
    for (ph, ch, _, cell) in rec.cells() {
        let closed_before = before.is_some_and(|b| b.get(ch as usize).copied().unwrap_or(false));
        if ph == phase && !closed_before {
            r.refused_during += cell.counters.get(crate::model::Outcome::RefusedSuspended);
        }
    }
    r
}

/// The scenario's reason, and with a decision the gates that failed.
fn reason_of(rb: &crate::scenario::RollbackSpec, d: Option<&crate::report::RollbackDecision>) -> String {
    let failed: Vec<String> =
        d.map(|d| d.gates.iter().filter(|g| !g.passed).map(|g| format!("{} measured {}", g.name(), g.value)).collect()).unwrap_or_default();
    match (rb.reason.is_empty(), failed.is_empty()) {
        (_, true) => rb.reason.clone(),
        (true, false) => failed.join("; "),
        (false, false) => format!("{} ({})", rb.reason, failed.join("; ")),
    }
}

fn migration_checks(spec: &Spec, names: [&str; 2], old: &[PaymentRow], new: &[PaymentRow], report: &mut CutoverReport) {
    let m = &mut report.migration;
    // The copies of each old payment, by the old id.
    let mut copies: FastMap<u64, Vec<usize>> = FastMap::default();
    for (i, r) in new.iter().enumerate() {
        if let Some(o) = r.origin {
            copies.entry(o).or_default().push(i);
        }
    }
    let mut old_cells = LedgerTable::default();
    let mut new_cells = LedgerTable::default();
    let mut old_ids = crate::hash::FastSet::default();
    let end = spec.end;
    let rec = &mut report.records_after_migration;
    for r in old {
        m.checked += 1;
        rec.old_payments += 1;
        old_ids.insert(r.payment);
        old_cells.book(r.payer.league, r.payer.group, &r.items);
        let found = copies.get(&r.payment).map(Vec::as_slice).unwrap_or(&[]);
        match found {
            [] => {
                m.missing += 1;
                rec.missing += 1;
                report.wrong.push(super::wrong::named(WrongKind::Unmigrated, &payment_ref(spec, names[0], r), String::new()));
                m.differences.push(MigrationDifference {
                    problem: MigrationProblem::Missing,
                    fields: Vec::new(),
                    old: Some(payment_ref(spec, names[0], r)),
                    new: None,
                });
                report.lost_at_boundary.push(LostPayment {
                    reason: LostReason::NotMigrated,
                    key: r.key.to_text(),
                    payment: Some(payment_ref(spec, names[0], r)),
                });
            }
            [first, rest @ ..] => {
                let c = &new[*first];
                let fields = differing_fields(r, c);
                if c.payer.id == r.payer.id && c.visible_at < end {
                    rec.found += 1;
                } else {
                    rec.missing += 1;
                }
                if !fields.is_empty() {
                    m.differing += 1;
                    let what: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
                    let detail = format!("the copy of {} payment {} differs in {}", names[0], r.payment, what.join(", "));
                    report.wrong.push(super::wrong::named(WrongKind::Misbooked, &payment_ref(spec, names[1], c), detail));
                    m.differences.push(MigrationDifference {
                        problem: MigrationProblem::Differs,
                        fields,
                        old: Some(payment_ref(spec, names[0], r)),
                        new: Some(payment_ref(spec, names[1], c)),
                    });
                }
                for extra in rest {
                    m.duplicated += 1;
                    let detail = format!("another copy of {} payment {}", names[0], r.payment);
                    report.wrong.push(super::wrong::named(WrongKind::Duplicate, &payment_ref(spec, names[1], &new[*extra]), detail));
                    m.differences.push(MigrationDifference {
                        problem: MigrationProblem::Duplicated,
                        fields: Vec::new(),
                        old: Some(payment_ref(spec, names[0], r)),
                        new: Some(payment_ref(spec, names[1], &new[*extra])),
                    });
                }
            }
        }
    }
    for r in new.iter().filter(|r| r.origin.is_some()) {
        new_cells.book(r.payer.league, r.payer.group, &r.items);
        if let Some(o) = r.origin.filter(|o| !old_ids.contains(o)) {
            m.unknown_origin += 1;
            let detail = format!("a copy of {} payment {o}, which the {} system never took", names[0], names[0]);
            report.wrong.push(super::wrong::named(WrongKind::Phantom, &payment_ref(spec, names[1], r), detail));
            m.differences.push(MigrationDifference {
                problem: MigrationProblem::UnknownOrigin,
                fields: Vec::new(),
                old: None,
                new: Some(payment_ref(spec, names[1], r)),
            });
        }
    }
    let (old_cells, new_cells) = (old_cells.cells(), new_cells.cells());
    let keys: std::collections::BTreeSet<LedgerKey> = old_cells.keys().chain(new_cells.keys()).copied().collect();
    for k in keys {
        let (a, b) = (old_cells.get(&k).copied().unwrap_or_default(), new_cells.get(&k).copied().unwrap_or_default());
        if a != b {
            m.mismatched_cells += 1;
            let (league, group, ins): (u8, GroupKind, Insurance) = k;
            m.cells.push(MigrationCell {
                league: spec.leagues.get(league as usize).map_or_else(|| format!("#{league}"), |l| l.name.clone()),
                group,
                insurance: ins,
                old_count: a.count,
                old_fen: a.sum_fen,
                migrated_count: b.count,
                migrated_fen: b.sum_fen,
            });
        }
    }
}

/// Every payment charging a payer's insurance type for a month an earlier payment of the
/// payer (in either system, under any key, on any channel) already charged.
fn double_charges(
    spec: &Spec,
    names: [&str; 2],
    old: &[PaymentRow],
    new: &[PaymentRow],
    out: &mut DoubleCharges,
    wrong: &mut Vec<crate::report::data::cutover::WrongPayment>,
) {
    // Payments of their own (migrated copies are the old payments again), by payer, in the
    // order they were taken (old system first on equal instants).
    let mut own: Vec<(u32, SimTime, usize, &PaymentRow)> = old
        .iter()
        .map(|r| (0usize, r))
        .chain(new.iter().map(|r| (1usize, r)))
        .filter(|(_, r)| r.origin.is_none())
        .map(|(s, r)| (r.payer.id, r.accepted_at, s, r))
        .collect();
    own.sort_by_key(|a| (a.0, a.1, a.2, a.3.payment));
    let mut i = 0;
    while i < own.len() {
        let mut j = i;
        while j < own.len() && own[j].0 == own[i].0 {
            j += 1;
        }
        let payer = &own[i..j];
        for (k, (_, _, s2, second)) in payer.iter().enumerate() {
            let earlier = payer[..k].iter().find(|(_, _, _, first)| {
                first.period.overlaps(&second.period) && first.items.iter().zip(&second.items).any(|(a, b)| *a != 0 && *b != 0)
            });
            if let Some((_, _, s1, first)) = earlier {
                out.count += 1;
                let ch = spec.channels.get(second.channel as usize).map_or_else(|| format!("#{}", second.channel), |c| c.id.clone());
                *out.by_channel.entry(ch).or_default() += 1;
                let insurance: Vec<Insurance> =
                    Insurance::ALL.iter().filter(|i| first.items[i.index()] != 0 && second.items[i.index()] != 0).copied().collect();
                let names_of: Vec<&str> = insurance.iter().map(|i| i.as_str()).collect();
                let detail = format!(
                    "charges {} again: {} payment {} (key {}) charged it first",
                    names_of.join(", "),
                    names[*s1],
                    first.payment,
                    first.key.to_text()
                );
                wrong.push(super::wrong::named(WrongKind::DoubleCharged, &payment_ref(spec, names[*s2], second), detail));
                if out.listed.len() < LISTED {
                    out.listed.push(DoubleCharge {
                        payer_id: second.payer.id,
                        insurance,
                        first: payment_ref(spec, names[*s1], first),
                        second: payment_ref(spec, names[*s2], second),
                    });
                }
            }
        }
        i = j;
    }
}

/// An instant as the report writes it.
fn fmt_at(spec: &Spec, t: SimTime) -> String {
    t.format(spec.calendar.offset)
}

/// The system whose acknowledgement the recorder booked under `booked` (its top bit), by name.
fn booked_system(names: [&str; 2], booked: crate::model::IdemKey) -> &str {
    names[(booked.value() >> 127) as usize & 1]
}
