//! Where probes leave: the interface, source address and next-hop MAC for a set of targets,
//! read from the kernel's routing and neighbour tables (`/proc/net/route`, `/proc/net/arp`,
//! which show the calling process's network namespace) and its interface list
//! (`getifaddrs`), each overridable by the operator.

use std::ffi::CStr;
use std::io;
use std::net::Ipv4Addr;

use crate::{MacAddr, ScanError, TargetSet};

/// `RTF_UP` and `RTF_GATEWAY` from `<linux/route.h>`.
const RTF_UP: u32 = 0x1;
const RTF_GATEWAY: u32 = 0x2;
/// `ATF_COM`: the neighbour entry holds a resolved address.
const ATF_COM: u32 = 0x2;

/// Operator overrides of what the kernel's tables say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathOverrides {
    /// Send on this interface instead of the routed one.
    pub interface: Option<String>,
    /// Use this source address instead of the interface's.
    pub source_ip: Option<Ipv4Addr>,
    /// Address frames to this MAC instead of the neighbour table's entry for the next hop.
    pub router_mac: Option<MacAddr>,
}

/// How probes reach the targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPath {
    /// Interface name.
    pub interface: String,
    /// Interface index.
    pub ifindex: u32,
    /// The interface's MAC.
    pub src_mac: MacAddr,
    /// Our source address.
    pub src_ip: Ipv4Addr,
    /// The router the targets are reached through (`None`: the route says none).
    pub gateway: Option<Ipv4Addr>,
    /// Where frames are addressed: the gateway's MAC, or `None` when the targets are on-link
    /// and each frame goes to its target's own MAC, found by ARP.
    pub next_hop_mac: Option<MacAddr>,
}

/// One line of `/proc/net/route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) interface: String,
    pub(crate) destination: u32,
    pub(crate) mask: u32,
    pub(crate) gateway: Option<Ipv4Addr>,
    pub(crate) metric: u32,
}

/// An interface as `getifaddrs` lists it.
#[derive(Debug, Clone, Default)]
struct Interface {
    name: String,
    index: u32,
    mac: Option<MacAddr>,
    /// (address, netmask).
    addresses: Vec<(Ipv4Addr, Ipv4Addr)>,
}

impl NetPath {
    /// Finds the path to every address of `targets`, applying `overrides`. All targets must
    /// leave through one interface and one next hop.
    pub fn resolve(targets: &TargetSet, overrides: &PathOverrides) -> Result<NetPath, ScanError> {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map_err(|e| route_error(format!("cannot read {path}: {e}")))
        };
        let routes = parse_routes(&read("/proc/net/route")?);
        let interfaces = interfaces().map_err(|e| route_error(format!("getifaddrs: {e}")))?;
        let route = route_for(&routes, targets, overrides.interface.as_deref())?;
        let name = overrides.interface.clone().unwrap_or_else(|| route.interface.clone());
        let interface = interfaces.iter().find(|i| i.name == name).ok_or_else(|| {
            route_error(format!("there is no interface `{name}` in this network namespace"))
        })?;
        if name == "lo" {
            return Err(route_error(
                "the targets are routed through the loopback interface, which raw frames cannot \
                 use: scan them with --engine connect"
                    .into(),
            ));
        }
        let src_mac = interface.mac.filter(|m| m.0 != [0; 6]).ok_or_else(|| {
            route_error(format!(
                "interface {name} has no Ethernet address; it cannot carry raw frames"
            ))
        })?;
        let src_ip = match overrides.source_ip {
            Some(ip) => ip,
            // On-link, the address on the targets' own subnet.
            None => source_address(interface, route.gateway.or(first_target(targets)))?,
        };
        let next_hop_mac = match (overrides.router_mac, route.gateway) {
            (Some(mac), _) => Some(mac),
            (None, Some(gateway)) => {
                Some(neighbour(&read("/proc/net/arp")?, gateway, &name).ok_or_else(|| {
                    route_error(format!(
                        "no resolved neighbour entry for the gateway {gateway} on {name} \
                         (ping it once, or give --router-mac)"
                    ))
                })?)
            }
            (None, None) => None,
        };
        Ok(NetPath {
            interface: name,
            ifindex: interface.index,
            src_mac,
            src_ip,
            gateway: route.gateway,
            next_hop_mac,
        })
    }
}

