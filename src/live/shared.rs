//! What the shards of one rehearsal tell each other (`run --shard`), through a directory
//! they all reach (the results volume on Kubernetes, the shards' output directories' parent
//! by default): each shard's figures that only grow, so that any shard seeing a gate lost on
//! the sum stops every shard (`--abort-early`); a stop, once raised; and a conditional
//! rollback's figures, decided once by shard 0 on all of them; when shard 0 had told the
//! targets each change of the run's pace. Each file is written whole
//! (a temporary file renamed) and named after the rehearsal (its run id and start instant),
//! so an earlier rehearsal's files are never read.

use crate::report::check::rollback::Window;
use crate::time::SimTime;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a shard waiting for another's figures or decision looks for them.
const POLL: Duration = Duration::from_millis(2);

pub(crate) struct Shared {
    dir: PathBuf,
    pub index: usize,
    pub count: usize,
}

/// A shard's counts that only grow, as it last wrote them.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Growing {
    pub accepted_while_suspended: u64,
    pub disagreements: u64,
}

/// A stop raised by one shard for all.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Stop {
    shard: usize,
    why: String,
}

/// Shard 0's rollback decision, for the others to follow.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Verdict {
    pub rolled_back: bool,
    /// Suspended from this instant (a rollback).
    pub from: Option<SimTime>,
}

impl Shared {
    /// The rehearsal `run_id` starting at `start_at` (Unix µs), in `root`.
    pub(crate) fn new(root: &Path, run_id: &str, start_at: Option<i64>, index: usize, count: usize) -> std::io::Result<Shared> {
        let dir = root.join(format!(".cutover-{run_id}-{}", start_at.unwrap_or(0)));
        std::fs::create_dir_all(&dir)?;
        Ok(Shared { dir, index, count })
    }

    fn write<T: Serialize>(&self, name: &str, value: &T) {
        let tmp = self.dir.join(format!(".{name}.{}.tmp", self.index));
        let Ok(text) = serde_json::to_vec(value) else { return };
        // A write that fails leaves the others without this shard's news: they go on, and
        // the merge says what was missing.
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, self.dir.join(name));
        }
    }

    fn read<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        serde_json::from_slice(&std::fs::read(self.dir.join(name)).ok()?).ok()
    }

    /// This shard's counts that only grow, and the sum of the other shards' last written.
    pub(crate) fn exchange(&self, mine: Growing) -> Growing {
        self.write(&format!("growing-{}.json", self.index), &mine);
        let mut others = Growing::default();
        for i in (0..self.count).filter(|i| *i != self.index) {
            if let Some(g) = self.read::<Growing>(&format!("growing-{i}.json")) {
                others.accepted_while_suspended += g.accepted_while_suspended;
                others.disagreements += g.disagreements;
            }
        }
        others
    }

    /// Stop every shard: `why` (the first stop raised stays).
    pub(crate) fn raise_stop(&self, why: &str) {
        if self.read::<Stop>("stop.json").is_none() {
            self.write("stop.json", &Stop { shard: self.index, why: why.to_string() });
        }
    }

    /// A stop raised by another shard, and why.
    pub(crate) fn stop_raised(&self) -> Option<String> {
        self.read::<Stop>("stop.json").filter(|s| s.shard != self.index).map(|s| format!("shard {}/{}: {}", s.shard, self.count, s.why))
    }

    /// This shard's rollback figures, for shard 0.
    pub(crate) fn publish_figures(&self, windows: &[Window]) {
        self.write(&format!("rollback-{}.json", self.index), &windows.to_vec());
    }

    /// Every other shard's rollback figures, waited for until `deadline`; the shards missing.
    pub(crate) async fn gather_figures(&self, deadline: Instant) -> (Vec<Vec<Window>>, Vec<usize>) {
        let others: Vec<usize> = (0..self.count).filter(|i| *i != self.index).collect();
        loop {
            let got: Vec<Option<Vec<Window>>> = others.iter().map(|i| self.read(&format!("rollback-{i}.json"))).collect();
            if got.iter().all(Option::is_some) || Instant::now() >= deadline {
                let missing = others.iter().zip(&got).filter(|(_, g)| g.is_none()).map(|(i, _)| *i).collect();
                return (got.into_iter().flatten().collect(), missing);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Shard 0 told the targets the pace at edge `edge` of the real-time stretch, `took`
    /// after the edge.
    pub(crate) fn publish_pace(&self, edge: usize, took: Duration) {
        self.write(&format!("pace-{edge}.json"), &(took.as_micros() as u64));
    }

    /// How long after edge `edge` shard 0 had told the targets, once it has.
    pub(crate) fn pace_told(&self, edge: usize) -> Option<Duration> {
        self.read::<u64>(&format!("pace-{edge}.json")).map(Duration::from_micros)
    }

    pub(crate) fn publish_verdict(&self, v: Verdict) {
        self.write("rollback-decision.json", &v);
    }

    /// Shard 0's rollback decision, waited for until `deadline`.
    pub(crate) async fn await_verdict(&self, deadline: Instant) -> Option<Verdict> {
        loop {
            if let Some(v) = self.read::<Verdict>("rollback-decision.json") {
                return Some(v);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
