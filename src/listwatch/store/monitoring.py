"""Every statement about monitoring (watches, their state, alerts, webhook deliveries).

Like `store.queries`: Core expressions with bound parameters, portable between SQLite and
PostgreSQL, and the caller owns the transaction. Alerts are only appended, then acknowledged; a
removed watch is marked inactive, never deleted, so its alerts keep their watch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from listwatch.store.tables import alerts, events, snapshots, watches, webhook_deliveries
from listwatch.store.tables import watch_states as states

__all__ = [
    "acknowledge_alerts",
    "alerts_by_ids",
    "deactivate_watch",
    "due_deliveries",
    "insert_alerts",
    "insert_delivery",
    "insert_watch",
    "last_deliveries",
    "latest_date",
    "record_watch_outcome",
    "save_watch_state",
    "select_alerts",
    "select_watches",
    "update_delivery",
    "watch_state",
    "watch_states",
]


# -- watches --------------------------------------------------------------------------------------


def insert_watch(conn: Connection, row: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(watches).returning(watches.c.id), [dict(row)]).scalar_one())


def select_watches(
    conn: Connection, *, name: str | None = None, active: bool | None = True
) -> list[Row[Any]]:
    """Watches in registration order: the active ones (by default), or all with `active=None`."""
    stmt = select(watches).order_by(watches.c.id)
    if name is not None:
        stmt = stmt.where(watches.c.name == name)
    if active is not None:
        stmt = stmt.where(watches.c.active == active)
    return list(conn.execute(stmt))


def deactivate_watch(conn: Connection, watch_id: int, removed_at: datetime) -> None:
    conn.execute(update(watches).where(watches.c.id == watch_id).values(active=False, removed_at=removed_at))


def record_watch_outcome(conn: Connection, watch_id: int, evaluated_at: datetime, error: str | None) -> None:
    conn.execute(
        update(watches)
        .where(watches.c.id == watch_id)
        .values(last_evaluated_at=evaluated_at, last_error=error)
    )


def watch_state(conn: Connection, watch_id: int) -> Row[Any] | None:
    return conn.execute(select(states).where(states.c.watch_id == watch_id)).first()


def watch_states(conn: Connection, watch_ids: Sequence[int]) -> dict[int, Row[Any]]:
    """Each watch's stored state, for the watches that have one (one statement)."""
    if not watch_ids:
        return {}
    stmt = select(states).where(states.c.watch_id.in_(list(watch_ids)))
    return {row.watch_id: row for row in conn.execute(stmt)}


def save_watch_state(conn: Connection, row: Mapping[str, Any], *, read_sequence: int) -> bool:
    """Store the watch's new state if no other evaluation stored one since `read_sequence` was
    read (0: none stored yet); False when one did. The new row's `sequence` is `read_sequence + 1`."""
    values = {**row, "sequence": read_sequence + 1}
    if read_sequence == 0:
        exists = conn.execute(
            select(states.c.watch_id).where(states.c.watch_id == values["watch_id"])
        ).first()
        if exists is not None:
            return False
        conn.execute(insert(states), [values])
        return True
    done = conn.execute(
        update(states)
        .where(states.c.watch_id == values["watch_id"], states.c.sequence == read_sequence)
        .values(**{k: v for k, v in values.items() if k != "watch_id"})
    )
    return bool(done.rowcount == 1)


def latest_date(conn: Connection, list_ids: Sequence[str] | None) -> date | None:
    """The newest publication or event date stored for the lists (all when None)."""
    published = select(func.max(snapshots.c.published))
    happened = select(func.max(events.c.effective_on))
    if list_ids is not None:
        published = published.where(snapshots.c.list_id.in_(list(list_ids)))
        happened = happened.where(events.c.list_id.in_(list(list_ids)))
    found = [conn.execute(published).scalar(), conn.execute(happened).scalar()]
    dates: list[date] = [d for d in found if d is not None]
    return max(dates) if dates else None


# -- alerts ---------------------------------------------------------------------------------------


def insert_alerts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Append alerts; their ids in the order given."""
    if not rows:
        return []
    stmt = insert(alerts).returning(alerts.c.id, sort_by_parameter_order=True)
    return [int(i) for i in conn.execute(stmt, [dict(r) for r in rows]).scalars()]


_ALERTS = select(alerts, watches.c.name.label("watch_name")).join(watches, watches.c.id == alerts.c.watch_id)


def select_alerts(
    conn: Connection,
    *,
    watch_ids: Sequence[int] | None = None,
    since: datetime | None = None,
    include_acknowledged: bool = False,
) -> list[Row[Any]]:
    """Alerts oldest first, with their watch's name (as `watch_name`)."""
    stmt = _ALERTS.order_by(alerts.c.id)
    if watch_ids is not None:
        stmt = stmt.where(alerts.c.watch_id.in_(list(watch_ids)))
    if since is not None:
        stmt = stmt.where(alerts.c.created_at >= since)
    if not include_acknowledged:
        stmt = stmt.where(alerts.c.acknowledged.is_(False))
    return list(conn.execute(stmt))


def alerts_by_ids(conn: Connection, alert_ids: Sequence[int]) -> list[Row[Any]]:
    stmt = _ALERTS.where(alerts.c.id.in_(list(alert_ids))).order_by(alerts.c.id)
    return list(conn.execute(stmt))


def acknowledge_alerts(conn: Connection, alert_ids: Sequence[int], *, at: datetime, by: str) -> int:
    """Acknowledge the alerts not yet acknowledged; how many were."""
    done = conn.execute(
        update(alerts)
        .where(alerts.c.id.in_(list(alert_ids)), alerts.c.acknowledged.is_(False))
        .values(acknowledged=True, acknowledged_at=at, acknowledged_by=by)
    )
    return int(done.rowcount)


# -- webhook deliveries ---------------------------------------------------------------------------


def insert_delivery(conn: Connection, row: Mapping[str, Any]) -> int:
    stmt = insert(webhook_deliveries).returning(webhook_deliveries.c.id)
    return int(conn.execute(stmt, [dict(row)]).scalar_one())


def due_deliveries(conn: Connection, now: datetime) -> list[Row[Any]]:
    """Deliveries waiting to be (re)tried by `now`, oldest first, with their watch's name and
    webhook URL (as `watch_name`, `webhook_url`)."""
    stmt = (
        select(webhook_deliveries, watches.c.name.label("watch_name"), watches.c.webhook_url)
        .join(watches, watches.c.id == webhook_deliveries.c.watch_id)
        .where(
            webhook_deliveries.c.status.in_(["pending", "retrying"]),
            (webhook_deliveries.c.next_retry_at.is_(None)) | (webhook_deliveries.c.next_retry_at <= now),
        )
        .order_by(webhook_deliveries.c.id)
    )
    return list(conn.execute(stmt))


def update_delivery(conn: Connection, delivery_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(**values))


def last_deliveries(conn: Connection, watch_ids: Sequence[int]) -> dict[int, Row[Any]]:
    """Each watch's newest delivery."""
    newest = (
        select(func.max(webhook_deliveries.c.id))
        .where(webhook_deliveries.c.watch_id.in_(list(watch_ids)))
        .group_by(webhook_deliveries.c.watch_id)
    )
    stmt = select(webhook_deliveries).where(webhook_deliveries.c.id.in_(newest))
    return {row.watch_id: row for row in conn.execute(stmt)}
