//! The payments' two indexes (by idempotency key, by payer): payment numbers in a table of
//! our own, because its one use that a general map does not give is to name the memory a
//! look-up will read, so that the engine can ask for it while the request is still in
//! service ([`Index::prefetch`]). In a region's `simulate` the first read of these tables
//! missed the cache at nearly every request, 15 % of the run's profile (BENCHMARKS.md,
//! tenth sitting).
//!
//! Open addressing with linear probing over 8-byte slots: the high half a tag, the low
//! half a payment number (0: the slot is empty). Where the key is 32 bits (a payer id) the
//! tag is the key itself and a match is exact; where it is longer (an idempotency key) the
//! tag is the hash's high half and the caller confirms a match against the record. Entries
//! are only added or replaced, never removed, so probing needs no tombstones.

/// The table, at most 3/4 full, its size a power of two. (Linear probing's misses read
/// about (1 + 1/(1 - load)^2) / 2 slots: 8.5 at 3/4, 32.5 at hashbrown's 7/8.)
#[derive(Default)]
pub(super) struct Index {
    slots: Slots,
    len: usize,
}

use super::slots::Slots;

/// The smallest table made.
const MIN_SLOTS: usize = 16;

impl Index {
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Where a probe for `hash` starts.
    fn home(&self, hash: u64) -> usize {
        hash as usize & self.mask()
    }

    /// Ask the processor for the slot a look-up of `hash` reads first. A hint only.
    pub(super) fn prefetch(&self, hash: u64) {
        if !self.slots.is_empty() {
            crate::hash::prefetch_line(&self.slots[self.home(hash)]);
        }
    }

    /// The number stored under `tag` (probing from `hash`) that `is` confirms.
    pub(super) fn find(&self, hash: u64, tag: u32, mut is: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(hash);
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if (s >> 32) as u32 == tag && is(s as u32) {
                return Some(s as u32);
            }
            i = (i + 1) & self.mask();
        }
    }

    /// Store `number` under `tag`: in place of the number `is` confirms (given back), else
    /// in a new slot. `rehash` gives the hash of a stored slot's entry (to move it when the
    /// table grows).
    pub(super) fn put(
        &mut self,
        hash: u64,
        tag: u32,
        number: u32,
        mut is: impl FnMut(u32) -> bool,
        rehash: impl Fn(u64) -> u64,
    ) -> Option<u32> {
        assert!(number != 0, "payment numbers start at 1");
        self.grow(1, rehash, false);
        let mut i = self.home(hash);
        let slot = (tag as u64) << 32 | number as u64;
        loop {
            let s = self.slots[i];
            if s == 0 {
                self.slots[i] = slot;
                self.len += 1;
                return None;
            }
            if (s >> 32) as u32 == tag && is(s as u32) {
                self.slots[i] = slot;
                return Some(s as u32);
            }
            i = (i + 1) & self.mask();
        }
    }

    /// Room for `additional` more entries without growing, made ahead of them: a new table's
    /// pages are mapped in on another thread while the entries come ([`Slots::zeroed`]).
    pub(super) fn reserve(&mut self, additional: usize, rehash: impl Fn(u64) -> u64) {
        self.grow(additional, rehash, true);
    }

    /// Room for `additional` more entries; `ahead`: see [`Slots::zeroed`]. Not ahead when the
    /// table grows for the next entry: moving the old entries touches every page at once.
    fn grow(&mut self, additional: usize, rehash: impl Fn(u64) -> u64, ahead: bool) {
        let want = self.len + additional;
        if want <= self.slots.len() / 4 * 3 {
            return;
        }
        let size = (want * 4).div_ceil(3).next_power_of_two().max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, Slots::zeroed(size, ahead));
        let mask = size - 1;
        for &s in old.iter().filter(|s| **s != 0) {
            let mut i = rehash(s) as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// Bytes held.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.slots.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash that puts many keys on the same few slots, so that probes run long and wrap.
    fn crowded(key: u32) -> u64 {
        (key % 5) as u64
    }

    /// Every key finds its latest number, through growth from empty, with probes that wrap
    /// around the table's end; a key never stored finds nothing.
    #[test]
    fn each_key_finds_its_latest_number_through_growth() {
        let mut t = Index::default();
        assert_eq!(t.find(3, 3, |_| true), None);
        let rehash = |s: u64| crowded((s >> 32) as u32);
        for k in 1..=1000u32 {
            assert_eq!(t.put(crowded(k), k, k, |_| true, rehash), None, "key {k} is new");
        }
        for k in (1..=1000u32).step_by(3) {
            assert_eq!(t.put(crowded(k), k, k + 5000, |_| true, rehash), Some(k), "key {k} replaced");
        }
        assert_eq!(t.len, 1000);
        assert!(t.bytes() <= 2048 * 8, "at most twice the 3/4 bound");
        for k in 1..=1000u32 {
            let want = if (k - 1) % 3 == 0 { k + 5000 } else { k };
            assert_eq!(t.find(crowded(k), k, |_| true), Some(want), "key {k}");
        }
        assert_eq!(t.find(crowded(1001), 1001, |_| true), None);
    }

    /// Two keys with the same tag are told apart by the caller's confirmation alone.
    #[test]
    fn a_shared_tag_is_confirmed_by_the_caller() {
        let mut t = Index::default();
        // Numbers 1 and 2 stand for two long keys with the same hash and tag.
        let rehash = |_: u64| 7;
        assert_eq!(t.put(7, 9, 1, |_| false, rehash), None);
        assert_eq!(t.put(7, 9, 2, |n| n == 2, rehash), None);
        assert_eq!(t.find(7, 9, |n| n == 2), Some(2));
        assert_eq!(t.find(7, 9, |n| n == 1), Some(1));
        assert_eq!(t.put(7, 9, 3, |n| n == 1, rehash), Some(1), "the first key's entry replaced");
        assert_eq!(t.find(7, 9, |n| n == 3), Some(3));
        assert_eq!(t.find(7, 9, |n| n == 1), None);
    }
}
