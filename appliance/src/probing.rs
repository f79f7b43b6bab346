//! What to send to one open port, and in which order: the NULL probe, then whatever the
//! answers so far call for. Shared by the Prober of `sonde serve` and by `sonde scan`.

use std::net::SocketAddr;

use sonde_matcher::{Identifier, ServiceMatch, TlsFacts};
use sonde_scanner::{BannerConfig, ProbeLimits, ProbeRegistry, Response, ServiceProbe, probe};

/// Follow-up probes that may go unanswered, at most; each may wait its full timeout.
const FOLLOW_UPS: usize = 2;
/// Probes per port in all, NULL included: enough for a soft match to be narrowed and for a
/// TLS port found by an HTTPS complaint to get its handshake.
const MAX_PROBES: usize = 4;

/// Probes one open port: NULL first, then what [`next_probe`] picks from the answers so far,
/// until a product is named, nothing more suits the port, two probes went
/// unanswered or four were sent in all. Every answer is kept, in order.
pub async fn examine(
    addr: SocketAddr,
    registry: &ProbeRegistry,
    identifier: &Identifier,
    banner: BannerConfig,
) -> Vec<Response> {
    let limits = ProbeLimits { timeout: banner.timeout, max_bytes: banner.max_bytes };
    let null = registry.null();
    let mut tried = vec![null.name];
    let mut responses: Vec<Response> = probe(addr, null, limits).await.into_iter().collect();
    let mut silent = 0;
    while tried.len() < MAX_PROBES && silent < FOLLOW_UPS {
        let Some(next) = next_probe(registry, identifier, addr.port(), &responses, &tried) else {
            break;
        };
        tried.push(next.name);
        match probe(addr, next, ProbeLimits::for_probe(next)).await {
            Some(answer) => responses.push(answer),
            None => silent += 1,
        }
    }
    responses
}

/// The probe to send next to `port`, given its answers so far and the probes already
/// `tried`; `None` when probing is done. The pure part of [`examine`]:
/// 1. an answer that is a TLS record or an HTTPS complaint brings the `tls` probe;
/// 2. a hard match (a product) ends probing, an answer nobody recognizes too;
/// 3. a soft match (a service, no product; from an answer or, for a silent port, the port
///    number) narrows to the probes its service's signatures need
///    ([`Identifier::next_probes`]), best first;
/// 4. a silent port then gets the probes that claim its number and the fallbacks.
///
/// It runs the matcher on the probing task: one identification per answer, a few
/// microseconds against probes that take milliseconds; the batches stay on rayon.
pub fn next_probe<'r>(
    registry: &'r ProbeRegistry,
    identifier: &Identifier,
    port: u16,
    responses: &[Response],
    tried: &[&str],
) -> Option<&'r ServiceProbe> {
    let untried = |p: &&ServiceProbe| !tried.contains(&p.name);
    if responses.iter().any(Response::asks_for_tls)
        && let Some(tls) = registry.get("tls").filter(untried)
    {
        return Some(tls);
    }
    let found = identify_one(identifier, port, responses);
    if found.as_ref().is_some_and(|m| !m.is_soft()) || (found.is_none() && !responses.is_empty()) {
        return None;
    }
    let narrowed = found
        .as_ref()
        .map(|m| identifier.next_probes(m))
        .unwrap_or_default()
        .iter()
        .filter_map(|name| registry.get(name));
    let by_port = registry.follow_ups(port, usize::MAX).into_iter();
    let by_port = by_port.filter(|_| responses.is_empty());
    narrowed.chain(by_port).find(untried)
}

