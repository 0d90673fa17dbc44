//! Durable storage for `cutover serve --data DIR`: what the model decided (accepted payments,
//! assessments, certificates, switches, migration batches), with group commit, and the clock
//! a run set.
//!
//! Outcomes, not requests: a restart puts every decision back as it was made
//! ([`Model::restore`]), without asking the rules again, so another scenario, another build
//! or another `--fault` keeps every acknowledged payment exactly once. A decision is logged
//! under the model's lock (so the log keeps the model's order) and its answer is sent only
//! after the writer thread has it on the disk: a kill -9 loses no acknowledged payment.
//!
//! Two files. While the server runs, decisions are appended to `decisions.log` ([`log`]: a
//! group commit is one synced write). `ledger.sqlite` keeps everything before, the clock and
//! which scenario the data was last started with; its connection holds the file's lock, so a
//! second server on the same data is refused. The log is folded into `ledger.sqlite` and
//! emptied when the server stops and when it starts (after a kill), so that other programs
//! read every decision there once the server has stopped normally.
//!
//! Data written by earlier builds (a log of requests, table `log`) is read once by replaying
//! it through the current rules and kept from then on as decisions.

mod log;

use crate::model::{Decision, Model, Request};
use crate::time::SimTime;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::task::{Poll, Waker};
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite { path: String, source: rusqlite::Error },
    #[error("{path}: log entry {seq} cannot be read: {reason}")]
    Corrupt { path: String, seq: i64, reason: String },
    #[error("{path}: decision {seq} cannot be restored under this scenario: {source}")]
    Restore { path: String, seq: i64, source: crate::model::RestoreError },
    #[error("{path}: held by another process (a server already running on this data?); one server at a time keeps it")]
    InUse { path: String },
    #[error("{path}: cannot create the data directory: {source}")]
    Dir { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Log { path: String, source: std::io::Error },
}

/// The scenario a server runs: its name and a digest of its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioMark {
    pub name: String,
    pub digest: String,
}

/// What opening the data found.
pub struct Opened {
    pub store: Store,
    /// Decisions put back into the model.
    pub restored: u64,
    /// Requests of an earlier build's log replayed (and kept as decisions from now on).
    pub migrated: u64,
    /// Decisions found in `decisions.log` (a server killed, not stopped) and folded into
    /// `ledger.sqlite` before being restored.
    pub folded: u64,
    /// Bytes after the log's last whole record: a write the kill cut, never acknowledged.
    pub cut: bool,
    pub saved_clock: Option<SavedClock>,
    /// The scenario the data was last started with, if it was another.
    pub other_scenario: Option<ScenarioMark>,
}

/// A clock setting saved by `POST /v1/admin/clock`: virtual instant, wall-clock instant
/// (Unix microseconds) and scale.
#[derive(Clone, Copy, Debug)]
pub struct SavedClock {
    pub virtual_micros: i64,
    pub wall_micros: i64,
    pub scale: f64,
}

/// What a handler waits for before it answers ([`Store::wait`]): everything logged up to
/// this sequence number on the disk (its own decision, or, for an answer that reveals state
/// decided by other handlers, a replay, everything logged before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Durable(u64);

/// What the handlers hand the writer, under one lock: the records of the next commit, whom
/// to tell once it is on the disk, and clock settings to save.
struct Pending {
    records: Vec<u8>,
    /// Handlers waiting, by the sequence number they wait for. A waker, not a channel: no
    /// allocation a request, none freed by another thread.
    waiters: Vec<(u64, Waker)>,
    /// Everything up to this sequence number is on the disk.
    committed: u64,
    clocks: Vec<(SavedClock, oneshot::Sender<Result<(), String>>)>,
    /// The sequence number of the next decision logged.
    next_seq: u64,
    /// The writer waits for work: the next handler wakes it (and only then: under load it
    /// takes the next commit's records as soon as the last is written, woken by nobody).
    idle: bool,
    /// The store is dropped: write what is left, fold, end.
    closing: bool,
    /// The writer failed: nothing more is acknowledged.
    failed: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    work: Condvar,
}

