//! A recorder's account as a merge adds it up ([`RecorderPart`]): what a sending thread hands
//! the coordinator, or a shard writes in its part file, and the one recorder of the union of
//! such parts ([`Recorder::merge`]).

use super::{BacklogStep, Cell, CutoverTally, Hour, Recorder, VIOLATIONS_KEPT, Violation};
use crate::model::{IdemKey, LedgerTable, Rules};
use crate::scenario::Spec;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a merge adds up of a recorder ([`Recorder::into_part`], [`Recorder::merge`]): each
/// field as the recorder keeps it, the book's keys sorted. Serialised in a shard's part file.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct RecorderPart {
    cells: Vec<Option<Box<Cell>>>,
    hours: Vec<Hour>,
    acknowledged: Vec<IdemKey>,
    expected: LedgerTable,
    accepted: u64,
    accepted_while_suspended: u64,
    violations: Vec<Violation>,
    dues: crate::report::feed::dues::DuesTally,
    days: crate::report::feed::days::DaysTally,
    gave_up: u64,
    errors_by_kind: BTreeMap<crate::vocabulary::ErrorKind, u64>,
    backlog_steps: Option<Vec<BacklogStep>>,
    cutover: CutoverTally,
    /// Decided by the coordinator on every part's figures, never by one part: not written.
    #[serde(skip)]
    rollback_decision: Option<crate::report::RollbackDecision>,
}

impl Recorder {
    /// What of this recorder a merge adds up ([`Recorder::merge`]), apart from the scenario:
    /// what a sending thread hands the coordinator, or a shard writes in its part file.
    pub(crate) fn into_part(mut self) -> RecorderPart {
        self.settle();
        // Every field named: one added to the recorder must be placed here, merged or not.
        let Recorder {
            spec: _,
            rules: _,
            channels: _,
            cells,
            hours,
            acknowledged,
            pending: _,
            expected,
            accepted,
            accepted_while_suspended,
            violations,
            reopen_at: _,
            backlog: _,
            dues,
            days,
            backlog_peak: _,
            backlog_peak_at: _,
            backlog_cleared_at: _,
            backlog_90pct_cleared_at: _,
            backlog_99pct_cleared_at: _,
            displaced_total: _,
            gave_up,
            gave_up_displaced: _,
            errors_by_kind,
            backlog_steps,
            cutover,
            rollback_decision,
        } = self;
        let mut acknowledged: Vec<IdemKey> = acknowledged.into_iter().collect();
        // Distinct keys (from a set): an unstable sort gives the same order, faster.
        acknowledged.sort_unstable();
        RecorderPart {
            cells,
            hours,
            acknowledged,
            expected,
            accepted,
            accepted_while_suspended,
            violations,
            dues,
            days,
            gave_up,
            errors_by_kind,
            backlog_steps,
            cutover,
            rollback_decision,
        }
    }

    /// One recorder for the union of `parts`, each of which saw its own disjoint set of
    /// payers (the live driver's threads, of one process or of several shards). Counters and
    /// histograms add up, hourly queue maxima take the larger, violations keep the earliest;
    /// the backlog, whose peak and clearing instants depend on the order of events across
    /// parts, is replayed from the parts' steps in time order (each part must have kept them).
    pub(crate) fn merge(spec: Arc<Spec>, rules: Arc<Rules>, parts: Vec<RecorderPart>) -> Recorder {
        let mut m = Recorder::new(spec, rules);
        let mut steps = Vec::new();
        let mut booked = 0;
        for p in parts {
            if m.rollback_decision.is_none() {
                m.rollback_decision = p.rollback_decision.clone();
            }
            for (i, c) in p.cells.into_iter().enumerate() {
                let Some(c) = c else { continue };
                match &mut m.cells[i] {
                    slot @ None => *slot = Some(c),
                    Some(into) => {
                        into.counters += &c.counters;
                        // Same bounds on both sides: adding cannot fail.
                        let _ = into.latency_micros.add(&c.latency_micros);
                        match (&mut into.service_micros, c.service_micros) {
                            (Some(x), Some(y)) => {
                                let _ = x.add(&y);
                            }
                            (x @ None, y) => *x = y,
                            (Some(_), None) => {}
                        }
                    }
                }
            }
            for (into, h) in m.hours.iter_mut().zip(&p.hours) {
                into.attempts += h.attempts;
                into.self_paid_attempts += h.self_paid_attempts;
                into.successes += h.successes;
                into.rejections += h.rejections;
                into.errors += h.errors;
                into.backend_queue_max = into.backend_queue_max.max(h.backend_queue_max);
                for (a, b) in into.channel_queue_max.iter_mut().zip(&h.channel_queue_max) {
                    *a = (*a).max(*b);
                }
            }
            booked += p.acknowledged.len();
            m.acknowledged.extend(p.acknowledged);
            m.expected.add(&p.expected);
            m.accepted += p.accepted;
            m.dues.add(&p.dues);
            m.days.add(&p.days);
            m.accepted_while_suspended += p.accepted_while_suspended;
            m.violations.extend(p.violations);
            m.gave_up += p.gave_up;
            for (k, n) in p.errors_by_kind {
                *m.errors_by_kind.entry(k).or_default() += n;
            }
            steps.extend(p.backlog_steps.unwrap_or_default());
            let (a, b) = (&mut m.cutover, &p.cutover);
            for (x, y) in a.in_flight.iter_mut().zip(&b.in_flight) {
                x.in_flight += y.in_flight;
                x.accepted += y.accepted;
                x.refused_suspended += y.refused_suspended;
            }
            for (x, y) in a.lost_by_channel.iter_mut().zip(&b.lost_by_channel) {
                *x += y;
            }
            a.lost_acceptances += b.lost_acceptances;
            a.new_orders += b.new_orders;
            a.already_paid += b.already_paid;
            a.refunded += b.refunded;
            a.refunded_fen = a.refunded_fen.saturating_add(b.refunded_fen);
            if a.not_registered_by_channel.len() < b.not_registered_by_channel.len() {
                a.not_registered_by_channel.resize(b.not_registered_by_channel.len(), 0);
            }
            for (x, y) in a.not_registered_by_channel.iter_mut().zip(&b.not_registered_by_channel) {
                *x += y;
            }
        }
        m.violations.sort_by_key(|v| v.at);
        m.violations.truncate(VIOLATIONS_KEPT);
        // A stable sort: steps of one part at one instant keep their order.
        steps.sort_by_key(|s| s.at);
        for s in steps {
            if s.joined {
                m.displaced(s.at);
            } else {
                m.resolved(s.at, s.gave_up);
            }
        }
        // Each thread books the payments of its own payers: a key booked by two would be
        // one payment counted twice in the expected ledger.
        assert_eq!(m.acknowledged.len(), booked, "two sending threads booked the same payment");
        m
    }
}
