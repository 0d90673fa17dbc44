//! `journal.jsonl`: every acknowledged payment (and every payment whose outcome stayed
//! unknown) appended as it arrives. The driver hands the lines to the file at most a
//! millisecond after their answers: while answers keep coming, once a millisecond (a write
//! per wake-up, under load, cost as much CPU as the rest of an answer's accounting); when
//! the thread would sleep past that millisecond, before it sleeps (a write costs less than
//! waking up for it). A killed run loses at most the answers of its last millisecond or two,
//! and an interrupted one nothing.
//!
//! Each of the driver's threads has its own [`Journal`] (see [`Journal::share`]) over the one
//! file: lines gather in the thread's buffer and go to the file whole, under a lock, so
//! lines of different threads never interleave.

#[cfg(test)]
use crate::contract::{ItemsWire, items_to_wire};
use crate::model::{IdemKey, Request, TargetId};
use crate::scenario::Spec;
use crate::time::{Rfc3339Writer, SimTime};
#[cfg(test)]
use serde::Serialize;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Written out when a buffer grows past this between flushes.
const BUFFER: usize = 64 << 10;

pub(in crate::live) struct Journal {
    file: Arc<Mutex<File>>,
    /// Whole lines not yet handed to the file.
    buf: Vec<u8>,
    /// Reused for the instant of each line.
    at: String,
    /// Formats the instants (made at the first line: the spec's offset is known then).
    clock_text: Option<Rfc3339Writer>,
    pub path: PathBuf,
    pub accepted: u64,
    pub unknown: u64,
}

/// The line as a serde struct: the text [`Journal`] writes by hand (compared in a test).
#[cfg(test)]
#[derive(Serialize)]
struct Line<'a> {
    event: &'a str,
    at: &'a str,
    key: &'a str,
    payment_id: Option<crate::model::TargetId>,
    payer_id: u32,
    group: &'a str,
    league: &'a str,
    channel: &'a str,
    items_fen: ItemsWire,
}

impl Journal {
    pub(in crate::live) fn create(dir: &Path) -> std::io::Result<Journal> {
        let path = dir.join("journal.jsonl");
        let f = File::create(&path)?;
        Ok(Journal::writer(Arc::new(Mutex::new(f)), path))
    }

    fn writer(file: Arc<Mutex<File>>, path: PathBuf) -> Journal {
        Journal { file, buf: Vec::with_capacity(BUFFER), at: String::new(), clock_text: None, path, accepted: 0, unknown: 0 }
    }

    fn write(
        &mut self,
        spec: &Spec,
        event: &str,
        at: SimTime,
        system: crate::scenario::SystemIdx,
        req: &Request,
        payment: Option<&TargetId>,
    ) -> std::io::Result<()> {
        let Request::Pay { key, payer, channel, items, .. } = req else {
            return Ok(());
        };
        // Written by hand: a line per payment through serde cost more than the rest of
        // the answer's handling. Every string here is ASCII without escapes (event, instant,
        // hex key, group and insurance names), was escaped once, in the spec (league,
        // channel), or is escaped as it is written (a target's text id).
        self.at.clear();
        let offset = spec.calendar.offset;
        self.clock_text.get_or_insert_with(|| Rfc3339Writer::new(offset)).write(at, &mut self.at);
        // Straight into the buffer: it only ever holds whole lines when it is written out.
        let l = &mut self.buf;
        l.extend_from_slice(b"{\"event\":\"");
        l.extend_from_slice(event.as_bytes());
        l.extend_from_slice(b"\",\"at\":\"");
        l.extend_from_slice(self.at.as_bytes());
        l.extend_from_slice(b"\",\"key\":\"");
        l.extend_from_slice(&key.hex());
        l.extend_from_slice(b"\",\"payment_id\":");
        match payment {
            Some(p) => p.write_json(l),
            None => l.extend_from_slice(b"null"),
        }
        l.push(b',');
        crate::contract::write_payment_members(spec, payer, *channel, items, l);
        // A cutover run names the system that answered (names are plain ids, checked at load).
        if let Some(x) = &spec.cutover {
            l.extend_from_slice(b",\"system\":");
            l.extend_from_slice(crate::scenario::json_string(&x.systems[(system as usize).min(1)].name).as_bytes());
        }
        l.extend_from_slice(b"}\n");
        if self.buf.len() >= BUFFER { self.flush() } else { Ok(()) }
    }

    /// Another writer of the same file, with its own buffer and counts (for another thread).
    pub(in crate::live) fn share(&self) -> Journal {
        Journal::writer(self.file.clone(), self.path.clone())
    }

