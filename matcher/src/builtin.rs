//! The signature files built into the binary, one per family.

/// `(file name, TOML text)` of every built-in signature file.
pub(crate) const SOURCES: &[(&str, &str)] = &[
    ("web.toml", include_str!("../signatures/web.toml")),
    ("ssh.toml", include_str!("../signatures/ssh.toml")),
    ("ftp.toml", include_str!("../signatures/ftp.toml")),
    ("mail.toml", include_str!("../signatures/mail.toml")),
    ("dns.toml", include_str!("../signatures/dns.toml")),
    ("databases.toml", include_str!("../signatures/databases.toml")),
    ("brokers.toml", include_str!("../signatures/brokers.toml")),
    ("hypervisors.toml", include_str!("../signatures/hypervisors.toml")),
    ("nas.toml", include_str!("../signatures/nas.toml")),
    ("selfhosted.toml", include_str!("../signatures/selfhosted.toml")),
    ("network.toml", include_str!("../signatures/network.toml")),
    ("printers.toml", include_str!("../signatures/printers.toml")),
    ("iot.toml", include_str!("../signatures/iot.toml")),
    ("remote.toml", include_str!("../signatures/remote.toml")),
    ("tls.toml", include_str!("../signatures/tls.toml")),
    ("generic.toml", include_str!("../signatures/generic.toml")),
];
