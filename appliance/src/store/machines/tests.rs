//! Merge rules: a MAC is one machine whatever its addresses; a host without one is known by
//! its address; a machine that moves keeps its id, edits and history.

use sonde_web::api::{HostEdit, HostQuery, ScanChanges, ScanCounters, ScanStatus};

use super::super::findings::tests::{record, scan};
use super::super::{HostFilter, store_tests};
use super::*;

const CISCO: &str = "00:00:0c:aa:00:0a";
const INTEL: &str = "00:1b:21:aa:00:14";

fn arp(ip: [u8; 4], mac: &str, vendor: &str) -> HostRecord {
    HostRecord { ip: ip.into(), mac: mac.into(), vendor: Some(vendor.into()) }
}

/// Ends a scan as the Persister does when it completes: hosts linked to machines, then the
/// changes compared, recorded and the moves carried out.
async fn complete(store: &Store, id: i64) -> ScanChanges {
    store.finish_scan(id, ScanStatus::Completed, &ScanCounters::default(), None).await.unwrap();
    store.link_machines(id).await.unwrap();
    let changes = store.changes(id, None).await.unwrap();
    store.record_changes(&changes).await.unwrap();
    store.apply_moves(id, &changes.hosts_moved).await.unwrap();
    changes
}

fn sighting(machine_id: i64, ip: [u8; 4], by_mac: bool) -> Sighting {
    Sighting { machine_id, ip: ip.into(), by_mac }
}

#[test]
fn only_machines_known_by_mac_and_seen_elsewhere_only_move() {
    let before = [
        sighting(1, [10, 0, 0, 5], true),
        sighting(2, [10, 0, 0, 7], true),
        sighting(2, [10, 0, 0, 8], true),
        sighting(3, [10, 0, 0, 9], false),
        sighting(4, [10, 0, 0, 20], true),
    ];
    let after = [
        // Moved.
        sighting(1, [10, 0, 0, 6], true),
        // Multi-homed, lost one address and gained another: kept one, so did not move.
        sighting(2, [10, 0, 0, 8], true),
        sighting(2, [10, 0, 0, 30], true),
        // Known by its address: a new address is another machine, never a move.
        sighting(3, [10, 0, 0, 10], false),
        // Both of its addresses are new, paired in order.
        sighting(4, [10, 0, 0, 41], true),
        sighting(4, [10, 0, 0, 40], true),
        // First seen now.
        sighting(5, [10, 0, 0, 50], true),
    ];
    let got: Vec<(i64, Ipv4Addr, Ipv4Addr)> =
        moves(&before, &after).iter().map(|m| (m.machine_id, m.from, m.to)).collect();
    assert_eq!(
        got,
        [
            (1, Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6)),
            (4, Ipv4Addr::new(10, 0, 0, 20), Ipv4Addr::new(10, 0, 0, 40)),
        ]
    );
    assert!(moves(&[], &after).is_empty());
}

store_tests! {
    async fn a_mac_at_a_new_address_stays_one_machine_with_its_edits_and_history(store) {
    let (a, b, c) =
        (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6), Ipv4Addr::new(10, 0, 0, 7));
    let first = scan(store).await;
    store
        .persist_hosts(
            first,
            &[arp([10, 0, 0, 5], CISCO, "Cisco Systems, Inc"), arp([10, 0, 0, 7], INTEL, "Intel")],
        )
        .await
        .unwrap();
    store.persist(first, &[record([10, 0, 0, 5], 22)]).await.unwrap();
    let changes = complete(store, first).await;
    assert_eq!(changes.hosts_appeared, [a]);
    let machine = store.host(a).await.unwrap().unwrap().machine_id.expect("a machine");
    let other = store.host(c).await.unwrap().unwrap().machine_id.expect("a machine");
    assert_ne!(machine, other, "two MACs are two machines");
    let edit = HostEdit {
        name: Some("printer".into()),
        note: Some("room 2".into()),
        tags: Some(vec!["office".into()]),
    };
    assert!(store.edit_host(a, &edit).await.unwrap());

    // The Cisco machine answers at .6 now; .5 is silent.
    let second = scan(store).await;
    store
        .persist_hosts(
            second,
            &[arp([10, 0, 0, 6], CISCO, "Cisco Systems, Inc"), arp([10, 0, 0, 7], INTEL, "Intel")],
        )
        .await
        .unwrap();
    store.persist(second, &[record([10, 0, 0, 6], 22)]).await.unwrap();
    let changes = complete(store, second).await;
    assert_eq!(changes.hosts_moved, [HostMove { machine_id: machine, from: a, to: b }]);
    assert!(changes.hosts_appeared.is_empty(), "{changes:?}");
    assert!(changes.hosts_vanished.is_empty(), "{changes:?}");
    assert!(changes.ports_opened.is_empty() && changes.ports_closed.is_empty(), "{changes:?}");
    // Asked again over the API, the comparison says the same.
    assert_eq!(store.changes(second, Some(first)).await.unwrap(), changes);

    let host = store.host(b).await.unwrap().unwrap();
    assert_eq!(host.machine_id, Some(machine));
    assert_eq!(
        (host.name.as_deref(), host.note.as_deref(), host.tags.as_slice()),
        (Some("printer"), Some("room 2"), ["office".to_owned()].as_slice())
    );
    assert_eq!(host.previously_at, [a]);
    assert!(host.also_seen_at.is_empty());
    let kinds: Vec<(&str, Option<Ipv4Addr>, Option<Ipv4Addr>)> =
        host.history.iter().map(|h| (h.kind.as_str(), h.ip, h.from)).collect();
    assert_eq!(
        kinds,
        [("host_moved", Some(b), Some(a)), ("port_opened", Some(a), None), ("host_appeared", Some(a), None)],
        "the history follows the machine, newest first"
    );
    assert!(store.host(a).await.unwrap().is_none(), "the old address is no host any more");
    let page = store.hosts(&HostFilter::default(), &HostQuery::default()).await.unwrap();
    let listed: Vec<(Ipv4Addr, Option<i64>)> =
        page.items.iter().map(|h| (h.ip, h.machine_id)).collect();
    assert_eq!(listed, [(b, Some(machine)), (c, Some(other))]);

    let view = store.machine(machine).await.unwrap().unwrap();
    assert_eq!((view.mac.as_deref(), view.vendor.as_deref()), (Some(CISCO), Some("Cisco Systems, Inc")));
    assert_eq!((view.addresses.as_slice(), view.previously_at.as_slice()), ([b].as_slice(), [a].as_slice()));
    assert!(store.machine(machine + 100).await.unwrap().is_none());
    }
}

