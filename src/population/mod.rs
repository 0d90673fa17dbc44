//! The synthetic population of payers.
//!
//! A payer is a pure function of (seed, group, index): each has its own random
//! stream, so the population is generated lazily and in any order (or in
//! parallel) with byte-identical results. Nothing is stored here; callers keep
//! what they need (the engine keeps only the payers active in the timeline).
//! Amounts are integer fen: rates become parts per million and every product
//! is computed in `i128` before rounding.

pub mod ids;
mod packed;
pub(crate) use packed::PackedItems;

use crate::dist::Cdf;
use crate::scenario::{GroupKind, Insurance, Spec, SpecialKind};
use rand::RngExt;
use rand_distr::{Distribution, LogNormal};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// Amount in fen per insurance type, indexed by [`Insurance::index`].
pub(crate) type Items = [i64; 6];

/// A payer's global number: group offset + index within the group.
pub(crate) type PayerId = u32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Payer {
    pub id: PayerId,
    pub group: GroupKind,
    pub index: u32,
    pub league: u8,
    /// Tier within the group (see [`Population::tier_label`]).
    pub tier: u16,
    /// Employees (units) or persons covered (resident medical households); 1 otherwise.
    pub persons: u32,
    /// Months covered by one regular payment.
    pub months: u16,
    /// One regular payment, or the assessed amount of a special payment.
    pub items: Items,
    /// Pays (or is debited) during the timeline.
    pub active: bool,
    /// Debited by a batch (bank withholding, government proxy payment).
    pub batch: bool,
    /// The payment needs an agency assessment first.
    pub special: Option<SpecialKind>,
}

impl Payer {
    pub(crate) fn amount_fen(&self) -> i64 {
        self.items.iter().sum()
    }
}

fn rate_ppm(rate: f64) -> i128 {
    (rate * 1_000_000.0).round() as i128
}

/// `base * count * ppm / 1e6`, rounded half up, in fen.
fn apply_rate(base_fen: i64, count: u64, ppm: i128) -> i64 {
    let raw = base_fen as i128 * count as i128 * ppm;
    ((raw + 500_000) / 1_000_000).clamp(0, i64::MAX as i128) as i64
}

/// Generator of payers for one scenario and seed.
pub struct Population<'a> {
    spec: &'a Spec,
    seed: u64,
    /// Each group's stream base ([`crate::rng::stream_base`]), kept: a payer's stream is
    /// then one finalisation away.
    streams: [u64; 5],
    counts: [u32; 5],
    offsets: [u32; 5],
    league_cdf: Cdf,
    employees: Option<LogNormal<f64>>,
    unit_base: Option<LogNormal<f64>>,
    work_injury: Cdf,
    flex_base: Cdf,
    flex_period: Cdf,
    rp_tiers: Cdf,
    rm_household: Cdf,
}

/// What a payer's first draws decide ([`Population::opening`]).
struct Opening {
    league: u8,
    u_special: f64,
    active: bool,
    batch: bool,
}

/// Payers a core folds at a time ([`Population::fold_parts`]): a region of 24 M payers in
/// 24 chunks, enough for the cores to finish together. (Chunks a sixteenth of the size, 370
/// of them, kept 15 MiB more at the region's peak: memory the many parts' buffers left to
/// the allocator.)
const FOLD_CHUNK: u64 = 1 << 20;

const UNIT_SIZE_CLASSES: [(u32, &str); 5] = [(10, "1-9"), (100, "10-99"), (1000, "100-999"), (10_000, "1000-9999"), (u32::MAX, "10000+")];

/// One of `kinds`, drawn evenly.
fn special_kind(rng: &mut rand_pcg::Pcg64Mcg, kinds: &[SpecialKind]) -> SpecialKind {
    kinds[rng.random_range(0..kinds.len())]
}

