//! The driver's own HTTP/1.1 client connection, for plain `http://` targets.
//!
//! One TCP connection, one request at a time (no pipelining), kept alive. A request is
//! written with one `write` from a reused buffer; the answer is read into another reused
//! buffer, its head parsed by `httparse`, and its body (by `Content-Length`, chunked, or up
//! to the end of the connection) handed to the caller as a borrowed slice, so the common
//! exchange allocates nothing. Behind the same driver, `--transport http1` needs about 0.72x
//! the client CPU per request of `--transport hyper` (BENCHMARKS.md: 11.9 against 16.5 µs,
//! medians of five rounds): hyper runs each connection as a second task with a channel in
//! front of it and builds header maps for every request and answer, and its path here also
//! builds an owned request.
//!
//! Errors are kinds, as everywhere in the driver: `refused`, `reset` (closed or cut short),
//! `timeout`, `transport` (anything else, a malformed answer included).

use crate::contract::WireRef;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest answer head or body the driver reads (a contract answer is a few hundred bytes).
const MAX_ANSWER: usize = 16 << 20;
/// A connection idle longer than this is probed for a close by the server before reuse.
const IDLE_PROBE: Duration = Duration::from_secs(1);

pub struct Conn {
    addr: SocketAddr,
    host: String,
    stream: Option<TcpStream>,
    out: Vec<u8>,
    buf: Vec<u8>,
    /// The decoded body of a chunked answer.
    body: Vec<u8>,
    /// An exchange started and did not finish (its future was dropped on a timeout):
    /// the connection may hold half an answer, so the next exchange starts afresh.
    busy: bool,
    last_used: Instant,
}

pub fn classify(e: &std::io::Error) -> &'static str {
    match e.kind() {
        ErrorKind::ConnectionRefused => "refused",
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof => "reset",
        ErrorKind::TimedOut => "timeout",
        _ => "transport",
    }
}

/// Where the body of an answer is, once its head is parsed.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

struct Head {
    status: u16,
    head_len: usize,
    framing: Framing,
    /// Byte range of the `Retry-After` value within the read buffer.
    retry_after: Option<(usize, usize)>,
    close: bool,
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
}

/// Parse an answer head at the start of `buf`; `Ok(None)` when more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, &'static str> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let head_len = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err("transport"),
    };
    let status = r.code.ok_or("transport")?;
    let mut close = r.version == Some(0);
    let mut framing = Framing::UntilClose;
    let mut retry_after = None;
    let base = buf.as_ptr() as usize;
    for h in r.headers.iter() {
        if eq_ignore_case(h.name, "content-length") {
            let n = std::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse::<usize>().ok()).ok_or("transport")?;
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
fn dechunk(buf: &[u8], out: &mut Vec<u8>) -> Result<Option<usize>, &'static str> {
    out.clear();
    let mut at = 0;
    loop {
        let (size_len, size) = match httparse::parse_chunk_size(&buf[at..]) {
            Ok(httparse::Status::Complete(x)) => x,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err("transport"),
        };
        at += size_len;
        let size = usize::try_from(size).map_err(|_| "transport")?;
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
            return Err("transport");
        }
        at += size + 2;
        if out.len() > MAX_ANSWER {
            return Err("transport");
        }
    }
}

impl Conn {
    pub fn new(addr: SocketAddr, host: &str) -> Conn {
        Conn {
            addr,
            host: host.to_string(),
            stream: None,
            out: Vec::with_capacity(1024),
            buf: Vec::with_capacity(4096),
            body: Vec::new(),
            busy: false,
            last_used: Instant::now(),
        }
    }

    fn encode(&mut self, wire: WireRef<'_>) {
        let o = &mut self.out;
        o.clear();
        o.extend_from_slice(wire.method.as_bytes());
        o.push(b' ');
        o.extend_from_slice(wire.path.as_bytes());
        o.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        o.extend_from_slice(self.host.as_bytes());
        if let Some(k) = wire.idempotency_key {
            o.extend_from_slice(b"\r\nidempotency-key: ");
            o.extend_from_slice(k.as_bytes());
        }
        for (k, v) in wire.headers {
            o.extend_from_slice(b"\r\n");
            o.extend_from_slice(k.as_bytes());
            o.extend_from_slice(b": ");
            o.extend_from_slice(v.as_bytes());
        }
        let body = wire.body.unwrap_or_default();
        if wire.body.is_some() {
            o.extend_from_slice(b"\r\ncontent-type: application/json");
        }
        if wire.body.is_some() || wire.method != "GET" {
            o.extend_from_slice(b"\r\ncontent-length: ");
            o.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
        }
        o.extend_from_slice(b"\r\n\r\n");
        o.extend_from_slice(body);
    }

    /// Whether a kept-alive connection is still open: only probed after a pause, when a
    /// server may have closed it (a busy connection is not probed: no extra system call).
    fn stale(&self, now: Instant) -> bool {
        let Some(s) = &self.stream else { return true };
        if now.saturating_duration_since(self.last_used) < IDLE_PROBE {
            return false;
        }
        let mut b = [0u8; 1];
        // Data or an end of stream while idle: either way the connection is no use.
        !matches!(s.try_read(&mut b), Err(e) if e.kind() == ErrorKind::WouldBlock)
    }

