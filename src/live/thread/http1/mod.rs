//! The driver's own HTTP/1.1 client connection, for plain `http://` targets.
//!
//! One TCP connection, one request at a time (no pipelining), kept alive, driven by
//! readiness events from the sending thread's own `mio` poll (see [`super::reactor`]): no
//! future, task or waker per request. A request is written with one `write` from a reused
//! buffer; the answer is read into another reused buffer, its head parsed by `httparse`,
//! and its body (by `Content-Length`, chunked, or up to the end of the connection) handed
//! to the caller as a borrowed slice, so the common exchange allocates nothing. The socket
//! is registered for readable events only, except while it connects or a request waits for
//! room to be written: no wake-up for the acknowledgements of requests.
//!
//! On Linux, once the thread would sleep through answers ([`Conn::ask_stamps`]), each
//! socket asks the kernel to stamp what arrives (`SO_TIMESTAMPNS`), and an answer's bytes
//! are read with `recvmsg`, which gives the instant its last bytes arrived
//! ([`Conn::arrived`]): an answer is timed by its arrival, not by when the thread came to
//! read it, so a thread busy elsewhere or asleep does not lengthen the response times it
//! records, and the thread may sleep through answers ([`super::reactor::Reactor::nap`]).
//!
//! Errors are kinds, as everywhere in the driver: `refused`, `reset` (closed or cut short),
//! `timeout`, `transport` (anything else, a malformed answer included), each with the words
//! of what went wrong ([`Broken`]) for the report's failure samples.

mod answer;
mod broken;
mod stamp;

use crate::contract::WireRef;
use crate::vocabulary::Failure;
use answer::{Framing, Head, MAX_ANSWER, dechunk, parse_head};
pub(in crate::live) use broken::{Broken, classify};
use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A connection idle longer than this is probed for a close by the server before reuse.
const IDLE_PROBE: Duration = Duration::from_secs(1);

/// Whether an event says the peer closed its side, or the connection failed.
fn closing(ev: &Event) -> bool {
    ev.is_read_closed() || ev.is_error()
}

/// What an exchange did on an event.
#[derive(Debug, PartialEq)]
pub(in crate::live) enum Step {
    /// Waiting for the socket.
    Pending,
    /// The whole answer is in: read it with [`Conn::answer`], then call [`Conn::done`].
    Answered,
    /// The exchange failed (the connection is closed): an error kind and its words.
    Failed(Broken),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Idle,
    Connecting,
    Writing,
    Reading,
    Answered,
}

/// One keep-alive HTTP/1.1 connection driven by readiness events: the caller owns the
/// `mio::Poll` it is registered with (under one token) and hands it every event for that
/// token.
pub(in crate::live) struct Conn {
    addr: SocketAddr,
    host: String,
    stream: Option<TcpStream>,
    state: State,
    /// Registered for writable events too: while connecting, or while a request waits for
    /// room in the socket's send buffer (otherwise only readable: no wake-up per ACK).
    want_write: bool,
    out: Vec<u8>,
    written: usize,
    /// Read buffer (its length is its usable size) and how much of it holds the answer.
    buf: Vec<u8>,
    filled: usize,
    head: Option<Head>,
    /// The decoded body of a chunked answer.
    body: Vec<u8>,
    body_range: (usize, usize),
    last_used: Instant,
    /// Whether the thread asked for the kernel's arrival stamps ([`Conn::ask_stamps`]).
    stamps: bool,
    /// Whether a request on an open connection waits for the thread's batch of writes
    /// ([`Conn::deferred`]) rather than being written at once.
    pub(in crate::live) defer: bool,
    /// Whether the kernel stamps what arrives on the open socket.
    stamped: bool,
    /// When the last bytes of the answer being read arrived (real-time clock, since the
    /// Unix epoch), as the kernel stamped them.
    arrived: Option<Duration>,
}

