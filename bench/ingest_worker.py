"""One benchmark process: open a SQLite store and ingest list versions into it, timing each step.

`bench/run.py` starts this script once per run so that every run has a fresh interpreter, a fresh
database file and its own peak RSS. It prints one JSON object on stdout:

    python bench/ingest_worker.py --db build/bench/a.db examples/lists/ofac_sdn_csv/2021-07

A step is a path, optionally followed by `@LIST_ID` (`designations.csv@us_dod_1237_ccmc`).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any


def _rss_kb() -> int:
    """Current resident set size (VmRSS) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, type=Path, help="SQLite file (created if missing)")
    parser.add_argument("--tracemalloc", action="store_true", help="Also report tracemalloc's peak (slow).")
    parser.add_argument("steps", nargs="+", help="PATH or PATH@LIST_ID, ingested in order")
    args = parser.parse_args()

    started = time.perf_counter()
    from listwatch.registry.snapshots import ingest
    from listwatch.store import open_store

    imported = time.perf_counter()
    baseline_kb = _rss_kb()
    if args.tracemalloc:
        tracemalloc.start()

    wall0, cpu0 = time.perf_counter(), time.process_time()
    store = open_store(f"sqlite:///{args.db}")
    opened = {"wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0}

    steps: list[dict[str, Any]] = []
    for step in args.steps:
        path, _, list_id = step.partition("@")
        if args.tracemalloc:
            tracemalloc.reset_peak()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = ingest(store, [Path(path)], list_id=list_id or None)
        steps.append({
            "path": path,
            "wall": time.perf_counter() - wall0,
            "cpu": time.process_time() - cpu0,
            "created": result.created,
            "records": result.record_count,
            "events": result.events,
            "tracemalloc_peak": tracemalloc.get_traced_memory()[1] if args.tracemalloc else None,
        })  # fmt: skip
    store.close()

    json.dump({
        "import_seconds": imported - started,
        "open_store": opened,
        "steps": steps,
        "baseline_rss_kb": baseline_kb,
        # ru_maxrss is in KiB on Linux: the high-water mark of the whole process.
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }, sys.stdout)  # fmt: skip


if __name__ == "__main__":
    main()
