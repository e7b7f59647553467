"""The store: one SQLAlchemy engine over SQLite (the embedded default) or PostgreSQL.

`open_store(url)` connects and brings the schema to the current Alembic revision. Only this package
writes SQL; everything above it calls the functions in `store.queries`.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, ExceptionContext, create_engine, event, text
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from listwatch.errors import DatabaseBusy, StoreError

__all__ = ["SCHEMA_REVISION", "Store", "open_store"]

#: The Alembic head this code expects; a test checks it against the migration scripts.
SCHEMA_REVISION = "0004"

_MIGRATIONS = Path(__file__).parent / "migrations"
_BUSY_TIMEOUT_S = 30  # how long a writer waits for another's lock (and the WAL switch for its turn)


@dataclass(frozen=True)
class Store:
    engine: Engine

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # The busy timeout comes first: it serialises two writers, and the pragmas below may wait too.
    cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_S * 1000}")
    _use_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A larger page cache (32 MiB, default 2 MiB): an ingest writes into several indexes at once.
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _locked_as_busy(context: ExceptionContext) -> None:
    """SQLite's "database is locked" becomes `DatabaseBusy`, which the CLI, the API and the
    writers that wait (`concurrency.retry_while_locked`) all know."""
    original = context.original_exception
    if isinstance(original, sqlite3.OperationalError) and "database is locked" in str(original):
        raise DatabaseBusy() from context.sqlalchemy_exception


def _use_wal(cursor: Any) -> None:
    """Put the database in WAL mode (persistent), so readers work while an ingest writes.

    Switching a new database to WAL needs its exclusive lock, and SQLite answers "database is locked"
    at once, without the busy handler, while another connection (a process migrating the same new
    database) holds a lock; so the switch is retried for as long as the busy timeout.
    """
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Connect to the database at `url` (a SQLAlchemy URL), creating and migrating it as needed."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {path}: {exc.strerror}") from None
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "handle_error", _locked_as_busy)
    store = Store(engine)
    if migrate:
        _upgrade(store)
    return store


def current_revision(store: Store) -> str | None:
    try:
        conn = store.engine.connect()
    except SQLAlchemyError as exc:  # no server, wrong credentials, no such database
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"cannot connect to {store.url}: {reason}") from None
    try:
        with conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):  # no alembic_version table yet: a new database
        return None
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot open {store.url}: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}"
        ) from None


def _upgrade(store: Store) -> None:
    # Checking the revision with one query keeps Alembic (slow to import) off the common path.
    if current_revision(store) == SCHEMA_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    from listwatch.store.concurrency import lock_ingests

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    try:
        with store.engine.begin() as conn:
            lock_ingests(conn)  # processes starting together on a new database migrate it once
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate {store.url}: {exc}") from None
