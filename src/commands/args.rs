//! Parsed arguments made into what the library takes, each value checked once: the flags
//! several commands share (language, faults, the admin token, the time scale, the scenario)
//! are converted here and nowhere else.

use crate::cli::{self, Fault};
use crate::model::{Faults, MigrationFault};
use crate::report::render::lang::Lang;
use crate::scenario::{self, Spec};
use std::path::Path;

/// Read, validate and compile the scenario a command names.
pub(crate) fn load(path: &Path) -> anyhow::Result<Spec> {
    Ok(scenario::load(path)?)
}

/// The report's language.
pub(crate) fn lang(lang: cli::Lang) -> Lang {
    match lang {
        cli::Lang::En => Lang::En,
        cli::Lang::Zh => Lang::Zh,
    }
}

/// A fault of the migration, or `None` for a fault of a system.
pub(crate) fn migration_fault(f: Fault) -> Option<MigrationFault> {
    match f {
        Fault::MigrationDropBatch => Some(MigrationFault::DropBatch),
        Fault::MigrationImportTwice => Some(MigrationFault::ImportTwice),
        Fault::MigrationWrongLeague => Some(MigrationFault::WrongLeague),
        Fault::AcceptWhileSuspended | Fault::AcceptAfterStop | Fault::NaiveDedup => None,
    }
}

/// The faults asked for on the command line, as the reference systems take them (the last
/// migration fault named wins).
pub(crate) fn faults(list: &[Fault]) -> Faults {
    Faults {
        accept_while_suspended: list.contains(&Fault::AcceptWhileSuspended),
        accept_after_stop: list.contains(&Fault::AcceptAfterStop),
        naive_dedup: list.contains(&Fault::NaiveDedup),
        migration: list.iter().rev().find_map(|f| migration_fault(*f)),
    }
}

/// `--admin-token`, else `CUTOVER_ADMIN_TOKEN`; an empty token is none.
/// `--admin-token`, else `CUTOVER_ADMIN_TOKEN`; kept out of every output.
pub(crate) fn admin_token(flag: &Option<String>) -> Option<String> {
    let t = flag.clone().or_else(|| std::env::var("CUTOVER_ADMIN_TOKEN").ok()).filter(|t| !t.is_empty());
    if let Some(t) = &t {
        crate::secrets::register(t);
    }
    t
}

/// `--run-id`, checked (it names files through a hook's `{run}`), else the start in UTC and
/// the process id (`20261202T165128Z-4821`).
pub(crate) fn run_id(flag: &Option<String>) -> anyhow::Result<String> {
    let Some(id) = flag else {
        let now = crate::clock::wall_now().format(chrono::FixedOffset::east_opt(0).expect("0 is a valid offset"));
        let stamp: String = now[..19].chars().filter(|c| *c != '-' && *c != ':').collect();
        return Ok(format!("{stamp}Z-{}", std::process::id()));
    };
    let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if id.is_empty() || id.len() > 64 || !id.chars().all(fine) || id.starts_with('.') {
        anyhow::bail!("--run-id: letters, digits, '.', '_' and '-' only, 1 to 64 of them, not starting with '.', got {id:?}");
    }
    Ok(id.clone())
}

/// `--time-scale`, within the range every clock takes.
pub(crate) fn time_scale(x: f64) -> anyhow::Result<f64> {
    crate::time::check_time_scale(x).map_err(|e| anyhow::anyhow!("--time-scale: {e}"))
}

/// A count flag within `lo..=hi`, named in the error.
pub(crate) fn within(flag: &str, x: usize, lo: usize, hi: usize) -> anyhow::Result<usize> {
    if x < lo || x > hi {
        anyhow::bail!("{flag}: must be between {lo} and {hi}, got {x}");
    }
    Ok(x)
}

/// A duration flag in seconds within `lo..=hi`, named in the error.
pub(crate) fn seconds(flag: &str, x: f64, lo: f64, hi: f64) -> anyhow::Result<std::time::Duration> {
    if !(lo..=hi).contains(&x) {
        anyhow::bail!("{flag}: must be between {lo} and {hi} seconds, got {x}");
    }
    Ok(std::time::Duration::from_secs_f64(x))
}

/// `run --slack-us`, checked: 0 to 5000 microseconds.
pub(crate) fn slack(micros: u64) -> anyhow::Result<std::time::Duration> {
    Ok(std::time::Duration::from_micros(within("--slack-us", usize::try_from(micros).unwrap_or(usize::MAX), 0, 5_000)? as u64))
}

/// The cores to use when a command is not told.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// `--shard I/N`, or `--shard N` with I from `JOB_COMPLETION_INDEX`: (I, N), I below N.
pub(crate) fn shard_of(arg: &str) -> anyhow::Result<(usize, usize)> {
    let number = |what: &str, t: &str| -> anyhow::Result<usize> {
        t.trim()
            .parse::<usize>()
            .map_err(|_| anyhow::anyhow!("--shard: {what} is not a whole number: {t:?} (I/N, or N with JOB_COMPLETION_INDEX set)"))
    };
    let (index, count) = match arg.split_once('/') {
        Some((i, n)) => (number("the shard's index", i)?, number("the number of shards", n)?),
        None => {
            let count = number("the number of shards", arg)?;
            let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
                anyhow::anyhow!("--shard {arg}: no index given (I/N) and JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's) is not set")
            })?;
            (number("JOB_COMPLETION_INDEX", &index)?, count)
        }
    };
    if count == 0 || count > 1024 {
        anyhow::bail!("--shard: the number of shards must be between 1 and 1024, got {count}");
    }
    if index >= count {
        anyhow::bail!("--shard: shard {index} of {count}: shards are numbered from 0 to {}", count - 1);
    }
    Ok((index, count))
}
