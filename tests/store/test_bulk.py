"""Bulk inserts (store.bulk): the same rows, ids and bytes as SQLAlchemy's own `insert`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import JSON, insert, select, text

from listwatch.errors import StoreError
from listwatch.sources import detect_format
from listwatch.sources.text import expand_paths
from listwatch.store import Store, queries
from listwatch.store.bulk import _dumps, json_encoder
from listwatch.store.tables import entities, events, lists, records, snapshots
from tests.conftest import SDN_2021, UN_2018_10

AWKWARD: list[Any] = [
    None, "", "tab\there", "new\nline", "back\\slash", 'quote "x"', "小米集团", "\u2028\x00\x1f\x7f", "é",
    0, -1, 2.5, 1e300, float("inf"), True, False, [], {}, [1, [2, {"b": None, "a": "x"}]],
    {"z": 1, "a": {"é": ["ü", None]}, "": ""}, ("a", "b"),
]  # fmt: skip


def _real_values() -> list[Any]:
    """Every record of two real files in its stored form, and every part of them."""
    found: list[Any] = []
    for path in (SDN_2021, UN_2018_10):
        files = expand_paths([path])
        for record in detect_format(files).parse(files).records:
            data = record.to_dict()
            found.append(data)
            for value in data.values():
                if isinstance(value, (list, tuple)):
                    found.extend(value)
    return found


@pytest.mark.parametrize("sort_keys", [False, True])
@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_json_encoder_writes_what_the_json_module_writes(sort_keys: bool, ensure_ascii: bool) -> None:
    encode = json_encoder(sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    for value in AWKWARD + _real_values():
        assert encode(value) == json.dumps(value, sort_keys=sort_keys, ensure_ascii=ensure_ascii)


def test_json_encoder_refuses_what_the_json_module_refuses() -> None:
    encode = json_encoder(sort_keys=True, ensure_ascii=False)
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode({"when": date(2021, 7, 1)})
    with pytest.raises(TypeError):
        encode({1: "x", "a": "y"})  # mixed keys cannot be sorted, as with json.dumps(sort_keys=True)


def test_the_json_column_on_sqlite_stores_what_sqlalchemy_would(store: Store) -> None:
    if not store.is_sqlite:
        pytest.skip("the fast JSON path is SQLite's")
    processor = JSON().bind_processor(store.engine.dialect)
    assert processor is not None
    for value in AWKWARD:
        assert _dumps(value) == processor(value)


def _seed(conn: Any) -> None:
    conn.execute(insert(lists), [{"id": "l", "title": "t", "authority": "a", "country": "us", "url": "u"}])
    conn.execute(
        insert(snapshots),
        [{"list_id": "l", "published": date(2021, 7, 1), "ingested_at": datetime(2021, 7, 2, tzinfo=UTC),
          "sha256": "0" * 64, "format": "ofac-csv", "record_count": 2, "sources": [], "warnings": []}],
    )  # fmt: skip
    conn.execute(insert(entities), [
        {"id": f"e{i}", "list_id": "l", "source_key": str(i), "schema": "Company", "caption": "E"} for i in range(3)
    ])  # fmt: skip


def test_insert_records_returns_the_ids_in_row_order_and_stores_what_insert_stores(store: Store) -> None:
    # PostgreSQL's JSON holds neither NUL characters nor Infinity
    data = [{"k": value} for value in AWKWARD if value != float("inf") and "\x00" not in str(value)]
    with store.engine.begin() as conn:
        _seed(conn)
        # an id given and deleted before: AUTOINCREMENT does not reuse it
        conn.execute(insert(records), [{"entity_id": "e0", "fingerprint": "x", "data": {}}])
        conn.execute(records.delete())
        reference = [
            conn.execute(insert(records).returning(records.c.id), [{"entity_id": "e1", "fingerprint": f"r{i}", "data": d}])
            .scalar_one()
            for i, d in enumerate(data)
        ]  # fmt: skip
        ids = queries.insert_records(conn, [("e2", f"f{i}", d) for i, d in enumerate(data)])
    assert ids == list(range(reference[-1] + 1, reference[-1] + 1 + len(data)))
    with store.engine.connect() as conn:
        rows = conn.execute(select(records).order_by(records.c.id)).all()
        raw = conn.execute(text("SELECT id, data FROM records ORDER BY id")).all()
    by_id = {row.id: row for row in rows}
    assert [by_id[i].fingerprint for i in ids] == [f"f{i}" for i in range(len(data))]
    stored = dict(raw)
    assert [stored[i] for i in ids] == [stored[i] for i in reference]  # the same bytes
    assert [by_id[i].data for i in ids] == [by_id[i].data for i in reference]


def test_insert_values_writes_what_insert_writes(store: Store) -> None:
    columns = ("entity_id", "list_id", "kind", "effective_on", "date_basis", "snapshot_id", "changes")
    rows = [("e1", "l", "amended", date(2021, 7, day), "snapshot", 1, value) for day, value in
            enumerate([None, {"name": {"before": "a", "after": None}}, {"n": [1, 2.5, True]}, "小米"], start=1)]  # fmt: skip
    with store.engine.begin() as conn:
        _seed(conn)
        conn.execute(insert(events), [dict(zip(columns, row, strict=True)) for row in rows])
        queries.insert_values(conn, "events", columns, rows)
    with store.engine.connect() as conn:
        found = [row._asdict() for row in conn.execute(select(events).order_by(events.c.id))]
        raw = conn.execute(text("SELECT effective_on, changes FROM events ORDER BY id")).all()
    for row in found:
        row.pop("id")
    assert found[:4] == found[4:] and len(found) == 8
    assert raw[:4] == raw[4:]


def test_insert_values_of_no_rows_does_nothing(store: Store) -> None:
    with store.engine.begin() as conn:
        queries.insert_values(conn, "names", ("record_id", "value", "key", "kind"), [])
        assert queries.insert_records(conn, []) == []


def test_a_failed_bulk_insert_leaves_the_store_unchanged(store: Store) -> None:
    with store.engine.begin() as conn:
        _seed(conn)
    with pytest.raises(Exception, match="(?i)unique|duplicate"), store.engine.begin() as conn:
        queries.insert_values(conn, "entities", ("id", "list_id", "source_key", "schema", "caption"),
                              [("new", "l", "9", "Company", "N"), ("e0", "l", "0", "Company", "E")])  # fmt: skip
    with store.engine.connect() as conn:
        assert conn.execute(select(entities.c.id).order_by(entities.c.id)).scalars().all() == [
            "e0",
            "e1",
            "e2",
        ]


def test_an_unknown_table_is_refused() -> None:
    with pytest.raises(StoreError, match="no bulk inserts into 'records'"):
        queries.insert_values(None, "records", ("id",), [(1,)])  # type: ignore[arg-type]


def test_new_ids_that_do_not_match_the_rows_are_refused(store: Store) -> None:
    """The check behind insert_records on SQLite: more new ids than rows are refused, not guessed."""
    if not store.is_sqlite:
        pytest.skip("the id check is SQLite's")
    with store.engine.begin() as conn:
        _seed(conn)
        # a trigger that inserts a row of its own between two of ours breaks the id sequence
        conn.exec_driver_sql(
            "CREATE TEMP TRIGGER extra AFTER INSERT ON records WHEN NEW.fingerprint = 'a' BEGIN "
            "INSERT INTO records (entity_id, fingerprint, data) VALUES ('e0', 'extra', '{}'); END"
        )
        with pytest.raises(StoreError, match="3 new rows where 2 were inserted"):
            queries.insert_records(conn, [("e1", "a", {}), ("e1", "b", {})])
