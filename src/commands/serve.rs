//! `cutover serve`: the reference model behind the `/v1` contract, with `--data` durable.

use super::Exit;
use super::args::{admin_token, faults, load, seconds, time_scale, within};
use crate::cli::{Fault, Role, ServeArgs};
use crate::clock::VirtualClock;
use crate::scenario::{self, Spec};
use crate::server::store::{ScenarioMark, Store};
use crate::server::{AppState, ServeConfig};
use anyhow::Context;
use std::sync::Arc;

/// The scenario `serve` plays without `--scenario`.
const BUNDLED_SCENARIO: &str = include_str!("../../scenarios/inner-mongolia-2021.json");

pub(super) fn serve(a: ServeArgs) -> anyhow::Result<Exit> {
    let spec = Arc::new(match &a.scenario {
        Some(p) => load(p)?,
        None => scenario::parse("(bundled) scenarios/inner-mongolia-2021.json", BUNDLED_SCENARIO)?,
    });
    let scale = time_scale(a.time_scale)?;
    let limits = crate::server::ConnLimits {
        header: seconds("--header-timeout-seconds", a.header_timeout_seconds, 0.1, 3600.0)?,
        request: seconds("--request-timeout-seconds", a.request_timeout_seconds, 0.1, 3600.0)?,
        max_connections: match a.max_connections {
            Some(n) => within("--max-connections", n, 1, 1_000_000)?,
            None => default_max_connections(),
        },
    };
    let start = match (&a.virtual_start, a.rebase_now) {
        (Some(_), true) => anyhow::bail!("--virtual-start and --rebase-now exclude each other"),
        (Some(s), false) => {
            crate::contract::parse_instant(s).ok_or_else(|| anyhow::anyhow!("--virtual-start: not an RFC 3339 instant: {s:?}"))?
        }
        (None, true) => crate::clock::wall_now(),
        (None, false) => spec.start,
    };
    let mut cfg = ServeConfig {
        admin_token: admin_token(&a.admin_token),
        max_in_flight: a.max_in_flight,
        fault_accept_while_suspended: a.fault.contains(&Fault::AcceptWhileSuspended),
        text_ids: a.text_ids,
        clock: VirtualClock::starting_now(start, scale),
        system: None,
    };
    let (system, name) = role(&spec, a.role)?.unzip();
    cfg.system = name;
    // A deployment keeping real time knows nothing of the rehearsal's timeline: only its
    // maintenance switch (`POST /v1/admin/maintenance`) closes a channel.
    let rules = crate::model::Rules::from_spec(&spec);
    let rules = Arc::new(if a.rebase_now { rules.keeping_real_time() } else { rules });
    let mut model = crate::model::system_model(&spec, rules, system.unwrap_or(0), faults(&a.fault));
    if a.rebase_now {
        model.keep_real_time();
    }
    let store = match &a.data {
        Some(dir) => {
            let opened = open_store(dir, &spec, &mut model)?;
            // A restarted server keeps following the clock a run set, unless flags say otherwise.
            if let (Some(c), None, false) = (opened.saved_clock, &a.virtual_start, a.rebase_now) {
                cfg.clock = VirtualClock::from_wall(crate::time::SimTime(c.virtual_micros), c.wall_micros, c.scale);
            }
            Some(opened.store)
        }
        None => None,
    };
    let state = Arc::new(AppState::new(spec, model, store, &cfg));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(crate::server::serve(a.addr, state, limits)).with_context(|| format!("cannot serve on {}", a.addr))?;
    Ok(Exit::Ok)
}

/// The process's open-descriptor limit less 64 (for the listener, the store, standard
/// streams and the runtime), at least 16.
fn default_max_connections() -> usize {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    let soft = if ok && lim.rlim_cur != libc::RLIM_INFINITY { lim.rlim_cur as usize } else { 1024 };
    soft.saturating_sub(64).clamp(16, 1_000_000)
}

/// The system of a cutover this server plays (its index and name), required exactly when the
/// scenario has two.
fn role(spec: &Spec, role: Option<Role>) -> anyhow::Result<Option<(u8, String)>> {
    match (&spec.cutover, role) {
        (Some(_), None) => {
            anyhow::bail!("--role: scenario {:?} has two systems (its `cutover` section): give --role old or --role new", spec.raw.name)
        }
        (None, Some(_)) => anyhow::bail!("--role: scenario {:?} has one system (no `cutover` section)", spec.raw.name),
        (Some(x), Some(role)) => {
            let i = if role == Role::Old { 0 } else { 1 };
            Ok(Some((i, x.systems[i as usize].name.clone())))
        }
        (None, None) => Ok(None),
    }
}

/// The decisions kept in `dir` put back into `model`, saying what was found.
fn open_store(dir: &std::path::Path, spec: &Spec, model: &mut crate::model::Model) -> anyhow::Result<crate::server::store::Opened> {
    let mark = ScenarioMark { name: spec.raw.name.clone(), digest: spec.digest() };
    let opened = Store::open(dir, model, &mark)?;
    if opened.migrated > 0 {
        eprintln!("data in {}: replayed {} requests of an earlier build's log once, kept as decisions", dir.display(), opened.migrated);
    }
    if opened.folded > 0 || opened.cut {
        eprintln!(
            "data in {}: the server before was stopped without closing its data: {} decisions of its log folded into ledger.sqlite{}",
            dir.display(),
            opened.folded,
            if opened.cut { "; a write the stop cut short (never acknowledged) dropped" } else { "" }
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
    Ok(opened)
}
