//! Durable storage for `cutover serve --data DIR`: an append-only log of what the model
//! decided (accepted payments, assessments, certificates), in SQLite, with group commit,
//! and the clock a run set.
//!
//! Outcomes, not requests: a restart puts every decision back as it was made
//! ([`Model::restore`]), without asking the rules again, so another scenario, another build
//! or another `--fault` keeps every acknowledged payment exactly once. A decision is logged
//! under the model's lock (so the log keeps the model's order) and its answer is sent only
//! after the writer thread has committed it: a kill -9 loses no acknowledged payment. The
//! data also records which scenario the server was last started with.
//!
//! Data written by earlier builds (a log of requests, table `log`) is read once by replaying
//! it through the current rules and kept from then on as decisions.

use crate::model::{Decision, Model, Request};
use crate::time::SimTime;
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use tokio::sync::{oneshot, watch};

/// Most log entries committed in one transaction.
const BATCH: usize = 2048;

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

/// What the writer thread is handed: a decision on its way to the disk (its sequence number,
/// instant, text, and the handler to tell once it is committed), or a clock setting to save.
enum Entry {
    Decision(u64, i64, String, oneshot::Sender<()>),
    Clock(SavedClock, oneshot::Sender<Result<(), String>>),
}

/// What a handler waits for before it answers ([`Store::wait`]).
pub(crate) enum Durable {
    /// Its own decision: the writer tells it alone once committed (waking every waiting
    /// handler at every commit, to see whose turn it was, cost a wake-up per handler per commit).
    Logged(oneshot::Receiver<()>),
    /// Everything logged up to this sequence number (an answer that reveals state decided by
    /// other handlers, a replay).
    Upto(u64),
}

pub struct Store {
    /// Unbounded, so that logging under the model's lock never blocks: every entry not yet
    /// committed has a handler waiting for it, so the in-flight bound bounds the channel.
    tx: mpsc::Sender<Entry>,
    committed: watch::Receiver<u64>,
    next_seq: AtomicU64,
    /// The writer thread, joined when the store is dropped: it holds the file's lock until
    /// it ends, and the data may be opened again only then.
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Store {
    fn drop(&mut self) {
        // Closing the channel ends the writer, after what it was handed.
        drop(std::mem::replace(&mut self.tx, mpsc::channel().0));
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Store {
    /// Open (or create) the data in `dir`, restore its decisions into `model`, note which
    /// scenario this start runs (`scenario`), and start the writer.
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
        // end: no shared-memory index and no file locking at every commit (a fifth of the
        // writer's system calls), and a second server started on the same data is refused
        // here, where two would have written the same sequence numbers.
        conn.busy_timeout(std::time::Duration::ZERO).map_err(err)?;
        conn.execute_batch(
            "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS decisions (seq INTEGER PRIMARY KEY, at_micros INTEGER NOT NULL, decision TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), virtual_micros INTEGER NOT NULL, wall_micros INTEGER NOT NULL, scale REAL NOT NULL);",
        )
        .map_err(err)?;
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
        let (tx, rx) = mpsc::channel::<Entry>();
        let (committed_tx, committed) = watch::channel(last);
        let writer = std::thread::Builder::new()
            .name("cutover-store".into())
            .spawn(move || writer(conn, rx, committed_tx))
            .map_err(|source| StoreError::Dir { path: p.clone(), source })?;
        let store = Store { tx, committed, next_seq: AtomicU64::new(last + 1), writer: Some(writer) };
        let other_scenario = before.filter(|b| b != scenario);
        Ok(Opened { store, restored, migrated, saved_clock: saved, other_scenario })
    }

    /// Save the clock setting so a restarted server keeps following the run's clock (by the
    /// writer, on the one connection).
    pub(crate) async fn save_clock(&self, c: SavedClock) -> Result<(), String> {
        let (done, saved) = oneshot::channel();
        self.tx.send(Entry::Clock(c, done)).map_err(|_| "the storage writer has stopped".to_string())?;
        saved.await.map_err(|_| "the storage writer has stopped".to_string())?
    }

    /// Log a decision made at `at` (call under the model's lock: the order of sequence numbers
    /// is the order of decisions). Never blocks.
    pub(crate) fn log(&self, at: SimTime, d: &Decision) -> Durable {
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        // Serializing plain enums and numbers cannot fail.
        let text = serde_json::to_string(d).unwrap_or_default();
        let (done, committed) = oneshot::channel();
        // If the writer died the entry is never committed and `wait` reports it.
        let _ = self.tx.send(Entry::Decision(seq, at.0, text, done));
        Durable::Logged(committed)
    }

    /// Everything logged so far (call under the model's lock).
    pub(crate) fn settled(&self) -> Durable {
        Durable::Upto(self.next_seq.load(Ordering::SeqCst) - 1)
    }

    /// Wait until `d` is committed; false if the writer stopped first.
    pub(crate) async fn wait(&self, d: Durable) -> bool {
        match d {
            Durable::Logged(committed) => committed.await.is_ok(),
            Durable::Upto(seq) => {
                let mut rx = self.committed.clone();
                rx.wait_for(|c| *c >= seq).await.is_ok()
            }
        }
    }
}

fn writer(mut conn: Connection, rx: mpsc::Receiver<Entry>, committed: watch::Sender<u64>) {
    let mut batch = Vec::new();
    let mut clocks = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(e) = next.take() {
            match e {
                Entry::Decision(seq, at, text, done) => batch.push((seq, at, text, done)),
                Entry::Clock(c, done) => clocks.push((c, done)),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
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
        if batch.is_empty() {
            continue;
        }
        let result = (|| -> rusqlite::Result<u64> {
            let tx = conn.transaction()?;
            let mut top = 0;
            {
                let mut stmt = tx.prepare_cached("INSERT INTO decisions (seq, at_micros, decision) VALUES (?1, ?2, ?3)")?;
                for (seq, at, text, _) in &batch {
                    stmt.execute(rusqlite::params![*seq as i64, at, text])?;
                    top = top.max(*seq);
                }
            }
            tx.commit()?;
            Ok(top)
        })();
        match result {
            Ok(top) => {
                for (_, _, _, done) in batch.drain(..) {
                    let _ = done.send(());
                }
                committed.send_modify(|c| *c = (*c).max(top));
            }
            Err(e) => {
                // Nothing more can be acknowledged: waiting handlers see the channel close.
                eprintln!("error: storage failed, no further payment will be acknowledged: {e}");
                return;
            }
        }
    }
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