pub struct Store {
    shared: std::sync::Arc<Shared>,
    /// The writer thread, joined when the store is dropped: it folds the log and holds the
    /// file's lock until it ends, and the data may be opened again only then.
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Ok(mut p) = self.shared.pending.lock() {
            p.closing = true;
        }
        self.shared.work.notify_one();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Store {
    /// Open (or create) the data in `dir`, fold what a killed server left in its log,
    /// restore its decisions into `model`, note which scenario this start runs (`scenario`),
    /// and start the writer.
    pub fn open(dir: &Path, model: &mut Model, scenario: &ScenarioMark) -> Result<Opened, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir { path: dir.display().to_string(), source })?;
        let path = dir.join("ledger.sqlite");
        let p = path.display().to_string();
        let err = |source: rusqlite::Error| match source.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => StoreError::InUse { path: p.clone() },
            _ => StoreError::Sqlite { path: p.clone(), source },
        };
        let mut conn = Connection::open(&path).map_err(err)?;
        // One connection, the writer's, holding the file's lock from the first write to the
        // end: a second server started on the same data is refused here, where two would
        // have written the same sequence numbers (and the same log).
        conn.busy_timeout(std::time::Duration::ZERO).map_err(err)?;
        conn.execute_batch(
            "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS decisions (seq INTEGER PRIMARY KEY, at_micros INTEGER NOT NULL, decision TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), virtual_micros INTEGER NOT NULL, wall_micros INTEGER NOT NULL, scale REAL NOT NULL);",
        )
        .map_err(err)?;
        let log_path = dir.join("decisions.log");
        let (folded, cut) = fold(&mut conn, &log_path, &p)?;
        let migrated = migrate_request_log(&mut conn, model, &p)?;
        let mut last = 0u64;
        let mut restored = 0u64;
        {
            let mut stmt = conn.prepare("SELECT seq, decision FROM decisions ORDER BY seq").map_err(err)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).map_err(err)?;
            for row in rows {
                let (seq, text) = row.map_err(err)?;
                let d: Decision =
                    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt { path: p.clone(), seq, reason: e.to_string() })?;
                if migrated == 0 {
                    model.restore(&d).map_err(|source| StoreError::Restore { path: p.clone(), seq, source })?;
                }
                last = last.max(seq as u64);
                restored += 1;
            }
        }
        let meta = |key: &str| conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get::<_, String>(0)).ok();
        let before = match (meta("scenario_name"), meta("scenario_digest")) {
            (Some(name), Some(digest)) => Some(ScenarioMark { name, digest }),
            _ => None,
        };
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('scenario_name', ?1), ('scenario_digest', ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            rusqlite::params![scenario.name, scenario.digest],
        )
        .map_err(err)?;
        let saved = conn
            .query_row("SELECT virtual_micros, wall_micros, scale FROM clock WHERE id = 1", [], |r| {
                Ok(SavedClock { virtual_micros: r.get(0)?, wall_micros: r.get(1)?, scale: r.get(2)? })
            })
            .ok();
        let log_err = |source| StoreError::Log { path: log_path.display().to_string(), source };
        let appender = log::Appender::open_empty(&log_path).map_err(log_err)?;
        // The log's name in the directory is on the disk before anything is appended to it.
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(log_err)?;
        let shared = std::sync::Arc::new(Shared {
            pending: Mutex::new(Pending {
                records: Vec::new(),
                waiters: Vec::new(),
                committed: last,
                clocks: Vec::new(),
                next_seq: last + 1,
                idle: false,
                closing: false,
                failed: false,
            }),
            work: Condvar::new(),
        });
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("cutover-store".into())
                .spawn(move || writer(conn, appender, log_path, shared))
                .map_err(|source| StoreError::Dir { path: p.clone(), source })?
        };
        let store = Store { shared, writer: Some(writer) };
        let other_scenario = before.filter(|b| b != scenario);
        Ok(Opened { store, restored, migrated, folded, cut, saved_clock: saved, other_scenario })
    }

    /// Save the clock setting so a restarted server keeps following the run's clock (by the
    /// writer, on its connection).
    pub(crate) async fn save_clock(&self, c: SavedClock) -> Result<(), String> {
        let (done, saved) = oneshot::channel();
        {
            let mut p = self.shared.pending.lock().map_err(|_| "the storage writer has stopped".to_string())?;
            if p.failed {
                return Err("the storage writer has stopped".into());
            }
            p.clocks.push((c, done));
            if p.idle {
                self.shared.work.notify_one();
            }
        }
        saved.await.map_err(|_| "the storage writer has stopped".to_string())?
    }

    /// Log a decision made at `at` (call under the model's lock: the order of sequence numbers
    /// is the order of decisions). Never blocks on the disk.
    pub(crate) fn log(&self, at: SimTime, d: &Decision) -> Durable {
        // A poisoned lock or a failed writer: `wait` reports it.
        let Ok(mut p) = self.shared.pending.lock() else { return Durable(u64::MAX) };
        let seq = p.next_seq;
        if !p.failed {
            p.next_seq += 1;
            // Serializing plain enums and numbers into a vector cannot fail.
            log::encode(&mut p.records, seq, at.0, |out| {
                let _ = serde_json::to_writer(out, d);
            });
            if p.idle {
                self.shared.work.notify_one();
            }
        }
        Durable(seq)
    }

    /// Everything logged so far (call under the model's lock).
    pub(crate) fn settled(&self) -> Durable {
        Durable(self.shared.pending.lock().map(|p| p.next_seq - 1).unwrap_or(u64::MAX))
    }

    /// Wait until `d` is on the disk; false if the writer stopped first.
    pub(crate) async fn wait(&self, d: Durable) -> bool {
        let mut registered = false;
        std::future::poll_fn(|cx| {
            let Ok(mut p) = self.shared.pending.lock() else { return Poll::Ready(false) };
            if p.committed >= d.0 {
                return Poll::Ready(true);
            }
            if p.failed {
                return Poll::Ready(false);
            }
            // Polled again before its commit: the newest waker replaces the one left.
            if registered && let Some(w) = p.waiters.iter_mut().find(|(seq, _)| *seq == d.0) {
                w.1.clone_from(cx.waker());
            } else {
                p.waiters.push((d.0, cx.waker().clone()));
                registered = true;
            }
            Poll::Pending
        })
        .await
    }
}