/// Parses `/proc/net/route`: a header line, then tab-separated fields whose addresses are the
/// kernel's `__be32` printed as a native-endian hex number.
pub(crate) fn parse_routes(text: &str) -> Vec<Route> {
    let addr =
        |hex: &str| u32::from_str_radix(hex, 16).ok().map(|v| Ipv4Addr::from(v.to_ne_bytes()));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let flags = u32::from_str_radix(f.get(3)?, 16).ok()?;
            if flags & RTF_UP == 0 {
                return None;
            }
            let gateway = addr(f.get(2)?)?;
            Some(Route {
                interface: (*f.first()?).to_owned(),
                destination: u32::from(addr(f.get(1)?)?),
                mask: u32::from(addr(f.get(7)?)?),
                gateway: (flags & RTF_GATEWAY != 0).then_some(gateway),
                metric: f.get(6)?.parse().ok()?,
            })
        })
        .collect()
}

/// The most specific route (then the lowest metric) to `ip`, among routes through
/// `interface` when one is forced.
pub(crate) fn lookup<'a>(
    routes: &'a [Route],
    ip: Ipv4Addr,
    interface: Option<&str>,
) -> Option<&'a Route> {
    let ip = u32::from(ip);
    routes
        .iter()
        .filter(|r| ip & r.mask == r.destination & r.mask)
        .filter(|r| interface.is_none_or(|name| r.interface == name))
        .min_by_key(|r| (std::cmp::Reverse(r.mask.count_ones()), r.metric))
}

/// The one route all of `targets` take: each target range must lie inside the prefix of its
/// first address's route, with no more specific route cutting into it, and every range must
/// leave through the same interface and gateway.
fn route_for<'a>(
    routes: &'a [Route],
    targets: &TargetSet,
    interface: Option<&str>,
) -> Result<&'a Route, ScanError> {
    let mut chosen: Option<&Route> = None;
    for range in targets.ranges() {
        let (first, last) = (u32::from(range.first), u32::from(range.last));
        let route = lookup(routes, range.first, interface).ok_or_else(|| {
            route_error(format!("no route to {} in this network namespace", range.first))
        })?;
        let inside = last & route.mask == route.destination & route.mask;
        let cut = routes.iter().any(|r| {
            r.mask.count_ones() > route.mask.count_ones()
                && (r.interface != route.interface || r.gateway != route.gateway)
                && overlaps(r, first, last)
        });
        if !inside || cut {
            return Err(route_error(format!(
                "{}-{} is reached through more than one route; scan each part separately",
                range.first, range.last
            )));
        }
        match chosen {
            Some(c) if c.interface != route.interface || c.gateway != route.gateway => {
                return Err(route_error(format!(
                    "the targets leave through different routes ({} via {:?}, {} via {:?}); \
                     scan each part separately",
                    c.interface, c.gateway, route.interface, route.gateway
                )));
            }
            _ => chosen = Some(route),
        }
    }
    chosen.ok_or_else(|| route_error("there are no targets to route".into()))
}

fn overlaps(route: &Route, first: u32, last: u32) -> bool {
    let start = route.destination & route.mask;
    let end = start | !route.mask;
    start <= last && first <= end
}

/// Parses `/proc/net/arp` for the resolved MAC of `ip` on `interface`.
pub(crate) fn neighbour(text: &str, ip: Ipv4Addr, interface: &str) -> Option<MacAddr> {
    text.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let flags = u32::from_str_radix(f.get(2)?.trim_start_matches("0x"), 16).ok()?;
        if f.first()?.parse::<Ipv4Addr>().ok()? != ip
            || *f.get(5)? != interface
            || flags & ATF_COM == 0
        {
            return None;
        }
        f.get(3)?.parse::<MacAddr>().ok().filter(|m| m.0 != [0; 6])
    })
}

/// The first target address, if any.
fn first_target(targets: &TargetSet) -> Option<Ipv4Addr> {
    targets.ranges().first().map(|r| r.first)
}

