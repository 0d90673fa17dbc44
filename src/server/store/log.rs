//! `decisions.log`: the decisions not yet folded into `ledger.sqlite`, appended by the writer
//! thread and on the disk before any of them is acknowledged.
//!
//! Why a file of our own: SQLite's commit (its page writes, the WAL's `fsync`) and the
//! statement per row cost `serve --data` more CPU a request than the in-memory server spends
//! on the whole request. Here a group commit is one write of whole 4 KiB blocks at the log's
//! end, opened `O_DIRECT | O_DSYNC` (the disk's synced write without the page cache, about
//! half the CPU of `write` then `fsync` on the machines measured: BENCHMARKS.md), into space
//! already written with zeros, so that no commit changes the file's size or extents (a
//! journal commit each).
//!
//! Format: records one after the other from offset 0, each
//! `len: u32 LE, check: u32 LE, seq: u64 LE, at_micros: i64 LE`, then `len` bytes of the
//! decision as JSON (as `ledger.sqlite` keeps it). `check` covers the rest of the record.
//! The log ends at the first record that is zero, cut short, fails its check, or does not
//! carry the sequence number after its predecessor's: a write the crash cut, never
//! acknowledged. The block holding the end is written again, whole, by the next commit:
//! the records already in it are written again with the same bytes.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The unit of every write: offsets and lengths are multiples of it (what `O_DIRECT` asks).
const BLOCK: usize = 4096;
/// The log's file is extended by this much zeroed space at a time, ahead of its records.
const CHUNK: u64 = 4 << 20;
/// A record's fixed part: length, check, sequence number, instant.
pub(super) const HEAD: usize = 24;

/// One decision read back from the log.
pub(super) struct Record {
    pub seq: u64,
    pub at_micros: i64,
    pub text: String,
}

/// What reading a log found: its records in order, and whether something after them was
/// not a record (a write the crash cut).
pub(super) struct Read {
    pub records: Vec<Record>,
    pub cut: bool,
}

/// Append one record (the decision `text` decided at `at_micros`, number `seq`) to `out`,
/// in the log's format. `write` puts the decision's text at the end of the vector it is given.
pub(super) fn encode(out: &mut Vec<u8>, seq: u64, at_micros: i64, write: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; HEAD]);
    write(out);
    let len = (out.len() - start - HEAD) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 8..start + 16].copy_from_slice(&seq.to_le_bytes());
    out[start + 16..start + 24].copy_from_slice(&at_micros.to_le_bytes());
    let check = check(len, &out[start + 8..]);
    out[start + 4..start + 8].copy_from_slice(&check.to_le_bytes());
}

/// The check of a record: its length and everything after the check. Not cryptographic: it
/// tells a record written whole from zeros, a torn write or stale bytes, eight bytes a step.
fn check(len: u32, rest: &[u8]) -> u32 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (len as u64 ^ 0x0063_7574_6f76_6572).wrapping_mul(K);
    let mut words = rest.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().unwrap_or_default())).wrapping_mul(K);
        h ^= h >> 29;
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h ^ u64::from_le_bytes(last) ^ (words.remainder().len() as u64) << 59).wrapping_mul(K);
    h ^= h >> 32;
    h as u32
}

/// Every whole record of the log at `path` (none when there is no file).
pub(super) fn read(path: &Path) -> io::Result<Read> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(parse(&bytes))
}

fn parse(bytes: &[u8]) -> Read {
    let mut records = Vec::new();
    let mut at = 0;
    let mut expected: Option<u64> = None;
    while at + HEAD <= bytes.len() {
        let word = |i: usize| u32::from_le_bytes(bytes[at + i..at + i + 4].try_into().unwrap_or_default());
        let long = |i: usize| u64::from_le_bytes(bytes[at + i..at + i + 8].try_into().unwrap_or_default());
        let (len, sum, seq) = (word(0), word(4), long(8));
        let end = at + HEAD + len as usize;
        if len == 0 || end > bytes.len() || check(len, &bytes[at + 8..end]) != sum || expected.is_some_and(|e| e != seq) {
            break;
        }
        let Ok(text) = std::str::from_utf8(&bytes[at + HEAD..end]) else { break };
        records.push(Record { seq, at_micros: long(16) as i64, text: text.to_string() });
        expected = Some(seq + 1);
        at = end;
    }
    let cut = bytes[at..].iter().any(|b| *b != 0);
    Read { records, cut }
}

/// The log's file, open for the writer's appends.
pub(super) struct Appender {
    file: File,
    path: PathBuf,
    /// Where the block holding the log's end starts (a multiple of [`BLOCK`]).
    tail_at: u64,
    /// The records' bytes from `tail_at` to the end (less than a block).
    tail: Vec<u8>,
    /// The file's length: zeroed space up to here.
    allocated: u64,
    buf: Aligned,
}

