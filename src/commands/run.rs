//! `cutover run`: the scenario's demand replayed in real time, compressed, against a live
//! deployment (or the in-process model), checked and reconciled at the end.

use super::Exit;
use super::args::{admin_token, faults, lang, load, seconds, time_scale, within};
use super::output::publish_live;
use crate::cli::{Format, RunArgs, TransportArg};
use crate::live::account::TargetChoice;
use crate::live::deployment::target::{Api, Target, Tls};
use crate::live::run::{RunConfig, TransportKind};
use crate::scenario::Spec;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub(super) fn run(a: RunArgs) -> anyhow::Result<Exit> {
    let spec = Arc::new(load(&a.scenario)?);
    let scale = time_scale(a.time_scale.unwrap_or(spec.raw.run.time_scale))?;
    within("--connections", a.connections, 1, 10_000)?;
    within("--queue-bound", a.queue_bound, 1, 10_000_000)?;
    if let Some(t) = a.threads {
        within("--threads", t, 1, 64)?;
    }
    let timeout = Duration::from_millis(within("--timeout-ms", a.timeout_ms as usize, 1, 3_600_000)? as u64);
    let slack = super::args::slack(a.slack_us)?;
    let drain = seconds("--drain-seconds", a.drain_seconds, 0.0, 600.0)?;
    let abort_grace = seconds("--abort-grace-seconds", a.abort_grace_seconds, 0.0, 86_400.0)?;
    let abort_window = seconds("--abort-window-seconds", a.abort_window_seconds, 1.0, 86_400.0)?;
    let seed = a.seed.unwrap_or(spec.raw.seed);
    let start_at = a.start_at.as_deref().map(start_instant).transpose()?;
    let shard = a.shard.as_deref().map(super::args::shard_of).transpose()?;
    // The shards of one rehearsal make the same keys: one run id for all of them.
    let run_id = match (&a.run_id, shard, start_at) {
        (None, Some(_), Some(at)) => format!("rehearsal-{}", at.div_euclid(1_000_000)),
        _ => super::args::run_id(&a.run_id)?,
    };
    let real_time = real_time_window(&spec, a.real_time.as_deref())?;
    let file = a.scenario.display().to_string();
    // What the run will do, from the same payers in virtual time: all a dry run does, and
    // printed before the load (once the target is known to be well formed).
    if a.dry_run {
        let (text, peak_per_second) = plan(&spec, seed, scale, real_time, &file);
        say_raw!("{text}");
        let measured = super::calibrate::calibrate(&spec, seed, &a, &file)?;
        say_raw!("{}", super::calibrate::capacity(&measured, peak_per_second, scale, &a));
        return Ok(Exit::Ok);
    }
    check_options(&a)?;
    if let Some((_, count)) = shard {
        check_shard(&a, count, start_at)?;
    }
    let (target, new_target) = targets(&a, &spec)?;
    let transport = transport(&a, &target, new_target.as_ref())?;
    if a.probe {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        return rt.block_on(probe(&a, &spec, &target, new_target.as_ref()));
    }
    if !a.quiet {
        eprint!("{}", plan(&spec, seed, scale, real_time, &file).0);
    }
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-run", spec.raw.name)));
    let cfg = RunConfig {
        target,
        new_target,
        transport,
        time_scale: scale,
        connections: a.connections,
        queue_bound: a.queue_bound,
        threads: a.threads,
        timeout,
        slack,
        seed,
        run_id: run_id.clone(),
        out: out.clone(),
        // A deployment keeping real time keeps its own clock.
        sync_clock: !a.no_clock_sync && !a.rebase_now,
        probe_operations: !a.skip_operation_probe,
        admin_token: admin_token(&a.admin_token),
        progress: !a.quiet,
        drain,
        rebase_now: a.rebase_now,
        allow_other_scenario: a.allow_other_scenario,
        real_time,
        hlog: a.hlog.is_some(),
        metrics_addr: a.metrics_addr.clone(),
        abort: a.abort_early.then_some(crate::live::run::AbortRule { grace: abort_grace, window: abort_window }),
        calibrate: None,
        shard: match shard {
            Some((index, count)) => Some(crate::live::run::Sharding {
                index,
                count,
                scenario_text: std::fs::read_to_string(&a.scenario)
                    .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", a.scenario.display()))?,
                targets: choice(&a),
                shared_dir: a.shared_dir.clone().unwrap_or_else(|| out.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))),
            }),
            None => None,
        },
        start_at,
    };
    // The coordinator's runtime (clock sync, hooks, progress, reconciliation); the run
    // starts its own sending threads.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let output = rt.block_on(crate::live::run::run(spec, cfg, &file))?;
    let report = match (output.report, &output.part, shard) {
        (Some(r), _, _) => r,
        (None, Some(part), Some((index, count))) => {
            say!(
                "shard {index}/{count} (run {run_id}): part written to {}; `cutover merge` with every shard's directory makes the report and the verdict",
                part.display()
            );
            return Ok(if output.interrupted { Exit::Interrupted } else { Exit::Ok });
        }
        _ => anyhow::bail!("the run ended without a report"),
    };
    publish_live(&out, &report, lang(a.lang), a.format == Format::Json, a.junit.as_deref(), a.hlog.as_deref())?;
    if output.interrupted {
        eprintln!("interrupted: the report above covers what was sent before Ctrl-C");
        return Ok(Exit::Interrupted);
    }
    if let Some(reason) = report.live.as_ref().and_then(|l| l.aborted.as_ref()) {
        eprintln!("the load was aborted early: {reason}");
    }
    if report.verdict.verdict != crate::report::Verdict::Go {
        eprintln!(
            "verdict {}; replay this run with --seed {seed} --run-id {run_id} (against a fresh deployment)",
            report.verdict.verdict.word()
        );
    }
    Ok(Exit::from(report.verdict.verdict))
}

