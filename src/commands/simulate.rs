//! `cutover simulate`: the whole timeline in virtual time through the reference model.

use super::Exit;
use super::args::{faults, lang, load};
use super::output::{create_dir, write_extras, write_report_files};
use crate::cli::{Format, SimulateArgs};
use crate::engine::{Extras, simulate_with};
use crate::time::SimTime;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

pub(super) fn simulate(a: SimulateArgs) -> anyhow::Result<Exit> {
    let spec = Arc::new(load(&a.scenario)?);
    let lang = lang(a.lang);
    let seed = a.seed.unwrap_or(spec.raw.seed);
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(&spec.raw.name));
    create_dir(&out)?;
    let file = a.scenario.display().to_string();
    if let Some(arg) = &a.shard {
        let (index, count) = super::args::shard_of(arg)?;
        super::args::within("--threads", a.threads, 1, 64)?;
        return shard_plan(spec, seed, (index, count), a.threads, &out, a.format);
    }
    let tty = std::io::stderr().is_terminal();
    let offset = spec.calendar.offset;
    let (from, to) = (spec.start.0, spec.end.0);
    let mut progress = |t: SimTime, events: u64| {
        let day = t.format(offset);
        let share = (t.0 - from) as f64 * 100.0 / (to - from).max(1) as f64;
        if tty {
            eprint!("\rsimulating {} ({share:.0} % of the timeline)  {} events   ", &day[..10], events);
        } else {
            eprintln!("simulating {} ({share:.0} % of the timeline, {} events so far)", &day[..10], events);
        }
    };
    let started = std::time::Instant::now();
    let extras = Extras { hlog: a.hlog.is_some() };
    let output = simulate_with(spec.clone(), seed, &file, faults(&a.fault), if a.quiet { None } else { Some(&mut progress) }, extras);
    if tty && !a.quiet {
        eprintln!();
    }
    let report = output.report;
    let json = serde_json::to_string_pretty(&report)?;
    write_report_files(&out, &report, &json, lang)?;
    write_extras(&report, a.junit.as_deref(), a.hlog.as_deref())?;
    let wall = started.elapsed().as_secs_f64();
    if a.format == Format::Json {
        say!("{json}");
    } else {
        say_raw!("{}", crate::report::render::markdown::short(&report, lang));
        say!(
            "simulated {} events in {:.2} s ({:.0} events/s); report in {}",
            report.engine.events,
            wall,
            report.engine.events as f64 / wall.max(1e-9),
            out.join("report.json").display()
        );
    }
    if report.verdict.verdict != crate::report::Verdict::Go {
        eprintln!("verdict {}; replay this run with --seed {seed}", report.verdict.verdict.word());
    }
    Ok(Exit::from(report.verdict.verdict))
}

/// `simulate --shard I/N`: what shard I sends, beside the whole, printed and written.
fn shard_plan(
    spec: Arc<crate::scenario::Spec>,
    seed: u64,
    (index, count): (usize, usize),
    threads: usize,
    out: &std::path::Path,
    format: Format,
) -> anyhow::Result<Exit> {
    let scale = spec.raw.run.time_scale;
    let p = crate::engine::shards::plan(spec, seed, index, count, threads);
    let json = serde_json::to_string_pretty(&p)?;
    let path = out.join(format!("shard-{index}-of-{count}.json"));
    super::output::write_atomic(&path, json.as_bytes())?;
    if format == Format::Json {
        say!("{json}");
        return Ok(Exit::Ok);
    }
    let share = |a: u64, b: u64| a as f64 * 100.0 / b.max(1) as f64;
    say!(
        "shard {index}/{count} ({threads} thread(s) each): {} of {} payers ({:.1} %), {} of {} requests to the systems ({:.1} %)",
        p.payers,
        p.payers_all,
        share(p.payers, p.payers_all),
        p.requests,
        p.requests_all,
        share(p.requests, p.requests_all)
    );
    if let Some((at, n)) = &p.busiest_hour {
        say!(
            "its busiest hour, {}, sends {n} requests: {:.0} per second at the scenario's {scale}x",
            &at[..16].replace('T', " "),
            *n as f64 / 3600.0 * scale
        );
    }
    say!("per hour in {}", path.display());
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// `simulate --shard` plans each shard's threads as `run --shard` sends with them when
    /// neither is told `--threads`: the same number, or the shards would deal the payers
    /// otherwise than their plan.
    #[test]
    fn a_shard_plans_the_threads_a_shard_run_sends_with() {
        let cli = Cli::try_parse_from(["cutover", "simulate", "s.json", "--shard", "0/2"]).expect("parsed");
        let Command::Simulate(a) = cli.command else { panic!("not simulate") };
        assert_eq!(a.threads, crate::live::run::SHARD_THREADS);
    }
}
