//! `cutover sweep`: every combination of `--vary` values simulated on all cores, the
//! cheapest passing one named.

use super::Exit;
use super::args::{cores, lang, load};
use super::output::{create_dir, write_atomic};
use crate::cli::SweepArgs;
use crate::scenario::{self, Spec};
use crate::sweep::{self, Vary};
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;

pub(super) fn sweep(a: SweepArgs) -> anyhow::Result<Exit> {
    let n_seeds = super::args::within("--seeds", a.seeds as usize, 1, 1000)? as u64;
    // The base scenario is checked whole first, so its own problems are reported as such.
    let base_spec = load(&a.scenario)?;
    let base = scenario::RawScenario::load(&a.scenario)?;
    let varies: Vec<Vary> = a.vary.iter().map(|v| v.parse()).collect::<Result<_, String>>().map_err(anyhow::Error::msg)?;
    let planned = sweep::plan(&base, &varies).map_err(anyhow::Error::msg)?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-sweep", base_spec.raw.name)));
    let mut specs: Vec<Arc<Spec>> = Vec::new();
    let mut texts = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        let text = p.scenario.to_text();
        let what: Vec<String> = p.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let name = format!("combination-{i}.json");
        let spec = scenario::parse(&out.join("scenarios").join(&name).display().to_string(), &text)
            .with_context(|| format!("combination {i} ({})", what.join(", ")))?;
        specs.push(Arc::new(spec));
        texts.push((name, text));
    }
    let first = a.seed.unwrap_or(base_spec.raw.seed);
    let seeds: Vec<u64> = (0..n_seeds).map(|k| first.wrapping_add(k)).collect();
    let total = specs.len() * seeds.len();
    let jobs = jobs_that_fit(a.jobs, total, &specs, a.quiet)?;
    let dir = out.join("scenarios");
    create_dir(&dir)?;
    let mut files = Vec::new();
    for (name, text) in texts {
        let file = dir.join(name);
        write_atomic(&file, text.as_bytes())?;
        files.push(file.display().to_string());
    }
    if !a.quiet {
        eprintln!("sweep: {} combinations x {} seeds = {total} simulations, {jobs} at once", specs.len(), seeds.len());
    }
    let started = std::time::Instant::now();
    let quiet = a.quiet;
    let progress = move |done: usize, total: usize| {
        if !quiet {
            let elapsed = started.elapsed().as_secs_f64();
            let left = elapsed / done as f64 * (total - done) as f64;
            eprintln!("sweep: {done} of {total} done ({:.0} %), about {left:.0} s left", done as f64 * 100.0 / total as f64);
        }
    };
    let file = a.scenario.display().to_string();
    let run_one = |spec: &Arc<Spec>, seed: u64| crate::engine::simulate(spec.clone(), seed, &file, Default::default(), None).report;
    let result = sweep::run(&base_spec.raw.name, &varies, planned, specs, files, &seeds, jobs, &run_one, &progress);
    write_atomic(&out.join("sweep.json"), serde_json::to_string_pretty(&result)?.as_bytes())?;
    let labels = crate::report::data::labels::LabelsZh::of(&base_spec.raw);
    let say = crate::report::render::lang::Say::with(lang(a.lang), &labels);
    let md = sweep::view::markdown(&result, &say);
    write_atomic(&out.join("sweep.md"), md.as_bytes())?;
    write_atomic(&out.join("sweep.html"), sweep::view::html(&result, &say).as_bytes())?;
    say_raw!("{md}");
    say!("sweep in {}", out.join("sweep.html").display());
    Ok(if result.passing > 0 { Exit::Ok } else { Exit::Failed })
}

/// How many simulations run at once: `--jobs`, or every core, but never more than fit in the
/// memory available (each estimated from its scenario, [`crate::engine::memory`]). A `--jobs`
/// that would not fit is refused, saying what would.
fn jobs_that_fit(asked: Option<usize>, total: usize, specs: &[Arc<Spec>], quiet: bool) -> anyhow::Result<usize> {
    let want = asked.unwrap_or_else(cores).clamp(1, total.max(1));
    let each = specs.iter().map(|s| crate::engine::memory::peak_bytes_estimate(s)).max().unwrap_or(0).max(1);
    let Some(available) = crate::engine::memory::available_bytes() else { return Ok(want) };
    let fit = (available / each).max(1) as usize;
    if want <= fit {
        return Ok(want);
    }
    let (mib, gib) = (|b: u64| b as f64 / (1u64 << 20) as f64, |b: u64| b as f64 / (1u64 << 30) as f64);
    match asked {
        Some(n) => anyhow::bail!(
            "--jobs {n}: {want} simulations at once need about {:.1} GiB (each about {:.0} MiB at its peak, estimated from its active payers), and {:.1} GiB is available: use --jobs {fit} or fewer",
            gib(each * want as u64),
            mib(each),
            gib(available)
        ),
        None => {
            if !quiet {
                eprintln!(
                    "sweep: {fit} at once, not {want}: each simulation needs about {:.0} MiB at its peak and {:.1} GiB is available",
                    mib(each),
                    gib(available)
                );
            }
            Ok(fit)
        }
    }
}
