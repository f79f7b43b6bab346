//! Tests of target parsing, set algebra, splitting and target files.

use std::io::Write;

use super::*;

/// Ranges as (first, last) text, for tables.
type Bounds = &'static [(&'static str, &'static str)];

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn range(first: &str, last: &str) -> Ipv4Range {
    Ipv4Range::new(ip(first), ip(last))
}

fn set(specs: &[&str]) -> TargetSet {
    let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
    TargetSet::parse(&specs).unwrap()
}

fn parse_err(spec: &str) -> String {
    TargetSet::parse(&[spec.to_string()]).unwrap_err().to_string()
}

#[test]
fn parses_every_spec_form() {
    let cases: &[(&str, Bounds)] = &[
        ("192.0.2.7", &[("192.0.2.7", "192.0.2.7")]),
        ("192.0.2.0/24", &[("192.0.2.0", "192.0.2.255")]),
        ("192.0.2.77/24", &[("192.0.2.0", "192.0.2.255")]),
        ("10.1.2.3/8", &[("10.0.0.0", "10.255.255.255")]),
        ("192.0.2.7/32", &[("192.0.2.7", "192.0.2.7")]),
        ("192.0.2.6/31", &[("192.0.2.6", "192.0.2.7")]),
        ("1.2.3.4/0", &[("0.0.0.0", "255.255.255.255")]),
        ("192.0.2.1-192.0.3.4", &[("192.0.2.1", "192.0.3.4")]),
        ("192.0.2.1-20", &[("192.0.2.1", "192.0.2.20")]),
        ("192.0.2.9-9", &[("192.0.2.9", "192.0.2.9")]),
        ("192.0.2.0-255", &[("192.0.2.0", "192.0.2.255")]),
        ("255.255.255.255", &[("255.255.255.255", "255.255.255.255")]),
        ("192.0.2.1,192.0.2.2 192.0.2.3", &[("192.0.2.1", "192.0.2.3")]),
        ("192.0.2.0/25, 192.0.2.128/25", &[("192.0.2.0", "192.0.2.255")]),
        ("192.0.2.1 192.0.2.9", &[("192.0.2.1", "192.0.2.1"), ("192.0.2.9", "192.0.2.9")]),
    ];
    for (spec, want) in cases {
        let want: Vec<Ipv4Range> = want.iter().map(|(a, b)| range(a, b)).collect();
        assert_eq!(set(&[spec]).ranges(), want, "spec {spec}");
    }
}

#[test]
fn rejects_bad_specs_with_a_reason() {
    let cases = [
        ("192.0.2.0/33", "prefix length must be 0 to 32"),
        ("192.0.2.0/240", "prefix length must be 0 to 32"),
        ("192.0.2.0/", "prefix length after `/` must be a number"),
        ("192.0.2.0/x", "prefix length after `/` must be a number"),
        ("192.0.2.0/99999999999", "prefix length must be 0 to 32"),
        ("host.example/24", "not a valid IPv4 address"),
        ("192.0.2.20-192.0.2.1", "range is reversed: 192.0.2.20 comes after 192.0.2.1"),
        ("192.0.2.20-3", "range is reversed"),
        ("192.0.2.1-256", "end of a range must be an address"),
        ("192.0.2.1-", "end of a range must be an address"),
        ("192.0.2.1-x", "end of a range must be an address"),
        ("256.0.0.1", "not a valid IPv4 address"),
        ("10.1", "not a valid IPv4 address"),
        ("2130706433", "not a valid IPv4 address"),
        ("010.0.0.1", "not a valid IPv4 address"),
        ("127.0.0.01", "not a valid IPv4 address"),
        ("0x7f000001", "not a valid IPv4 address"),
        ("0x7f.0.0.1", "not a valid IPv4 address"),
        ("1.2.3.4.5", "not a valid IPv4 address"),
        ("::1", "IPv6 targets are not supported yet"),
        ("2001:db8::/32", "IPv6 targets are not supported yet"),
        ("[2001:db8::1]", "IPv6 targets are not supported yet"),
        ("fe80::1%eth0", "IPv6 targets are not supported yet"),
        ("2001:db8::1-2001:db8::9", "IPv6 targets are not supported yet"),
        ("192.0.2.1:80", "names no port"),
        ("a:b", "not an IPv4 address, CIDR, range or hostname"),
        ("-host", "not an address, CIDR"),
        ("host-.example", "not an address, CIDR"),
        ("0x7f.0x1", "not a valid IPv4 address"),
        ("bad!name", "not an address, CIDR"),
        ("a..b", "not an address, CIDR"),
        // Multi-byte characters where an `0x` prefix would be looked for.
        ("a\u{e9}", "not an address, CIDR"),
        ("\u{a47c2}U.1", "not an address, CIDR"),
    ];
    for (spec, want) in cases {
        let got = parse_err(spec);
        assert!(got.contains(want), "spec {spec:?}: got {got:?}, want {want:?}");
        assert!(got.starts_with("invalid target"), "spec {spec:?}: {got}");
    }
}

