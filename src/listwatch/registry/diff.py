"""Differences between two versions of a list, and between two versions of one entry."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from listwatch.store import queries
from listwatch.store.bulk import json_encoder

__all__ = ["SnapshotDiff", "diff_fields", "diff_snapshots", "fingerprint"]

# Fields whose order carries no meaning: compare them as sets so a reordering is no amendment.
_UNORDERED = {"names", "identifiers", "countries", "addresses", "birth_dates", "programs", "links"}


# JSONEncoder(sort_keys=True, ensure_ascii=False).encode, built once (json.dumps with options builds
# a new JSONEncoder each time, and each encode call sets up the C encoder again).
_ENCODE = json_encoder(sort_keys=True, ensure_ascii=False)
# How that encoder writes one string (ensure_ascii=False): the C function when available.
_STRING = json.encoder.encode_basestring


def _canon(value: Any) -> str:
    return _ENCODE(value)


def _canon_item(value: Any) -> str:
    """`_canon` of one item of an unordered field, the same text, built directly for the common
    shapes (a string; a flat dict of strings and None): the encoder's per-call set-up was most of
    the cost of a fingerprint."""
    kind = type(value)
    if kind is str:
        return _STRING(value)
    if kind is dict:
        keys = tuple(value)
        layout = _LAYOUTS.get(keys)
        if layout is None:
            if len(_LAYOUTS) >= 64 or not all(type(key) is str for key in keys):
                return _ENCODE(value)
            layout = _LAYOUTS[keys] = tuple((key, _STRING(key) + ": ") for key in sorted(keys))
        parts = []
        for key, prefix in layout:
            item = value[key]
            if item is None:
                parts.append(prefix + "null")
            elif type(item) is str:
                parts.append(prefix + _STRING(item))
            else:
                return _ENCODE(value)
        return "{" + ", ".join(parts) + "}"
    return _ENCODE(value)


# The keys of a part's dict (a Name's, an Address's...) in their JSON order, with their encoding.
_LAYOUTS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}


def fingerprint(data: dict[str, Any]) -> str:
    """A digest of a record version that ignores the order of unordered fields.

    A publisher that merely reorders aliases or addresses has not amended the entry.
    """
    canonical = {
        name: sorted({_canon_item(v) for v in value})
        if name in _UNORDERED and isinstance(value, (list, tuple))
        else value
        for name, value in data.items()
    }
    return hashlib.sha256(_canon(canonical).encode()).hexdigest()


def diff_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-level changes between two record versions (`Record.to_dict()` forms).

    List-valued fields report `added` and `removed` items; scalars report `before` and `after`.
    """
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(before) | set(after)):
        if name == "key":
            continue
        old, new = before.get(name), after.get(name)
        if name == "properties":
            old, new = old or {}, new or {}
            for prop in sorted(set(old) | set(new)):
                if old.get(prop) != new.get(prop):
                    changes[f"properties.{prop}"] = {"before": old.get(prop), "after": new.get(prop)}
            continue
        if name in _UNORDERED and isinstance(old, list) and isinstance(new, list):
            old_keys = {_canon(v): v for v in old}
            new_keys = {_canon(v): v for v in new}
            if old_keys.keys() != new_keys.keys():
                changes[name] = {
                    "removed": [v for k, v in old_keys.items() if k not in new_keys],
                    "added": [v for k, v in new_keys.items() if k not in old_keys],
                }
            continue
        if old != new:
            changes[name] = {"before": old, "after": new}
    return changes


@dataclass
class SnapshotDiff:
    """What changed from one snapshot of a list to another."""

    list_id: str
    from_snapshot: int | None
    to_snapshot: int
    listed: list[tuple[str, int]] = field(default_factory=list)  # (entity id, record id)
    delisted: list[tuple[str, int]] = field(default_factory=list)
    amended: list[tuple[str, int, int]] = field(default_factory=list)  # (entity, old, new record)
    unchanged: int = 0


def diff_snapshots(
    conn: Connection, list_id: str, from_snapshot: int | None, to_snapshot: int
) -> SnapshotDiff:
    """Compare two snapshots by entity: fingerprints decide, so only changed entries are loaded."""
    before = queries.snapshot_contents(conn, from_snapshot) if from_snapshot is not None else {}
    after = queries.snapshot_contents(conn, to_snapshot)
    result = SnapshotDiff(list_id, from_snapshot, to_snapshot)
    for entity_id, (record_id, fingerprint) in after.items():
        previous = before.get(entity_id)
        if previous is None:
            result.listed.append((entity_id, record_id))
        elif previous[1] != fingerprint:
            result.amended.append((entity_id, previous[0], record_id))
        else:
            result.unchanged += 1
    result.delisted = [(eid, rid) for eid, (rid, _) in before.items() if eid not in after]
    for bucket in (result.listed, result.delisted, result.amended):
        bucket.sort()
    return result