    /// One exchange, starting `now`. `read` sees the status, the `Retry-After` value and the
    /// body while they are in the connection's buffers, and its result is returned.
    pub async fn exchange<R>(
        &mut self,
        now: Instant,
        wire: WireRef<'_>,
        read: impl FnOnce(u16, Option<&str>, &[u8]) -> R,
    ) -> Result<R, &'static str> {
        if self.busy || self.stale(now) {
            self.stream = None;
        }
        self.busy = true;
        let r = self.exchange_inner(wire, read).await;
        if r.is_err() {
            self.stream = None;
        }
        self.busy = false;
        // When the exchange started: close enough to tell an idle connection.
        self.last_used = now;
        r
    }

    async fn exchange_inner<R>(&mut self, wire: WireRef<'_>, read: impl FnOnce(u16, Option<&str>, &[u8]) -> R) -> Result<R, &'static str> {
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr).await.map_err(|e| classify(&e))?;
            let _ = s.set_nodelay(true);
            self.stream = Some(s);
        }
        self.encode(wire);
        let Some(stream) = self.stream.as_mut() else {
            return Err("transport");
        };
        stream.write_all(&self.out).await.map_err(|e| classify(&e))?;
        self.buf.clear();
        let head = loop {
            if self.buf.capacity() - self.buf.len() < 1024 {
                self.buf.reserve(4096);
            }
            let n = stream.read_buf(&mut self.buf).await.map_err(|e| classify(&e))?;
            if n == 0 {
                return Err("reset");
            }
            if let Some(h) = parse_head(&self.buf)? {
                if (100..200).contains(&h.status) && h.status != 101 {
                    // An interim answer (100 Continue): drop it and read on.
                    self.buf.drain(..h.head_len);
                    continue;
                }
                break h;
            }
            if self.buf.len() > MAX_ANSWER {
                return Err("transport");
            }
        };
        let body_range = loop {
            let have = &self.buf[head.head_len..];
            match head.framing {
                Framing::Length(n) if have.len() >= n => break (head.head_len, head.head_len + n),
                Framing::Chunked if dechunk(have, &mut self.body)?.is_some() => break (0, 0),
                _ => {}
            }
            if self.buf.len() > MAX_ANSWER + head.head_len {
                return Err("transport");
            }
            if self.buf.capacity() - self.buf.len() < 1024 {
                self.buf.reserve(self.buf.len().max(4096));
            }
            let n = stream.read_buf(&mut self.buf).await.map_err(|e| classify(&e))?;
            if n == 0 {
                match head.framing {
                    Framing::UntilClose => break (head.head_len, self.buf.len()),
                    _ => return Err("reset"),
                }
            }
        };
        if head.close || matches!(head.framing, Framing::UntilClose) {
            self.stream = None;
        }
        let retry_after = head.retry_after.and_then(|(a, b)| std::str::from_utf8(&self.buf[a..b]).ok()).map(str::trim);
        let body = match head.framing {
            Framing::Chunked => &self.body[..],
            _ => &self.buf[body_range.0..body_range.1],
        };
        Ok(read(head.status, retry_after, body))
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

    /// A scripted server on 127.0.0.1:0: for each accepted connection, one list of answers,
    /// each sent after reading one request head (a request has no body here: GET).
    fn scripted(conns: Vec<Vec<&'static [u8]>>) -> SocketAddr {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for answers in conns {
                let (mut s, _) = l.accept().unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                for a in answers {
                    let mut got = Vec::new();
                    let mut b = [0u8; 1024];
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = s.read(&mut b).unwrap();
                        assert!(n > 0, "the client closed early");
                        got.extend_from_slice(&b[..n]);
                    }
                    assert!(got.starts_with(b"GET /x HTTP/1.1\r\nhost: h\r\n"), "{}", String::from_utf8_lossy(&got));
                    // Answer in two pieces, so the client has to read more than once.
                    let (x, y) = a.split_at(a.len() / 2);
                    s.write_all(x).unwrap();
                    s.flush().unwrap();
                    std::thread::sleep(Duration::from_millis(5));
                    s.write_all(y).unwrap();
                }
            }
        });
        addr
    }

    #[test]
    fn exchanges_keep_alive_follow_chunks_and_reconnect_after_close() {
        let addr = scripted(vec![
            vec![
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
                b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
            ],
            vec![b"HTTP/1.0 201 Created\r\n\r\nuntil the end"],
        ]);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut c = Conn::new(addr, "h");
            let wire = WireRef { method: "GET", path: "/x", idempotency_key: None, headers: &[], body: None };
            let get = async |c: &mut Conn| {
                c.exchange(Instant::now(), wire, |status, retry, body| (status, retry.map(str::to_string), body.to_vec())).await
            };
            assert_eq!(get(&mut c).await, Ok((200, None, b"hello".to_vec())));
            assert_eq!(get(&mut c).await, Ok((503, Some("7".to_string()), b"abcde".to_vec())));
            assert_eq!(get(&mut c).await, Ok((200, None, b"ok".to_vec())));
            assert!(c.stream.is_none(), "connection: close was not honoured");
            // A new connection, answered by HTTP/1.0 without a length: read to the end.
            assert_eq!(get(&mut c).await, Ok((201, None, b"until the end".to_vec())));
            // Nobody listens any more on a second reconnection: an error kind, no panic.
            assert!(matches!(get(&mut c).await, Err("refused" | "reset" | "transport")));
        });
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