#[test]
fn empty_spec_lists_are_an_error() {
    for specs in [vec![], vec![String::new()], vec![" , ".to_string(), "\t".to_string()]] {
        let err = TargetSet::parse(&specs).unwrap_err();
        assert!(matches!(err, TargetError::NoTargets), "{specs:?}");
        assert!(err.to_string().starts_with("no targets given"));
    }
}

#[test]
fn hostname_shapes() {
    let cases = [
        ("localhost", true),
        ("scanme.example.org", true),
        ("scanme.example.org.", true),
        ("my-host_1.lan", true),
        ("a1.b2", true),
        ("1.2.3", false),
        ("host.123", false),
        ("-a.b", false),
        ("a-.b", false),
        ("", false),
        (".", false),
        ("a..b", false),
        ("a.b!", false),
    ];
    for (name, want) in cases {
        assert_eq!(is_hostname(name), want, "{name:?}");
    }
    assert!(!is_hostname(&format!("{}.com", "a".repeat(64))));
    assert!(is_hostname(&format!("{}.com", "a".repeat(63))));
}

#[test]
fn hostnames_resolve_once_to_ipv4() {
    // `localhost` comes from /etc/hosts: no packet leaves the machine.
    let targets = set(&["localhost"]);
    assert!(targets.contains(ip("127.0.0.1")), "{targets:?}");
    assert!(targets.ranges().iter().all(|r| r.first.is_loopback()));
}

#[test]
fn from_ranges_merges_overlapping_and_adjacent_ranges() {
    let cases: &[(Bounds, Bounds)] = &[
        (&[], &[]),
        (&[("10.0.0.5", "10.0.0.1")], &[]),
        (&[("10.0.0.1", "10.0.0.5"), ("10.0.0.3", "10.0.0.9")], &[("10.0.0.1", "10.0.0.9")]),
        (&[("10.0.0.6", "10.0.0.9"), ("10.0.0.1", "10.0.0.5")], &[("10.0.0.1", "10.0.0.9")]),
        (
            &[("10.0.0.1", "10.0.0.4"), ("10.0.0.6", "10.0.0.9")],
            &[("10.0.0.1", "10.0.0.4"), ("10.0.0.6", "10.0.0.9")],
        ),
        (&[("10.0.0.0", "10.0.0.255"), ("10.0.0.7", "10.0.0.7")], &[("10.0.0.0", "10.0.0.255")]),
        (
            &[("255.255.255.0", "255.255.255.255"), ("255.255.255.255", "255.255.255.255")],
            &[("255.255.255.0", "255.255.255.255")],
        ),
        (
            &[("0.0.0.0", "127.255.255.255"), ("128.0.0.0", "255.255.255.255")],
            &[("0.0.0.0", "255.255.255.255")],
        ),
    ];
    for (input, want) in cases {
        let got = TargetSet::from_ranges(input.iter().map(|(a, b)| range(a, b)));
        let want: Vec<Ipv4Range> = want.iter().map(|(a, b)| range(a, b)).collect();
        assert_eq!(got.ranges(), want, "{input:?}");
    }
}

