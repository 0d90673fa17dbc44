//! The readiness loop's tests: precise waits, answers timed by their arrival, failures as
//! error kinds, a turn's writes in one submission.

use super::*;
use crate::model::{IdemKey, PayerRef, Request};
use crate::scenario::GroupKind;

fn reactor(lanes: Vec<Lane>) -> Reactor {
    let spec = Arc::new(crate::scenario::load(std::path::Path::new("scenarios/ci-smoke.json")).expect("scenario"));
    let ctx = Arc::new(CallCtx {
        spec: spec.clone(),
        timeout: Duration::from_millis(200),
        clock: VirtualClock::starting_now(spec.start, 1.0),
        rebase: false,
    });
    Reactor::new(ctx, lanes).expect("poll")
}

#[test]
fn waits_end_at_their_instant_not_at_the_next_millisecond() {
    // The poll's own timeout rounds up to whole milliseconds (~790 µs late here); the
    // thread's timerfd ends the wait on time.
    let mut r = reactor(Vec::new());
    crate::live::thread::timer::assert_waits_are_precise(|at| r.poll(Some(at), Instant::now()));
}

/// A server on loopback answering `{}` to every request on every connection it accepts.
#[cfg(target_os = "linux")]
fn answering_server() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut b = [0u8; 4096];
                loop {
                    let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match s.read(&mut b) {
                            Ok(n) if n > 0 => got.extend_from_slice(&b[..n]),
                            _ => return,
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&got[..i]).to_ascii_lowercase();
                    let len: usize = head.split("content-length: ").nth(1).map_or(0, |v| v.split("\r\n").next().unwrap().parse().unwrap());
                    while got.len() < i + 4 + len {
                        match s.read(&mut b) {
                            Ok(n) if n > 0 => got.extend_from_slice(&b[..n]),
                            _ => return,
                        }
                    }
                    got.drain(..i + 4 + len);
                    if s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[cfg(target_os = "linux")]
fn pay(id: u32) -> Work {
    let req = Request::Pay {
        key: IdemKey::new(u128::from(id)),
        payer: PayerRef { id, group: GroupKind::Flexible, league: 0 },
        channel: 0,
        items: [100, 0, 0, 0, 0, 0],
        period: crate::model::Period::UNKNOWN,
        special: false,
        assessment: None,
    };
    Work { id, req, system: 0 }
}

/// A reactor with `n` connections open to an [`answering_server`], a request started on
/// each (ids 1 to `n`).
#[cfg(target_os = "linux")]
fn open_and_started(n: u32) -> Reactor {
    let addr = answering_server();
    let base = Base { url: format!("http://{addr}"), host: addr.to_string(), addr, tls: None };
    let lanes = (0..n).map(|_| Lane::new(&base, crate::live::deployment::target::Api::Contract, 0)).collect();
    let mut r = reactor(lanes);
    r.open_ahead(Duration::from_secs(5));
    for id in 1..=n {
        assert!(r.start(pay(id)).is_ok());
    }
    r
}

/// Every answer of `n` requests started on `r`'s open connections, by the polls' turns.
#[cfg(target_os = "linux")]
fn answers(r: &mut Reactor, n: usize) -> Vec<u32> {
    let give_up = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(Instant::now() < give_up, "{} answers of {n}", got.len());
        r.poll(Some(Instant::now() + Duration::from_millis(1)), Instant::now());
        while let Some(mut list) = r.take_ready() {
            for (i, d) in list.drain(..) {
                r.release(i, None, Instant::now());
                // Answered on the wire (the server's `{}` is no payment's answer).
                let lost = |r: &Response| {
                    matches!(
                        r,
                        Response::Error {
                            kind: Failure::Timeout | Failure::Refused | Failure::Reset | Failure::Transport | Failure::NotSent
                        }
                    )
                };
                assert!(!lost(&d.resp), "{:?}", d.resp);
                got.push(d.id);
            }
            r.recycle(list);
        }
    }
    got.sort_unstable();
    got
}

/// The requests a thread starts in one turn are written together, by one submission,
/// when it next waits; none is written before.
#[cfg(target_os = "linux")]
#[test]
fn a_turns_requests_are_written_by_one_submission() {
    let mut r = open_and_started(8);
    assert!(r.batch.is_some(), "io_uring is there on this machine");
    assert!(r.lanes.iter().all(|l| l.conn.unwritten()), "nothing written before the thread waits");
    assert_eq!(answers(&mut r, 8), (1..=8).collect::<Vec<_>>());
    assert_eq!(r.batch.as_ref().map(|b| b.submissions), Some(1), "one submission for the eight");
}