impl<'a> Population<'a> {
    pub fn new(spec: &'a Spec, seed: u64) -> Population<'a> {
        let g = &spec.raw.population.groups;
        let (counts, offsets) = counts_and_offsets(spec);
        let sigma = (2.0 * (g.unit.employees_mean / g.unit.employees_median).ln()).max(0.0).sqrt();
        let avg = spec.raw.population.average_wage_fen as f64;
        Population {
            spec,
            seed,
            streams: GroupKind::ALL.map(|g| crate::rng::stream_base(seed, g.as_str())),
            counts,
            offsets,
            league_cdf: Cdf::new(spec.leagues.iter().map(|l| l.population as f64)),
            employees: LogNormal::new(g.unit.employees_median.ln(), sigma).ok(),
            // Unit average bases cluster a little below the average wage.
            unit_base: LogNormal::new((avg * 0.9).ln(), 0.35).ok(),
            work_injury: Cdf::from_choices(&g.unit.work_injury_classes),
            flex_base: Cdf::from_choices(&g.flexible.base_tiers),
            flex_period: Cdf::from_choices(&g.flexible.period_months),
            rp_tiers: Cdf::from_choices(&g.resident_pension.tiers_fen),
            rm_household: Cdf::from_choices(&g.resident_medical.household_size),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub(crate) fn count(&self, group: GroupKind) -> u32 {
        self.counts[group.index()]
    }
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| *c as u64).sum()
    }
    pub(crate) fn group_of(&self, id: PayerId) -> (GroupKind, u32) {
        let mut gi = 0;
        for i in 0..5 {
            if id >= self.offsets[i] {
                gi = i;
            }
        }
        // Walk down past empty groups sharing the same offset.
        while gi > 0 && self.counts[gi] == 0 {
            gi -= 1;
        }
        (GroupKind::ALL[gi], id - self.offsets[gi])
    }
    pub(crate) fn by_id(&self, id: PayerId) -> Payer {
        let (g, i) = self.group_of(id);
        self.payer(g, i)
    }

    /// Payer `index` of `group`. Deterministic in (seed, group, index).
    pub(crate) fn payer(&self, group: GroupKind, index: u32) -> Payer {
        let (rng, opening) = self.opening(group, index, false).expect("every payer opens when asked for all");
        self.rest(group, index, rng, opening)
    }

    /// Payer `index` of `group` if it is active in the timeline; an inactive payer's draws
    /// stop once its activity is known (most of a region's payers are inactive).
    pub(crate) fn active_payer(&self, group: GroupKind, index: u32) -> Option<Payer> {
        let (rng, opening) = self.opening(group, index, true)?;
        opening.active.then(|| self.rest(group, index, rng, opening))
    }

    /// The payer by its global id if active ([`Population::active_payer`]).
    pub(crate) fn active_by_id(&self, id: PayerId) -> Option<Payer> {
        let (g, i) = self.group_of(id);
        self.active_payer(g, i)
    }

    /// A payer's first draws and what they decide: its stream, league and activity. With
    /// `only_active`, an inactive payer is `None` as soon as its activity is known: the draws
    /// after it are not taken and its league is not looked up (the cast of a region opens
    /// 24 M payers to find 2.4 M active ones). The draws taken are the same either way.
    fn opening(&self, group: GroupKind, index: u32, only_active: bool) -> Option<(rand_pcg::Pcg64Mcg, Opening)> {
        let g = &self.spec.raw.population.groups;
        let mut rng = crate::rng::item_at(self.streams[group.index()], index as u64);
        // Draw order is part of the format: league, activity, batch, special, then the rest.
        let league = self.league_cdf.draw(&mut rng);
        let u_active: f64 = rng.random();
        let u_batch: f64 = rng.random();
        let (active, batch) = match group {
            GroupKind::Unit => (u_active < g.unit.active_share, false),
            GroupKind::Flexible => {
                let batch = u_batch < g.flexible.withholding_share;
                (batch || u_active < g.flexible.active_share, batch)
            }
            GroupKind::ResidentPension => (u_active < g.resident_pension.active_share, false),
            GroupKind::ResidentMedical => (u_active < g.resident_medical.active_share, false),
            GroupKind::Proxy => (true, true),
        };
        if only_active && !active {
            return None;
        }
        let u_special: f64 = rng.random();
        let league = self.league_cdf.index_of(league) as u8;
        Some((rng, Opening { league, u_special, active, batch }))
    }

    /// The rest of a payer's draws, after [`Population::opening`].
    fn rest(&self, group: GroupKind, index: u32, mut rng: rand_pcg::Pcg64Mcg, o: Opening) -> Payer {
        let g = &self.spec.raw.population.groups;
        let u_special = o.u_special;
        let mut p = Payer {
            id: self.offsets[group.index()] + index,
            group,
            index,
            league: o.league,
            tier: 0,
            persons: 1,
            months: 1,
            items: [0; 6],
            active: o.active,
            batch: o.batch,
            special: None,
        };
        match group {
            GroupKind::Unit => self.unit(&mut p, &mut rng),
            GroupKind::Flexible => self.flexible(&mut p, &mut rng, u_special),
            GroupKind::ResidentPension => {
                let r = &g.resident_pension;
                let tier = self.rp_tiers.pick(&mut rng);
                p.tier = tier as u16;
                p.months = 12;
                let yearly = r.tiers_fen.get(tier).map(|t| t.value as i64).unwrap_or(0);
                let mut years = 1;
                if u_special < r.special_share {
                    p.special = Some(special_kind(&mut rng, &[SpecialKind::CrossYearBackPayment, SpecialKind::NearRetirement]));
                    years = rng.random_range(2..=5);
                    p.months = 12 * years as u16;
                }
                p.items[Insurance::Pension.index()] = yearly * years;
            }
            GroupKind::ResidentMedical => {
                let r = &g.resident_medical;
                let h = self.rm_household.pick(&mut rng);
                p.persons = r.household_size.get(h).map(|x| x.value as u32).unwrap_or(1);
                p.tier = p.persons.min(u16::MAX as u32) as u16;
                p.months = 12;
                let mut years = 1;
                if u_special < r.special_share {
                    p.special = Some(SpecialKind::CrossYearBackPayment);
                    years = 2;
                    p.months = 24;
                }
                p.items[Insurance::Medical.index()] = r.yearly_fen * p.persons as i64 * years;
            }
            GroupKind::Proxy => {
                p.months = 12;
                p.items[Insurance::Pension.index()] = g.proxy.amount_fen;
            }
        }
        p
    }

    /// A unit's size, base and contributions.
    fn unit(&self, p: &mut Payer, rng: &mut rand_pcg::Pcg64Mcg) {
        let u = &self.spec.raw.population.groups.unit;
        let e = self.employees.map(|d| d.sample(rng)).unwrap_or(u.employees_median);
        p.persons = (e.round() as u32).clamp(1, u.employees_max);
        p.tier = UNIT_SIZE_CLASSES.iter().position(|(lim, _)| p.persons < *lim).unwrap_or(0) as u16;
        let b = self.unit_base.map(|d| d.sample(rng)).unwrap_or(0.0);
        // Bases are whole yuan.
        let base = ((b / 100.0).round() as i64 * 100).clamp(u.base_floor_fen, u.base_ceiling_fen);
        let wi_rate = u.work_injury_classes.get(self.work_injury.pick(rng)).map(|c| c.value).unwrap_or(0.0);
        for r in &u.rates {
            let pays: f64 = rng.random();
            if pays >= r.share_of_payers {
                continue;
            }
            let rate = if r.insurance == Insurance::WorkInjury { wi_rate + r.individual_rate } else { r.unit_rate + r.individual_rate };
            p.items[r.insurance.index()] = apply_rate(base, p.persons as u64, rate_ppm(rate));
        }
    }

    /// A flexible employee's base tier, period, withholding and special payment.
    fn flexible(&self, p: &mut Payer, rng: &mut rand_pcg::Pcg64Mcg, u_special: f64) {
        let f = &self.spec.raw.population.groups.flexible;
        let tier = self.flex_base.pick(rng);
        p.tier = tier as u16;
        let fraction = f.base_tiers.get(tier).map(|t| t.value).unwrap_or(0.6);
        let base = (self.spec.raw.population.average_wage_fen as f64 * fraction).round() as i64;
        p.months = if p.batch { 1 } else { f.period_months.get(self.flex_period.pick(rng)).map(|m| m.value as u16).unwrap_or(1) };
        if !p.batch && u_special < f.special_share {
            p.special = Some(special_kind(
                rng,
                &[
                    SpecialKind::NearRetirement,
                    SpecialKind::IndividualMonths,
                    SpecialKind::BaseAdjustmentBackPayment,
                    SpecialKind::CrossYearBackPayment,
                ],
            ));
            p.months = rng.random_range(2..=24);
        }
        p.items[Insurance::Pension.index()] = apply_rate(base, p.months as u64, rate_ppm(f.pension_rate));
    }

    pub fn tier_label(&self, group: GroupKind, tier: u16) -> String {
        let g = &self.spec.raw.population.groups;
        match group {
            GroupKind::Unit => UNIT_SIZE_CLASSES.get(tier as usize).map(|c| format!("{} employees", c.1)).unwrap_or_default(),
            GroupKind::Flexible => g
                .flexible
                .base_tiers
                .get(tier as usize)
                .map(|t| format!("base {:.0}% of average wage", t.value * 100.0))
                .unwrap_or_default(),
            GroupKind::ResidentPension => {
                g.resident_pension.tiers_fen.get(tier as usize).map(|t| format!("{} yuan a year", t.value as i64 / 100)).unwrap_or_default()
            }
            GroupKind::ResidentMedical => format!("household of {tier}"),
            GroupKind::Proxy => "minimum tier".to_string(),
        }
    }

    /// The payer's synthetic identifier: a credit code for units, a resident ID otherwise.
    pub(crate) fn identifier(&self, p: &Payer) -> String {
        match p.group {
            GroupKind::Unit => ids::unit_code(p.league, p.index as u64),
            _ => ids::resident_id(p.league, (p.id - self.offsets[GroupKind::Flexible.index()]) as u64),
        }
    }

    /// Visit every payer of every group in id order.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Payer)) {
        for g in GroupKind::ALL {
            for i in 0..self.count(g) {
                f(&self.payer(g, i));
            }
        }
    }