    /// Lines written and not yet handed to the file.
    pub(in crate::live) fn pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Hand what was written to the operating system.
    pub(in crate::live) fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        // A writer that panicked while holding the lock left at worst a partial line; the
        // file itself is still usable.
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let r = f.write_all(&self.buf);
        self.buf.clear();
        r
    }

    pub(in crate::live) fn accepted(
        &mut self,
        spec: &Spec,
        at: SimTime,
        system: crate::scenario::SystemIdx,
        req: &Request,
        payment: &TargetId,
    ) -> std::io::Result<()> {
        self.accepted += 1;
        self.write(spec, "accepted", at, system, req, Some(payment))
    }

    pub(in crate::live) fn unknown(
        &mut self,
        spec: &Spec,
        at: SimTime,
        system: crate::scenario::SystemIdx,
        req: &Request,
    ) -> std::io::Result<()> {
        self.unknown += 1;
        self.write(spec, "unknown", at, system, req, None)
    }
}

/// The key of a journaled payment request.
pub(in crate::live) fn key_of(req: &Request) -> Option<IdemKey> {
    match req {
        Request::Pay { key, .. } => Some(*key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PayerRef;
    use crate::scenario::GroupKind;

    #[test]
    fn hand_written_lines_are_the_serde_text() {
        let spec = crate::scenario::load(Path::new("scenarios/ci-smoke.json")).expect("scenario");
        let dir = std::env::temp_dir().join(format!("cutover-journal-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut j = Journal::create(&dir).unwrap();
        let cases = [
            (Some(TargetId::Num(7)), [74040i64, 0, 0, 0, 0, 0], GroupKind::Flexible, 0u8, 0u8, SimTime(1_619_798_400_000_000)),
            (Some(TargetId::text("p-\"9\"")), [5, 0, 0, 0, 0, 0], GroupKind::Unit, 1, 2, SimTime(1_619_798_400_000_001)),
            (None, [1, -2, 3, 0, 5, 6], GroupKind::Unit, 1, 3, SimTime(1_619_798_400_123_456)),
        ];
        let mut expected = String::new();
        for (k, (payment, items, group, league, channel, at)) in cases.into_iter().enumerate() {
            let payer = PayerRef { id: 900 + k as u32, group, league };
            let req = Request::Pay {
                key: IdemKey::new(0xabc0 + k as u128),
                payer,
                channel,
                items,
                period: crate::model::Period::UNKNOWN,
                special: false,
                assessment: None,
            };
            let event = if payment.is_some() { "accepted" } else { "unknown" };
            match &payment {
                Some(p) => j.accepted(&spec, at, 0, &req, p).unwrap(),
                None => j.unknown(&spec, at, 0, &req).unwrap(),
            }
            let line = Line {
                event,
                at: &at.format(spec.calendar.offset),
                key: &IdemKey::new(0xabc0 + k as u128).to_text(),
                payment_id: payment,
                payer_id: payer.id,
                group: group.as_str(),
                league: &spec.leagues[league as usize].name,
                channel: &spec.channels[channel as usize].id,
                items_fen: items_to_wire(&items),
            };
            expected.push_str(&serde_json::to_string(&line).unwrap());
            expected.push('\n');
        }
        j.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&j.path).unwrap(), expected);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writers_on_threads_never_split_a_line() {
        let spec = std::sync::Arc::new(crate::scenario::load(Path::new("scenarios/ci-smoke.json")).expect("scenario"));
        let dir = std::env::temp_dir().join(format!("cutover-journal-share-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = Journal::create(&dir).unwrap();
        let path = first.path.clone();
        // Small flushes and large ones (past the buffer's size) from four threads at once.
        let handles: Vec<_> = (0..4u32)
            .map(|t| {
                let mut j = first.share();
                let spec = spec.clone();
                std::thread::spawn(move || {
                    for i in 0..3000u32 {
                        let payer = PayerRef { id: t * 100_000 + i, group: GroupKind::Flexible, league: 0 };
                        let req = Request::Pay {
                            key: IdemKey::new(payer.id as u128),
                            payer,
                            channel: 0,
                            items: [100, 0, 0, 0, 0, 0],
                            period: crate::model::Period::UNKNOWN,
                            special: false,
                            assessment: None,
                        };
                        j.accepted(&spec, SimTime(1_619_798_400_000_000), 0, &req, &TargetId::Num(i as u64 + 1)).unwrap();
                        if i % (7 + t) == 0 {
                            j.flush().unwrap();
                        }
                    }
                    j.flush().unwrap();
                    j.accepted
                })
            })
            .collect();
        let counted: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        drop(first);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut ids = std::collections::BTreeSet::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
            ids.insert(v["payer_id"].as_u64().unwrap());
        }
        assert_eq!(counted, 12_000);
        assert_eq!(text.lines().count(), 12_000);
        assert_eq!(ids.len(), 12_000);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