/// The writer thread: each turn takes everything handed over since the last, saves the clock
/// settings, appends the decisions to the log in one synced write and tells their handlers.
/// When the store is dropped, folds the log into `ledger.sqlite`.
fn writer(mut conn: Connection, mut log: log::Appender, log_path: PathBuf, shared: std::sync::Arc<Shared>) {
    let mut records = Vec::new();
    let mut ready = Vec::new();
    let mut clocks = Vec::new();
    loop {
        let (top, closing) = {
            let Ok(mut p) = shared.pending.lock() else { return };
            while p.records.is_empty() && p.clocks.is_empty() && !p.closing {
                p.idle = true;
                p = match shared.work.wait(p) {
                    Ok(p) => p,
                    Err(_) => return,
                };
            }
            p.idle = false;
            std::mem::swap(&mut records, &mut p.records);
            std::mem::swap(&mut clocks, &mut p.clocks);
            (p.next_seq - 1, p.closing)
        };
        for (c, done) in clocks.drain(..) {
            let saved = conn
                .execute(
                    "INSERT INTO clock (id, virtual_micros, wall_micros, scale) VALUES (1, ?1, ?2, ?3)
                     ON CONFLICT(id) DO UPDATE SET virtual_micros = ?1, wall_micros = ?2, scale = ?3",
                    rusqlite::params![c.virtual_micros, c.wall_micros, c.scale],
                )
                .map(|_| ())
                .map_err(|e| e.to_string());
            let _ = done.send(saved);
        }
        if !records.is_empty() {
            if let Err(e) = log.append(&records) {
                // Nothing more can be acknowledged: waiting handlers see their channel close.
                eprintln!("error: storage failed, no further payment will be acknowledged: {}: {e}", log_path.display());
                if let Ok(mut p) = shared.pending.lock() {
                    p.failed = true;
                    p.waiters.drain(..).for_each(|(_, w)| w.wake());
                    p.clocks.clear();
                }
                return;
            }
            records.clear();
            if let Ok(mut p) = shared.pending.lock() {
                p.committed = top;
                // Those waiting for what this commit wrote (a handler of the next commit may
                // already wait).
                let mut i = 0;
                while i < p.waiters.len() {
                    if p.waiters[i].0 <= top {
                        ready.push(p.waiters.swap_remove(i).1);
                    } else {
                        i += 1;
                    }
                }
            }
            ready.drain(..).for_each(Waker::wake);
        } else if closing {
            drop(log);
            let ledger = conn.path().unwrap_or("ledger.sqlite").to_string();
            if let Err(e) = fold(&mut conn, &log_path, &ledger) {
                eprintln!("note: {e}; the decisions stay in the log and are folded at the next start");
            }
            return;
        }
    }
}

