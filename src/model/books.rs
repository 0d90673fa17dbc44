//! A system's books in bulk: every payment and assessment it holds, page by page (what an
//! export, the cutover's checks and a migration read), and taking in a migration's batches.

use super::*;

/// Payment `payment`'s row, of record `r` with its `items` (`origin` 0: paid here).
fn row_of(payment: u64, r: &PaymentRecord, (origin, items): (u64, Items)) -> PaymentRow {
    PaymentRow {
        payment,
        key: r.key,
        payer: r.payer,
        channel: r.channel,
        items,
        period: r.period,
        accepted_at: r.accepted_at,
        visible_at: r.visible_at,
        origin: Some(origin).filter(|o| *o != 0),
    }
}

impl Model {
    /// Every payment this system holds, in the order it took them.
    pub(crate) fn payments(&self) -> impl Iterator<Item = PaymentRow> + '_ {
        self.payments.iter().enumerate().map(|(i, r)| self.row(i, r))
    }

    /// Every payment as [`Model::payments`] lists them, the model consumed: the records are
    /// turned into rows a slice at a time from the end, each slice's memory given back as its
    /// rows are made, so that the records and the rows are not both held whole (a region's
    /// books at the end of a simulation).
    pub(crate) fn into_payments(self) -> Vec<PaymentRow> {
        const SLICE: usize = 1 << 16;
        let (id_base, n) = (self.policy.id_base, self.payments.len());
        let (mut records, side) = self.payments.into_records();
        let mut rows = Vec::with_capacity(SLICE.min(n));
        while !records.is_empty() {
            let from = records.len().saturating_sub(SLICE);
            for (k, r) in records.drain(from..).enumerate().rev() {
                rows.push(row_of(id_base + (from + k) as u64 + 1, &r, side(&r)));
            }
            records.shrink_to_fit();
        }
        rows.reverse();
        rows
    }

    /// Up to `limit` payments whose id is above `after`, in id order (a page of the export).
    pub(crate) fn payments_page(&self, after: u64, limit: usize) -> Vec<PaymentRow> {
        let from = after.saturating_sub(self.policy.id_base).min(self.payments.len() as u64) as usize;
        self.payments[from..].iter().take(limit).enumerate().map(|(k, r)| self.row(from + k, r)).collect()
    }

    fn row(&self, i: usize, r: &PaymentRecord) -> PaymentRow {
        row_of(self.id_of(i), r, (self.payments.origin(r), *self.payments.items(r)))
    }

    /// Every assessment this system holds.
    pub(crate) fn assessments(&self) -> Vec<AssessmentRow> {
        self.assessments_page(0, usize::MAX)
    }

    /// Up to `limit` assessments whose id is above `after`, in id order.
    pub(crate) fn assessments_page(&self, after: u64, limit: usize) -> Vec<AssessmentRow> {
        let from = after.saturating_sub(self.policy.id_base).min(self.assessments.len() as u64) as usize;
        self.assessments[from..]
            .iter()
            .take(limit)
            .enumerate()
            .map(|(k, a)| (from + k, a))
            .map(|(i, a)| AssessmentRow {
                assessment: self.id_of(i),
                payer: a.payer,
                total_fen: a.total_fen,
                used: a.used,
                origin: (a.origin != 0).then_some(a.origin),
            })
            .collect()
    }

    /// Take in a payment of the old system (a migration): booked here as migrated, found by
    /// the payer's look-ups and by the old id, never under the old key. Nothing is checked:
    /// what a migration did wrong is for the cutover checks to find.
    pub(crate) fn import_payment(&mut self, row: &PaymentRow) -> Result<u64, RestoreError> {
        if row.payer.league as usize >= self.leagues {
            return Err(RestoreError::UnknownLeague { payment: row.payment, league: row.payer.league, leagues: self.leagues });
        }
        let index = self.payments.push(
            PaymentRecord {
                payer: row.payer,
                channel: row.channel,
                period: row.period,
                key: row.key,
                accepted_at: row.accepted_at,
                visible_at: row.visible_at,
                previous: 0,
                extra: 0,
                fingerprint: 0,
                items: row.items,
            },
            row.payment,
        );
        self.book(row.payer, &row.items, true);
        Ok(self.id_of(index as usize - 1))
    }

    /// Take in a batch of a migration under `batch` (its key): once per key, so that a
    /// migration resumed after a crash may send its last batch again without writing it
    /// twice. Returns what the batch wrote (the first time) and whether it was a replay.
    pub(crate) fn import_batch(
        &mut self,
        batch: &str,
        payments: &[PaymentRow],
        assessments: &[AssessmentRow],
        registrations: &[PayerRef],
    ) -> Result<ImportAnswer, RestoreError> {
        if let Some(&done) = self.import_batches.get(batch) {
            return Ok(ImportAnswer { replayed: true, ..done });
        }
        if let Some(r) = registrations.iter().find(|r| r.league as usize >= self.leagues) {
            return Err(RestoreError::UnknownRegistrationLeague { payer: r.id, league: r.league, leagues: self.leagues });
        }
        let mut done = ImportAnswer::default();
        for r in payments {
            self.import_payment(r)?;
            done.payments += 1;
        }
        for a in assessments {
            self.import_assessment(a);
            done.assessments += 1;
        }
        for r in registrations {
            done.registrations += self.register(*r) as u64;
        }
        self.import_batches.insert(batch.to_string(), done);
        Ok(done)
    }

    /// Register a payer here (the old system's registrations as they stand before a
    /// rehearsal, or a migration's): `false` if it is registered already, which is kept as
    /// it was (a registration is unique per payer).
    pub(crate) fn register(&mut self, payer: PayerRef) -> bool {
        if !self.registered.insert(payer.id) {
            return false;
        }
        self.registrations.push(payer);
        true
    }

    /// Every registration, in the order they were made.
    pub(crate) fn registrations(&self) -> &[PayerRef] {
        &self.registrations
    }

    /// Up to `limit` registrations after the first `after` (positions count from 1).
    pub(crate) fn registrations_page(&self, after: u64, limit: usize) -> &[PayerRef] {
        let from = (after as usize).min(self.registrations.len());
        &self.registrations[from..(from.saturating_add(limit)).min(self.registrations.len())]
    }

    /// Take in an assessment of the old system: a payment here may quote the old id.
    pub(crate) fn import_assessment(&mut self, row: &AssessmentRow) -> u64 {
        self.assessments.push(Assessment { payer: row.payer, total_fen: row.total_fen, used: row.used, origin: row.assessment });
        let index = self.assessments.len() - 1;
        self.assessment_by_origin.insert(row.assessment, index as u64);
        self.id_of(index)
    }
}
