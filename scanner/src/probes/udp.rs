//! One UDP probe: a datagram out, one datagram back, or an ICMP error, or silence.
//!
//! For UDP, "open" means a reply came. A closed port answers with ICMP port unreachable,
//! which the kernel reports on a connected socket as `ECONNREFUSED`. Silence is
//! `open|filtered`: the service ignored the payload, or a firewall dropped it.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{Instant, timeout_at};

use super::exchange::Response;
use super::registry::{Payload, ServiceProbe};

/// Largest datagram kept: the most one UDP answer can hold.
const MAX_DATAGRAM: usize = 65_535;

/// What a UDP probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UdpOutcome {
    /// A datagram came back (decoded by the probe's decoder when it recognizes it).
    Open(Box<Response>),
    /// ICMP port unreachable.
    Closed,
    /// No answer after every attempt, or the host was unreachable: nothing to store.
    OpenFiltered,
}

/// Sends `probe`'s payload to `addr` up to `attempts` times (at least once), each waiting
/// the probe's timeout for an answer. Socket errors other than a refusal count as silence:
/// an outcome is data, never an error.
pub async fn probe_udp(addr: SocketAddr, probe: &ServiceProbe, attempts: u32) -> UdpOutcome {
    let payload: &[u8] = match probe.payload {
        Payload::Bytes(bytes) => bytes,
        _ => &[],
    };
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let Ok(socket) = UdpSocket::bind(local).await else { return UdpOutcome::OpenFiltered };
    // Connected: only `addr` can answer, and its ICMP errors reach this socket.
    if socket.connect(addr).await.is_err() {
        return UdpOutcome::OpenFiltered;
    }
    let mut buf = vec![0u8; MAX_DATAGRAM];
    for _ in 0..attempts.max(1) {
        match socket.send(payload).await {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return UdpOutcome::Closed,
            Err(_) => return UdpOutcome::OpenFiltered,
        }
        match wait(&socket, &mut buf, probe.timeout).await {
            Some(Ok(n)) => {
                let data = probe.decoder.apply(buf[..n].to_vec());
                return UdpOutcome::Open(Box::new(Response { probe: probe.name, data, tls: None }));
            }
            Some(Err(e)) if e.kind() == ErrorKind::ConnectionRefused => return UdpOutcome::Closed,
            // Host or network unreachable: nothing more will come.
            Some(Err(_)) => return UdpOutcome::OpenFiltered,
            None => {}
        }
    }
    UdpOutcome::OpenFiltered
}

/// The next datagram within `timeout`; `None` on silence.
async fn wait(
    socket: &UdpSocket,
    buf: &mut [u8],
    timeout: Duration,
) -> Option<std::io::Result<usize>> {
    timeout_at(Instant::now() + timeout, socket.recv(buf)).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::ProbeRegistry;

    fn quick(probe: &ServiceProbe) -> ServiceProbe {
        ServiceProbe { timeout: Duration::from_millis(300), ..*probe }
    }

    #[tokio::test]
    async fn a_reply_is_open_and_decoded() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            if let Ok((n, peer)) = server.recv_from(&mut buf).await {
                // An NTP server's answer to whatever a client sent: mode 4, stratum 3.
                assert_eq!(n, 48, "the NTP probe is 48 bytes");
                let mut reply = [0u8; 48];
                reply[0] = 0x24;
                reply[1] = 3;
                reply[12..16].copy_from_slice(&[127, 0, 0, 1]);
                let _ = server.send_to(&reply, peer).await;
            }
        });
        let registry = ProbeRegistry::builtin();
        let ntp = quick(registry.udp_probe(123));
        let UdpOutcome::Open(r) = probe_udp(addr, &ntp, 1).await else {
            panic!("an answered NTP probe is open");
        };
        assert_eq!(r.probe, "ntp");
        let text = String::from_utf8(r.data).unwrap();
        assert!(
            text.starts_with("ntp.version: 4\nntp.stratum: 3\nntp.refid: 127.0.0.1\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn icmp_unreachable_is_closed_and_silence_is_open_filtered() {
        // A port nothing listens on: the loopback answers with ICMP port unreachable.
        let closed = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap()
        };
        let registry = ProbeRegistry::builtin();
        let dns = quick(registry.udp_probe(53));
        assert_eq!(probe_udp(closed, &dns, 1).await, UdpOutcome::Closed);
        // A socket that reads and never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let started = Instant::now();
        assert_eq!(probe_udp(addr, &dns, 2).await, UdpOutcome::OpenFiltered);
        assert!(started.elapsed() >= Duration::from_millis(600), "two attempts, each waited");
        drop(silent);
    }
}