#[test]
fn len_nth_and_contains_agree() {
    let targets = set(&["10.0.0.250-10.0.1.3", "10.0.2.0/31", "10.9.9.9"]);
    let all: Vec<Ipv4Addr> = (0..targets.len()).map(|i| targets.nth(i).unwrap()).collect();
    let want: Vec<Ipv4Addr> = [
        "10.0.0.250",
        "10.0.0.251",
        "10.0.0.252",
        "10.0.0.253",
        "10.0.0.254",
        "10.0.0.255",
        "10.0.1.0",
        "10.0.1.1",
        "10.0.1.2",
        "10.0.1.3",
        "10.0.2.0",
        "10.0.2.1",
        "10.9.9.9",
    ]
    .iter()
    .map(|s| ip(s))
    .collect();
    assert_eq!(all, want);
    assert_eq!(targets.len(), 13);
    assert_eq!(targets.nth(13), None);
    assert_eq!(targets.nth(u64::MAX), None);
    for addr in &want {
        assert!(targets.contains(*addr), "{addr}");
    }
    for addr in ["10.0.0.249", "10.0.1.4", "10.0.2.2", "10.9.9.8", "10.9.9.10", "0.0.0.0"] {
        assert!(!targets.contains(ip(addr)), "{addr}");
    }
}

#[test]
fn the_whole_space_counts_2_to_the_32() {
    let all = set(&["0.0.0.0/0"]);
    assert_eq!(all.len(), 1 << 32);
    assert_eq!(all.nth(0), Some(ip("0.0.0.0")));
    assert_eq!(all.nth((1 << 32) - 1), Some(ip("255.255.255.255")));
    assert_eq!(all.nth(1 << 32), None);
    assert!(all.contains(Ipv4Addr::BROADCAST));
}

#[test]
fn empty_sets() {
    let empty = TargetSet::default();
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    assert_eq!(empty.nth(0), None);
    assert!(!empty.contains(ip("0.0.0.0")));
    assert!(empty.split_by_prefix(24).is_empty());
    assert_eq!(empty, TargetSet::from_ranges([]));
    let a = set(&["10.0.0.0/24"]);
    assert_eq!(a.exclude(&a), empty);
    assert_eq!(a.exclude(&empty), a);
    assert_eq!(empty.exclude(&a), empty);
    assert_eq!(a.union(&empty), a);
}

#[test]
fn exclude_cuts_holes_edges_and_spans() {
    let cases: &[(&[&str], &[&str], Bounds)] = &[
        (&["10.0.0.0/24"], &["10.0.0.0"], &[("10.0.0.1", "10.0.0.255")]),
        (&["10.0.0.0/24"], &["10.0.0.255"], &[("10.0.0.0", "10.0.0.254")]),
        (
            &["10.0.0.0/24"],
            &["10.0.0.10-20", "10.0.0.30-40"],
            &[("10.0.0.0", "10.0.0.9"), ("10.0.0.21", "10.0.0.29"), ("10.0.0.41", "10.0.0.255")],
        ),
        (&["10.0.0.0/24"], &["10.0.0.0/16"], &[]),
        (
            &["10.0.0.0/24", "10.0.2.0/24"],
            &["10.0.0.128-10.0.2.127"],
            &[("10.0.0.0", "10.0.0.127"), ("10.0.2.128", "10.0.2.255")],
        ),
        (&["10.0.0.0/24"], &["9.0.0.0/8", "11.0.0.0/8"], &[("10.0.0.0", "10.0.0.255")]),
        (&["0.0.0.0/0"], &["0.0.0.0/1"], &[("128.0.0.0", "255.255.255.255")]),
        (&["0.0.0.0/0"], &["255.255.255.255"], &[("0.0.0.0", "255.255.255.254")]),
        (
            &["10.0.0.1", "10.0.0.3", "10.0.0.5"],
            &["10.0.0.2-4"],
            &[("10.0.0.1", "10.0.0.1"), ("10.0.0.5", "10.0.0.5")],
        ),
    ];
    for (base, cut, want) in cases {
        let got = set(base).exclude(&set(cut));
        let want: Vec<Ipv4Range> = want.iter().map(|(a, b)| range(a, b)).collect();
        assert_eq!(got.ranges(), want, "{base:?} - {cut:?}");
        assert_eq!(
            got.len(),
            want.iter().map(|r| u64::from(u32::from(r.last) - u32::from(r.first)) + 1).sum::<u64>()
        );
    }
}

#[test]
fn exclude_matches_a_brute_force_model() {
    let base = set(&["10.0.0.0-10.0.3.10", "10.0.5.0/25", "10.0.7.7"]);
    let cut = set(&["10.0.0.5-9", "10.0.1.0/24", "10.0.3.10-10.0.5.3", "10.0.7.0/24"]);
    let got = base.exclude(&cut);
    for i in 0..base.len() {
        let addr = base.nth(i).unwrap();
        assert_eq!(got.contains(addr), !cut.contains(addr), "{addr}");
    }
    assert!((0..got.len()).all(|i| !cut.contains(got.nth(i).unwrap())));
}