    /// Visit every payer on all cores: the ids split into consecutive chunks, each folded
    /// into its own `T` from `init`, the parts given back in id order (so that
    /// joining them in order is the same as one fold over [`Population::for_each`]).
    pub(crate) fn fold_parts<T: Send>(&self, init: impl Fn() -> T + Sync, add: impl Fn(&mut T, &Payer) + Sync) -> Vec<T> {
        self.fold_ids(init, |part, id| add(part, &self.by_id(id)))
    }

    /// [`Population::fold_parts`] over the active payers only, the others' draws cut short
    /// ([`Population::active_payer`]).
    pub(crate) fn fold_active_parts<T: Send>(&self, init: impl Fn() -> T + Sync, add: impl Fn(&mut T, &Payer) + Sync) -> Vec<T> {
        self.fold_ids(init, |part, id| {
            if let Some(p) = self.active_by_id(id) {
                add(part, &p)
            }
        })
    }

    /// The ids in chunks of [`FOLD_CHUNK`], taken by whichever core is free next (payers cost
    /// unequal work: an active payer's draws and agent take far longer than an inactive one's
    /// first draws, and the groups lie in id order, so one range per core left a core idle for
    /// a third of the region's cast), each chunk folded into its own `T`, the parts given back
    /// in id order.
    fn fold_ids<T: Send>(&self, init: impl Fn() -> T + Sync, visit: impl Fn(&mut T, PayerId) + Sync) -> Vec<T> {
        let total = self.total();
        let chunks = total.div_ceil(FOLD_CHUNK) as usize;
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 16).min(chunks.max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (init, visit, next) = (&init, &visit, &next);
        let mut parts: Vec<(usize, T)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(move || {
                        let mut done = Vec::new();
                        loop {
                            let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if c >= chunks {
                                return done;
                            }
                            let mut part = init();
                            let first = c as u64 * FOLD_CHUNK;
                            for id in first..(first + FOLD_CHUNK).min(total) {
                                visit(&mut part, id as PayerId);
                            }
                            done.push((c, part));
                        }
                    })
                })
                .collect();
            // A worker only panics on a bug; propagate it rather than give partial parts.
            handles.into_iter().flat_map(|h| h.join().expect("population worker")).collect()
        });
        parts.sort_unstable_by_key(|(c, _)| *c);
        parts.into_iter().map(|(_, part)| part).collect()
    }

    /// Counts and amounts due, computed on all cores; the result does not depend on how
    /// the work was split because every cell is a sum.
    pub fn stats(&self) -> PopulationStats {
        let mut out = PopulationStats::default();
        for p in self.fold_parts(PopulationStats::default, |st, payer| st.add(self, payer)) {
            out.merge(p);
        }
        out
    }

    pub fn write_jsonl(&self, w: &mut impl Write) -> std::io::Result<()> {
        let mut err = Ok(());
        self.for_each(|p| {
            if err.is_err() {
                return;
            }
            let items: BTreeMap<&str, i64> =
                Insurance::ALL.iter().filter(|i| p.items[i.index()] != 0).map(|i| (i.as_str(), p.items[i.index()])).collect();
            let line = PayerLine {
                id: p.id,
                identifier: self.identifier(p),
                group: p.group.as_str(),
                league: &self.spec.leagues[p.league as usize].name,
                tier: self.tier_label(p.group, p.tier),
                persons: p.persons,
                months: p.months,
                amount_due_fen: p.amount_fen(),
                items_fen: items,
                active: p.active,
                batch: p.batch,
                special: p.special.map(|s| s.as_str()),
            };
            err = serde_json::to_writer(&mut *w, &line).map_err(std::io::Error::other).and_then(|_| w.write_all(b"\n"));
        });
        err
    }
}

