//! The systems a run talks to, in process: one model, or the old and the new system of a
//! cutover, each a [`Model`] with its own policy, ledger, idempotency keys and id space,
//! and the migration between them at its instant.
//!
//! A request goes to the system its payer reached when the request started (the host
//! says which, from [`crate::scenario::Spec::system_for`]) and is decided by that system's
//! rules at the instant it is decided: a request in flight when its system stops is
//! refused if it is decided after the stop. The migration runs, once, before the first
//! request decided at or after its instant (or at the end of the run), so that it sees the
//! old system exactly as it stood then.

use super::migration::{self, MigrationFault, MigrationTotals};
use super::{IdemKey, LedgerCell, LedgerKey, Model, PaymentInfo, Policy, Request, Response, Rules};
use crate::scenario::{MigrationSpec, NEW, OLD, Spec, SystemIdx};
use crate::time::SimTime;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Deliberate faults of the reference systems, for rehearsing the checks (`--fault`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Payments are accepted on closed channels.
    pub accept_while_suspended: bool,
    /// The old system acknowledges payments after it stopped.
    pub accept_after_stop: bool,
    /// The new system checks idempotency keys only (no business-level duplicate check).
    pub naive_dedup: bool,
    pub migration: Option<MigrationFault>,
}

/// The model of system `system` of `spec`'s cutover (the one system without a cutover),
/// with its policy and the faults that apply to it: what `cutover serve --role` runs.
pub fn system_model(spec: &Spec, rules: Arc<Rules>, system: SystemIdx, faults: Faults) -> Model {
    let mut m = match &spec.cutover {
        None => Model::new(rules),
        Some(x) => {
            let i = (system as usize).min(1);
            let s = &x.systems[i];
            let policy = Policy {
                opens: s.opens,
                stops: s.stops,
                resume_after_stop: if i == OLD as usize { x.systems[NEW as usize].opens } else { None },
                business_dedup: s.business_dedup && !(i == NEW as usize && faults.naive_dedup),
                refund_duplicates: s.refund_duplicates,
                hide_visible_at: s.hide_visible_at,
                key_ttl_micros: s.key_ttl_micros,
                id_base: s.id_base,
                accept_after_stop: i == OLD as usize && faults.accept_after_stop,
                requires_registration: s.registered_payers_only,
            };
            Model::with_policy(rules, policy)
        }
    };
    m.set_fault_accept_while_suspended(faults.accept_while_suspended);
    m
}

pub struct Systems {
    models: Vec<Model>,
    migration: Option<MigrationSpec>,
    migration_fault: Option<MigrationFault>,
    /// What the migration did, once it ran.
    migrated: Option<MigrationTotals>,
}

impl Systems {
    /// One model for the whole timeline.
    pub fn single(model: Model) -> Systems {
        Systems { models: vec![model], migration: None, migration_fault: None, migrated: None }
    }

    /// The systems of `spec`: one, or the cutover's two.
    pub fn from_spec(spec: &Spec, rules: Arc<Rules>, faults: Faults) -> Systems {
        let Some(x) = &spec.cutover else {
            return Systems::single(system_model(spec, rules, OLD, faults));
        };
        let models = (0..2).map(|i| system_model(spec, rules.clone(), i, faults)).collect();
        Systems { models, migration: x.migration.clone(), migration_fault: faults.migration, migrated: None }
    }

    /// The registrations the old system holds before the rehearsal: `payers` (those of a
    /// payer registered already are kept as they were). Nothing without a cutover.
    pub(crate) fn register_old(&mut self, payers: impl Iterator<Item = super::PayerRef>) {
        if self.models.len() < 2 {
            return;
        }
        for p in payers {
            self.models[OLD as usize].register(p);
        }
    }

    /// Decide `req`, sent to `system`, at `now`.
    pub(crate) fn handle(&mut self, now: SimTime, system: SystemIdx, req: &Request) -> Response {
        self.advance(now);
        let i = (system as usize).min(self.models.len() - 1);
        self.models[i].handle(now, req)
    }

    /// [`Model::prefetch`] in the system `req` is bound for.
    pub(crate) fn prefetch(&self, system: SystemIdx, req: &Request) {
        self.models[(system as usize).min(self.models.len() - 1)].prefetch(req)
    }

