//! What a live run's coordinator saw, apart from what its sending threads recorded
//! ([`Account`]), and a shard's part file (`run --shard`): the account, the threads' outputs
//! and who the shard was, written whole for `cutover merge`, which joins the parts of every
//! shard into the account one process sending everything would have kept.

use super::thread::shard::Output;
use crate::report::data::live::{HookReport, ShardRow, ShardsReport};
use crate::time::SimTime;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The part file's name in a shard's output directory.
pub const PART_FILE: &str = "part.json";
/// Its format: a merge reads only parts of this format (2: a failure sample carries the
/// client's words when no answer came).
const PART_FORMAT: u32 = 2;

/// What the coordinator saw of a run, besides the threads' outputs: what the report's live
/// section and the reconciliation need.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Account {
    pub run_id: String,
    pub seed: u64,
    pub time_scale: f64,
    /// The transport's name, as the report gives it.
    pub transport: String,
    pub connections: usize,
    pub threads: usize,
    /// How the threads were chosen, when `--threads` was not given (never in a shard's part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads_chosen: Option<crate::report::data::live::ThreadsChosen>,
    pub queue_bound: usize,
    /// `--slack-us` (parts written before it: none).
    #[serde(default)]
    pub slack_micros: u64,
    pub sync_rtt_micros: Option<u64>,
    pub margin_real_micros: u64,
    pub journal_path: PathBuf,
    /// The ids of the payments each system held before the load, sorted, when its books
    /// could be read in bulk.
    pub baseline: Option<Vec<Vec<u64>>>,
    pub hooks: Vec<HookReport>,
    /// A conditional rollback's figures, as decided (in shards: shard 0's, of every shard).
    pub rollback: Option<crate::report::check::rollback::Decided>,
    pub interrupted: bool,
    pub aborted: Option<String>,
    /// The timeline's instant the load reached.
    pub reached: SimTime,
    pub wall_seconds: f64,
    pub cpu_seconds: Option<f64>,
    /// The shards merged into this account (`cutover merge`), none for one process.
    #[serde(skip)]
    pub shards: Option<ShardsReport>,
}

/// How to reach the targets again, as the shard was given them: a merge reads the books
/// there unless told otherwise.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TargetChoice {
    pub target: Option<String>,
    pub old: Option<String>,
    pub new: Option<String>,
    pub profile: Option<PathBuf>,
    pub new_profile: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub accept_invalid_certificate: bool,
}

/// One shard's part file.
#[derive(Serialize, Deserialize)]
pub(crate) struct Part {
    pub format: u32,
    pub shard: usize,
    pub shards: usize,
    /// The scenario as the shard read it (its file's text): the merge builds the same spec.
    pub scenario_file: String,
    pub scenario_text: String,
    /// The shared start instant (Unix µs), and how late the shard started sending after it.
    pub start_at: Option<i64>,
    pub late_by_seconds: f64,
    pub targets: TargetChoice,
    pub account: Account,
    pub(in crate::live) threads: Vec<Output>,
}

impl Part {
    pub(in crate::live) fn new(
        shard: (usize, usize),
        scenario: (String, String),
        start: (Option<i64>, f64),
        targets: TargetChoice,
        account: Account,
        threads: Vec<Output>,
    ) -> Part {
        Part {
            format: PART_FORMAT,
            shard: shard.0,
            shards: shard.1,
            scenario_file: scenario.0,
            scenario_text: scenario.1,
            start_at: start.0,
            late_by_seconds: start.1,
            targets,
            account,
            threads,
        }
    }

    /// Written whole (a temporary file renamed), so a merge never reads half a part.
    pub(crate) fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(PART_FILE);
        let tmp = dir.join(format!("{PART_FILE}.tmp"));
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut w, self).map_err(std::io::Error::other)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    pub(crate) fn read(path: &Path) -> Result<Part, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(file));
        let part: Part = match serde_path_to_error::deserialize(&mut de) {
            Ok(p) => p,
            Err(e) => {
                // A part of another build's format reads as that, not as a field it lacks.
                #[derive(serde::Deserialize)]
                struct Format {
                    format: u32,
                }
                let other = std::fs::File::open(path)
                    .ok()
                    .and_then(|f| serde_json::from_reader::<_, Format>(std::io::BufReader::new(f)).ok())
                    .filter(|f| f.format != PART_FORMAT);
                return Err(match other {
                    Some(f) => format!("{}: part format {}, this build reads {PART_FORMAT}", path.display(), f.format),
                    None => format!("{}: not a shard's part: {e}", path.display()),
                });
            }
        };
        if part.format != PART_FORMAT {
            return Err(format!("{}: part format {}, this build reads {PART_FORMAT}", path.display(), part.format));
        }
        Ok(part)
    }

    pub(crate) fn requests_completed(&self) -> u64 {
        self.threads.iter().map(|t| t.completed).sum()
    }
}

