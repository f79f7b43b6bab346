//! The built-in probes and the order in which a port gets them.

use std::time::Duration;

use super::decode::{self, Decoder};

/// What a probe sends once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload {
    /// Nothing: wait for the service to speak first.
    Nothing,
    /// `GET / HTTP/1.0` with a `Host` header naming the target.
    HttpGet,
    /// These bytes, as they are.
    Bytes(&'static [u8]),
    /// These messages in turn, each once the answer to the one before is in (a pause of the
    /// probe's `idle` time); the answers are kept together, in order. For exchanges whose
    /// later requests depend on nothing the server says (SMB2 NEGOTIATE, then SESSION_SETUP).
    Sequence(&'static [&'static [u8]]),
    /// A TLS handshake that records the certificate, then inside TLS what the service says
    /// first or, when it waits, `GET /` as for [`HttpGet`](Self::HttpGet).
    Tls,
}

/// One follow-up exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceProbe {
    /// The name signatures refer to (`null`, `http`, `redis`...).
    pub name: &'static str,
    /// What to send.
    pub payload: Payload,
    /// Ports where this probe goes before the fallbacks.
    pub ports: &'static [u16],
    /// Tried on ports that no probe claims, after the NULL probe.
    pub fallback: bool,
    /// Time for the whole exchange: connecting, sending and reading.
    pub timeout: Duration,
    /// Once bytes arrive, how long a pause ends the read (services that keep the
    /// connection open never send EOF).
    pub idle: Duration,
    /// How the answer becomes fields: binary protocols are decoded into `name: value`
    /// lines, the rest kept as received.
    pub decoder: Decoder,
}

/// The probes Sonde knows, in the order they are considered.
#[derive(Debug, Clone)]
pub struct ProbeRegistry {
    probes: Vec<ServiceProbe>,
    /// UDP probes: one datagram, one answer. Names may repeat TCP ones when the exchange
    /// and its decoded answer are the same (`dns-version`), so the same signatures apply.
    udp: Vec<ServiceProbe>,
}

/// `PING` answers even when `INFO` needs a password; `INFO server` names the version.
const REDIS: &[u8] = b"PING\r\nINFO server\r\n";
/// A PostgreSQL v3 StartupMessage for user and database `sonde`: the answer (authentication
/// request, error or, with trust authentication, `server_version`) names the server.
const POSTGRES: &[u8] =
    b"\x00\x00\x00\x23\x00\x03\x00\x00user\x00sonde\x00database\x00sonde\x00\x00";
/// MQTT 3.1.1 CONNECT with client id `sonde`, clean session, 60 s keep-alive, then SUBSCRIBE
/// (packet id 1, QoS 0) to `$SYS/broker/version`: every broker answers the CONNECT with a
/// CONNACK that names nobody; Mosquitto then sends its retained
/// `mosquitto version X.Y.Z` on that topic.
const MQTT: &[u8] = b"\x10\x11\x00\x04MQTT\x04\x02\x00\x3c\x00\x05sonde\
    \x82\x18\x00\x01\x00\x13$SYS/broker/version\x00";
/// The AMQP 0-9-1 protocol header; brokers answer with Connection.Start and their name.
const AMQP: &[u8] = b"AMQP\x00\x00\x09\x01";
/// PJL's device identification, wrapped in the Universal Exit Language.
const PJL: &[u8] = b"\x1b%-12345X@PJL INFO ID\r\n\x1b%-12345X\r\n";
/// A Minecraft status handshake (protocol -1, host `localhost`, port 25565) and request.
const MINECRAFT: &[u8] = b"\x13\x00\xff\xff\xff\xff\x0f\x09localhost\x63\xdd\x01\x01\x00";

