//! Hashing, written once: the fast maps of the answer path, and FNV-1a for digests that must
//! be the same on every run and platform (sub-seeds, idempotency keys from text, request
//! fingerprints, identifier and scenario digests, batch keys).

/// The hash maps on the answer path (idempotency keys, payer ids): foldhash, seeded once per
/// process, is several times cheaper than SipHash here. Nothing iterates them into output
/// without sorting first, so the seed never shows.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// FNV-1a, 64 bits: stable across runs, builds and platforms (unlike the maps above).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv1a(u64);

impl Fnv1a {
    /// The standard offset basis.
    pub(crate) const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub(crate) fn new() -> Fnv1a {
        Fnv1a(Self::OFFSET)
    }

    /// Started from another basis: a second, independent pass over the same bytes.
    pub(crate) fn with_basis(basis: u64) -> Fnv1a {
        Fnv1a(basis)
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> &mut Fnv1a {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
        self
    }

    /// A number, as its 8 little-endian bytes.
    pub(crate) fn u64(&mut self, x: u64) -> &mut Fnv1a {
        self.bytes(&x.to_le_bytes())
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

/// FNV-1a of `bytes`.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    Fnv1a::new().bytes(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_gives_the_published_test_vectors() {
        // From the FNV reference (draft-eastlake-fnv): "", "a", "foobar".
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(Fnv1a::new().bytes(b"foo").bytes(b"bar").finish(), fnv1a(b"foobar"), "feeding in parts is feeding the whole");
    }
}
