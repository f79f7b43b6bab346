#!/usr/bin/env python3
"""Helpers for benches/lab/sonde-lab: ground truth and nftables rules, the target's listeners,
and the route check that guards every scan. Standard library only (Debian's python3).

    sonde_lab.py gen    --prefix P --out-dir D (--open-file F | --random-open N --ports L --seed S)
                        [--live-hosts M] [--exclude CIDR] [--table T] [--veth IF]
    sonde_lab.py serve  --ports L --ready FILE [--banner PORT=TEXT ...]
    sonde_lab.py check  --netns NS --prefix P --link-net L --veth IF

Exit codes: 0 ok, 1 check failed, 2 bad input.
"""

import argparse
import asyncio
import ipaddress
import json
import os
import subprocess
import sys

# Banners written by the target's listeners on accept. Ports not listed accept and close,
# except the HTTP ones, which answer one request.
BANNERS = {
    21: b"220 (vsFTPd 3.0.3)\r\n",
    22: b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
    25: b"220 lab.invalid ESMTP Postfix (Debian/GNU)\r\n",
}
HTTP_PORTS = {80, 8000, 8080}
HTTP_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n"
    b"Content-Length: 13\r\nConnection: close\r\n\r\n<h1>lab</h1>\n"
)


def fail(msg, code=2):
    print(f"sonde-lab: {msg}", file=sys.stderr)
    sys.exit(code)


# ---------------------------------------------------------------------------------------------
# gen
# ---------------------------------------------------------------------------------------------


class SplitMix64:
    """A tiny PRNG whose output does not depend on the Python version (unlike `random`), so a
    seed names the same lab everywhere."""

    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.state = seed & self.MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def below(self, n):
        # Rejection sampling: no modulo bias.
        limit = self.MASK - (self.MASK % n)
        while True:
            v = self.next()
            if v < limit:
                return v % n


def parse_ports(text):
    ports = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            rng = range(int(lo), int(hi) + 1)
        else:
            rng = [int(part)]
        for p in rng:
            if not 1 <= p <= 65535:
                fail(f"port {p} out of range 1-65535")
            ports.append(p)
    if not ports:
        fail(f"no ports in {text!r}")
    return sorted(set(ports))


def host_candidates(prefix):
    """The range live hosts are drawn from: the prefix without its network and broadcast
    addresses (pick_hosts also skips .0 and .255, which some scanners skip by default)."""
    lo = int(prefix.network_address)
    hi = int(prefix.broadcast_address)
    if prefix.prefixlen < 31:
        lo, hi = lo + 1, hi - 1
    return lo, hi


def pick_hosts(rng, prefix, count, taken):
    lo, hi = host_candidates(prefix)
    span = hi - lo + 1
    usable = span - len(taken)
    if count > usable:
        fail(f"cannot place {count} live hosts in {prefix}")
    chosen = []
    attempts = 0
    while len(chosen) < count:
        attempts += 1
        if attempts > 100 * (count + 10) + span:
            fail(f"cannot place {count} live hosts in {prefix} (too dense)")
        addr = lo + rng.below(span)
        last = addr & 0xFF
        if (last in (0, 255) and prefix.prefixlen < 24) or addr in taken:
            continue
        taken.add(addr)
        chosen.append(addr)
    return chosen


def read_open_file(path, prefix):
    pairs = set()
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                addr_s, port_s = line.rsplit(":", 1)
                addr = ipaddress.IPv4Address(addr_s)
                port = int(port_s)
            except ValueError:
                fail(f"{path}:{lineno}: expected ADDR:PORT, got {line!r}")
            if addr not in prefix:
                fail(f"{path}:{lineno}: {addr} is outside the lab prefix {prefix}")
            if not 1 <= port <= 65535:
                fail(f"{path}:{lineno}: port {port} out of range")
            pairs.add((int(addr), port))
    return pairs


