//! Host names that services say about themselves: the names on a TLS certificate, the host
//! name in an SMTP, FTP, POP3 or IMAP greeting (`220 mail.example.com ESMTP Exim`), and the
//! DNS and NetBIOS computer names of an SMB server's NTLMSSP challenge (`smb.dns_name`,
//! `smb.netbios_name` in the decoded answer of the `smb` probe).
//!
//! These names are attacker-controlled text, so only strings that are valid DNS host names are
//! kept: no addresses, e-mail addresses, URIs or wildcards. An HTTP page title is free text
//! written for people, never a host name, and is not taken. Where names from several sources
//! disagree, [`HostnameSource`]'s order says which one the appliance trusts.

use std::net::IpAddr;

use sonde_scanner::TlsInfo;
use sonde_web::api::{Hostname, HostnameSource};

/// Names taken from one port at most: a certificate naming hundreds of hosts says little about
/// the machine that serves it.
pub const MAX_NAMES_PER_PORT: usize = 8;

/// Names the service on one port gave about its host: `service` is the identified service
/// name (`smtp`, `ftp`, `pop3`, `imap`), `banner` what it sent first, `tls` its handshake.
pub fn service_hostnames(
    service: Option<&str>,
    banner: Option<&[u8]>,
    tls: Option<&TlsInfo>,
) -> Vec<Hostname> {
    let mut names: Vec<Hostname> = Vec::new();
    let mut push = |name: String, source: HostnameSource| {
        if names.len() < MAX_NAMES_PER_PORT
            && !names.iter().any(|n| n.name == name && n.source == source)
        {
            names.push(Hostname { name, source });
        }
    };
    if let Some(cert) = tls.and_then(|t| t.cert.as_ref()) {
        let cn = common_name(&cert.subject);
        for candidate in cn.into_iter().chain(cert.san.iter().map(String::as_str)) {
            if let Some(name) = host_name(candidate, false) {
                push(name, HostnameSource::Tls);
            }
        }
    }
    if let Some(banner) = banner
        && banner.starts_with(b"smb.dialect: ")
    {
        // Only the SMB decoder writes these lines; a NetBIOS name is one label, upper case.
        for line in banner.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            let value =
                line.strip_prefix("smb.dns_name: ").or(line.strip_prefix("smb.netbios_name: "));
            if let Some(name) = value.and_then(|v| host_name(v, false)) {
                push(name, HostnameSource::Smb);
            }
        }
    }
    if let (Some(service), Some(banner)) = (service, banner) {
        let greeting = String::from_utf8_lossy(first_line(banner));
        let found = match service {
            "smtp" | "submission" => {
                greeting_name(&greeting, &["220-", "220 "]).map(|n| (n, HostnameSource::Smtp))
            }
            "ftp" => greeting_name(&greeting, &["220-", "220 "]).map(|n| (n, HostnameSource::Ftp)),
            "pop3" => greeting_name(&greeting, &["+OK "]).map(|n| (n, HostnameSource::Pop3)),
            "imap" => greeting_name(&greeting, &["* OK "]).map(|n| (n, HostnameSource::Imap)),
            _ => None,
        };
        if let Some((name, source)) = found {
            push(name, source);
        }
    }
    names
}

/// The `CN=` value of an RFC 4514-style subject (`CN=a.example, O=Org`).
fn common_name(subject: &str) -> Option<&str> {
    subject.split(", ").find_map(|part| part.strip_prefix("CN="))
}

/// The host name a greeting line carries right after its status (`220 `), skipping an IMAP
/// `[CAPABILITY ...]` block. Greetings carry product names in the same place (`220 ProFTPD
/// Server`), so a greeting's name must have at least two labels.
fn greeting_name(line: &str, statuses: &[&str]) -> Option<String> {
    let rest = statuses.iter().find_map(|s| line.strip_prefix(s))?;
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix('[') {
        Some(inner) => inner.split_once(']')?.1.trim_start(),
        None => rest,
    };
    let token = rest.split_whitespace().next()?;
    host_name(token, true)
}

