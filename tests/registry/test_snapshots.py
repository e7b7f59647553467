"""Ingest: snapshots, idempotence, atomicity and the diffs that become history."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from listwatch.errors import InvalidQuery, ListwatchError, UnknownList
from listwatch.registry.overview import list_diff, stored_lists
from listwatch.registry.snapshots import ingest
from listwatch.store import Store
from listwatch.store.tables import events
from tests.conftest import CCMC_1237, DOD_1260H, SDN_2019, SDN_2021
from tests.support import store_state


@pytest.fixture(scope="module")
def sdn_store(module_db_url: str) -> Store:
    from listwatch.store import open_store

    store = open_store(module_db_url)  # SQLite, then PostgreSQL (tests/conftest.py)
    ingest(store, [SDN_2019])
    ingest(store, [SDN_2021])
    return store


def test_sdn_2019_to_2021_diff_lists_1858_and_delists_261(sdn_store: Store) -> None:
    result = list_diff(sdn_store, "us_ofac_sdn", None, None)
    assert len(result.listed) == 1858
    assert len(result.delisted) == 261
    assert result.amended  # real amendments exist between the two years
    assert len(result.listed) + len(result.amended) + result.unchanged == 8976


def test_amendments_carry_field_level_before_and_after(sdn_store: Store) -> None:
    result = list_diff(sdn_store, "us_ofac_sdn", "2019-01-31", "2021-07-31")
    changed = [row for row in result.amended if row.changes]
    assert len(changed) == len(result.amended)
    some = changed[0].changes
    assert some is not None
    first = next(iter(some.values()))
    assert {"before", "after"} <= set(first) or {"added", "removed"} <= set(first)


def test_diff_events_are_dated_by_the_snapshot(sdn_store: Store) -> None:
    with sdn_store.engine.connect() as conn:
        kinds = dict(
            conn.execute(
                select(events.c.kind, func.count())
                .where(events.c.date_basis == "snapshot")
                .group_by(events.c.kind)
            ).all()
        )
    assert kinds["listed"] == 1858
    assert kinds["delisted"] == 261


def test_lists_shows_both_snapshots_with_their_metadata(sdn_store: Store) -> None:
    (sdn,) = [item for item in stored_lists(sdn_store) if item.list_id == "us_ofac_sdn"]
    assert [s["published"] for s in sdn.snapshots] == ["2019-01-01", "2021-07-01"]
    assert [s["records"] for s in sdn.snapshots] == [7379, 8976]
    assert all(len(s["sha256"]) == 64 and s["format"] == "ofac-csv" for s in sdn.snapshots)


def test_same_files_twice_create_nothing(store: Store) -> None:
    first = ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    before = store_state(store)
    again = ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    assert first.created and not again.created
    assert again.snapshot_id == first.snapshot_id
    assert store_state(store) == before


def test_same_content_under_another_path_is_still_the_same_snapshot(store: Store, tmp_path: Path) -> None:
    copy = tmp_path / "copy" / "designations.csv"
    copy.parent.mkdir()
    shutil.copy(CCMC_1237, copy)
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    assert not ingest(store, [copy], list_id="us_dod_1237_ccmc").created


def test_out_of_order_ingest_gives_the_same_history(store: Store, tmp_path: Path) -> None:
    from listwatch.store import open_store

    ingest(store, [SDN_2021])
    ingest(store, [SDN_2019])
    other = open_store(f"sqlite:///{tmp_path / 'in-order.db'}")
    ingest(other, [SDN_2019])
    ingest(other, [SDN_2021])

    def summary(s: Store) -> list[tuple[str, str, str]]:
        with s.engine.connect() as conn:
            rows = conn.execute(select(events.c.entity_id, events.c.kind, events.c.effective_on))
            return sorted((e, k, d.isoformat()) for e, k, d in rows)

    assert summary(store) == summary(other)


def test_published_option_wins_over_the_path(store: Store) -> None:
    result = ingest(store, [SDN_2019], published=date(2019, 1, 15))
    assert result.published == date(2019, 1, 15)
    assert result.published_from == "option"


def test_published_date_falls_back_to_the_path_and_says_so(store: Store) -> None:
    result = ingest(store, [SDN_2019])
    assert (result.published, result.published_from) == (date(2019, 1, 1), "path")


def test_file_without_a_date_needs_published(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "plain"
    shutil.copytree(SDN_2019, target)
    before = store_state(store)
    with pytest.raises(InvalidQuery, match="--published"):
        ingest(store, [target])
    assert store_state(store) == before


def test_unknown_list_is_refused_before_anything_is_written(store: Store) -> None:
    before = store_state(store)
    with pytest.raises(UnknownList, match="us_ofac_sdn"):
        ingest(store, [CCMC_1237], list_id="no_such_list")
    assert store_state(store) == before


def test_list_option_must_agree_with_the_content(store: Store) -> None:
    with pytest.raises(InvalidQuery, match="us_ofac_sdn"):
        ingest(store, [SDN_2019], list_id="us_ofac_cons")


def test_dated_list_events_come_from_the_file(store: Store) -> None:
    result = ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    assert result.events["listed"] == 44
    assert result.events["enjoined"] == 2
    assert result.events["vacated"] == 1


def test_listing_periods_become_listed_and_delisted_events(store: Store) -> None:
    result = ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    assert result.events["listed"] > 100
    assert result.events["delisted"] > 0


def test_failure_midway_leaves_the_store_unchanged(store: Store, tmp_path: Path) -> None:
    ingest(store, [SDN_2019])
    before = store_state(store)
    bad = tmp_path / "2021-07"
    shutil.copytree(SDN_2021, bad)
    text = (bad / "sdn.csv").read_bytes()
    (bad / "sdn.csv").write_bytes(text[: len(text) // 2])  # cut mid-file
    with pytest.raises(ListwatchError, match="sdn.csv"):
        ingest(store, [bad])
    assert store_state(store) == before


def test_diff_summarises_changes_by_program(sdn_store: Store) -> None:
    programs = list_diff(sdn_store, "us_ofac_sdn", None, None).by_program()
    assert programs["SDNTK"] == {"listed": 116, "delisted": 140, "amended": 16}
    assert sum(p["delisted"] for p in programs.values()) >= 261  # an entry may carry several programs
    assert next(iter(programs)) == "SDGT"  # busiest first


def test_stored_bytes_are_recognised_before_parsing(store: Store) -> None:
    first = ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    # Without --list this file could not be parsed into a list; recognising it needs no parse.
    again = ingest(store, [DOD_1260H])
    assert (again.created, again.snapshot_id, again.published_from) == (False, first.snapshot_id, "stored")


def test_stored_bytes_with_another_format_are_still_checked(store: Store) -> None:
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    with pytest.raises(ListwatchError):
        ingest(store, [CCMC_1237], format_name="periods-csv", list_id="us_dod_1237_ccmc")
