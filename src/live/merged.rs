//! The sending threads' accounts merged into one ([`Merged`]): the recorders (the backlog
//! replayed from every thread's steps in time order), histograms, journals, the auditors'
//! reports, the failures, what stayed unknown, per system the last good answer.

use super::thread::journal::key_of;
use super::thread::shard;
use crate::model::{Request, Rules};
use crate::report::EngineStats;
use crate::report::data::live::JournalReport;
use crate::report::feed::recorder::Recorder;
use crate::scenario::Spec;
use crate::time::SimTime;
use std::sync::Arc;

/// What the sending threads did, merged into one account.
pub(super) struct Merged {
    pub recorder: Recorder,
    pub stats: EngineStats,
    pub response_all: hdrhistogram::Histogram<u64>,
    pub service_all: hdrhistogram::Histogram<u64>,
    pub completed: u64,
    pub not_sent: u64,
    pub journal: JournalReport,
    pub journal_error: Option<String>,
    pub unknown_reqs: Vec<Request>,
    pub batches: Vec<crate::report::BatchReport>,
    pub audit: crate::report::data::live::AuditReport,
    pub failures: super::thread::failures::FailureLog,
    /// Per system: the timeline's instant of its last answer that was not an error.
    pub last_good: [Option<SimTime>; 2],
    /// The driver's own lateness per phase × channel (µs), every thread's merged.
    pub lateness: Vec<Option<hdrhistogram::Histogram<u64>>>,
}

/// One account of the threads' parts.
pub(super) fn merge(spec: &Arc<Spec>, rules: Arc<Rules>, parts: Vec<shard::Output>, journal_path: String) -> Merged {
    let mut stats = EngineStats::default();
    let mut response_all = shard::histogram();
    let mut service_all = shard::histogram();
    let (mut completed, mut not_sent) = (0, 0);
    let mut journal = JournalReport { path: journal_path, accepted: 0, unknown: 0 };
    let mut journal_error = None;
    let mut unknown_reqs = Vec::new();
    let mut batches = Vec::new();
    let mut recorders = Vec::new();
    let mut audit = crate::report::data::live::AuditReport::default();
    let mut failures = super::thread::failures::FailureLog::default();
    let mut last_good: [Option<SimTime>; 2] = [None; 2];
    let mut lateness: Vec<Option<hdrhistogram::Histogram<u64>>> = Vec::new();
    for p in parts {
        if lateness.len() < p.lateness.len() {
            lateness.resize_with(p.lateness.len(), || None);
        }
        for (into, h) in lateness.iter_mut().zip(&p.lateness) {
            if let Some(h) = h {
                let _ = into.get_or_insert_with(crate::metrics::lateness_histogram).add(h);
            }
        }
        for (l, p) in last_good.iter_mut().zip(p.last_good) {
            *l = (*l).max(p);
        }
        // The first thread's count of active payers is the whole cast's.
        stats += &p.stats;
        stats.payers_active += p.payers_active - p.stats.payers_active;
        let _ = response_all.add(&p.response_all);
        let _ = service_all.add(&p.service_all);
        completed += p.completed;
        not_sent += p.not_sent;
        journal.accepted += p.journal_accepted;
        journal.unknown += p.journal_unknown;
        if journal_error.is_none() {
            journal_error = p.journal_error;
        }
        unknown_reqs.extend(p.unknown);
        failures.merge(p.failures);
        batches.extend(p.batches);
        recorders.push(p.recorder);
        audit.merge(p.audit);
    }
    audit.finish();
    let recorder = Recorder::merge(spec.clone(), rules, recorders.into_iter().collect());
    unknown_reqs.sort_by_key(key_of);
    Merged {
        recorder,
        stats,
        response_all,
        service_all,
        completed,
        not_sent,
        journal,
        journal_error,
        unknown_reqs,
        batches,
        audit,
        failures,
        last_good,
        lateness,
    }
}
