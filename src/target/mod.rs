//! The system under test, as seen by the engine and the drivers.
//!
//! A [`VirtualTarget`] answers requests at a virtual instant and can report its ledger
//! totals for the final reconciliation. The in-process reference model is one
//! target; an HTTP deployment is another (issue 3). A target's failures are
//! answers ([`Response::Error`]), counted by kind, never errors of the tool.

use crate::model::{LedgerCell, LedgerKey, Model, Request, Response, Systems};
use crate::scenario::SystemIdx;
use crate::time::SimTime;
use std::collections::BTreeMap;

pub(crate) trait VirtualTarget {
    /// Answer `req`, sent to `system` and decided at instant `now`.
    fn call(&mut self, now: SimTime, system: SystemIdx, req: &Request) -> Response;
    /// The target's ledger totals by league × payer group × insurance type.
    fn ledger(&mut self) -> Result<BTreeMap<LedgerKey, LedgerCell>, String>;
    /// The registrations the target holds before the rehearsal (a cutover's old system):
    /// the payers of the rehearsal. A target without registrations ignores them.
    fn register(&mut self, _payers: &mut dyn Iterator<Item = crate::model::PayerRef>) {}
    /// Make room for about `payments` payments up front (growing a table of millions by
    /// doubling rehashes it each time). A target that cannot ignores it.
    fn reserve(&mut self, _payments: usize) {}
    /// A request bound for `system` will be decided soon: a target may ask the processor
    /// for the memory its decision reads first (a hint; a target that cannot ignores it).
    fn prefetch(&self, _system: SystemIdx, _req: &Request) {}
}

impl VirtualTarget for Model {
    fn call(&mut self, now: SimTime, _system: SystemIdx, req: &Request) -> Response {
        self.handle(now, req)
    }
    fn ledger(&mut self) -> Result<BTreeMap<LedgerKey, LedgerCell>, String> {
        Ok(Model::ledger(self))
    }
    fn reserve(&mut self, payments: usize) {
        Model::reserve(self, payments)
    }
    fn prefetch(&self, _system: SystemIdx, req: &Request) {
        Model::prefetch(self, req)
    }
}

impl VirtualTarget for Systems {
    fn call(&mut self, now: SimTime, system: SystemIdx, req: &Request) -> Response {
        self.handle(now, system, req)
    }
    fn ledger(&mut self) -> Result<BTreeMap<LedgerKey, LedgerCell>, String> {
        Ok(Systems::ledger(self))
    }
    fn register(&mut self, payers: &mut dyn Iterator<Item = crate::model::PayerRef>) {
        self.register_old(payers)
    }
    fn reserve(&mut self, payments: usize) {
        Systems::reserve(self, payments)
    }
    fn prefetch(&self, system: SystemIdx, req: &Request) {
        Systems::prefetch(self, system, req)
    }
}
