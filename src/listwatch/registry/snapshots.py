"""Ingest: one version of a list becomes a snapshot, and the list's history is brought up to date.

An ingest parses everything first and writes in one transaction, so it is all or nothing; the
SHA-256 of the input files makes it idempotent.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from listwatch.catalog import get_list
from listwatch.errors import InvalidQuery, StoreError
from listwatch.identifiers import identifier_key, market_of
from listwatch.model import DateBasis, EventKind, ParsedList, Record, name_key
from listwatch.registry.diff import diff_fields, diff_snapshots
from listwatch.registry.diff import fingerprint as record_fingerprint
from listwatch.sources import detect_format, get_format
from listwatch.sources.text import expand_paths
from listwatch.store import Store, queries
from listwatch.store.concurrency import lock_ingests

__all__ = ["IngestResult", "entity_id_for", "ingest", "inputs_sha256"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class IngestResult:
    list_id: str
    snapshot_id: int
    published: date
    format: str
    record_count: int
    sha256: str
    created: bool  # False: the same content was already stored, nothing was written
    published_from: str  # "option", "content", "path" (a guess, made visible) or "stored" (nothing read)
    events: dict[str, int] = field(default_factory=dict)  # kind -> count added by this ingest
    warnings: tuple[str, ...] = ()
    # the other lists of a file that bundles several (the US CSL), stored in the same transaction
    others: tuple[IngestResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        extra = {"others": [other.to_dict() for other in self.others]} if self.others else {}
        return {
            "list": self.list_id,
            "snapshot": self.snapshot_id,
            "published": self.published.isoformat(),
            "published_from": self.published_from,
            "format": self.format,
            "records": self.record_count,
            "sha256": self.sha256,
            "created": self.created,
            "events": self.events,
            "warnings": list(self.warnings),
            **extra,
        }


def inputs_sha256(files: Sequence[Path]) -> tuple[str, list[dict[str, Any]]]:
    """One digest over all input files (name and content, in name order) and one per file."""
    overall = hashlib.sha256()
    per_file = []
    for path in sorted(files, key=lambda p: p.name):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        overall.update(path.name.lower().encode() + b"\0" + digest.encode() + b"\0")
        per_file.append({"name": path.name, "sha256": digest, "bytes": len(data)})
    return overall.hexdigest(), per_file


_PATH_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})(?:-(\d{2}))?(?!\d)")


def _date_from_paths(files: Sequence[Path]) -> date | None:
    """A publication date written in the files' path (`2021-07/` or `..._2021-07-15.csv`)."""
    for path in files:
        for part in reversed(path.resolve().parts):
            match = _PATH_DATE.search(part)
            if match:
                year, month, day = match.groups()
                try:
                    return date(int(year), int(month), int(day or 1))
                except ValueError:
                    continue
    return None


def entity_id_for(list_id: str, source_key: str) -> str:
    """A stable id that is also a valid FollowTheMoney entity id (letters, digits, dots, dashes).

    `us_ofac_sdn` + `36` -> `us-ofac-sdn-36`. When the key has characters an id cannot hold
    (another script, say), a digest of the key keeps ids of different entries apart.
    """
    if source_key.isdigit() and source_key.isascii():  # OFAC's ent_num: the same id, sooner
        entity_id = f"{list_id.replace('_', '-')}-{source_key}"
        if len(entity_id) <= 150:
            return entity_id
    return _slug_entity_id(list_id, source_key)


def _slug_entity_id(list_id: str, source_key: str) -> str:
    key = name_key(source_key).replace(" ", "-")
    slug = re.sub(r"[^0-9a-z]+", "-", key).strip("-")
    if slug != key or not slug:
        slug = f"{slug}-{hashlib.sha1(source_key.encode()).hexdigest()[:10]}".lstrip("-")
    entity_id = f"{list_id.replace('_', '-')}-{slug}"
    if len(entity_id) > 150:
        digest = hashlib.sha1(source_key.encode()).hexdigest()[:10]
        entity_id = f"{entity_id[:139]}-{digest}"
    return entity_id


