"""Lists, their snapshots, and what changed between two of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection

from listwatch.catalog import LISTS, get_list
from listwatch.errors import InvalidQuery, UnknownSnapshot
from listwatch.registry.diff import diff_fields, diff_snapshots
from listwatch.sources import get_format
from listwatch.store import Store, queries

__all__ = ["DiffRow", "ListDiff", "ListOverview", "known_lists", "list_diff", "stored_lists"]


def known_lists() -> list[dict[str, str]]:
    return [
        {"id": i.id, "title": i.title, "authority": i.authority, "country": i.country, "url": i.url}
        for i in LISTS.values()
    ]


@dataclass(frozen=True)
class ListOverview:
    list_id: str
    title: str
    authority: str
    snapshots: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.list_id,
            "title": self.title,
            "authority": self.authority,
            "snapshots": self.snapshots,
        }


def _snapshot_dict(snap: Any) -> dict[str, Any]:
    return {
        "id": snap.id,
        "published": snap.published.isoformat(),
        "ingested_at": snap.ingested_at.isoformat(),
        "sha256": snap.sha256,
        "format": snap.format,
        "records": snap.record_count,
        "sources": snap.sources,
        "warnings": len(snap.warnings),
    }


def stored_lists(store: Store) -> list[ListOverview]:
    with store.engine.connect() as conn:
        snaps = queries.list_snapshots(conn)
        rows = queries.all_lists(conn)
    return [
        ListOverview(
            row.id, row.title, row.authority, [_snapshot_dict(s) for s in snaps if s.list_id == row.id]
        )
        for row in rows
    ]


@dataclass(frozen=True)
class DiffRow:
    entity_id: str
    caption: str
    effective_on: str
    detail: str
    changes: dict[str, Any] | None = None
    programs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entity_id,
            "caption": self.caption,
            "date": self.effective_on,
            "detail": self.detail,
            "programs": list(self.programs),
            "changes": self.changes,
        }


@dataclass
class ListDiff:
    list_id: str
    from_label: str
    to_label: str
    listed: list[DiffRow] = field(default_factory=list)
    delisted: list[DiffRow] = field(default_factory=list)
    amended: list[DiffRow] = field(default_factory=list)
    unchanged: int = 0
    other: list[DiffRow] = field(default_factory=list)  # court events of dated lists

    def by_program(self) -> dict[str, dict[str, int]]:
        """Counts of listed, delisted and amended entries per program, busiest first."""
        counts: dict[str, dict[str, int]] = {}
        for kind, rows in (("listed", self.listed), ("delisted", self.delisted), ("amended", self.amended)):
            for row in rows:
                for program in row.programs or ("(none)",):
                    bucket = counts.setdefault(program, {"listed": 0, "delisted": 0, "amended": 0})
                    bucket[kind] += 1
        return dict(sorted(counts.items(), key=lambda item: (-sum(item[1].values()), item[0])))

    def describe_range(self) -> str:
        return f"from {self.from_label} to {self.to_label}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.list_id,
            "from": self.from_label,
            "to": self.to_label,
            "counts": {
                "listed": len(self.listed),
                "delisted": len(self.delisted),
                "amended": len(self.amended),
                "unchanged": self.unchanged,
                "other": len(self.other),
            },
            "by_program": self.by_program(),
            "listed": [r.to_dict() for r in self.listed],
            "delisted": [r.to_dict() for r in self.delisted],
            "amended": [r.to_dict() for r in self.amended],
            "other": [r.to_dict() for r in self.other],
        }


def _pick(snaps: list[Any], spec: str | None, option: str) -> Any:
    """A snapshot by number, or the newest published on or before a date."""
    if spec is None:
        return None
    if spec.isdigit():
        for snap in snaps:
            if snap.id == int(spec):
                return snap
        raise UnknownSnapshot(f"{option}: this list has no snapshot #{spec}")
    try:
        day = date.fromisoformat(spec)
    except ValueError:
        raise InvalidQuery(f"{option}: {spec!r} is neither a snapshot number nor a YYYY-MM-DD date") from None
    before = [s for s in snaps if s.published <= day]
    if not before:
        raise UnknownSnapshot(f"{option}: no snapshot published on or before {spec}")
    return before[-1]


def list_diff(store: Store, list_id: str, from_spec: str | None, to_spec: str | None) -> ListDiff:
    """What changed in a list between two snapshots (default: the newest and the one before)."""
    get_list(list_id)
    with store.engine.connect() as conn:
        snaps = queries.list_snapshots(conn, list_id)
        if not snaps:
            raise UnknownSnapshot(f"list {list_id} has no snapshots; ingest one first")
        if get_format(snaps[-1].format).dated:
            return _dated_diff(conn, list_id, from_spec, to_spec)
        to_snap = _pick(snaps, to_spec, "--to") or snaps[-1]
        from_snap = _pick(snaps, from_spec, "--from")
        if from_snap is None:
            earlier = [s for s in snaps if (s.published, s.id) < (to_snap.published, to_snap.id)]
            from_snap = earlier[-1] if earlier else None
        return _snapshot_diff(conn, list_id, from_snap, to_snap)


def _label(snap: Any) -> str:
    return f"snapshot #{snap.id} ({snap.published.isoformat()})" if snap is not None else "nothing"


def _snapshot_diff(conn: Connection, list_id: str, from_snap: Any, to_snap: Any) -> ListDiff:
    diff = diff_snapshots(conn, list_id, from_snap.id if from_snap else None, to_snap.id)
    ids = [rid for _, rid in diff.listed + diff.delisted] + [r for _, a, b in diff.amended for r in (a, b)]
    data = queries.record_data(conn, ids)
    when = to_snap.published.isoformat()
    result = ListDiff(list_id, _label(from_snap), _label(to_snap), unchanged=diff.unchanged)

    def caption(record_id: int) -> str:
        names = data[record_id].get("names") or [{"value": "?"}]
        return str(names[0]["value"])

    def programs(record_id: int) -> tuple[str, ...]:
        return tuple(data[record_id].get("programs") or ())

    for entity_id, rid in diff.listed:
        listed_on = data[rid].get("listed_on") or when
        result.listed.append(
            DiffRow(entity_id, caption(rid), listed_on, ", ".join(programs(rid)), programs=programs(rid))
        )
    for entity_id, rid in diff.delisted:
        result.delisted.append(
            DiffRow(entity_id, caption(rid), when, ", ".join(programs(rid)), programs=programs(rid))
        )
    for entity_id, old, new in diff.amended:
        changes = diff_fields(data[old], data[new])
        detail = ", ".join(sorted(changes))
        result.amended.append(DiffRow(entity_id, caption(new), when, detail, changes, programs(new)))
    return result


def _dated_diff(conn: Connection, list_id: str, from_spec: str | None, to_spec: str | None) -> ListDiff:
    """Dated lists carry their events: show those dated after --from up to --to."""
    after = _as_date(from_spec)
    until = _as_date(to_spec)
    result = ListDiff(list_id, from_spec or "the start", to_spec or "the newest event")
    buckets = {"listed": result.listed, "delisted": result.delisted, "amended": result.amended}
    for ev in queries.list_events_between(conn, list_id, after, until):
        row = DiffRow(
            ev.entity_id, ev.caption, ev.effective_on.isoformat(), ev.note or ev.citation or "", ev.changes
        )
        buckets.get(ev.kind, result.other).append(row)
    return result


def _as_date(spec: str | None) -> date | None:
    if spec is None or spec.isdigit():
        return None
    try:
        return date.fromisoformat(spec)
    except ValueError:
        raise InvalidQuery(f"{spec!r} is not a YYYY-MM-DD date") from None
