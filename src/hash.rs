//! Hashing, written once: the fast maps of the answer path, a prefetch for tables read at
//! random, and FNV-1a for digests that must be the same on every run and platform (sub-seeds,
//! idempotency keys from text, request fingerprints, identifier and scenario digests, batch
//! keys).

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

    /// A number, as its 8 little-endian bytes. The same as [`Fnv1a::bytes`] of them, in fewer
    /// steps: a zero byte only multiplies by the prime, so the zero bytes above the highest
    /// one set (the most of an amount in fen, all of a zero) are one multiplication by a
    /// power of it. (Byte by byte, the fingerprint of every payment was 4 % of a region's
    /// simulation.)
    pub(crate) fn u64(&mut self, x: u64) -> &mut Fnv1a {
        let used = 8 - (x.leading_zeros() / 8) as usize;
        let mut h = self.0;
        for b in &x.to_le_bytes()[..used] {
            h ^= *b as u64;
            h = h.wrapping_mul(Self::PRIME);
        }
        self.0 = h.wrapping_mul(PRIME_POWERS[8 - used]);
        self
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

/// `PRIME_POWERS[k]`: the FNV prime to the power `k` (wrapping), what `k` zero bytes
/// multiply a hash by.
const PRIME_POWERS: [u64; 9] = {
    let mut p = [1u64; 9];
    let mut k = 1;
    while k < 9 {
        p[k] = p[k - 1].wrapping_mul(Fnv1a::PRIME);
        k += 1;
    }
    p
};

/// FNV-1a of `bytes`.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    Fnv1a::new().bytes(bytes).finish()
}

/// Ask the processor to bring the memory at `item` into its cache (two lines: an item up to
/// 128 bytes). A hint only: nothing is read, and on other processors it does nothing. For
/// tables of millions read at random, where the next read's address is known early.
#[inline]
pub(crate) fn prefetch<T>(item: &T) {
    let p = (item as *const T).cast::<i8>();
    prefetch_at(p);
    prefetch_at(p.wrapping_add(64));
}

/// [`prefetch`] of the one cache line at `item` (an item of a few bytes).
#[inline]
pub(crate) fn prefetch_line<T>(item: &T) {
    prefetch_at((item as *const T).cast::<i8>());
}

#[inline]
fn prefetch_at(p: *const i8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE, which the instruction needs, is part of every x86_64 processor, and a
    // prefetch neither reads nor faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
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

    /// A number fed whole hashes as its eight bytes fed one by one: zero, every byte width,
    /// zero bytes inside and at the top, the largest.
    #[test]
    fn a_number_hashes_as_its_bytes() {
        let mut values = vec![0u64, 1, 0xff, 0x100, 0x1_0000, 0x80_0000_0000, u64::MAX, 1 << 63, 0x0100_0000_0000_0001];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for shift in 0..64 {
            x = x.rotate_left(7).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            values.push(x >> shift);
        }
        for v in values {
            let mut whole = Fnv1a::new();
            whole.u64(0x1234).u64(v);
            let mut bytes = Fnv1a::new();
            bytes.bytes(&0x1234u64.to_le_bytes()).bytes(&v.to_le_bytes());
            assert_eq!(whole.finish(), bytes.finish(), "{v:#x}");
        }
    }
}