impl Conn {
    pub(in crate::live) fn new(addr: SocketAddr, host: &str) -> Conn {
        Conn {
            addr,
            host: host.to_string(),
            stream: None,
            state: State::Idle,
            want_write: false,
            out: Vec::with_capacity(1024),
            written: 0,
            buf: vec![0; 4096],
            filled: 0,
            head: None,
            body: Vec::new(),
            body_range: (0, 0),
            last_used: Instant::now(),
            stamps: false,
            defer: false,
            stamped: false,
            arrived: None,
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
        !matches!(s.peek(&mut b), Err(e) if e.kind() == ErrorKind::WouldBlock)
    }

    /// Whether the connection is open and what arrives on it is not stamped by the kernel
    /// (its answers are then timed when read, not by [`Conn::arrived`]), stamps asked or
    /// not. A connection that could not be opened is not that: it has nothing to read.
    pub(in crate::live) fn unstamped(&self) -> bool {
        self.stream.is_some() && !self.stamped
    }

    /// Whether the kernel was asked to stamp what arrives on the open socket.
    pub(in crate::live) fn stamped(&self) -> bool {
        self.stamped
    }

    /// Ask the kernel to stamp what arrives, on the open socket now and on every one opened
    /// later. Not asked until a thread would sleep through answers: a stamp costs each read
    /// its control message, and while any socket asks, the kernel stamps every packet the
    /// machine receives (the target's requests too).
    pub(in crate::live) fn ask_stamps(&mut self) {
        self.stamps = true;
        if let Some(s) = &self.stream
            && !self.stamped
        {
            self.stamped = stamp::enable(s);
        }
    }

    /// When the last bytes of the answer just read arrived (real-time clock, since the Unix
    /// epoch), if the kernel stamped them.
    pub(in crate::live) fn arrived(&self) -> Option<Duration> {
        self.arrived
    }

    /// Close the connection (a closed socket leaves the poll set by itself).
    fn close(&mut self) {
        self.stream = None;
        self.stamped = false;
        self.want_write = false;
        self.state = State::Idle;
    }

    fn fail(&mut self, broken: Broken) -> Step {
        self.close();
        Step::Failed(broken)
    }

    /// Open the connection ahead of its first request (the run's warm-up, before its first
    /// due instant), so that the first requests do not wait for a handshake the driver could
    /// have made earlier. A failure leaves the connecting to the first request, which says why.
    pub(in crate::live) fn open_ahead(&mut self, registry: &Registry, token: Token, timeout: Duration) {
        if self.stream.is_some() {
            return;
        }
        let Ok(s) = std::net::TcpStream::connect_timeout(&self.addr, timeout) else { return };
        if s.set_nonblocking(true).is_err() {
            return;
        }
        let _ = s.set_nodelay(true);
        let mut s = TcpStream::from_std(s);
        if registry.register(&mut s, token, Interest::READABLE).is_err() {
            return;
        }
        self.stamped = self.stamps && stamp::enable(&s);
        self.stream = Some(s);
        self.want_write = false;
        self.state = State::Idle;
        self.last_used = Instant::now();
    }

    /// Start an exchange at `now`: connect if need be, then write the request.
    pub(in crate::live) fn begin(&mut self, registry: &Registry, token: Token, now: Instant, wire: WireRef<'_>) -> Step {
        if self.state != State::Idle || self.stale(now) {
            self.close();
        }
        self.last_used = now;
        self.encode(wire);
        self.written = 0;
        self.filled = 0;
        self.head = None;
        self.arrived = None;
        if self.stream.is_none() {
            let mut s = match TcpStream::connect(self.addr) {
                Ok(s) => s,
                Err(e) => return Step::Failed(Broken::io(&e)),
            };
            if let Err(e) = registry.register(&mut s, token, Interest::READABLE | Interest::WRITABLE) {
                return Step::Failed(Broken::io(&e));
            }
            self.stamped = self.stamps && stamp::enable(&s);
            self.stream = Some(s);
            self.want_write = true;
            self.state = State::Connecting;
            return Step::Pending;
        }
        self.state = State::Writing;
        if self.defer {
            return Step::Pending;
        }
        self.write(registry, token)
    }

    /// The request waiting to be written by the thread's batch (`begin` with `defer`): the
    /// socket and the bytes, if it waits.
    #[cfg(target_os = "linux")]
    pub(in crate::live) fn deferred(&self) -> Option<(std::os::fd::RawFd, &[u8])> {
        use std::os::fd::AsRawFd;
        let s = self.stream.as_ref()?;
        (self.defer && self.unwritten()).then(|| (s.as_raw_fd(), &self.out[..]))
    }

    /// Whether the request is still to be written from its start.
    #[cfg(target_os = "linux")]
    pub(in crate::live) fn unwritten(&self) -> bool {
        self.stream.is_some() && self.state == State::Writing && self.written == 0
    }

    /// The batch wrote `n` bytes of the request (or none: `n` < 0, the socket's error):
    /// write the rest as a lone write would.
    #[cfg(target_os = "linux")]
    pub(in crate::live) fn wrote(&mut self, registry: &Registry, token: Token, n: i32) -> Step {
        if n > 0 {
            self.written += n as usize;
        }
        self.write(registry, token)
    }

    /// Give up the exchange under way (its deadline passed): the connection may hold half
    /// an answer, so it is closed.
    pub(in crate::live) fn abort(&mut self) {
        self.close();
    }

    /// An event for this connection's token.
    pub(in crate::live) fn on_event(&mut self, registry: &Registry, token: Token, ev: &Event) -> Step {
        match self.state {
            // A close by the server while idle: found by the probe before the next use.
            State::Idle | State::Answered => Step::Pending,
            State::Connecting => {
                let Some(s) = &self.stream else { return self.fail(Broken::said(Failure::Transport, "connection gone")) };
                match s.take_error() {
                    Ok(Some(e)) | Err(e) => return self.fail(Broken::io(&e)),
                    Ok(None) => {}
                }
                match s.peer_addr() {
                    Ok(_) => {
                        let _ = s.set_nodelay(true);
                        self.state = State::Writing;
                        self.write(registry, token)
                    }
                    Err(e) if e.kind() == ErrorKind::NotConnected && !ev.is_error() && !ev.is_write_closed() => Step::Pending,
                    Err(e) if e.kind() == ErrorKind::NotConnected => self.fail(Broken::said(Failure::Refused, "connection not made")),
                    Err(e) => self.fail(Broken::io(&e)),
                }
            }
            State::Writing => match self.write(registry, token) {
                // An answer may come before the whole request is written (a 413, say).
                Step::Pending if self.state == State::Reading && ev.is_readable() => self.read(closing(ev)),
                step => step,
            },
            State::Reading => self.read(closing(ev)),
        }
    }

    fn write(&mut self, registry: &Registry, token: Token) -> Step {
        let Some(s) = self.stream.as_mut() else { return self.fail(Broken::said(Failure::Transport, "connection gone")) };
        while self.written < self.out.len() {
            match s.write(&self.out[self.written..]) {
                Ok(0) => return self.fail(Broken::said(Failure::Reset, "connection closed while the request was written")),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if !self.want_write {
                        if let Err(e) = registry.reregister(s, token, Interest::READABLE | Interest::WRITABLE) {
                            return self.fail(Broken::io(&e));
                        }
                        self.want_write = true;
                    }
                    return Step::Pending;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.fail(Broken::io(&e)),
            }
        }
        if self.want_write {
            if let Err(e) = registry.reregister(s, token, Interest::READABLE) {
                return self.fail(Broken::io(&e));
            }
            self.want_write = false;
        }
        self.state = State::Reading;
        Step::Pending
    }

    /// Read what the socket holds. `closing`: the event says the peer closed its side, so
    /// read on to the end of the stream (no later event will tell of it).
    fn read(&mut self, closing: bool) -> Step {
        loop {
            if self.buf.len() - self.filled < 1024 {
                let grown = (self.buf.len() * 2).max(4096);
                self.buf.resize(grown, 0);
            }
            let Some(s) = self.stream.as_mut() else { return self.fail(Broken::said(Failure::Transport, "connection gone")) };
            let room = self.buf.len() - self.filled;
            let got = if self.stamped {
                stamp::recv(s, &mut self.buf[self.filled..]).map(|(n, at)| {
                    self.arrived = at.or(self.arrived);
                    n
                })
            } else {
                s.read(&mut self.buf[self.filled..])
            };
            match got {
                Ok(0) => {
                    return match &self.head {
                        Some(h) if matches!(h.framing, Framing::UntilClose) => {
                            self.body_range = (h.head_len, self.filled);
                            self.state = State::Answered;
                            Step::Answered
                        }
                        _ => self.fail(Broken::said(Failure::Reset, "connection closed before the whole answer")),
                    };
                }
                Ok(n) => {
                    self.filled += n;
                    match self.complete() {
                        Err(broken) => return self.fail(broken),
                        Ok(true) => {
                            self.state = State::Answered;
                            return Step::Answered;
                        }
                        // Less than there was room for: the socket is drained, and the next
                        // bytes to arrive bring a new event.
                        Ok(false) if n < room && !closing => return Step::Pending,
                        Ok(false) => {}
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Pending,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.fail(Broken::io(&e)),
            }
        }
    }

    /// Whether the bytes read so far hold the whole answer.
    fn complete(&mut self) -> Result<bool, Broken> {
        while self.head.is_none() {
            match parse_head(&self.buf[..self.filled])? {
                None if self.filled > MAX_ANSWER => return Err(Broken::malformed("answer head past 16 MiB")),
                None => return Ok(false),
                Some(h) if (100..200).contains(&h.status) && h.status != 101 => {
                    // An interim answer (100 Continue): drop it and read on.
                    self.buf.copy_within(h.head_len..self.filled, 0);
                    self.filled -= h.head_len;
                }
                Some(h) => self.head = Some(h),
            }
        }
        let Some(head) = &self.head else { return Ok(false) };
        let have = &self.buf[head.head_len..self.filled];
        match head.framing {
            Framing::Length(n) if have.len() >= n => {
                self.body_range = (head.head_len, head.head_len + n);
                Ok(true)
            }
            Framing::Length(n) if n > MAX_ANSWER => Err(Broken::malformed("answer body past 16 MiB")),
            Framing::Length(_) | Framing::UntilClose if have.len() > MAX_ANSWER => Err(Broken::malformed("answer body past 16 MiB")),
            Framing::Length(_) | Framing::UntilClose => Ok(false),
            Framing::Chunked => Ok(dechunk(have, &mut self.body)?.is_some()),
        }
    }

    /// The answer just read: status, `Retry-After` value, body.
    pub(in crate::live) fn answer(&self) -> (u16, Option<&str>, &[u8]) {
        let Some(h) = &self.head else { return (0, None, &[]) };
        let retry_after = h.retry_after.and_then(|(a, b)| std::str::from_utf8(&self.buf[a..b]).ok()).map(str::trim);
        let body = match h.framing {
            Framing::Chunked => &self.body[..],
            _ => &self.buf[self.body_range.0..self.body_range.1],
        };
        (h.status, retry_after, body)
    }

    /// The answer is read: keep the connection for the next exchange unless it is closing.
    pub(in crate::live) fn done(&mut self) {
        let closing = self.head.as_ref().is_none_or(|h| h.close || matches!(h.framing, Framing::UntilClose));
        if closing {
            self.close();
        }
        self.state = State::Idle;
    }

    #[cfg(test)]
    fn is_open(&self) -> bool {
        self.stream.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted server on 127.0.0.1:0: for each accepted connection, one list of answers,
    /// each sent after reading one request (its head, and its body by `content-length`).
    /// Gives the address and a channel of the requests' sizes.
    fn scripted(conns: Vec<Vec<&'static [u8]>>) -> (SocketAddr, std::sync::mpsc::Receiver<usize>) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for answers in conns {
                let (mut s, _) = l.accept().unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                for a in answers {
                    let mut got = Vec::new();
                    let mut b = [0u8; 65536];
                    let head_end = loop {
                        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let n = s.read(&mut b).unwrap();
                        assert!(n > 0, "the client closed early");
                        got.extend_from_slice(&b[..n]);
                    };
                    let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
                    assert!(head.contains(" /x http/1.1\r\nhost: h\r\n"), "{head}");
                    let len: usize = head.split("content-length: ").nth(1).map_or(0, |v| v.split("\r\n").next().unwrap().parse().unwrap());
                    while got.len() < head_end + len {
                        let n = s.read(&mut b).unwrap();
                        assert!(n > 0, "the client closed early");
                        got.extend_from_slice(&b[..n]);
                    }
                    tx.send(got.len()).unwrap();
                    // Answer in two pieces, so the client has to read more than once.
                    let (x, y) = a.split_at(a.len() / 2);
                    s.write_all(x).unwrap();
                    s.flush().unwrap();
                    std::thread::sleep(Duration::from_millis(5));
                    s.write_all(y).unwrap();
                }
            }
        });
        (addr, rx)
    }

    type Answer = (u16, Option<String>, Vec<u8>);

    /// One exchange driven to its end through a poll of its own, as the reactor drives it.
    fn exchange(poll: &mut mio::Poll, c: &mut Conn, wire: WireRef<'_>) -> Result<Answer, Broken> {
        let mut events = mio::Events::with_capacity(8);
        let mut step = c.begin(poll.registry(), Token(0), Instant::now(), wire);
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            match step {
                Step::Answered => {
                    let (status, retry, body) = c.answer();
                    let out = (status, retry.map(str::to_string), body.to_vec());
                    c.done();
                    return Ok(out);
                }
                Step::Failed(broken) => return Err(broken),
                Step::Pending => {}
            }
            assert!(Instant::now() < give_up, "no answer within 10 s");
            poll.poll(&mut events, Some(Duration::from_millis(100))).unwrap();
            for ev in events.iter() {
                step = c.on_event(poll.registry(), Token(0), ev);
            }
        }
    }