def cmd_gen(args):
    prefix = ipaddress.IPv4Network(args.prefix, strict=True)
    rng = SplitMix64(args.seed)
    if args.open_file:
        pairs = read_open_file(args.open_file, prefix)
        live = sorted({a for a, _ in pairs})
        extra = max(0, (args.live_hosts or 0) - len(live))
        live += pick_hosts(rng, prefix, extra, set(live))
    else:
        ports = parse_ports(args.ports)
        n = args.random_open
        min_hosts = -(-n // len(ports))
        m = args.live_hosts if args.live_hosts is not None else max(min_hosts, -(-2 * n // 3))
        if m < min_hosts:
            fail(f"{n} open pairs over {len(ports)} ports need at least {min_hosts} live hosts")
        live = pick_hosts(rng, prefix, m, set())
        # Every live host gets one open port first (when there are enough pairs), the rest
        # are spread at random, so that most live hosts also have closed ports.
        pairs = set()
        for addr in live[: min(n, len(live))]:
            pairs.add((addr, ports[rng.below(len(ports))]))
        while len(pairs) < n:
            pairs.add((live[rng.below(len(live))], ports[rng.below(len(ports))]))
    live = sorted(set(live))
    excluded = None
    if args.exclude:
        excluded = ipaddress.IPv4Network(args.exclude, strict=True)
        if not excluded.overlaps(prefix):
            fail(f"--exclude {excluded} does not overlap the lab prefix {prefix}")

    os.makedirs(args.out_dir, exist_ok=True)
    ip = ipaddress.IPv4Address
    sorted_pairs = sorted(pairs)
    with open(os.path.join(args.out_dir, "truth.txt"), "w", encoding="utf-8") as f:
        for addr, port in sorted_pairs:
            f.write(f"{ip(addr)}:{port}\n")
    with open(os.path.join(args.out_dir, "live.txt"), "w", encoding="utf-8") as f:
        for addr in live:
            f.write(f"{ip(addr)}\n")
    listen_ports = sorted({p for _, p in pairs})
    with open(os.path.join(args.out_dir, "listen-ports"), "w", encoding="utf-8") as f:
        f.write(",".join(str(p) for p in listen_ports) + "\n")

    def elements(items):
        return f"elements = {{ {', '.join(items)} }}" if items else ""

    live_el = elements([str(ip(a)) for a in live])
    open_el = elements([f"{ip(a)} . {p}" for a, p in sorted_pairs])
    excl_el = elements([str(excluded)] if excluded else [])
    # The target's own link address answers ping (masscan needs a busy link) and nothing else,
    # so that only the prefix has open ports.
    # Stateless on purpose: no ct expressions, so the namespace never loads conntrack. Every
    # packet from the link to the prefix lands in exactly one of open/closed/live_other/dead;
    # `syn` (initial SYNs, i.e. TCP probes) and `excluded` count across those classes.
    ruleset = f"""\
table ip {args.table}
delete table ip {args.table}
table ip {args.table} {{
	counter open {{ comment "packets to open addr.port pairs (accepted)" }}
	counter closed {{ comment "TCP to other ports of live hosts (reset)" }}
	counter live_other {{ comment "non-TCP to live hosts (accepted; kernel answers)" }}
	counter dead {{ comment "packets to addresses that are not live (dropped)" }}
	counter syn {{ comment "initial SYNs to the prefix: TCP probes received" }}
	counter excluded {{ comment "packets to the excluded range: must stay 0" }}
	set live {{ type ipv4_addr; {live_el} }}
	set open {{ type ipv4_addr . inet_service; {open_el} }}
	set excluded {{ type ipv4_addr; flags interval; {excl_el} }}
	chain input {{
		type filter hook input priority filter; policy accept;
		iifname != "{args.veth}" accept
		ip daddr {args.tgt_ip} ip protocol != icmp drop
		ip daddr != {prefix} accept
		ip daddr @excluded counter name "excluded"
		tcp flags & (syn | ack) == syn counter name "syn"
		ip daddr . tcp dport @open counter name "open" accept
		ip daddr @live meta l4proto tcp counter name "closed" reject with tcp reset
		ip daddr @live counter name "live_other" accept
		counter name "dead" drop
	}}
}}
"""
    with open(os.path.join(args.out_dir, "ruleset.nft"), "w", encoding="utf-8") as f:
        f.write(ruleset)
    print(f"{len(sorted_pairs)} open pairs on {len(live)} live hosts, ports {listen_ports}")


# ---------------------------------------------------------------------------------------------
# serve
# ---------------------------------------------------------------------------------------------


async def handle(reader, writer, port, banners):
    try:
        banner = banners.get(port)
        if banner is not None:
            writer.write(banner)
            await writer.drain()
        elif port in HTTP_PORTS:
            try:
                data = await asyncio.wait_for(reader.read(4096), timeout=3)
            except asyncio.TimeoutError:
                data = b""
            if data[:4] in (b"GET ", b"HEAD", b"POST", b"OPTI"):
                writer.write(HTTP_RESPONSE)
                await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


async def serve(ports, ready, banners):
    servers = []
    for port in ports:
        srv = await asyncio.start_server(
            lambda r, w, p=port: handle(r, w, p, banners),
            host="0.0.0.0",
            port=port,
            backlog=4096,
            reuse_address=True,
        )
        servers.append(srv)
    tmp = ready + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, ready)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def cmd_serve(args):
    banners = dict(BANNERS)
    for spec in args.banner or []:
        port_s, _, text = spec.partition("=")
        banners[int(port_s)] = text.encode().decode("unicode_escape").encode("latin-1")
    try:
        asyncio.run(serve(parse_ports(args.ports), args.ready, banners))
    except KeyboardInterrupt:
        pass


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------

# Probes for `ip route get`: none of these may have a route from the scanning namespace
# (unless they fall inside the lab prefix). `ip route get` only consults the FIB; it sends
# nothing.
OUTSIDE_PROBES = [
    "1.1.1.1", "8.8.8.8", "10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.254",
    "192.168.0.1", "192.168.255.254", "100.64.0.1", "192.0.2.1", "203.0.113.1",
    "255.255.255.255",
]


def ip_json(netns, *args):
    out = subprocess.run(
        ["ip", "-n", netns, "-j", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        fail(f"`ip -n {netns} {' '.join(args)}` failed: {out.stderr.strip()}", 1)
    return json.loads(out.stdout or "[]")


def cmd_check(args):
    prefix = ipaddress.IPv4Network(args.prefix)
    link = ipaddress.IPv4Network(args.link_net)
    ns = args.netns
    problems = []

    # Links: only lo and the lab veth may exist in the scanning namespace.
    links = ip_json(ns, "link", "show")
    names = sorted(link_["ifname"] for link_ in links)
    if names != sorted(["lo", args.veth]):
        problems.append(f"unexpected interfaces {names} (want lo and {args.veth} only)")

    own = set()
    for entry in ip_json(ns, "-4", "addr", "show"):
        for a in entry.get("addr_info", []):
            own.add(ipaddress.IPv4Address(a["local"]))
            addr_net = ipaddress.IPv4Network(f"{a['local']}/{a['prefixlen']}", strict=False)
            if entry["ifname"] == "lo":
                if not addr_net.subnet_of(ipaddress.IPv4Network("127.0.0.0/8")):
                    problems.append(f"address {a['local']} on lo is not loopback")
            elif not addr_net.subnet_of(link):
                problems.append(
                    f"address {a['local']}/{a['prefixlen']} on {entry['ifname']} "
                    f"is outside the link net {link}"
                )
    loopback = ipaddress.IPv4Network("127.0.0.0/8")

    def v4_dst(route):
        dst = route.get("dst", "")
        if dst == "default":
            return None
        return ipaddress.IPv4Network(dst if "/" in dst else dst + "/32", strict=False)

    for r in ip_json(ns, "-4", "route", "show", "table", "all"):
        kind = r.get("type", "unicast")
        desc = json.dumps(r, sort_keys=True)
        dst = v4_dst(r)
        if dst is None:
            problems.append(f"default route present: {desc}")
            continue
        if kind in ("local", "broadcast"):
            ok = (
                dst.subnet_of(loopback)
                or dst.subnet_of(link)
                or any(dst.network_address == a and dst.prefixlen == 32 for a in own)
            )
            if not ok:
                problems.append(f"{kind} route outside own addresses: {desc}")
            continue
        if kind in ("unreachable", "blackhole", "prohibit"):
            continue  # these only ever stop packets
        if kind != "unicast":
            problems.append(f"unexpected route type {kind}: {desc}")
            continue
        if not (dst.subnet_of(prefix) or dst.subnet_of(link) or dst.subnet_of(loopback)):
            problems.append(f"route to {dst} is outside the lab prefix {prefix} and link net {link}")
        gw = r.get("gateway")
        if gw is not None and ipaddress.IPv4Address(gw) not in link:
            problems.append(f"gateway {gw} is outside the link net {link}: {desc}")
        if r.get("dev") not in (args.veth, "lo"):
            problems.append(f"route via unexpected device {r.get('dev')}: {desc}")

    # IPv6 is disabled in the lab; tolerate only link-scoped leftovers should it come back.
    for r in ip_json(ns, "-6", "route", "show", "table", "all"):
        desc = json.dumps(r, sort_keys=True)
        dst = r.get("dst", "")
        if dst == "default":
            problems.append(f"IPv6 default route present: {desc}")
            continue
        net = ipaddress.IPv6Network(dst if "/" in dst else dst + "/128", strict=False)
        scoped = (
            net.subnet_of(ipaddress.IPv6Network("fe80::/10"))
            or net.subnet_of(ipaddress.IPv6Network("ff00::/8"))
            or net == ipaddress.IPv6Network("::1/128")
        )
        if not scoped:
            problems.append(f"IPv6 route outside link scope: {desc}")

    # Policy rules: only the three kernel defaults.
    rules = ip_json(ns, "-4", "rule", "show")
    tables = sorted(str(r.get("table")) for r in rules)
    if tables != ["default", "local", "main"]:
        problems.append(f"unexpected policy routing rules: {json.dumps(rules)}")

    # Ask the FIB directly: addresses outside the lab must be unreachable.
    for probe in OUTSIDE_PROBES:
        if ipaddress.IPv4Address(probe) in prefix:
            continue
        out = subprocess.run(
            ["ip", "-n", ns, "route", "get", probe], capture_output=True, text=True, check=False
        )
        if out.returncode == 0:
            problems.append(f"{probe} is routable from {ns}: {out.stdout.strip()}")

    if problems:
        print(f"sonde-lab: REFUSING: scanning namespace {ns} can reach outside the lab:",
              file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        sys.exit(1)
    print(f"sonde-lab: {ns} is sealed: routes only to {prefix} via {link}, no default route")


def main():
    ap = argparse.ArgumentParser(prog="sonde_lab.py")
    sub = ap.add_subparsers(dest="cmd", required=True)

    g = sub.add_parser("gen")
    g.add_argument("--prefix", required=True)
    g.add_argument("--out-dir", required=True)
    src = g.add_mutually_exclusive_group(required=True)
    src.add_argument("--open-file")
    src.add_argument("--random-open", type=int)
    g.add_argument("--ports")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--live-hosts", type=int)
    g.add_argument("--exclude")
    g.add_argument("--table", default="sonde_lab")
    g.add_argument("--veth", default="sl0")
    g.add_argument("--tgt-ip", required=True, help="the target's address on the link net")

    s = sub.add_parser("serve")
    s.add_argument("--ports", required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("--banner", action="append")

    c = sub.add_parser("check")
    c.add_argument("--netns", required=True)
    c.add_argument("--prefix", required=True)
    c.add_argument("--link-net", required=True)
    c.add_argument("--veth", default="sl0")

    args = ap.parse_args()
    try:
        if args.cmd == "gen":
            if args.random_open is not None:
                if args.random_open < 0:
                    fail("--random-open must be >= 0")
                if not args.ports:
                    fail("--random-open needs --ports")
            cmd_gen(args)
        elif args.cmd == "serve":
            cmd_serve(args)
        else:
            cmd_check(args)
    except ValueError as e:
        fail(str(e))


if __name__ == "__main__":
    main()