/// The parts of one rehearsal joined: one account, every thread's output in the global
/// threads' order, and the shards present and missing.
pub(in crate::live) fn join(parts: Vec<(PathBuf, Part)>, journal_path: PathBuf) -> (Account, Vec<Output>) {
    let of = parts.first().map_or(1, |(_, p)| p.shards);
    let mut present = Vec::new();
    let mut rows = Vec::new();
    let mut outputs = Vec::new();
    let mut joined: Option<Account> = None;
    let mut rollback_notes = Vec::new();
    for (path, p) in parts {
        present.push(p.shard);
        rows.push(ShardRow {
            shard: p.shard,
            part: path.display().to_string(),
            requests_completed: p.requests_completed(),
            late_by_seconds: p.late_by_seconds,
            interrupted: p.account.interrupted,
            aborted: p.account.aborted.clone(),
        });
        let mut a = p.account;
        a.aborted = a.aborted.map(|why| if why.starts_with("shard ") { why } else { format!("shard {}/{of}: {why}", p.shard) });
        if p.shard != 0 {
            // The runbook and a rollback's decision are shard 0's alone (missing with it);
            // what the others noted of following it is kept.
            a.hooks.clear();
            rollback_notes.extend(a.rollback.take().map(|d| d.notes).unwrap_or_default());
        }
        joined = Some(match joined {
            None => a,
            Some(mut j) => {
                j.connections += a.connections;
                j.threads += a.threads;
                j.threads_chosen = None;
                j.queue_bound += a.queue_bound;
                j.slack_micros = j.slack_micros.max(a.slack_micros);
                j.sync_rtt_micros = j.sync_rtt_micros.max(a.sync_rtt_micros);
                j.margin_real_micros = j.margin_real_micros.max(a.margin_real_micros);
                // Held before the load: in every shard's view of it (a shard reading late sees
                // what the others sent meanwhile).
                j.baseline = match (j.baseline, a.baseline) {
                    (Some(x), Some(y)) => Some(x.into_iter().zip(y).map(|(x, y)| intersect(&x, &y)).collect()),
                    _ => None,
                };
                // The runbook and a rollback's decision are shard 0's alone.
                if p.shard == 0 {
                    j.hooks = a.hooks;
                    j.rollback = a.rollback;
                }
                j.interrupted |= a.interrupted;
                if j.aborted.is_none() {
                    j.aborted = a.aborted;
                }
                j.reached = j.reached.min(a.reached);
                j.wall_seconds = j.wall_seconds.max(a.wall_seconds);
                j.cpu_seconds = j.cpu_seconds.zip(a.cpu_seconds).map(|(x, y)| x + y);
                j
            }
        });
        outputs.extend(p.threads);
    }
    let missing = (0..of).filter(|i| !present.contains(i)).collect();
    // [`report`] gives one part at least.
    let mut account = joined.expect("join is given at least one part");
    account.journal_path = journal_path;
    account.shards = Some(ShardsReport { of, merged: rows, missing });
    if let Some(d) = account.rollback.as_mut() {
        d.notes.extend(rollback_notes);
    }
    (account, outputs)
}

