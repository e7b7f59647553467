"""The scale bench (issue 8): a large SYNTHETIC list plus the real ones, screened on 1 and 2 workers.

    .venv/bin/python bench/scale.py [--entities 20000] [--queries 2000] [--workers 1,2]
    .venv/bin/python bench/scale.py --entities 1000000 --queries 20000   # the issue's list size
    .venv/bin/python bench/scale.py --entities 1000000 --queries 1000000 --subset 200000  # the issue's run

1. The list: `bench/synthetic_list.py` writes N SYNTHETIC entities (Faker names in 14 locales) as
   FtM JSON lines; they are ingested with every bundled real list (as bench/screening.py does)
   through the normal `ingest`, into a store cached under build/bench/scale/.
2. The index: built from the store as `listwatch screen` builds it (`MatchIndex.load_or_build`),
   into an empty cache folder: build time, peak memory, cache file size; then a new process loads
   it and compiles its names for the scorer, as each Dask worker does: its memory.
3. The queries: live entities' names with one damage each (bench/screening.py's damages), 80%, and
   synthetic unrelated names, 20%, as a folder of CSV partitions.
4. `screen_distributed` on a local Dask cluster of 1, then 2 worker processes: names per second
   (the index shipping timed apart), scaling efficiency, and recall at the default threshold (the
   true entity among the matches kept, 3 per row as `listwatch screen` keeps by default) with the
   false-positive rate of the unrelated. `--subset N`: the smaller worker counts screen only the
   first N queries, the largest all of them.
5. Projections, labelled as such: 1,000,000 queries on N workers from the measured rates.

Everything is printed and saved to build/bench/scale/report.txt. No test asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
import unicodedata
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from screening import DAMAGES, STEPS, damage, synthetic_name
from synthetic_list import LIST_ID, WORK, generate

AS_OF = date(2025, 6, 1)  # every bundled list and the synthetic one are live
SEED = 8
TARGET_QUERIES = 1_000_000
TARGET_SECONDS = 600.0
TARGET_INDEX_GB = 8.0
HITS_KEPT = 3  # hits kept per row: `listwatch screen`'s default (RunParameters.limit)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build_store(synthetic: Path, db: Path) -> dict[str, float]:
    """The real lists, then the synthetic one, through `ingest`; cached by size and seed."""
    from listwatch.registry.snapshots import ingest
    from listwatch.store import open_store

    if db.exists():
        return {"cached": 1.0}
    partial = db.with_name(db.name + ".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    store = open_store(f"sqlite:///{partial}")
    wall, cpu = time.perf_counter(), time.process_time()
    for path, list_id in STEPS:
        ingest(store, [path], list_id=list_id)
    real = time.perf_counter() - wall
    wall2, cpu2 = time.perf_counter(), time.process_time()
    ingest(store, [synthetic])
    store.close()
    partial.replace(db)
    return {
        "real_s": real,
        "synthetic_s": time.perf_counter() - wall2,
        "synthetic_cpu_s": time.process_time() - cpu2,
        "all_cpu_s": time.process_time() - cpu,
    }


def build_index(db: Path, cache: Path) -> tuple[Any, dict[str, float]]:
    from listwatch.screening.screener import Screener
    from listwatch.store import open_store

    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob("*.npz"):
        old.unlink()
    store = open_store(f"sqlite:///{db}")
    rss0 = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    screener = Screener(store, as_of=AS_OF, cache_dir=cache)
    built = {
        "build_s": time.perf_counter() - wall,
        "build_cpu_s": time.process_time() - cpu,
        "build_rss_mb": _rss_mb() - rss0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "entities": float(len(screener.index.entities)),
        "cache_mb": sum(p.stat().st_size for p in cache.glob("*.npz")) / 2**20,
    }
    return store, built


def worker_memory(db: Path, cache: Path) -> dict[str, float]:
    """A new process loads the cached index and compiles its names, as every worker does."""
    code = (
        "import json, resource, sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from scale import _rss_mb, AS_OF\n"
        "from listwatch.store import open_store\n"
        "from listwatch.screening.screener import Screener\n"
        "from listwatch.matching.query import MatchQuery\n"
        f"store = open_store('sqlite:///{db}')\n"
        "import numpy, rigour.names, followthemoney\n"
        "before = _rss_mb()\n"
        "t = time.perf_counter()\n"
        f"screener = Screener(store, as_of=AS_OF, cache_dir=__import__('pathlib').Path({str(cache)!r}))\n"
        "load = time.perf_counter() - t\n"
        "loaded = _rss_mb()\n"
        "t = time.perf_counter()\n"
        "screener.match(MatchQuery(names=('Ivan Petrov',), schema='Person'))\n"
        "compile_s = time.perf_counter() - t\n"
        "print(json.dumps({'from_cache': screener.index.from_cache, 'load_s': load, 'compile_s': compile_s,"
        " 'rss_before': before, 'rss_loaded': loaded, 'rss_ready': _rss_mb(),"
        " 'peak_rss_mb': resource.getrusage(0).ru_maxrss / 1024}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def make_queries(
    screener_entities: Any, count: int, folder: Path, partition_rows: int
) -> dict[str, str | None]:
    """Damaged names of live entities (80%) and unrelated synthetic names (20%), as CSV partitions;
    returns each query id's true entity (None for the unrelated)."""
    import pandas as pd

    rng = random.Random(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    truth: dict[str, str | None] = {}
    rows: list[dict[str, str]] = []
    true_count = int(count * 0.8)
    drawn = rng.sample(range(len(screener_entities)), min(2 * true_count, len(screener_entities)))
    named = (screener_entities[p] for p in drawn if screener_entities[p].names)  # a few have none
    for n, entity in enumerate(islice(named, true_count)):
        primary = next((f for f in entity.names if f.kind == "primary"), entity.names[0])
        source = unicodedata.normalize("NFC", primary.original)
        name = damage(source, DAMAGES[n % len(DAMAGES)], entity.schema, rng)
        key = f"q{len(rows):07d}"
        rows.append({"id": key, "name": name})
        truth[key] = entity.entity_id
    while len(rows) < count:
        name, _schema = synthetic_name(rng)
        key = f"q{len(rows):07d}"
        rows.append({"id": key, "name": name})
        truth[key] = None
    rng.shuffle(rows)
    frame = pd.DataFrame(rows)
    for k, begin in enumerate(range(0, len(frame), partition_rows)):
        frame.iloc[begin : begin + partition_rows].to_csv(folder / f"part-{k:04d}.csv", index=False)
    return truth


def screen_on(store: Any, folder: Path, out: Path, cache: Path, workers: int, hits: int = HITS_KEPT) -> Any:
    from listwatch.screening.distributed import screen_distributed
    from listwatch.screening.runs import RunParameters

    parameters = RunParameters(as_of=AS_OF, key_column="id", limit=hits)
    return screen_distributed(
        store, folder, parameters=parameters, out_dir=out, workers=workers, cache_dir=cache
    )


def recall(out: Path, truth: dict[str, str | None]) -> dict[str, float]:
    import pandas as pd

    table = pd.read_parquet(out, columns=["key", "entity_id", "match"])
    matched: dict[str, set[str]] = {}
    for key, entity_id, match in table.itertuples(index=False):
        if pd.notna(match) and bool(match):
            matched.setdefault(key, set()).add(entity_id)
    listed = [k for k, t in truth.items() if t is not None]
    unrelated = [k for k, t in truth.items() if t is None]
    found = sum(1 for k in listed if truth[k] in matched.get(k, set()))
    fp = sum(1 for k in unrelated if matched.get(k))
    synthetic = [k for k in listed if "synthetic" in str(truth[k])]  # ids keep the FtM id's prefix
    found_synth = sum(1 for k in synthetic if truth[k] in matched.get(k, set()))
    return {
        "recall": found / max(len(listed), 1),
        "recall_synthetic": found_synth / max(len(synthetic), 1),
        "recall_real": (found - found_synth) / max(len(listed) - len(synthetic), 1),
        "listed": float(len(listed)),
        "synthetic": float(len(synthetic)),
        "fp_rate": fp / max(len(unrelated), 1),
        "unrelated": float(len(unrelated)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="The scale bench (docs/performance.md, section Scale).")
    parser.add_argument("--entities", type=int, default=20_000, help="synthetic entities (default 20,000)")
    parser.add_argument("--queries", type=int, default=2_000, help="queries to screen (default 2,000)")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure (default 1,2)")
    parser.add_argument("--partition-rows", type=int, default=500, help="rows per query partition")
    parser.add_argument(
        "--hits", type=int, default=HITS_KEPT, help=f"hits kept per row (default {HITS_KEPT}, as `screen`)"
    )
    parser.add_argument(
        "--subset",
        type=int,
        default=0,
        help="screen only the first N queries (whole partitions) on every worker count but the "
        "largest, which screens them all: the rates compare (the queries are shuffled), in less time",
    )
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    began = time.perf_counter()
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"scale bench: {args.entities:,} SYNTHETIC entities (bench/synthetic_list.py, Faker) + the real "
        f"bundled lists; {args.queries:,} queries; {os.cpu_count()} cores; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at start")  # fmt: skip
    t = time.perf_counter()
    synthetic = generate(args.entities, seed=SEED)
    say(f"synthetic list {synthetic.relative_to(Path.cwd()) if synthetic.is_relative_to(Path.cwd()) else synthetic}"
        f" ready in {time.perf_counter() - t:.1f} s ({synthetic.stat().st_size / 2**20:.0f} MB)")  # fmt: skip
    db = WORK / f"store-{args.entities}-seed{SEED}.db"
    ingest = build_store(synthetic, db)
    if "cached" in ingest:
        say(f"store {db.name}: cached (ingested by an earlier run)")
    else:
        say(f"ingest: real lists {ingest['real_s']:.1f} s; {args.entities:,} synthetic entities "
            f"{ingest['synthetic_s']:.1f} s wall, {ingest['synthetic_cpu_s']:.1f} s CPU "
            f"({args.entities / ingest['synthetic_cpu_s']:,.0f} entities per CPU second) as list {LIST_ID}")  # fmt: skip
    cache = WORK / f"index-{args.entities}"
    store, built = build_index(db, cache)
    entities = int(built["entities"])
    say(f"index: {entities:,} live entities as of {AS_OF}; built in {built['build_s']:.1f} s wall, "
        f"{built['build_cpu_s']:.1f} s CPU; +{built['build_rss_mb']:,.0f} MB RSS while building "
        f"(peak {built['peak_rss_mb']:,.0f} MB); cache file {built['cache_mb']:,.0f} MB")  # fmt: skip
    memory = worker_memory(db, cache)
    ready = memory["rss_ready"] - memory["rss_before"]
    say(f"a worker's index: cache load {memory['load_s']:.1f} s (+{memory['rss_loaded'] - memory['rss_before']:,.0f} MB), "
        f"names compiled for the scorer {memory['compile_s']:.1f} s; ready: +{ready:,.0f} MB RSS "
        f"(process {memory['rss_ready']:,.0f} MB, peak {memory['peak_rss_mb']:,.0f} MB)")  # fmt: skip

    from listwatch.matching.index import MatchIndex

    index = MatchIndex.load_or_build(store, as_of=AS_OF, cache_dir=cache)
    folder = WORK / f"queries-{args.queries}-{args.entities}"
    truth = make_queries(index.entities, args.queries, folder, args.partition_rows)
    del index  # screen_distributed loads its own copy in this process: not two at once
    say(f"queries: {sum(t is not None for t in truth.values()):,} damaged names of live entities "
        f"({', '.join(DAMAGES)}), {sum(t is None for t in truth.values()):,} synthetic unrelated names; "
        f"{len(list(folder.glob('*.csv')))} partitions of {args.partition_rows}")  # fmt: skip

    rates: dict[int, float] = {}
    cpu_rates: dict[int, float] = {}
    last_out = None
    subset = folder
    if args.subset and args.subset < args.queries:
        subset = folder.with_name(f"{folder.name}-first{args.subset}")  # beside: the folder is read whole
        subset.mkdir(exist_ok=True)
        for old in subset.glob("*.csv"):
            old.unlink()
        for part in sorted(folder.glob("*.csv"))[: max(1, args.subset // args.partition_rows)]:
            (subset / part.name).symlink_to(part)
    for workers in counts:
        out = WORK / f"results-{workers}w"
        inputs = folder if workers == max(counts) else subset
        summary = screen_on(store, inputs, out, cache, workers, args.hits)
        if summary.failed:
            say(f"{workers} worker(s): {len(summary.failed)} partition(s) FAILED: {summary.failed[0].error}")
        screening = summary.seconds - summary.index_seconds
        rates[workers] = summary.rows / screening
        cpu = sum(p.seconds for p in summary.partitions)
        cpu_rates[workers] = summary.rows / cpu if cpu else 0.0
        say(f"{workers} worker(s): {summary.rows:,} rows in {screening:.1f} s = {rates[workers]:,.0f} names/s "
            f"wall ({cpu_rates[workers]:,.0f}/s per CPU second of the tasks); index shipped and warmed "
            f"in {summary.index_seconds:.1f} s; retried {len(summary.retried)}, failed {len(summary.failed)}")  # fmt: skip
        last_out = out
    if 1 in rates and 2 in rates:
        say(f"scaling 1 -> 2 workers: {rates[2] / rates[1]:.2f}x, efficiency {rates[2] / rates[1] / 2:.0%} "
            "(on a shared machine: other jobs take cores too)")  # fmt: skip
    if last_out is not None:
        q = recall(last_out, truth)
        say(f"recall at the default threshold (true entity among the matches, {args.hits} kept per row): "
            f"{q['recall']:.3f} of {int(q['listed']):,} (synthetic entities {q['recall_synthetic']:.3f}, "
            f"real {q['recall_real']:.3f}); false-positive rate of unrelated names {q['fp_rate']:.3f} "
            f"of {int(q['unrelated']):,}")  # fmt: skip

    say()
    say("PROJECTED (not measured): 1,000,000 queries, from the rates above")
    # one worker's wall rate: measured, or the smallest run's per worker (no scaling loss assumed)
    fewest = min(rates)
    base = rates[1] if 1 in rates else rates[fewest] / fewest
    efficiency = rates[2] / rates[1] / 2 if 1 in rates and 2 in rates else 1.0
    cpu_rate = max(cpu_rates.values())
    for n in (1, 2, 4, 8, 16, 32):
        wall_rate = base * n * (efficiency if n > 1 else 1.0)
        say(f"  {n:>2} worker(s): {TARGET_QUERIES / wall_rate / 60:7.1f} min at the measured wall rate; "
            f"{TARGET_QUERIES / (cpu_rate * n) / 60:7.1f} min on idle cores (task CPU rate)")  # fmt: skip
    needed = TARGET_QUERIES / TARGET_SECONDS
    say(f"  the target, 1,000,000 in 10 min on this 2-core machine, needs {needed:,.0f} names/s: "
        f"{needed / 2:,.0f}/s per core; measured {cpu_rate:,.0f}/s per CPU second "
        f"({'met' if cpu_rate * 2 >= needed else 'MISSED'})")  # fmt: skip
    per_entity = ready / max(entities, 1)
    say(f"  index for 1,000,000 entities: at most ~{per_entity * 1e6 / 1024:,.1f} GB per worker (the "
        f"{per_entity * 1024:,.1f} KB per entity measured counts the libraries' fixed part too, so small "
        f"sizes overstate it; target < {TARGET_INDEX_GB:.0f} GB: "
        f"{'met' if per_entity * 1e6 / 1024 < TARGET_INDEX_GB else 'MISSED'}), built in "
        f"~{built['build_cpu_s'] / entities * 1e6 / 60:,.0f} min of CPU")  # fmt: skip
    say(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end; bench took "
        f"{time.perf_counter() - began:.0f} s")  # fmt: skip
    (WORK / "report.txt").write_text("\n".join(lines) + "\n")
    store.close()


if __name__ == "__main__":
    main()
