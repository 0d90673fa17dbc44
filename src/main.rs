//! Thin entry point: parse arguments, call the library, map results to exit codes.
//!
//! Exit codes: 0 ok (every gate passed), 1 the run completed but a gate failed,
//! 2 bad input or an error of the tool.

use anyhow::Context;
use clap::Parser;
use cutover::cli::{Cli, Command};
use cutover::population::Population;
use cutover::scenario::{self, GroupKind, Insurance};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load(path: &Path) -> anyhow::Result<scenario::Spec> {
    Ok(scenario::load(path)?)
}

/// Write a file so that a reader never sees half of it (temp file, then rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Schema => {
            let text = serde_json::to_string_pretty(&scenario::schema())?;
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { scenario } => {
            let spec = load(&scenario)?;
            print!(
                "{}",
                cutover::validate_view::describe(&spec, &scenario.display().to_string())
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Population {
            scenario,
            seed,
            jsonl,
        } => {
            let spec = load(&scenario)?;
            let seed = seed.unwrap_or(spec.raw.seed);
            let pop = Population::new(&spec, seed);
            print_population(&spec, &pop);
            if let Some(path) = jsonl {
                let file = std::fs::File::create(&path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                let mut w = std::io::BufWriter::new(file);
                pop.write_jsonl(&mut w)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                w.flush()
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("wrote {} payers to {}", pop.total(), path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate {
            scenario,
            seed,
            out,
            quiet,
        } => {
            let spec = Arc::new(load(&scenario)?);
            let seed = seed.unwrap_or(spec.raw.seed);
            let out = out.unwrap_or_else(|| PathBuf::from("reports").join(&spec.raw.name));
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let file = scenario.display().to_string();
            let tty = std::io::stderr().is_terminal();
            let offset = spec.calendar.offset;
            let mut progress = |t: cutover::time::SimTime, events: u64| {
                let day = t.format(offset);
                if tty {
                    eprint!("\rsimulating {}  {} events   ", &day[..10], events);
                } else {
                    eprintln!("simulating {} ({} events so far)", &day[..10], events);
                }
            };
            let started = std::time::Instant::now();
            let output = cutover::simulate(
                spec.clone(),
                seed,
                &file,
                if quiet { None } else { Some(&mut progress) },
            );
            if tty && !quiet {
                eprintln!();
            }
            let report = output.report;
            let json = serde_json::to_string_pretty(&report)?;
            write_atomic(&out.join("report.json"), json.as_bytes())?;
            write_atomic(
                &out.join("summary.md"),
                cutover::report::markdown::render(&report).as_bytes(),
            )?;
            print!("{}", cutover::report::markdown::short(&report));
            let wall = started.elapsed().as_secs_f64();
            println!(
                "simulated {} events in {:.2} s ({:.0} events/s); report in {}",
                report.engine.events,
                wall,
                report.engine.events as f64 / wall.max(1e-9),
                out.join("report.json").display()
            );
            if !report.summary.gates_passed {
                eprintln!("a gate failed; replay this run with --seed {seed}");
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_population(spec: &scenario::Spec, pop: &Population) {
    let stats = pop.stats();
    let yuan = |fen: i64| format!("{:.2}", fen as f64 / 100.0);
    println!(
        "population of {:?}, seed {}: {} payers",
        spec.raw.name,
        pop.seed(),
        pop.total()
    );
    println!("\nper group (amount due = one regular payment each, or the assessed amount):");
    println!(
        "  {:<18} {:>12} {:>12} {:>10} {:>22} {:>22}",
        "group", "payers", "active", "special", "amount due (yuan)", "active due (yuan)"
    );
    for (g, c) in &stats.by_group {
        println!(
            "  {:<18} {:>12} {:>12} {:>10} {:>22} {:>22}",
            g.as_str(),
            c.payers,
            c.active,
            c.special,
            yuan(c.amount_due_fen),
            yuan(c.active_amount_due_fen)
        );
    }
    println!("\nper group and league:");
    for ((g, l), c) in &stats.by_group_league {
        println!(
            "  {:<18} {:<12} {:>12} payers {:>12} active {:>22} yuan due",
            g.as_str(),
            spec.leagues[*l as usize].name,
            c.payers,
            c.active,
            yuan(c.amount_due_fen)
        );
    }
    println!("\nper group and tier:");
    for ((g, t), c) in &stats.by_group_tier {
        println!(
            "  {:<18} {:<32} {:>12} payers {:>22} yuan due",
            g.as_str(),
            pop.tier_label(*g, *t),
            c.payers,
            yuan(c.amount_due_fen)
        );
    }
    println!("\nper group and insurance type:");
    for ((g, i), c) in &stats.by_group_insurance {
        println!(
            "  {:<18} {:<22} {:>12} payers {:>22} yuan due",
            g.as_str(),
            i.as_str(),
            c.payers,
            yuan(c.amount_due_fen)
        );
    }
    let _ = (GroupKind::ALL, Insurance::ALL);
}