#[derive(Serialize)]
struct PayerLine<'a> {
    id: PayerId,
    identifier: String,
    group: &'a str,
    league: &'a str,
    tier: String,
    persons: u32,
    months: u16,
    amount_due_fen: i64,
    items_fen: BTreeMap<&'a str, i64>,
    active: bool,
    batch: bool,
    special: Option<&'a str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub payers: u64,
    pub active: u64,
    pub special: u64,
    pub amount_due_fen: i64,
    pub active_amount_due_fen: i64,
}

impl Cell {
    fn add(&mut self, p: &Payer, amount: i64) {
        self.payers += 1;
        self.amount_due_fen += amount;
        if p.active {
            self.active += 1;
            self.active_amount_due_fen += amount;
        }
        if p.special.is_some() {
            self.special += 1;
        }
    }
    fn merge(&mut self, o: &Cell) {
        self.payers += o.payers;
        self.active += o.active;
        self.special += o.special;
        self.amount_due_fen += o.amount_due_fen;
        self.active_amount_due_fen += o.active_amount_due_fen;
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PopulationStats {
    pub by_group: BTreeMap<GroupKind, Cell>,
    pub by_group_league: BTreeMap<(GroupKind, u8), Cell>,
    pub by_group_tier: BTreeMap<(GroupKind, u16), Cell>,
    pub by_group_insurance: BTreeMap<(GroupKind, Insurance), Cell>,
}

impl PopulationStats {
    fn add(&mut self, _pop: &Population, p: &Payer) {
        let amount = p.amount_fen();
        self.by_group.entry(p.group).or_default().add(p, amount);
        self.by_group_league.entry((p.group, p.league)).or_default().add(p, amount);
        self.by_group_tier.entry((p.group, p.tier)).or_default().add(p, amount);
        for ins in Insurance::ALL {
            let a = p.items[ins.index()];
            if a != 0 {
                self.by_group_insurance.entry((p.group, ins)).or_default().add(p, a);
            }
        }
    }
    fn merge(&mut self, o: PopulationStats) {
        for (k, v) in o.by_group {
            self.by_group.entry(k).or_default().merge(&v);
        }
        for (k, v) in o.by_group_league {
            self.by_group_league.entry(k).or_default().merge(&v);
        }
        for (k, v) in o.by_group_tier {
            self.by_group_tier.entry(k).or_default().merge(&v);
        }
        for (k, v) in o.by_group_insurance {
            self.by_group_insurance.entry(k).or_default().merge(&v);
        }
    }
}

/// Each group's payer count and its first payer id, from the scenario alone.
fn counts_and_offsets(spec: &Spec) -> ([u32; 5], [u32; 5]) {
    let g = &spec.raw.population.groups;
    let counts = [
        g.unit.count as u32,
        g.flexible.count as u32,
        g.resident_pension.count as u32,
        g.resident_medical.count as u32,
        g.proxy.count as u32,
    ];
    let mut offsets = [0u32; 5];
    for i in 1..5 {
        offsets[i] = offsets[i - 1] + counts[i - 1];
    }
    (counts, offsets)
}

/// The 18-character number a deployment knows a payer by ([`Population::identifier`]): a
/// unified social credit code for a unit, a resident ID otherwise; from the scenario alone.
pub fn payer_number(spec: &Spec, id: u32, group: GroupKind, league: u8) -> String {
    let (_, offsets) = counts_and_offsets(spec);
    match group {
        GroupKind::Unit => ids::unit_code(league, id.saturating_sub(offsets[GroupKind::Unit.index()]) as u64),
        _ => ids::resident_id(league, id.saturating_sub(offsets[GroupKind::Flexible.index()]) as u64),
    }
}

/// The payer id a number of [`payer_number`] names, if it is one of the scenario's payers.
pub fn payer_of_number(spec: &Spec, number: &str) -> Option<u32> {
    let (counts, offsets) = counts_and_offsets(spec);
    let total: u32 = counts.iter().sum();
    let id = if number.starts_with("911599") && ids::unit_code_valid(number) {
        let index: u32 = number.get(10..16)?.parse().ok()?;
        (index < counts[GroupKind::Unit.index()]).then_some(offsets[GroupKind::Unit.index()] + index)?
    } else if number.starts_with("1599") && ids::resident_id_valid(number) {
        let date = chrono::NaiveDate::parse_from_str(number.get(6..14)?, "%Y%m%d").ok()?;
        let epoch = chrono::NaiveDate::from_ymd_opt(1930, 1, 1)?;
        let days = (date - epoch).num_days();
        let seq: u32 = number.get(14..17)?.parse().ok()?;
        let index = u32::try_from(days).ok()?.checked_mul(1000)?.checked_add(seq)?;
        offsets[GroupKind::Flexible.index()].checked_add(index)?
    } else {
        return None;
    };
    (id < total).then_some(id)
}

#[cfg(test)]
mod tests {
    /// Every payer's number names it again, and nothing else names a payer.
    #[test]
    fn payer_numbers_name_their_payers_both_ways() {
        let spec = crate::scenario::parse("ci-smoke.json", include_str!("../../scenarios/ci-smoke.json")).unwrap();
        let p = super::Population::new(&spec, 7);
        let mut n = 0;
        p.for_each(|payer| {
            let number = super::payer_number(&spec, payer.id, payer.group, payer.league);
            assert_eq!(number, p.identifier(payer), "the number a deployment sees is the population's");
            assert_eq!(super::payer_of_number(&spec, &number), Some(payer.id), "{number}");
            n += 1;
        });
        assert!(n > 20_000, "{n} payers");
        for bad in ["", "150102199001011234", "91150000MA0000000X", "1599011930010100x0"] {
            assert_eq!(super::payer_of_number(&spec, bad), None, "{bad}");
        }
    }

    /// The short cut that stops an inactive payer's draws early gives exactly the active
    /// payers, whole, and the parallel fold visits them in id order.
    #[test]
    fn active_payers_are_the_payers_marked_active() {
        let spec = crate::scenario::parse("ci-smoke.json", include_str!("../../scenarios/ci-smoke.json")).unwrap();
        let p = super::Population::new(&spec, 11);
        let (mut active, mut all) = (Vec::new(), 0u64);
        p.for_each(|payer| {
            all += 1;
            assert_eq!(p.active_by_id(payer.id).as_ref(), payer.active.then_some(payer), "payer {}", payer.id);
            if payer.active {
                active.push(payer.id);
            }
        });
        assert!(active.len() > 100 && (active.len() as u64) < all, "some active, some not: {} of {all}", active.len());
        let folded: Vec<u32> = p.fold_active_parts(Vec::new, |ids, payer| ids.push(payer.id)).concat();
        assert_eq!(folded, active);
    }

    #[test]
    fn rates_round_half_up_in_fen() {
        // 3,700.00 yuan * 16% = 592.00 yuan.
        assert_eq!(super::apply_rate(370_000, 1, super::rate_ppm(0.16)), 59_200);
        // 1 fen * 50% = 0.5 fen -> 1 fen.
        assert_eq!(super::apply_rate(1, 1, 500_000), 1);
        assert_eq!(super::apply_rate(1_850_000, 50_000, super::rate_ppm(0.24)), 22_200_000_000);
    }
}
