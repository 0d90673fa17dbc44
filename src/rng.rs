//! Named random sub-streams derived from the master seed.
//!
//! Every random draw in the tool comes from a generator made here, never from
//! a global or thread-local RNG. Component streams (ChaCha8) are derived from
//! the seed and a component name; per-payer streams (PCG, 16 bytes of state,
//! cheap to keep for millions of payers) from the seed, a name and the payer's
//! index, so a payer's draws do not depend on the order events happen in.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_pcg::Pcg64Mcg;

/// FNV-1a over the name, then SplitMix64 finalisation with the seed and index.
pub(crate) fn sub_seed(master: u64, name: &str, index: u64) -> u64 {
    splitmix(stream_base(master, name) ^ index)
}

/// The part of [`sub_seed`] that does not depend on the index: kept by whoever draws
/// millions of items of one stream (the population's payers), see [`item_at`].
pub(crate) fn stream_base(master: u64, name: &str) -> u64 {
    splitmix(master ^ crate::hash::fnv1a(name.as_bytes()))
}

/// [`item`] from a kept [`stream_base`]: `item_at(stream_base(m, n), i)` is `item(m, n, i)`.
pub(crate) fn item_at(base: u64, index: u64) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(splitmix(base ^ index))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A component's stream, e.g. `component(seed, "engine/service")`.
pub(crate) fn component(master: u64, name: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(sub_seed(master, name, 0))
}

/// A per-item stream, e.g. `item(seed, "population/unit", 17)`.
pub(crate) fn item(master: u64, name: &str, index: u64) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(sub_seed(master, name, index))
}

/// 31 bits of the master seed, and of a live run's id, for the idempotency keys the tool
/// makes: runs with other seeds (other populations under the same payer numbers) or other
/// run ids send other keys, so a second run against the same target does not replay, or
/// conflict with, the first one's payments. `simulate` has no run id: the same seed sends
/// the same keys. The top bit stays clear (the tool's book marks a system there).
pub(crate) fn key_tag(master: u64, run_id: Option<&str>) -> u64 {
    let index = match run_id {
        None => 0,
        // Never 0: a run's keys are never simulate's.
        Some(id) => crate::hash::fnv1a(id.as_bytes()) | 1,
    };
    sub_seed(master, "idempotency-keys", index) & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn an_item_from_a_kept_base_is_the_item() {
        for (name, index) in [("unit", 0u64), ("resident-pension", 17), ("flexible", 24_000_000)] {
            let base = stream_base(20210501, name);
            assert_eq!(item_at(base, index).next_u64(), item(20210501, name, index).next_u64(), "{name} {index}");
        }
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = item(7, "x", 1).next_u64();
        assert_eq!(a, item(7, "x", 1).next_u64());
        assert_ne!(a, item(7, "x", 2).next_u64());
        assert_ne!(a, item(7, "y", 1).next_u64());
        assert_ne!(a, item(8, "x", 1).next_u64());
        assert_eq!(component(7, "c").next_u64(), component(7, "c").next_u64());
    }
}
