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
UN_2018_10 = EXAMPLES / "un_sc" / "UN_consolidated_2018-10.xml"
OFSI_2020_03 = EXAMPLES / "uk_ofsi" / "ConList_excerpt_2020-03.csv"
CSL_2019 = EXAMPLES / "us_csl" / "csl_excerpt_2019.csv"
CSL_2025 = EXAMPLES / "us_csl" / "consolidated_excerpt_2025.csv"
DPL_2019_06 = EXAMPLES / "bis_dpl" / "dpl_2019-06.txt"
DPL_2022_09 = EXAMPLES / "bis_dpl" / "dpl_2022-09.txt"
FTM_EU_SAMPLE = EXAMPLES / "opensanctions" / "eu_fsf_sample.ftm.json"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'listwatch.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = open_store(db_url)
    yield store
    store.close()
