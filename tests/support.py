"""Test helpers that read a real store; nothing here stands in for listwatch code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from listwatch.store import Store
from listwatch.store.tables import metadata


def store_state(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, so a test can assert a failed ingest changed nothing."""
    state = {}
    with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            state[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return state