/// Fold the decisions of the log at `log_path` that `ledger.sqlite` has not yet into it, in
/// one transaction, then empty the log. Returns how many were folded and whether the log
/// ended in something not whole (a write cut by a kill: never acknowledged, dropped).
fn fold(conn: &mut Connection, log_path: &Path, p: &str) -> Result<(u64, bool), StoreError> {
    let log_err = |source| StoreError::Log { path: log_path.display().to_string(), source };
    // Record by record: the log may hold gigabytes.
    let Some(mut read) = log::Reader::open(log_path).map_err(log_err)? else { return Ok((0, false)) };
    let Some(first) = read.next_record().map_err(log_err)? else {
        let cut = read.cut().map_err(log_err)?;
        if cut {
            empty_log(log_path).map_err(log_err)?;
        }
        return Ok((0, cut));
    };
    let err = |source| StoreError::Sqlite { path: p.to_string(), source };
    let tx = conn.transaction().map_err(err)?;
    let last: i64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM decisions", [], |r| r.get(0)).map_err(err)?;
    let mut folded = 0;
    {
        let mut insert = tx.prepare("INSERT INTO decisions (seq, at_micros, decision) VALUES (?1, ?2, ?3)").map_err(err)?;
        let mut next = Some(first);
        while let Some(r) = next {
            // Folded before and the log not emptied (a kill in between): those are skipped.
            if r.seq as i64 > last {
                insert.execute(rusqlite::params![r.seq as i64, r.at_micros, r.text]).map_err(err)?;
                folded += 1;
            }
            next = read.next_record().map_err(log_err)?;
        }
    }
    let cut = read.cut().map_err(log_err)?;
    tx.commit().map_err(err)?;
    // In `ledger.sqlite`, synced: the log can go.
    empty_log(log_path).map_err(log_err)?;
    Ok((folded, cut))
}

fn empty_log(log_path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new().write(true).open(log_path).and_then(|f| f.set_len(0).and_then(|_| f.sync_all()))
}

