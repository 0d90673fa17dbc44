//! The checks: pure functions from the recorder and the systems' books to typed results (the
//! reconciliation, the cutover's checks, the registrations, the rollback's decision, the
//! gates), and the report built from them. The hosts do the I/O (reading ledgers and books);
//! what the answers mean is decided here.

pub mod build;
pub mod calibration;
pub mod cutover;
pub mod gates;
pub mod latency;
pub mod reconcile;
pub mod registrations;
pub mod rollback;
pub mod verdicts;
pub mod wrong;

/// Lists keep their first entries and count all.
impl<T> crate::report::data::listed::Listed<T> {
    pub(crate) fn push(&mut self, t: T) {
        self.count += 1;
        if self.listed.len() < crate::report::data::listed::LISTED {
            self.listed.push(t);
        }
    }
}
