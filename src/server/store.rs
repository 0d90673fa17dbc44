//! Durable storage for `cutover serve --data DIR`: an append-only log of the
//! requests that changed the model, in SQLite, with group commit.
//!
//! The model is pure, so replaying the log (each request at its logged instant)
//! rebuilds exactly the state that was acknowledged. A request is logged under
//! the model's lock (so the log keeps the model's order) and its answer is sent
//! only after the writer thread has committed it: a kill -9 loses no
//! acknowledged payment.

use crate::model::{Model, Request};
use crate::time::SimTime;
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use tokio::sync::watch;

/// Most log entries committed in one transaction.
const BATCH: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite { path: String, source: rusqlite::Error },
    #[error("{path}: log entry {seq} is not a request: {reason}")]
    Corrupt { path: String, seq: i64, reason: String },
    #[error("{path}: cannot create the data directory: {source}")]
    Dir { path: String, source: std::io::Error },
}

/// A clock setting saved by `POST /v1/admin/clock`: virtual instant, wall-clock instant
/// (Unix microseconds) and scale.
#[derive(Clone, Copy, Debug)]
pub struct SavedClock {
    pub virtual_micros: i64,
    pub wall_micros: i64,
    pub scale: f64,
}

pub struct Store {
    clock_conn: std::sync::Mutex<Connection>,
    tx: mpsc::SyncSender<(u64, i64, String)>,
    committed: watch::Receiver<u64>,
    next_seq: AtomicU64,
}

impl Store {
    /// Open (or create) the log in `dir`, replay it into `model`, and start the writer.
    /// Returns the store and the number of requests replayed.
    pub fn open(dir: &Path, model: &mut Model) -> Result<(Store, u64, Option<SavedClock>), StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir { path: dir.display().to_string(), source })?;
        let path = dir.join("ledger.sqlite");
        let p = path.display().to_string();
        let err = |source| StoreError::Sqlite { path: p.clone(), source };
        let conn = Connection::open(&path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, at_micros INTEGER NOT NULL, request TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), virtual_micros INTEGER NOT NULL, wall_micros INTEGER NOT NULL, scale REAL NOT NULL);",
        )
        .map_err(err)?;
        let mut last = 0u64;
        let mut replayed = 0u64;
        {
            let mut stmt = conn.prepare("SELECT seq, at_micros, request FROM log ORDER BY seq").map_err(err)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))).map_err(err)?;
            for row in rows {
                let (seq, at, text) = row.map_err(err)?;
                let req: Request =
                    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt { path: p.clone(), seq, reason: e.to_string() })?;
                model.handle(SimTime(at), &req);
                last = last.max(seq as u64);
                replayed += 1;
            }
        }
        let saved = conn
            .query_row("SELECT virtual_micros, wall_micros, scale FROM clock WHERE id = 1", [], |r| {
                Ok(SavedClock { virtual_micros: r.get(0)?, wall_micros: r.get(1)?, scale: r.get(2)? })
            })
            .ok();
        let clock_conn = Connection::open(&path).map_err(err)?;
        let (tx, rx) = mpsc::sync_channel::<(u64, i64, String)>(65_536);
        let (committed_tx, committed) = watch::channel(last);
        std::thread::Builder::new()
            .name("cutover-store".into())
            .spawn(move || writer(conn, rx, committed_tx))
            .map_err(|source| StoreError::Dir { path: p.clone(), source })?;
        let store = Store { clock_conn: std::sync::Mutex::new(clock_conn), tx, committed, next_seq: AtomicU64::new(last + 1) };
        Ok((store, replayed, saved))
    }

    /// Save the clock setting so a restarted server keeps following the run's clock.
    pub fn save_clock(&self, c: SavedClock) -> Result<(), String> {
        let conn = self.clock_conn.lock().map_err(|_| "storage lock poisoned".to_string())?;
        conn.execute(
            "INSERT INTO clock (id, virtual_micros, wall_micros, scale) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET virtual_micros = ?1, wall_micros = ?2, scale = ?3",
            rusqlite::params![c.virtual_micros, c.wall_micros, c.scale],
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    /// Log a mutating request (call under the model's lock); returns its sequence number.
    pub fn log(&self, at: SimTime, req: &Request) -> u64 {
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        // Serializing plain enums and numbers cannot fail.
        let text = serde_json::to_string(req).unwrap_or_default();
        // If the writer died the entry is never committed and `wait` reports it.
        let _ = self.tx.send((seq, at.0, text));
        seq
    }

    /// The last sequence number handed out.
    pub fn last_assigned(&self) -> u64 {
        self.next_seq.load(Ordering::SeqCst) - 1
    }

    /// Wait until everything up to `seq` is committed; false if the writer stopped.
    pub async fn wait(&self, seq: u64) -> bool {
        let mut rx = self.committed.clone();
        rx.wait_for(|c| *c >= seq).await.is_ok()
    }
}

fn writer(mut conn: Connection, rx: mpsc::Receiver<(u64, i64, String)>, committed: watch::Sender<u64>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let result = (|| -> rusqlite::Result<u64> {
            let tx = conn.transaction()?;
            let mut top = 0;
            {
                let mut stmt = tx.prepare_cached("INSERT INTO log (seq, at_micros, request) VALUES (?1, ?2, ?3)")?;
                for (seq, at, text) in &batch {
                    stmt.execute(rusqlite::params![*seq as i64, at, text])?;
                    top = top.max(*seq);
                }
            }
            tx.commit()?;
            Ok(top)
        })();
        match result {
            Ok(top) => {
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
