"""Event-study bench: 10,000 events drawn from the real price files, market model, 250-day estimation,
21-day event window, every statistic; side by side with the PyPI `eventstudy` package when installed
(`pip install eventstudy==0.1a12`, the `bench` extra) on the same returns, checking equal abnormal returns.

    python bench/impact.py [--events 10000] [--compare 500] [--repeat 5] [--cold]

Both tools read one table of closes on the dates every Hong Kong file and the HSI share (so their
calendars are the same) and use log returns, the `eventstudy` package's default. The package runs one
event at a time, so it is timed on `--compare` events and compared per event.

What each side computes (so the ratio is read fairly): the `eventstudy` package fits the market model
and gives each event's ARs, CARs, their variances and a t-test per day, and over the sample AAR/CAAR
with one t-test per day (from the summed AR variances) and the CARs' moments and quantiles; it has
no rank, sign or standardised test in that run. listwatch computes each event's AR/CAR t-tests and
BHARs and, over the sample, 10 statistics for each of the 21 days and 4 CAR windows (two rank tests,
Patell, BMP, Kolari-Pynnönen, sign, generalized sign, Wilcoxon, cross-sectional and calendar-time t),
plus the data checks per event.
listwatch is timed `--repeat` times (wall: min and median; CPU: process time), the package once;
after the package ran, listwatch is timed again on all the events and on the compared ones, and the
per-event CPU ratio is printed for each of those timings with the lowest of them (the one to quote).

listwatch's hot loops are compiled by numba (src/listwatch/impact/kernels.py). The first study in a
process imports numba and loads the compiled kernels from numba's on-disk cache, or compiles them
when the cache does not have them (a new machine or numba, or `--cold`: an empty cache directory);
that first call is timed and reported on its own, and the steady-state figures are the calls after
it. The per-event ratio uses the steady state; the first call's cost is the price of one study in a
fresh process (one `listwatch impact` command).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from listwatch.impact.options import StudyOptions
from listwatch.impact.panel import StudyEvent
from listwatch.impact.prices import load_prices
from listwatch.impact.study import run_study

PRICES = ROOT / "examples" / "prices"
ESTIMATION, BEFORE, AFTER = 250, 10, 10


def common_table(folder: Path) -> pd.DataFrame:
    """Closes of every Hong Kong file and the HSI on the dates all of them have."""
    book = load_prices([folder / "hk", folder / "index" / "HSI.csv"])
    frames = [pd.Series(s.close, index=pd.DatetimeIndex(s.dates), name=s.symbol) for s in book.series]
    return pd.concat(frames, axis=1, join="inner").sort_index()


def draw_events(table: pd.DataFrame, count: int, seed: int = 1237) -> list[tuple[str, int]]:
    securities = [c for c in table.columns if c != "HSI"]
    # returns start at row 1; the window needs 260 returns before and 10 after the event
    low, high = 1 + ESTIMATION + BEFORE, len(table) - AFTER - 1
    pairs = [(s, day) for s in securities for day in range(low, high)]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pairs), size=min(count, len(pairs)), replace=False)
    return [pairs[i] for i in chosen]


@dataclass(frozen=True)
class Timing:
    best: float  # wall seconds, fastest run
    median: float  # wall seconds
    cpu: float  # process (CPU) seconds, fastest run
    cpu_median: float
    first_wall: float  # the first call in the process: numba's import and kernel loading or compiling
    first_cpu: float
    compiled: int  # kernel signatures the first call compiled (0: all loaded from numba's cache)


def run_listwatch(
    table: pd.DataFrame, events: list[tuple[str, int]], wide: Path, repeat: int = 5
) -> tuple[Timing, object]:
    book = load_prices([wide])
    hsi = book.find("HSI")
    dates = table.index
    study_events = [StudyEvent(s, date.fromisoformat(str(dates[d].date())), "bench") for s, d in events]
    options = StudyOptions(
        model="market",
        returns="log",
        estimation=(-BEFORE - ESTIMATION, -BEFORE - 1),
        event_window=(-BEFORE, AFTER),
        same_firm="keep",  # the events are random draws, not one firm's history: as the package does
        min_estimation=ESTIMATION,
    )
    markets = {None: hsi} if hsi else {}
    start, cpu = time.perf_counter(), time.process_time()
    result = run_study(study_events, book, options=options, markets=markets)
    first_wall, first_cpu = time.perf_counter() - start, time.process_time() - cpu
    from listwatch.impact import kernels

    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = run_study(study_events, book, options=options, markets=markets)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    timing = Timing(
        min(walls),
        float(np.median(walls)),
        min(cpus),
        float(np.median(cpus)),
        first_wall,
        first_cpu,
        kernels.cache_misses(),
    )
    return timing, result


def run_eventstudy(
    table: pd.DataFrame, events: list[tuple[str, int]], wide: Path
) -> tuple[float, float, np.ndarray] | None:
    try:
        import eventstudy as es
    except ImportError:
        return None
    es.Single.import_returns(str(wide), is_price=True, log_return=True)
    dates = table.index
    params = [
        {"event_date": np.datetime64(dates[d].date()), "security_ticker": s, "market_ticker": "HSI"}
        for s, d in events
    ]
    start, cpu = time.perf_counter(), time.process_time()
    sample = es.Multiple.from_list(
        params,
        es.Single.market_model,
        event_window=(-BEFORE, AFTER),
        estimation_size=ESTIMATION,
        buffer_size=0,
    )
    elapsed, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return elapsed, cpu_seconds, np.array([single.AR for single in sample.sample])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--compare", type=int, default=500, help="events timed with the eventstudy package")
    parser.add_argument("--repeat", type=int, default=5, help="listwatch runs timed (min and median)")
    parser.add_argument("--cold", action="store_true", help="an empty numba cache: the first call compiles")
    args = parser.parse_args()
    if args.cold:  # before numba is imported (the first study imports it)
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="listwatch-numba-")
    table = common_table(PRICES)
    events = draw_events(table, args.events)
    with tempfile.TemporaryDirectory() as tmp:
        wide = Path(tmp) / "closes.csv"
        table.rename_axis("date").to_csv(wide)
        timing, result = run_listwatch(table, events, wide, args.repeat)
        n_valid = int(result.valid.sum())  # type: ignore[attr-defined]
        n_tests = len(result.windows.tests)  # type: ignore[attr-defined]
        print(f"calendar: {len(table)} common days of {len(table.columns) - 1} HK shares and the HSI")
        first = (
            f"compiled {timing.compiled} kernel signatures (not in numba's cache)"
            if timing.compiled
            else "numba's cached kernels loaded, nothing compiled"
        )
        print(
            f"listwatch: {len(events):,} events ({n_valid:,} valid), market model, 250-day estimation, "
            f"21-day window; per event AR/CAR/BHAR with t-tests, and over the sample {n_tests} statistics "
            f"x (21 days + 4 windows)"
        )
        print(
            f"  first call in this process (numba import; {first}): wall {timing.first_wall:.3f} s, "
            f"CPU {timing.first_cpu:.3f} s"
        )
        print(
            f"  steady state, {args.repeat} calls after it: wall min {timing.best:.3f} s, median "
            f"{timing.median:.3f} s; CPU min {timing.cpu:.3f} s, median {timing.cpu_median:.3f} s "
            f"({timing.cpu / len(events) * 1e6:.1f} us/event CPU, {timing.best / len(events) * 1e6:.1f} wall)"
        )
        subset = events[: args.compare]
        other = run_eventstudy(table, subset, wide)
        if other is None:
            print("eventstudy (PyPI) not installed: pip install 'eventstudy==0.1a12' to compare")
            return
        their_seconds, their_cpu, their_ar = other
        small, small_result = run_listwatch(table, subset, wide, args.repeat)
        # the same 10,000 events again, after the package ran in this process (its allocations
        # change the heap listwatch's arrays come from): the steady state should not move
        again = small if len(subset) == len(events) else run_listwatch(table, events, wide, args.repeat)[0]
        ours = small_result.fit.ar  # type: ignore[attr-defined]
        diff = float(np.nanmax(np.abs(ours - their_ar)))
        per_theirs = their_seconds / len(subset)
        per_ours = timing.best / len(events)
        print(
            f"eventstudy 0.1a12 (market model, AR/CAR and t per event, AAR/CAAR t and CAR moments over the "
            f"sample; no rank/sign/standardised tests): {len(subset):,} events: wall {their_seconds:.2f} s, CPU {their_cpu:.2f} s "
            f"({per_theirs * 1e3:.2f} ms/event)"
        )
        print(
            f"listwatch on the same {len(subset):,} events (everything above, steady state): wall min "
            f"{small.best:.3f} s, CPU min {small.cpu:.3f} s"
        )
        print(
            f"listwatch on the {len(events):,} events again, after the package ran: CPU min {again.cpu:.3f} s, "
            f"median {again.cpu_median:.3f} s (before it: {timing.cpu:.3f}, {timing.cpu_median:.3f})"
        )
        print(f"max |AR difference| on those events: {diff:.2e}")
        theirs_cpu = their_cpu / len(subset)
        readings = {
            f"{len(events):,} events": theirs_cpu / (timing.cpu / len(events)),
            f"{len(events):,} events after the package": theirs_cpu / (again.cpu / len(events)),
            f"same {len(subset):,} events": their_cpu / small.cpu,
        }
        print(
            f"per-event ratio (eventstudy / listwatch, steady state): wall {per_theirs / per_ours:,.0f}x at "
            f"{len(events):,} events; CPU "
            + ", ".join(f"{ratio:,.0f}x ({what})" for what, ratio in readings.items())
            + f"; lowest CPU reading {min(readings.values()):,.0f}x"
        )


if __name__ == "__main__":
    main()
