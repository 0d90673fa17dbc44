//! The migration of a cutover, in process: the old system's payments and open assessments
//! copied into the new one in batches, as `cutover migrate` does through the admin
//! endpoints. A deliberately broken migration (a batch dropped, a batch imported twice, a
//! league code mapped to the wrong league) is kept for the checks' tests: the checks must
//! catch each.

use super::{AssessmentRow, Model, PaymentRow};

/// A deliberately wrong migration (`--fault`), named in the report as on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub enum MigrationFault {
    /// The second batch (the first, if there is one) is never written.
    #[serde(rename = "migration-drop-batch")]
    DropBatch,
    /// The second batch (the first, if there is one) is written twice.
    #[serde(rename = "migration-import-twice")]
    ImportTwice,
    /// Payments of the second league are written under the third (the first, if fewer).
    #[serde(rename = "migration-wrong-league")]
    WrongLeague,
}

impl MigrationFault {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MigrationFault::DropBatch => "migration-drop-batch",
            MigrationFault::ImportTwice => "migration-import-twice",
            MigrationFault::WrongLeague => "migration-wrong-league",
        }
    }
}

/// What a migration did (in process: the reference model's step), as the report gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct MigrationTotals {
    pub batches: u64,
    pub payments_read: u64,
    pub payments_written: u64,
    pub assessments_written: u64,
    pub registrations_read: u64,
    pub registrations_written: u64,
    /// The fault injected, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<MigrationFault>,
}

/// Which batch a batch fault hits, of `batches`.
pub(crate) fn faulty_batch(batches: u64) -> u64 {
    if batches > 1 { 1 } else { 0 }
}

/// A row as a wrong league mapping writes it.
pub(crate) fn map_league(row: &PaymentRow, leagues: usize, fault: Option<MigrationFault>) -> PaymentRow {
    let mut r = row.clone();
    if fault == Some(MigrationFault::WrongLeague) && leagues > 1 && r.payer.league == 1 {
        r.payer.league = (2 % leagues) as u8;
    }
    r
}

/// How many times a batch fault writes batch `b` of `batches` (1 without a fault).
pub(crate) fn times(fault: Option<MigrationFault>, b: u64, batches: u64) -> usize {
    match fault {
        Some(MigrationFault::DropBatch) if b == faulty_batch(batches) => 0,
        Some(MigrationFault::ImportTwice) if b == faulty_batch(batches) => 2,
        _ => 1,
    }
}

/// Copy `old`'s registrations, payments and open assessments into `new`, `batch_size`
/// entries a batch (registrations first, as `cutover migrate` does).
pub(crate) fn migrate(old: &Model, new: &mut Model, batch_size: usize, fault: Option<MigrationFault>) -> MigrationTotals {
    let batch_size = batch_size.max(1);
    let leagues = new.rules().leagues();
    let regs = old.registrations();
    let reg_batches = regs.len().div_ceil(batch_size) as u64;
    let mut registrations_written = 0;
    for (b, chunk) in regs.chunks(batch_size).enumerate() {
        for _ in 0..times(fault, b as u64, reg_batches) {
            for r in chunk {
                let mut r = *r;
                if fault == Some(MigrationFault::WrongLeague) && leagues > 1 && r.league == 1 {
                    r.league = (2 % leagues) as u8;
                }
                registrations_written += new.register(r) as u64;
            }
        }
    }
    let rows: Vec<PaymentRow> = old.payments().collect();
    let batches = rows.len().div_ceil(batch_size) as u64;
    let mut t = MigrationTotals {
        batches,
        payments_read: rows.len() as u64,
        registrations_read: regs.len() as u64,
        registrations_written,
        fault,
        ..Default::default()
    };
    for (b, chunk) in rows.chunks(batch_size).enumerate() {
        for _ in 0..times(fault, b as u64, batches) {
            for row in chunk {
                // A row of a league the new system does not have is not written (and so
                // found missing by the checks).
                if new.import_payment(&map_league(row, leagues, fault)).is_ok() {
                    t.payments_written += 1;
                }
            }
        }
    }
    let open: Vec<AssessmentRow> = old.assessments().into_iter().filter(|a| !a.used).collect();
    for a in &open {
        new.import_assessment(a);
        t.assessments_written += 1;
    }
    t
}
