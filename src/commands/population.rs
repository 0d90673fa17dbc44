//! `cutover population`: the synthetic payers of a scenario, counted, and with `--jsonl`
//! every payer as a JSON line.

use super::Exit;
use crate::population::Population;
use crate::report::render::human::yuan_plain;
use crate::scenario::Spec;
use anyhow::Context;
use std::io::Write;
use std::path::Path;

pub(super) fn population(scenario: &Path, seed: Option<u64>, jsonl: Option<&Path>) -> anyhow::Result<Exit> {
    let spec = super::args::load(scenario)?;
    let pop = Population::new(&spec, seed.unwrap_or(spec.raw.seed));
    print_counts(&spec, &pop);
    if let Some(path) = jsonl {
        let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = std::io::BufWriter::new(file);
        pop.write_jsonl(&mut w).with_context(|| format!("cannot write {}", path.display()))?;
        w.flush().with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {} payers to {}", pop.total(), path.display());
    }
    Ok(Exit::Ok)
}

fn print_counts(spec: &Spec, pop: &Population) {
    let stats = pop.stats();
    say!("population of {:?}, seed {}: {} payers", spec.raw.name, pop.seed(), pop.total());
    say!("\nper group (amount due = one regular payment each, or the assessed amount):");
    say!("  {:<18} {:>12} {:>12} {:>10} {:>22} {:>22}", "group", "payers", "active", "special", "amount due (yuan)", "active due (yuan)");
    for (g, c) in &stats.by_group {
        say!(
            "  {:<18} {:>12} {:>12} {:>10} {:>22} {:>22}",
            g.as_str(),
            c.payers,
            c.active,
            c.special,
            yuan_plain(c.amount_due_fen),
            yuan_plain(c.active_amount_due_fen)
        );
    }
    say!("\nper group and league:");
    for ((g, l), c) in &stats.by_group_league {
        say!(
            "  {:<18} {:<12} {:>12} payers {:>12} active {:>22} yuan due",
            g.as_str(),
            spec.leagues[*l as usize].name,
            c.payers,
            c.active,
            yuan_plain(c.amount_due_fen)
        );
    }
    say!("\nper group and tier:");
    for ((g, t), c) in &stats.by_group_tier {
        say!("  {:<18} {:<32} {:>12} payers {:>22} yuan due", g.as_str(), pop.tier_label(*g, *t), c.payers, yuan_plain(c.amount_due_fen));
    }
    say!("\nper group and insurance type:");
    for ((g, i), c) in &stats.by_group_insurance {
        say!("  {:<18} {:<22} {:>12} payers {:>22} yuan due", g.as_str(), i.as_str(), c.payers, yuan_plain(c.amount_due_fen));
    }
}
