"""Fixtures shared by the API tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from listwatch.store import open_store
from tests.api.support import load_lists, make_keys


@pytest.fixture(scope="module")
def lists_db(
    tmp_path_factory: pytest.TempPathFactory, module_db_url: str
) -> tuple[str, dict[str, str], Path]:
    """The bundled lists loaded into the module's database (SQLite, then PostgreSQL: tests/conftest.py),
    the API keys by role, and a scratch folder."""
    tmp = tmp_path_factory.mktemp("api-lists")
    store = open_store(module_db_url)
    load_lists(store)
    keys = make_keys(store)
    store.close()
    return module_db_url, keys, tmp