const BUILTIN: &[ServiceProbe] = &[
    ServiceProbe {
        name: "null",
        payload: Payload::Nothing,
        ports: &[],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(50),
        decoder: Decoder::Raw,
    },
    ServiceProbe {
        name: "redis",
        payload: Payload::Bytes(REDIS),
        ports: &[6379, 6380, 7000],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Raw,
    },
    ServiceProbe {
        name: "memcached",
        payload: Payload::Bytes(b"version\r\n"),
        ports: &[11211],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Raw,
    },
    ServiceProbe {
        name: "postgres",
        payload: Payload::Bytes(POSTGRES),
        ports: &[5432, 5433],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Raw,
    },
    ServiceProbe {
        name: "mqtt",
        payload: Payload::Bytes(MQTT),
        ports: &[1883],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Raw,
    },
    ServiceProbe {
        name: "amqp",
        payload: Payload::Bytes(AMQP),
        ports: &[5672],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Raw,
    },
    ServiceProbe {
        name: "zookeeper",
        payload: Payload::Bytes(b"srvr"),
        ports: &[2181],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Raw,
    },
    ServiceProbe {
        name: "dns-version",
        payload: Payload::Bytes(decode::DNS_TCP_QUERY),
        ports: &[53],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::DnsVersion { tcp: true },
    },
    ServiceProbe {
        name: "pjl",
        payload: Payload::Bytes(PJL),
        ports: &[9100],
        fallback: false,
        timeout: Duration::from_millis(2000),
        idle: Duration::from_millis(200),
        decoder: Decoder::Raw,
    },
    ServiceProbe {
        name: "minecraft",
        payload: Payload::Bytes(MINECRAFT),
        ports: &[25565],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Raw,
    },
    ServiceProbe {
        name: "mongodb",
        payload: Payload::Bytes(decode::MONGODB),
        ports: &[27017, 27018, 27019],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::MongoDb,
    },
    ServiceProbe {
        name: "rdp",
        payload: Payload::Bytes(decode::RDP),
        ports: &[3389],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Rdp,
    },
    // NEGOTIATE, then SESSION_SETUP with NTLMSSP: the challenge names the machine, its
    // domain and OS build without any credential.
    ServiceProbe {
        name: "smb",
        payload: Payload::Sequence(decode::SMB),
        ports: &[445],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Smb,
    },
    ServiceProbe {
        name: "ldap",
        payload: Payload::Bytes(decode::LDAP),
        ports: &[389, 3268],
        fallback: false,
        timeout: Duration::from_millis(1500),
        idle: Duration::from_millis(100),
        decoder: Decoder::Ldap,
    },
    ServiceProbe {
        name: "tls",
        payload: Payload::Tls,
        // HTTPS and its consoles (Proxmox 8006/8007, UniFi 8443, ESXi 443, Synology 5001,
        // FortiGate 10443), mail and directory over TLS, WinRM over HTTPS, MQTT over TLS, WSUS.
        ports: &[
            443, 8443, 993, 995, 465, 636, 5986, 8006, 8007, 9443, 10443, 4443, 5001, 7443, 8883,
            8531,
        ],
        fallback: false,
        timeout: Duration::from_millis(3000),
        idle: Duration::from_millis(300),
        decoder: Decoder::Raw,
    },
    ServiceProbe {
        name: "http",
        payload: Payload::HttpGet,
        ports: &[
            80, 81, 591, 3000, 5000, 8000, 8006, 8008, 8080, 8081, 8088, 8096, 8123, 8443, 8888,
            9000, 9090, 9200, 32400,
        ],
        fallback: true,
        timeout: Duration::from_millis(2500),
        idle: Duration::from_millis(300),
        decoder: Decoder::Raw,
    },
];

/// The UDP probes. `idle` is unused: one datagram is the whole answer.
const BUILTIN_UDP: &[ServiceProbe] = &[
    ServiceProbe {
        name: "dns-version",
        payload: Payload::Bytes(decode::DNS_QUERY),
        ports: &[53, 5353],
        fallback: false,
        timeout: Duration::from_millis(1000),
        idle: Duration::ZERO,
        decoder: Decoder::DnsVersion { tcp: false },
    },
    ServiceProbe {
        name: "ntp",
        payload: Payload::Bytes(decode::NTP),
        ports: &[123],
        fallback: false,
        timeout: Duration::from_millis(1000),
        idle: Duration::ZERO,
        decoder: Decoder::Ntp,
    },
    ServiceProbe {
        name: "snmp",
        payload: Payload::Bytes(decode::SNMP),
        ports: &[161],
        fallback: false,
        timeout: Duration::from_millis(1000),
        idle: Duration::ZERO,
        decoder: Decoder::Snmp,
    },
];

/// What a UDP port with no probe of its own gets: an empty datagram, which a closed port
/// answers with ICMP port unreachable and many open ones ignore.
const UDP_EMPTY: ServiceProbe = ServiceProbe {
    name: "udp-empty",
    payload: Payload::Nothing,
    ports: &[],
    fallback: true,
    timeout: Duration::from_millis(1000),
    idle: Duration::ZERO,
    decoder: Decoder::Raw,
};

