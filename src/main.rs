//! Thin entry point: parse arguments, call the library, map results to exit codes.
//!
//! Exit codes: 0 ok (every gate passed), 1 the run completed but a gate failed,
//! 2 bad input or an error of the tool.

use anyhow::Context;
use clap::Parser;
use cutover::cli::{Cli, Command};
use cutover::population::Population;
use cutover::report::lang::Lang;
use cutover::scenario::{self, GroupKind, Insurance};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Print to standard output, ignoring a closed pipe (`cutover population ... | head`): the
/// reports are already written, and a reader that went away is no reason to panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// Exit code of a run stopped by Ctrl-C (after its report was written).
const EXIT_INTERRUPTED: u8 = 130;

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
/// report.json, summary.md and report.html, each written whole or not at all.
fn write_report_files(out: &Path, report: &cutover::report::Report, json: &str, lang: Lang) -> anyhow::Result<()> {
    write_atomic(&out.join("report.json"), json.as_bytes())?;
    write_atomic(&out.join("summary.md"), cutover::report::markdown::render(report, lang).as_bytes())?;
    write_atomic(&out.join("report.html"), cutover::report::html::render(report, lang).as_bytes())
}

/// The interval logs into `dir`, one file each.
fn write_hlogs(dir: &Path, logs: &[cutover::report::hlog::HistogramLog]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for l in logs {
        write_atomic(&dir.join(&l.file_name), &l.text)?;
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// A report.json read for `compare`: the file named once in any error.
fn read_report(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    if v.get("format_version").is_none() || !v.get("cells").is_some_and(|c| c.is_array()) {
        anyhow::bail!("{} is not a cutover report.json (no format_version or cells)", path.display());
    }
    Ok(v)
}

fn sweep(args: cutover::cli::SweepArgs) -> anyhow::Result<ExitCode> {
    use cutover::sweep;
    // The base scenario is checked whole first, so its own problems are reported as such.
    let base_spec = load(&args.scenario)?;
    let text = std::fs::read_to_string(&args.scenario).with_context(|| format!("cannot read {}", args.scenario.display()))?;
    let base: serde_json::Value = serde_json::from_str(&text)?;
    let varies: Vec<sweep::Vary> = args.vary.iter().map(|v| v.parse()).collect::<Result<_, String>>().map_err(anyhow::Error::msg)?;
    let planned = sweep::plan(&base, &varies).map_err(anyhow::Error::msg)?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-sweep", base_spec.raw.name)));
    let dir = out.join("scenarios");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut specs = Vec::new();
    let mut files = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        let file = dir.join(format!("combination-{i}.json"));
        let text = serde_json::to_string_pretty(&p.scenario)?;
        write_atomic(&file, text.as_bytes())?;
        let what: Vec<String> = p.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let spec = scenario::parse(&file.display().to_string(), &text).with_context(|| format!("combination {i} ({})", what.join(", ")))?;
        specs.push(Arc::new(spec));
        files.push(file.display().to_string());
    }
    let first = args.seed.unwrap_or(base_spec.raw.seed);
    let seeds: Vec<u64> = (0..args.seeds).map(|k| first.wrapping_add(k)).collect();
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1);
    let total = specs.len() * seeds.len();
    if !args.quiet {
        eprintln!("sweep: {} combinations x {} seeds = {total} simulations, {jobs} at once", specs.len(), seeds.len());
    }
    let started = std::time::Instant::now();
    let quiet = args.quiet;
    let progress = move |done: usize, total: usize| {
        if !quiet {
            let elapsed = started.elapsed().as_secs_f64();
            let left = elapsed / done as f64 * (total - done) as f64;
            eprintln!("sweep: {done} of {total} done ({:.0} %), about {left:.0} s left", done as f64 * 100.0 / total as f64);
        }
    };
    let file = args.scenario.display().to_string();
    let run_one = |spec: &Arc<scenario::Spec>, seed: u64| cutover::simulate(spec.clone(), seed, &file, Default::default(), None).report;
    let result = sweep::run(&base_spec.raw.name, &varies, planned, specs, files, &seeds, jobs, &run_one, &progress);
    write_atomic(&out.join("sweep.json"), serde_json::to_string_pretty(&result)?.as_bytes())?;
    let labels = cutover::report::lang::LabelsZh::of(&base_spec.raw);
    let say = cutover::report::lang::Say::with(lang_of(args.lang), &labels);
    let md = cutover::sweep::view::markdown(&result, &say);
    write_atomic(&out.join("sweep.md"), md.as_bytes())?;
    write_atomic(&out.join("sweep.html"), cutover::sweep::view::html(&result, &say).as_bytes())?;
    say_raw!("{md}");
    say!("sweep in {}", out.join("sweep.html").display());
    Ok(if result.passing > 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn compare(args: cutover::cli::CompareArgs) -> anyhow::Result<ExitCode> {
    let max_regression = cutover::compare::parse_share(&args.max_regression).map_err(anyhow::Error::msg)?;
    if args.min_change_ms.is_nan() || args.min_change_ms < 0.0 {
        anyhow::bail!("--min-change-ms must be 0 or more");
    }
    let (base, new) = (read_report(&args.base)?, read_report(&args.new)?);
    let limits = cutover::compare::Limits { max_regression, min_change_ms: args.min_change_ms, min_samples: args.min_samples };
    let c = cutover::compare::compare(&base, &new, limits);
    if c.base_scenario != c.new_scenario {
        eprintln!("warning: the reports are of different scenarios ({} and {})", c.base_scenario, c.new_scenario);
    }
    if args.format == cutover::cli::Format::Json {
        say!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        say_raw!("{}", cutover::compare::render(&c, args.all));
    }
    Ok(if c.regressions > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Schema { of } => {
            let schema = match of {
                cutover::cli::SchemaOf::Scenario => scenario::schema(),
                cutover::cli::SchemaOf::Report => cutover::report::schema(),
                cutover::cli::SchemaOf::Sweep => cutover::sweep::schema(),
            };
            let text = serde_json::to_string_pretty(&schema)?;
            say!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare(args) => compare(args),
        Command::Sweep(args) => sweep(args),
        Command::Validate { scenario } => {
            let spec = load(&scenario)?;
            say_raw!("{}", cutover::validate_view::describe(&spec, &scenario.display().to_string()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Population { scenario, seed, jsonl } => {
            let spec = load(&scenario)?;
            let seed = seed.unwrap_or(spec.raw.seed);
            let pop = Population::new(&spec, seed);
            print_population(&spec, &pop);
            if let Some(path) = jsonl {
                let file = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
                let mut w = std::io::BufWriter::new(file);
                pop.write_jsonl(&mut w).with_context(|| format!("cannot write {}", path.display()))?;
                w.flush().with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("wrote {} payers to {}", pop.total(), path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => serve(args),
        Command::Run(args) => run_live(args),
        Command::Migrate(args) => migrate(args),
        Command::Reconcile { scenario, old, new, old_registrations, new_registrations, journal, out } => {
            let spec = Arc::new(load(&scenario)?);
            let out = out.unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-reconcile", spec.raw.name)));
            let files = cutover::books::BookFiles {
                old: &old,
                new: &new,
                registrations: old_registrations.as_deref().zip(new_registrations.as_deref()),
                journal: journal.as_deref(),
            };
            let report = cutover::books::reconcile(spec, files)?;
            std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
            write_atomic(&out.join("reconcile.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
            let md = cutover::report::markdown::cutover_section(&report);
            write_atomic(&out.join("reconcile.md"), md.as_bytes())?;
            say_raw!("{md}");
            say!("report in {}", out.join("reconcile.json").display());
            let m = &report.migration;
            let wrong = m.missing
                + m.duplicated
                + m.differing
                + m.unknown_origin
                + m.mismatched_cells
                + report.double_charges.count
                + report.lost_at_boundary.count
                + report.acknowledged_after_stop.count
                + report.registrations.mismatched();
            Ok(if wrong > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Simulate { scenario, seed, out, lang: cli_lang, junit, hlog, format, quiet, fault } => {
            let spec = Arc::new(load(&scenario)?);
            let lang = lang_of(cli_lang);
            let seed = seed.unwrap_or(spec.raw.seed);
            let out = out.unwrap_or_else(|| PathBuf::from("reports").join(&spec.raw.name));
            std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
            let file = scenario.display().to_string();
            let tty = std::io::stderr().is_terminal();
            let offset = spec.calendar.offset;
            let (from, to) = (spec.start.0, spec.end.0);
            let mut progress = |t: cutover::time::SimTime, events: u64| {
                let day = t.format(offset);
                let share = (t.0 - from) as f64 * 100.0 / (to - from).max(1) as f64;
                if tty {
                    eprint!("\rsimulating {} ({share:.0} % of the timeline)  {} events   ", &day[..10], events);
                } else {
                    eprintln!("simulating {} ({share:.0} % of the timeline, {} events so far)", &day[..10], events);
                }
            };
            let started = std::time::Instant::now();
            let extras = cutover::Extras { hlog: hlog.is_some() };
            let output =
                cutover::simulate_with(spec.clone(), seed, &file, faults(&fault), if quiet { None } else { Some(&mut progress) }, extras);
            if tty && !quiet {
                eprintln!();
            }
            let report = output.report;
            let json = serde_json::to_string_pretty(&report)?;
            write_report_files(&out, &report, &json, lang)?;
            if let Some(path) = &junit {
                write_atomic(path, cutover::report::junit::render(&report).as_bytes())?;
            }
            if let Some(dir) = &hlog {
                write_hlogs(dir, &output.hlogs)?;
            }
            let wall = started.elapsed().as_secs_f64();
            if format == cutover::cli::Format::Json {
                say!("{json}");
            } else {
                say_raw!("{}", cutover::report::markdown::short(&report, lang));
                say!(
                    "simulated {} events in {:.2} s ({:.0} events/s); report in {}",
                    report.engine.events,
                    wall,
                    report.engine.events as f64 / wall.max(1e-9),
                    out.join("report.json").display()
                );
            }
            if !report.summary.gates_passed {
                eprintln!("a gate failed; replay this run with --seed {seed}");
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The faults asked for on the command line, as the reference systems take them.
fn lang_of(lang: cutover::cli::Lang) -> Lang {
    match lang {
        cutover::cli::Lang::En => Lang::En,
        cutover::cli::Lang::Zh => Lang::Zh,
    }
}

fn faults(list: &[cutover::cli::Fault]) -> cutover::model::Faults {
    use cutover::cli::Fault;
    use cutover::model::MigrationFault;
    let migration = list.iter().rev().find_map(|f| match f {
        Fault::MigrationDropBatch => Some(MigrationFault::DropBatch),
        Fault::MigrationImportTwice => Some(MigrationFault::ImportTwice),
        Fault::MigrationWrongLeague => Some(MigrationFault::WrongLeague),
        _ => None,
    });
    cutover::model::Faults {
        accept_while_suspended: list.contains(&Fault::AcceptWhileSuspended),
        accept_after_stop: list.contains(&Fault::AcceptAfterStop),
        naive_dedup: list.contains(&Fault::NaiveDedup),
        migration,
    }
}

const BUNDLED_SCENARIO: &str = include_str!("../scenarios/inner-mongolia-2021.json");

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn serve(args: cutover::cli::ServeArgs) -> anyhow::Result<ExitCode> {
    use cutover::clock::VirtualClock;
    let spec = match &args.scenario {
        Some(p) => load(p)?,
        None => scenario::parse("(bundled) scenarios/inner-mongolia-2021.json", BUNDLED_SCENARIO)?,
    };
    let spec = Arc::new(spec);
    if !(args.time_scale > 0.0 && args.time_scale <= 1e9) {
        anyhow::bail!("--time-scale: must be in (0, 1e9], got {}", args.time_scale);
    }
    let start = match (&args.virtual_start, args.rebase_now) {
        (Some(_), true) => anyhow::bail!("--virtual-start and --rebase-now exclude each other"),
        (Some(s), false) => {
            cutover::contract::parse_instant(s).ok_or_else(|| anyhow::anyhow!("--virtual-start: not an RFC 3339 instant: {s:?}"))?
        }
        (None, true) => cutover::clock::wall_now(),
        (None, false) => spec.start,
    };
    let token = args.admin_token.clone().or_else(|| std::env::var("CUTOVER_ADMIN_TOKEN").ok()).filter(|t| !t.is_empty());
    let mut cfg = cutover::server::ServeConfig {
        admin_token: token,
        max_in_flight: args.max_in_flight,
        fault_accept_while_suspended: args.fault.contains(&cutover::cli::Fault::AcceptWhileSuspended),
        text_ids: args.text_ids,
        clock: VirtualClock::starting_now(start, args.time_scale),
        system: None,
    };
    let system = match (&spec.cutover, args.role) {
        (Some(_), None) => {
            anyhow::bail!("--role: scenario {:?} has two systems (its `cutover` section): give --role old or --role new", spec.raw.name)
        }
        (None, Some(_)) => anyhow::bail!("--role: scenario {:?} has one system (no `cutover` section)", spec.raw.name),
        (Some(x), Some(role)) => {
            let i = if role == cutover::cli::Role::Old { 0 } else { 1 };
            cfg.system = Some(x.systems[i].name.clone());
            i as u8
        }
        (None, None) => 0,
    };
    let rules = Arc::new(cutover::model::Rules::from_spec(&spec));
    let mut model = cutover::model::system_model(&spec, rules, system, faults(&args.fault));
    let store = match &args.data {
        Some(dir) => {
            let mark = cutover::server::store::ScenarioMark { name: spec.raw.name.clone(), digest: spec.digest() };
            let opened = cutover::server::store::Store::open(dir, &mut model, &mark)?;
            if opened.migrated > 0 {
                eprintln!(
                    "data in {}: replayed {} requests of an earlier build's log once, kept as decisions",
                    dir.display(),
                    opened.migrated
                );
            }
            eprintln!("data in {}: restored {} decided outcomes as they were decided", dir.display(), opened.restored);
            if let Some(before) = &opened.other_scenario {
                eprintln!(
                    "note: {} was last served with scenario {:?} (digest {}), now {:?} (digest {}): its outcomes are kept, not decided again",
                    dir.display(),
                    before.name,
                    before.digest,
                    mark.name,
                    mark.digest
                );
            }
            // A restarted server keeps following the clock a run set, unless flags say otherwise.
            if let (Some(c), None, false) = (opened.saved_clock, &args.virtual_start, args.rebase_now) {
                cfg.clock = VirtualClock::from_wall(cutover::time::SimTime(c.virtual_micros), c.wall_micros, c.scale);
            }
            Some(opened.store)
        }
        None => None,
    };
    let state = Arc::new(cutover::server::AppState::new(spec, model, store, &cfg));
    runtime()?.block_on(cutover::server::serve(args.addr, state)).with_context(|| format!("cannot serve on {}", args.addr))?;
    Ok(ExitCode::SUCCESS)
}

fn migrate(args: cutover::cli::MigrateArgs) -> anyhow::Result<ExitCode> {
    use cutover::cli::Fault;
    use cutover::model::MigrationFault;
    let spec = load(&args.scenario)?;
    let fault = match args.fault {
        None => None,
        Some(Fault::MigrationDropBatch) => Some(MigrationFault::DropBatch),
        Some(Fault::MigrationImportTwice) => Some(MigrationFault::ImportTwice),
        Some(Fault::MigrationWrongLeague) => Some(MigrationFault::WrongLeague),
        Some(f) => anyhow::bail!(
            "--fault: {f:?} is not a fault of the migration (migration-drop-batch, migration-import-twice, migration-wrong-league)"
        ),
    };
    let batch_size =
        args.batch_size.or_else(|| spec.cutover.as_ref().and_then(|x| x.migration.as_ref()).map(|m| m.batch_size as usize)).unwrap_or(500);
    if batch_size == 0 || batch_size > 10_000 {
        anyhow::bail!("--batch-size: must be between 1 and 10000, got {batch_size}");
    }
    for (flag, url) in [("--from", &args.from), ("--to", &args.to)] {
        if !url.starts_with("http://") {
            anyhow::bail!("{flag}: must be an http:// URL, got {url:?}");
        }
    }
    let state =
        args.state.clone().unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-migrate", spec.raw.name)).join("state.json"));
    let cfg = cutover::migrate::MigrateConfig {
        from: args.from.trim_end_matches('/').to_string(),
        to: args.to.trim_end_matches('/').to_string(),
        batch_size,
        state,
        admin_token: args.admin_token.clone().or_else(|| std::env::var("CUTOVER_ADMIN_TOKEN").ok()).filter(|t| !t.is_empty()),
        fault,
        abort_after_batch: args.abort_after_batch,
        progress: !args.quiet,
    };
    match runtime()?.block_on(cutover::migrate::migrate(&spec, &cfg))? {
        cutover::migrate::Ended::Done(s) => {
            say!("{}", serde_json::to_string_pretty(&s)?);
            Ok(ExitCode::SUCCESS)
        }
        cutover::migrate::Ended::Aborted(s) => {
            say!("{}", serde_json::to_string_pretty(&s)?);
            eprintln!("stopped after batch {} without noting it (--abort-after-batch); run again to go on", s.payment_batches);
            Ok(ExitCode::from(3))
        }
    }
}

/// What a live run will do at `time_scale`: its length in real time, and from a simulation of
/// the same payers at the same seed, the requests and the busiest hour's rate.
fn run_plan(spec: &Arc<scenario::Spec>, seed: u64, time_scale: f64, file: &str) -> String {
    use std::fmt::Write;
    let virtual_s = (spec.end.0 - spec.start.0) as f64 / 1e6;
    let real_s = virtual_s / time_scale;
    let r = cutover::simulate(spec.clone(), seed, file, Default::default(), None).report;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "plan: {} from {} to {} ({:.1} days) at {time_scale}x takes {} of real time",
        spec.raw.name,
        &r.scenario.start[..10],
        &r.scenario.end[..10],
        virtual_s / 86_400.0,
        human_seconds(real_s)
    );
    let peak = r.peak_hour.as_ref().map(|p| (p.start.clone(), p.attempts)).unwrap_or_default();
    let _ = writeln!(
        o,
        "plan: about {} requests from {} payers (a simulation of the same seed {seed}); the busiest hour, {}, sends {} requests: {:.0} per second at this scale",
        r.summary.attempts,
        r.summary.payers_active,
        if peak.0.is_empty() { "-".to_string() } else { peak.0[..16].replace('T', " ") },
        peak.1,
        peak.1 as f64 / 3600.0 * time_scale
    );
    o
}

/// Seconds as people read them.
fn human_seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

fn run_live(args: cutover::cli::RunArgs) -> anyhow::Result<ExitCode> {
    use cutover::live::run::{RunConfig, TransportKind};
    use cutover::live::target::{Api, Target};
    let spec = Arc::new(load(&args.scenario)?);
    let time_scale = args.time_scale.unwrap_or(spec.raw.run.time_scale);
    if !(time_scale > 0.0 && time_scale <= 1e9) {
        anyhow::bail!("--time-scale: must be in (0, 1e9], got {time_scale}");
    }
    if args.connections == 0 || args.connections > 10_000 {
        anyhow::bail!("--connections: must be between 1 and 10000, got {}", args.connections);
    }
    if args.queue_bound == 0 || args.queue_bound > 10_000_000 {
        anyhow::bail!("--queue-bound: must be between 1 and 10000000, got {}", args.queue_bound);
    }
    let seed = args.seed.unwrap_or(spec.raw.seed);
    // What the run will do, from the same payers in virtual time: all a dry run does, and
    // printed before the load (once the target is known to be well formed).
    if args.dry_run {
        say_raw!("{}", run_plan(&spec, seed, time_scale, &args.scenario.display().to_string()));
        return Ok(ExitCode::SUCCESS);
    }
    if args.target.is_none() && args.old.is_none() && !args.model {
        anyhow::bail!(
            "no target: give --target http://host:port (a deployment, or `cutover serve`), --model (the in-process reference model, no network), or --old URL --new URL for a cutover's two systems"
        );
    }
    // Options that would be ignored are mistakes: say so rather than run something else.
    if args.model {
        let http = [("--target", args.target.is_some()), ("--old", args.old.is_some()), ("--new", args.new.is_some())]
            .into_iter()
            .chain([("--profile", args.profile.is_some()), ("--new-profile", args.new_profile.is_some())])
            .filter(|(_, given)| *given)
            .map(|(name, _)| name)
            .collect::<Vec<_>>();
        if !http.is_empty() {
            anyhow::bail!("--model drives the in-process reference model, no network: drop {}, or drop --model", http.join(", "));
        }
    } else if !args.fault.is_empty() {
        anyhow::bail!("--fault breaks the in-process systems: it needs --model (for a server, give it to `cutover serve --fault`)");
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-run", spec.raw.name)));
    let api = |profile: &Option<PathBuf>| -> anyhow::Result<Api> {
        Ok(match profile {
            Some(p) => Api::Profile(Arc::new(cutover::live::profile::Profile::load(p)?)),
            None => Api::Contract,
        })
    };
    let (target, new_target) = match (&args.target, &args.old, &args.new) {
        (Some(url), _, _) => (Target::http(url, api(&args.profile)?).map_err(|e| anyhow::anyhow!(e))?, None),
        (None, Some(old), Some(new)) => {
            let old = Target::http(old, api(&args.profile)?).map_err(|e| anyhow::anyhow!("--old: {e}"))?;
            let new = Target::http(new, api(&args.new_profile)?).map_err(|e| anyhow::anyhow!("--new: {e}"))?;
            (old, Some(new))
        }
        _ => (Target::model(&spec, faults(&args.fault)), None),
    };
    match (&spec.cutover, &args.target, &new_target) {
        (Some(_), Some(_), _) => anyhow::bail!(
            "--target: scenario {:?} has two systems (its `cutover` section): give --old URL --new URL, or --model",
            spec.raw.name
        ),
        (None, _, Some(_)) => {
            anyhow::bail!("--old/--new: scenario {:?} has one system (no `cutover` section): give --target", spec.raw.name)
        }
        _ => {}
    }
    if !args.quiet {
        eprint!("{}", run_plan(&spec, seed, time_scale, &args.scenario.display().to_string()));
    }
    let cfg = RunConfig {
        target,
        new_target,
        transport: match args.transport {
            cutover::cli::TransportArg::Http1 => TransportKind::Http1,
            cutover::cli::TransportArg::Hyper => TransportKind::Hyper,
            cutover::cli::TransportArg::Reqwest => TransportKind::Reqwest,
        },
        time_scale,
        connections: args.connections,
        queue_bound: args.queue_bound,
        threads: args.threads as usize,
        timeout: std::time::Duration::from_millis(args.timeout_ms.max(1)),
        seed,
        out: out.clone(),
        sync_clock: !args.no_clock_sync,
        admin_token: args.admin_token.clone().or_else(|| std::env::var("CUTOVER_ADMIN_TOKEN").ok()).filter(|t| !t.is_empty()),
        progress: !args.quiet,
        drain: std::time::Duration::from_secs_f64(args.drain_seconds.clamp(0.0, 600.0)),
        rebase_now: args.rebase_now,
        allow_other_scenario: args.allow_other_scenario,
        hlog: args.hlog.is_some(),
        metrics_addr: args.metrics_addr.clone(),
        abort_after: args.abort_early.then(|| std::time::Duration::from_secs_f64(args.abort_grace_seconds.clamp(0.0, 86_400.0))),
    };
    let file = args.scenario.display().to_string();
    // The coordinator's runtime (clock sync, hooks, progress, reconciliation); the run
    // starts its own sending threads.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let output = rt.block_on(cutover::live::run::run(spec, cfg, &file))?;
    let report = output.report;
    let json = serde_json::to_string_pretty(&report)?;
    write_report_files(&out, &report, &json, lang_of(args.lang))?;
    if let Some(path) = &args.junit {
        write_atomic(path, cutover::report::junit::render(&report).as_bytes())?;
    }
    if let Some(dir) = &args.hlog {
        write_hlogs(dir, &output.hlogs)?;
    }
    if args.format == cutover::cli::Format::Json {
        say!("{json}");
    } else {
        say_raw!("{}", cutover::report::markdown::short(&report, lang_of(args.lang)));
        say!("report in {}", out.join("report.json").display());
    }
    if output.interrupted {
        eprintln!("interrupted: the report above covers what was sent before Ctrl-C");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    if let Some(reason) = report.live.as_ref().and_then(|l| l.aborted.as_ref()) {
        eprintln!("the load was aborted early: {reason}");
        return Ok(ExitCode::from(1));
    }
    if !report.summary.gates_passed {
        eprintln!("a gate failed; replay this run with --seed {seed}");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_population(spec: &scenario::Spec, pop: &Population) {
    let stats = pop.stats();
    let yuan = |fen: i64| format!("{:.2}", fen as f64 / 100.0);
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
            yuan(c.amount_due_fen),
            yuan(c.active_amount_due_fen)
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
            yuan(c.amount_due_fen)
        );
    }
    say!("\nper group and tier:");
    for ((g, t), c) in &stats.by_group_tier {
        say!("  {:<18} {:<32} {:>12} payers {:>22} yuan due", g.as_str(), pop.tier_label(*g, *t), c.payers, yuan(c.amount_due_fen));
    }
    say!("\nper group and insurance type:");
    for ((g, i), c) in &stats.by_group_insurance {
        say!("  {:<18} {:<22} {:>12} payers {:>22} yuan due", g.as_str(), i.as_str(), c.payers, yuan(c.amount_due_fen));
    }
    let _ = (GroupKind::ALL, Insurance::ALL);
}
