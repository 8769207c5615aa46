//! The HTTP floor: the least a server on this stack can do per request.
//! The same hyper and tokio as `mlops-host serve`, with the same settings
//! (a multi-threaded runtime with one worker per core, HTTP/1.1, the
//! header-read timeout, `TCP_NODELAY`), reads each request's body to the
//! end and answers with the bytes of one file (mlops-host's own answer to
//! the benchmark request), as `Content-Type: application/json`.
//! `bench/compare.sh` reports every contender as a ratio to it.
//!
//! `floor <listen address> <answer file>`
#![allow(clippy::expect_used, reason = "a benchmark tool fails by panicking")]

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response, body::Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: floor <listen address> <answer file>";
    let listen = args.next().expect(usage);
    let answer = Bytes::from(std::fs::read(args.next().expect(usage)).expect("the answer file"));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(10));
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let answer = answer.clone();
            let service = service_fn(move |req: Request<Incoming>| {
                let answer = answer.clone();
                async move {
                    // Read the body as a server must before it answers.
                    let body = req.into_body().collect().await.map(|b| b.to_bytes());
                    let response = match body {
                        Ok(_) => Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(answer)),
                        Err(_) => Response::builder().status(400).body(Full::new(Bytes::new())),
                    };
                    Ok::<_, Infallible>(response.expect("a response"))
                }
            });
            let conn = http.serve_connection(TokioIo::new(stream), service);
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
}