/// A target named, and no option given that the run would ignore: those are mistakes, said
/// rather than running something else.
fn check_options(a: &RunArgs) -> anyhow::Result<()> {
    if a.target.is_none() && a.old.is_none() && !a.model {
        anyhow::bail!(
            "no target: give --target http://host:port (a deployment, or `cutover serve`), --model (the in-process reference model, no network), or --old URL --new URL for a cutover's two systems"
        );
    }
    if a.model {
        let http = [
            ("--target", a.target.is_some()),
            ("--old", a.old.is_some()),
            ("--new", a.new.is_some()),
            ("--profile", a.profile.is_some()),
            ("--new-profile", a.new_profile.is_some()),
        ];
        let given: Vec<&str> = http.iter().filter(|(_, given)| *given).map(|(name, _)| *name).collect();
        if !given.is_empty() {
            anyhow::bail!("--model drives the in-process reference model, no network: drop {}, or drop --model", given.join(", "));
        }
    } else if !a.fault.is_empty() {
        anyhow::bail!("--fault breaks the in-process systems: it needs --model (for a server, give it to `cutover serve --fault`)");
    }
    Ok(())
}

/// `--start-at`: an RFC 3339 instant or Unix seconds, as Unix microseconds.
fn start_instant(arg: &str) -> anyhow::Result<i64> {
    if let Ok(secs) = arg.trim().parse::<f64>() {
        if secs.is_finite() && (0.0..1e11).contains(&secs) {
            return Ok((secs * 1e6).round() as i64);
        }
        anyhow::bail!("--start-at: {arg:?} is not a Unix time in seconds");
    }
    crate::contract::parse_instant(arg.trim())
        .map(|t| t.0)
        .ok_or_else(|| anyhow::anyhow!("--start-at: neither an RFC 3339 instant nor Unix seconds: {arg:?}"))
}