    /// Only an open socket the kernel does not stamp keeps a thread from sleeping through
    /// answers: a connection never opened (or closed, as one that failed) has nothing to read.
    #[test]
    fn only_an_open_unstamped_socket_counts_as_unstamped() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let poll = mio::Poll::new().unwrap();
        let mut c = Conn::new(l.local_addr().unwrap(), "h");
        assert!(!c.unstamped(), "a connection never opened");
        c.open_ahead(poll.registry(), Token(0), Duration::from_secs(2));
        assert!(c.is_open());
        assert!(c.unstamped() && !c.stamped(), "stamps not asked for");
        c.ask_stamps();
        #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
        assert!(!c.unstamped() && c.stamped(), "a plain socket on Linux is stamped once asked");
        c.abort();
        assert!(!c.unstamped(), "a closed connection");
        // Asked once, a connection opened later is stamped from the start.
        c.open_ahead(poll.registry(), Token(0), Duration::from_secs(2));
        #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
        assert!(c.is_open() && c.stamped(), "stamped when opened again");
    }

    /// The warm-up: a connection opened ahead carries the first request itself (the scripted
    /// server accepts once, and its one connection gets the request).
    #[test]
    fn a_connection_opened_ahead_carries_the_first_request() {
        let (addr, sizes) = scripted(vec![vec![b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]]);
        let mut poll = mio::Poll::new().unwrap();
        let mut c = Conn::new(addr, "h");
        c.open_ahead(poll.registry(), Token(0), Duration::from_secs(2));
        assert!(c.stream.is_some() && c.state == State::Idle, "opened ahead");
        let get = WireRef { method: "GET", path: "/x", idempotency_key: None, headers: &[], body: None };
        assert_eq!(exchange(&mut poll, &mut c, get), Ok((200, None, b"ok".to_vec())));
        assert!(sizes.recv_timeout(Duration::from_secs(5)).is_ok());
        // Nothing listens: the warm-up leaves the connecting to the first request.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let mut c = Conn::new(closed, "h");
        c.open_ahead(poll.registry(), Token(1), Duration::from_secs(2));
        assert!(c.stream.is_none());
    }

    #[test]
    fn exchanges_keep_alive_follow_chunks_and_reconnect_after_close() {
        let (addr, sizes) = scripted(vec![
            vec![
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
                b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
            ],
            vec![b"HTTP/1.0 201 Created\r\n\r\nuntil the end"],
            vec![b"HTTP/1.1 413 Content Too Large\r\ncontent-length: 0\r\n\r\n"],
        ]);
        let mut poll = mio::Poll::new().unwrap();
        let mut c = Conn::new(addr, "h");
        let get = WireRef { method: "GET", path: "/x", idempotency_key: None, headers: &[], body: None };
        assert_eq!(exchange(&mut poll, &mut c, get), Ok((200, None, b"hello".to_vec())));
        assert_eq!(exchange(&mut poll, &mut c, get), Ok((503, Some("7".to_string()), b"abcde".to_vec())));
        assert_eq!(exchange(&mut poll, &mut c, get), Ok((200, None, b"ok".to_vec())));
        assert!(!c.is_open(), "connection: close was not honoured");
        // A new connection, answered by HTTP/1.0 without a length: read to the end.
        assert_eq!(exchange(&mut poll, &mut c, get), Ok((201, None, b"until the end".to_vec())));
        assert!(!c.is_open());
        // A body far larger than a socket's send buffer: written over many writable events.
        let big = vec![b'x'; 8 << 20];
        let post = WireRef { method: "POST", path: "/x", idempotency_key: Some("k"), headers: &[], body: Some(&big) };
        assert_eq!(exchange(&mut poll, &mut c, post), Ok((413, None, Vec::new())));
        let mut seen: Vec<usize> = sizes.try_iter().collect();
        assert_eq!(seen.len(), 5);
        assert!(seen.pop().unwrap() > big.len(), "the server did not get the whole body");
        // Nobody listens any more on a new connection: an error kind, no panic.
        let broken = exchange(&mut poll, &mut c, get).expect_err("nobody listens");
        assert!(matches!(broken.kind, Failure::Refused | Failure::Reset | Failure::Transport), "{broken:?}");
        assert!(!broken.why.is_empty(), "a failure without its words");
    }

    /// A failure carries its words: a malformed answer says what was wrong with it, a
    /// connection closed mid-answer says so, each with its kind.
    #[test]
    fn a_broken_exchange_says_why() {
        let (addr, _sizes) = scripted(vec![
            vec![b"HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n"],
            vec![b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n"],
            vec![b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\nhalf"],
        ]);
        let mut poll = mio::Poll::new().unwrap();
        let mut c = Conn::new(addr, "h");
        let get = WireRef { method: "GET", path: "/x", idempotency_key: None, headers: &[], body: None };
        let b = exchange(&mut poll, &mut c, get).expect_err("a status that is not a number");
        assert_eq!((b.kind, b.why.as_ref()), (Failure::Transport, "malformed answer head: invalid response status"));
        let b = exchange(&mut poll, &mut c, get).expect_err("a length that is not a number");
        assert_eq!((b.kind, b.why.as_ref()), (Failure::Transport, "unreadable Content-Length"));
        let b = exchange(&mut poll, &mut c, get).expect_err("an answer cut short");
        assert_eq!((b.kind, b.why.as_ref()), (Failure::Reset, "connection closed before the whole answer"));
    }
}