#[test]
fn union_merges() {
    let got = set(&["10.0.0.0/25"]).union(&set(&["10.0.0.128/25", "10.0.2.1"]));
    assert_eq!(got.ranges(), [range("10.0.0.0", "10.0.0.255"), range("10.0.2.1", "10.0.2.1")]);
}

#[test]
fn split_by_prefix_follows_aligned_blocks() {
    let targets = set(&["10.0.0.250-10.0.2.5", "10.0.2.9", "10.0.8.0/23"]);
    let blocks: Vec<Vec<Ipv4Range>> =
        targets.split_by_prefix(24).iter().map(|s| s.ranges().to_vec()).collect();
    assert_eq!(
        blocks,
        vec![
            vec![range("10.0.0.250", "10.0.0.255")],
            vec![range("10.0.1.0", "10.0.1.255")],
            vec![range("10.0.2.0", "10.0.2.5"), range("10.0.2.9", "10.0.2.9")],
            vec![range("10.0.8.0", "10.0.8.255")],
            vec![range("10.0.9.0", "10.0.9.255")],
        ]
    );
    let total: u64 = targets.split_by_prefix(24).iter().map(TargetSet::len).sum();
    assert_eq!(total, targets.len());

    assert_eq!(targets.split_by_prefix(0), vec![targets.clone()]);
    assert_eq!(targets.split_by_prefix(16), vec![targets.clone()]);
    let singles = set(&["10.0.0.1-3"]).split_by_prefix(40);
    assert_eq!(singles.len(), 3);
    assert!(singles.iter().all(|s| s.len() == 1));
    let top = set(&["255.255.255.254/31"]).split_by_prefix(32);
    assert_eq!(top.len(), 2);
    assert_eq!(set(&["0.0.0.0/0"]).split_by_prefix(1).len(), 2);
}

#[test]
fn default_excludes_cover_reserved_space() {
    let ex = default_excludes();
    for addr in ["0.0.0.0", "0.255.255.255", "224.0.0.1", "239.255.255.255", "240.0.0.1"] {
        assert!(ex.contains(ip(addr)), "{addr}");
    }
    assert!(ex.contains(Ipv4Addr::BROADCAST));
    for addr in ["1.0.0.0", "127.0.0.1", "223.255.255.255", "10.0.0.1"] {
        assert!(!ex.contains(ip(addr)), "{addr}");
    }
    assert_eq!(ex.len(), (1 << 24) + (1 << 29));
}

#[test]
fn classify_keeps_names_apart_from_numbers() {
    let cases = [
        ("0xdeadbeef.example.com", true),
        ("db-1.internal", true),
        ("10-0-0-1.example", true),
        ("0x7f000001", false),
        ("10.1", false),
        ("10.0.0.1-5", false),
    ];
    for (spec, is_host) in cases {
        let got = classify(spec);
        assert_eq!(matches!(got, Ok(Spec::Host(ref h)) if h == spec), is_host, "{spec}: {got:?}");
    }
}

#[test]
fn target_files_allow_comments_blanks_and_commas() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "# lab\n192.0.2.0/24  # the lab\n\n 192.0.2.1, 192.0.2.5-9\tlocalhost\n")
        .unwrap();
    let specs = read_target_file(file.path()).unwrap();
    assert_eq!(specs, ["192.0.2.0/24", "192.0.2.1", "192.0.2.5-9", "localhost"]);
}

#[test]
fn target_file_errors_name_path_and_line() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "192.0.2.1\n# ok\n192.0.2.9-1\n").unwrap();
    let err = read_target_file(file.path()).unwrap_err().to_string();
    let want =
        format!("{}:3: invalid target `192.0.2.9-1`: the range is reversed", file.path().display());
    assert!(err.starts_with(&want), "{err}");

    let missing = file.path().with_extension("missing");
    let err = read_target_file(&missing).unwrap_err();
    assert!(matches!(err, TargetError::File { .. }), "{err}");
    assert!(err.to_string().contains("cannot read target file"));
}