/// Two sorted lists' common items.
fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let set: std::collections::BTreeSet<u64> = b.iter().copied().collect();
    a.iter().copied().filter(|x| set.contains(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::feed::recorder::Recorder;
    use std::sync::Arc;

    /// A thread's output with `latencies` (µs) as its answers' response times.
    fn output(spec: &Arc<crate::scenario::Spec>, latencies: &[u64]) -> Output {
        let rules = Arc::new(crate::model::Rules::from_spec(spec));
        let mut recorder = Recorder::new(spec.clone(), rules);
        recorder.keep_backlog_steps();
        let mut h = crate::metrics::latency_histogram();
        for v in latencies {
            h.record(*v).unwrap();
        }
        Output {
            recorder: recorder.into_part(),
            audit: Default::default(),
            stats: Default::default(),
            payers_active: 0,
            batches: Vec::new(),
            journal_accepted: 0,
            journal_unknown: 0,
            journal_error: None,
            response_all: h.clone(),
            service_all: h,
            not_sent: 0,
            completed: latencies.len() as u64,
            unknown: Vec::new(),
            failures: Default::default(),
            last_good: [None; 2],
            lateness: Vec::new(),
        }
    }

    #[test]
    fn shards_parts_read_back_merge_into_the_union_of_their_histograms() {
        let spec = Arc::new(crate::scenario::parse("s.json", include_str!("../../scenarios/ci-smoke.json")).unwrap());
        let a: Vec<u64> = (1..=2000).map(|i| i * 37).collect();
        let b: Vec<u64> = (1..=500).map(|i| 90_000 + i * 1_013).collect();
        let account = Account {
            run_id: "r".into(),
            seed: 1,
            time_scale: 1.0,
            transport: "http1".into(),
            connections: 2,
            threads: 1,
            threads_chosen: None,
            queue_bound: 10,
            slack_micros: 0,
            sync_rtt_micros: None,
            margin_real_micros: 5_000,
            journal_path: PathBuf::from("journal.jsonl"),
            baseline: Some(vec![vec![1, 2, 3]]),
            hooks: Vec::new(),
            rollback: None,
            interrupted: false,
            aborted: None,
            reached: spec.end,
            wall_seconds: 1.0,
            cpu_seconds: Some(0.5),
            shards: None,
        };
        let dir = std::env::temp_dir().join(format!("cutover-part-test-{}", std::process::id()));
        let part = |shard: usize, latencies: &[u64], baseline: Vec<u64>| -> (PathBuf, Part) {
            let d = dir.join(format!("s{shard}"));
            std::fs::create_dir_all(&d).unwrap();
            let mut acc = account.clone();
            acc.baseline = Some(vec![baseline]);
            let p = Part::new(
                (shard, 2),
                ("s.json".into(), String::new()),
                (Some(0), 0.0),
                TargetChoice::default(),
                acc,
                vec![output(&spec, latencies)],
            );
            let path = p.write(&d).unwrap();
            (path.clone(), Part::read(&path).unwrap())
        };
        let parts = vec![part(0, &a, vec![1, 2, 3]), part(1, &b, vec![2, 3, 4])];
        let (joined, outputs) = join(parts, dir.join("journal.jsonl"));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!((joined.connections, joined.cpu_seconds), (4, Some(1.0)));
        assert_eq!(joined.baseline, Some(vec![vec![2, 3]]), "held before the load: what every shard saw");
        assert_eq!(joined.shards.as_ref().map(|s| s.missing.len()), Some(0));
        let rules = Arc::new(crate::model::Rules::from_spec(&spec));
        let merged = crate::live::merged::merge(&spec, rules, outputs, "journal.jsonl".into());
        let mut union = crate::metrics::latency_histogram();
        for v in a.iter().chain(&b) {
            union.record(*v).unwrap();
        }
        assert_eq!(merged.response_all, union);
        for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(merged.response_all.value_at_quantile(q), union.value_at_quantile(q), "q {q}");
        }
        assert_eq!(merged.completed, 2500);
    }

    /// A part another build wrote, in another format, is refused as that; a file that is no
    /// part at all, as that, with the field it lacks.
    #[test]
    fn a_part_of_another_format_is_named_as_such() {
        let dir = std::env::temp_dir().join(format!("cutover-part-format-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let old = dir.join("old.json");
        std::fs::write(
            &old,
            r#"{"format": 1, "shard": 0, "threads": [{"failures": {"cells": [[[0, 0, "pay", 0], {"samples": [["reset", null, []]]}]]}}]}"#,
        )
        .unwrap();
        let other = dir.join("other.json");
        std::fs::write(&other, r#"{"shard": 0}"#).unwrap();
        let (old, other) = (Part::read(&old), Part::read(&other));
        let _ = std::fs::remove_dir_all(&dir);
        let old = old.err().unwrap_or_default();
        assert!(old.ends_with(&format!("old.json: part format 1, this build reads {PART_FORMAT}")), "{old}");
        let other = other.err().unwrap_or_default();
        assert!(other.contains("other.json: not a shard's part: ") && other.contains("format"), "{other}");
    }
}