impl Appender {
    /// Empty the log at `path` and open it for appending, `O_DIRECT | O_DSYNC` where the
    /// file system allows it, `O_DSYNC` alone where it does not.
    pub(super) fn open_empty(path: &Path) -> io::Result<Appender> {
        let open = |flags| OpenOptions::new().read(true).write(true).create(true).custom_flags(flags).open(path);
        let file = match open(libc::O_DIRECT | libc::O_DSYNC) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => open(libc::O_DSYNC)?,
            other => other?,
        };
        file.set_len(0)?;
        file.sync_all()?;
        Ok(Appender { file, path: path.to_path_buf(), tail_at: 0, tail: Vec::with_capacity(BLOCK), allocated: 0, buf: Aligned::default() })
    }

    /// Write `records` (whole records, as [`encode`] made them) after the log's end: on the
    /// disk when this returns.
    pub(super) fn append(&mut self, records: &[u8]) -> io::Result<()> {
        let used = self.tail.len() + records.len();
        let padded = used.div_ceil(BLOCK) * BLOCK;
        let buf = self.buf.zeroed(padded);
        buf[..self.tail.len()].copy_from_slice(&self.tail);
        buf[self.tail.len()..used].copy_from_slice(records);
        let end = self.tail_at + padded as u64;
        if end > self.allocated {
            // Zeros first, synced once: the commits then only overwrite.
            let to = end.div_ceil(CHUNK) * CHUNK;
            let plain = OpenOptions::new().write(true).open(&self.path)?;
            plain.write_all_at(&vec![0u8; (to - self.allocated) as usize], self.allocated)?;
            plain.sync_all()?;
            self.allocated = to;
        }
        self.file.write_all_at(self.buf.bytes(), self.tail_at)?;
        let tail_at = (self.tail_at + used as u64) / BLOCK as u64 * BLOCK as u64;
        let kept = (tail_at - self.tail_at) as usize..used;
        self.tail.clear();
        self.tail.extend_from_slice(&self.buf.bytes()[kept]);
        self.tail_at = tail_at;
        Ok(())
    }
}

/// A buffer whose start is aligned to [`BLOCK`] (what `O_DIRECT` asks of memory too).
#[derive(Default)]
struct Aligned {
    raw: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    /// `len` zeroed bytes, aligned; [`Aligned::bytes`] until the next call.
    fn zeroed(&mut self, len: usize) -> &mut [u8] {
        if self.raw.len() < len + BLOCK {
            self.raw = vec![0; (len + BLOCK).next_power_of_two()];
        }
        self.start = self.raw.as_ptr().align_offset(BLOCK);
        self.len = len;
        let s = &mut self.raw[self.start..self.start + len];
        s.fill(0);
        s
    }

    fn bytes(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, text: &str) -> Vec<u8> {
        let mut v = Vec::new();
        encode(&mut v, seq, seq as i64 * 10, |o| o.extend_from_slice(text.as_bytes()));
        v
    }

    /// Records appended in commits of every size, across block boundaries, read back in
    /// order; the log ends at a torn record, at stale bytes and at a record out of sequence.
    #[test]
    fn records_appended_across_blocks_read_back_and_the_log_ends_at_the_first_that_is_not_whole() {
        let dir = std::env::temp_dir().join(format!("cutover-log-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let path = dir.join("decisions.log");
        let mut log = Appender::open_empty(&path).expect("the log");
        let mut seq = 1;
        let mut texts = Vec::new();
        for commit in 0..40usize {
            let mut batch = Vec::new();
            for _ in 0..(commit % 7) {
                let text = format!("{{\"n\":{seq},\"pad\":\"{}\"}}", "x".repeat((seq as usize * 37) % 900));
                batch.extend(record(seq, &text));
                texts.push(text);
                seq += 1;
            }
            log.append(&batch).expect("appended");
        }
        let read = read(&path).expect("read back");
        assert!(!read.cut, "nothing after the last record");
        assert_eq!(read.records.len(), texts.len());
        for (i, (r, t)) in read.records.iter().zip(&texts).enumerate() {
            assert_eq!((r.seq, r.at_micros, &r.text), (i as u64 + 1, (i as i64 + 1) * 10, t));
        }

        let mut bytes = std::fs::read(&path).expect("the file");
        let whole = texts.len();
        // A torn last record: its last byte (the last not zero) lost.
        let end = bytes.len() - bytes.iter().rev().position(|b| *b != 0).unwrap_or(0);
        bytes[end - 1] ^= 0x55;
        let torn = parse(&bytes);
        assert_eq!(torn.records.len(), whole - 1, "the torn record is not read");
        assert!(torn.cut, "and it is said to be cut");
        // A record out of sequence after the first three ends the log there.
        let mut v = record(1, "a");
        v.extend(record(2, "b"));
        v.extend(record(3, "c"));
        v.extend(record(9, "stale"));
        v.extend(record(4, "d"));
        let r = parse(&v);
        assert_eq!(r.records.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(r.cut);
        // An empty log and a zeroed one have no record and nothing cut.
        assert!(parse(&[]).records.is_empty());
        let z = parse(&[0; 3 * BLOCK]);
        assert!(z.records.is_empty() && !z.cut);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
