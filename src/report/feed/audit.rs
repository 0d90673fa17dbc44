//! The auditors' reports merged into one: each sending thread's auditor checks its own
//! payers; the coordinator adds them up and keeps the earliest disagreements.

use crate::report::data::live::{AuditReport, KEPT};

impl AuditReport {
    /// Add another auditor's report (one of another set of payers).
    pub fn merge(&mut self, other: AuditReport) {
        self.checked += other.checked;
        self.disagreements += other.disagreements;
        self.visibility_in_real_time += other.visibility_in_real_time;
        self.already_paid_while_another_in_flight += other.already_paid_while_another_in_flight;
        for (k, n) in other.by_kind {
            *self.by_kind.entry(k).or_default() += n;
        }
        self.first.extend(other.first);
    }

    /// After merging: keep the earliest disagreements (each auditor kept its own earliest,
    /// so the earliest of all are among them).
    pub fn finish(&mut self) {
        // Instants share one offset and format, so the text sorts as the time.
        self.first.sort_by(|a, b| (&a.at, a.payer_id, a.operation.as_str()).cmp(&(&b.at, b.payer_id, b.operation.as_str())));
        self.first.truncate(KEPT);
    }
}
