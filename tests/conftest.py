"""Shared fixtures: the bundled real list files and a real SQLite store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from listwatch.store import Store, open_store

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "lists"
SDN_2019 = EXAMPLES / "ofac_sdn_csv" / "2019-01"
SDN_2021 = EXAMPLES / "ofac_sdn_csv" / "2021-07"
CONS_2025_03 = EXAMPLES / "ofac_cons_csv" / "2025-03"
CONS_2025_04 = EXAMPLES / "ofac_cons_csv" / "2025-04"
CCMC_1237 = EXAMPLES / "us_dod_1237_ccmc" / "designations.csv"
DOD_1260H = EXAMPLES / "us_dod_1260h" / "sanctions.csv"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'listwatch.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = open_store(db_url)
    yield store
    store.close()
