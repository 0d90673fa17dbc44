//! A bare discrete-event loop, std only: an M/M/c queue (Poisson arrivals, c servers with
//! exponential service, FIFO waiting line) on a binary heap of (instant, sequence) events.
//! It is the yardstick `benches/simulate-vs-bare.sh` compares `cutover simulate` with: the
//! events per second of an event loop that does nothing but schedule, pop and count.
//!
//! Usage: bare-loop EVENTS   (prints: events, seconds, events per second, mean wait)
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

/// xorshift64*: a small deterministic generator, enough for a yardstick.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// An exponential draw with this mean, in integer microseconds.
    fn exp_micros(&mut self, mean_micros: f64) -> u64 {
        (-self.next_f64().ln() * mean_micros) as u64
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Kind {
    Arrival,
    Departure,
}

fn main() {
    let events_wanted: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let servers = 32u32;
    let mean_service = 1_000_000.0; // one second
    let mean_gap = mean_service / (servers as f64 * 0.9); // 90 % utilisation
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut heap: BinaryHeap<Reverse<(u64, u64, Kind)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut waiting: VecDeque<u64> = VecDeque::new();
    let (mut busy, mut events, mut served, mut waited) = (0u32, 0u64, 0u64, 0u64);
    heap.push(Reverse((0, seq, Kind::Arrival)));
    let started = Instant::now();
    while let Some(Reverse((now, _, kind))) = heap.pop() {
        events += 1;
        if events > events_wanted {
            break;
        }
        match kind {
            Kind::Arrival => {
                seq += 1;
                heap.push(Reverse((now + rng.exp_micros(mean_gap), seq, Kind::Arrival)));
                if busy < servers {
                    busy += 1;
                    seq += 1;
                    heap.push(Reverse((now + rng.exp_micros(mean_service), seq, Kind::Departure)));
                } else {
                    waiting.push_back(now);
                }
            }
            Kind::Departure => {
                served += 1;
                match waiting.pop_front() {
                    Some(arrived) => {
                        waited += now - arrived;
                        seq += 1;
                        heap.push(Reverse((now + rng.exp_micros(mean_service), seq, Kind::Departure)));
                    }
                    None => busy -= 1,
                }
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let events = events.min(events_wanted);
    println!(
        "events {events} seconds {seconds:.3} events_per_second {:.0} mean_wait_micros {}",
        events as f64 / seconds,
        waited / served.max(1)
    );
}
