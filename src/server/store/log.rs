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

/// What reading a whole log found: its records in order, and whether something after them
/// was not a record (a write the crash cut). Tests read a log whole; the fold streams it
/// ([`Reader`]).
#[cfg(test)]
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

/// The log's records one at a time, read through a buffer: a killed server's log holds
/// everything it decided since it started (hundreds of bytes a decision, gigabytes after a
/// long rehearsal), and the fold must not hold it all in memory.
pub(super) struct Reader<R> {
    input: R,
    /// Bytes left in the input, when known: a length past them ends the log without
    /// reading (or allocating) it.
    left: Option<u64>,
    expected: Option<u64>,
    /// Bytes read after the last whole record: not zero means the log was cut.
    after: Vec<u8>,
    ended: bool,
}

impl Reader<io::BufReader<File>> {
    /// The log at `path`; `None` when there is no file.
    pub(super) fn open(path: &Path) -> io::Result<Option<Self>> {
        match File::open(path) {
            Ok(f) => {
                let len = f.metadata()?.len();
                Ok(Some(Reader::new(io::BufReader::with_capacity(1 << 16, f), Some(len))))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl<R: io::Read> Reader<R> {
    pub(super) fn new(input: R, left: Option<u64>) -> Self {
        Reader { input, left, expected: None, after: Vec::new(), ended: false }
    }

    /// The next whole record, or `None` where the log ends (see the module's text).
    pub(super) fn next_record(&mut self) -> io::Result<Option<Record>> {
        if self.ended {
            return Ok(None);
        }
        self.after.clear();
        let mut head = [0u8; HEAD];
        if !self.fill(&mut head)? {
            return self.end();
        }
        let word = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().unwrap_or_default());
        let long = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().unwrap_or_default());
        let (len, sum, seq, at) = (word(0), word(4), long(8), long(16) as i64);
        if len == 0 || self.left.is_some_and(|l| (len as u64) > l) || self.expected.is_some_and(|e| e != seq) {
            return self.end();
        }
        let mut body = vec![0u8; 16 + len as usize];
        body[..16].copy_from_slice(&head[8..]);
        if !self.fill(&mut body[16..])? || check(len, &body) != sum {
            return self.end();
        }
        let Ok(text) = String::from_utf8(body.split_off(16)) else { return self.end() };
        self.expected = Some(seq + 1);
        Ok(Some(Record { seq, at_micros: at, text }))
    }

    /// Read `buf` whole, keeping what was read in `after` until the record is known whole;
    /// false at the input's end.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let mut got = 0;
        while got < buf.len() {
            match self.input.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.after.extend_from_slice(&buf[..got]);
        if let Some(l) = self.left.as_mut() {
            *l = l.saturating_sub(got as u64);
        }
        Ok(got == buf.len())
    }

    fn end(&mut self) -> io::Result<Option<Record>> {
        self.ended = true;
        Ok(None)
    }

    /// After the last record: whether anything but zeros follows it (a write the crash
    /// cut). Reads the rest of the input.
    pub(super) fn cut(mut self) -> io::Result<bool> {
        while self.next_record()?.is_some() {}
        if self.after.iter().any(|b| *b != 0) {
            return Ok(true);
        }
        let mut buf = [0u8; 1 << 16];
        loop {
            match self.input.read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(n) if buf[..n].iter().any(|b| *b != 0) => return Ok(true),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Every whole record of the log at `path` (none when there is no file).
#[cfg(test)]
pub(super) fn read(path: &Path) -> io::Result<Read> {
    match Reader::open(path)? {
        Some(r) => collect(r),
        None => Ok(Read { records: Vec::new(), cut: false }),
    }
}

#[cfg(test)]
fn parse(bytes: &[u8]) -> Read {
    collect(Reader::new(bytes, Some(bytes.len() as u64))).expect("reading memory cannot fail")
}

#[cfg(test)]
fn collect<R: io::Read>(mut r: Reader<R>) -> io::Result<Read> {
    let mut records = Vec::new();
    while let Some(rec) = r.next_record()? {
        records.push(rec);
    }
    Ok(Read { records, cut: r.cut()? })
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

    /// An input that gives a few bytes a read, as a pipe or a slow disk may.
    struct Dribble<'a>(&'a [u8], usize);

    impl io::Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 += 1;
            let n = (1 + self.1 % 7).min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// The fold reads the log a record at a time: records split across short reads come
    /// whole, and a length past the input's end ends the log (cut) without reading on.
    #[test]
    fn the_log_is_read_a_record_at_a_time_whatever_the_reads_give() {
        let mut v = Vec::new();
        for seq in 1..=30u64 {
            v.extend(record(seq, &"y".repeat(seq as usize * 11)));
        }
        v.extend([0u8; 100]);
        let mut r = Reader::new(Dribble(&v, 0), None);
        let mut seqs = Vec::new();
        while let Some(rec) = r.next_record().expect("memory") {
            assert_eq!(rec.text.len(), rec.seq as usize * 11);
            seqs.push(rec.seq);
        }
        assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
        assert!(!r.cut().expect("memory"), "zeros after the last record are not a cut");

        let mut long = record(1, "a");
        let claims = u32::MAX.to_le_bytes();
        let mut bad = record(2, "b");
        bad[..4].copy_from_slice(&claims);
        long.extend(bad);
        let mut input = Dribble(&long, 0);
        let mut r = Reader::new(&mut input, Some(long.len() as u64));
        assert!(r.next_record().expect("memory").is_some());
        assert!(r.next_record().expect("memory").is_none(), "a length past the end ends the log");
        drop(r);
        assert_eq!(input.0.len(), long.len() - record(1, "a").len() - HEAD, "its body was not read");
        let r = collect(Reader::new(Dribble(&long, 0), Some(long.len() as u64))).expect("memory");
        assert_eq!((r.records.len(), r.cut), (1, true));
    }
}
