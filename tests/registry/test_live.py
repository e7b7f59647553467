"""Which entities are live on a day, from the real bundled lists: Xiaomi and the 2021 SDN changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from functools import cache

import pytest

from listwatch.errors import UnknownList
from listwatch.registry.history import status_as_of
from listwatch.registry.live import LiveEntity, live_entities, live_set_key
from listwatch.registry.snapshots import ingest
from listwatch.store import Store, open_store, queries
from tests.conftest import CCMC_1237, CONS_2025_03, DOD_1260H, SDN_2019, SDN_2021

XIAOMI = "us-dod-1237-ccmc-xiaomi-corporation"


@pytest.fixture(scope="module")
def lists_store(module_db_url: str) -> Iterator[Store]:
    """Both SDN snapshots and both DoD lists, ingested once for the module (the SDN takes seconds)."""
    store = open_store(module_db_url)  # SQLite, then PostgreSQL (tests/conftest.py)
    ingest(store, [SDN_2019])
    ingest(store, [SDN_2021])
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    yield store
    store.close()


LiveOn = Callable[..., dict[str, LiveEntity]]


@pytest.fixture(scope="module")
def live_on(lists_store: Store) -> LiveOn:
    """`live_on("2021-02-01", "us_ofac_sdn")`: live entities by id, each answer read once."""

    @cache
    def answer(day: str, *lists: str) -> dict[str, LiveEntity]:
        found = live_entities(lists_store, as_of=date.fromisoformat(day), lists=list(lists) or None)
        return {e.entity_id: e for e in found}

    return answer


def test_xiaomi_is_live_when_listed_and_when_enjoined(live_on: LiveOn) -> None:
    listed = live_on("2021-02-01", "us_dod_1237_ccmc")[XIAOMI]
    assert (listed.state, listed.since, listed.list_id) == ("listed", date(2021, 1, 14), "us_dod_1237_ccmc")
    assert listed.programs and listed.caption == "Xiaomi Corporation"
    assert listed.restricted
    suspended = live_on("2021-03-13", "us_dod_1237_ccmc")[XIAOMI]
    assert suspended.state == "suspended"
    assert not suspended.restricted


def test_xiaomi_is_not_live_after_the_vacatur(lists_store: Store, live_on: LiveOn) -> None:
    assert XIAOMI not in live_on("2021-06-01", "us_dod_1237_ccmc")
    assert XIAOMI not in {e.entity_id for e in live_entities(lists_store, as_of=date(2021, 6, 1))}


def test_sdn_2021_entries_are_live_after_the_snapshot_but_not_the_delisted(
    lists_store: Store, live_on: LiveOn
) -> None:
    with lists_store.engine.connect() as conn:
        newest = queries.list_snapshots(conn, "us_ofac_sdn")[-1]
        in_2021 = set(queries.snapshot_contents(conn, newest.id))
        changes = queries.list_events_between(conn, "us_ofac_sdn", date(2021, 6, 30), date(2021, 7, 1))
    delisted = {ev.entity_id for ev in changes if ev.kind == "delisted"}
    assert len(delisted) == 261
    live = live_on("2021-08-01", "us_ofac_sdn")
    assert set(live) == in_2021
    assert not delisted & set(live)
    before = live_on("2021-06-30", "us_ofac_sdn")
    assert delisted <= set(before)


def test_entries_of_the_first_snapshot_are_not_live_before_it(live_on: LiveOn) -> None:
    # Their state is `unknown` then: the earliest snapshot does not say since when they were listed.
    assert live_on("2018-12-31", "us_ofac_sdn") == {}
    on_the_day = live_on("2019-01-01", "us_ofac_sdn")
    assert len(on_the_day) == 7379
    assert {e.since_basis for e in on_the_day.values()} == {"first_snapshot"}


def test_version_in_force_is_the_record_of_the_last_event(lists_store: Store, live_on: LiveOn) -> None:
    with lists_store.engine.connect() as conn:
        changes = queries.list_events_between(conn, "us_ofac_sdn", date(2021, 6, 30), date(2021, 7, 1))
    amended = next(ev for ev in changes if ev.kind == "amended")
    before = live_on("2021-06-30", "us_ofac_sdn")[amended.entity_id]
    after = live_on("2021-08-01", "us_ofac_sdn")[amended.entity_id]
    assert after.record_id == amended.record_id != before.record_id
    assert after.since == before.since == date(2019, 1, 1)  # an amendment does not restart a listing


@pytest.mark.parametrize("day", ["2020-06-24", "2021-02-01", "2021-03-13", "2021-05-10", "2021-06-01"])
def test_live_agrees_with_status_as_of(lists_store: Store, day: str, live_on: LiveOn) -> None:
    as_of = date.fromisoformat(day)
    live = live_on(day, "us_dod_1237_ccmc")
    with lists_store.engine.connect() as conn:
        entity_ids = [row.id for row in queries.entities_of_list(conn, "us_dod_1237_ccmc")]
    for entity_id in entity_ids:
        (standing,) = [s for s in status_as_of(lists_store, entity_id, as_of) if s.entity_id == entity_id]
        if standing.state in ("listed", "suspended"):
            assert live[entity_id].state == standing.state
            assert live[entity_id].since == standing.since
            assert live[entity_id].programs == standing.programs
        else:
            assert entity_id not in live


def test_lists_narrow_the_answer_and_unknown_lists_are_refused(lists_store: Store) -> None:
    only_dod = live_entities(lists_store, as_of=date(2021, 2, 1), lists=["us_dod_1237_ccmc"])
    assert {e.list_id for e in only_dod} == {"us_dod_1237_ccmc"}
    assert len(only_dod) == 44
    assert live_entities(lists_store, as_of=date(2021, 2, 1), lists=["us_ofac_cons"]) == []
    with pytest.raises(UnknownList):
        live_entities(lists_store, as_of=date(2021, 2, 1), lists=["us_nope"])


def test_live_set_key_changes_with_events_and_ingests_only(store: Store) -> None:
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    dod = ["us_dod_1237_ccmc"]
    feb_1 = live_set_key(store, as_of=date(2021, 2, 1), lists=dod)
    # No event between these days: the same live set, the same key.
    assert live_set_key(store, as_of=date(2021, 3, 8), lists=dod) == feb_1
    assert live_set_key(store, as_of=date(2021, 3, 13), lists=dod) != feb_1
    everything = live_set_key(store, as_of=date(2021, 2, 1))
    ingest(store, [CONS_2025_03])
    assert live_set_key(store, as_of=date(2021, 2, 1), lists=dod) == feb_1  # another list's ingest
    assert live_set_key(store, as_of=date(2021, 2, 1)) != everything
