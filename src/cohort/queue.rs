//! The event queue, ordered by (instant, sequence number), so events at the same instant
//! run in the order they were scheduled. Generic over the event: the cohort's steps and a
//! host's own events share one queue, so their order at equal instants is the order they
//! were scheduled in.
//!
//! Two levels, as a calendar queue keeps them: a binary heap holds the events before a
//! horizon (the current bucket of about a minute of virtual time), and the events at or
//! after it wait unsorted in buckets of that width, each taken into the heap when the
//! horizon reaches it. A region's millions of first attempts, due days ahead, so stay out
//! of the heap that the next minute's events are popped from (a heap of every pending event
//! cost a third of a region's simulation, most of it in cache misses). The order is exactly
//! the one heap's: a bucket's entries keep their sequence numbers.

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

/// A bucket's width: 2^26 µs, about 67 s of virtual time.
const BUCKET_SHIFT: u32 = 26;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry<E> {
    at: SimTime,
    seq: u64,
    ev: E,
}

impl<E: Eq> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        other.at.cmp(&self.at).then(other.seq.cmp(&self.seq))
    }
}

impl<E: Eq> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Invariants: `near` holds exactly the pending events before `horizon`, `far` those at or
/// after it (keyed by `instant >> BUCKET_SHIFT`, no bucket empty); `near` is empty only if
/// `far` is too; `len` counts both.
pub(crate) struct EventQueue<E> {
    near: BinaryHeap<Entry<E>>,
    far: BTreeMap<i64, Vec<Entry<E>>>,
    horizon: SimTime,
    seq: u64,
    len: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { near: BinaryHeap::new(), far: BTreeMap::new(), horizon: SimTime(i64::MIN), seq: 0, len: 0 }
    }
}

impl<E: Eq> EventQueue<E> {
    pub(crate) fn push(&mut self, at: SimTime, ev: E) {
        self.seq += 1;
        self.len += 1;
        let e = Entry { at, seq: self.seq, ev };
        if at < self.horizon {
            self.near.push(e);
        } else {
            self.far.entry(at.0 >> BUCKET_SHIFT).or_default().push(e);
            if self.near.is_empty() {
                self.advance();
            }
        }
    }

    pub(crate) fn pop(&mut self) -> Option<(SimTime, E)> {
        let e = self.near.pop()?;
        self.len -= 1;
        if self.near.is_empty() {
            self.advance();
        }
        Some((e.at, e.ev))
    }

    /// The near heap ran empty: the earliest bucket becomes it, the horizon its end.
    fn advance(&mut self) {
        debug_assert!(self.near.is_empty(), "the horizon moves only past an empty heap");
        if let Some((bucket, entries)) = self.far.pop_first() {
            self.horizon = SimTime((bucket + 1) << BUCKET_SHIFT);
            self.near = BinaryHeap::from(entries);
        }
    }

    /// The earliest event.
    pub(crate) fn peek(&self) -> Option<&E> {
        self.near.peek().map(|e| &e.ev)
    }

    /// The instant of the earliest event.
    pub(crate) fn peek_time(&self) -> Option<SimTime> {
        self.near.peek().map(|e| e.at)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_fifo() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), 1);
        q.push(SimTime(3), 2);
        q.push(SimTime(5), 3);
        q.push(SimTime(3), 4);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(SimTime(3), 2), (SimTime(3), 4), (SimTime(5), 1), (SimTime(5), 3)]);
    }

    /// The two levels pop what one heap of every entry pops, entry for entry, while pushes
    /// fall before the horizon, in the current bucket, in later buckets and in the past,
    /// between pops.
    #[test]
    fn the_buckets_pop_in_the_order_of_one_heap() {
        let mut q = EventQueue::default();
        let mut one: BinaryHeap<Entry<u32>> = BinaryHeap::new();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut draw = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let (mut now, mut seq, mut popped) = (0i64, 0u64, 0usize);
        for round in 0..20_000u32 {
            for _ in 0..draw(4) {
                // Same instants often (ties), now and then hours ahead or slightly behind.
                let ahead = match draw(4) {
                    0 => 0,
                    1 => draw(1 << 20) as i64,
                    2 => draw(1 << 34) as i64,
                    _ => -(draw(1000) as i64),
                };
                let at = SimTime(now + ahead);
                seq += 1;
                q.push(at, round);
                one.push(Entry { at, seq, ev: round });
            }
            if draw(3) > 0 {
                let got = q.pop();
                let want = one.pop().map(|e| (e.at, e.ev));
                assert_eq!(got, want, "pop {popped}");
                popped += 1;
                if let Some((t, _)) = got {
                    now = now.max(t.0);
                }
            }
            assert_eq!(q.len(), one.len());
            assert_eq!(q.peek_time(), one.peek().map(|e| e.at));
            assert_eq!(q.peek(), one.peek().map(|e| &e.ev), "what pops next");
        }
        while let Some(want) = one.pop() {
            assert_eq!(q.pop(), Some((want.at, want.ev)));
        }
        assert_eq!((q.pop(), q.len()), (None, 0));
        assert!(popped > 10_000, "the test popped between pushes: {popped}");
    }
}