/// The interface address on the subnet of `toward` (the gateway, or an on-link target), else
/// its first address.
fn source_address(interface: &Interface, toward: Option<Ipv4Addr>) -> Result<Ipv4Addr, ScanError> {
    let on_link = |(addr, mask): &&(Ipv4Addr, Ipv4Addr)| {
        toward
            .is_some_and(|g| u32::from(g) & u32::from(*mask) == u32::from(*addr) & u32::from(*mask))
    };
    interface
        .addresses
        .iter()
        .find(on_link)
        .or(interface.addresses.first())
        .map(|(addr, _)| *addr)
        .ok_or_else(|| {
            route_error(format!(
                "interface {} has no IPv4 address: give --source-ip",
                interface.name
            ))
        })
}

/// Every interface with its index, MAC and IPv4 addresses.
fn interfaces() -> io::Result<Vec<Interface>> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `getifaddrs` writes a list head to `list`, which is valid for writes.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out: Vec<Interface> = Vec::new();
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a non-null node of the list `getifaddrs` returned, which stays
        // valid until `freeifaddrs` below.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        if entry.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: `ifa_name` is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(entry.ifa_name) }.to_string_lossy().into_owned();
        let position = match out.iter().position(|i| i.name == name) {
            Some(p) => p,
            None => {
                out.push(Interface { name, ..Interface::default() });
                out.len() - 1
            }
        };
        let interface = &mut out[position];
        // SAFETY: `ifa_addr` is non-null and points to a sockaddr of the family it names.
        let family = i32::from(unsafe { (*entry.ifa_addr).sa_family });
        match family {
            libc::AF_PACKET => {
                // SAFETY: AF_PACKET entries carry a `sockaddr_ll`.
                let ll = unsafe { &*entry.ifa_addr.cast::<libc::sockaddr_ll>() };
                interface.index = u32::try_from(ll.sll_ifindex).unwrap_or_default();
                if ll.sll_halen == 6 {
                    let mut mac = [0u8; 6];
                    mac.copy_from_slice(&ll.sll_addr[..6]);
                    interface.mac = Some(MacAddr(mac));
                }
            }
            libc::AF_INET if !entry.ifa_netmask.is_null() => {
                // SAFETY: AF_INET entries carry `sockaddr_in` address and netmask.
                let (addr, mask) = unsafe {
                    (
                        &*entry.ifa_addr.cast::<libc::sockaddr_in>(),
                        &*entry.ifa_netmask.cast::<libc::sockaddr_in>(),
                    )
                };
                interface.addresses.push((
                    Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr)),
                    Ipv4Addr::from(u32::from_be(mask.sin_addr.s_addr)),
                ));
            }
            _ => {}
        }
    }
    // SAFETY: `list` came from `getifaddrs` and is freed once; no reference into it survives.
    unsafe { libc::freeifaddrs(list) };
    Ok(out)
}

