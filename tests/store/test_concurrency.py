"""Several processes on one store: ingests take turns, readers never see half a snapshot, and an
ingest killed mid-way leaves the store as it was. Each test runs on SQLite and on PostgreSQL, with
`listwatch ingest` in real subprocesses (in a thread where the test shortens SQLite's busy timeout)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

import listwatch.store as store_module
from listwatch.errors import StoreError
from listwatch.registry.snapshots import IngestResult, ingest
from listwatch.store import Store, open_store
from listwatch.store.concurrency import INGEST_LOCK, latest_snapshot_id, lock_ingests
from listwatch.store.tables import events, snapshot_records, snapshots
from tests.conftest import CCMC_1237, DPL_2019_06, DPL_2022_09, SDN_2021
from tests.support import store_state

LISTWATCH = str(Path(sys.executable).parent / "listwatch")
TIMEOUT_S = 120


def start_ingest(db_url: str, path: Path, *args: str) -> subprocess.Popen[str]:
    command = [LISTWATCH, "--db", db_url, "ingest", str(path), "--json", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def ingest_lock_taken(store: Store) -> bool:
    """Whether some transaction holds the ingest lock now (probed without waiting)."""
    if store.is_sqlite:
        probe = sqlite3.connect(store.engine.url.database or "", timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
            return True
        finally:
            probe.close()
    with store.engine.connect() as conn:
        got = conn.execute(select(func.pg_try_advisory_xact_lock(INGEST_LOCK))).scalar()
        conn.rollback()
    return not got


def waiting_for_ingest_lock(store: Store) -> int:
    """PostgreSQL: how many sessions wait for the ingest lock."""
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


@contextmanager
def ingest_lock_held(store: Store) -> Iterator[None]:
    """Hold the ingest lock, as an ingest in progress would, until the block ends."""
    with store.engine.begin() as conn:
        lock_ingests(conn)
        yield


def wait_until_blocked(store: Store, processes: int) -> None:
    if store.is_sqlite:  # SQLite does not show who waits: give them time to start and parse
        time.sleep(4)
    else:
        wait_for(lambda: waiting_for_ingest_lock(store) == processes, f"{processes} waiting ingests")


def history(store: Store) -> list[tuple[object, ...]]:
    columns = (events.c.entity_id, events.c.kind, events.c.effective_on, events.c.date_basis)
    with store.engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(select(*columns)))


def test_the_same_file_ingested_twice_at_once_is_stored_once(store: Store, db_url: str) -> None:
    with ingest_lock_held(store):
        first, second = start_ingest(db_url, DPL_2022_09), start_ingest(db_url, DPL_2022_09)
        wait_until_blocked(store, 2)
    results = [finish(first), finish(second)]
    assert sorted(result["created"] for result in results) == [False, True]
    assert {result["snapshot"] for result in results} == {1}
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(snapshots)).scalar() == 1


def test_two_versions_ingested_at_once_give_the_sequential_history(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    with ingest_lock_held(store):
        older, newer = start_ingest(db_url, DPL_2019_06), start_ingest(db_url, DPL_2022_09)
        wait_until_blocked(store, 2)
    assert finish(older)["created"] and finish(newer)["created"]
    sequential = open_store(f"sqlite:///{tmp_path / 'sequential.db'}")
    ingest(sequential, [DPL_2019_06])
    ingest(sequential, [DPL_2022_09])
    assert history(store) == history(sequential)
    assert len({kind for _, kind, _, _ in history(store)}) > 1  # listings and delistings, not only one


def test_a_second_writer_waits_for_the_first(store: Store, db_url: str) -> None:
    with ingest_lock_held(store):
        waiting = start_ingest(db_url, CCMC_1237, "--list", "us_dod_1237_ccmc")
        wait_until_blocked(store, 1)
        assert waiting.poll() is None  # still waiting for the lock
        with store.engine.connect() as conn:
            assert latest_snapshot_id(conn) is None
    assert finish(waiting)["created"]
    with store.engine.connect() as conn:
        assert latest_snapshot_id(conn) == 1


def test_a_second_ingest_waits_longer_than_the_busy_timeout(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long first ingest (a million-entity list writes for minutes) makes the second wait, as on
    PostgreSQL, instead of failing when SQLite's busy timeout passes."""
    monkeypatch.setattr(store_module, "_BUSY_TIMEOUT_S", 0.2)  # for the waiting store opened below
    waiting_store = open_store(db_url)
    said: list[str] = []
    outcome: dict[str, object] = {}

    def second_ingest() -> None:
        try:
            outcome["result"] = ingest(
                waiting_store, [CCMC_1237], list_id="us_dod_1237_ccmc", progress=said.append
            )
        except StoreError as exc:  # what a wait that gives up raises: reported below
            outcome["error"] = exc

    waiting = "waiting for another ingest to finish"
    with ingest_lock_held(store):
        thread = threading.Thread(target=second_ingest)
        thread.start()
        if store.is_sqlite:  # past the first busy timeout, and then several more
            wait_for(lambda: waiting in said or not thread.is_alive(), "the ingest to wait")
            time.sleep(1.0)
        else:
            wait_for(lambda: waiting_for_ingest_lock(store) == 1, "the ingest to wait")
        assert thread.is_alive(), outcome.get("error")  # still waiting, not failed
    thread.join(TIMEOUT_S)
    waiting_store.close()
    assert "error" not in outcome, outcome["error"]
    result = outcome["result"]
    assert isinstance(result, IngestResult) and result.created
    if store.is_sqlite:
        assert said.count(waiting) == 1  # said once, however many busy timeouts passed
    with store.engine.connect() as conn:
        assert latest_snapshot_id(conn) == 1


