"""The store itself: migrations, SQLite settings and the database URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

import listwatch.store as store_package
from listwatch.errors import StoreError
from listwatch.settings import Settings
from listwatch.store import SCHEMA_REVISION, Store, current_revision, open_store


def test_schema_revision_is_the_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(store_package.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION


def test_new_database_is_migrated_to_head(store: Store) -> None:
    assert current_revision(store) == SCHEMA_REVISION


def test_sqlite_runs_in_wal_mode_with_foreign_keys(store: Store) -> None:
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