store_tests! {
    async fn one_mac_under_several_addresses_is_one_machine(store) {
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6));
    let first = scan(store).await;
    store
        .persist_hosts(
            first,
            &[arp([10, 0, 0, 5], CISCO, "Cisco Systems, Inc"), arp([10, 0, 0, 6], CISCO, "Cisco Systems, Inc")],
        )
        .await
        .unwrap();
    store.persist(first, &[record([10, 0, 0, 5], 22), record([10, 0, 0, 6], 80)]).await.unwrap();
    complete(store, first).await;
    let host = store.host(a).await.unwrap().unwrap();
    let machine = host.machine_id.expect("a machine");
    assert_eq!(host.also_seen_at, [b]);
    assert_eq!(store.host(b).await.unwrap().unwrap().machine_id, Some(machine));
    let page = store.hosts(&HostFilter::default(), &HostQuery::default()).await.unwrap();
    let also: Vec<&[Ipv4Addr]> = page.items.iter().map(|h| h.also_seen_at.as_slice()).collect();
    assert_eq!(also, [[b].as_slice(), [a].as_slice()]);
    assert_eq!(store.machine(machine).await.unwrap().unwrap().addresses, [a, b]);

    // Seen at one of its two addresses only: it kept an address, so it did not move.
    let second = scan(store).await;
    store.persist_hosts(second, &[arp([10, 0, 0, 6], CISCO, "Cisco Systems, Inc")]).await.unwrap();
    store.persist(second, &[record([10, 0, 0, 6], 80)]).await.unwrap();
    let changes = complete(store, second).await;
    assert!(changes.hosts_moved.is_empty(), "{changes:?}");
    assert_eq!(changes.hosts_vanished, [a]);
    }
}

store_tests! {
    async fn a_host_without_mac_is_known_by_its_address_until_arp_names_it(store) {
    let a = Ipv4Addr::new(10, 0, 0, 5);
    let first = scan(store).await;
    store.persist(first, &[record([10, 0, 0, 5], 22)]).await.unwrap();
    assert_eq!(store.host(a).await.unwrap().unwrap().machine_id, None, "linked when the scan ends");
    complete(store, first).await;
    let machine = store.host(a).await.unwrap().unwrap().machine_id.expect("a machine");
    assert_eq!(store.machine(machine).await.unwrap().unwrap().mac, None);
    // Linking again (a second scan of the same host) keeps the machine.
    let second = scan(store).await;
    store.persist(second, &[record([10, 0, 0, 5], 22)]).await.unwrap();
    complete(store, second).await;
    assert_eq!(store.host(a).await.unwrap().unwrap().machine_id, Some(machine));

    // ARP answers for it: the same machine, now known by its MAC.
    let third = scan(store).await;
    store.persist_hosts(third, &[arp([10, 0, 0, 5], INTEL, "Intel Corporate")]).await.unwrap();
    complete(store, third).await;
    let view = store.machine(machine).await.unwrap().unwrap();
    assert_eq!((view.mac.as_deref(), view.addresses.as_slice()), (Some(INTEL), [a].as_slice()));
    }
}

store_tests! {
    async fn machines_that_swap_addresses_swap_their_edits(store) {
    let (a, b, c) =
        (Ipv4Addr::new(10, 0, 0, 5), Ipv4Addr::new(10, 0, 0, 6), Ipv4Addr::new(10, 0, 0, 7));
    let first = scan(store).await;
    store
        .persist_hosts(first, &[arp([10, 0, 0, 5], CISCO, "Cisco"), arp([10, 0, 0, 7], INTEL, "Intel")])
        .await
        .unwrap();
    complete(store, first).await;
    let named = |name: &str| HostEdit { name: Some(name.into()), ..HostEdit::default() };
    store.edit_host(a, &named("cisco box")).await.unwrap();
    store.edit_host(c, &named("intel box")).await.unwrap();
    // Cisco takes .6, Intel takes Cisco's old .5.
    let second = scan(store).await;
    store
        .persist_hosts(second, &[arp([10, 0, 0, 6], CISCO, "Cisco"), arp([10, 0, 0, 5], INTEL, "Intel")])
        .await
        .unwrap();
    let changes = complete(store, second).await;
    assert_eq!(changes.hosts_moved.len(), 2, "{changes:?}");
    let name = |ip| {
        let store = &store;
        async move { store.host(ip).await.unwrap().unwrap().name }
    };
    assert_eq!(name(b).await.as_deref(), Some("cisco box"));
    assert_eq!(name(a).await.as_deref(), Some("intel box"));
    assert!(store.host(c).await.unwrap().is_none());
    }
}