/// What shards cannot do yet, or need: said before anything is sent.
fn check_shard(a: &RunArgs, count: usize, start_at: Option<i64>) -> anyhow::Result<()> {
    if count > 1 && start_at.is_none() {
        anyhow::bail!(
            "--shard: {count} shards need one start instant: give every shard the same --start-at (e.g. --start-at $(date -d '+2 min' +%s))"
        );
    }
    if a.junit.is_some() || a.hlog.is_some() {
        anyhow::bail!("--shard writes a part, not a report: give --junit and --hlog to `cutover merge`");
    }
    Ok(())
}

/// `--probe`: the checks before the load, alone, for each target, printing what each mapping
/// read; the first that fails is the error (exit 2), naming the target and the mapping.
async fn probe(a: &RunArgs, spec: &Arc<Spec>, target: &Target, new: Option<&Target>) -> anyhow::Result<Exit> {
    use crate::live::deployment::target::PreflightConfig;
    use std::fmt::Write as _;
    let token = admin_token(&a.admin_token);
    let clock = crate::clock::VirtualClock::starting_now(spec.start, 1.0);
    let checks = PreflightConfig {
        clock: &clock,
        sync_clock: !a.no_clock_sync && !a.rebase_now,
        admin_token: token.as_deref(),
        allow_other_scenario: a.allow_other_scenario,
        probe_operations: !a.skip_operation_probe,
    };
    let names = spec.system_names();
    let both: Vec<(&Target, String)> = match new {
        Some(n) => vec![(target, format!("the {} system", names[0])), (n, format!("the {} system", names[1]))],
        None => vec![(target, "the target".to_string())],
    };
    let reference = crate::model::Systems::from_spec(spec, Arc::new(crate::model::Rules::from_spec(spec)), Default::default());
    for (system, (t, who)) in both.into_iter().enumerate() {
        let mut o = String::new();
        let _ = writeln!(o, "{who}: {} through {}", t.label(), t.api_described());
        let pre = t.preflight(spec, &checks).await.map_err(|e| anyhow::anyhow!("{who}: {e}"))?;
        let _ = writeln!(o, "  reached; its ledger, its books and its key lookup read as below");
        for line in &pre.operations {
            let _ = writeln!(o, "  {line}");
        }
        let _ = match pre.clock_round_trip {
            Some(rtt) => writeln!(o, "  clock: set to the timeline's start (round trip {:.1} ms)", rtt.as_secs_f64() * 1e3),
            None => writeln!(o, "  clock: not set (no clock endpoint, or --no-clock-sync / --rebase-now)"),
        };
        // The maintenance switch set as the run sets it before the load: the timeline's start.
        if let Some(sw) = t.switcher(names[system], checks.sync_clock, token.as_deref()) {
            let state = crate::live::deployment::switch::State::at(
                spec,
                &reference,
                system as crate::scenario::SystemIdx,
                spec.start,
                names[system],
            );
            let (ok, said) = sw.set(spec, &state).await;
            if !ok {
                anyhow::bail!("{who}: the maintenance switch ({}): {said}", state.describe(spec));
            }
            let _ = writeln!(o, "  switch: set as the timeline's start has it ({}), answered {said}", state.describe(spec));
        }
        let ledger = t.ledger(spec).await.map_err(|e| anyhow::anyhow!("{who}: the ledger: {e}"))?;
        let (n, fen): (u64, i64) = ledger.values().fold((0, 0), |(n, f), c| (n + c.count, f + c.sum_fen));
        let _ = writeln!(o, "  ledger: {} cells, {n} payments, {} yuan", ledger.len(), crate::live::deployment::values::yuan_text(fen));
        for ((league, group, ins), c) in ledger.iter().take(3) {
            let l = spec.leagues.get(*league as usize).map(|l| l.name.as_str()).unwrap_or("?");
            let _ = writeln!(
                o,
                "    {l} {} {}: {} payments, {} yuan",
                group.as_str(),
                ins.as_str(),
                c.count,
                crate::live::deployment::values::yuan_text(c.sum_fen)
            );
        }
        let unknown = crate::model::IdemKey::from_text("00000000000000000000000000c0ffee");
        if let Some(path) = t.key_path(unknown) {
            let _ = writeln!(o, "  key lookup: {path} (a key never used) reads absent");
        }
        let pages = t.books_first_pages(spec, token.as_deref()).await.map_err(|e| anyhow::anyhow!("{who}: {e}"))?;
        if pages.is_empty() {
            let _ = writeln!(o, "  books: none named by the profile (a cutover's checks then come from `cutover reconcile`)");
        }
        for (name, rows) in pages {
            let _ = writeln!(o, "  {name}: the first page has {} entries, each read", rows.len());
            for r in rows.iter().take(3) {
                let _ = writeln!(o, "    {r}");
            }
        }
        say_raw!("{o}");
    }
    say!("probe: every mapping read; the run can rely on them");
    Ok(Exit::Ok)
}

