"""The listwatch benchmarks: `make bench` (one to two minutes). Method and results: docs/performance.md.

Three questions, each against a target from the performance issue:

1. ingest: the 2021-07 OFAC SDN files into a fresh SQLite file; for information also 2021-07 on
   top of 2019-01 (the diff-deriving path) and the same 2021-07 files again (nothing to write).
   Every run is its own process with its own database file, so each has a cold store and its own
   peak RSS (`bench/ingest_worker.py`).
2. lookup: `status_as_of(store, query, date(2021, 3, 13))` in process, on a store holding every
   bundled list, for a name, an `isin:` query and an entity id.
3. cli: `listwatch status Xiaomi --as-of 2021-03-13` as a new process each time (bytecode cached,
   files in the page cache), and `python -X importtime` of the same command.

    .venv/bin/python bench/run.py [--runs 3] [--calls 2000] [--cli-runs 10] [--tracemalloc]

Times are wall-clock, which is what the targets are about. CPU time is shown beside them: on a
shared machine it is the steadier of the two. No test asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
LISTS = ROOT / "examples" / "lists"
WORK = ROOT / "build" / "bench"
WORKER = Path(__file__).resolve().parent / "ingest_worker.py"

SDN_2019 = str(LISTS / "ofac_sdn_csv" / "2019-01")
SDN_2021 = str(LISTS / "ofac_sdn_csv" / "2021-07")
OTHER_LISTS = [
    str(LISTS / "ofac_cons_csv" / "2025-03"),
    str(LISTS / "ofac_cons_csv" / "2025-04"),
    f"{LISTS / 'us_dod_1237_ccmc' / 'designations.csv'}@us_dod_1237_ccmc",
    f"{LISTS / 'us_dod_1260h' / 'sanctions.csv'}@us_dod_1260h",
]

AS_OF = date(2021, 3, 13)
XIAOMI = "us-dod-1237-ccmc-xiaomi-corporation"
LOOKUPS = {"name": "Xiaomi", "isin": "isin:KYG9830T1067", "entity id": XIAOMI}  # all find XIAOMI
CLI_ARGS = ["status", "Xiaomi", "--as-of", AS_OF.isoformat()]

INGEST_TARGET_S = 3.0
LOOKUP_TARGET_MS = 1.0
CLI_TARGET_S = 0.5

out = Console(record=True, width=max(130, shutil.get_terminal_size().columns))


@dataclass
class Row:
    name: str
    runs: int
    measured: str
    target: str
    passed: bool | None  # None: no target was set, shown for information
    details: list[str] = field(default_factory=list)


@dataclass
class ImportTimes:
    by_package: list[tuple[str, float]]  # top-level package, summed self time in microseconds
    slowest: list[tuple[str, float, float]]  # module, cumulative and self time in microseconds


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def _seconds(values: list[float]) -> str:
    return f"median {_median(values):.2f} s (min {min(values):.2f})"


def _mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- machine --------------------------------------------------------------------------------------


def _proc_field(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine() -> dict[str, str]:
    import sqlalchemy

    memory = _proc_field("/proc/meminfo", "MemTotal")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "CPU": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": f"{os.cpu_count()} ({usable} usable by this process)",
        "memory": f"{int(memory.split()[0]) / 1024 / 1024:.1f} GiB" if memory else "unknown",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "SQLite": sqlite3.sqlite_version,
        "SQLAlchemy": sqlalchemy.__version__,
        "load average": f"{_load()} at start",
    }


# -- 1. ingest ------------------------------------------------------------------------------------


def run_worker(db: Path, steps: list[str], *, tracemalloc: bool = False) -> dict[str, Any]:
    """Ingest `steps` into a new database file in a new process; returns the worker's report."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    cmd = [sys.executable, str(WORKER), "--db", str(db), *(["--tracemalloc"] if tracemalloc else []), *steps]
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"benchmark worker failed: {' '.join(cmd)}\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout)
    report["process_wall"] = time.perf_counter() - started
    return report


