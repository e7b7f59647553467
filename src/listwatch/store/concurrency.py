"""How several processes share one database: ingests take turns, readers notice new snapshots.

An ingest is one transaction (readers see all of a new snapshot or none of it). Two ingests at once
must also take turns, because each derives history from what the store held when it began:

- PostgreSQL: `lock_ingests` takes a transaction-level advisory lock; the second ingest waits for
  the first to commit or roll back, then reads what the first stored (READ COMMITTED, each statement
  sees the latest commit) and, for the same file, finds it already stored.
- SQLite: `lock_ingests` starts the transaction with BEGIN IMMEDIATE, taking the write lock before
  the first read. A second ingest waits for it as on PostgreSQL, however long the first takes (a
  million-entity list writes for minutes): BEGIN IMMEDIATE gives up after the busy timeout (see
  store.open_store) and is tried again. Other writers (reviews, runs) wait up to the busy timeout
  only, then fail with `DatabaseBusy` and change nothing (the CLI says so in one line, the API
  answers 503); the API's audit log waits (`retry_while_locked`).

Readers that keep something built from the store (the API's match index) call `latest_snapshot_id`,
one indexed lookup, to see whether a new snapshot has been committed since they built it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, func, select

from listwatch.errors import DatabaseBusy
from listwatch.store.tables import snapshots

__all__ = ["INGEST_LOCK", "latest_snapshot_id", "lock_ingests", "retry_while_locked"]

T = TypeVar("T")

#: The advisory lock key ingests share on PostgreSQL (a 64-bit number: "listwatch" as ASCII).
INGEST_LOCK = 0x6C69737477617463


def lock_ingests(conn: Connection, *, on_wait: Callable[[], None] | None = None) -> None:
    """Wait until no other ingest is writing, then hold that turn until this transaction ends.

    Call it first in the transaction (`with store.engine.begin() as conn: lock_ingests(conn)`): on
    SQLite it begins the transaction itself, which must not have run a statement yet. `on_wait` is
    called once if SQLite's busy timeout passes and the ingest goes on waiting.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(INGEST_LOCK)))
    elif conn.dialect.name == "sqlite":
        # pysqlite begins a transaction only before the first INSERT/UPDATE/DELETE, so the reads
        # before it would see the store as it was before another writer's commit.
        retry_while_locked(lambda: conn.exec_driver_sql("BEGIN IMMEDIATE"), on_wait=on_wait)


def retry_while_locked(attempt: Callable[[], T], *, on_wait: Callable[[], None] | None = None) -> T:
    """`attempt()`, tried again for as long as it raises `DatabaseBusy` (SQLite: each try waits up
    to the busy timeout); any other error is raised. `on_wait` is called once, when
    the first try gives up. For writes that must not be lost or refused: an ingest's turn, the
    audit log."""
    for tries in itertools.count():
        try:
            return attempt()
        except DatabaseBusy:
            pass
        if tries == 0 and on_wait is not None:
            on_wait()
    raise AssertionError("unreachable")  # itertools.count() does not end


_LATEST = select(func.max(snapshots.c.id))


def latest_snapshot_id(conn: Connection) -> int | None:
    """The id of the newest snapshot (None for an empty store).

    Snapshot ids are given out under the ingest lock, so they grow in commit order: a reader that
    saw id N and now sees a larger one knows a snapshot has been stored since.
    """
    value = conn.execute(_LATEST).scalar()
    return None if value is None else int(value)
