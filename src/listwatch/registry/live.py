"""Which entities are on their lists on a given day: the population a screening runs against.

`live_entities` answers for whole lists at once: one query for every event up to the day, one
replay per entity with the same state machine as `status_as_of` (`registry.replay`), then one
batch of record reads for the versions in force. `live_set_key` names the inputs of that answer,
so a cache built from it (the match index) knows when it is stale.

    live = live_entities(store, as_of=date(2021, 3, 13), lists=["us_dod_1237_ccmc"])
    [e.caption for e in live if e.state == "suspended"]  # ['Xiaomi Corporation', ...]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby
from operator import attrgetter
from typing import Any

from listwatch.catalog import get_list
from listwatch.registry.replay import replay_events
from listwatch.store import Store, queries

__all__ = ["LiveEntity", "live_entities", "live_set_key"]


@dataclass(frozen=True, slots=True)
class LiveEntity:
    """One entity standing `listed` or `suspended` on its list on the day asked about."""

    entity_id: str
    list_id: str
    schema: str
    caption: str  # the primary name of the version in force
    state: str  # listed | suspended
    since: date | None  # start of the listing in force
    since_basis: str | None  # record | snapshot | first_snapshot (then `since` means "on or before")
    programs: tuple[str, ...]
    record_id: int  # the record version in force: that of the last event up to the day
    record: dict[str, Any] = field(repr=False, compare=False)  # its data (`Record.to_dict()` form)

    @property
    def restricted(self) -> bool:
        return self.state == "listed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entity_id,
            "list": self.list_id,
            "schema": self.schema,
            "caption": self.caption,
            "state": self.state,
            "since": self.since.isoformat() if self.since else None,
            "since_basis": self.since_basis,
            "programs": list(self.programs),
            "record": self.record_id,
        }


def live_entities(store: Store, *, as_of: date, lists: Sequence[str] | None = None) -> list[LiveEntity]:
    """Every entity `listed` or `suspended` on `as_of`, on `lists` (all lists when None).

    An entry already in a list's earliest snapshot is `unknown` before that snapshot's date and is
    left out, as are vacated and delisted entries. Sorted by list, then entity id.
    """
    list_ids = _list_ids(lists)
    with store.engine.connect() as conn:
        rows = queries.list_events_until(conn, as_of, list_ids)
        in_force = []
        for _, group in groupby(rows, key=attrgetter("entity_id")):
            evs = list(group)
            replayed = replay_events(evs, as_of)
            if replayed.live and replayed.record_id is not None:
                in_force.append((evs[-1], replayed.record_id, replayed))
        data = queries.record_data(conn, [record_id for _, record_id, _ in in_force])
    found = []
    for row, record_id, replayed in in_force:
        record = data.get(record_id, {})
        found.append(
            LiveEntity(
                entity_id=row.entity_id,
                list_id=row.list_id,
                schema=str(record.get("schema") or row.schema),
                caption=_caption(record) or row.caption,
                state=replayed.state,
                since=replayed.since,
                since_basis=replayed.since_basis,
                programs=tuple(record.get("programs", ())),
                record_id=record_id,
                record=record,
            )
        )
    found.sort(key=lambda e: (e.list_id, e.entity_id))
    return found


def live_set_key(store: Store, *, as_of: date, lists: Sequence[str] | None = None) -> str:
    """A digest of everything `live_entities(store, as_of=..., lists=...)` depends on.

    Equal digests mean equal answers. The day counts only through the latest event on or before
    it (a replay looks at nothing else), so every day between two events of the lists shares a
    digest. Every snapshot of the lists counts by content digest and ingest time: any new ingest
    gives a new digest (a later snapshot can state an earlier listing date), and so does the same
    content ingested again into a fresh store, since a newer parser may read it differently.
    """
    list_ids = _list_ids(lists)
    with store.engine.connect() as conn:
        last_event = queries.last_event_on(conn, as_of, list_ids)
        snaps = [
            [snap.id, snap.list_id, snap.published.isoformat(), snap.sha256, snap.ingested_at.isoformat()]
            for snap in queries.list_snapshots(conn)
            if list_ids is None or snap.list_id in list_ids
        ]
    facts = {
        "lists": list_ids,
        "last_event": last_event.isoformat() if last_event else None,
        "snapshots": snaps,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _list_ids(lists: Sequence[str] | None) -> list[str] | None:
    """Sorted distinct list ids, each checked against the catalog (`UnknownList` otherwise)."""
    if lists is None:
        return None
    for list_id in lists:
        get_list(list_id)
    return sorted(set(lists))


def _caption(record: dict[str, Any]) -> str | None:
    names = record.get("names") or []
    for name in names:
        if name.get("kind") == "primary":
            return str(name["value"])
    return str(names[0]["value"]) if names else None
