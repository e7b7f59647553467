"""Who an entity is, what happened to it, and where it stood on a given day.

`find_entities` turns a user's QUERY (a name, `scheme:value`, or an entity id) into entity ids;
`entity_history` and `status_as_of` answer from the events the ingests derived.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import Connection

from listwatch.catalog import LISTS
from listwatch.errors import InvalidQuery, UnknownEntity
from listwatch.identifiers import parse_identifier_query
from listwatch.model import name_key
from listwatch.registry.replay import replay_events
from listwatch.store import Store, queries

__all__ = [
    "EntityHistory",
    "HistoryEvent",
    "Standing",
    "entity_histories",
    "entity_history",
    "find_entities",
    "status_as_of",
]


# Every id entity_id_for() makes has this shape; other queries skip the id lookup (one statement).
_ENTITY_ID = re.compile(r"[a-z0-9][a-z0-9.-]*")


def find_entities(conn: Connection, query: str) -> list[str]:
    """Entity ids for a query, across lists.

    A name matches any published name or alias exactly after `name_key`. An identifier or id query
    also brings in the same-named entries of other lists (China Mobile Limited on OFAC's NS-CMIC
    list by ISIN, and on the DoD 1260H list by name): primary names only, because aliases such as
    "China Mobile" are shared by different companies.
    """
    query = query.strip()
    if not query:
        raise InvalidQuery("empty query: give a name, scheme:value (isin:..., ticker:...) or an entity id")
    if _ENTITY_ID.fullmatch(query) and queries.entity_rows(conn, [query]):
        found = [query]
    else:
        ident = parse_identifier_query(query)
        if ident is not None:
            found = queries.entity_ids_by_identifier(conn, *ident)
        else:
            key = name_key(query)
            if not key:
                raise InvalidQuery(f"{query!r} has no letters or digits to look up")
            found = queries.entity_ids_by_name(conn, key)
            if not found:
                raise UnknownEntity(query, queries.name_suggestions(conn, key))
            return sorted(found)
        if not found:
            raise UnknownEntity(query)
    same_named = queries.entity_ids_sharing_primary_names(conn, found)
    return sorted(set(found) | set(same_named))


@dataclass(frozen=True)
class HistoryEvent:
    kind: str
    effective_on: date
    date_basis: str
    source: str  # the citation, or the snapshot that shows the change
    source_url: str | None
    snapshot_id: int
    note: str | None = None
    authority: str | None = None
    legal_basis: str | None = None
    changes: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "date": self.effective_on.isoformat(),
            "date_basis": self.date_basis,
            "source": self.source,
            "source_url": self.source_url,
            "snapshot": self.snapshot_id,
            "note": self.note,
            "authority": self.authority,
            "legal_basis": self.legal_basis,
            "changes": self.changes,
        }


@dataclass(frozen=True)
class EntityHistory:
    entity_id: str
    list_id: str
    list_title: str
    caption: str
    schema: str
    events: tuple[HistoryEvent, ...]
    record: dict[str, Any] = field(default_factory=dict)  # the newest version's data

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entity_id,
            "list": self.list_id,
            "list_title": self.list_title,
            "caption": self.caption,
            "schema": self.schema,
            "events": [e.to_dict() for e in self.events],
            "record": self.record,
        }


def _entities_with_events(conn: Connection, query: str) -> tuple[list[Any], dict[str, list[Any]]]:
    """The entities a query finds, and each one's events in date order."""
    entity_ids = find_entities(conn, query)
    by_entity: dict[str, list[Any]] = defaultdict(list)
    for ev in queries.events_for(conn, entity_ids):
        by_entity[ev.entity_id].append(ev)
    return queries.entity_rows(conn, entity_ids), by_entity


def entity_history(store: Store, query: str) -> list[EntityHistory]:
    with store.engine.connect() as conn:
        rows, by_entity = _entities_with_events(conn, query)
        return _histories(conn, rows, by_entity)


def entity_histories(store: Store, entity_ids: Sequence[str]) -> list[EntityHistory]:
    """The histories of entities known by id, without resolving a query (ids not stored are skipped).

    For callers that follow links between entities (a parent company, a blocked owner).
    """
    if not entity_ids:
        return []
    with store.engine.connect() as conn:
        by_entity: dict[str, list[Any]] = defaultdict(list)
        for ev in queries.events_for(conn, list(entity_ids)):
            by_entity[ev.entity_id].append(ev)
        return _histories(conn, queries.entity_rows(conn, list(entity_ids)), by_entity)


