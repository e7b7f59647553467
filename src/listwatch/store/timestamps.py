"""Timestamps as the store hands them back: SQLite keeps UTC without its zone, PostgreSQL with it.

as_utc(row.created_at).isoformat()  # '2026-11-25T10:00:00+00:00' from either database
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

__all__ = ["as_utc"]


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime: a naive one from the database is UTC (we only ever store UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
