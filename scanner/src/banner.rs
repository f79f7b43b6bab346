//! Reading what a service says first.

use std::net::SocketAddr;
use std::time::Duration;

use crate::probes::{ProbeLimits, ProbeRegistry, probe};

/// Limits of a banner read.
#[derive(Debug, Clone, Copy)]
pub struct BannerConfig {
    /// Time for the connection and for the first bytes.
    pub timeout: Duration,
    /// Bytes kept at most.
    pub max_bytes: usize,
}

impl Default for BannerConfig {
    fn default() -> Self {
        Self { timeout: Duration::from_millis(1500), max_bytes: 1024 }
    }
}

/// Connects to `addr` and returns what the service sends unprompted before the timeout, up to
/// `max_bytes`. `None` when it refuses, says nothing, or the connection fails.
///
/// This is the registry's NULL probe: once the first bytes are in, reading goes on while more
/// arrive within 50 ms (and within the timeout) so that greetings written in several pieces
/// arrive whole. The connection closes with a reset.
pub async fn read_banner(addr: SocketAddr, config: BannerConfig) -> Option<Vec<u8>> {
    let limits = ProbeLimits { timeout: config.timeout, max_bytes: config.max_bytes };
    probe(addr, ProbeRegistry::builtin().null(), limits).await.map(|r| r.data)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// What a test service writes, each piece after a pause.
    type Script = Vec<(Duration, Vec<u8>)>;

    /// A loopback service that writes `chunks` to every client, pausing between them, then
    /// keeps the connection open until the client leaves.
    async fn service(chunks: Script) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let chunks = chunks.clone();
                tokio::spawn(async move {
                    for (pause, bytes) in chunks {
                        tokio::time::sleep(pause).await;
                        if stream.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                    let mut sink = [0; 64];
                    while matches!(stream.read(&mut sink).await, Ok(1..)) {}
                });
            }
        });
        addr
    }

    fn config(timeout_ms: u64, max_bytes: usize) -> BannerConfig {
        BannerConfig { timeout: Duration::from_millis(timeout_ms), max_bytes }
    }

    #[tokio::test]
    async fn reads_what_services_say_first() {
        let now = Duration::ZERO;
        let ms = Duration::from_millis;
        let ssh = b"SSH-2.0-OpenSSH_9.6\r\n".to_vec();
        let cases: Vec<(&str, Script, BannerConfig, Option<&[u8]>)> = vec![
            ("one line", vec![(now, ssh.clone())], config(1000, 1024), Some(&ssh)),
            (
                "a greeting in two writes",
                vec![(now, b"220-first\r\n".to_vec()), (ms(10), b"220 second\r\n".to_vec())],
                config(1000, 1024),
                Some(b"220-first\r\n220 second\r\n"),
            ),
            (
                "after a pause",
                vec![(ms(100), b"+OK\r\n".to_vec())],
                config(1000, 1024),
                Some(b"+OK\r\n"),
            ),
            (
                "cut at max_bytes",
                vec![(now, vec![b'x'; 5000])],
                config(1000, 100),
                Some(&[b'x'; 100]),
            ),
            ("silence", vec![], config(200, 1024), None),
            ("too late", vec![(ms(400), ssh.clone())], config(150, 1024), None),
            ("nothing wanted", vec![(now, ssh.clone())], config(1000, 0), None),
        ];
        for (name, chunks, config, want) in cases {
            let addr = service(chunks).await;
            let got = read_banner(addr, config).await;
            assert_eq!(got.as_deref(), want, "{name}");
        }
    }

    #[tokio::test]
    async fn a_late_second_piece_is_left_out() {
        let addr = service(vec![
            (Duration::ZERO, b"first\n".to_vec()),
            (Duration::from_millis(300), b"second\n".to_vec()),
        ])
        .await;
        let got = read_banner(addr, config(2000, 1024)).await;
        assert_eq!(got.as_deref(), Some(&b"first\n"[..]));
    }

    #[tokio::test]
    async fn refused_and_closed_connections_have_no_banner() {
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        assert_eq!(read_banner(closed, config(500, 1024)).await, None);

        // A service that hangs up without a word.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
        assert_eq!(read_banner(addr, config(500, 1024)).await, None);
    }
}
