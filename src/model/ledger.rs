//! The ledger's cells: a count and a sum per league × payer group × insurance type. One dense
//! table, its index written here once, for every ledger the tool keeps: each system's (and
//! the part of it that came by migration), the recorder's book of acknowledged payments, the
//! ledger of the systems' books read at the end.

use crate::population::Items;
use crate::scenario::{GroupKind, Insurance};
use std::collections::BTreeMap;

/// Count and sum of one ledger cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LedgerCell {
    pub count: u64,
    pub sum_fen: i64,
}

/// Key of a ledger cell: league × payer group × insurance type.
pub(crate) type LedgerKey = (u8, GroupKind, Insurance);

/// Every cell of a ledger, league by league; it grows to the leagues it is given.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct LedgerTable {
    cells: Vec<LedgerCell>,
}

const PER_LEAGUE: usize = GroupKind::ALL.len() * Insurance::ALL.len();

impl LedgerTable {
    /// A table sized for `leagues` leagues up front.
    pub(crate) fn with_leagues(leagues: usize) -> LedgerTable {
        LedgerTable { cells: vec![LedgerCell::default(); leagues * PER_LEAGUE] }
    }

    /// A cell's place: league, then payer group, then insurance type.
    fn index((league, group, ins): LedgerKey) -> usize {
        (league as usize * GroupKind::ALL.len() + group.index()) * Insurance::ALL.len() + ins.index()
    }

    /// The key of the cell at `i` (the inverse of [`LedgerTable::index`]).
    fn key_at(i: usize) -> LedgerKey {
        let (rest, ins) = (i / Insurance::ALL.len(), Insurance::ALL[i % Insurance::ALL.len()]);
        let league = rest / GroupKind::ALL.len();
        assert!(league <= u8::MAX as usize, "league {league} out of range");
        (league as u8, GroupKind::ALL[rest % GroupKind::ALL.len()], ins)
    }

    fn cell_mut(&mut self, key: LedgerKey) -> &mut LedgerCell {
        let i = Self::index(key);
        if i >= self.cells.len() {
            self.cells.resize((i / PER_LEAGUE + 1) * PER_LEAGUE, LedgerCell::default());
        }
        &mut self.cells[i]
    }

    /// Book one payment: a count and its amount in each cell of an insurance type it charges.
    pub(crate) fn book(&mut self, league: u8, group: GroupKind, items: &Items) {
        for ins in Insurance::ALL {
            let a = items[ins.index()];
            if a != 0 {
                let cell = self.cell_mut((league, group, ins));
                cell.count += 1;
                cell.sum_fen = cell.sum_fen.saturating_add(a);
            }
        }
    }

    /// One cell (empty when never booked).
    pub(crate) fn get(&self, key: LedgerKey) -> LedgerCell {
        self.cells.get(Self::index(key)).copied().unwrap_or_default()
    }

    /// Add another table's cells to this one's.
    pub(crate) fn add(&mut self, other: &LedgerTable) {
        for (i, c) in other.cells.iter().enumerate().filter(|(_, c)| c.count > 0) {
            let cell = self.cell_mut(Self::key_at(i));
            cell.count += c.count;
            cell.sum_fen = cell.sum_fen.saturating_add(c.sum_fen);
        }
    }

    /// The non-empty cells, in key order.
    pub(crate) fn cells(&self) -> BTreeMap<LedgerKey, LedgerCell> {
        self.cells.iter().enumerate().filter(|(_, c)| c.count > 0).map(|(i, c)| (Self::key_at(i), *c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_index_reads_back_as_its_key() {
        for league in [0u8, 1, 11] {
            for g in GroupKind::ALL {
                for ins in Insurance::ALL {
                    let k = (league, g, ins);
                    assert_eq!(LedgerTable::key_at(LedgerTable::index(k)), k);
                }
            }
        }
    }

    #[test]
    fn booking_counts_each_insurance_charged_and_tables_add_up() {
        let mut items: Items = Default::default();
        items[Insurance::ALL[0].index()] = 150;
        items[Insurance::ALL[2].index()] = 25;
        let mut a = LedgerTable::default();
        a.book(3, GroupKind::Flexible, &items);
        a.book(3, GroupKind::Flexible, &items);
        let mut b = LedgerTable::with_leagues(1);
        b.book(0, GroupKind::Unit, &items);
        b.add(&a);
        let cells = b.cells();
        assert_eq!(cells.len(), 4, "{cells:?}");
        assert_eq!(cells[&(3, GroupKind::Flexible, Insurance::ALL[0])], LedgerCell { count: 2, sum_fen: 300 });
        assert_eq!(cells[&(0, GroupKind::Unit, Insurance::ALL[2])], LedgerCell { count: 1, sum_fen: 25 });
        assert_eq!(b.get((5, GroupKind::Proxy, Insurance::ALL[1])), LedgerCell::default());
    }
}
