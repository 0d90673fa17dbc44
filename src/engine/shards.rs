//! `simulate --shard I/N`: what one shard of a rehearsal sends, in virtual time, without a
//! network. The whole rehearsal is simulated (queues and the backend are everyone's), and the
//! requests reaching the systems are counted for the payers shard I is dealt: dealt as
//! `run --shard I/N --threads T` deals them (threads I·T to I·T + T - 1 of N·T), so the N
//! shards' counts add up to the whole's, each payer in one shard.

use crate::cohort::Members;
use crate::demand::{Cast, Demand};
use crate::hash::FastSet;
use crate::model::{LedgerCell, LedgerKey, Request, Response, Systems};
use crate::population::{PayerId, Population};
use crate::scenario::{Spec, SystemIdx};
use crate::target::VirtualTarget;
use crate::time::{MICROS_PER_HOUR, SimTime};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What shard I of N sends, beside the whole rehearsal.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShardPlan {
    pub shard: usize,
    pub shards: usize,
    /// Sending threads per shard (`run --threads`): how the payers are dealt.
    pub threads: usize,
    pub payers: u64,
    pub payers_all: u64,
    /// Requests reaching the systems (not the hotline's calls, not those sent away at a
    /// counter): what the shard's generator sends.
    pub requests: u64,
    pub requests_all: u64,
    /// The shard's busiest hour (its start, RFC 3339) and its requests then.
    pub busiest_hour: Option<(String, u64)>,
    /// The shard's requests per hour of the timeline.
    pub per_hour: Vec<u64>,
}

/// The systems, counting what reaches them per hour, and apart what the shard's payers send.
struct Counting {
    inner: Systems,
    mine: FastSet<PayerId>,
    start: SimTime,
    per_hour: Vec<u64>,
    requests: u64,
    all: u64,
}

impl VirtualTarget for Counting {
    fn call(&mut self, now: SimTime, system: SystemIdx, req: &Request) -> Response {
        self.all += 1;
        if self.mine.contains(&req.payer().id) {
            self.requests += 1;
            let hour = (now.micros_since(self.start) / MICROS_PER_HOUR).max(0) as usize;
            if let Some(h) = self.per_hour.get_mut(hour) {
                *h += 1;
            }
        }
        VirtualTarget::call(&mut self.inner, now, system, req)
    }
    fn ledger(&mut self) -> Result<BTreeMap<LedgerKey, LedgerCell>, String> {
        VirtualTarget::ledger(&mut self.inner)
    }
    fn register(&mut self, payers: &mut dyn Iterator<Item = crate::model::PayerRef>) {
        VirtualTarget::register(&mut self.inner, payers)
    }
}

/// Shard `index` of `shards`, each of `threads` sending threads, of `spec` at `seed`.
pub fn plan(spec: Arc<Spec>, seed: u64, index: usize, shards: usize, threads: usize) -> ShardPlan {
    let rules = Arc::new(crate::model::Rules::from_spec(&spec));
    let population = Population::new(&spec, seed);
    let demand = Demand::with_rules(spec.clone(), seed, rules.clone());
    let global = (threads * shards).max(1);
    let dealt = Members::all(&spec, Cast::new(&demand, &population)).deal(global);
    let payers_all = dealt.iter().map(|m| m.payers().count() as u64).sum();
    let mine: FastSet<PayerId> = dealt[index * threads..(index + 1) * threads].iter().flat_map(|m| m.payers()).map(|p| p.id).collect();
    let payers = mine.len() as u64;
    let mut target = Counting {
        inner: Systems::from_spec(&spec, rules.clone(), Default::default()),
        mine,
        start: spec.start,
        per_hour: vec![0; spec.hours_total()],
        requests: 0,
        all: 0,
    };
    let mut engine = super::Engine::new(spec.clone(), seed, &mut target, &population, rules);
    engine.run(None);
    drop(engine);
    let busiest = target.per_hour.iter().enumerate().max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i))).filter(|(_, n)| **n > 0);
    let busiest_hour = busiest.map(|(i, n)| (spec.start.plus_micros(i as i64 * MICROS_PER_HOUR).format(spec.calendar.offset), *n));
    ShardPlan {
        shard: index,
        shards,
        threads,
        payers,
        payers_all,
        requests: target.requests,
        requests_all: target.all,
        busiest_hour,
        per_hour: target.per_hour,
    }
}