/// How requests go out: as asked, else the built-in HTTP/1.1 client, or reqwest (the one with
/// TLS) when a target is `https://`.
fn transport(a: &RunArgs, target: &Target, new: Option<&Target>) -> anyhow::Result<TransportKind> {
    let https = target.is_https() || new.is_some_and(Target::is_https);
    Ok(match (a.transport, https) {
        (None, true) | (Some(TransportArg::Reqwest), _) => TransportKind::Reqwest,
        (None, false) | (Some(TransportArg::Http1), false) => TransportKind::Http1,
        (Some(TransportArg::Hyper), false) => TransportKind::Hyper,
        (Some(t), true) => anyhow::bail!(
            "--transport {}: speaks plain HTTP only, and the target is https://: drop --transport (reqwest, with TLS, is the default for https://) or give --transport reqwest",
            if t == TransportArg::Http1 { "http1" } else { "hyper" }
        ),
    })
}

/// The targets as given on the command line (what a shard's part keeps for the merge).
fn choice(a: &RunArgs) -> TargetChoice {
    TargetChoice {
        target: a.target.clone(),
        old: a.old.clone(),
        new: a.new.clone(),
        profile: a.profile.clone(),
        new_profile: a.new_profile.clone(),
        ca_file: a.ca_file.clone(),
        accept_invalid_certificate: a.accept_invalid_certificate,
    }
}

/// How to trust an `https://` target's certificate (`--ca-file`, read and checked here).
fn tls(a: &TargetChoice) -> anyhow::Result<Tls> {
    let ca_pem = match &a.ca_file {
        None => None,
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("--ca-file {}: cannot read: {e}", path.display()))?;
            match reqwest::Certificate::from_pem_bundle(&pem) {
                Ok(certs) if !certs.is_empty() => Some(Arc::new(pem)),
                _ => anyhow::bail!("--ca-file {}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)", path.display()),
            }
        }
    };
    Ok(Tls { ca_pem, accept_invalid: a.accept_invalid_certificate })
}

/// The run's target (for a cutover the old system's) and a cutover's new system over HTTP,
/// as many as the scenario has systems; or the in-process model.
fn targets(a: &RunArgs, spec: &Arc<Spec>) -> anyhow::Result<(Target, Option<Target>)> {
    match a.model || (a.target.is_none() && a.old.is_none()) {
        true => Ok((Target::model(spec, faults(&a.fault)), None)),
        false => http_targets(&choice(a), spec),
    }
}

