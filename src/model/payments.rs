//! A system's payments, in the order it took them, and the two indexes over them: by
//! idempotency key and by payer (the payer's latest payment, each record naming the one
//! before). An index entry is only the payment's number (4 bytes); its key or payer is read
//! from the record. A map from a 16-byte key to an 8-byte number took 24 bytes an entry,
//! and a region's 2.4 M payments fill tables of 4 M entries: the indexes were as large as
//! the records.
//!
//! A record holds its items (six amounts, 48 bytes) as the number of an entry in the
//! system's table of distinct items: payers of a tier, a household size or a batch pay the
//! same amounts (cutover-2021's new system: 121,044 distinct among 2,432,382 records).

use super::index::Index;
use super::{IdemKey, PayerId, PayerRef, Period};
use crate::population::Items;
use crate::scenario::ChannelIdx;
use crate::time::SimTime;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use std::hash::BuildHasher;

/// A payment as taken (`I`: its items whole, [`Items`]) and as held (`I`: their number in
/// the system's table, [`ItemsId`]; read them with [`Payments::items`]).
#[derive(Clone, Debug)]
pub(super) struct PaymentRecord<I = ItemsId> {
    pub payer: PayerRef,
    pub channel: ChannelIdx,
    pub period: Period,
    /// The key it was paid under.
    pub key: IdemKey,
    pub accepted_at: SimTime,
    pub visible_at: SimTime,
    /// Previous payment of the same payer (0 = none): a per-payer list without a Vec each.
    /// Set by [`Payments::push`].
    pub previous: u32,
    /// Where this payment's rarer fields are ([`Extra`]; 0 = none of them). Set by
    /// [`Payments::push`] and [`Payments::set_external`].
    pub extra: u32,
    /// Of the request's body, to tell a replay from a conflict.
    pub fingerprint: u64,
    pub items: I,
}

/// A record's items: an entry of [`Payments`]' table of distinct items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ItemsId(u32);

/// What few payments have, kept beside the records (two words fewer in each of millions).
#[derive(Clone, Copy, Debug, Default)]
struct Extra {
    /// The old system's id of a migrated payment (0 = paid here).
    origin: u64,
    /// The digest of the id another system gave this payment (0 = none): the auditor's
    /// shadow model notes the target's id here, so that a certificate request quoting it
    /// finds the shadow's record through the payer's few payments instead of a map of all ids.
    external: u64,
}

/// The records, read as a slice (`payments[n - 1]` is payment number `n`), and their
/// indexes, kept by [`Payments::push`] alone.
#[derive(Default)]
pub(super) struct Payments {
    records: Vec<PaymentRecord>,
    /// Payment numbers by the record's key (the latest payment under a key), tagged with
    /// the high half of the key's hash.
    by_key: Index,
    /// The latest payment number by the record's payer, tagged with the payer's id.
    latest: Index,
    /// `extras[r.extra - 1]` for a record with any.
    extras: Vec<Extra>,
    /// Every distinct items a record holds, once ([`ItemsId`] is the index), and their index.
    items: Vec<Items>,
    items_index: HashTable<u32>,
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
    /// Append `r` as the payer's latest payment (its `previous` set here). A payment made
    /// here (`origin` 0) is found by its key too; a migrated copy, by the old system's id
    /// `origin`, not by the old key. Gives its number (1-based).
    pub(super) fn push(&mut self, taken: PaymentRecord<Items>, origin: u64) -> u64 {
        // A number is 32 bits: four billion payments would be a machine's memory many times.
        let n = u32::try_from(self.records.len() + 1).expect("fewer than 2^32 payments in one system");
        let items = self.intern(&taken.items);
        let mut r = PaymentRecord {
            payer: taken.payer,
            channel: taken.channel,
            period: taken.period,
            key: taken.key,
            accepted_at: taken.accepted_at,
            visible_at: taken.visible_at,
            previous: 0,
            extra: 0,
            fingerprint: taken.fingerprint,
            items,
        };
        if origin != 0 {
            self.extras.push(Extra { origin, external: 0 });
            r.extra = self.extras.len() as u32;
        }
        let keyed = origin == 0;
        let Payments { records, by_key, latest, hasher, .. } = self;
        let (key, payer) = (r.key, r.payer.id);
        r.previous = latest.put(hasher.hash_one(payer), payer, n, |_| true, |s| payer_slot_hash(hasher, s)).unwrap_or(0);
        if keyed {
            let (hash, tag) = key_hash(hasher, &key);
            by_key.put(hash, tag, n, |i| records[i as usize - 1].key == key, key_slot_hash);
        }
        records.push(r);
        n as u64
    }