/// A ring that fails (here: its descriptor replaced under it) is dropped, the requests
/// waiting for it are written one by one, and later ones at once.
#[cfg(target_os = "linux")]
#[test]
fn a_failed_ring_leaves_the_requests_to_lone_writes() {
    use std::os::fd::AsRawFd;
    let mut r = open_and_started(4);
    let null = std::fs::File::open("/dev/null").unwrap();
    let ring = r.batch.as_ref().expect("a ring").ring.as_raw_fd();
    // SAFETY: both descriptors are open; the ring's is replaced by /dev/null's (the
    // ring's own file then closes), and closed once, by the ring when dropped.
    assert_eq!(unsafe { libc::dup2(null.as_raw_fd(), ring) }, ring);
    assert_eq!(answers(&mut r, 4), vec![1, 2, 3, 4]);
    assert!(r.batch.is_none() && r.lanes.iter().all(|l| !l.conn.defer), "the ring given up");
    for id in 5..=8 {
        assert!(r.start(pay(id)).is_ok());
    }
    assert!(r.lanes.iter().all(|l| !l.conn.unwritten()), "written at once");
    assert_eq!(answers(&mut r, 4), vec![5, 6, 7, 8]);
}

/// An answer read long after it came is timed by its arrival, not by the read: the
/// thread sleeps through it ([`Reactor::nap`]) and reads it 50 ms later. The thread
/// naps only once an answer has come stamped (the kernel switches its stamping on a
/// moment after the first socket asks), so a first exchange is read as it comes.
#[cfg(target_os = "linux")]
#[test]
fn an_answer_read_late_is_timed_by_its_arrival() {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let mut b = [0u8; 4096];
        // Each request answered until the client closes.
        'serve: loop {
            // The head, then the body by its length.
            let need = loop {
                if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&got[..i]).to_ascii_lowercase();
                    let len: usize = head.split("content-length: ").nth(1).map_or(0, |v| v.split("\r\n").next().unwrap().parse().unwrap());
                    break i + 4 + len;
                }
                match s.read(&mut b) {
                    Ok(n) if n > 0 => got.extend_from_slice(&b[..n]),
                    _ => break 'serve,
                }
            };
            while got.len() < need {
                let n = s.read(&mut b).unwrap();
                assert!(n > 0);
                got.extend_from_slice(&b[..n]);
            }
            got.drain(..need);
            let before = Instant::now();
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
            let _ = tx.send((before, Instant::now()));
        }
    });
    let base = Base { url: format!("http://{addr}"), host: addr.to_string(), addr, tls: None };
    let mut r = reactor(vec![Lane::new(&base, crate::live::deployment::target::Api::Contract, 0)]);
    assert!(!r.can_nap(), "no answer has shown the kernel's stamps yet");
    let req = |key| Request::Pay {
        key: IdemKey::new(key),
        payer: PayerRef { id: 1, group: GroupKind::Flexible, league: 0 },
        channel: 0,
        items: [100, 0, 0, 0, 0, 0],
        period: crate::model::Period::UNKNOWN,
        special: false,
        assessment: None,
    };
    let give_up = Instant::now() + Duration::from_secs(10);
    // Exchanges read as they come: none carries a stamp until the thread would nap.
    let mut id = 0;
    let exchange = |r: &mut Reactor, id: u32| {
        let w = Work { id, req: req(u128::from(id)), system: 0 };
        if id == 1 {
            assert!(r.start(w).is_ok())
        } else {
            r.release(0, Some(w), Instant::now())
        }
        let mut got = Vec::new();
        while got.is_empty() {
            assert!(Instant::now() < give_up, "no answer to exchange {id}");
            r.poll(Some(Instant::now() + Duration::from_millis(1)), Instant::now());
            while let Some(mut list) = r.take_ready() {
                got.extend(list.drain(..).map(|(i, d)| (i, d.id)));
                r.recycle(list);
            }
        }
        assert_eq!(got, vec![(0, id)]);
        rx.recv().unwrap();
    };
    for _ in 0..3 {
        id += 1;
        exchange(&mut r, id);
        assert!(!r.can_nap() && !r.lanes[0].conn.stamped(), "stamps not asked for");
    }
    // Asked for, they come after the kernel turns them on.
    r.want_naps();
    while !r.can_nap() {
        id += 1;
        assert!(id <= 100, "a plain socket on Linux is stamped, yet 100 answers came without");
        exchange(&mut r, id);
    }
    id += 1;
    r.release(0, Some(Work { id, req: req(u128::from(id)), system: 0 }), Instant::now());
    let mut done = Vec::new();
    while done.is_empty() {
        assert!(Instant::now() < give_up, "no answer");
        // Writing takes a turn or two; the answer is then slept through.
        let (before, after) = match rx.try_recv() {
            Ok(t) => t,
            Err(_) => {
                r.poll(Some(Instant::now() + Duration::from_millis(1)), Instant::now());
                continue;
            }
        };
        let nap_until = after + Duration::from_millis(50);
        r.nap(nap_until);
        assert!(Instant::now() >= nap_until, "the nap ended early");
        while let Some(mut list) = r.take_ready() {
            done.extend(list.drain(..).map(|(_, d)| (d.id, d.sent, d.done, before, after)));
            r.recycle(list);
        }
        assert_eq!(done.len(), 1, "the answer taken after the nap");
    }
    let (got, sent, at, before, after) = done[0];
    assert_eq!(got, id);
    // On loopback the answer arrives while the server writes it; the clocks' conversion
    // leaves a few microseconds either way.
    let slack = Duration::from_millis(2);
    assert!(at + slack >= before && at >= sent, "timed before the answer was written: {:?}", before.checked_duration_since(at));
    assert!(at <= after + slack, "timed {:?} after the answer was written, not at its arrival", at.duration_since(after));
    drop(r);
    server.join().unwrap();
}