/// The matcher's view of one port's answers, the TLS handshake included.
pub fn identify_one(
    identifier: &Identifier,
    port: u16,
    responses: &[Response],
) -> Option<ServiceMatch> {
    let inputs: Vec<sonde_matcher::Response<'_>> = responses
        .iter()
        .map(|r| sonde_matcher::Response { probe: r.probe, data: &r.data })
        .collect();
    let tls = responses.iter().find_map(|r| r.tls.as_ref());
    let facts = tls.map(|t| TlsFacts {
        version: Some(&t.version),
        alpn: t.alpn.as_deref(),
        subject: t.cert.as_ref().map(|c| c.subject.as_str()),
        issuer: t.cert.as_ref().map(|c| c.issuer.as_str()),
        san: t.cert.as_ref().map_or(&[], |c| c.san.as_slice()),
    });
    identifier.identify_with_tls(port, &inputs, facts.as_ref())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A loopback service that answers `reply` to whatever it is sent, or speaks first.
    async fn service(speaks_first: bool, reply: &'static [u8]) -> SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if !speaks_first {
                        let mut buf = [0; 1024];
                        let _ = stream.read(&mut buf).await;
                    }
                    let _ = stream.write_all(reply).await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn silent_services_get_a_follow_up_and_talkative_ones_do_not() {
        let registry = ProbeRegistry::builtin();
        let id = Identifier::builtin();
        let banner = BannerConfig { timeout: Duration::from_millis(200), max_bytes: 1024 };
        let ssh = service(true, b"SSH-2.0-OpenSSH_9.2p1\r\n").await;
        let got = examine(ssh, &registry, &id, banner).await;
        assert_eq!(got.iter().map(|r| r.probe).collect::<Vec<_>>(), ["null"]);
        let http = service(false, b"HTTP/1.0 200 OK\r\nServer: nginx/1.22.1\r\n\r\n").await;
        let got = examine(http, &registry, &id, banner).await;
        assert_eq!(got.iter().map(|r| r.probe).collect::<Vec<_>>(), ["http"]);
    }

    /// name, port, what each probe gets back, the probes sent in order.
    type OrderCase = (&'static str, u16, &'static [Answer], &'static [&'static str]);
    /// A probe's name and what it gets back.
    type Answer = (&'static str, &'static [u8]);

    fn answer(probe: &'static str, data: &[u8]) -> Response {
        Response { probe, data: data.to_vec(), tls: None }
    }

    /// The probes `next_probe` picks in turn, each answered by `answers` (by probe name; a
    /// probe not listed stays silent), until it picks none or `MAX_PROBES` went out.
    fn order(port: u16, answers: &[(&'static str, &[u8])]) -> Vec<&'static str> {
        let registry = ProbeRegistry::builtin();
        let id = Identifier::builtin();
        let mut tried = vec!["null"];
        let mut responses: Vec<Response> =
            answers.iter().filter(|(p, _)| *p == "null").map(|(p, d)| answer(p, d)).collect();
        while tried.len() < MAX_PROBES {
            let Some(next) = next_probe(&registry, &id, port, &responses, &tried) else { break };
            tried.push(next.name);
            if let Some((p, d)) = answers.iter().find(|(p, _)| *p == next.name) {
                responses.push(answer(p, d));
            }
        }
        tried
    }

    #[test]
    fn soft_matches_narrow_the_probes_and_hard_ones_end_them() {
        const REDIS_INFO: &[u8] = b"+PONG\r\n$40\r\n# Server\r\nredis_version:7.0.15\r\n";
        let cases: &[OrderCase] = &[
            ("a product from the banner ends it", 22, &[("null", b"SSH-2.0-OpenSSH_9.2p1\r\n")], &["null"]),
            ("an unknown answer ends it", 40000, &[("null", b"hello\r\n")], &["null"]),
            // A soft redis match on a port that HTTP claims: the redis probe, not HTTP.
            (
                "soft match from a banner",
                8080,
                &[("null", b"-ERR unknown command\r\n"), ("redis", REDIS_INFO)],
                &["null", "redis"],
            ),
            // A silent port: the port number's service narrows first (memcache -> memcached).
            ("soft match from the port number", 11211, &[], &["null", "memcached", "http"]),
            ("silent https port", 8443, &[], &["null", "tls", "http"]),
            ("silent unknown port", 40000, &[], &["null", "http"]),
            // The port-number guess narrows to the new protocol probes; a decoded answer that
            // names the product ends probing.
            (
                "mongodb",
                27017,
                &[("mongodb", b"mongodb.primary: true\nmongodb.maxwireversion: 21\nmongodb.version: 7.0.14\n")],
                &["null", "mongodb"],
            ),
            ("silent rdp port", 3389, &[], &["null", "rdp", "http"]),
            ("silent smb port", 445, &[], &["null", "smb", "http"]),
            (
                "openldap",
                389,
                &[("ldap", b"ldap.objectclass: top\nldap.objectclass: OpenLDAProotDSE\nldap.result: 0\n")],
                &["null", "ldap"],
            ),
            // HTTP said the port speaks TLS: the handshake follows.
            (
                "an https complaint brings tls",
                40000,
                &[
                    ("http", b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\nThe plain HTTP request was sent to HTTPS port"),
                    ("tls", b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n"),
                ],
                &["null", "http", "tls"],
            ),
        ];
        for (name, port, answers, want) in cases {
            assert_eq!(order(*port, answers), *want, "{name}");
        }
    }
}
