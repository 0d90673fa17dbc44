//! A system's payments, in the order it took them, and the two indexes over them: by
//! idempotency key and by payer (the payer's latest payment, each record naming the one
//! before). An index entry is only the payment's number (4 bytes); its key or payer is read
//! from the record. A map from a 16-byte key to an 8-byte number took 24 bytes an entry,
//! and a region's 2.4 M payments fill tables of 4 M entries: the indexes were as large as
//! the records.

use super::{IdemKey, PayerId, PayerRef, Period};
use crate::population::Items;
use crate::scenario::ChannelIdx;
use crate::time::SimTime;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use std::hash::BuildHasher;

#[derive(Clone, Debug)]
pub(super) struct PaymentRecord {
    pub payer: PayerRef,
    pub channel: ChannelIdx,
    pub period: Period,
    /// The key it was paid under.
    pub key: IdemKey,
    pub accepted_at: SimTime,
    pub visible_at: SimTime,
    /// The old system's id of a migrated payment (0 = paid here).
    pub origin: u64,
    /// Previous payment of the same payer (0 = none): a per-payer list without a Vec each.
    /// Set by [`Payments::push`].
    pub previous: u64,
    /// Of the request's body, to tell a replay from a conflict.
    pub fingerprint: u64,
    pub items: Items,
    /// The digest of the id another system gave this payment (0 = none): the auditor's
    /// shadow model notes the target's id here, so that a certificate request quoting it
    /// finds the shadow's record through the payer's few payments instead of a map of all ids.
    pub external: u64,
}

/// The records, read as a slice (`payments[n - 1]` is payment number `n`), and their
/// indexes, kept by [`Payments::push`] alone.
#[derive(Default)]
pub(super) struct Payments {
    records: Vec<PaymentRecord>,
    /// Payment numbers by the record's key (the latest payment under a key).
    by_key: HashTable<u32>,
    /// The latest payment number by the record's payer.
    latest: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl std::ops::Deref for Payments {
    type Target = [PaymentRecord];
    fn deref(&self) -> &[PaymentRecord] {
        &self.records
    }
}

impl std::ops::DerefMut for Payments {
    fn deref_mut(&mut self) -> &mut [PaymentRecord] {
        &mut self.records
    }
}

impl Payments {
    /// Append `r` as the payer's latest payment (its `previous` set here), found by its key
    /// too if `keyed` (a migrated copy is not: it is found by the old system's id). Gives
    /// its number (1-based).
    pub(super) fn push(&mut self, mut r: PaymentRecord, keyed: bool) -> u64 {
        // A number is 32 bits: four billion payments would be a machine's memory many times.
        let n = u32::try_from(self.records.len() + 1).expect("fewer than 2^32 payments in one system");
        let Payments { records, by_key, latest, hasher } = self;
        let (key, payer) = (r.key, r.payer.id);
        let at = |i: u32| &records[i as usize - 1];
        r.previous = match latest.entry(hasher.hash_one(payer), |&i| at(i).payer.id == payer, |&i| hasher.hash_one(at(i).payer.id)) {
            Entry::Occupied(mut e) => std::mem::replace(e.get_mut(), n) as u64,
            Entry::Vacant(e) => {
                e.insert(n);
                0
            }
        };
        if keyed {
            match by_key.entry(hasher.hash_one(key), |&i| at(i).key == key, |&i| hasher.hash_one(at(i).key)) {
                Entry::Occupied(mut e) => *e.get_mut() = n,
                Entry::Vacant(e) => {
                    e.insert(n);
                }
            }
        }
        records.push(r);
        n as u64
    }

    /// The number of the latest payment made under `key`.
    pub(super) fn by_key(&self, key: &IdemKey) -> Option<u64> {
        self.by_key.find(self.hasher.hash_one(key), |&i| self.records[i as usize - 1].key == *key).map(|&i| i as u64)
    }

    /// The number of `payer`'s latest payment.
    pub(super) fn latest(&self, payer: PayerId) -> Option<u64> {
        self.latest.find(self.hasher.hash_one(payer), |&i| self.records[i as usize - 1].payer.id == payer).map(|&i| i as u64)
    }

    /// Room for `n` more payments.
    pub(super) fn reserve(&mut self, n: usize) {
        let Payments { records, by_key, latest, hasher } = self;
        let at = |i: u32| &records[i as usize - 1];
        by_key.reserve(n, |&i| hasher.hash_one(at(i).key));
        latest.reserve(n, |&i| hasher.hash_one(at(i).payer.id));
        records.reserve(n);
    }
}
