//! Identification of real daemons: a lab whose target runs OpenSSH, nginx, Redis, memcached,
//! PostgreSQL, vsftpd, Mosquitto, dnsmasq, Exim, OpenLDAP, Samba and chrony from their Debian
//! packages
//! (`benches/lab/daemons`), scanned by `sonde serve` inside the scanning namespace.
//!
//! What each daemon is asserted to be, product and exact upstream version from `dpkg -s`,
//! and where the version comes from on the wire:
//!
//! | port  | daemon     | the version is in                                          |
//! |-------|------------|------------------------------------------------------------|
//! | 21    | vsftpd     | the greeting, `220 (vsFTPd 3.0.3)`                         |
//! | 22    | OpenSSH    | the identification string, `SSH-2.0-OpenSSH_9.2p1 ...`     |
//! | 25    | Exim       | the greeting, `220 ... ESMTP Exim 4.96 ...`                |
//! | 53    | dnsmasq    | the TXT answer to `version.bind` CHAOS over TCP            |
//! | 80    | nginx      | the `Server: nginx/1.22.1` header                          |
//! | 389   | OpenLDAP   | none: its root DSE (`OpenLDAProotDSE`) has no vendorVersion|
//! | 443   | nginx      | the same header, inside TLS (a self-signed certificate)    |
//! | 445   | Samba      | none: SMB2 names no software (Samba's SPNEGO hint does)    |
//! | 1883  | Mosquitto  | the retained `$SYS/broker/version` after CONNACK           |
//! | 5432  | PostgreSQL | `server_version` (trust for the probe's role and database) |
//! | 6379  | Redis      | `redis_version` in `INFO server` (protected mode off)      |
//! | 11211 | memcached  | the answer to `version`                                    |
//!
//! Every version the protocol carries is asserted: each of these daemons announces it in the
//! setup the lab gives it. OpenLDAP and Samba are named without a version, which their
//! protocols hide: OpenLDAP publishes no vendorName/vendorVersion in its root DSE, and SMB2
//! (unlike SMB1's NativeLanMan) has no field for the server's software. Samba's NTLMSSP
//! challenge names the machine: the SMB banner must carry its NetBIOS name, SONDE-LAB-SMB. Closed ports (a live host's resets) and silent ones (dead addresses, dropped) must end
//! up with no product: they are not even stored.
//!
//! UDP: `sonde scan --udp-ports 53,123,161` sends dnsmasq the same `version.bind` query over
//! UDP and must name the same product and version for 53/udp; Net-SNMP's snmpd (community
//! `public`) must be named from the sysObjectID of its GetResponse on 161/udp (it announces
//! no version); chrony answers the NTP client packet on 123/udp, identified as `ntp` with its
//! NTP version and stratum (an NTP reply names no software); the dead addresses stay silent
//! (open|filtered), so none of those is reported.
//!
//! The same lab is scanned twice: by `sonde serve` over the REST API (the stored view, with
//! the certificate nginx presents on 443: subject, SANs and SHA-256 fingerprint), then by
//! `sonde scan -o json`, whose identification must name the same products and versions.

use std::collections::BTreeMap;

use crate::util::lab::{Lab, require_root_netns};
use crate::util::sonde::SONDE;

const PREFIX: &str = "10.77.41.0/24";
/// Where the daemons listen.
const DAEMONS: &str = "10.77.41.10";
/// The daemons' ports, then 8080 (closed on live hosts) and 3306 (closed too); every port is
/// silent on the /24's dead addresses.
const PORTS: &str = "21,22,25,53,80,389,443,445,1883,5432,6379,11211,8080,3306";
/// `serve_scan.py`: starts `sonde serve` on 127.0.0.1 in the namespace, scans over the REST
/// API and prints every stored port's view.
const SERVE_SCAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/lab/serve_scan.py");