    /// The number of `items` in the table, entered if new (fewer distinct items than
    /// payments: a number fits 32 bits).
    fn intern(&mut self, items: &Items) -> ItemsId {
        let Payments { items: all, items_index, hasher, .. } = self;
        let hash = hasher.hash_one(items);
        let entry = items_index.entry(hash, |&i| all[i as usize] == *items, |&i| hasher.hash_one(all[i as usize]));
        ItemsId(match entry {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let i = all.len() as u32;
                all.push(*items);
                e.insert(i);
                i
            }
        })
    }

    /// A record's items.
    pub(super) fn items(&self, r: &PaymentRecord) -> &Items {
        &self.items[r.items.0 as usize]
    }

    /// The number of the latest payment made under `key`.
    pub(super) fn by_key(&self, key: &IdemKey) -> Option<u64> {
        let (hash, tag) = key_hash(&self.hasher, key);
        self.by_key.find(hash, tag, |i| self.records[i as usize - 1].key == *key).map(|i| i as u64)
    }

    /// The number of `payer`'s latest payment.
    pub(super) fn latest(&self, payer: PayerId) -> Option<u64> {
        self.latest.find(self.hasher.hash_one(payer), payer, |_| true).map(|i| i as u64)
    }

    /// Ask the processor for the slots that [`Payments::by_key`] of `key` (if any) and
    /// [`Payments::latest`] of `payer` read first: a hint, for a request still in service.
    pub(super) fn prefetch(&self, key: Option<&IdemKey>, payer: PayerId) {
        if let Some(key) = key {
            self.by_key.prefetch(key_hash(&self.hasher, key).0);
        }
        self.latest.prefetch(self.hasher.hash_one(payer));
    }

    /// The old system's id of a migrated payment (0: paid here).
    pub(super) fn origin(&self, r: &PaymentRecord) -> u64 {
        self.extra(r).origin
    }

    /// The digest of the id another system gave the payment (0: none noted).
    pub(super) fn external(&self, r: &PaymentRecord) -> u64 {
        self.extra(r).external
    }

    /// Note the digest of the id another system gave payment `number`.
    pub(super) fn set_external(&mut self, number: usize, digest: u64) {
        let Some(r) = number.checked_sub(1).and_then(|i| self.records.get_mut(i)) else { return };
        if r.extra == 0 {
            self.extras.push(Extra::default());
            r.extra = self.extras.len() as u32;
        }
        self.extras[r.extra as usize - 1].external = digest;
    }

    fn extra(&self, r: &PaymentRecord) -> Extra {
        r.extra.checked_sub(1).map(|i| self.extras[i as usize]).unwrap_or_default()
    }

    /// The records, taken out, with what reads a record's origin (the old system's id, 0:
    /// paid here) and items: the indexes dropped first.
    pub(super) fn into_records(self) -> (Vec<PaymentRecord>, impl Fn(&PaymentRecord) -> (u64, Items)) {
        let Payments { records, extras, items, .. } = self;
        let side =
            move |r: &PaymentRecord| (r.extra.checked_sub(1).map(|i| extras[i as usize].origin).unwrap_or(0), items[r.items.0 as usize]);
        (records, side)
    }

    /// Room for `n` more payments.
    pub(super) fn reserve(&mut self, n: usize) {
        let Payments { records, by_key, latest, hasher, .. } = self;
        by_key.reserve(n, key_slot_hash);
        latest.reserve(n, |s| payer_slot_hash(hasher, s));
        records.reserve(n);
    }
}

