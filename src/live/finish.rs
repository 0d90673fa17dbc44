//! The end of a live run: the sending threads' accounts merged, the books read and
//! reconciled, the cutover's checks, the report and its verdict. The same for one process
//! (`cutover run`) and for the shards of a rehearsal joined (`cutover merge`).

use super::account::Account;
use super::deployment::target::Target;
use super::findings::{complete_from_journal, driver_lateness, mark_driver_late, since, unreadable};
use super::merged::{Merged, merge};
use super::thread::shard::Output;
use crate::model::{IdemKey, Request};
use crate::report::data::live::{LiveReport, Reconciliation};
use crate::scenario::{NEW, OLD, Spec, SystemIdx};
use crate::time::SimTime;
use std::sync::Arc;

/// Acknowledged payments looked up one by one at most; beyond it the reconciliation says
/// it was not by key (`checked_by_key: false`) and relies on the ledger's counts.
const KEY_CHECK_LIMIT: usize = 200_000;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Target(String),
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The report of the parts of one rehearsal (sorted by shard, checked to be of one
/// rehearsal), their journals joined at `journal`, the books read through `reading`.
pub(crate) async fn report_of_parts(
    spec: &std::sync::Arc<crate::scenario::Spec>,
    parts: Vec<(std::path::PathBuf, super::account::Part)>,
    journal: std::path::PathBuf,
    reading: &Reading<'_>,
    scenario_file: &str,
) -> Result<crate::report::Report, RunError> {
    if parts.is_empty() {
        return Err(RunError::Target("no part to merge".into()));
    }
    let (account, outputs) = super::account::join(parts, journal);
    let rules = std::sync::Arc::new(crate::model::Rules::from_spec(spec));
    finish(spec, rules, reading, &account, outputs, scenario_file).await
}

/// Where the books are read at the end.
pub(crate) struct Reading<'a> {
    /// The target; for a cutover, the old system's.
    pub target: &'a Target,
    pub new_target: Option<&'a Target>,
    pub admin_token: Option<&'a str>,
    /// Keep the latency histograms whole in the report (`--hlog`).
    pub hlog: bool,
}

impl Reading<'_> {
    fn target_for(&self, system: SystemIdx) -> &Target {
        match (self.new_target, system) {
            (Some(t), NEW) => t,
            _ => self.target,
        }
    }
}

/// The report of a run from what its threads recorded and what its coordinator saw.
pub(in crate::live) async fn finish(
    spec: &Arc<Spec>,
    rules: Arc<crate::model::Rules>,
    reading: &Reading<'_>,
    account: &Account,
    outputs: Vec<Output>,
    scenario_file: &str,
) -> Result<crate::report::Report, RunError> {
    let mut merged = merge(spec, rules, outputs, account.journal_path.display().to_string());
    let rollback = spec.cutover.as_ref().and_then(|x| x.rollback.as_ref());
    merged.recorder.rollback_decision = account.rollback.as_ref().zip(rollback).map(|(d, r)| d.decision(spec, r));
    let baseline: Option<Vec<crate::hash::FastSet<u64>>> =
        account.baseline.as_ref().map(|b| b.iter().map(|ids| ids.iter().copied().collect()).collect());
    let (rec, actual, cutover) = match &baseline {
        Some(baseline) => reconcile_books(reading, spec, &mut merged, baseline, account.reached).await,
        None => {
            let (rec, actual) = reconcile(reading.target, spec, &mut merged).await;
            (rec, actual, None)
        }
    };
    let batches = std::mem::take(&mut merged.batches);
    let mut report = crate::report::check::build::build(crate::report::check::build::BuildInput {
        spec,
        scenario_file,
        mode: crate::report::Mode::Run,
        seed: account.seed,
        recorder: &merged.recorder,
        stats: &merged.stats,
        batches,
        actual_ledger: actual,
        audit: Some(&merged.audit),
        cutover,
        keep_histograms: reading.hlog,
        reached: account.reached,
    });
    let wall = account.wall_seconds;
    let completed = merged.completed;
    report.live = Some(LiveReport {
        run_id: account.run_id.clone(),
        target: match reading.new_target {
            Some(n) => format!("{} (old), {} (new)", reading.target.label(), n.label()),
            None => reading.target.label(),
        },
        transport: account.transport.clone(),
        time_scale: account.time_scale,
        connections: account.connections,
        threads: account.threads,
        threads_chosen: account.threads_chosen,
        queue_bound: account.queue_bound,
        interrupted: account.interrupted,
        aborted: account.aborted.clone(),
        shards: account.shards.clone(),
        reached: account.reached.format(spec.calendar.offset),
        wall_seconds: (wall * 1000.0).round() / 1000.0,
        requests_completed: completed,
        requests_per_second: (completed as f64 / wall.max(1e-9)).round(),
        client_cpu_seconds: account.cpu_seconds.map(|c| (c * 100.0).round() / 100.0),
        client_cpu_micros_per_request: account
            .cpu_seconds
            .filter(|_| completed > 0)
            .map(|c| (c * 1e6 / completed as f64 * 10.0).round() / 10.0),
        response_time_ms: crate::report::check::latency::latency(&merged.response_all),
        service_time_ms: crate::report::check::latency::latency(&merged.service_all),
        response_time_distribution: crate::report::check::latency::distribution(&merged.response_all),
        service_time_distribution: crate::report::check::latency::distribution(&merged.service_all),
        not_sent: merged.not_sent,
        clock_sync_round_trip_ms: account.sync_rtt_micros.map(|us| (us as f64 / 10.0).round() / 100.0),
        audit_margin_ms: (account.margin_real_micros as f64 / 10.0).round() / 100.0,
        driver_lateness: driver_lateness(spec, &merged.lateness, account.slack_micros),
        errors_by_kind: merged.recorder.errors_by_kind.clone(),
        failures: std::mem::take(&mut merged.failures).rows(spec, &reading.admin_token.into_iter().collect::<Vec<_>>()),
        journal: merged.journal,
        reconciliation: rec,
        audit: merged.audit,
        hooks: account.hooks.clone(),
    });
    mark_driver_late(&mut report);
    report.wrong_payments = crate::report::check::wrong::collect(&report);
    complete_from_journal(&mut report.wrong_payments, &account.journal_path);
    crate::report::check::gates::live_gates(spec, &mut report);
    report.verdict = crate::report::check::verdicts::verdict(&report);
    if let Some(e) = merged.journal_error {
        return Err(RunError::Io { path: account.journal_path.display().to_string(), source: std::io::Error::other(e) });
    }
    Ok(report)
}

