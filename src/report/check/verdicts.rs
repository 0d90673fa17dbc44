//! Where the cutover's checks stand, as a [`CheckState`], and the cutover's figures the gates
//! read. (A gate's own standing is a view of its fields, `GateResult::state`, beside its type.)

use crate::report::CheckState;
use crate::report::data::cutover::CutoverReport;

/// The figures the summary and the gates read.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CutoverFigures {
    pub migration_mismatched_cells: u64,
    pub double_charges: u64,
    pub lost_at_boundary: u64,
    pub registrations_mismatched: u64,
}

impl CutoverReport {
    pub(crate) fn figures(&self) -> CutoverFigures {
        CutoverFigures {
            registrations_mismatched: self.registrations.mismatched(),
            migration_mismatched_cells: self.migration.mismatched_cells,
            double_charges: self.double_charges.count,
            lost_at_boundary: self.lost_at_boundary.count,
        }
    }

    /// Where the cutover's checks stand: unknown when the books could not be read (then no
    /// check ran), failed when any payment or registration is wrong.
    pub fn state(&self) -> CheckState {
        match &self.read_error {
            Some(e) => CheckState::Unknown { reason: format!("the books could not be read: {e}") },
            None if self.payments_wrong() > 0 => CheckState::Fail,
            None => CheckState::Pass,
        }
    }

    /// Everything the checks found wrong, counted together (0: the books agree): the
    /// migration's differences, double charges, payments lost at the boundary or
    /// acknowledged after a stop, wrong registrations.
    pub(crate) fn payments_wrong(&self) -> u64 {
        let m = &self.migration;
        m.missing
            + m.duplicated
            + m.differing
            + m.unknown_origin
            + m.mismatched_cells
            + self.double_charges.count
            + self.lost_at_boundary.count
            + self.acknowledged_after_stop.count
            + self.registrations.mismatched()
    }
}