/// Where a key lies in the by-key index: the hash's high half, both as the tag and as where
/// its probe starts. So a stored slot tells where it belongs by itself, and the table grows
/// without reading a record for each entry (a random read of the records apiece, in a
/// server's ledger of millions).
fn key_hash(hasher: &foldhash::fast::RandomState, key: &IdemKey) -> (u64, u32) {
    let tag = (hasher.hash_one(key) >> 32) as u32;
    (tag as u64, tag)
}

/// The hash a slot of the by-key index was stored under: its tag.
fn key_slot_hash(slot: u64) -> u64 {
    slot >> 32
}

/// The hash a slot of the by-payer index was stored under: its tag is the payer.
fn payer_slot_hash(hasher: &foldhash::fast::RandomState, slot: u64) -> u64 {
    hasher.hash_one((slot >> 32) as PayerId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::GroupKind;

    fn record(payer: PayerId, key: u128) -> PaymentRecord<Items> {
        PaymentRecord {
            payer: PayerRef { id: payer, group: GroupKind::Flexible, league: 0 },
            channel: 0,
            period: Period::UNKNOWN,
            key: IdemKey::new(key),
            accepted_at: SimTime(0),
            visible_at: SimTime(0),
            previous: 0,
            extra: 0,
            fingerprint: 0,
            items: [0, 0, 0, 0, 0, key as i64 % 3],
        }
    }

    /// Millions of records in a region: a field that grows one shows in its memory.
    #[test]
    fn a_record_stays_72_bytes() {
        assert_eq!(std::mem::size_of::<PaymentRecord>(), 72);
    }

    /// The indexes find what was pushed, through growth (both indexes: 701 payers, 5,000
    /// keys): each payer's chain newest first, a key's latest payment, a migrated copy by its
    /// origin and never by its old key.
    #[test]
    fn the_indexes_find_every_payment_through_growth() {
        let mut p = Payments::default();
        for n in 1..=5000u32 {
            assert_eq!(p.push(record(n % 701, n as u128), 0), n as u64);
        }
        let migrated = p.push(record(3, 42), 900);
        let again = p.push(record(4, 17), 0);
        assert_eq!(p.by_key(&IdemKey::new(1234)), Some(1234));
        assert_eq!(p.by_key(&IdemKey::new(17)), Some(again), "a key paid again finds the later payment");
        assert_eq!(p.by_key(&IdemKey::new(42)), Some(42), "not the migrated copy under the old key");
        assert_eq!(p.by_key(&IdemKey::new(5001)), None);
        assert_eq!((p.origin(&p[migrated as usize - 1]), p.origin(&p[0])), (900, 0));
        let mut chain = Vec::new();
        let mut at = p.latest(3);
        while let Some(n) = at.filter(|n| *n != 0) {
            chain.push(n);
            at = Some(p[n as usize - 1].previous as u64);
        }
        let mut want: Vec<u64> = (1..=5000u64).filter(|n| n % 701 == 3).collect();
        want.push(migrated);
        want.reverse();
        assert_eq!(chain, want);
        p.set_external(10, 77);
        assert_eq!((p.external(&p[9]), p.external(&p[10]), p.origin(&p[9])), (77, 0, 0));
        p.set_external(migrated as usize, 78);
        assert_eq!((p.external(&p[migrated as usize - 1]), p.origin(&p[migrated as usize - 1])), (78, 900));
        // Each record reads back its own items, held once each however many records have them.
        for (i, r) in p.iter().enumerate() {
            let key = r.key.value() as i64;
            assert_eq!(p.items(r), &[0, 0, 0, 0, 0, key % 3], "record {i}");
        }
        assert_eq!(p.items.len(), 3);
    }
}