/// The first line of a banner, without its line ending.
fn first_line(banner: &[u8]) -> &[u8] {
    let end = banner.iter().position(|&b| b == b'\n').unwrap_or(banner.len());
    let line = &banner[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `text` as a lowercase host name when it is one (RFC 1123 labels, at most 253 characters, a
/// last label that is not all digits); `dotted` requires two labels or more. Addresses,
/// wildcards, `localhost` and anything with other characters are refused.
fn host_name(text: &str, dotted: bool) -> Option<String> {
    let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 || name.parse::<IpAddr>().is_ok() {
        return None;
    }
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !labels.iter().all(label_ok) || (dotted && labels.len() < 2) {
        return None;
    }
    let last = labels.last()?;
    if last.bytes().all(|b| b.is_ascii_digit()) || name == "localhost" {
        return None;
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use sonde_scanner::CertSummary;

    use super::*;

    fn tls(subject: &str, san: &[&str]) -> TlsInfo {
        TlsInfo {
            version: "TLSv1.3".into(),
            alpn: None,
            cipher: "TLS13_AES_128_GCM_SHA256".into(),
            cert: Some(CertSummary {
                subject: subject.into(),
                issuer: subject.into(),
                san: san.iter().map(|s| (*s).to_string()).collect(),
                not_before: String::new(),
                not_after: String::new(),
                serial: String::new(),
                sha256: String::new(),
                key_type: String::new(),
                self_signed: true,
            }),
        }
    }

    /// A name and its source, or none.
    type Expected = Option<(&'static str, HostnameSource)>;

    fn names(found: Vec<Hostname>) -> Vec<(String, HostnameSource)> {
        found.into_iter().map(|h| (h.name, h.source)).collect()
    }

    #[test]
    fn greetings_give_their_host_name() {
        use HostnameSource::*;
        // (service, banner, the name and source expected)
        let table: &[(&str, &str, Expected)] = &[
            (
                "smtp",
                "220 mail.lab.example ESMTP Exim 4.96 Thu, 26 Nov\r\n",
                Some(("mail.lab.example", Smtp)),
            ),
            (
                "smtp",
                "220-MX1.Example.COM. ESMTP Postfix\r\n220 more\r\n",
                Some(("mx1.example.com", Smtp)),
            ),
            ("smtp", "220 ESMTP ready\r\n", None),
            ("smtp", "554 mail.example.com no service\r\n", None),
            (
                "ftp",
                "220 ftp.example.org FTP server (Version 6.4) ready.\r\n",
                Some(("ftp.example.org", Ftp)),
            ),
            ("ftp", "220 ProFTPD Server (Debian) [::ffff:10.0.0.1]\r\n", None),
            ("ftp", "220 (vsFTPd 3.0.3)\r\n", None),
            ("pop3", "+OK pop.example.net POP3 server ready\r\n", Some(("pop.example.net", Pop3))),
            ("pop3", "+OK Dovecot ready.\r\n", None),
            (
                "imap",
                "* OK [CAPABILITY IMAP4rev1 STARTTLS] imap.example.net Cyrus ready\r\n",
                Some(("imap.example.net", Imap)),
            ),
            ("imap", "* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready.\r\n", None),
            ("http", "220 web.example.com\r\n", None),
            ("smtp", "220 10.0.0.5 ESMTP\r\n", None),
            ("smtp", "220 <script>.example ESMTP\r\n", None),
        ];
        for (service, banner, expected) in table {
            let found = names(service_hostnames(Some(service), Some(banner.as_bytes()), None));
            let expected: Vec<_> = expected.iter().map(|(n, s)| ((*n).to_string(), *s)).collect();
            assert_eq!(found, expected, "{service}: {banner:?}");
        }
    }

    #[test]
    fn certificates_give_their_dns_names_only() {
        let info = tls(
            "CN=nginx.lab.example, O=Lab",
            &[
                "nginx.lab.example",
                "www.lab.example",
                "*.lab.example",
                "10.0.0.1",
                "a@b.example",
                "https://x.example/",
            ],
        );
        let found = names(service_hostnames(Some("https"), None, Some(&info)));
        assert_eq!(
            found,
            vec![
                ("nginx.lab.example".to_string(), HostnameSource::Tls),
                ("www.lab.example".to_string(), HostnameSource::Tls),
            ]
        );
        // A single-label certificate name is a host name; `localhost` and addresses are not.
        let info = tls("CN=pve1, O=PVE Cluster Node", &["localhost", "127.0.0.1"]);
        assert_eq!(
            names(service_hostnames(None, None, Some(&info))),
            vec![("pve1".to_string(), HostnameSource::Tls)]
        );
    }

    #[test]
    fn a_certificate_naming_many_hosts_is_bounded() {
        let san: Vec<String> = (0..100).map(|i| format!("h{i}.example")).collect();
        let san: Vec<&str> = san.iter().map(String::as_str).collect();
        let info = tls("O=Many", &san);
        assert_eq!(service_hostnames(None, None, Some(&info)).len(), MAX_NAMES_PER_PORT);
    }

    #[test]
    fn smb_challenges_give_the_computer_names() {
        let banner = "smb.dialect: 3.1.1\nsmb.signing: required\nsmb.netbios_domain: CORP\n\
                      smb.netbios_name: FS01\nsmb.dns_domain: corp.example\n\
                      smb.dns_name: fs01.corp.example\nsmb.os_version: 10.0.20348\n";
        assert_eq!(
            names(service_hostnames(Some("microsoft-ds"), Some(banner.as_bytes()), None)),
            [
                ("fs01".to_string(), HostnameSource::Smb),
                ("fs01.corp.example".to_string(), HostnameSource::Smb)
            ]
        );
        // Samba standalone: the NetBIOS name only. Any service: the lines are the decoder's.
        let samba = "smb.dialect: 3.0.2\nsmb.netbios_name: SONDE-LAB-SMB\n";
        assert_eq!(
            names(service_hostnames(None, Some(samba.as_bytes()), None)),
            [("sonde-lab-smb".to_string(), HostnameSource::Smb)]
        );
        // A banner that only looks like one, or names that are not host names: nothing.
        for banner in [
            "220 x\nsmb.netbios_name: FS01\n",
            "smb.dialect: 3.0.2\nsmb.netbios_name: A B\nsmb.dns_name: 10.0.0.1\n",
        ] {
            assert!(service_hostnames(None, Some(banner.as_bytes()), None).is_empty(), "{banner}");
        }
    }

    #[test]
    fn hostile_bytes_give_nothing() {
        for banner in [&b"\xff\xfe\x00220 a.b"[..], b"", b"220 ", b"* OK [unterminated"] {
            assert!(service_hostnames(Some("smtp"), Some(banner), None).is_empty());
            assert!(service_hostnames(Some("imap"), Some(banner), None).is_empty());
        }
        let long = format!("220 {}.example ESMTP", "a".repeat(300));
        assert!(service_hostnames(Some("smtp"), Some(long.as_bytes()), None).is_empty());
    }
}