    /// Run what falls due by `now` (the migration).
    pub(crate) fn advance(&mut self, now: SimTime) {
        let Some(m) = &self.migration else { return };
        if self.migrated.is_some() || now < m.at || self.models.len() < 2 {
            return;
        }
        let batch = m.batch_size as usize;
        let (old, new) = self.models.split_at_mut(1);
        self.migrated = Some(migration::migrate(&old[0], &mut new[0], batch, self.migration_fault));
    }

    pub(crate) fn len(&self) -> usize {
        self.models.len()
    }

    pub(crate) fn model(&self, system: SystemIdx) -> &Model {
        &self.models[system as usize]
    }

    /// Room for about `payments` payments in the system that takes them last (the new one of
    /// a cutover: the old one takes the weeks before its stop, and grows as it needs).
    pub(crate) fn reserve(&mut self, payments: usize) {
        if let Some(m) = self.models.last_mut() {
            m.reserve(payments);
        }
    }

    /// [`Systems::books`], the systems consumed: each model's records become its rows a slice
    /// at a time, its indexes dropped first (what `simulate` does once the run is over).
    pub(crate) fn into_books(self) -> super::Books {
        let mut books = super::Books { payments: Default::default(), registrations: Some(Default::default()) };
        for (i, mut m) in self.models.into_iter().enumerate().take(2) {
            if let Some(regs) = books.registrations.as_mut() {
                regs[i] = std::mem::take(&mut m.registrations);
            }
            books.payments[i] = m.into_payments();
        }
        books
    }

    pub(crate) fn model_mut(&mut self, system: SystemIdx) -> &mut Model {
        &mut self.models[system as usize]
    }

    /// Every payment and registration of the old and of the new system (with one system:
    /// it, and nothing), the systems kept ([`Systems::into_books`] outside tests).
    #[cfg(test)]
    pub(crate) fn books(&self) -> super::Books {
        let rows = |i: usize| self.models.get(i).map(|m| m.payments().collect()).unwrap_or_default();
        let regs = |i: usize| self.models.get(i).map(|m| m.registrations().to_vec()).unwrap_or_default();
        super::Books { payments: [rows(0), rows(1)], registrations: Some([regs(0), regs(1)]) }
    }

    /// What the migration did, if it ran.
    pub(crate) fn migration(&self) -> Option<&MigrationTotals> {
        self.migrated.as_ref()
    }

    /// The payments the systems' payers paid, by ledger cell: each system's own payments,
    /// migrated copies not counted again (the migration has checks of its own).
    pub(crate) fn ledger(&self) -> BTreeMap<LedgerKey, LedgerCell> {
        let mut out: BTreeMap<LedgerKey, LedgerCell> = BTreeMap::new();
        for m in &self.models {
            for (k, c) in m.native_ledger() {
                let cell = out.entry(k).or_default();
                cell.count += c.count;
                cell.sum_fen = cell.sum_fen.saturating_add(c.sum_fen);
            }
        }
        out
    }

    /// The payment held under `key` in any system (the first that holds it).
    pub(crate) fn payment_by_key(&self, key: IdemKey) -> Option<PaymentInfo> {
        self.models.iter().find_map(|m| m.payment_by_key(key))
    }
}

/// What a deployment's maintenance switch is set to, for a system that does not follow the
/// run's clock: the channels this system closes to everyone, and when that may change.
impl Model {
    /// Per channel, whether this system is closed to everyone at `t`: its window (not yet
    /// open, or stopped), then the timeline's phases (a staged opening, holding some payers
    /// only, aside).
    pub(crate) fn closed_channels(&self, t: SimTime) -> Vec<bool> {
        let window = self.policy.stops.is_some_and(|s| t >= s) || self.policy.opens.is_some_and(|o| t < o);
        (0..self.rules.channels()).map(|c| window || self.rules.channel_closed(c as crate::scenario::ChannelIdx, t)).collect()
    }

    /// The instants after `from` and before `until` at which [`Model::closed_channels`] may
    /// change: the phases' starts, this system's opening and stop.
    pub(crate) fn switch_instants(&self, from: SimTime, until: SimTime) -> Vec<SimTime> {
        let mut at = self.rules.phase_starts(from, until);
        at.extend([self.policy.opens, self.policy.stops].into_iter().flatten().filter(|t| *t > from && *t < until));
        at.sort_unstable();
        at.dedup();
        at
    }
}
