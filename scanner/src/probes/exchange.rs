//! One probe exchange: connect, send the payload, read what comes back within bounds.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use super::registry::{Payload, ServiceProbe};
use crate::connect::connect_reset_on_close;

/// Bytes a follow-up probe keeps by default: what the matcher looks at.
const DEFAULT_MAX_BYTES: usize = 64 * 1024;

/// Bounds of one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeLimits {
    /// Time for the whole exchange, connection included; a service that drips bytes is cut
    /// here.
    pub timeout: Duration,
    /// Bytes kept at most; reading stops there.
    pub max_bytes: usize,
}

impl ProbeLimits {
    /// The probe's own timeout and 64 KiB.
    pub fn for_probe(probe: &ServiceProbe) -> Self {
        Self { timeout: probe.timeout, max_bytes: DEFAULT_MAX_BYTES }
    }
}

/// What a probe got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The probe's name.
    pub probe: &'static str,
    /// The bytes received, at most the limit's `max_bytes`.
    pub data: Vec<u8>,
}

/// Runs `probe` against `addr`. `None` when the connection fails, the payload cannot be sent,
/// or nothing comes back before the timeout; never waits past `limits.timeout`.
///
/// After the first bytes, reading goes on until the peer closes, `max_bytes` are in, a pause
/// longer than the probe's idle time, or the timeout. The connection closes with a reset.
pub async fn probe(
    addr: SocketAddr,
    probe: &ServiceProbe,
    limits: ProbeLimits,
) -> Option<Response> {
    if limits.max_bytes == 0 {
        return None;
    }
    let deadline = Instant::now() + limits.timeout;
    let mut stream = timeout_at(deadline, connect_reset_on_close(addr)).await.ok()?.ok()?;
    let request = match probe.payload {
        Payload::Nothing => Vec::new(),
        Payload::Bytes(bytes) => bytes.to_vec(),
        Payload::HttpGet => http_get(addr).into_bytes(),
    };
    if !request.is_empty() {
        timeout_at(deadline, stream.write_all(&request)).await.ok()?.ok()?;
    }
    let mut data = vec![0; limits.max_bytes.min(16 * 1024)];
    let mut len = match timeout_at(deadline, stream.read(&mut data)).await {
        Ok(Ok(read)) if read > 0 => read,
        _ => return None,
    };
    while len < limits.max_bytes {
        if len == data.len() {
            data.resize((data.len() * 2).min(limits.max_bytes), 0);
        }
        let until = deadline.min(Instant::now() + probe.idle);
        match timeout_at(until, stream.read(&mut data[len..])).await {
            Ok(Ok(read)) if read > 0 => len += read,
            _ => break,
        }
    }
    data.truncate(len);
    Some(Response { probe: probe.name, data })
}

/// `GET /` naming the target in `Host`, as HTTP/1.0 so that the server closes when done.
fn http_get(addr: SocketAddr) -> String {
    let host = match addr.port() {
        80 => addr.ip().to_string(),
        _ => addr.to_string(),
    };
    format!(
        "GET / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: sonde/{}\r\nAccept: */*\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
}
