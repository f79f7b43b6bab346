//! IANA service names of well-known TCP ports (the subset seen on real networks).

/// The service usually found on `port`.
pub(crate) fn name(port: u16) -> Option<&'static str> {
    PORT_NAMES.binary_search_by_key(&port, |&(p, _)| p).ok().map(|i| PORT_NAMES[i].1)
}

/// Sorted by port for binary search.
const PORT_NAMES: &[(u16, &str)] = &[
    (21, "ftp"),
    (22, "ssh"),
    (23, "telnet"),
    (25, "smtp"),
    (53, "domain"),
    (80, "http"),
    (88, "kerberos"),
    (110, "pop3"),
    (111, "rpcbind"),
    (135, "msrpc"),
    (139, "netbios-ssn"),
    (143, "imap"),
    (161, "snmp"),
    (179, "bgp"),
    (389, "ldap"),
    (443, "https"),
    (445, "microsoft-ds"),
    (465, "smtps"),
    (514, "shell"),
    (515, "printer"),
    (548, "afp"),
    (554, "rtsp"),
    (587, "submission"),
    (631, "ipp"),
    (636, "ldaps"),
    (873, "rsync"),
    (993, "imaps"),
    (995, "pop3s"),
    (1080, "socks"),
    (1433, "ms-sql-s"),
    (1521, "oracle"),
    (1723, "pptp"),
    (1883, "mqtt"),
    (2049, "nfs"),
    (2375, "docker"),
    (2376, "docker-tls"),
    (3000, "http-alt"),
    (3128, "squid-http"),
    (3306, "mysql"),
    (3389, "ms-wbt-server"),
    (5000, "upnp"),
    (5060, "sip"),
    (5432, "postgresql"),
    (5672, "amqp"),
    (5900, "vnc"),
    (5985, "wsman"),
    (6379, "redis"),
    (6443, "kubernetes"),
    (8000, "http-alt"),
    (8006, "proxmox"),
    (8080, "http-proxy"),
    (8443, "https-alt"),
    (8883, "secure-mqtt"),
    (9000, "cslistener"),
    (9090, "zeus-admin"),
    (9100, "jetdirect"),
    (9200, "elasticsearch"),
    (11211, "memcache"),
    (27017, "mongodb"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(PORT_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn looks_up_known_and_unknown_ports() {
        assert_eq!(name(22), Some("ssh"));
        assert_eq!(name(27017), Some("mongodb"));
        assert_eq!(name(1), None);
    }
}