def _events(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {kind}" for kind, n in sorted(counts.items()))


def bench_ingest(runs: int, *, tracemalloc: bool) -> tuple[list[Row], Path]:
    fresh = [run_worker(WORK / "fresh.db", [SDN_2021]) for _ in range(runs)]
    onto = [run_worker(WORK / "incremental.db", [SDN_2019, SDN_2021, SDN_2021]) for _ in range(runs)]
    for report in fresh:
        assert report["steps"][0]["created"] and report["steps"][0]["records"] == 8976, report
    for report in onto:
        assert report["steps"][1]["created"] and not report["steps"][2]["created"], report

    # Measured: open_store on the new file (it runs the Alembic migration) plus ingest(), after
    # the interpreter has started and imported listwatch.
    totals = [r["open_store"]["wall"] + r["steps"][0]["wall"] for r in fresh]
    cpu = [r["open_store"]["cpu"] + r["steps"][0]["cpu"] for r in fresh]
    schema = _median(r["open_store"]["wall"] for r in fresh)
    ingest = _median(r["steps"][0]["wall"] for r in fresh)
    peak = _median(r["peak_rss_kb"] for r in fresh)
    before = _median(r["baseline_rss_kb"] for r in fresh)
    process = _median(r["process_wall"] for r in fresh)
    rows = [
        Row(
            "ingest SDN 2021-07 into a fresh file",
            runs,
            _seconds(totals),
            f"< {INGEST_TARGET_S:.0f} s",
            _median(totals) < INGEST_TARGET_S,
            [
                f"schema {schema:.2f} s + ingest() {ingest:.2f} s; CPU {_median(cpu):.2f} s",
                f"peak RSS {_mib(peak)} ({_mib(before)} before the ingest)",
                f"whole process with start-up: {process:.2f} s",
                f"8,976 records: {_events(fresh[0]['steps'][0]['events'])}",
            ],
        )
    ]
    diffed = [r["steps"][1] for r in onto]
    rows.append(
        Row(
            "ingest SDN 2021-07 onto 2019-01 (diff)",
            runs,
            _seconds([s["wall"] for s in diffed]),
            "none set",
            None,
            [
                f"CPU {_median(s['cpu'] for s in diffed):.2f} s",
                _events(diffed[0]["events"]),
                f"peak RSS {_mib(_median(r['peak_rss_kb'] for r in onto))} (all three ingests, one process)",
            ],
        )
    )
    again = [r["steps"][2] for r in onto]
    rows.append(
        Row(
            "ingest SDN 2021-07 again (unchanged)",
            runs,
            _seconds([s["wall"] for s in again]),
            "none set",
            None,
            [
                f"CPU {_median(s['cpu'] for s in again):.2f} s",
                "their SHA-256 is found before parsing; nothing is written",
            ],
        )
    )
    if tracemalloc:
        traced = run_worker(WORK / "traced.db", [SDN_2021], tracemalloc=True)
        peak_py = traced["steps"][0]["tracemalloc_peak"] / 1024 / 1024
        rows[0].details.append(f"tracemalloc peak {peak_py:.0f} MiB (separate, untimed run)")

    # The store for the lookups: the last incremental one plus every other bundled list.
    full = WORK / "incremental.db"
    cmd = [sys.executable, str(WORKER), "--db", str(full), *OTHER_LISTS]
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return rows, full


# -- 2. lookup in process -------------------------------------------------------------------------


def bench_lookup(db: Path, calls: int) -> list[Row]:
    from sqlalchemy import event

    from listwatch.registry.history import status_as_of
    from listwatch.store import open_store

    store = open_store(f"sqlite:///{db}")
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    rows = []
    for label, query in LOOKUPS.items():
        answer = status_as_of(store, query, AS_OF)
        states = {s.entity_id: s.state for s in answer}
        assert states.get(XIAOMI) == "suspended", (query, states)
        for _ in range(50):
            status_as_of(store, query, AS_OF)
        event.listen(store.engine, "before_cursor_execute", count)
        statements = 0
        status_as_of(store, query, AS_OF)
        event.remove(store.engine, "before_cursor_execute", count)

        timings = []
        for _ in range(calls):
            started = time.perf_counter_ns()
            status_as_of(store, query, AS_OF)
            timings.append((time.perf_counter_ns() - started) / 1e6)
        timings.sort()
        median = _median(timings)
        p95 = timings[int(0.95 * (len(timings) - 1))]
        rows.append(
            Row(
                f"status_as_of, {label} query",
                calls,
                f"median {median:.2f} ms (p95 {p95:.2f})",
                f"< {LOOKUP_TARGET_MS:.0f} ms",
                median < LOOKUP_TARGET_MS,
                [f"{query!r}: {statements} SQL statements per call, {len(answer)} standing(s) returned"],
            )
        )
    store.close()
    return rows


# -- 3. cold CLI ----------------------------------------------------------------------------------


def _cli_command() -> list[str]:
    script = Path(sys.executable).parent / "listwatch"
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "from listwatch.cli import main; main()"]


def _cli_env(db: Path) -> dict[str, str]:
    env = dict(os.environ, LISTWATCH_DB=f"sqlite:///{db}", COLUMNS="100")
    # Cache bytecode, as an installed copy has it, without writing __pycache__ folders into src/.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_cli(db: Path, runs: int) -> tuple[Row, ImportTimes]:
    cmd = [*_cli_command(), *CLI_ARGS]
    env = _cli_env(db)
    for _ in range(2):  # fill the page cache and the bytecode cache
        done = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
        if done.returncode != 0 or "suspended" not in done.stdout:
            sys.exit(f"`{' '.join(cmd)}` did not answer as expected:\n{done.stdout}\n{done.stderr}")
    walls, cpus = [], []
    for _ in range(runs):
        cpu, started = _child_cpu(), time.perf_counter()
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        walls.append(time.perf_counter() - started)
        cpus.append(_child_cpu() - cpu)
    bare = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        bare.append(time.perf_counter() - started)

    imports = import_times(cmd, env)
    imported = sum(us for _, us in imports.by_package) / 1e6
    row = Row(
        "listwatch status Xiaomi --as-of 2021-03-13, new process",
        runs,
        _seconds(walls),
        f"< {CLI_TARGET_S} s",
        _median(walls) < CLI_TARGET_S,
        [
            f"CPU {_median(cpus):.2f} s; `python -c pass` alone {_median(bare):.3f} s",
            f"imports {imported:.2f} s by -X importtime (which adds its own overhead)",
        ],
    )
    return row, imports