/// The targets over HTTP given by `a`, as many as the scenario has systems.
pub(super) fn http_targets(a: &TargetChoice, spec: &Arc<Spec>) -> anyhow::Result<(Target, Option<Target>)> {
    let tls = tls(a)?;
    let api = |profile: &Option<PathBuf>| -> anyhow::Result<Api> {
        Ok(match profile {
            Some(p) => {
                let loaded = crate::live::deployment::profile::Profile::load(p)?;
                // A code table names every league, channel, group and insurance type this run can send.
                if let Err(e) = loaded.values.check_against(spec, "values") {
                    anyhow::bail!("{}: {e}", p.display());
                }
                Api::Profile(Arc::new(loaded))
            }
            None => Api::Contract,
        })
    };
    match (&spec.cutover, &a.target, &a.old, &a.new) {
        (Some(_), Some(_), _, _) => anyhow::bail!(
            "--target: scenario {:?} has two systems (its `cutover` section): give --old URL --new URL, or --model",
            spec.raw.name
        ),
        (None, None, Some(_), Some(_)) => {
            anyhow::bail!("--old/--new: scenario {:?} has one system (no `cutover` section): give --target", spec.raw.name)
        }
        (_, Some(url), _, _) => Ok((Target::http(url, api(&a.profile)?, &tls).map_err(|e| anyhow::anyhow!(e))?, None)),
        (_, None, Some(old), Some(new)) => {
            let old = Target::http(old, api(&a.profile)?, &tls).map_err(|e| anyhow::anyhow!("--old: {e}"))?;
            let new = Target::http(new, api(&a.new_profile)?, &tls).map_err(|e| anyhow::anyhow!("--new: {e}"))?;
            Ok((old, Some(new)))
        }
        _ => anyhow::bail!("no target: give --target URL, or --old URL --new URL for a cutover's two systems"),
    }
}

/// `--real-time FROM/UNTIL`: two RFC 3339 instants, the first before the second, the stretch
/// overlapping the timeline (clipped to it).
fn real_time_window(spec: &Spec, arg: Option<&str>) -> anyhow::Result<Option<(crate::time::SimTime, crate::time::SimTime)>> {
    let Some(arg) = arg else { return Ok(None) };
    let (from, until) =
        arg.split_once('/').ok_or_else(|| anyhow::anyhow!("--real-time: FROM/UNTIL, two RFC 3339 instants joined by /, got {arg:?}"))?;
    let instant =
        |t: &str| crate::contract::parse_instant(t.trim()).ok_or_else(|| anyhow::anyhow!("--real-time: not an RFC 3339 instant: {t:?}"));
    let (from, until) = (instant(from)?, instant(until)?);
    if from >= until {
        anyhow::bail!("--real-time: {} is not before {}", from.format(spec.calendar.offset), until.format(spec.calendar.offset));
    }
    if until <= spec.start || from >= spec.end {
        anyhow::bail!(
            "--real-time: the stretch lies outside the timeline ({} to {})",
            spec.start.format(spec.calendar.offset),
            spec.end.format(spec.calendar.offset)
        );
    }
    Ok(Some((from.max(spec.start), until.min(spec.end))))
}

/// What a live run will do at `time_scale` (with a stretch in real time): its length in real
/// time, and from a simulation of the same payers at the same seed, the requests and the
/// busiest hour's rate; that rate too (requests per second at `time_scale`).
fn plan(
    spec: &Arc<Spec>,
    seed: u64,
    time_scale: f64,
    real_time: Option<(crate::time::SimTime, crate::time::SimTime)>,
    file: &str,
) -> (String, f64) {
    use std::fmt::Write;
    let virtual_s = (spec.end.0 - spec.start.0) as f64 / 1e6;
    let in_real_time = real_time.map_or(0.0, |(a, b)| (b.0 - a.0) as f64 / 1e6);
    let real_s = (virtual_s - in_real_time) / time_scale + in_real_time;
    let r = crate::engine::simulate(spec.clone(), seed, file, Default::default(), None).report;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "plan: {} from {} to {} ({:.1} days) at {time_scale}x{} takes {} of real time",
        spec.raw.name,
        &r.scenario.start[..10],
        &r.scenario.end[..10],
        virtual_s / 86_400.0,
        real_time.map_or(String::new(), |(a, b)| format!(
            " (from {} to {} at 1x)",
            a.format(spec.calendar.offset),
            b.format(spec.calendar.offset)
        )),
        crate::report::render::human::duration_ms(real_s * 1000.0)
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
    (o, peak.1 as f64 / 3600.0 * time_scale)
}
