//! An answer's head and body as they arrive: the head parsed by `httparse`, the body framed by
//! its length, its chunks or the connection's end.

use super::broken::Broken;
use crate::vocabulary::Failure;

/// The largest answer head or body the driver reads (a contract answer is a few hundred bytes).
pub(super) const MAX_ANSWER: usize = 16 << 20;

/// Where the body of an answer is, once its head is parsed.
pub(super) enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

pub(super) struct Head {
    pub status: u16,
    pub head_len: usize,
    pub framing: Framing,
    /// Byte range of the `Retry-After` value within the read buffer.
    pub retry_after: Option<(usize, usize)>,
    pub close: bool,
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
}

/// Parse an answer head at the start of `buf`; `Ok(None)` when more bytes are needed.
pub(super) fn parse_head(buf: &[u8]) -> Result<Option<Head>, Broken> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let head_len = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Broken { kind: Failure::Transport, why: format!("malformed answer head: {e}").into() }),
    };
    let status = r.code.ok_or(Broken::malformed("answer head without a status"))?;
    let mut close = r.version == Some(0);
    let mut framing = Framing::UntilClose;
    let mut retry_after = None;
    let base = buf.as_ptr() as usize;
    for h in r.headers.iter() {
        if eq_ignore_case(h.name, "content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or(Broken::malformed("unreadable Content-Length"))?;
            if !matches!(framing, Framing::Chunked) {
                framing = Framing::Length(n);
            }
        } else if eq_ignore_case(h.name, "transfer-encoding") {
            if h.value.to_ascii_lowercase().windows(7).any(|w| w == b"chunked") {
                framing = Framing::Chunked;
            }
        } else if eq_ignore_case(h.name, "connection") {
            let v = h.value.to_ascii_lowercase();
            if v.windows(5).any(|w| w == b"close") {
                close = true;
            } else if v.windows(10).any(|w| w == b"keep-alive") {
                close = false;
            }
        } else if eq_ignore_case(h.name, "retry-after") {
            let start = h.value.as_ptr() as usize - base;
            retry_after = Some((start, start + h.value.len()));
        }
    }
    // Answers that never carry a body.
    if status == 204 || status == 304 || (100..200).contains(&status) {
        framing = Framing::Length(0);
    }
    Ok(Some(Head { status, head_len, framing, retry_after, close }))
}

/// Decode a chunked body starting at `buf[0]` into `out`; `Ok(None)` when incomplete,
/// `Ok(Some(n))` with the bytes consumed when the last chunk and its trailer are in.
pub(super) fn dechunk(buf: &[u8], out: &mut Vec<u8>) -> Result<Option<usize>, Broken> {
    out.clear();
    let mut at = 0;
    loop {
        let (size_len, size) = match httparse::parse_chunk_size(&buf[at..]) {
            Ok(httparse::Status::Complete(x)) => x,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(Broken::malformed("malformed chunk size")),
        };
        at += size_len;
        let size = usize::try_from(size).map_err(|_| Broken::malformed("chunk size past memory"))?;
        if size == 0 {
            // Trailer fields, then an empty line.
            loop {
                let rest = &buf[at..];
                let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                at += eol + 2;
                if eol == 0 {
                    return Ok(Some(at));
                }
            }
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&buf[at..at + size]);
        if &buf[at + size..at + size + 2] != b"\r\n" {
            return Err(Broken::malformed("a chunk not ended by CRLF"));
        }
        at += size + 2;
        if out.len() > MAX_ANSWER {
            return Err(Broken::malformed("answer body past 16 MiB"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_framed_by_length_chunks_or_close() {
        let h = parse_head(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\nContent-Length: 5\r\n\r\nhello").unwrap().unwrap();
        assert_eq!(h.status, 503);
        assert!(matches!(h.framing, Framing::Length(5)));
        let (a, b) = h.retry_after.unwrap();
        assert_eq!(&b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 120\r\nContent-Length: 5\r\n\r\nhello"[a..b], b"120");
        assert!(!h.close);
        let h = parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").unwrap().unwrap();
        assert!(matches!(h.framing, Framing::Chunked));
        let h = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert!(matches!(h.framing, Framing::UntilClose));
        assert!(h.close);
        let h = parse_head(b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n").unwrap().unwrap();
        assert!(h.close);
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-le").unwrap().is_none());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n").is_err());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }

    #[test]
    fn chunked_bodies_decode_only_when_complete() {
        let mut out = Vec::new();
        let whole = b"4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nx-trailer: 1\r\n\r\n";
        assert_eq!(dechunk(whole, &mut out).unwrap(), Some(whole.len()));
        assert_eq!(out, b"abcdefg");
        for cut in 0..whole.len() {
            assert_eq!(dechunk(&whole[..cut], &mut out).unwrap(), None, "cut at {cut}");
        }
        assert!(dechunk(b"4\r\nabcdXY0\r\n\r\n", &mut out).is_err());
    }
}
