"""The store itself: migrations, SQLite settings and the database URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

import listwatch.store as store_package
from listwatch.errors import StoreError
from listwatch.settings import Settings
from listwatch.store import SCHEMA_REVISION, Store, current_revision, open_store
from listwatch.store.tables import metadata


def test_schema_revision_is_the_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(store_package.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_new_database_is_migrated_to_head(store: Store) -> None:
    assert current_revision(store) == SCHEMA_REVISION


def test_migrations_give_exactly_the_declared_tables(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_foreign_keys_are_enforced(store: Store) -> None:
    from datetime import UTC, date, datetime

    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from listwatch.store.tables import snapshots

    row = {"list_id": "no_such_list", "published": date(2021, 1, 1), "ingested_at": datetime.now(UTC),
           "sha256": "0" * 64, "format": "ofac-csv", "record_count": 0, "sources": [], "warnings": []}  # fmt: skip
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(snapshots), [row])


def test_sqlite_runs_in_wal_mode_with_foreign_keys(store: Store) -> None:
    if not store.is_sqlite:
        pytest.skip("SQLite settings")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_opening_twice_keeps_the_data(db_url: str) -> None:
    from listwatch.registry.snapshots import ingest
    from tests.conftest import CCMC_1237

    ingest(open_store(db_url), [CCMC_1237], list_id="us_dod_1237_ccmc")
    again = open_store(db_url)
    with again.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM snapshots")).scalar() == 1


def test_bad_database_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="nosuchdriver"):
        open_store("nosuchdriver://x/y")


def test_database_path_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        open_store(f"sqlite:///{blocker / 'sub' / 'db.sqlite'}")


def test_settings_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LISTWATCH_DB", "sqlite:///from-env.db")
    assert Settings.from_env().db_url == "sqlite:///from-env.db"
    assert Settings.from_env(str(tmp_path / "x.db")).db_url == f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.delenv("LISTWATCH_DB")
    assert Settings.from_env().db_url.endswith("listwatch.db")


def test_unreachable_postgresql_server_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"cannot connect to postgresql\+psycopg://nobody@127.0.0.1:1/x"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/x")


def test_postgresql_url_with_an_unknown_driver_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot use database URL 'postgresql\\+nosuchdriver"):
        open_store("postgresql+nosuchdriver://nobody@127.0.0.1:1/x")


def test_processes_opening_a_new_database_together_migrate_it_once(db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import create_engine

    with create_engine(db_url).begin() as conn:  # an empty database: no listwatch tables
        for table in ("alembic_version", *(t.name for t in reversed(metadata.sorted_tables))):
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    with ThreadPoolExecutor(4) as pool:
        opened = list(pool.map(lambda _: open_store(db_url), range(4)))
    assert [current_revision(store) for store in opened] == [SCHEMA_REVISION] * 4
    for store in opened:
        store.close()


def test_a_new_sqlite_database_another_process_is_writing_is_opened_once_it_is_free(tmp_path: Path) -> None:
    # Switching a new file to WAL needs its exclusive lock, and SQLite refuses that at once (no busy
    # handler) while another connection writes: a process starting beside a migrating one failed.
    import sqlite3
    import threading

    path = tmp_path / "listwatch.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE other_process (x)")
    threading.Timer(0.3, writer.execute, ("COMMIT",)).start()
    store = open_store(f"sqlite:///{path}")
    try:
        assert current_revision(store) == SCHEMA_REVISION
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.close()
        writer.close()