def ingest(
    store: Store,
    paths: Sequence[Path],
    *,
    format_name: str | None = None,
    list_id: str | None = None,
    published: date | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Read one version of a list from `paths` and store it as a snapshot (see module docstring)."""
    say = progress or (lambda _msg: None)
    files = expand_paths(paths)
    if list_id is not None:
        get_list(list_id)
    sha256, sources = inputs_sha256(files)
    stored = _already_stored(store, sha256, list_id=list_id, format_name=format_name)
    if stored is not None:  # the same bytes again: no need to parse them
        return stored
    fmt = get_format(format_name) if format_name else detect_format(files)
    say(f"parsing {len(files)} file(s) as {fmt.name}")
    parsed = fmt.parse(files)
    parts = _select_parts(parsed, list_id)
    published_on, published_from = _resolve_published(parsed, published, files)
    try:
        with _gc_paused(), store.engine.begin() as conn:  # every list of a bundled file, or none
            # one ingest at a time (store.concurrency)
            lock_ingests(conn, on_wait=lambda: say("waiting for another ingest to finish"))
            results = [
                _store_parsed(
                    conn,
                    part,
                    _resolve_list(part, None if parsed.parts else list_id),
                    format_name=fmt.name,
                    sha256=sha256,
                    sources=sources,
                    published=published_on,
                    published_from=published_from,
                    say=say,
                )
                for part in parts
            ]
    except IntegrityError as exc:
        raise StoreError(f"ingest of {_names(parts, list_id)} was rolled back: {exc.orig}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"ingest of {_names(parts, list_id)} was rolled back: {exc}") from None
    first, *others = results
    return replace(first, others=tuple(others))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the parsed records are stored: the rows built for them
    hold no reference cycles, and the collector's passes over the (large) heap of parsed records
    were about a seventh of an ingest of the SDN file. Collection resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _names(parts: Sequence[ParsedList], list_id: str | None) -> str:
    return ", ".join(sorted({part.list_id or list_id or "?" for part in parts}))


def _select_parts(parsed: ParsedList, list_id: str | None) -> list[ParsedList]:
    """The lists to store: the one list of most files; of a bundled file, all or the one `--list` names."""
    if not parsed.parts:
        return [parsed]
    if list_id is None:
        return list(parsed.parts)
    chosen = [part for part in parsed.parts if part.list_id == list_id]
    if not chosen:
        inside = ", ".join(str(part.list_id) for part in parsed.parts)
        raise InvalidQuery(
            f"the {parsed.format} content holds the lists {inside}, not {list_id} as --list says"
        )
    return chosen


def _store_parsed(
    conn: Connection,
    parsed: ParsedList,
    list_id: str,
    *,
    format_name: str,
    sha256: str,
    sources: list[dict[str, Any]],
    published: date,
    published_from: str,
    say: Progress,
) -> IngestResult:
    """Store one list's snapshot and bring its history up to date, inside the caller's transaction."""
    info = get_list(list_id)
    existing = queries.snapshot_by_sha(conn, list_id, sha256)
    if existing is not None:
        return IngestResult(
            list_id,
            existing.id,
            existing.published,
            existing.format,
            existing.record_count,
            sha256,
            False,
            published_from,
        )
    queries.ensure_list(
        conn,
        {
            "id": info.id,
            "title": info.title,
            "authority": info.authority,
            "country": info.country,
            "url": info.url,
        },
    )
    say(f"storing {len(parsed.records)} records of {list_id}")
    snapshot_id = queries.insert_snapshot(
        conn,
        {
            "list_id": list_id,
            "published": published,
            "ingested_at": datetime.now(UTC),
            "sha256": sha256,
            "format": format_name,
            "record_count": len(parsed.records),
            "sources": sources,
            "warnings": list(parsed.warnings),
        },
    )
    # the list's snapshots in publication order, the new one among them (nothing below adds one)
    ordered = queries.list_snapshots(conn, list_id)
    newest = ordered[-1].id == snapshot_id
    record_ids, listed_on = _store_records(conn, list_id, snapshot_id, parsed.records, newest=newest)
    say("deriving history")
    if parsed.events is not None:
        counts = _replace_stated_events(conn, list_id, snapshot_id, parsed, record_ids) if newest else {}
    else:
        counts = _rederive_events(conn, list_id, snapshot_id, ordered, listed_on)
    return IngestResult(
        list_id,
        snapshot_id,
        published,
        format_name,
        len(parsed.records),
        sha256,
        True,
        published_from,
        counts,
        parsed.warnings,
    )


def _already_stored(
    store: Store, sha256: str, *, list_id: str | None, format_name: str | None
) -> IngestResult | None:
    """The snapshot that already holds exactly these input bytes, if the options agree with it."""
    with store.engine.connect() as conn:
        found = [
            snap
            for snap in queries.snapshots_by_sha(conn, sha256)
            if (list_id is None or snap.list_id == list_id)
            and (format_name is None or snap.format == format_name)
        ]
    if len(found) != 1:
        return None
    (snap,) = found
    return IngestResult(
        snap.list_id, snap.id, snap.published, snap.format, snap.record_count, sha256, False, "stored"
    )


def _resolve_list(parsed: ParsedList, list_id: str | None) -> str:
    if list_id is None:
        if parsed.list_id is None:
            raise InvalidQuery(
                f"the {parsed.format} content does not say which list it is; name it with --list"
            )
        return parsed.list_id
    if parsed.list_id is not None and parsed.list_id != list_id:
        raise InvalidQuery(f"these files are {parsed.list_id}, not {list_id} as --list says")
    return list_id


def _resolve_published(parsed: ParsedList, published: date | None, files: Sequence[Path]) -> tuple[date, str]:
    if published is not None:
        return published, "option"
    if parsed.published is not None:
        return parsed.published, "content"
    from_path = _date_from_paths(files)
    if from_path is not None:
        return from_path, "path"
    raise InvalidQuery("the files do not say when they were published; give --published YYYY-MM-DD")


_NAME_COLUMNS = ("record_id", "value", "key", "kind")
_IDENTIFIER_COLUMNS = ("record_id", "scheme", "value", "key", "exchange", "country")
_LINK_COLUMNS = ("record_id", "relation", "target_name", "target_key")
_ENTITY_COLUMNS = ("id", "list_id", "source_key", "schema", "caption")


def _store_records(
    conn: Connection, list_id: str, snapshot_id: int, records: Sequence[Record], *, newest: bool
) -> tuple[dict[str, int], dict[int, str | None]]:
    """Store the snapshot's entries; returns source key -> record id, and the `listed_on` of the
    record versions it inserted (so deriving events need not read back what was just written).

    Rows are built as tuples in the tables' column order (`queries.insert_values`), not as dicts
    turned into tuples later."""
    known_entities = queries.entity_ids_by_key(conn, list_id)
    new_entities = []
    captions = []
    for record in records:
        entity_id = known_entities.get(record.key)
        if entity_id is None:
            entity_id = entity_id_for(list_id, record.key)
            known_entities[record.key] = entity_id
            new_entities.append((entity_id, list_id, record.key, record.schema, record.caption))
        else:
            captions.append({"id": entity_id, "schema": record.schema, "caption": record.caption})
    queries.insert_values(conn, "entities", _ENTITY_COLUMNS, new_entities)
    if newest:  # the newest version names the entity
        queries.update_entities(conn, captions)

    known_records = queries.record_ids_by_fingerprint(conn, list_id)
    ids: dict[str, int] = {}
    fresh: list[Record] = []
    fresh_rows: list[tuple[str, str, dict[str, Any]]] = []
    for record in records:
        data = record.to_dict()
        fingerprint = record_fingerprint(data)
        entity_id = known_entities[record.key]
        record_id = known_records.get((entity_id, fingerprint))
        if record_id is None:
            fresh.append(record)
            fresh_rows.append((entity_id, fingerprint, data))
        else:
            ids[record.key] = record_id
    new_ids = queries.insert_records(conn, fresh_rows)
    name_rows, identifier_rows, link_rows = [], [], []
    for record, record_id in zip(fresh, new_ids, strict=True):
        ids[record.key] = record_id
        name_rows += [(record_id, name.value, name_key(name.value), name.kind) for name in record.names]
        if record.identifiers:
            identifier_rows += [
                (
                    record_id,
                    ident.scheme,
                    ident.value,
                    identifier_key(ident.scheme, ident.value),
                    market_of(ident.exchange),
                    ident.country,
                )
                for ident in record.identifiers
            ]
        if record.links:
            link_rows += [
                (record_id, link.relation, link.target_name, name_key(link.target_name))
                for link in record.links
            ]
    queries.insert_values(conn, "names", _NAME_COLUMNS, name_rows)
    queries.insert_values(conn, "identifiers", _IDENTIFIER_COLUMNS, identifier_rows)
    queries.insert_values(conn, "links", _LINK_COLUMNS, link_rows)
    queries.link_snapshot(conn, snapshot_id, ids.values())
    listed_on = {record_id: row[2]["listed_on"] for row, record_id in zip(fresh_rows, new_ids, strict=True)}
    return ids, listed_on


_EVENT_COLUMNS = (
    "entity_id", "list_id", "kind", "effective_on", "date_basis", "snapshot_id", "record_id",
    "citation", "source_url", "authority", "legal_basis", "note", "changes",
)  # fmt: skip
_KIND = _EVENT_COLUMNS.index("kind")
_Event = tuple[Any, ...]  # a row of `events` in the order of _EVENT_COLUMNS


def _replace_stated_events(
    conn: Connection, list_id: str, snapshot_id: int, parsed: ParsedList, record_ids: dict[str, int]
) -> dict[str, int]:
    """Dated lists state their whole history: the newest snapshot's events are the list's events
    (call it for the newest snapshot only)."""
    queries.delete_events(conn, list_id)
    entity_ids = queries.entity_ids_by_key(conn, list_id)
    rows: list[_Event] = []
    counts: dict[str, int] = {}
    assert parsed.events is not None
    record_basis = str(DateBasis.RECORD)
    for ev in parsed.events:
        kind = str(ev.kind)
        rows.append(
            (
                entity_ids[ev.record_key], list_id, kind, ev.effective_on, record_basis, snapshot_id,
                record_ids[ev.record_key], ev.citation, ev.source_url, ev.authority, ev.legal_basis,
                ev.note, None,
            )
        )  # fmt: skip
        counts[kind] = counts.get(kind, 0) + 1
    queries.insert_values(conn, "events", _EVENT_COLUMNS, rows)
    return counts


def _rederive_events(
    conn: Connection, list_id: str, snapshot_id: int, ordered: Sequence[Any], listed_on: dict[int, str | None]
) -> dict[str, int]:
    """Diff the new snapshot against its neighbours in publication order.

    A snapshot may arrive out of order (an older file ingested later), so the events of the
    snapshot after it are derived again too.
    """
    position = next(i for i, snap in enumerate(ordered) if snap.id == snapshot_id)
    affected = ordered[position : position + 2]
    queries.delete_events(conn, list_id, [snap.id for snap in affected])
    counts: dict[str, int] = {}
    for index in range(position, position + len(affected)):
        previous = ordered[index - 1] if index > 0 else None
        current = ordered[index]
        rows = _diff_events(conn, list_id, previous, current, listed_on)
        queries.insert_values(conn, "events", _EVENT_COLUMNS, rows)
        if current.id == snapshot_id:
            for row in rows:
                counts[row[_KIND]] = counts.get(row[_KIND], 0) + 1
    return counts


def _diff_events(
    conn: Connection, list_id: str, previous: Any, current: Any, known_listed_on: dict[int, str | None]
) -> list[_Event]:
    diff = diff_snapshots(conn, list_id, previous.id if previous else None, current.id)
    needed = [rid for _, rid in diff.listed if rid not in known_listed_on]
    needed += [r for _, old, new in diff.amended for r in (old, new)]
    data = queries.record_data(conn, needed)
    snapshot_id = current.id
    citation = f"{list_id} snapshot #{snapshot_id} published {current.published.isoformat()}"
    listed, snapshot_basis = str(EventKind.LISTED), str(DateBasis.SNAPSHOT)
    if previous is None:
        unstated = (current.published, str(DateBasis.FIRST_SNAPSHOT))
    else:
        unstated = (current.published, snapshot_basis)
    record_basis = str(DateBasis.RECORD)
    rows: list[_Event] = []
    for entity_id, record_id in diff.listed:
        listed_on = (
            known_listed_on[record_id] if record_id in known_listed_on else data[record_id].get("listed_on")
        )
        if listed_on:
            effective_on, basis = date.fromisoformat(listed_on), record_basis
            source = f"listing date {listed_on} stated in the record; first seen in {citation}"
        else:
            (effective_on, basis), source = unstated, citation
        rows.append(
            (
                entity_id,
                list_id,
                listed,
                effective_on,
                basis,
                snapshot_id,
                record_id,
                source,
                None,
                None,
                None,
                None,
                None,
            )
        )
    delisted, absent = str(EventKind.DELISTED), f"absent from {citation}"
    for entity_id, record_id in diff.delisted:
        rows.append(
            (
                entity_id, list_id, delisted, current.published, snapshot_basis, snapshot_id, record_id,
                absent, None, None, None, None, None,
            )
        )  # fmt: skip
    amended = str(EventKind.AMENDED)
    for entity_id, old_id, new_id in diff.amended:
        rows.append(
            (
                entity_id, list_id, amended, current.published, snapshot_basis, snapshot_id, new_id,
                citation, None, None, None, None, diff_fields(data[old_id], data[new_id]),
            )
        )  # fmt: skip
    return rows