def import_times(cmd: list[str], env: dict[str, str]) -> ImportTimes:
    """`-X importtime` of the command three times; the median per module damps a noisy neighbour."""
    runs = []
    for _ in range(3):
        done = subprocess.run(
            [cmd[0], "-X", "importtime", *cmd[1:]], check=True, env=env, capture_output=True, text=True
        )
        parsed: dict[str, tuple[float, float]] = {}
        for line in done.stderr.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                self_us, cumulative_us, name = (
                    part.strip() for part in line.removeprefix("import time:").split("|")
                )
                parsed[name] = (float(self_us), float(cumulative_us))
        runs.append(parsed)
    names = set().union(*runs)
    own = {name: _median(r.get(name, (0.0, 0.0))[0] for r in runs) for name in names}
    cumulative = {name: _median(r.get(name, (0.0, 0.0))[1] for r in runs) for name in names}
    by_package: dict[str, float] = defaultdict(float)
    for name, us in own.items():
        by_package[name.split(".")[0]] += us
    return ImportTimes(
        by_package=sorted(by_package.items(), key=lambda item: -item[1]),
        slowest=sorted(((n, cumulative[n], own[n]) for n in names), key=lambda item: -item[1]),
    )


# -- report ---------------------------------------------------------------------------------------


def report(info: dict[str, str], rows: list[Row], imports: ImportTimes) -> None:
    table = Table(title="Machine", title_justify="left", show_header=False)
    for key, value in info.items():
        table.add_row(key, value)
    out.print(table)

    table = Table(title="Results", title_justify="left", show_lines=True)
    table.add_column("benchmark", max_width=28, overflow="fold")
    table.add_column("runs", justify="right")
    table.add_column("measured", max_width=16)
    table.add_column("target", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("details", min_width=40)
    for row in rows:
        verdict = {True: "[green]pass[/]", False: "[bold red]MISSED[/]", None: "[dim]info[/]"}[row.passed]
        table.add_row(row.name, f"{row.runs:,}", row.measured, row.target, verdict, "\n".join(row.details))
    out.print(table)

    total = sum(us for _, us in imports.by_package)
    table = Table(
        title="Start-up imports of `listwatch status`, by package (self time)", title_justify="left"
    )
    table.add_column("package")
    table.add_column("self time", justify="right")
    table.add_column("share", justify="right")
    for name, us in imports.by_package[:10]:
        table.add_row(name, f"{us / 1000:.0f} ms", f"{us / total:.0%}")
    table.add_row("[dim]all imports[/]", f"[dim]{total / 1000:.0f} ms[/]", "")
    out.print(table)

    table = Table(title="Slowest imports by cumulative time", title_justify="left")
    for column in ("module", "cumulative", "self"):
        table.add_column(column, justify="left" if column == "module" else "right")
    for name, cumulative_us, self_us in imports.slowest[:12]:
        table.add_row(name, f"{cumulative_us / 1000:.0f} ms", f"{self_us / 1000:.0f} ms")
    out.print(table)

    missed = [row.name for row in rows if row.passed is False]
    if missed:
        out.print(f"[bold red]Missed {len(missed)} of {sum(r.passed is not None for r in rows)} targets:[/]")
        for name in missed:
            out.print(f"  - {name}")
        out.print("Where the time goes, and what would change it: docs/performance.md.")
    else:
        out.print("[green]Every target met.[/]")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the listwatch benchmarks (docs/performance.md).")
    parser.add_argument("--runs", type=int, default=3, help="processes per ingest benchmark (default 3)")
    parser.add_argument("--calls", type=int, default=2000, help="status_as_of calls per query (default 2000)")
    parser.add_argument("--cli-runs", type=int, default=10, help="cold `listwatch status` runs (default 10)")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="one more, untimed ingest for tracemalloc's peak"
    )
    args = parser.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    started = time.perf_counter()
    info = machine()
    if os.getloadavg()[0] > 0.5:
        out.print(f"[yellow]note:[/] load average {_load()}: other processes are running, so wall times are "
                  "inflated; compare CPU times, and the minimum of each series.")  # fmt: skip

    rows, full_db = bench_ingest(args.runs, tracemalloc=args.tracemalloc)
    rows += bench_lookup(full_db, args.calls)
    cli_row, imports = bench_cli(full_db, args.cli_runs)
    rows.append(cli_row)
    info["load average"] += f", {_load()} at end"
    info["bench took"] = f"{time.perf_counter() - started:.0f} s"

    report(info, rows, imports)
    out.save_text(str(WORK / "report.txt"))
    out.print(f"[dim]saved as {(WORK / 'report.txt').relative_to(ROOT)}[/]")


if __name__ == "__main__":
    main()