fn route_error(reason: String) -> ScanError {
    ScanError::Route { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ipv4Range;

    /// `/proc/net/route` of a lab's scanning namespace plus a default route and a more
    /// specific route, as a little-endian kernel prints it.
    const ROUTES: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
sl0\t00004D0A\t024DFEA9\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0
sl0\t004DFEA9\t00000000\t0001\t0\t0\t0\tFCFFFFFF\t0\t0\t0
eth1\t00634D0A\t0103A8C0\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0
down\t00000B0A\t00000000\t0000\t0\t0\t0\t0000FFFF\t0\t0\t0
";

    const ARP: &str = "\
IP address       HW type     Flags       HW address            Mask     Device
169.254.77.2     0x1         0x6         02:5d:6c:00:00:02     *        sl0
192.168.2.1      0x1         0x0         00:00:00:00:00:00     *        eth0
";

    fn set(first: [u8; 4], last: [u8; 4]) -> TargetSet {
        TargetSet::from_ranges([Ipv4Range::new(first.into(), last.into())])
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn routes_parse_and_the_longest_prefix_wins() {
        let routes = parse_routes(ROUTES);
        assert_eq!(routes.len(), 4, "the route that is not up is skipped: {routes:?}");
        assert_eq!(routes[1].interface, "sl0");
        assert_eq!(Ipv4Addr::from(routes[1].destination), Ipv4Addr::new(10, 77, 0, 0));
        assert_eq!(Ipv4Addr::from(routes[1].mask), Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(routes[1].gateway, Some(Ipv4Addr::new(169, 254, 77, 2)));
        assert_eq!(routes[2].gateway, None, "link route");
        let via = |ip: [u8; 4]| lookup(&routes, ip.into(), None).map(|r| r.interface.as_str());
        assert_eq!(via([10, 77, 1, 2]), Some("sl0"));
        assert_eq!(via([10, 77, 99, 2]), Some("eth1"));
        assert_eq!(via([8, 8, 8, 8]), Some("eth0"));
        assert_eq!(lookup(&routes, Ipv4Addr::new(8, 8, 8, 8), Some("sl0")), None);
        assert!(parse_routes("Iface\tDestination\ngarbage\n").is_empty());
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn a_target_set_must_take_one_route() {
        let routes = parse_routes(ROUTES);
        let ok = route_for(&routes, &set([10, 77, 16, 0], [10, 77, 31, 255]), None).unwrap();
        assert_eq!(ok.interface, "sl0");
        // The /16 holds 10.77.99.0/24, which goes elsewhere.
        let cut = route_for(&routes, &set([10, 77, 0, 0], [10, 77, 255, 255]), None);
        assert!(cut.unwrap_err().to_string().contains("more than one route"));
        let two = TargetSet::from_ranges([
            Ipv4Range::new([10, 77, 1, 1].into(), [10, 77, 1, 1].into()),
            Ipv4Range::new([10, 77, 99, 1].into(), [10, 77, 99, 1].into()),
        ]);
        assert!(route_for(&routes, &two, None).unwrap_err().to_string().contains("different"));
        let none = parse_routes(&ROUTES.lines().take(3).collect::<Vec<_>>().join("\n"));
        let missing = route_for(&none[1..], &set([10, 78, 0, 1], [10, 78, 0, 1]), None);
        assert!(missing.unwrap_err().to_string().contains("no route"));
    }

    #[test]
    fn neighbours_need_a_resolved_entry_on_the_interface() {
        let gw = Ipv4Addr::new(169, 254, 77, 2);
        assert_eq!(neighbour(ARP, gw, "sl0"), Some(MacAddr([0x02, 0x5d, 0x6c, 0, 0, 2])));
        assert_eq!(neighbour(ARP, gw, "eth0"), None, "another interface");
        assert_eq!(neighbour(ARP, Ipv4Addr::new(192, 168, 2, 1), "eth0"), None, "incomplete");
        assert_eq!(neighbour("", gw, "sl0"), None);
    }

    #[test]
    fn mac_addresses_parse_and_print() {
        let mac: MacAddr = "02:5D:6c:00:00:0a".parse().unwrap();
        assert_eq!(mac, MacAddr([2, 0x5d, 0x6c, 0, 0, 10]));
        assert_eq!(mac.to_string(), "02:5d:6c:00:00:0a");
        assert_eq!("02-5d-6c-00-00-0a".parse::<MacAddr>(), Ok(mac));
        for bad in
            ["", "02:5d:6c:00:00", "02:5d:6c:00:00:0a:01", "2:5d:6c:00:00:0a", "zz:5d:6c:00:00:0a"]
        {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_source_address_is_on_the_gateway_subnet() {
        let interface = Interface {
            name: "sl0".into(),
            index: 2,
            mac: None,
            addresses: vec![
                ([192, 0, 2, 1].into(), [255, 255, 255, 0].into()),
                ([169, 254, 77, 1].into(), [255, 255, 255, 252].into()),
            ],
        };
        let gw = Some(Ipv4Addr::new(169, 254, 77, 2));
        assert_eq!(source_address(&interface, gw).unwrap(), Ipv4Addr::new(169, 254, 77, 1));
        assert_eq!(source_address(&interface, None).unwrap(), Ipv4Addr::new(192, 0, 2, 1));
        let bare = Interface { addresses: vec![], ..interface };
        assert!(source_address(&bare, gw).unwrap_err().to_string().contains("--source-ip"));
    }
}
