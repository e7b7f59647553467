"""Screening partitioned input on a Dask cluster: the index built once, partitions in parallel.

`listwatch screen DIR --cluster tcp://HOST:8786` (or `--workers N` for a cluster on this machine)
comes here. The `Screener` is built (or loaded from its cache) once on the client and installed on
every worker as a worker plugin; each partition (a file of the folder, or a slice of one file) is
screened by one task, and its results come back as an Arrow table that the client writes as one
Parquet file. A partition whose task fails, or whose worker dies under it, is submitted again up to `retries` times;
every failed attempt is kept in the summary, and a partition that never succeeds is reported (and
makes the command exit non-zero), never dropped. See docs/distributed.md.

    summary = screen_distributed(store, Path("parties/"), parameters=RunParameters(as_of=date(2021, 2, 1)),
                                 out_dir=Path("results/"), workers=2)
    summary.failed  # () when every partition was screened
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidQuery, ListwatchError, ParseError
from listwatch.screening.batches import read_rows
from listwatch.screening.inputs import SUPPORTED_SUFFIXES, InputRow
from listwatch.screening.runs import RunParameters
from listwatch.screening.screener import RowResult, Screener
from listwatch.store import Store

try:
    from distributed import WorkerPlugin
except ImportError:  # the optional extra is missing: `open_client` says so
    WorkerPlugin = object  # type: ignore[misc,assignment]

__all__ = [
    "DEFAULT_PARTITION_ROWS",
    "DEFAULT_RETRIES",
    "RESULT_COLUMNS",
    "ClusterError",
    "DistributedSummary",
    "Partition",
    "PartitionFailed",
    "PartitionOutcome",
    "ScreenerPlugin",
    "code_digest",
    "find_partitions",
    "open_client",
    "screen_distributed",
    "screen_partitions",
]

#: Rows per partition when one file is split on the client (a folder's files are partitions as
#: they are). About 10-30 s of one core each: long enough to pay for a task, short enough to retry.
DEFAULT_PARTITION_ROWS = 20_000
DEFAULT_RETRIES = 2
SUMMARY_FILE = "_summary.json"
#: One row per hit; a row with no hit (or an error) is one row with an empty rank.
RESULT_COLUMNS = (
    "partition",
    "row",
    "key",
    "query",
    "error",
    "rank",
    "score",
    "match",
    "entity_id",
    "caption",
    "schema",
    "list",
    "state",
    "listed_since",
    "programs",
    "explanation",
)
_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")
_SCORING = ("screener.py", "inputs.py", "distributed.py")  # besides matching/: see code_digest
#: Libraries whose version can change a name's features or a score (as in matching/index.py's cache key).
_SCORING_LIBRARIES = ("normality", "rigour", "rapidfuzz", "numpy")
_WORKER_DIED = "its worker died while screening it; Dask ran it again"

Progress = Callable[["PartitionOutcome", int, int], None]  # outcome, partitions done, total


class ClusterError(ListwatchError):
    """The Dask cluster cannot be reached, started or used."""

    status = 503


class PartitionFailed(Exception):
    """A partition's task failed for a reason listwatch knows (an unreadable file, a bad column).

    Raised on the worker with one message argument, so that it pickles back to the client as it is
    (listwatch's own errors take several arguments and would not)."""


@dataclass(frozen=True)
class Partition:
    """One task's input: a file the worker reads, or rows read on the client (`rows`)."""

    name: str  # the output file's stem, unique within a run
    path: Path
    rows: tuple[InputRow, ...] | None = None

    @property
    def source(self) -> str:
        if self.rows is None or not self.rows:
            return self.path.name
        return f"{self.path.name} rows {self.rows[0].row_number}-{self.rows[-1].row_number}"


@dataclass(frozen=True)
class PartitionOutcome:
    """What became of one partition: its counts and output file, or why it failed."""

    name: str
    source: str
    rows: int = 0
    matches: int = 0  # rows with at least one match
    row_errors: int = 0  # rows that could not become a query (reported in the output's `error`)
    output: Path | None = None
    worker: str | None = None
    seconds: float = 0.0  # the successful task's own time on its worker
    failed_attempts: tuple[str, ...] = ()  # why each earlier attempt failed, in order
    error: str | None = None  # set when every attempt failed

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def retried(self) -> bool:
        return bool(self.failed_attempts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "ok": self.ok,
            "rows": self.rows,
            "matches": self.matches,
            "row_errors": self.row_errors,
            "output": self.output.name if self.output else None,
            "worker": self.worker,
            "seconds": round(self.seconds, 3),
            "failed_attempts": list(self.failed_attempts),
            "error": self.error,
        }


@dataclass(frozen=True)
class DistributedSummary:
    out_dir: Path
    workers: int
    index_seconds: float  # building or loading the index, and shipping it to every worker
    seconds: float  # the whole run
    partitions: tuple[PartitionOutcome, ...] = field(default=())

    @property
    def failed(self) -> tuple[PartitionOutcome, ...]:
        return tuple(p for p in self.partitions if not p.ok)

    @property
    def retried(self) -> tuple[PartitionOutcome, ...]:
        return tuple(p for p in self.partitions if p.ok and p.retried)

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    @property
    def matches(self) -> int:
        return sum(p.matches for p in self.partitions)

    @property
    def row_errors(self) -> int:
        return sum(p.row_errors for p in self.partitions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "workers": self.workers,
            "index_seconds": round(self.index_seconds, 3),
            "seconds": round(self.seconds, 3),
            "rows": self.rows,
            "matches": self.matches,
            "row_errors": self.row_errors,
            "failed": [p.name for p in self.failed],
            "retried": [p.name for p in self.retried],
            "partitions": [p.to_dict() for p in self.partitions],
        }


# -- the input ------------------------------------------------------------------------------------


def find_partitions(
    path: Path, *, parameters: RunParameters, partition_rows: int = DEFAULT_PARTITION_ROWS
) -> list[Partition]:
    """A folder's data files, each one partition (names starting with `_` or `.` are skipped, as
    Spark and Dask write them); or one file, read here and cut into `partition_rows` slices."""
    if partition_rows < 1:
        raise InvalidQuery(f"--partition-rows must be at least 1, not {partition_rows}")
    if not path.exists():
        raise ParseError(path, None, "no such file or folder")
    if path.is_dir():
        files: list[Path] = []
        others: list[Path] = []
        for item in sorted(path.rglob("*")):
            relative = item.relative_to(path)
            if item.is_dir() or any(part.startswith(("_", ".")) for part in relative.parts):
                continue
            (files if item.suffix.lower() in SUPPORTED_SUFFIXES else others).append(relative)
        if others:
            shown = ", ".join(str(p) for p in others[:5]) + (" ..." if len(others) > 5 else "")
            raise ParseError(
                path, None, f"not a partition file: {shown}; partitions are {', '.join(SUPPORTED_SUFFIXES)}"
            )
        if not files:
            raise ParseError(
                path, None, f"no partition files ({', '.join(SUPPORTED_SUFFIXES)}) in the folder"
            )
        return [Partition("__".join(r.with_suffix("").parts), path / r) for r in files]
    rows = iter(read_rows(path, parameters))
    partitions: list[Partition] = []
    while chunk := tuple(islice(rows, partition_rows)):
        partitions.append(Partition(f"{path.stem}-{len(partitions):05d}", path, chunk))
    if not partitions:
        raise ParseError(path, None, "no rows to screen")
    return partitions


# -- the cluster ----------------------------------------------------------------------------------


@contextmanager
def open_client(*, cluster: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A client of the cluster at `cluster`, or of a new local cluster of `workers` processes (one
    thread each: the scorer is numpy and Python, so processes, not threads, use the cores). With
    neither, one worker thread in this process: a folder is still screened partition by partition."""
    _check_cluster(cluster, workers)
    dask = _distributed()
    if cluster is not None:
        try:
            client = dask.Client(cluster)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {cluster}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    local = dask.LocalCluster(
        n_workers=workers or 1,
        threads_per_worker=1,
        processes=workers is not None,
        dashboard_address=":0",  # a free port: 8787 may be taken, and the HTTP server always runs
        worker_dashboard_address=None,
        silence_logs=logging.CRITICAL,  # failures are reported in the summary, not logged
    )
    try:
        with dask.Client(local) as client:
            yield client
    finally:
        local.close()


def code_digest() -> str:
    """SHA-256 of the source of the code that reads rows and scores them (matching/, and the
    screener, input reader and this module) and of the versions of the libraries it scores with:
    the client and every worker must agree on it."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    files = [*(package / "matching").glob("*.py"), *(package / "screening" / n for n in _SCORING)]
    for file in sorted(files):
        digest.update(file.relative_to(package).as_posix().encode() + b"\0" + file.read_bytes())
    for name in _SCORING_LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "?"
        digest.update(f"{name}={version}\0".encode())
    return digest.hexdigest()


def _check_cluster(cluster: str | None, workers: int | None) -> None:
    if cluster is not None and workers is not None:
        raise InvalidQuery("--cluster and --workers exclude each other: a cluster has its own workers")
    if workers is not None and workers < 1:
        raise InvalidQuery(f"--workers must be at least 1, not {workers}")
    if cluster is not None and not cluster.startswith(_SCHEMES):
        raise InvalidQuery(f"--cluster: {cluster!r} is no scheduler address; expected tcp://HOST:8786")


def _distributed() -> Any:
    """dask.distributed (untyped, hence Any), or a clear error when it is not installed."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(
            "Dask is not installed: pip install 'listwatch[distributed]' (dask[distributed])"
        ) from None
    return distributed


# -- screening ------------------------------------------------------------------------------------


def screen_distributed(
    store: Store,
    path: Path,
    *,
    parameters: RunParameters,
    out_dir: Path,
    cluster: str | None = None,
    workers: int | None = None,
    retries: int = DEFAULT_RETRIES,
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> DistributedSummary:
    """`screen_partitions` on the cluster `open_client` gives; options, input and output folder are
    checked before a cluster is reached or anything is written."""
    _check_cluster(cluster, workers)
    _check_retries(retries)
    partitions = find_partitions(path, parameters=parameters, partition_rows=partition_rows)
    _check_out(out_dir)
    with open_client(cluster=cluster, workers=workers) as client:
        return screen_partitions(
            client,
            store,
            partitions,
            parameters=parameters,
            out_dir=out_dir,
            retries=retries,
            cache_dir=cache_dir,
            progress=progress,
        )


def screen_partitions(
    client: Any,
    store: Store,
    partitions: Sequence[Partition],
    *,
    parameters: RunParameters,
    out_dir: Path,
    retries: int = DEFAULT_RETRIES,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> DistributedSummary:
    """Screen `partitions` on the client's cluster; one Parquet file per partition in `out_dir`.

    Every partition ends in the summary: screened (after how many failed attempts, and why), or
    failed with the last reason. Nothing of a failed partition is left in `out_dir`.
    """
    _check_retries(retries)
    names = [p.name for p in partitions]
    if len(set(names)) != len(names):
        raise InvalidQuery("two partitions would write the same output file; rename one")
    _prepare(out_dir)
    began = time.perf_counter()
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    if not workers:
        raise ClusterError("the Dask cluster has no workers")
    screener = _shippable_screener(store, parameters, cache_dir)
    # A worker plugin, not scattered data: Dask installs it on every worker, on a worker that
    # restarts and on one that joins later, and its memory manager never drops it.
    shipped = f"listwatch-screener-{os.urandom(6).hex()}"
    try:
        # A plugin whose setup failed on a worker (other listwatch code there) stays registered on
        # the scheduler, and would fail every worker that starts later: hence unregistered in any case.
        client.register_plugin(ScreenerPlugin(pickle.dumps(screener, protocol=5)), name=shipped)
        index_seconds = time.perf_counter() - began
        outcomes = _run(client, shipped, partitions, parameters, out_dir, retries, progress)
    finally:
        with contextlib.suppress(ValueError):  # never registered: the payload did not reach the scheduler
            client.unregister_worker_plugin(shipped)
    summary = DistributedSummary(
        out_dir=out_dir,
        workers=len(workers),
        index_seconds=index_seconds,
        seconds=time.perf_counter() - began,
        partitions=tuple(outcomes[name] for name in names),
    )
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary.to_dict(), indent=1) + "\n", encoding="utf-8")
    return summary


def _run(
    client: Any,
    shipped: str,
    partitions: Sequence[Partition],
    parameters: RunParameters,
    out_dir: Path,
    retries: int,
    progress: Progress | None,
) -> dict[str, PartitionOutcome]:
    """Submit every partition, write each result as it comes, submit failed ones again."""

    # key -> the partition, why its earlier attempts failed, and how many of them were task errors
    by_key: dict[str, tuple[Partition, list[str], int]] = {}
    stream = _distributed().as_completed()
    for partition in partitions:
        future = _submit(client, shipped, partition, parameters, attempt=1)
        by_key[future.key] = (partition, [], 0)
        stream.add(future)
    outcomes: dict[str, PartitionOutcome] = {}
    for future in stream:
        partition, failures, errors = by_key.pop(future.key)
        failures.extend([_WORKER_DIED] * _lost_workers(client, future.key))
        if future.status == "finished":
            outcome = _write(future.result(), partition, out_dir, tuple(failures))
        else:
            failures.append(_reason(future))
            if errors < retries:
                again = _submit(client, shipped, partition, parameters, attempt=errors + 2)
                by_key[again.key] = (partition, failures, errors + 1)
                stream.add(again)
                future.release()
                continue
            (out_dir / f"{partition.name}.parquet").unlink(missing_ok=True)
            outcome = PartitionOutcome(
                partition.name, partition.source, failed_attempts=tuple(failures[:-1]), error=failures[-1]
            )
        future.release()
        outcomes[partition.name] = outcome
        if progress is not None:
            progress(outcome, len(outcomes), len(partitions))
    return outcomes


def _check_retries(retries: int) -> None:
    if retries < 0:
        raise InvalidQuery(f"--retries must be 0 or more, not {retries}")


def _check_out(out_dir: Path) -> None:
    """An empty or new folder, or one an earlier run wrote; anything else is refused."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidQuery(f"--out: {out_dir} is a file; a partitioned run writes a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / SUMMARY_FILE).exists():
        raise InvalidQuery(
            f"--out: {out_dir} holds other files; name a new or empty folder (or one listwatch wrote)"
        )


def _prepare(out_dir: Path) -> None:
    """`_check_out`, then the folder made, or an earlier run's result files removed from it."""
    _check_out(out_dir)
    if (out_dir / SUMMARY_FILE).exists():
        for old in out_dir.glob("*.parquet"):
            old.unlink()
        (out_dir / SUMMARY_FILE).unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _shippable_screener(store: Store, parameters: RunParameters, cache_dir: Path | None) -> Screener:
    """The screener, with its index read back from the cache when it was just built: a cached index
    unpickles entities only when touched, so it ships as its arrays (MBs, not every object)."""
    options: dict[str, Any] = {
        "as_of": parameters.as_of,
        "lists": parameters.lists,
        "algorithm": parameters.algorithm,
        "threshold": parameters.threshold,
        "cache_dir": cache_dir,
    }
    screener = Screener(store, **options)
    if not screener.index.from_cache and screener.index.cache_path is not None:
        screener = Screener(store, **options)
    return screener


def _submit(
    client: Any, shipped: str, partition: Partition, parameters: RunParameters, *, attempt: int
) -> Any:
    return client.submit(
        _screen_partition,
        shipped,
        partition,
        parameters,
        key=f"listwatch-screen-{partition.name}-{attempt}-{os.urandom(4).hex()}",
        pure=False,
    )


def _lost_workers(client: Any, key: str) -> int:
    """How many workers died while running the task (Dask reruns it up to its allowed-failures)."""

    def suspicious(dask_scheduler: Any, key: str = key) -> int:
        task = dask_scheduler.tasks.get(key)
        return int(task.suspicious) if task is not None else 0

    return int(client.run_on_scheduler(suspicious))


def _reason(future: Any) -> str:
    if future.status == "cancelled":
        return "cancelled by the cluster (its scheduler or workers went away)"
    exc = future.exception()
    name = type(exc).__name__
    if name == "KilledWorker":
        return f"KilledWorker: the workers running it died ({exc})"
    return f"{name}: {str(exc).strip()}" if name != "PartitionFailed" else str(exc).strip()


def _write(result: tuple[Any, int, int, str, float], partition: Partition, out_dir: Path,
           failures: tuple[str, ...]) -> PartitionOutcome:  # fmt: skip
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    table, matches, row_errors, worker, seconds = result
    path = out_dir / f"{partition.name}.parquet"
    partial = out_dir / f".{partition.name}.parquet.partial"
    pq.write_table(table, partial)
    partial.replace(path)
    rows = len(set(table.column("row").to_pylist()))
    return PartitionOutcome(partition.name, partition.source, rows, matches, row_errors, path, worker,
                            seconds, failures)  # fmt: skip


# -- on the workers -------------------------------------------------------------------------------


class ScreenerPlugin(WorkerPlugin):
    """The pickled `Screener`, unpickled and warmed once on every worker (off its event loop, so
    the worker keeps answering the scheduler while a large index loads)."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.code = code_digest()
        self.screener: Screener | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"payload": self.payload, "code": self.code, "screener": None}

    async def setup(self, worker: Any) -> None:
        import asyncio

        if code_digest() != self.code:
            # Scores depend on the code: a worker with other listwatch code would answer differently.
            raise ClusterError(
                f"the worker at {worker.address} runs other listwatch code than this client; "
                "install the same listwatch on every worker"
            )
        self.screener = await asyncio.get_running_loop().run_in_executor(None, self._load)

    def teardown(self, worker: Any) -> None:
        self.screener = None

    def _load(self) -> Screener:
        from listwatch.matching.query import MatchQuery

        screener: Screener = pickle.loads(self.payload)
        # compiles the index's names for the batch scorer and loads the name analysers
        screener.match(MatchQuery(names=("Ivan Petrov",), schema="Person"))
        return screener


def _screen_partition(
    shipped: str, partition: Partition, parameters: RunParameters
) -> tuple[Any, int, int, str, float]:
    """The task: read (if need be) and screen one partition; its results as an Arrow table."""
    started = time.process_time()
    screener = _distributed().get_worker().plugins[shipped].screener
    try:
        rows = partition.rows if partition.rows is not None else tuple(read_rows(partition.path, parameters))
        results = screener.screen_all(rows, limit=parameters.limit, only_matches=parameters.only_matches)
    except ListwatchError as exc:
        raise PartitionFailed(str(exc)) from None
    matches = sum(1 for r in results if any(h.match for h in r.hits))
    errors = sum(1 for r in results if r.error is not None)
    return (
        _table(partition.name, results),
        matches,
        errors,
        _distributed().get_worker().address,
        time.process_time() - started,
    )


def _table(partition: str, results: Sequence[RowResult]) -> Any:
    import pyarrow as pa

    columns: dict[str, list[Any]] = {name: [] for name in RESULT_COLUMNS}

    def add(result: RowResult, values: dict[str, Any]) -> None:
        base = {
            "partition": partition,
            "row": result.row_number,
            "key": result.key,
            "query": "; ".join(result.query.names) if result.query is not None else "",
            "error": result.error,
        }
        for name in RESULT_COLUMNS:
            columns[name].append(values.get(name, base.get(name)))

    for result in results:
        if not result.hits:
            add(result, {})
        for rank, hit in enumerate(result.hits, start=1):
            data = hit.to_dict()
            add(
                result,
                {
                    "rank": rank,
                    "score": float(hit.score),
                    "match": bool(hit.match),
                    "entity_id": data["id"],
                    "caption": data["caption"],
                    "schema": data["schema"],
                    "list": data["list"],
                    "state": data["state"],
                    "listed_since": data["listed_since"],
                    "programs": "; ".join(data["programs"]),
                    "explanation": hit.scored.summary(),
                },
            )
    schema = pa.schema(
        [
            (name, pa.int64() if name in ("row", "rank") else pa.float64() if name == "score"
             else pa.bool_() if name == "match" else pa.string())
            for name in RESULT_COLUMNS
        ]
    )  # fmt: skip
    return pa.table(columns, schema=schema)
