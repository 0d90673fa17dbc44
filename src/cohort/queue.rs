//! The event queue, ordered by (instant, sequence number), so events at the same instant
//! run in the order they were scheduled. Generic over the event: the cohort's steps and a
//! host's own events share one queue, so their order at equal instants is the order they
//! were scheduled in.
//!
//! Two levels, as a calendar queue keeps them: the near level holds the events before a
//! horizon (the current bucket of about a minute of virtual time), and the events at or
//! after it wait unsorted in buckets of that width, each taken into the near level when the
//! horizon reaches it. A region's millions of first attempts, due days ahead, so stay out
//! of the near level that the next minute's events are popped from (a heap of every pending
//! event cost a third of a region's simulation, most of it in cache misses). There a bucket
//! is sorted once and popped from its end; what is pushed into the near level afterwards (a
//! request's service, a retry seconds later) goes into a binary heap beside it, and a pop
//! takes the earlier of the two fronts (a heap of the whole bucket sifted through it at
//! every pop, and a batch run puts hundreds of thousands of debits into one bucket:
//! BENCHMARKS.md, nineteenth sitting). The later buckets lie
//! in a row indexed by bucket number (about 100 days of them), the rare bucket beyond in an
//! ordered map. The order is exactly the one heap's: a bucket's entries keep their sequence
//! numbers.
//!
//! The near level is the bucket of the first event pushed, and a push before the horizon
//! joins its heap. Until the first pop, a push into an earlier bucket than the near level's
//! moves that level back to its bucket and makes the earlier one near: a host's first steps,
//! pushed in its members' order rather than in time order, put about half of a live thread's
//! run into one heap, whose pops then missed the cache (BENCHMARKS.md, thirteenth sitting).
//! Once popping has begun, an event pushed into the past joins the heap as it is.

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

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

/// Later buckets kept in a row, one slot each, from the first after the horizon: a bucket is
/// found by subtraction (a search of an ordered map for each later event was two fifths of a
/// push). At most this many; a bucket farther ahead waits in the map.
const ROW_SPAN: usize = 1 << 17;

/// Invariants: `sorted` and `near` (the near level) hold exactly the pending events before
/// `horizon`, `sorted` in descending order of (instant, sequence number); `row` and `distant`
/// those at or after it, bucket `b` (`instant >> BUCKET_SHIFT`) in `row[b - first]` or in
/// `distant[b]` (a bucket may be in both: pushed once while too far ahead for the row, then
/// again when the row had come near); `row` is empty or starts with a bucket that holds
/// events; no bucket in `distant` is empty; the near level is empty only if every bucket
/// is; `len` counts them all. Until `popped`, the near level holds one bucket, the earliest.
pub(crate) struct EventQueue<E> {
    /// The near level's entries as its bucket was taken in, sorted with the earliest last.
    sorted: Vec<Entry<E>>,
    /// The near level's entries pushed since.
    near: BinaryHeap<Entry<E>>,
    row: VecDeque<Vec<Entry<E>>>,
    first: i64,
    distant: BTreeMap<i64, Vec<Entry<E>>>,
    horizon: SimTime,
    seq: u64,
    len: usize,
    popped: bool,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            sorted: Vec::new(),
            near: BinaryHeap::new(),
            row: VecDeque::new(),
            first: 0,
            distant: BTreeMap::new(),
            horizon: SimTime(i64::MIN),
            seq: 0,
            len: 0,
            popped: false,
        }
    }
}

impl<E: Eq> EventQueue<E> {
    pub(crate) fn push(&mut self, at: SimTime, ev: E) {
        self.seq += 1;
        self.len += 1;
        let e = Entry { at, seq: self.seq, ev };
        let bucket = at.0 >> BUCKET_SHIFT;
        if at < self.horizon && (self.popped || bucket >= (self.horizon.0 >> BUCKET_SHIFT) - 1) {
            self.near.push(e);
            return;
        }
        if at < self.horizon {
            // Still filling, and earlier than the near level: that level goes back to its
            // bucket (its entries keep their sequence numbers), the earliest becomes near.
            let near = std::mem::take(&mut self.near).into_vec();
            for e in std::mem::take(&mut self.sorted).into_iter().chain(near) {
                self.push_later(e.at.0 >> BUCKET_SHIFT, e);
            }
        }
        self.push_later(bucket, e);
        if self.near_is_empty() {
            self.advance();
        }
    }

    /// An event for bucket `b`, at or after the horizon: into the row if it reaches that far
    /// (grown at either end), else into the map.
    fn push_later(&mut self, b: i64, e: Entry<E>) {
        if self.row.is_empty() {
            self.first = b;
        }
        let span = ROW_SPAN as i64;
        if b >= self.first && b - self.first < span {
            let i = (b - self.first) as usize;
            if i >= self.row.len() {
                self.row.resize_with(i + 1, Vec::new);
            }
            self.row[i].push(e);
        } else if b < self.first && self.first - b + (self.row.len() as i64) <= span {
            for _ in b..self.first {
                self.row.push_front(Vec::new());
            }
            self.first = b;
            self.row[0].push(e);
        } else {
            self.distant.entry(b).or_default().push(e);
        }
    }

