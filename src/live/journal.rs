//! `journal.jsonl`: every acknowledged payment (and every payment whose outcome stayed
//! unknown) appended as it arrives. The driver flushes after each batch of answers it
//! handles (under load, the answers that arrived together), so a killed run loses at most
//! the answers of that moment, and an interrupted one nothing.

use crate::contract::ItemsOut;
use crate::model::{IdemKey, Request};
use crate::scenario::Spec;
use crate::time::SimTime;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct Journal {
    w: BufWriter<File>,
    /// Reused for the instant of each line.
    at: String,
    pub path: PathBuf,
    pub accepted: u64,
    pub unknown: u64,
}

#[derive(Serialize)]
struct Line<'a> {
    event: &'a str,
    at: &'a str,
    key: &'a str,
    payment_id: Option<u64>,
    payer_id: u32,
    group: &'a str,
    league: &'a str,
    channel: &'a str,
    items_fen: ItemsOut<'a>,
}

impl Journal {
    pub fn create(dir: &Path) -> std::io::Result<Journal> {
        let path = dir.join("journal.jsonl");
        let f = File::create(&path)?;
        Ok(Journal { w: BufWriter::with_capacity(64 << 10, f), at: String::new(), path, accepted: 0, unknown: 0 })
    }

    fn write(&mut self, spec: &Spec, event: &str, at: SimTime, req: &Request, payment: Option<u64>) -> std::io::Result<()> {
        let Request::Pay { key, payer, channel, items, .. } = req else {
            return Ok(());
        };
        self.at.clear();
        at.write_rfc3339(spec.calendar.offset, &mut self.at);
        let key = key.hex();
        let line = Line {
            event,
            at: &self.at,
            // Hex digits are ASCII.
            key: std::str::from_utf8(&key).unwrap_or_default(),
            payment_id: payment,
            payer_id: payer.id,
            group: payer.group.as_str(),
            league: &spec.leagues[payer.league as usize].name,
            channel: &spec.channels[*channel as usize].id,
            items_fen: ItemsOut(items),
        };
        serde_json::to_writer(&mut self.w, &line).map_err(std::io::Error::other)?;
        self.w.write_all(b"\n")
    }

    /// Hand what was written to the operating system (the driver calls this after each
    /// batch of answers it handles, so a killed run loses at most that batch).
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }

    pub fn accepted(&mut self, spec: &Spec, at: SimTime, req: &Request, payment: u64) -> std::io::Result<()> {
        self.accepted += 1;
        self.write(spec, "accepted", at, req, Some(payment))
    }

    pub fn unknown(&mut self, spec: &Spec, at: SimTime, req: &Request) -> std::io::Result<()> {
        self.unknown += 1;
        self.write(spec, "unknown", at, req, None)
    }
}

/// The key of a journaled payment request.
pub fn key_of(req: &Request) -> Option<IdemKey> {
    match req {
        Request::Pay { key, .. } => Some(*key),
        _ => None,
    }
}
