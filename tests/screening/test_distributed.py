"""Screening partitioned input on a real Dask `LocalCluster` (two worker processes, one thread each).

The lists are real bundled files; the queries are real listed names with realistic damage (as
bench/screening.py makes them) plus a few ordinary names and bad rows. Every distributed result is
compared row for row with the single-process `listwatch screen` of the same rows.
"""

from __future__ import annotations

import json
import os
import random
import signal
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from listwatch.cli import app
from listwatch.registry.snapshots import ingest
from listwatch.screening.distributed import (
    DistributedSummary,
    PartitionOutcome,
    find_partitions,
    screen_partitions,
)
from listwatch.screening.runs import RunParameters
from listwatch.screening.screener import Screener
from listwatch.store import Store, open_store
from tests.conftest import CCMC_1237, CONS_2025_04, DOD_1260H

distributed = pytest.importorskip("distributed")

AS_OF = "2025-06-01"
PARAMETERS = RunParameters(as_of=date(2025, 6, 1), key_column="id")
runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("distributed")
    url = f"sqlite:///{folder / 'lw.db'}"
    store = open_store(url)
    ingest(store, [CONS_2025_04])
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    store.close()
    return url, folder / "cache"


@pytest.fixture(scope="module")
def store(db: tuple[str, Path]) -> Iterator[Store]:
    store = open_store(db[0])
    yield store
    store.close()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        worker_dashboard_address=None,
        silence_logs=40,
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def _damage(name: str, rng: random.Random) -> str:
    """One damage of a listed name, as a clerk makes it: a typo, a dropped or swapped word, or none."""
    tokens = name.split()
    kind = rng.choice(("none", "typo", "drop", "swap"))
    if kind == "drop" and len(tokens) >= 3:
        del tokens[rng.randrange(1, len(tokens))]
    elif kind == "swap" and len(tokens) >= 2:
        tokens[0], tokens[1] = tokens[1], tokens[0]
    elif kind == "typo":
        long = [i for i, t in enumerate(tokens) if len(t) >= 5]
        if long:
            i = rng.choice(long)
            j = rng.randrange(1, len(tokens[i]) - 2)
            token = tokens[i]
            tokens[i] = token[:j] + token[j + 1] + token[j] + token[j + 2 :]
    return " ".join(tokens)