#[test]
fn identify_real_daemons_needs_root_netns() {
    require_root_netns("identify_real_daemons_needs_root_netns");
    // Two live hosts: the daemons' and one whose every port is closed.
    let lab = Lab::up_with_daemons(PREFIX, DAEMONS, 2);
    let truth = lab.daemon_truth();
    assert_eq!(truth.len(), 12, "the lab should serve twelve daemon ports: {truth:?}");
    assert_eq!(lab.live().len(), 2, "live hosts: {:?}", lab.live());

    let wall = tempfile::NamedTempFile::new().expect("a temporary file");
    let wall = wall.path().to_str().expect("a UTF-8 temporary path");
    // Rate 2000/s, seed 1, 1000 ms per probe, one retry.
    let out = lab
        .exec(100, &[SERVE_SCAN, SONDE, PREFIX, PORTS, "2000", "1", "1000", "1", wall, "detail"]);
    out.assert_success();

    let mut found: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    let mut https = None;
    let mut smb = None;
    for line in out.stdout.lines().filter(|l| !l.trim().is_empty()) {
        let view: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("port view is not JSON ({e}): {line}"));
        let pair = format!("{}:{}", view["ip"].as_str().unwrap_or("?"), view["port"]);
        let text = |key: &str| view[key].as_str().map(str::to_owned);
        found.insert(pair.clone(), (text("product"), text("version")));
        if pair == format!("{DAEMONS}:443") {
            https = Some(view);
        } else if pair == format!("{DAEMONS}:445") {
            smb = Some(view);
        }
    }

    let expected: BTreeMap<String, (Option<String>, Option<String>)> = truth
        .iter()
        .map(|(pair, (product, version))| {
            let version = (version != "-").then(|| version.clone());
            (pair.clone(), (Some(product.clone()), version))
        })
        .collect();
    // One comparison of the whole map: a daemon misidentified, a product on a closed or
    // silent port, or a port missing all show in the same diff.
    assert_eq!(
        found,
        expected,
        "identified (left) differs from what the daemons announce (right)\n{}",
        out.transcript()
    );

    // Samba's NTLMSSP challenge, decoded: the machine's NetBIOS name, without a credential.
    let smb = smb.expect("port 445 in the stored view");
    let banner = smb["banner"].as_str().unwrap_or_default();
    assert!(banner.contains("smb.netbios_name: SONDE-LAB-SMB\n"), "{smb}");
    assert!(banner.starts_with("smb.dialect: 3.0.2\n"), "{smb}");

    // The certificate nginx presents on 443, as the API shows it.
    let https = https.expect("port 443 in the stored view");
    assert_eq!(https["service"], "https", "{https}");
    let tls = &https["tls"];
    let cert = &tls["cert"];
    assert_eq!(cert["subject"], "O=Sonde Lab, CN=lab.sonde.invalid", "{tls}");
    assert_eq!(cert["issuer"], cert["subject"], "self-signed: {tls}");
    assert_eq!(cert["self_signed"], true, "{tls}");
    assert_eq!(cert["san"], serde_json::json!(["lab.sonde.invalid", DAEMONS]), "{tls}");
    assert_eq!(cert["sha256"], lab.daemon_cert_sha256().as_str(), "{tls}");
    assert_eq!(cert["key_type"], "RSA 2048", "{tls}");
    assert!(tls["version"].as_str().is_some_and(|v| v.starts_with("TLSv1.")), "{tls}");

    // `sonde scan` identifies the same daemons the same way.
    let scan = lab.exec(
        120,
        &[SONDE, "scan", PREFIX, "-p", PORTS, "--engine", "connect", "--seed", "1", "-o", "json"],
    );
    scan.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&scan.stdout)
        .unwrap_or_else(|e| panic!("sonde scan -o json is not JSON ({e}):\n{}", scan.stdout));
    let results = doc["results"].as_array().expect("a results array");
    let from_scan: BTreeMap<String, (Option<String>, Option<String>)> = results
        .iter()
        .map(|r| {
            let text = |key: &str| r[key].as_str().map(str::to_owned);
            let pair = format!("{}:{}", r["ip"].as_str().unwrap_or("?"), r["port"]);
            (pair, (text("product"), text("version")))
        })
        .collect();
    assert_eq!(
        from_scan,
        expected,
        "sonde scan identified (left) differs from what the daemons announce (right)\n{}",
        scan.transcript()
    );

    // UDP, with TCP 53 beside it: the same daemon, the same answer, two protocols.
    let udp = lab.exec(
        120,
        &[
            SONDE,
            "scan",
            PREFIX,
            "-p",
            "53",
            "--udp-ports",
            "53,123,161",
            "--engine",
            "connect",
            "--seed",
            "1",
            "-o",
            "json",
        ],
    );
    udp.assert_success();
    let doc: serde_json::Value = serde_json::from_str(&udp.stdout)
        .unwrap_or_else(|e| panic!("sonde scan -o json is not JSON ({e}):\n{}", udp.stdout));
    let from_udp: BTreeMap<String, (Option<String>, Option<String>)> = doc["results"]
        .as_array()
        .expect("a results array")
        .iter()
        .map(|r| {
            let text = |key: &str| r[key].as_str().map(str::to_owned);
            let pair = format!(
                "{}:{}/{}",
                r["ip"].as_str().unwrap_or("?"),
                r["port"],
                r["proto"].as_str().unwrap_or("?")
            );
            (pair, (text("product"), text("version")))
        })
        .collect();
    let dns = expected[&format!("{DAEMONS}:53")].clone();
    let want: BTreeMap<String, (Option<String>, Option<String>)> = [
        (format!("{DAEMONS}:53/tcp"), dns.clone()),
        (format!("{DAEMONS}:53/udp"), dns),
        (format!("{DAEMONS}:123/udp"), (None, None)),
        (format!("{DAEMONS}:161/udp"), (Some("Net-SNMP".to_string()), None)),
    ]
    .into();
    assert_eq!(
        from_udp,
        want,
        "sonde scan --udp-ports found (left) differs from the lab (right)\n{}",
        udp.transcript()
    );
    // chrony: an NTP server, its protocol version and stratum (`local stratum 10`).
    let ntp = doc["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["port"] == 123 && r["proto"] == "udp"))
        .unwrap_or_else(|| panic!("no 123/udp result\n{}", udp.transcript()));
    assert_eq!(ntp["service"], "ntp", "{ntp}");
    assert_eq!(ntp["info"], "NTPv4, stratum 10", "{ntp}");
    assert!(
        udp.stderr.contains("open|filtered"),
        "the UDP summary line is missing\n{}",
        udp.transcript()
    );
}