def test_the_ingest_lock_does_not_retry_other_errors(store: Store) -> None:
    if not store.is_sqlite:
        pytest.skip("SQLite's BEGIN IMMEDIATE only")
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))  # pysqlite has begun a transaction
        with pytest.raises(OperationalError, match="within a transaction"):
            lock_ingests(conn, on_wait=lambda: pytest.fail("waited on an error that is not a lock"))


def _snapshot_consistency(store: Store) -> list[tuple[int, int, int]]:
    """(snapshot id, records it says it has, records linked to it), read in one statement."""
    linked = (
        select(func.count())
        .select_from(snapshot_records)
        .where(snapshot_records.c.snapshot_id == snapshots.c.id)
        .scalar_subquery()
    )
    with store.engine.connect() as conn:
        rows = conn.execute(select(snapshots.c.id, snapshots.c.record_count, linked).order_by(snapshots.c.id))
        return [(int(a), int(b), int(c)) for a, b, c in rows]


def test_readers_never_see_half_a_snapshot(store: Store, db_url: str) -> None:
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    before = _snapshot_consistency(store)
    process = start_ingest(db_url, SDN_2021)
    seen_during = 0
    while process.poll() is None:
        during_write = ingest_lock_taken(store)
        seen = _snapshot_consistency(store)
        assert all(count == linked for _, count, linked in seen), seen
        if during_write and process.poll() is None:
            assert seen in (before, before + [(2, 8976, 8976)])
            seen_during += 1
        time.sleep(0.05)
    finish(process)
    assert seen_during > 0  # some reads happened while the ingest was writing
    assert _snapshot_consistency(store) == before + [(2, 8976, 8976)]
    with store.engine.connect() as conn:
        assert latest_snapshot_id(conn) == 2


def test_an_ingest_killed_midway_leaves_the_store_unchanged_and_usable(store: Store, db_url: str) -> None:
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    before = store_state(store)
    process = start_ingest(db_url, SDN_2021)
    wait_for(lambda: ingest_lock_taken(store) or process.poll() is not None, "the ingest to start writing")
    time.sleep(0.5)  # well into the writes: storing the 8,976 records takes seconds
    assert process.poll() is None, "the ingest finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=TIMEOUT_S)
    assert process.returncode == -signal.SIGKILL

    assert store_state(open_store(db_url)) == before
    wait_for(lambda: not ingest_lock_taken(store), "the killed ingest's lock to be released")
    result = ingest(store, [SDN_2021])
    assert result.created and result.record_count == 8976
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(snapshots)).scalar() == 2
