//! The listener of `cutover serve`: connections accepted under their limits, each served
//! by hyper with the router of [`super`], a payment (`POST /v1/payments`) beside it.

use super::{AppState, pay_direct, problem, router};
use crate::contract::{self, PROBLEM_JSON};
use crate::vocabulary::Refusal;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Method, StatusCode, header};
use std::net::SocketAddr;
use std::sync::Arc;

/// What keeps a slow or greedy client from holding the server: each connection must send a
/// request's head within `header`, counted from its start and from each answer (so an idle
/// keep-alive connection is closed after it too); a request is read and decided within
/// `request`; at most `max_connections` are served at once, and one more is answered 503 and
/// closed, so that idle sockets cannot use up the process's descriptors.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    pub header: std::time::Duration,
    pub request: std::time::Duration,
    pub max_connections: usize,
}

/// Bind, print `listening on http://ADDR` as the first line of standard output, and serve
/// until Ctrl-C.
pub async fn serve(addr: SocketAddr, state: Arc<AppState>, limits: ConnLimits) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{local}")?;
        out.flush()?;
    }
    serve_on(listener, state, limits, std::future::pending()).await
}

/// Serve on `listener` until Ctrl-C or `stop` (a calibration's own server, `run --dry-run`).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    limits: ConnLimits,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let app = router(state.clone());
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut ctrl_c => break,
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of descriptors or memory for a moment: let connections finish.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                tokio::spawn(connection(app.clone(), state.clone(), stream, peer, limits, slot));
            }
            Err(_) => {
                tokio::spawn(refuse_connection(stream, limits.max_connections));
            }
        }
    }
    // Let the requests being decided finish (idle connections are not waited for).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), slots.acquire_many(limits.max_connections as u32)).await;
    Ok(())
}

/// Serve one connection under the limits; its slot is freed when it closes.
async fn connection(
    app: Router,
    state: Arc<AppState>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    limits: ConnLimits,
    _slot: tokio::sync::OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        use tower_service::Service;
        // A payment, most of a rehearsal's requests, goes around the router (see `pay_direct`).
        let payment = req.method() == Method::POST && req.uri().path() == "/v1/payments";
        let (mut app, state) = (app.clone(), state.clone());
        async move {
            let answer = async {
                if payment {
                    Ok(pay_direct(&state, req).await)
                } else {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    app.call(req).await
                }
            };
            match tokio::time::timeout(limits.request, answer).await {
                Ok(answer) => answer,
                Err(_) => {
                    let detail = format!("the request was not read and decided within {} s", limits.request.as_secs_f64());
                    let mut r = problem(Refusal::Invalid, &detail, None, None);
                    *r.status_mut() = StatusCode::REQUEST_TIMEOUT;
                    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                    Ok(r)
                }
            }
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header)
        // An answer's head and body copied into one buffer and sent by one `write`: for
        // answers of a few hundred bytes, cheaper than hyper's default of handing the kernel
        // both as a `writev` (4-10 % more requests a second under the serve-vs-hyper wrk
        // load, BENCHMARKS.md, fifteenth sitting).
        .writev(false)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    let _ = conn.await;
}

/// One connection past `max`: a 503 problem saying so, then closed.
async fn refuse_connection(mut stream: tokio::net::TcpStream, max: usize) {
    use tokio::io::AsyncWriteExt;
    let detail = format!("this server holds at most {max} connections at once (--max-connections); try again shortly");
    let a = contract::problem(Refusal::Overloaded, &detail, None, None);
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {PROBLEM_JSON}\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        a.body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&a.body).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), write).await;
}
