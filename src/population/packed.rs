//! A payer's six items as millions of agents and batch members hold them: 32 bytes instead
//! of 48. Each amount in 40 bits (up to 1,099,511,627,775 fen, some 11 billion yuan: far
//! past the 10^10 fen any item may carry, `vocabulary::MAX_ITEM_FEN`); items with an amount
//! out of that range (larger, or negative) are kept whole on the heap instead. Either way
//! [`PackedItems::get`] gives back exactly the items packed.

use super::Items;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PackedItems {
    /// Each amount's low 32 bits, and its next 8.
    Narrow {
        low: [u32; 6],
        high: [u8; 6],
    },
    Wide(Box<Items>),
}

/// The amounts [`PackedItems::Narrow`] holds: 0 to 2^40 - 1 fen.
const NARROW_MAX: i64 = (1 << 40) - 1;

impl PackedItems {
    pub(crate) fn new(items: &Items) -> PackedItems {
        if items.iter().any(|a| !(0..=NARROW_MAX).contains(a)) {
            return PackedItems::Wide(Box::new(*items));
        }
        let (mut low, mut high) = ([0u32; 6], [0u8; 6]);
        for (i, a) in items.iter().enumerate() {
            low[i] = *a as u32;
            high[i] = (*a >> 32) as u8;
        }
        PackedItems::Narrow { low, high }
    }

    pub(crate) fn get(&self) -> Items {
        match self {
            PackedItems::Narrow { low, high } => std::array::from_fn(|i| (high[i] as i64) << 32 | low[i] as i64),
            PackedItems::Wide(items) => **items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_back_exactly_as_packed_in_32_bytes() {
        assert_eq!(std::mem::size_of::<PackedItems>(), 32);
        let cases: [Items; 6] = [
            [0; 6],
            [74_040, 0, 0, 0, 0, 1],
            [u32::MAX as i64, u32::MAX as i64 + 1, 10_000_000_000, NARROW_MAX, 255 << 32, 1 << 39],
            [NARROW_MAX + 1, 0, 0, 0, 0, 0],
            [0, 0, -1, 0, 0, 0],
            [i64::MAX, i64::MIN, 0, 7, 0, 0],
        ];
        for items in cases {
            let p = PackedItems::new(&items);
            assert_eq!(p.get(), items);
            let wide = items.iter().any(|a| !(0..=NARROW_MAX).contains(a));
            assert_eq!(matches!(p, PackedItems::Wide(_)), wide, "{items:?}");
        }
    }
}
