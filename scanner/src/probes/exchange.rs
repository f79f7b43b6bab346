//! One probe exchange: connect, send the payload, read what comes back within bounds.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use super::registry::{Payload, ServiceProbe};
use super::tls::{TlsInfo, handshake};
use crate::connect::connect_reset_on_close;

/// Bytes a follow-up probe keeps by default: what the matcher looks at.
const DEFAULT_MAX_BYTES: usize = 64 * 1024;
/// How long a TLS service may take to greet before the probe sends `GET /` instead.
const TLS_GREETING_WAIT: Duration = Duration::from_millis(300);

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
    /// The bytes received, at most the limit's `max_bytes`; for the `tls` probe, the bytes
    /// received inside TLS (a greeting, or the answer to `GET /`).
    pub data: Vec<u8>,
    /// What the TLS handshake showed, for the `tls` probe.
    pub tls: Option<TlsInfo>,
}

impl Response {
    /// Whether this answer is a TLS record or a plain-HTTP-to-HTTPS complaint: the port
    /// speaks TLS, and the `tls` probe should follow.
    pub fn asks_for_tls(&self) -> bool {
        const HINTS: &[&[u8]] = &[
            b"plain HTTP request was sent to HTTPS port",
            b"speaking plain HTTP to an SSL-enabled server",
            b"Client sent an HTTP request to an HTTPS server",
        ];
        // A TLS record: content type 20..=23 (alert, handshake...), then version 3.x.
        let record = matches!(self.data.as_slice(), [20..=23, 3, 0..=4, ..]);
        record || HINTS.iter().any(|h| self.data.windows(h.len()).any(|w| w == *h))
    }
}

/// Runs `probe` against `addr`. `None` when the connection fails, the payload cannot be sent,
/// or nothing comes back before the timeout; never waits past `limits.timeout`.
///
/// The answer is decoded by the probe's [`Decoder`](super::Decoder) when it recognizes it.
///
/// After the first bytes, reading goes on until the peer closes, `max_bytes` are in, a pause
/// longer than the probe's idle time, or the timeout. The connection closes with a reset.
///
/// The `tls` probe answers once the handshake completes, even when nothing follows it.
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
        Payload::Sequence(requests) => {
            let data = sequence(&mut stream, requests, probe, limits, deadline).await;
            return (!data.is_empty()).then(|| Response {
                probe: probe.name,
                data: probe.decoder.apply(data),
                tls: None,
            });
        }
        Payload::Tls => {
            let (mut tls, info) = timeout_at(deadline, handshake(addr, stream)).await.ok()??;
            let data = tls_exchange(addr, &mut tls, probe, limits, deadline).await;
            return Some(Response { probe: probe.name, data, tls: Some(info) });
        }
    };
    if !request.is_empty() {
        timeout_at(deadline, stream.write_all(&request)).await.ok()?.ok()?;
    }
    let data = read_bounded(&mut stream, probe.idle, limits.max_bytes, deadline).await;
    (!data.is_empty()).then(|| Response {
        probe: probe.name,
        data: probe.decoder.apply(data),
        tls: None,
    })
}

/// Inside TLS: what the service says first (IMAPS, POP3S, SMTPS greet), else the answer to
/// `GET /`. Empty when neither comes before the deadline.
async fn tls_exchange<S: AsyncRead + AsyncWrite + Unpin>(
    addr: SocketAddr,
    stream: &mut S,
    probe: &ServiceProbe,
    limits: ProbeLimits,
    deadline: Instant,
) -> Vec<u8> {
    let greeting_until = deadline.min(Instant::now() + TLS_GREETING_WAIT);
    let greeting = read_bounded(stream, probe.idle, limits.max_bytes, greeting_until).await;
    if !greeting.is_empty() {
        return greeting;
    }
    let request = http_get(addr);
    match timeout_at(deadline, stream.write_all(request.as_bytes())).await {
        Ok(Ok(())) => read_bounded(stream, probe.idle, limits.max_bytes, deadline).await,
        _ => Vec::new(),
    }
}

/// Each request in turn, each followed by its answer; stops at the first request that cannot
/// be sent or gets no answer. The answers together, at most `max_bytes`.
async fn sequence<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    requests: &[&[u8]],
    probe: &ServiceProbe,
    limits: ProbeLimits,
    deadline: Instant,
) -> Vec<u8> {
    let mut data = Vec::new();
    for request in requests {
        let room = limits.max_bytes.saturating_sub(data.len());
        if room == 0 || !matches!(timeout_at(deadline, stream.write_all(request)).await, Ok(Ok(())))
        {
            break;
        }
        let answer = read_bounded(stream, probe.idle, room, deadline).await;
        if answer.is_empty() {
            break;
        }
        data.extend(answer);
    }
    data
}

/// Reads at most `max_bytes`: the first bytes by `deadline`, then more until the peer closes,
/// a pause longer than `idle`, or `deadline`. Memory grows with what arrives, never past
/// `max_bytes`.
async fn read_bounded<S: AsyncRead + Unpin>(
    stream: &mut S,
    idle: Duration,
    max_bytes: usize,
    deadline: Instant,
) -> Vec<u8> {
    let mut data = vec![0; max_bytes.min(16 * 1024)];
    let mut len = match timeout_at(deadline, stream.read(&mut data)).await {
        Ok(Ok(read)) if read > 0 => read,
        _ => return Vec::new(),
    };
    while len < max_bytes {
        if len == data.len() {
            data.resize((data.len() * 2).min(max_bytes), 0);
        }
        let until = deadline.min(Instant::now() + idle);
        match timeout_at(until, stream.read(&mut data[len..])).await {
            Ok(Ok(read)) if read > 0 => len += read,
            _ => break,
        }
    }
    data.truncate(len);
    data
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
