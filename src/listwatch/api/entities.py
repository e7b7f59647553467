"""Entities as yente shows them (`GET /entities/{id}`), and yente's `changed_since` filter.

An entity is the FollowTheMoney form of its record version in force on the day asked (the newest
by default), built by the same code as `listwatch export --format ftm`, plus the dates it was
first and last seen and last changed.

    entity_response(store, "us-dod-1237-ccmc-xiaomi-corporation", as_of=date(2021, 2, 1))
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from listwatch.errors import UnknownEntity
from listwatch.registry.export import entity_proxy  # the FtM form `listwatch export` writes
from listwatch.registry.replay import replay_events
from listwatch.store import Store, queries

__all__ = ["changed_since", "entity_response"]


def entity_response(store: Store, entity_id: str, *, as_of: date | None = None) -> dict[str, Any]:
    """The entity's FtM form on `as_of` (its newest version when None); `UnknownEntity` if none."""
    from followthemoney import model

    with store.engine.connect() as conn:
        rows = queries.entity_rows(conn, [entity_id])
        if not rows:
            raise UnknownEntity(entity_id)
        evs = queries.events_for(conn, [entity_id])
        if as_of is not None:
            record_id = replay_events(evs, as_of).record_id
        else:
            record_id = next((ev.record_id for ev in reversed(evs) if ev.record_id is not None), None)
        if record_id is None:
            raise UnknownEntity(f"{entity_id} on {as_of.isoformat() if as_of else 'any day'}")
        record = queries.record_data(conn, [record_id])[record_id]
    entity = rows[0]
    proxy = entity_proxy(model, entity, record)
    data: dict[str, Any] = proxy.to_dict()
    days = [ev.effective_on for ev in evs]
    replay = replay_events(evs, as_of or max(days))
    data.update(
        {
            "caption": entity.caption,
            "datasets": [entity.list_id],
            "referents": [],
            "target": True,
            "first_seen": min(days).isoformat() if days else None,
            "last_seen": (max(ev.snapshot_published for ev in evs)).isoformat() if evs else None,
            "last_change": max(days).isoformat() if days else None,
            "listing": {
                "state": replay.state,
                "since": replay.since.isoformat() if replay.since else None,
            },
        }
    )
    return data


def changed_since(store: Store, entity_ids: Sequence[str], since: date) -> set[str]:
    """The entities with an event (listed, amended, delisted...) effective on or after `since`."""
    if not entity_ids:
        return set()
    with store.engine.connect() as conn:
        evs = queries.events_for(conn, entity_ids)
    return {ev.entity_id for ev in evs if ev.effective_on >= since}
