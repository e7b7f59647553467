"""Per-format ingest throughput on the real list files, and peak memory on a ~100 MB XML file.

    .venv/bin/python bench/formats.py            # prints; asserts nothing
    .venv/bin/python bench/formats.py --runs 5   # runs per file (default 3): min and median
    .venv/bin/python bench/formats.py --mb 100   # size of the synthetic-by-repetition UN file

Throughput is end to end (detect + parse + normalise + store + diff) into a fresh SQLite file, each
file ingested in a fresh process so that one run does not warm the next; records per second counts
the records parsed (for the CSL, of all its lists). Target: 20,000 records/s. Each file is run
`--runs` times, interleaved with the other files so that all see the same load: the median and the
best (lowest) `ingest()` time, and the median CPU time of the worker during `ingest()`.

"cold" is the first ingest of the process (it also pays for SQLAlchemy compiling each statement
once per engine, and the first use of each code path); "warm" is the same file ingested in another
fresh process after a different file (the OFSI excerpt; for the OFSI case, the DPL 2019-06 file)
was ingested into the same store, untimed: what a long-running service sees. Both are printed;
the verdict is on the cold figure. `--no-warm` skips the warm runs.

Peak RSS: a UN consolidated XML of about 100 MB is built by repeating the real 2018-10 records
(each copy's reference numbers made unique) and parsed in a fresh process, then ingested in
another; the peak resident set size of each is reported. Target: under 300 MB for the parse.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LISTS = ROOT / "examples" / "lists"
TARGET_RATE = 20_000
TARGET_RSS_MIB = 300

# (label, paths, extra ingest options)
CASES: list[tuple[str, list[Path], dict[str, str]]] = [
    ("ofac-csv  SDN 2021-07", [LISTS / "ofac_sdn_csv" / "2021-07"], {}),
    ("ofac-csv  cons 2025-04", [LISTS / "ofac_cons_csv" / "2025-04"], {}),
    ("un-sc-xml UN 2018-10", [LISTS / "un_sc" / "UN_consolidated_2018-10.xml"], {}),
    ("uk-ofsi-csv excerpt", [LISTS / "uk_ofsi" / "ConList_excerpt_2020-03.csv"], {}),
    ("us-csl-csv 2019 excerpt", [LISTS / "us_csl" / "csl_excerpt_2019.csv"], {"published": "2019-07-01"}),
    (
        "us-csl-csv 2025 excerpt",
        [LISTS / "us_csl" / "consolidated_excerpt_2025.csv"],
        {"published": "2025-04-01"},
    ),
    ("bis-dpl-tsv 2022-09", [LISTS / "bis_dpl" / "dpl_2022-09.txt"], {}),
    ("ftm-json EU sample", [LISTS / "opensanctions" / "eu_fsf_sample.ftm.json"], {}),
    ("periods-csv 1260H", [LISTS / "us_dod_1260h" / "sanctions.csv"], {"list_id": "us_dod_1260h"}),
]

_WORKER = r"""
import json, resource, sys, time
from datetime import date
from pathlib import Path
mode, db, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
paths = [Path(p) for p in sys.argv[4:]]
from listwatch.registry.snapshots import ingest
from listwatch.sources import detect_format
from listwatch.sources.text import expand_paths
from listwatch.store import open_store
files = expand_paths(paths)
started = time.perf_counter()
if mode == "parse":
    parsed = detect_format(files).parse(files)
    records = sum(len(part.records) for part in (parsed.parts or (parsed,)))
    parse_s = time.perf_counter() - started
    ingest_s = None
else:
    fmt = detect_format(files)
    t0 = time.process_time()
    parsed = fmt.parse(files)
    parse_s = time.process_time() - t0
    records = sum(len(part.records) for part in (parsed.parts or (parsed,)))
    del parsed
    store = open_store(f"sqlite:///{db}")
    if "warm" in options:  # another list first, untimed: the process and the store are warm
        ingest(store, [Path(options["warm"])])
    t1 = time.perf_counter()
    published = date.fromisoformat(options["published"]) if "published" in options else None
    c1 = time.process_time()
    ingest(store, paths, list_id=options.get("list_id"), published=published)
    ingest_s = time.perf_counter() - t1
    cpu_s = time.process_time() - c1
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"records": records, "parse_s": parse_s, "ingest_s": ingest_s, "peak_kib": peak,
                  "cpu_s": cpu_s if mode != "parse" else None}))
