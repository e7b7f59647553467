"""History and as-of answers from real lists: the Xiaomi and China Mobile questions."""

from __future__ import annotations

from datetime import date

import pytest

from listwatch.errors import InvalidQuery, UnknownEntity
from listwatch.registry.history import entity_history, status_as_of
from listwatch.registry.snapshots import ingest
from listwatch.store import Store
from tests.conftest import CCMC_1237, CONS_2025_03, CONS_2025_04, DOD_1260H, SDN_2019, SDN_2021


@pytest.fixture
def dod_store(store: Store) -> Store:
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    return store


def _events(store: Store, query: str, list_id: str) -> list[tuple[str, str]]:
    (found,) = [h for h in entity_history(store, query) if h.list_id == list_id]
    return [(e.kind, e.effective_on.isoformat()) for e in found.events]


def test_xiaomi_history_shows_listing_injunction_and_vacatur(dod_store: Store) -> None:
    assert _events(dod_store, "Xiaomi", "us_dod_1237_ccmc") == [
        ("listed", "2021-01-14"),
        ("enjoined", "2021-03-12"),
        ("vacated", "2021-05-25"),
    ]


def test_every_history_event_names_its_source(dod_store: Store) -> None:
    (xiaomi,) = entity_history(dod_store, "Xiaomi Corporation")
    assert all(e.source for e in xiaomi.events)
    assert "21-cv-280" in xiaomi.events[1].source


@pytest.mark.parametrize(
    ("day", "state"),
    [
        ("2021-01-13", "not_listed"),
        ("2021-02-01", "listed"),
        ("2021-03-13", "suspended"),
        ("2021-06-01", "not_listed"),
    ],
)
def test_xiaomi_status_follows_the_court(dod_store: Store, day: str, state: str) -> None:
    (standing,) = status_as_of(dod_store, "xiaomi corporation", date.fromisoformat(day))
    assert standing.state == state
    if state in ("listed", "suspended"):
        assert standing.since == date(2021, 1, 14)
        assert standing.programs
    if state == "suspended":
        assert standing.court_order is not None
        assert standing.court_order.effective_on == date(2021, 3, 12)


def test_status_after_vacatur_says_why(dod_store: Store) -> None:
    (standing,) = status_as_of(dod_store, "Xiaomi", date(2021, 6, 1))
    assert "vacated" in standing.explanation
    assert not standing.restricted


def test_query_by_alias_in_another_script(dod_store: Store) -> None:
    assert _events(dod_store, "小米集团", "us_dod_1237_ccmc")[0] == ("listed", "2021-01-14")


def test_query_by_isin_and_by_ticker_with_exchange(dod_store: Store) -> None:
    by_isin = entity_history(dod_store, "isin:KYG9830T1067")
    by_ticker = entity_history(dod_store, "ticker:1810.HK")
    assert [h.entity_id for h in by_isin] == [h.entity_id for h in by_ticker]
    assert by_isin[0].caption == "Xiaomi Corporation"


def test_query_by_entity_id(dod_store: Store) -> None:
    (first,) = entity_history(dod_store, "Xiaomi")
    (again,) = entity_history(dod_store, first.entity_id)
    assert again.entity_id == first.entity_id


def test_name_query_ignores_case_accents_and_punctuation(dod_store: Store) -> None:
    assert entity_history(dod_store, "  XIAOMÍ   corporation. ")[0].caption == "Xiaomi Corporation"


def test_unknown_name_suggests_close_names(dod_store: Store) -> None:
    with pytest.raises(UnknownEntity) as caught:
        entity_history(dod_store, "xiaom")
    assert "Xiaomi Corporation" in str(caught.value)


def test_empty_query_is_refused(dod_store: Store) -> None:
    with pytest.raises(InvalidQuery):
        status_as_of(dod_store, "   ", date(2021, 1, 1))


def test_china_mobile_limited_on_1260h_and_ns_cmic(dod_store: Store) -> None:
    ingest(dod_store, [CONS_2025_03])
    ingest(dod_store, [CONS_2025_04])
    found = {h.list_id: h for h in entity_history(dod_store, "China Mobile Limited")}
    assert set(found) == {"us_dod_1260h", "us_ofac_cons"}
    assert found["us_dod_1260h"].events[0].kind == "listed"
    assert found["us_dod_1260h"].events[0].effective_on == date(2021, 6, 3)
    cmic = found["us_ofac_cons"]
    assert cmic.events[0].kind == "listed"
    assert cmic.events[0].effective_on == date(2021, 6, 3)  # the record's own CMIC listing date
    assert cmic.events[0].date_basis == "record"
    isins = {i["value"] for i in cmic.record["identifiers"] if i["scheme"] == "isin"}
    assert "HK0941009539" in isins


def test_isin_query_brings_in_same_named_entries_of_other_lists(dod_store: Store) -> None:
    ingest(dod_store, [CONS_2025_04])
    lists = {h.list_id for h in entity_history(dod_store, "isin:HK0941009539")}
    assert lists == {"us_dod_1260h", "us_ofac_cons"}


def test_hk_ticker_matches_without_leading_zero(dod_store: Store) -> None:
    ingest(dod_store, [CONS_2025_04])
    found = entity_history(dod_store, "ticker:0941.HK")
    assert "us_ofac_cons" in {h.list_id for h in found}


def test_status_before_first_snapshot_is_unknown_not_unlisted(store: Store) -> None:
    ingest(store, [SDN_2019])
    ingest(store, [SDN_2021])
    (standing,) = status_as_of(store, "AEROCARIBBEAN AIRLINES", date(2010, 1, 1))
    assert standing.state == "unknown"
    (standing,) = status_as_of(store, "AEROCARIBBEAN AIRLINES", date(2021, 8, 1))
    assert standing.state == "listed"
    assert standing.since_basis == "first_snapshot"