impl ProbeRegistry {
    /// The built-in probes.
    pub fn builtin() -> Self {
        Self { probes: BUILTIN.to_vec(), udp: BUILTIN_UDP.to_vec() }
    }

    /// The UDP probe for `port`: the one that claims it, else an empty datagram.
    pub fn udp_probe(&self, port: u16) -> &ServiceProbe {
        self.udp.iter().find(|p| p.ports.contains(&port)).unwrap_or(&UDP_EMPTY)
    }

    /// Every UDP probe, in registry order.
    pub fn udp_probes(&self) -> &[ServiceProbe] {
        &self.udp
    }

    /// The NULL probe: connect and wait for a banner.
    pub fn null(&self) -> &ServiceProbe {
        self.probes.iter().find(|p| p.payload == Payload::Nothing).unwrap_or(&BUILTIN[0])
    }

    /// Every probe, in registry order.
    pub fn probes(&self) -> &[ServiceProbe] {
        &self.probes
    }

    /// The probes to try on `port` after a silent NULL probe, best first, at most `max`:
    /// those that claim the port, then the fallbacks it has not already had.
    pub fn follow_ups(&self, port: u16, max: usize) -> Vec<&ServiceProbe> {
        let claimed =
            self.probes.iter().filter(|p| p.payload != Payload::Nothing && p.ports.contains(&port));
        let fallbacks = self.probes.iter().filter(|p| p.fallback && !p.ports.contains(&port));
        claimed.chain(fallbacks).take(max).collect()
    }

    /// The probe called `name`.
    pub fn get(&self, name: &str) -> Option<&ServiceProbe> {
        self.probes.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(port: u16, max: usize) -> Vec<&'static str> {
        ProbeRegistry::builtin().follow_ups(port, max).iter().map(|p| p.name).collect()
    }

    #[test]
    fn ports_get_their_own_probe_then_http() {
        assert_eq!(names(6379, 2), ["redis", "http"]);
        assert_eq!(names(11211, 1), ["memcached"]);
        assert_eq!(names(8080, 2), ["http"]);
        assert_eq!(names(8443, 2), ["tls", "http"], "TLS first where HTTPS lives");
        assert_eq!(names(993, 2), ["tls", "http"]);
        assert_eq!(names(40000, 2), ["http"]);
        assert_eq!(names(22, 0), Vec::<&str>::new());
        assert_eq!(names(27017, 2), ["mongodb", "http"]);
        assert_eq!(names(3389, 1), ["rdp"]);
        assert_eq!(names(445, 1), ["smb"]);
        assert_eq!(names(389, 1), ["ldap"]);
        assert_eq!(ProbeRegistry::builtin().null().name, "null");
        assert_eq!(ProbeRegistry::builtin().get("tls").map(|p| p.payload), Some(Payload::Tls));
    }

    #[test]
    fn names_are_unique() {
        let r = ProbeRegistry::builtin();
        let mut names: Vec<_> = r.probes().iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), r.probes().len());
    }

    #[test]
    fn udp_ports_get_their_probe_or_an_empty_datagram() {
        let r = ProbeRegistry::builtin();
        let name = |port| r.udp_probe(port).name;
        assert_eq!(
            [name(53), name(123), name(161), name(40000)],
            ["dns-version", "ntp", "snmp", "udp-empty"]
        );
        assert!(r.udp_probes().iter().all(|p| matches!(p.payload, Payload::Bytes(_))));
        // UDP probes never go over TCP: `get` and the follow-ups know only TCP ones.
        assert_eq!(r.get("ntp"), None);
        assert!(r.follow_ups(161, usize::MAX).iter().all(|p| p.name != "snmp"));
    }

    #[test]
    fn mqtt_probe_is_a_connect_then_a_subscribe() {
        // Each MQTT packet: a type byte, a one-byte remaining length (all are under 128), the
        // rest. A wrong length makes a broker drop the connection before the SUBSCRIBE.
        let mut rest = MQTT;
        let mut types = Vec::new();
        while let [kind, len, tail @ ..] = rest {
            let len = usize::from(*len);
            assert!(len < 128 && tail.len() >= len, "bad MQTT framing at {rest:x?}");
            types.push(*kind);
            rest = &tail[len..];
        }
        assert!(rest.is_empty(), "trailing bytes after the MQTT packets: {rest:x?}");
        assert_eq!(types, [0x10, 0x82], "CONNECT, then SUBSCRIBE with its reserved bits");
        assert!(MQTT.ends_with(b"$SYS/broker/version\x00"));
    }
}