"""


def _run(mode: str, db: Path, paths: list[Path], options: dict[str, str]) -> dict[str, float]:
    command = [sys.executable, "-c", _WORKER, mode, str(db), json.dumps(options), *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


_WARM_UP = LISTS / "uk_ofsi" / "ConList_excerpt_2020-03.csv"
_WARM_UP_OTHER = LISTS / "bis_dpl" / "dpl_2019-06.txt"  # for the OFSI case itself


def _warm_options(paths: list[Path], options: dict[str, str]) -> dict[str, str]:
    warm_up = _WARM_UP_OTHER if _WARM_UP in paths else _WARM_UP
    return {**options, "warm": str(warm_up)}


def _summary(series: list[dict[str, float]]) -> tuple[float, float, float]:
    """Median `ingest()` wall time; median and best (lowest) CPU time."""
    cpu_s = sorted(float(r["cpu_s"]) for r in series)
    return statistics.median(float(r["ingest_s"]) for r in series), statistics.median(cpu_s), cpu_s[0]


def throughput(runs: int = 3, *, warm: bool = True) -> None:
    print(
        f"records/s per second of the worker's CPU time in ingest() (the machine is shared: wall "
        f"time is shown, but CPU time is what other jobs disturb least); {runs} runs each"
    )
    print(
        f"{'format / file':26} {'records':>7} {'cold: wall s':>12} {'CPU s':>6} {'records/s':>16}"
        + (f" | {'warm: CPU s':>11} {'records/s':>16}" if warm else "")
        + f"  target {TARGET_RATE:,}/s"
    )
    print(f"{'':26} {'':>7} {'median':>12} {'median':>6} {'median (best)':>16}" + (
        f" | {'median':>11} {'median (best)':>16}" if warm else ""
    ))  # fmt: skip
    cold: list[list[dict[str, float]]] = [[] for _ in CASES]
    warmed: list[list[dict[str, float]]] = [[] for _ in CASES]
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs):
            for index, (_label, paths, options) in enumerate(CASES):
                db = Path(folder) / f"bench{index}-{run}.db"
                cold[index].append(_run("ingest", db, paths, options))
                if warm:
                    db = Path(folder) / f"warm{index}-{run}.db"
                    warmed[index].append(_run("ingest", db, paths, _warm_options(paths, options)))
    for index, (label, _paths, _options) in enumerate(CASES):
        records = int(cold[index][0]["records"])
        wall_s, cpu_s, best_cpu_s = _summary(cold[index])
        parse_s = min(float(r["parse_s"]) for r in cold[index])
        rate = records / cpu_s
        verdict = "met" if rate >= TARGET_RATE else "missed"
        line = f"{label:26} {records:>7,} {wall_s:>12.3f} {cpu_s:>6.3f} {rate:>7,.0f} ({records / best_cpu_s:>6,.0f})"
        if warm:
            _, warm_cpu, warm_best = _summary(warmed[index])
            line += f" | {warm_cpu:>11.3f} {records / warm_cpu:>7,.0f} ({records / warm_best:>6,.0f})"
        print(f"{line}  {verdict} (parse alone, best {records / parse_s:,.0f}/s)")


def build_big_un(path: Path, megabytes: int) -> int:
    """A UN consolidated XML of about `megabytes` MB: the real records repeated, keys made unique."""
    source = (LISTS / "un_sc" / "UN_consolidated_2018-10.xml").read_text(encoding="utf-8")
    head_end = source.index("<INDIVIDUALS>") + len("<INDIVIDUALS>")
    individuals = source[head_end : source.index("</INDIVIDUALS>")]
    entities = source[source.index("<ENTITIES>") + len("<ENTITIES>") : source.index("</ENTITIES>")]
    copies = max(1, megabytes * 1_000_000 // len(source))
    reference = re.compile(r"<REFERENCE_NUMBER>([^<]*)</REFERENCE_NUMBER>")
    with path.open("w", encoding="utf-8") as out:
        out.write(source[:head_end])
        for copy in range(copies):
            out.write(reference.sub(rf"<REFERENCE_NUMBER>\g<1>-{copy}</REFERENCE_NUMBER>", individuals))
        out.write("</INDIVIDUALS><ENTITIES>")
        for copy in range(copies):
            out.write(reference.sub(rf"<REFERENCE_NUMBER>\g<1>-{copy}</REFERENCE_NUMBER>", entities))
        out.write("</ENTITIES></CONSOLIDATED_LIST>\n")
    return copies


def memory(megabytes: int, *, with_ingest: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "consolidated.xml"
        started = time.perf_counter()
        copies = build_big_un(big, megabytes)
        size = big.stat().st_size / 1e6
        print(
            f"\nbuilt {big.name}: {size:,.0f} MB, the 2018-10 records x {copies} ({time.perf_counter() - started:.1f} s)"
        )
        parsed = _run("parse", Path(folder) / "p.db", [big], {})
        mib = parsed["peak_kib"] / 1024
        verdict = "met" if mib < TARGET_RSS_MIB else "missed"
        print(
            f"parse:  {int(parsed['records']):,} records in {parsed['parse_s']:.1f} s "
            f"({parsed['records'] / parsed['parse_s']:,.0f}/s), peak RSS {mib:,.0f} MiB "
            f"(target < {TARGET_RSS_MIB}: {verdict})"
        )
        if with_ingest:
            ingested = _run("ingest", Path(folder) / "i.db", [big], {})
            print(
                f"ingest: {int(ingested['records']):,} records in {ingested['ingest_s']:.1f} s "
                f"({ingested['records'] / ingested['ingest_s']:,.0f}/s), peak RSS {ingested['peak_kib'] / 1024:,.0f} MiB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=100, help="size of the repeated UN file (default 100)")
    parser.add_argument("--no-ingest", action="store_true", help="measure the big file's parse only")
    parser.add_argument("--runs", type=int, default=3, help="runs per file (default 3)")
    parser.add_argument("--no-memory", action="store_true", help="skip the big-file memory measurement")
    parser.add_argument("--no-warm", action="store_true", help="skip the warm (second ingest) runs")
    args = parser.parse_args()
    throughput(args.runs, warm=not args.no_warm)
    if args.no_memory:
        return
    memory(args.mb, with_ingest=not args.no_ingest)


if __name__ == "__main__":
    main()
