"""One real store for the rules tests: the bundled SDN, NS-CMIC, DoD 1237 and 1260H lists, ingested once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from listwatch.registry.snapshots import ingest
from listwatch.store import Store, open_store
from tests.conftest import CCMC_1237, CONS_2025_04, DOD_1260H, SDN_2021


@pytest.fixture(scope="session")
def rules_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("rules") / "listwatch.db"
    url = f"sqlite:///{path}"
    store = open_store(url)
    ingest(store, [SDN_2021])
    ingest(store, [CONS_2025_04])
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    store.close()
    return url


@pytest.fixture
def rules_store(rules_db_url: str) -> Iterator[Store]:
    store = open_store(rules_db_url)
    yield store
    store.close()


@pytest.fixture
def ownership_file(tmp_path: Path) -> Path:
    """Two real SDN entities (by name and by entity id) owning an unlisted company, 30% + 25%."""
    path = tmp_path / "ownership.csv"
    path.write_text(
        "owner,owned,percent,note\n"
        "ROSNEFT TRADING S.A.,Example Shipping Holdings Ltd,30,\n"
        "us-ofac-sdn-28603,Example Shipping Holdings Ltd,25%,TNK Trading International\n"
        "Example Shipping Holdings Ltd,Example Shipping Agency Ltd,50,\n"
        "ROSNEFT TRADING S.A.,Example Tankers Ltd,30,\n"
        "Example Tankers Ltd,Example Tankers Shipping Ltd,70,\n",
        encoding="utf-8",
    )
    return path
