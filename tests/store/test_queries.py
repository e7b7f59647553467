"""Queries that batch their keys: one statement per chunk, with the same answers as one per key."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from listwatch.registry.replay import ENDING_KINDS
from listwatch.registry.snapshots import ingest
from listwatch.store import Store, queries
from listwatch.store.tables import names, records
from tests.conftest import CCMC_1237, SDN_2019, SDN_2021

CCMC = "us_dod_1237_ccmc"


def _two_records(store: Store) -> list[tuple[int, str]]:
    ingest(store, [CCMC_1237], list_id=CCMC)
    with store.engine.connect() as conn:
        rows = conn.execute(select(records.c.id, records.c.entity_id).order_by(records.c.id)).all()
    first = rows[0]
    second = next(r for r in rows if r.entity_id != first.entity_id)
    return [(first.id, first.entity_id), (second.id, second.entity_id)]


def _link(record_id: int, target_key: str) -> tuple[object, ...]:
    return (record_id, "parent", target_key, target_key)


def test_like_wildcards_in_a_link_key_match_only_themselves(store: Store) -> None:
    (wild_record, wild), (plain_record, plain) = _two_records(store)
    with store.engine.begin() as conn:
        queries.insert_values(
            conn,
            "links",
            ("record_id", "relation", "target_name", "target_key"),
            [
                _link(wild_record, "a_c 50% group ltd"),
                _link(plain_record, "abc 50x group ltd"),  # what an unescaped "a_c 50% group %" would find
                _link(plain_record, "a\\c holding"),
            ],
        )
    with store.engine.connect() as conn:
        assert queries.entity_ids_linking_to(conn, ["a_c 50% group"]) == [wild]
        assert queries.entity_ids_linking_to(conn, ["a_c 50% group ltd"]) == [wild]
        assert queries.entity_ids_linking_to(conn, ["abc 50x group"]) == [plain]
        assert queries.entity_ids_linking_to(conn, ["a\\c"]) == [plain]
        assert queries.entity_ids_linking_to(conn, ["a_", "ab", "a%", "%", "_"]) == []
        assert queries.entity_ids_linking_to(conn, []) == []


def test_many_keys_are_answered_as_one_key_at_a_time(store: Store) -> None:
    _two_records(store)
    with store.engine.connect() as conn:
        all_keys = sorted(set(conn.execute(select(names.c.key)).scalars()))
        assert len(all_keys) > 10
        batched = queries.entity_ids_by_names(conn, [*all_keys, "no such name at all"])
        one_by_one = {k: set(queries.entity_ids_by_name(conn, k)) for k in all_keys}
        assert batched == one_by_one
        assert queries.entity_ids_by_names(conn, []) == {}


def test_events_between_of_many_lists_are_those_of_each_list(store: Store) -> None:
    ingest(store, [CCMC_1237], list_id=CCMC)
    ingest(store, [SDN_2019])
    ingest(store, [SDN_2021])
    after, until = date(2019, 1, 1), date(2021, 12, 31)
    with store.engine.connect() as conn:
        list_ids = [row.id for row in queries.all_lists(conn)]
        each = sorted(
            ev.id
            for list_id in list_ids
            for ev in queries.list_events_between(conn, list_id, after, until)
            if ev.kind in ENDING_KINDS
        )
        together = queries.events_between(conn, after=after, until=until, kinds=ENDING_KINDS)
        assert sorted(ev.id for ev in together) == each and len(each) > 1
        assert {ev.kind for ev in together} == set(ENDING_KINDS)  # delistings and a vacatur
        only_ccmc = queries.events_between(
            conn, after=after, until=until, list_ids=[CCMC], kinds=ENDING_KINDS
        )
        assert {ev.list_id for ev in only_ccmc} == {CCMC}
        assert queries.events_between(conn, after=after, until=until, list_ids=[]) == []