def _histories(conn: Connection, rows: list[Any], by_entity: dict[str, list[Any]]) -> list[EntityHistory]:
    # every list in by_entity has an event: lists are only made by appending one
    latest = {eid: evs[-1].record_id for eid, evs in by_entity.items() if evs[-1].record_id}
    data = queries.record_data(conn, list(latest.values()))
    return [
        EntityHistory(
            entity_id=row.id,
            list_id=row.list_id,
            list_title=LISTS[row.list_id].title if row.list_id in LISTS else row.list_id,
            caption=row.caption,
            schema=row.schema,
            events=tuple(_history_event(ev) for ev in by_entity[row.id]),
            record=data.get(latest.get(row.id, -1), {}),
        )
        for row in rows
    ]


def _history_event(ev: Any) -> HistoryEvent:
    return HistoryEvent(
        kind=ev.kind,
        effective_on=ev.effective_on,
        date_basis=ev.date_basis,
        source=ev.citation or f"snapshot #{ev.snapshot_id}",
        source_url=ev.source_url,
        snapshot_id=ev.snapshot_id,
        note=ev.note,
        authority=ev.authority,
        legal_basis=ev.legal_basis,
        changes=ev.changes,
    )


@dataclass(frozen=True)
class Standing:
    """Where one entity stood on one list on one day."""

    entity_id: str
    list_id: str
    caption: str
    as_of: date
    state: str  # listed | suspended | not_listed | unknown
    since: date | None  # start of the listing in force (or of the state, for not_listed)
    since_basis: str | None
    programs: tuple[str, ...]
    court_order: HistoryEvent | None  # the injunction suspending it, or the vacatur that ended it
    last_event: HistoryEvent | None
    explanation: str

    @property
    def restricted(self) -> bool:
        return self.state == "listed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entity_id,
            "list": self.list_id,
            "caption": self.caption,
            "as_of": self.as_of.isoformat(),
            "state": self.state,
            "since": self.since.isoformat() if self.since else None,
            "since_basis": self.since_basis,
            "programs": list(self.programs),
            "court_order": self.court_order.to_dict() if self.court_order else None,
            "last_event": self.last_event.to_dict() if self.last_event else None,
            "explanation": self.explanation,
        }


def status_as_of(store: Store, query: str, as_of: date) -> list[Standing]:
    """On which lists the entities matching `query` stood on `as_of`, and why."""
    with store.engine.connect() as conn:
        rows, by_entity = _entities_with_events(conn, query)
        standings = [_fold(row, by_entity[row.id], as_of) for row in rows]
        record_ids = [rid for rid in (s[1] for s in standings) if rid is not None]
        data = queries.record_data(conn, record_ids)
    result = []
    for standing, record_id in standings:
        programs = tuple(data.get(record_id, {}).get("programs", ())) if record_id else ()
        result.append(replace(standing, programs=programs))
    return result


def _fold(row: Any, evs: list[Any], as_of: date) -> tuple[Standing, int | None]:
    """Replay the entity's events up to `as_of` (inclusive) and explain the outcome."""
    replayed = replay_events(evs, as_of)
    first = replayed.first
    explanation = _explain(replayed.state, replayed.since, replayed.court, replayed.last)
    if replayed.state == "unknown":
        explanation = (
            f"no snapshot of this list before {first.effective_on.isoformat()}; it was on the list by then"
        )
    if replayed.last is None and replayed.state == "not_listed":
        explanation = (
            f"not yet listed (first listed {first.effective_on.isoformat()})"
            if first
            else "no recorded events"
        )
    standing = Standing(
        entity_id=row.id,
        list_id=row.list_id,
        caption=row.caption,
        as_of=as_of,
        state=replayed.state,
        since=replayed.since,
        since_basis=replayed.since_basis,
        programs=(),
        court_order=_history_event(replayed.court) if replayed.court is not None else None,
        last_event=_history_event(replayed.last) if replayed.last is not None else None,
        explanation=explanation,
    )
    return standing, replayed.record_id if replayed.live else None


def _explain(state: str, since: date | None, court: Any, last: Any) -> str:
    if state == "listed":
        assert since is not None
        return f"listed since {since.isoformat()}"
    if state == "suspended":
        return f"listed since {since.isoformat() if since else '?'}, but enjoined on {court.effective_on.isoformat()}: the listing has no effect while the court order stands"
    if court is not None:
        return f"not listed: designation vacated by court order on {court.effective_on.isoformat()}"
    if last is not None and since is not None:
        return f"not listed: delisted {since.isoformat()}"
    return "not listed"
