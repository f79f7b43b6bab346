#!/usr/bin/env python3
"""Sonde's matcher against Hyperscan on the same patterns and inputs, one core.

Builds and runs `src/bin/matcher-export.rs`, which writes the patterns of the large
benchmark set (built-in + synthetic + Recog corpus + synthetic Recog, in priority order) and
the benchmark inputs already split into fields, and measures Sonde on those inputs in the same
run. Then compiles the same regexes with Hyperscan (the `hyperscan` wheel from PyPI,
installed into a venv beside this script on first use): one block-mode database per
(probe, field), every pattern with HS_FLAG_SINGLEMATCH. An identification with Hyperscan is
scanning every field of an input and taking the highest-priority pattern that matched.

Both sides are measured in CPU seconds of the measuring thread, so that other processes on a
shared machine do not count. Hyperscan is given the fields for free (Sonde's figure includes
splitting the response) and does no capture extraction (Sonde's includes versions).

Usage: python3 benches/hyperscan_compare.py [SECONDS]
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv-hyperscan")
VENV_PYTHON = os.path.join(VENV, "bin", "python3")


def ensure_hyperscan():
    """Re-runs this script inside the venv, creating it and installing the wheel if needed."""
    if os.path.abspath(sys.prefix) == os.path.abspath(VENV):
        return
    if not os.path.exists(VENV_PYTHON):
        venv.create(VENV, with_pip=True)
        subprocess.run([VENV_PYTHON, "-m", "pip", "install", "--quiet", "hyperscan"], check=True)
    os.execv(VENV_PYTHON, [VENV_PYTHON, os.path.abspath(__file__), *sys.argv[1:]])


def export(seconds):
    root = os.path.dirname(HERE)
    subprocess.run(
        ["cargo", "build", "--quiet", "--release", "-p", "sonde-benches", "--bin", "matcher-export"],
        cwd=root,
        check=True,
    )
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "matcher.json")
        exe = os.path.join(target, "release", "matcher-export")
        subprocess.run([exe, out, str(seconds)], check=True)
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def compile_databases(hyperscan, patterns):
    """One database per (probe, field); patterns Hyperscan refuses are counted, not used."""
    by_target = {}
    refused = []
    for i, p in enumerate(patterns):
        if p["regex"] is None:
            continue
        expr = p["regex"].encode()
        flags = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY | hyperscan.HS_FLAG_UTF8
        try:
            probe = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            probe.compile(expressions=[expr], ids=[i], elements=1, flags=[flags])
        except Exception as e:  # hyperscan.error: an unsupported construct
            refused.append((p["regex"], str(e)))
            continue
        by_target.setdefault((p["probe"], p["field"]), []).append((expr, i, flags))
    started = time.thread_time()
    dbs = {}
    for target, items in by_target.items():
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=[e for e, _, _ in items],
            ids=[i for _, i, _ in items],
            elements=len(items),
            flags=[f for _, _, f in items],
        )
        dbs[target] = db
    return dbs, refused, time.thread_time() - started


def rate(dbs, inputs, seconds):
    """Identifications per CPU second: every field scanned, best (lowest) pattern id kept."""
    prepared = [
        [(dbs.get((f["probe"], f["field"])), f["value"].encode()) for f in i["fields"]] for i in inputs
    ]
    prepared = [[(db, v) for db, v in fields if db is not None] for fields in prepared]
    best = [None]

    def on_match(pattern_id, start, end, flags, context):
        if best[0] is None or pattern_id < best[0]:
            best[0] = pattern_id
        return None

    wall = time.monotonic()
    cpu = time.thread_time()
    done = 0
    identified = 0
    while time.monotonic() - wall < seconds:
        for fields in prepared:
            best[0] = None
            for db, value in fields:
                db.scan(value, match_event_handler=on_match)
            identified += best[0] is not None
        done += len(prepared)
    return done / max(time.thread_time() - cpu, 1e-9), identified / max(done, 1)


def main():
    ensure_hyperscan()
    import hyperscan  # noqa: E402 (installed by ensure_hyperscan)

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    data = export(seconds)
    sonde = data["sonde"]
    dbs, refused, hs_compile = compile_databases(hyperscan, data["patterns"])
    with_regex = sum(1 for p in data["patterns"] if p["regex"] is not None)
    print(f"set: {sonde['set']}, {sonde['signatures']} signatures, {with_regex} with a regex")
    print(f"hyperscan {getattr(hyperscan, '__version__', '?')}: {with_regex - len(refused)} patterns compiled, "
          f"{len(refused)} refused, {len(dbs)} databases, compile {hs_compile:.2f} s CPU")
    for expr, why in refused[:5]:
        print(f"  refused {expr!r}: {why}")
    print(f"sonde: compile {sonde['compile_cpu_s']:.2f} s CPU (load, validate, index)")
    print()
    print(f"{'input':<20} {'sonde (ident/s)':>16} {'hyperscan (ident/s)':>20} {'ratio':>7}")
    for name, key in (("banners <= 100 B", "banners"), ("HTTP ~1.5 KB", "http")):
        hs, share = rate(dbs, data[key], seconds)
        ours = sonde[f"{key}_per_s"]
        print(f"{name:<20} {ours:>16,.0f} {hs:>20,.0f} {ours / hs:>6.1f}x   (hyperscan matched {share:.0%})")


if __name__ == "__main__":
    main()
