#!/usr/bin/env python3
"""Runs one scan through `sonde serve` and reports what it stored.

Used by benches/lab/compare inside the lab's scanning namespace: starts `sonde serve` on
127.0.0.1 with a fresh data directory, creates a token, POSTs the scan, polls it until it is
final, then pages through /api/v1/hosts and prints every stored open port as ndjson, like
`sonde scan -o ndjson`. The scan's wall time (POST to final status, every result stored) goes
to WALL_FILE as "start end" in seconds.

With a ninth argument `detail`, prints every stored port of every host as its
/api/v1/hosts/{ip} view instead (service, product, version, banner...), with `ip` added: the
identification lab test reads those.

With `names DNS_SERVER` instead, `sonde serve` asks DNS_SERVER for host names (`[dns]`); once
the scan is final, every host's /api/v1/hosts/{ip} `hostnames` are printed as
{"ip", "hostnames"} lines (waiting up to NAMES_WAIT_S for a `dns` name to arrive), and the
scan's own duration from the API (finished_at - started_at) is a third number in WALL_FILE.

When SONDE_TEST_DATABASE_URL names a PostgreSQL server (the second test pass of `.ci/run`),
`sonde serve` stores into a fresh database created on it with `psql`, instead of the SQLite
file in the data directory.

usage: serve_scan.py SONDE SCOPE PORTS RATE SEED TIMEOUT_MS RETRIES WALL_FILE [detail | names DNS_SERVER]
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime

# How long `names` mode waits for reverse DNS names after the scan (they arrive after the ports).
NAMES_WAIT_S = 5.0


def api_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def fresh_postgres_database():
    """A new database on the SONDE_TEST_DATABASE_URL server, as a URL; None when unset."""
    admin = os.environ.get("SONDE_TEST_DATABASE_URL")
    if not admin:
        return None
    name = f"sonde_serve_scan_{os.getpid()}_{time.monotonic_ns()}"
    subprocess.run(["psql", admin, "-q", "-c", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True, text=True)
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(admin)._replace(path="/" + name))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    sonde, scope, ports, rate, seed, timeout_ms, retries, wall_file = sys.argv[1:9]
    detail = sys.argv[9:] == ["detail"]
    names = sys.argv[9:10] == ["names"]
    dns_server = sys.argv[10] if names else None
    data = tempfile.mkdtemp(prefix="sonde-serve-")
    config = os.path.join(data, "sonde.toml")
    database_url = fresh_postgres_database()
    with open(config, "w") as f:
        if database_url:
            f.write(f"[server]\ndatabase_url = {json.dumps(database_url)}\n")
        f.write(f"[scan]\ntimeout_ms = {timeout_ms}\nretries = {retries}\n")
        # The engine `sonde serve` scans with (auto, connect or syn); its default when unset.
        if os.environ.get("SONDE_SERVE_ENGINE"):
            f.write(f'engine = "{os.environ["SONDE_SERVE_ENGINE"]}"\n')
        if dns_server:
            f.write(f'[dns]\nservers = ["{dns_server}"]\ntimeout_ms = 1000\n')
    # A token belongs to a user: the store's first admin.
    subprocess.run(
        [sonde, "user", "add", "--config", config, "--data-dir", data, "--role", "admin", "--password-stdin", "compare"],
        check=True, capture_output=True, text=True, input="compare-lab-password\n",
    )
    token = subprocess.run(
        [sonde, "token", "create", "--config", config, "--data-dir", data, "--name", "compare"],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    serve = subprocess.Popen(
        [sonde, "serve", "--config", config, "--data-dir", data, "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(data, "serve.log"), "w"),
    )

    def call(path, body=None):
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
        if body is not None:
            req.data = json.dumps(body).encode()
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)

    ok = False
    try:
        for _ in range(200):
            try:
                call("/health")
                break
            except OSError:
                time.sleep(0.05)
        start = time.time()
        scan = call("/scans", {"targets": [scope], "ports": ports, "rate": int(rate), "seed": int(seed)})
        while True:
            view = call(f"/scans/{scan['id']}")
            if view["status"] in ("completed", "cancelled", "failed"):
                break
            time.sleep(0.02)
        end = time.time()
        extra = ""
        if names and view.get("started_at") and view.get("finished_at"):
            extra = f" {api_time(view['finished_at']) - api_time(view['started_at'])}"
        with open(wall_file, "w") as f:
            f.write(f"{start} {end}{extra}\n")
        if names:
            ips = []
            offset = 0
            while True:
                page = call(f"/hosts?limit=1000&offset={offset}")
                ips += [host["ip"] for host in page["items"]]
                offset += len(page["items"])
                if not page["items"] or offset >= page["total"]:
                    break
            deadline = time.time() + NAMES_WAIT_S
            while True:
                found = {ip: call(f"/hosts/{ip}")["hostnames"] for ip in ips}
                named = all(any(n["source"] == "dns" for n in h) for h in found.values())
                if named or time.time() > deadline:
                    break
                time.sleep(0.1)
            for ip, hostnames in found.items():
                print(json.dumps({"ip": ip, "hostnames": hostnames}))
            ok = view["status"] == "completed"
            return 0 if ok else 1
        offset = 0
        while True:
            page = call(f"/hosts?limit=1000&offset={offset}")
            for host in page["items"]:
                if detail:
                    for p in call(f"/hosts/{host['ip']}")["ports"]:
                        print(json.dumps({"ip": host["ip"], **p}))
                    continue
                for p in host["open_ports"]:
                    print(json.dumps({"ip": host["ip"], "port": p, "state": "open"}))
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                break
        print(f"serve: scan {view['status']}, {view['counters']}", file=sys.stderr)
        ok = view["status"] == "completed"
        return 0 if ok else 1
    finally:
        serve.terminate()
        serve.wait(timeout=20)
        if not ok:
            # The data dir goes away below: keep the server's own account of the failure.
            with open(os.path.join(data, "serve.log"), errors="replace") as log:
                tail = log.readlines()[-40:]
            print("serve: sonde serve's log (last 40 lines):", "".join(tail), sep="\n", file=sys.stderr)
        subprocess.run(["rm", "-rf", data], check=False)


if __name__ == "__main__":
    sys.exit(main())
