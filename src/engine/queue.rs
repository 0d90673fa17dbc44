//! The event queue: a binary heap ordered by (instant, sequence number), so
//! events at the same instant run in the order they were scheduled.

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    /// An agent's scheduled attempt.
    Wake(u32),
    /// A job finished at its channel (counter or gateway) and goes to the backend.
    ChannelDone(u32),
    /// The backend finished a job: the target decides now.
    BackendDone(u32),
    /// A batch run starts.
    BatchRun { batch: u16, run: u16 },
    /// A batch debit refused as overloaded is sent again.
    BatchRetry { batch: u16, member: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    at: SimTime,
    seq: u64,
    ev: Ev,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        other.at.cmp(&self.at).then(other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Entry>,
    seq: u64,
}

impl EventQueue {
    pub fn push(&mut self, at: SimTime, ev: Ev) {
        self.seq += 1;
        self.heap.push(Entry { at, seq: self.seq, ev });
    }
    pub fn pop(&mut self) -> Option<(SimTime, Ev)> {
        self.heap.pop().map(|e| (e.at, e.ev))
    }
    /// The instant of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.at)
    }
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_fifo() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), Ev::Wake(1));
        q.push(SimTime(3), Ev::Wake(2));
        q.push(SimTime(5), Ev::Wake(3));
        q.push(SimTime(3), Ev::Wake(4));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(SimTime(3), Ev::Wake(2)), (SimTime(3), Ev::Wake(4)), (SimTime(5), Ev::Wake(1)), (SimTime(5), Ev::Wake(3))]);
    }
}
