//! Reading a request body: at most a limit, within a deadline.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::Body;

use crate::error::Failure;

/// How much of an oversized body is read and thrown away before answering
/// 413, so that a client still sending sees the answer rather than a broken
/// pipe (nginx's "lingering close"), and for how long at most.
const DRAIN_BYTES: u64 = 64 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Reads a body of at most `limit` bytes, arriving within `timeout`.
pub(crate) async fn read_limited<B>(
    body: B,
    limit: u64,
    timeout: Duration,
) -> Result<Bytes, Failure>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match tokio::time::timeout(timeout, read_body(body, limit)).await {
        Ok(read) => read,
        Err(_) => Err(Failure::BodyTimeout(timeout)),
    }
}

async fn read_body<B>(body: B, limit: u64) -> Result<Bytes, Failure>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(body);
    // Most bodies arrive in one piece: keep it without a copy.
    let mut first: Option<Bytes> = None;
    let mut buf = bytes::BytesMut::new();
    let mut total: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| Failure::BodyRead(format!("cannot read the body: {}", e.into())))?;
        let Ok(data) = frame.into_data() else { continue };
        total += data.len() as u64;
        if total > limit {
            let drain = async {
                while let Some(Ok(frame)) = body.frame().await {
                    total += frame.data_ref().map_or(0, |d| d.len() as u64);
                    if total > limit.saturating_add(DRAIN_BYTES) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
            return Err(Failure::TooLarge { limit });
        }
        match first.take() {
            None if buf.is_empty() => first = Some(data),
            earlier => {
                if let Some(earlier) = earlier {
                    buf.extend_from_slice(&earlier);
                }
                buf.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| buf.freeze()))
}
