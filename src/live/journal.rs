//! `journal.jsonl`: every acknowledged payment (and every payment whose outcome stayed
//! unknown) appended as it arrives. The driver flushes after each batch of answers it
//! handles (under load, the answers that arrived together), so a killed run loses at most
//! the answers of that moment, and an interrupted one nothing.

#[cfg(test)]
use crate::contract::{ItemsWire, items_to_wire};
use crate::model::{IdemKey, Request};
use crate::scenario::Spec;
use crate::time::SimTime;
#[cfg(test)]
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct Journal {
    w: BufWriter<File>,
    /// Reused for the instant of each line, and for the line.
    at: String,
    line: Vec<u8>,
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
    payment_id: Option<u64>,
    payer_id: u32,
    group: &'a str,
    league: &'a str,
    channel: &'a str,
    items_fen: ItemsWire,
}

impl Journal {
    pub fn create(dir: &Path) -> std::io::Result<Journal> {
        let path = dir.join("journal.jsonl");
        let f = File::create(&path)?;
        Ok(Journal {
            w: BufWriter::with_capacity(64 << 10, f),
            at: String::new(),
            line: Vec::with_capacity(512),
            path,
            accepted: 0,
            unknown: 0,
        })
    }

    fn write(&mut self, spec: &Spec, event: &str, at: SimTime, req: &Request, payment: Option<u64>) -> std::io::Result<()> {
        let Request::Pay { key, payer, channel, items, .. } = req else {
            return Ok(());
        };
        // Written by hand: a line per payment through serde cost more than the rest of
        // the answer's handling. Every string here is ASCII without escapes (event, instant,
        // hex key, group and insurance names) or was escaped once, in the spec (league, channel).
        self.at.clear();
        at.write_rfc3339(spec.calendar.offset, &mut self.at);
        let mut n = itoa::Buffer::new();
        let l = &mut self.line;
        l.clear();
        l.extend_from_slice(b"{\"event\":\"");
        l.extend_from_slice(event.as_bytes());
        l.extend_from_slice(b"\",\"at\":\"");
        l.extend_from_slice(self.at.as_bytes());
        l.extend_from_slice(b"\",\"key\":\"");
        l.extend_from_slice(&key.hex());
        l.extend_from_slice(b"\",\"payment_id\":");
        match payment {
            Some(p) => l.extend_from_slice(n.format(p).as_bytes()),
            None => l.extend_from_slice(b"null"),
        }
        l.push(b',');
        crate::contract::write_payment_members(spec, payer, *channel, items, l);
        l.extend_from_slice(b"}\n");
        self.w.write_all(&self.line)
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
            (Some(7u64), [74040i64, 0, 0, 0, 0, 0], GroupKind::Flexible, 0u8, 0u8, SimTime(1_619_798_400_000_000)),
            (None, [1, -2, 3, 0, 5, 6], GroupKind::Unit, 1, 3, SimTime(1_619_798_400_123_456)),
        ];
        let mut expected = String::new();
        for (k, (payment, items, group, league, channel, at)) in cases.into_iter().enumerate() {
            let payer = PayerRef { id: 900 + k as u32, group, league };
            let req = Request::Pay { key: IdemKey(0xabc0 + k as u128), payer, channel, items, special: false, assessment: None };
            let event = if payment.is_some() { "accepted" } else { "unknown" };
            match payment {
                Some(p) => j.accepted(&spec, at, &req, p).unwrap(),
                None => j.unknown(&spec, at, &req).unwrap(),
            }
            let line = Line {
                event,
                at: &at.format(spec.calendar.offset),
                key: &IdemKey(0xabc0 + k as u128).to_text(),
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
}