/// Ask the target for the keys the reconciliation needs, read its ledger, and let
/// [`crate::report::check::reconcile::by_key`] say what the answers mean.
async fn reconcile(target: &Target, spec: &Spec, m: &mut Merged) -> (Reconciliation, Result<super::deployment::target::Ledger, String>) {
    let mut unknown = Vec::with_capacity(m.unknown_reqs.len());
    for req in &m.unknown_reqs {
        if let Some(key) = contract_key(req) {
            unknown.push((req.clone(), OLD, target.holds(key).await));
        }
    }
    let acknowledged = if m.recorder.acknowledged().len() <= KEY_CHECK_LIMIT {
        let mut keys: Vec<IdemKey> = m.recorder.acknowledged().iter().copied().collect();
        keys.sort();
        let mut answers = Vec::with_capacity(keys.len());
        for key in keys {
            let held = target.holds(key).await;
            let failed = held.is_err();
            answers.push((key, held));
            // A target that cannot answer one lookup will not answer the next ones either.
            if failed {
                break;
            }
        }
        Some(answers)
    } else {
        None
    };
    let actual = target.ledger(spec).await.map_err(|e| format!("the target ({}): {e}{}", target.label(), since(spec, m.last_good[0])));
    let lookups = crate::report::check::reconcile::Lookups { unknown, acknowledged };
    let rec = crate::report::check::reconcile::by_key(&mut m.recorder, lookups, actual.as_ref().ok());
    (rec, actual)
}

/// The reconciliation from the systems' books read in bulk (every payment each holds): the
/// ledger from the payments each system took itself during this run (those it held before
/// the load count only if this run acknowledged their key, a replay), every acknowledged key
/// and every payment of unknown outcome looked up in them, with no limit, and for a cutover
/// the cutover's checks.
async fn reconcile_books(
    cfg: &Reading<'_>,
    spec: &Arc<Spec>,
    m: &mut Merged,
    baseline: &[crate::hash::FastSet<u64>],
    reached: SimTime,
) -> (Reconciliation, Result<super::deployment::target::Ledger, String>, Option<crate::report::data::cutover::CutoverReport>) {
    let mut books: [Vec<crate::model::PaymentRow>; 2] = [Vec::new(), Vec::new()];
    // Registrations are checked where both systems' can be read (not through a profile).
    let mut registrations: Option<[Vec<crate::model::PayerRef>; 2]> = spec.cutover.as_ref().map(|_| [Vec::new(), Vec::new()]);
    if let Some(regs) = registrations.as_mut() {
        for system in [OLD, NEW] {
            match cfg.target_for(system).registrations(spec, system, cfg.admin_token).await {
                Ok(r) => regs[system as usize] = r,
                Err(_) => {
                    registrations = None;
                    break;
                }
            }
        }
    }
    let mut held: crate::hash::FastSet<IdemKey> = crate::hash::FastSet::default();
    let mut error = None;
    for system in 0..spec.system_names().len() as SystemIdx {
        match cfg.target_for(system).books(spec, system, cfg.admin_token).await {
            Ok(rows) => {
                held.extend(crate::report::check::reconcile::held_keys(system, &rows));
                books[system as usize] = crate::report::check::reconcile::this_runs_payments(
                    system,
                    rows,
                    baseline.get(system as usize),
                    m.recorder.acknowledged(),
                );
            }
            Err(e) => error = Some(unreadable(&cfg.target_for(system).label(), spec, system, &e, m.last_good[system as usize])),
        }
    }
    if let Some(e) = error {
        let unknown = m.unknown_reqs.iter().map(|r| (r.clone(), OLD, Err(e.clone()))).collect();
        let lookups = crate::report::check::reconcile::Lookups { unknown, acknowledged: None };
        let rec = crate::report::check::reconcile::by_key(&mut m.recorder, lookups, None);
        let input =
            crate::report::check::cutover::CutoverInput { spec, recorder: &m.recorder, books: Err(e.clone()), migration: None, reached };
        return (rec, Err(e), crate::report::check::cutover::check(input));
    }
    let actual = crate::report::check::reconcile::ledger_of_books(&books);
    let unknown = m.unknown_reqs.iter().filter_map(|r| contract_key(r).map(|k| (r.clone(), k))).collect();
    let lookups = crate::report::check::reconcile::lookups_from_books(&held, unknown, m.recorder.acknowledged());
    let rec = crate::report::check::reconcile::by_key(&mut m.recorder, lookups, Some(&actual));
    let migration = cfg.target.migration();
    let books = crate::model::Books { payments: books, registrations };
    let input = crate::report::check::cutover::CutoverInput { spec, recorder: &m.recorder, books: Ok(books), migration, reached };
    (rec, Ok(actual), crate::report::check::cutover::check(input))
}

fn contract_key(req: &Request) -> Option<IdemKey> {
    super::thread::journal::key_of(req)
}
