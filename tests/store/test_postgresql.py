"""PostgreSQL specifics: rows written with COPY read back exactly as rows written with INSERT."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select

from listwatch.store import Store
from listwatch.store.postgresql import copy_values
from listwatch.store.tables import entities, events, lists, names, records, snapshots

AWKWARD = ["tab\there", "new\nline", "back\\slash \\N", "小米集团", "quote ' and \"", "", "  padded  "]


def _seed(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            insert(lists), [{"id": "l", "title": "t", "authority": "a", "country": "us", "url": "u"}]
        )
        conn.execute(
            insert(snapshots),
            [{"list_id": "l", "published": date(2021, 7, 1), "ingested_at": datetime(2021, 7, 2, 9, 30, tzinfo=UTC),
              "sha256": "0" * 64, "format": "ofac-csv", "record_count": 1, "sources": [], "warnings": []}],
        )  # fmt: skip
        conn.execute(insert(entities), [{"id": "e", "list_id": "l", "source_key": "1", "schema": "Company", "caption": "E"}])  # fmt: skip
        conn.execute(insert(records), [{"entity_id": "e", "fingerprint": "f", "data": {"k": ["v"]}}])


def test_copy_writes_what_insert_writes(store: Store) -> None:
    if store.is_sqlite:
        pytest.skip("COPY is PostgreSQL's")
    _seed(store)
    name_rows = [{"record_id": 1, "value": text, "key": text.lower(), "kind": "alias"} for text in AWKWARD]
    event_rows = [
        {"entity_id": "e", "list_id": "l", "kind": "amended", "effective_on": date(2021, 7, 1),
         "date_basis": "snapshot", "snapshot_id": 1, "record_id": 1, "citation": text, "source_url": None,
         "authority": None, "legal_basis": None, "note": None,
         "changes": {"name": {"before": text, "after": None}, "n": [1, 2.5, True]}}
        for text in AWKWARD
    ]  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(names), name_rows)
        conn.execute(insert(events), event_rows)
        for table, rows in ((names, name_rows), (events, event_rows)):
            copy_values(conn, table, tuple(rows[0]), [tuple(row.values()) for row in rows])
    with store.engine.connect() as conn:
        for table in (names, events):
            rows = [row._asdict() for row in conn.execute(select(table).order_by(table.c.id))]
            for row in rows:
                row.pop("id")
            half = len(rows) // 2
            assert half == len(AWKWARD) and rows[:half] == rows[half:]


def test_copy_of_no_rows_does_nothing(store: Store) -> None:
    if store.is_sqlite:
        pytest.skip("COPY is PostgreSQL's")
    with store.engine.begin() as conn:
        copy_values(conn, names, ("record_id", "value", "key", "kind"), [])
        assert conn.execute(select(names)).all() == []