    pub(crate) fn pop(&mut self) -> Option<(SimTime, E)> {
        let e = if self.heap_first() { self.near.pop() } else { self.sorted.pop() }?;
        self.popped = true;
        self.len -= 1;
        if self.near_is_empty() {
            self.advance();
        }
        Some((e.at, e.ev))
    }

    fn near_is_empty(&self) -> bool {
        self.sorted.is_empty() && self.near.is_empty()
    }

    /// Whether the near level's earliest entry is the heap's, not the sorted bucket's.
    fn heap_first(&self) -> bool {
        match (self.sorted.last(), self.near.peek()) {
            // `Entry`'s order is reversed: the greater of the two is the earlier.
            (Some(s), Some(h)) => h > s,
            (s, _) => s.is_none(),
        }
    }

    /// The near level's earliest entry.
    fn earliest(&self) -> Option<&Entry<E>> {
        if self.heap_first() { self.near.peek() } else { self.sorted.last() }
    }

    /// The near level ran empty: the earliest bucket becomes it, the horizon its end.
    fn advance(&mut self) {
        debug_assert!(self.near_is_empty(), "the horizon moves only past an empty near level");
        while self.row.front().is_some_and(Vec::is_empty) {
            self.row.pop_front();
            self.first += 1;
        }
        let in_row = (!self.row.is_empty()).then_some(self.first);
        let in_map = self.distant.first_key_value().map(|(b, _)| *b);
        let bucket = match (in_row, in_map) {
            (None, None) => return,
            (Some(r), Some(m)) => r.min(m),
            (r, m) => r.or(m).expect("one of the two is some"),
        };
        let mut entries = Vec::new();
        if in_row == Some(bucket) {
            entries = self.row.pop_front().unwrap_or_default();
            self.first += 1;
        }
        if in_map == Some(bucket)
            && let Some((_, more)) = self.distant.pop_first()
        {
            if entries.is_empty() {
                entries = more;
            } else {
                entries.extend(more);
            }
        }
        self.horizon = SimTime((bucket + 1) << BUCKET_SHIFT);
        // Ascending in `Entry`'s reversed order: the earliest last, popped from the end.
        entries.sort_unstable();
        self.sorted = entries;
    }

    /// The earliest event.
    pub(crate) fn peek(&self) -> Option<&E> {
        self.earliest().map(|e| &e.ev)
    }

    /// The instant of the earliest event.
    pub(crate) fn peek_time(&self) -> Option<SimTime> {
        self.earliest().map(|e| e.at)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl<E> EventQueue<E> {
        fn near_len(&self) -> usize {
            self.sorted.len() + self.near.len()
        }
    }

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

    /// Filled out of time order, as a host's first steps are (in its members' order), the
    /// near level holds the earliest bucket alone, and the order is one heap's; once popping
    /// has begun, a push into the past joins the near level instead.
    #[test]
    fn filled_out_of_order_the_near_level_is_the_earliest_bucket() {
        let mut q = EventQueue::default();
        let mut one: BinaryHeap<Entry<u32>> = BinaryHeap::new();
        let day = 86_400_000_000i64;
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..50_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Over three days, the first push late on the second; a few at one instant.
            let at = SimTime(if i == 0 {
                day + day / 2
            } else if i % 7 == 0 {
                day
            } else {
                (state % (3 * day as u64)) as i64
            });
            q.push(at, i);
            one.push(Entry { at, seq: u64::from(i) + 1, ev: i });
        }
        let bucket = |t: SimTime| t.0 >> BUCKET_SHIFT;
        let first = one.peek().expect("pushed").at;
        assert!(
            q.sorted.iter().chain(q.near.iter()).all(|e| bucket(e.at) == bucket(first)),
            "the near level holds the earliest bucket alone"
        );
        assert!(q.near_len() < 200, "{} in the near level", q.near_len());
        let mut n = 0;
        while let Some(want) = one.pop() {
            assert_eq!(q.pop(), Some((want.at, want.ev)), "pop {n}");
            n += 1;
            if n == 10 {
                // Into the past of the near level, after the first pop: into its heap.
                let late = SimTime(want.at.0 - (1 << BUCKET_SHIFT) * 3);
                let near = q.near_len();
                q.push(late, 99_999);
                assert_eq!(q.near_len(), near + 1, "joined the near level, which stayed");
                assert_eq!(q.pop(), Some((late, 99_999)));
            }
        }
        assert_eq!((q.pop(), q.len()), (None, 0));
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
                let ahead = match draw(9) {
                    0 | 1 => 0,
                    2 | 3 => draw(1 << 20) as i64,
                    4 | 5 => draw(1 << 34) as i64,
                    // Beyond the row's reach (ROW_SPAN buckets): into the map.
                    6 => (ROW_SPAN as i64 + draw(1 << 10) as i64) << BUCKET_SHIFT,
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
