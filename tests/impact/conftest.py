"""The bundled price files and one real store with the DoD 1237 list, for the impact tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import CCMC_1237

from listwatch.registry.snapshots import ingest
from listwatch.store import open_store

PRICES = Path(__file__).resolve().parents[2] / "examples" / "prices"
HSI = PRICES / "index" / "HSI.csv"


@pytest.fixture(scope="session")
def ccmc_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('impact') / 'listwatch.db'}"
    store = open_store(url)
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    store.close()
    return url
