"""What an as-of answer rests on: the snapshots it is replayed from and the record versions in force.

A screening run records these so that it can be audited, certified and repeated. The snapshots
are those carrying an event on or before the day (a dated list's single file can be published
after the day it speaks about; a later OFAC file can state an earlier listing date), and the
digest covers every such event and the record version it points to: equal digests mean
`registry.live.live_entities` gives the same answer, so a screening gives the same hits.

    basis = screening_basis(store, as_of=date(2021, 2, 1), lists=["us_dod_1237_ccmc"])
    [(s.list_id, s.snapshot_id, s.sha256[:12]) for s in basis.snapshots]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import groupby
from operator import attrgetter
from typing import Any

from listwatch.catalog import get_list
from listwatch.registry.replay import Replay, replay_events
from listwatch.store import Store, queries

__all__ = [
    "RecordVersion",
    "ScreeningBasis",
    "SnapshotRef",
    "Standing",
    "records_in_force",
    "screening_basis",
    "standings",
]


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    """One stored version of a list, as a certificate names it."""

    snapshot_id: int
    list_id: str
    list_title: str
    published: date
    sha256: str
    ingested_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> SnapshotRef:
        """From a `snapshots` row joined with its list's title as `list_title`."""
        ingested = row.ingested_at
        if ingested.tzinfo is None:  # SQLite hands back what was stored in UTC without its zone
            ingested = ingested.replace(tzinfo=UTC)
        return cls(row.id, row.list_id, row.list_title, row.published, row.sha256, ingested)

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.list_id,
            "title": self.list_title,
            "snapshot": self.snapshot_id,
            "published": self.published.isoformat(),
            "sha256": self.sha256,
            "ingested_at": self.ingested_at.isoformat(),
        }


@dataclass(frozen=True)
class ScreeningBasis:
    as_of: date
    lists: tuple[str, ...] | None  # None: every list
    snapshots: tuple[SnapshotRef, ...]
    digest: str  # sha256 over the lists and every event (with its record version) up to as_of


@dataclass(frozen=True, slots=True)
class RecordVersion:
    record_id: int
    fingerprint: str  # registry.diff.fingerprint of the record's data


def screening_basis(store: Store, *, as_of: date, lists: Sequence[str] | None = None) -> ScreeningBasis:
    """The snapshots and the digest of events that `live_entities(as_of=..., lists=...)` reads."""
    list_ids = _list_ids(lists)
    with store.engine.connect() as conn:
        snaps = queries.event_snapshots_until(conn, as_of, list_ids)
        rows = queries.list_events_until(conn, as_of, list_ids)
    digest = hashlib.sha256(json.dumps({"lists": list_ids}).encode())
    for row in rows:
        fields = (row.entity_id, row.list_id, row.kind, row.effective_on.isoformat(), row.date_basis)
        digest.update(json.dumps([*fields, row.record_id]).encode() + b"\n")
    return ScreeningBasis(
        as_of=as_of,
        lists=tuple(list_ids) if list_ids is not None else None,
        snapshots=tuple(SnapshotRef.from_row(s) for s in snaps),
        digest=digest.hexdigest(),
    )


@dataclass(frozen=True, slots=True)
class Standing:
    """Where an entity stood on a day, and the record version then in force (None: none yet)."""

    replay: Replay
    version: RecordVersion | None


def standings(store: Store, entity_ids: Sequence[str], *, as_of: date) -> dict[str, Standing]:
    """Each entity replayed to `as_of` (`replay_events`, like `live_entities`), with the record
    version in force: two queries whatever the size of the lists. Entities with no events are left out.
    """
    wanted = sorted(set(entity_ids))
    if not wanted:
        return {}
    with store.engine.connect() as conn:
        rows = queries.events_for(conn, wanted)
        replays = {
            eid: replay_events(list(group), as_of)
            for eid, group in groupby(rows, key=attrgetter("entity_id"))
        }
        record_ids = [r.record_id for r in replays.values() if r.record_id is not None]
        fingerprints = queries.record_fingerprints(conn, record_ids)
    return {
        eid: Standing(
            r, RecordVersion(r.record_id, fingerprints[r.record_id]) if r.record_id is not None else None
        )
        for eid, r in replays.items()
    }


def records_in_force(store: Store, entity_ids: Sequence[str], *, as_of: date) -> dict[str, RecordVersion]:
    """The record version of each entity in force on `as_of`: the one `live_entities` indexes.
    Entities with no version by then are left out."""
    found = standings(store, entity_ids, as_of=as_of)
    return {eid: s.version for eid, s in found.items() if s.version is not None}


def _list_ids(lists: Sequence[str] | None) -> list[str] | None:
    if lists is None:
        return None
    for list_id in lists:
        get_list(list_id)
    return sorted(set(lists))
