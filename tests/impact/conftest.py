"""The bundled price files, one real store with the DoD 1237 list, and a small study (Xiaomi's
listing and injunction, China Mobile's listing), for the impact tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tests.conftest import CCMC_1237

from listwatch.impact.options import StudyOptions
from listwatch.impact.panel import StudyEvent
from listwatch.impact.prices import load_prices, read_price_file
from listwatch.impact.study import StudyResult, run_study
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


def small_study() -> StudyResult:
    """Three events: fewer than `loops.SMALL_STUDY`, so the loops run as Python unless numba's
    kernels are loaded in the process already."""
    events = [
        StudyEvent("1810.HK", date(2021, 1, 15), "listed"),
        StudyEvent("1810.HK", date(2021, 3, 15), "enjoined"),
        StudyEvent("0941.HK", date(2021, 1, 14), "listed"),
    ]
    return run_study(
        events,
        load_prices([PRICES / "hk"]),
        markets={None: read_price_file(HSI)[0]},
        options=StudyOptions(after_close=True),
    )
