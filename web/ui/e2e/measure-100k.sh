#!/usr/bin/env bash
# Measures the console against a store holding 100,000 open ports: fills a fresh data dir
# with fill-100k.sql (rows only; nothing is scanned), serves it on 127.0.0.1 and times the
# hosts API with curl and the pages with measure.mjs in headless Chromium.
#
# Usage: web/ui/e2e/measure-100k.sh [path/to/sonde]   (default: target/release/sonde)
# Needs sqlite3, curl, node and chromium.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sonde="${1:-$here/../../../target/release/sonde}"
[[ -x $sonde ]] || { echo "measure: no sonde binary at $sonde; build it (cargo build --release) or pass its path" >&2; exit 2; }
data="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token="$("$sonde" token create --name measure --data-dir "$data" | tail -n1)"
db="$(find "$data" -name '*.db' -o -name '*.sqlite' | head -n1)"
[[ -n $db ]] || { echo "measure: no SQLite file in $data" >&2; exit 1; }
sqlite3 "$db" <"$here/fill-100k.sql"
echo "store: $(sqlite3 "$db" 'SELECT COUNT(*) FROM ports') ports on $(sqlite3 "$db" 'SELECT COUNT(*) FROM hosts') hosts"
"$sonde" serve --data-dir "$data" --listen "127.0.0.1:$port" 2>/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/v1/health" >/dev/null && break; sleep 0.1; done
api() {
    curl -fs -o /dev/null -w "%{time_total}" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/$1"
}
for q in "hosts" "hosts?offset=24900" "hosts?port=22" "hosts?service=mysql" "hosts?product=nginx" \
    "hosts?q=native_pass" "hosts?q=10.1.20" "hosts?sort=-ports" "hosts?subnet=10.1.128.0/17" \
    "stats/subnets" "stats/ports" "services"; do
    api "$q" >/dev/null # warm the page cache once
    printf 'GET /api/v1/%-28s %4.0f ms\n' "$q" "$(echo "$(api "$q") * 1000" | bc -l)"
done
SONDE_URL="http://127.0.0.1:$port" SONDE_TOKEN="$token" node "$here/measure.mjs"