/// Data of an earlier build: a log of requests (table `log`). Replay it once through the
/// current rules into `model`, keep what that decided as decisions, and drop the request log,
/// in one transaction. Returns how many requests were replayed.
fn migrate_request_log(conn: &mut Connection, model: &mut Model, p: &str) -> Result<u64, StoreError> {
    let err = |source| StoreError::Sqlite { path: p.to_string(), source };
    let has_log: bool = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'log'", [], |r| r.get::<_, i64>(0))
        .map_err(err)?
        > 0;
    if !has_log {
        return Ok(0);
    }
    let tx = conn.transaction().map_err(err)?;
    let mut replayed = 0u64;
    {
        let mut stmt = tx.prepare("SELECT seq, at_micros, request FROM log ORDER BY seq").map_err(err)?;
        let rows: Vec<(i64, i64, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(err)?.collect::<Result<_, _>>().map_err(err)?;
        let mut insert = tx.prepare("INSERT INTO decisions (seq, at_micros, decision) VALUES (?1, ?2, ?3)").map_err(err)?;
        for (seq, at, text) in rows {
            let req: Request =
                serde_json::from_str(&text).map_err(|e| StoreError::Corrupt { path: p.to_string(), seq, reason: e.to_string() })?;
            let resp = model.handle(SimTime(at), &req);
            if let Some(d) = model.decision(&req, &resp) {
                let text = serde_json::to_string(&d).unwrap_or_default();
                insert.execute(rusqlite::params![seq, at, text]).map_err(err)?;
            }
            replayed += 1;
        }
    }
    tx.execute("DROP TABLE log", []).map_err(err)?;
    tx.commit().map_err(err)?;
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Rules;
    use std::sync::Arc;

    /// What a killed server leaves: decisions in the log, one already folded (the kill came
    /// between the fold's commit and the log's emptying), and a record cut short. The next
    /// start folds the new ones once, drops the cut one, restores all, and empties the log;
    /// a normal stop leaves the log empty and everything in `ledger.sqlite`.
    #[test]
    fn a_killed_servers_log_is_folded_once_at_the_next_start() {
        let spec = crate::scenario::parse("ci-smoke.json", include_str!("../../../scenarios/ci-smoke.json")).expect("ci-smoke");
        let dir = std::env::temp_dir().join(format!("cutover-fold-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mark = ScenarioMark { name: "ci-smoke".into(), digest: "d".into() };
        let model = || Model::new(Arc::new(Rules::from_spec(&spec)));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let switch = |i: u64| Decision::Maintenance { closed: vec![(i % 3) as u8] };
        {
            let store = Store::open(&dir, &mut model(), &mark).expect("a new store").store;
            let logged: Vec<_> = (1..=5).map(|i| store.log(SimTime(i as i64), &switch(i))).collect();
            rt.block_on(async {
                for l in logged {
                    assert!(store.wait(l).await);
                }
            });
            let on_disk = log::read(&dir.join("decisions.log")).expect("the log");
            assert_eq!(on_disk.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5], "acknowledged means in the log");
        }
        assert_eq!(std::fs::metadata(dir.join("decisions.log")).expect("the log").len(), 0, "a normal stop folds and empties the log");

        let mut leftover = Vec::new();
        for seq in 5..=7 {
            log::encode(&mut leftover, seq, seq as i64, |o| serde_json::to_writer(o, &switch(seq)).expect("json"));
        }
        let whole = leftover.len();
        log::encode(&mut leftover, 8, 8, |o| serde_json::to_writer(o, &switch(8)).expect("json"));
        leftover.truncate(whole + log::HEAD + 3);
        std::fs::write(dir.join("decisions.log"), &leftover).expect("a killed server's log");

        let opened = Store::open(&dir, &mut model(), &mark).expect("the store again");
        assert_eq!((opened.folded, opened.cut, opened.restored), (2, true, 7));
        assert_eq!(std::fs::metadata(dir.join("decisions.log")).expect("the log").len(), 0, "the log emptied once folded");
        // Numbering goes on after the folded ones.
        assert_eq!(opened.store.settled(), Durable(7));
        drop(opened);
        let again = Store::open(&dir, &mut model(), &mark).expect("the store a third time");
        assert_eq!((again.folded, again.cut, again.restored), (0, false, 7), "nothing folded twice");
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