@pytest.fixture(scope="module")
def parties(store: Store, db: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """120 rows: damaged names of live listed entities, ordinary names, and two rows with no name."""
    screener = Screener(store, as_of=PARAMETERS.as_of, cache_dir=db[1])
    rng = random.Random(8)
    entities = [screener.index.entities[i] for i in rng.sample(range(len(screener.index.entities)), 104)]
    names = [_damage(e.names[0].original, rng) for e in entities]
    names += ["Rosewood Garden Supplies", "Acme Bakery Ltd", "Maria Schneider", "Northwind Logistics GmbH"]
    names += ["Daniel Yilmaz", "Copperleaf Optics Ltd", "Hans Weber", "Bluewater Coffee Co."]
    names += ["", "!!!"]
    names += ["Xiaomi Corporation", "China Mobile Ltd", "Huawei Technologies", "SMIC"] + ["Hikvision"] * 2
    return pd.DataFrame({"id": [f"P{i:03d}" for i in range(len(names))], "name": names})


@pytest.fixture(scope="module")
def folder(parties: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rows as six partitions: five CSV files and one Parquet file, in a folder."""
    path = tmp_path_factory.mktemp("parties") / "parties"
    path.mkdir()
    for k in range(6):
        part = parties.iloc[k * 20 : (k + 1) * 20]
        if k == 3:
            part.to_parquet(path / f"part-{k}.parquet", index=False)
        else:
            part.to_csv(path / f"part-{k}.csv", index=False)
    (path / "_SUCCESS").write_text("")  # written by Spark and others; not a partition
    return path


@pytest.fixture(scope="module")
def reference(
    db: tuple[str, Path], parties: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The single-process `listwatch screen` of all rows: key -> its hits (or its error)."""
    work = tmp_path_factory.mktemp("single")
    parties.to_csv(work / "all.csv", index=False)
    out = work / "single.json"
    result = _cli(db, "screen", str(work / "all.csv"), "--key-column", "id", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["rows"]
    return {
        row["key"]: row["error"] or [(h["id"], round(h["score"], 4), h["match"]) for h in row["hits"]]
        for row in rows
    }


def _cli(db: tuple[str, Path], *args: str) -> Any:
    env = {"COLUMNS": "200", "XDG_CACHE_HOME": str(db[1].parent / "xdg")}
    return runner.invoke(app, ["--db", db[0], *args, "--as-of", AS_OF], env=env)


def _results(out_dir: Path) -> dict[str, Any]:
    table = pd.read_parquet(out_dir)  # one dataset: _summary.json and dot files are skipped
    found: dict[str, Any] = {}
    for key, rows in table.sort_values(["key", "rank"]).groupby("key", sort=False):
        first = rows.iloc[0]
        if pd.notna(first["error"]):
            found[key] = first["error"]
        else:
            found[key] = [
                (r.entity_id, round(r.score, 4), bool(r.match)) for r in rows.itertuples() if pd.notna(r.rank)
            ]
    return found


def test_partitions_on_a_cluster_equal_the_single_process_screen(
    db: tuple[str, Path], client: Any, folder: Path, reference: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "results"
    address = client.scheduler.address
    result = _cli(db, "screen", str(folder), "--key-column", "id", "--cluster", address, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "screened 120 rows in 6 of 6 partitions on 2 worker(s)" in result.output
    assert sorted(p.name for p in out.glob("*.parquet")) == [f"part-{k}.parquet" for k in range(6)]
    assert _results(out) == reference
    assert sum(1 for hits in reference.values() if isinstance(hits, list) and hits) >= 80
    summary = json.loads((out / "_summary.json").read_text())
    assert summary["rows"] == 120 and summary["failed"] == [] and summary["row_errors"] == 2
    assert len({p["worker"] for p in summary["partitions"]}) == 2  # both workers took partitions


def test_one_file_is_split_into_partitions(
    db: tuple[str, Path], client: Any, parties: pd.DataFrame, reference: dict[str, Any], tmp_path: Path
) -> None:
    parties.to_parquet(tmp_path / "all.parquet", index=False)
    address = client.scheduler.address
    result = _cli(db, "screen", str(tmp_path / "all.parquet"), "--key-column", "id", "--cluster", address,
                  "--partition-rows", "50")  # fmt: skip
    assert result.exit_code == 0, result.output
    out = tmp_path / "all-results"  # the default: beside the input
    assert sorted(p.name for p in out.glob("*.parquet")) == [f"all-{k:05d}.parquet" for k in range(3)]
    assert _results(out) == reference


def test_a_worker_killed_midway_is_rerun_and_reported(
    store: Store,
    db: tuple[str, Path],
    client: Any,
    parties: pd.DataFrame,
    reference: dict[str, Any],
    tmp_path: Path,
) -> None:
    # four partitions of 2,400 rows (every party twenty times): long enough, even on a fast machine,
    # that a partition is surely running when the first one finishes
    folder = tmp_path / "parties"
    folder.mkdir()
    times = 20
    for k in range(4):
        copies = [parties.assign(id=parties["id"] + f"-{k}-{r}") for r in range(times)]
        pd.concat(copies).to_csv(folder / f"part-{k}.csv", index=False)
    killed: list[str] = []

    def kill_a_busy_worker(outcome: PartitionOutcome, done: int, total: int) -> None:
        busy = [worker for worker, keys in client.processing().items() if keys]
        if not killed and busy:
            killed.append(busy[0])
            pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
            os.kill(pid, signal.SIGKILL)

    partitions = find_partitions(folder, parameters=PARAMETERS)
    summary: DistributedSummary = screen_partitions(
        client, store, partitions, parameters=PARAMETERS, out_dir=tmp_path / "out", cache_dir=db[1],
        progress=kill_a_busy_worker,
    )  # fmt: skip
    assert killed, "no partition was running when the first finished: nothing was killed"
    assert not summary.failed
    assert [p.name for p in summary.retried], summary.to_dict()
    assert any("died" in reason for p in summary.retried for reason in p.failed_attempts), summary.to_dict()
    found = _results(tmp_path / "out")
    assert len(found) == 4 * times * len(reference)  # nothing lost, nothing twice
    assert all(hits == reference[key.split("-")[0]] for key, hits in found.items())
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


def test_a_poison_row_fails_its_partition_after_retries_and_the_exit_code(
    db: tuple[str, Path], client: Any, folder: Path, tmp_path: Path
) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    for source in sorted(folder.glob("part-*")):
        (parts / source.name).write_bytes(source.read_bytes())
    # A row with a field too many: pandas cannot read the file, on every attempt.
    poisoned = (parts / "part-1.csv").read_text().splitlines()
    poisoned[5] += ",extra field"
    (parts / "part-1.csv").write_text("\n".join(poisoned) + "\n")
    out = tmp_path / "out"
    address = client.scheduler.address
    result = _cli(db, "screen", str(parts), "--key-column", "id", "--cluster", address, "--out", str(out),
                  "--retries", "1")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "in 5 of 6 partitions" in result.output
    assert "failed part-1 (part-1.csv) after 2 attempt(s)" in result.output
    assert "Expected 2 fields in line 6, saw 3" in result.output
    assert not (out / "part-1.parquet").exists()
    assert len(list(out.glob("*.parquet"))) == 5
    summary = json.loads((out / "_summary.json").read_text())
    assert summary["failed"] == ["part-1"] and summary["rows"] == 100
    failed = next(p for p in summary["partitions"] if p["name"] == "part-1")
    assert len(failed["failed_attempts"]) == 1 and "part-1.csv" in failed["error"]


def test_a_folder_without_cluster_options_is_screened_in_process(
    db: tuple[str, Path], folder: Path, reference: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = _cli(db, "screen", str(folder), "--key-column", "id", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "on 1 worker(s)" in result.output
    assert _results(out) == reference
    again = _cli(db, "screen", str(folder), "--key-column", "id", "--out", str(out))  # its own folder: reused
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--cluster", "tcp://127.0.0.1:1", "--workers", "2"], "--cluster and --workers exclude each other"),
        (["--workers", "0"], "--workers must be at least 1, not 0"),
        (["--cluster", "127.0.0.1:8786"], "is no scheduler address; expected tcp://HOST:8786"),
        (["--workers", "1", "--partition-rows", "0"], "--partition-rows must be at least 1, not 0"),
        (["--workers", "1", "--retries", "-1"], "--retries must be 0 or more, not -1"),
    ],
)
def test_bad_cluster_options_are_one_clear_error(
    db: tuple[str, Path], folder: Path, tmp_path: Path, args: list[str], fragment: str
) -> None:
    out = tmp_path / "out"
    result = _cli(db, "screen", str(folder), "--out", str(out), *args)
    assert result.exit_code == 1
    assert fragment in result.output
    assert not out.exists()


def test_an_unreachable_scheduler_is_one_clear_error(
    db: tuple[str, Path], folder: Path, tmp_path: Path
) -> None:
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = _cli(
            db, "screen", str(folder), "--cluster", "tcp://127.0.0.1:9", "--out", str(tmp_path / "o")
        )
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output


def test_bad_partition_folders_are_refused_before_screening(
    db: tuple[str, Path], folder: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _cli(db, "screen", str(empty))
    assert result.exit_code == 1 and "no partition files (.csv" in result.output
    assert not (tmp_path / "empty-results").exists()

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.csv").write_text("id,name\n1,Xiaomi\n")
    (mixed / "notes.json").write_text("{}")
    result = _cli(db, "screen", str(mixed))
    assert result.exit_code == 1 and "not a partition file: notes.json" in result.output

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("someone else's")
    result = _cli(db, "screen", str(folder), "--out", str(foreign))
    assert result.exit_code == 1 and "holds other files" in result.output
    assert (foreign / "keep.txt").exists()

    result = _cli(db, "screen", str(folder), "--out", str(tmp_path / "mixed" / "a.csv"))
    assert result.exit_code == 1 and "is a file; a partitioned run writes a folder" in result.output
    assert (mixed / "a.csv").read_text() == "id,name\n1,Xiaomi\n"


def test_a_worker_with_other_listwatch_code_is_refused_and_leaves_nothing(
    store: Store,
    db: tuple[str, Path],
    client: Any,
    folder: Path,
    reference: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import listwatch.screening.distributed as module

    # The client believes its scoring code differs from the workers' (as after an upgrade of one side).
    monkeypatch.setattr(module, "code_digest", lambda: "0" * 64)
    partitions = find_partitions(folder, parameters=PARAMETERS)
    with pytest.raises(module.ClusterError, match="runs other listwatch code than this client"):
        screen_partitions(
            client, store, partitions, parameters=PARAMETERS, out_dir=tmp_path / "out", cache_dir=db[1]
        )
    assert not list((tmp_path / "out").glob("*.parquet"))
    shipped = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins))
    assert not [
        name for name in shipped if name.startswith("listwatch-screener-")
    ]  # a restarted worker would fail
    monkeypatch.undo()
    summary = screen_partitions(
        client, store, partitions, parameters=PARAMETERS, out_dir=tmp_path / "out", cache_dir=db[1]
    )
    assert not summary.failed and _results(tmp_path / "out") == reference


def test_a_rerun_into_the_same_folder_replaces_the_earlier_results(
    db: tuple[str, Path], client: Any, folder: Path, parties: pd.DataFrame, reference: dict[str, Any],
    tmp_path: Path,
) -> None:  # fmt: skip
    out = tmp_path / "out"
    address = client.scheduler.address
    first = _cli(db, "screen", str(folder), "--key-column", "id", "--cluster", address, "--out", str(out))
    assert first.exit_code == 0, first.output
    assert len(list(out.glob("*.parquet"))) == 6
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    parties.iloc[:30].to_csv(fewer / "only.csv", index=False)
    again = _cli(db, "screen", str(fewer), "--key-column", "id", "--cluster", address, "--out", str(out))
    assert again.exit_code == 0, again.output
    assert [p.name for p in out.glob("*.parquet")] == ["only.parquet"]  # no stale partitions left over
    assert _results(out) == {key: reference[key] for key in parties["id"].iloc[:30]}
    assert json.loads((out / "_summary.json").read_text())["rows"] == 30


def test_the_code_digest_counts_the_scoring_libraries_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    import listwatch.screening.distributed as module

    before = module.code_digest()
    assert module.code_digest() == before
    real = module.metadata.version
    # A worker with another rapidfuzz (the edit distances) may score differently: it must be refused.
    monkeypatch.setattr(module.metadata, "version", lambda name: "0.0" if name == "rapidfuzz" else real(name))
    assert module.code_digest() != before
