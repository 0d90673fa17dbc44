//! The yardstick of `benches/serve-vs-hyper.sh` (issue 24, item 4): the least an HTTP/1.1
//! server on hyper and tokio can do for `POST /v1/payments`: read the whole body, count it,
//! and answer `201 Created` with a JSON body the size of `cutover serve`'s. No parsing, no
//! model, no routing beyond the method and path. Same runtime as `cutover serve` (tokio,
//! multi-threaded, one worker per core).
//!
//! Usage: hyper-minimal ADDR (127.0.0.1:0 picks a free port); prints "listening on
//! http://ADDR" and serves until killed.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

async fn answer(counter: Arc<AtomicU64>, req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::POST || req.uri().path() != "/v1/payments" {
        let mut not_found = Response::new(Full::new(Bytes::from_static(b"not found")));
        *not_found.status_mut() = StatusCode::NOT_FOUND;
        return Ok(not_found);
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
    let text = format!(
        "{{\"payment_id\":{n},\"status\":\"accepted\",\"replayed\":false,\"accepted_at\":\"2021-05-10T00:00:01.059053+08:00\",\"n\":{}}}",
        body.len()
    );
    let mut ok = Response::new(Full::new(Bytes::from(text)));
    *ok.status_mut() = StatusCode::CREATED;
    ok.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    Ok(ok)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let counter = Arc::new(AtomicU64::new(0));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let counter = counter.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| answer(counter.clone(), req));
            let _ =
                hyper::server::conn::http1::Builder::new().timer(TokioTimer::new()).serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
