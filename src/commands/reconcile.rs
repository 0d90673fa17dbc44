//! `cutover reconcile`: the cutover's checks over a deployment's own books, given as files.
//!
//! A real deployment's migration is its team's job and its books are its own; what it can
//! give is an export of the payments each system holds (JSON Lines, one payment per line,
//! in the contract's export form: `GET /v1/admin/export/payments` writes the same objects).
//! With a run's `journal.jsonl` the payments acknowledged to payers are checked too (each
//! held by the system that acknowledged it). With both systems' registration exports (the
//! objects `GET /v1/admin/export/registrations` writes) the registrations are checked too.
//! Every payment is read and checked; nothing is sampled and there is no limit.

use super::Exit;
use super::output::{create_dir, write_atomic};
use crate::cli::ReconcileArgs;
use crate::contract::{PaymentExportWire, RegistrationExportWire};
use crate::model::{Books, IdemKey, PayerRef, PaymentRow, Rules};
use crate::report::check::cutover::{CutoverInput, check};
use crate::report::data::cutover::CutoverReport;
use crate::report::feed::recorder::Recorder;
use crate::scenario::{Spec, SystemIdx};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(super) fn reconcile(a: ReconcileArgs) -> anyhow::Result<Exit> {
    let spec = Arc::new(super::args::load(&a.scenario)?);
    let out = a.out.unwrap_or_else(|| PathBuf::from("reports").join(format!("{}-reconcile", spec.raw.name)));
    let files = BookFiles {
        old: &a.old,
        new: &a.new,
        registrations: a.old_registrations.as_deref().zip(a.new_registrations.as_deref()),
        journal: a.journal.as_deref(),
    };
    let report = reconcile_files(spec, files)?;
    create_dir(&out)?;
    write_atomic(&out.join("reconcile.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    let md = crate::report::render::markdown::cutover_section(&report);
    write_atomic(&out.join("reconcile.md"), md.as_bytes())?;
    say_raw!("{md}");
    say!("report in {}", out.join("reconcile.json").display());
    Ok(if report.state() == crate::report::CheckState::Pass { Exit::Ok } else { Exit::Failed })
}
#[derive(Debug, thiserror::Error)]
pub enum BooksError {
    #[error("{path}: cannot read: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("{path}:{line}: {reason}")]
    Line { path: String, line: usize, reason: String },
    #[error("scenario {0:?} has no `cutover` section: there is nothing to reconcile between two systems")]
    OneSystem(String),
}

/// What `each` makes of every non-empty line of a JSON Lines file (`None`: skip the line);
/// its `Err` is the reason, reported with the file and the line number.
fn read_lines<T>(path: &Path, mut each: impl FnMut(&str) -> Result<Option<T>, String>) -> Result<Vec<T>, BooksError> {
    let p = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|cause| BooksError::Read { path: p.clone(), cause })?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|cause| BooksError::Read { path: p.clone(), cause })?;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(t) = each(&line).map_err(|reason| BooksError::Line { path: p.clone(), line: i + 1, reason })? {
            out.push(t);
        }
    }
    Ok(out)
}

/// Every payment of one system's export file.
fn read_export(spec: &Spec, path: &Path) -> Result<Vec<PaymentRow>, BooksError> {
    read_lines(path, |line| {
        let w: PaymentExportWire = serde_json::from_str(line).map_err(|e| format!("not a payment of the export: {e}"))?;
        crate::contract::payment_from_export(spec, &w).map(Some)
    })
}

/// Every registration of one system's registration export file.
fn read_registrations(spec: &Spec, path: &Path) -> Result<Vec<PayerRef>, BooksError> {
    read_lines(path, |line| {
        let w: RegistrationExportWire = serde_json::from_str(line).map_err(|e| format!("not a registration of the export: {e}"))?;
        crate::contract::registration_from_export(spec, &w).map(Some)
    })
}

/// The files `cutover reconcile` reads.
struct BookFiles<'a> {
    old: &'a Path,
    new: &'a Path,
    /// Both systems' registration exports (old, new), if given.
    registrations: Option<(&'a Path, &'a Path)>,
    journal: Option<&'a Path>,
}

/// The keys a run's journal says were acknowledged, with the system that acknowledged each.
fn read_journal(spec: &Spec, path: &Path) -> Result<Vec<(SystemIdx, IdemKey)>, BooksError> {
    let names = spec.system_names();
    read_lines(path, |line| {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        if v["event"] != "accepted" {
            return Ok(None);
        }
        let key = v["key"].as_str().ok_or("no key")?;
        let system = v["system"].as_str().ok_or("no system (a journal of a run with two systems names it)")?;
        let s = names.iter().position(|n| *n == system).ok_or_else(|| format!("unknown system {system:?}"))?;
        Ok(Some((s as SystemIdx, IdemKey::from_text(key))))
    })
}

/// The checks over the two systems' export files (and their registrations and a run's
/// journal, if given).
fn reconcile_files(spec: Arc<Spec>, files: BookFiles) -> Result<CutoverReport, BooksError> {
    if spec.cutover.is_none() {
        return Err(BooksError::OneSystem(spec.raw.name.clone()));
    }
    let registrations = match files.registrations {
        Some((o, n)) => Some([read_registrations(&spec, o)?, read_registrations(&spec, n)?]),
        None => None,
    };
    let books = Books { payments: [read_export(&spec, files.old)?, read_export(&spec, files.new)?], registrations };
    let journal = files.journal;
    let mut recorder = Recorder::new(spec.clone(), Arc::new(Rules::from_spec(&spec)));
    if let Some(j) = journal {
        for (system, key) in read_journal(&spec, j)? {
            recorder.acknowledge_key(system, key);
        }
    }
    let input = CutoverInput { spec: &spec, recorder: &recorder, books: Ok(books), migration: None, reached: spec.end };
    // A scenario with a cutover section always gives a report.
    check(input).ok_or_else(|| BooksError::OneSystem(spec.raw.name.clone()))
}