#[test]
fn a_refused_connection_and_a_silent_target_end_as_error_kinds() {
    // A port nobody listens on, and a listener that accepts but never answers.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_addr = closed.local_addr().unwrap();
    drop(closed);
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = |addr: std::net::SocketAddr| Base { url: format!("http://{addr}"), host: addr.to_string(), addr, tls: None };
    let mut r = reactor(vec![
        Lane::new(&base(refused_addr), crate::live::deployment::target::Api::Contract, 0),
        Lane::new(&base(silent.local_addr().unwrap()), crate::live::deployment::target::Api::Contract, 0),
    ]);
    let req = |n: u32| Request::Pay {
        key: IdemKey::new(n as u128),
        payer: PayerRef { id: n, group: GroupKind::Flexible, league: 0 },
        channel: 0,
        items: [100, 0, 0, 0, 0, 0],
        period: crate::model::Period::UNKNOWN,
        special: false,
        assessment: None,
    };
    assert!(r.start(Work { id: 7, req: req(1), system: 0 }).is_ok());
    assert!(r.start(Work { id: 8, req: req(2), system: 0 }).is_ok());
    assert!(r.start(Work { id: 9, req: req(3), system: 0 }).is_err(), "a third request with two connections busy");
    let mut done = Vec::new();
    let give_up = Instant::now() + Duration::from_secs(10);
    while done.len() < 2 {
        assert!(Instant::now() < give_up, "not both finished: {:?}", done);
        let now = Instant::now();
        r.sweep(now);
        r.poll(Some(now + Duration::from_millis(20)), now);
        while let Some(mut list) = r.take_ready() {
            done.extend(list.drain(..).map(|(lane, d)| {
                let why = d.seen.and_then(|s| s.error).unwrap_or_default();
                (lane, d.id, d.resp, d.done.saturating_duration_since(d.sent), why)
            }));
            r.recycle(list);
        }
    }
    done.sort_by_key(|d| d.0);
    assert!(matches!(done[0], (0, 7, Response::Error { kind: Failure::Refused }, _, _)), "{:?}", done[0]);
    // The silent target: given up at its deadline (200 ms), no sooner.
    assert!(matches!(done[1], (1, 8, Response::Error { kind: Failure::Timeout }, _, _)), "{:?}", done[1]);
    assert!(done[1].3 >= Duration::from_millis(200), "{:?}", done[1]);
    // Each says why, for the report's failure samples: the socket's words, the deadline.
    assert!(done[0].4.contains("refused"), "{:?}", done[0]);
    assert_eq!(done[1].4, "timed out: no answer within 0.2 s");
    assert!(!r.busy());
    drop(silent);
}

/// The batch's send on a socket whose buffers are full (a target that does not read) fails
/// at once with EAGAIN, for a lone write to wait on: the ring does not arm it, which would
/// hold `submit_and_wait`, and the whole thread, until the target reads.
#[cfg(target_os = "linux")]
#[test]
fn a_batched_send_on_a_full_socket_fails_at_once() {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (_peer, _) = l.accept().unwrap();
    c.set_nonblocking(true).unwrap();
    let chunk = vec![0u8; 65_536];
    let mut filled = 0usize;
    while let Ok(n) = c.write(&chunk) {
        filled += n;
        assert!(filled < 1 << 30, "the socket's buffers never filled");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut ring = io_uring::IoUring::new(8).unwrap();
        let out = b"POST /v1/payments HTTP/1.1\r\n\r\n".to_vec();
        // SAFETY: `out` outlives the wait for its completion below.
        unsafe { ring.submission().push(&super::send_entry(c.as_raw_fd(), &out, 3)).unwrap() };
        ring.submit_and_wait(1).unwrap();
        let done: Vec<(u64, i32)> = ring.completion().map(|e| (e.user_data(), e.result())).collect();
        let _ = tx.send(done);
        drop(c);
    });
    let done = rx.recv_timeout(Duration::from_secs(5)).expect("the send waited in the ring for a target that does not read");
    assert_eq!(done, vec![(3, -libc::EAGAIN)]);
}
