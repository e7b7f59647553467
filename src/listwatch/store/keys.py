"""Every statement about API keys and the API audit log, over a SQLAlchemy `Connection`.

Like `store.queries`: Core expressions with bound parameters, portable between SQLite and
PostgreSQL, and the caller owns the transaction. Only the SHA-256 of a key's secret is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from listwatch.store.tables import api_audit, api_keys

__all__ = [
    "active_key_by_name",
    "active_key_by_secret",
    "all_keys",
    "insert_audit",
    "insert_key",
    "recent_audit",
    "revoke_key",
    "touch_key",
]


def insert_key(conn: Connection, row: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(api_keys).returning(api_keys.c.id), [dict(row)]).scalar_one())


def active_key_by_name(conn: Connection, name: str) -> Row[Any] | None:
    query = select(api_keys).where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
    return conn.execute(query).first()


def active_key_by_secret(conn: Connection, secret_sha256: str) -> Row[Any] | None:
    query = select(api_keys).where(api_keys.c.secret_sha256 == secret_sha256, api_keys.c.revoked_at.is_(None))
    return conn.execute(query).first()


def all_keys(conn: Connection, *, include_revoked: bool = True) -> Sequence[Row[Any]]:
    query = select(api_keys).order_by(api_keys.c.id)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    return conn.execute(query).all()


def revoke_key(conn: Connection, key_id: int, *, at: datetime) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=at))


def touch_key(conn: Connection, key_id: int, *, at: datetime) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at))


def insert_audit(conn: Connection, row: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(api_audit).returning(api_audit.c.id), [dict(row)]).scalar_one())


def recent_audit(conn: Connection, *, limit: int = 100) -> Sequence[Row[Any]]:
    return conn.execute(select(api_audit).order_by(api_audit.c.id.desc()).limit(limit)).all()
