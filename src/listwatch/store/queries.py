"""Every statement listwatch runs, as small functions over a SQLAlchemy `Connection`.

All SQL is built with SQLAlchemy Core expressions (bound parameters only) and is portable between
SQLite and PostgreSQL. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, or_, select, update

from listwatch.errors import StoreError
from listwatch.store.bulk import insert_returning_ids
from listwatch.store.bulk import insert_values as insert_values_into
from listwatch.store.tables import (
    entities,
    events,
    identifiers,
    links,
    lists,
    names,
    records,
    snapshot_records,
    snapshots,
)

__all__ = [
    "RECORD_COLUMNS",
    "all_lists",
    "delete_events",
    "ensure_list",
    "entities_of_list",
    "entity_ids_by_identifier",
    "entity_ids_by_key",
    "entity_ids_by_name",
    "entity_ids_by_names",
    "entity_ids_linking_to",
    "entity_ids_sharing_primary_names",
    "entity_rows",
    "event_snapshots_until",
    "events_between",
    "events_for",
    "insert_records",
    "insert_snapshot",
    "insert_values",
    "last_event_on",
    "link_snapshot",
    "list_events_between",
    "list_events_until",
    "list_snapshots",
    "name_suggestions",
    "record_data",
    "record_fingerprints",
    "record_ids_by_fingerprint",
    "snapshot_by_sha",
    "snapshot_contents",
    "snapshots_by_sha",
    "update_entities",
]

_CHUNK = 500  # keeps IN (...) lists under SQLite's and PostgreSQL's parameter limits


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


# -- writes ---------------------------------------------------------------------------------------

# The statements of an ingest, built once: building one (coercing its expressions, then its cache
# key) took 0.1-0.3 ms per call, about a third of the fixed cost of ingesting a small file.
_LIST_EXISTS = select(lists.c.id).where(lists.c.id == bindparam("id"))
_SNAPSHOTS_BY_SHA = select(snapshots).where(snapshots.c.sha256 == bindparam("sha256"))
_SNAPSHOT_BY_SHA = _SNAPSHOTS_BY_SHA.where(snapshots.c.list_id == bindparam("list_id"))
_INSERT_SNAPSHOT = insert(snapshots).returning(snapshots.c.id)
_ENTITY_IDS_BY_KEY = select(entities.c.source_key, entities.c.id).where(
    entities.c.list_id == bindparam("list_id")
)
_UPDATE_ENTITIES = (
    update(entities)
    .where(entities.c.id == bindparam("_id"))
    .values(schema=bindparam("_schema"), caption=bindparam("_caption"))
)
_RECORD_IDS_BY_FINGERPRINT = (
    select(records.c.entity_id, records.c.fingerprint, records.c.id)
    .join(entities, entities.c.id == records.c.entity_id)
    .where(entities.c.list_id == bindparam("list_id"))
)
_DELETE_EVENTS = delete(events).where(events.c.list_id == bindparam("list_id"))
_DELETE_SNAPSHOT_EVENTS = _DELETE_EVENTS.where(events.c.snapshot_id.in_(bindparam("ids", expanding=True)))

# The tables an ingest fills row by row, for `insert_values`.
_BULK_TABLES = {
    table.name: table for table in (entities, names, identifiers, links, snapshot_records, events)
}
#: The columns of `insert_records`'s tuples.
RECORD_COLUMNS = ("entity_id", "fingerprint", "data")


def ensure_list(conn: Connection, row: Mapping[str, Any]) -> None:
    if conn.execute(_LIST_EXISTS, {"id": row["id"]}).first() is None:
        conn.execute(insert(lists), [dict(row)])


def snapshot_by_sha(conn: Connection, list_id: str, sha256: str) -> Row[Any] | None:
    return conn.execute(_SNAPSHOT_BY_SHA, {"list_id": list_id, "sha256": sha256}).first()


def snapshots_by_sha(conn: Connection, sha256: str) -> list[Row[Any]]:
    return list(conn.execute(_SNAPSHOTS_BY_SHA, {"sha256": sha256}))


def insert_snapshot(conn: Connection, row: Mapping[str, Any]) -> int:
    return int(conn.execute(_INSERT_SNAPSHOT, [dict(row)]).scalar_one())


def entity_ids_by_key(conn: Connection, list_id: str) -> dict[str, str]:
    return {key: entity_id for key, entity_id in conn.execute(_ENTITY_IDS_BY_KEY, {"list_id": list_id})}


def update_entities(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Refresh schema and caption from the newest version (rows: id, schema, caption)."""
    if rows:
        params = [{"_id": r["id"], "_schema": r["schema"], "_caption": r["caption"]} for r in rows]
        conn.execute(_UPDATE_ENTITIES, params)


def record_ids_by_fingerprint(conn: Connection, list_id: str) -> dict[tuple[str, str], int]:
    found = conn.execute(_RECORD_IDS_BY_FINGERPRINT, {"list_id": list_id})
    return {(entity_id, fp): record_id for entity_id, fp, record_id in found}


def insert_records(conn: Connection, values: Sequence[tuple[str, str, Any]]) -> list[int]:
    """Insert record versions, tuples in the order of `RECORD_COLUMNS` (`data` as a JSON-ready
    value), and return their ids, in the order of `values`."""
    return insert_returning_ids(conn, records, RECORD_COLUMNS, values)


def insert_values(
    conn: Connection, table_name: str, columns: tuple[str, ...], values: Sequence[Sequence[Any]]
) -> None:
    """Bulk insert into one of the tables an ingest fills (entities, names, identifiers, links,
    snapshot_records, events): rows as tuples in the order of `columns` (see `store.bulk`)."""
    table = _BULK_TABLES.get(table_name)
    if table is None:
        raise StoreError(f"no bulk inserts into {table_name!r} (one of: {', '.join(_BULK_TABLES)})")
    insert_values_into(conn, table, columns, values)


def link_snapshot(conn: Connection, snapshot_id: int, record_ids: Iterable[int]) -> None:
    values = [(snapshot_id, rid) for rid in record_ids]
    insert_values(conn, "snapshot_records", ("snapshot_id", "record_id"), values)


def delete_events(conn: Connection, list_id: str, snapshot_ids: Sequence[int] | None = None) -> None:
    if snapshot_ids is None:
        conn.execute(_DELETE_EVENTS, {"list_id": list_id})
    else:
        conn.execute(_DELETE_SNAPSHOT_EVENTS, {"list_id": list_id, "ids": list(snapshot_ids)})


# -- reads ----------------------------------------------------------------------------------------


_SNAPSHOTS = select(snapshots).order_by(snapshots.c.list_id, snapshots.c.published, snapshots.c.id)
_LIST_SNAPSHOTS = _SNAPSHOTS.where(snapshots.c.list_id == bindparam("list_id"))


def list_snapshots(conn: Connection, list_id: str | None = None) -> list[Row[Any]]:
    """Snapshots in publication order (ties by ingest order)."""
    if list_id is None:
        return list(conn.execute(_SNAPSHOTS))
    return list(conn.execute(_LIST_SNAPSHOTS, {"list_id": list_id}))


_SNAPSHOT_CONTENTS = (
    select(records.c.entity_id, records.c.id, records.c.fingerprint)
    .join(snapshot_records, snapshot_records.c.record_id == records.c.id)
    .where(snapshot_records.c.snapshot_id == bindparam("snapshot_id"))
)


def snapshot_contents(conn: Connection, snapshot_id: int) -> dict[str, tuple[int, str]]:
    """entity id -> (record id, fingerprint) for every entry of a snapshot."""
    found = conn.execute(_SNAPSHOT_CONTENTS, {"snapshot_id": snapshot_id})
    return {entity_id: (record_id, fp) for entity_id, record_id, fp in found}


# The lookups behind `status` and `history` run several statements per question; building each
# statement once (IN lists as expanding parameters) skips SQLAlchemy's construction and cache-key
# work on every call, about half of their cost.
_RECORD_DATA = select(records.c.id, records.c.data).where(records.c.id.in_(bindparam("ids", expanding=True)))


def record_data(conn: Connection, record_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(record_ids))):
        found.update({rid: data for rid, data in conn.execute(_RECORD_DATA, {"ids": list(chunk)})})
    return found


def all_lists(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(lists).order_by(lists.c.id)))


_BY_NAME = (
    select(records.c.entity_id)
    .distinct()
    .join(names, names.c.record_id == records.c.id)
    .where(names.c.key == bindparam("key"))
)


def entity_ids_by_name(conn: Connection, key: str) -> list[str]:
    return list(conn.execute(_BY_NAME, {"key": key}).scalars())


_BY_NAMES = (
    select(names.c.key, records.c.entity_id)
    .distinct()
    .join(names, names.c.record_id == records.c.id)
    .where(names.c.key.in_(bindparam("keys", expanding=True)))
)


def entity_ids_by_names(conn: Connection, keys: Iterable[str]) -> dict[str, set[str]]:
    """The entities bearing each of the name `keys` (keys no entity bears are left out), one
    statement per 500 keys."""
    found: dict[str, set[str]] = {}
    for chunk in _chunks(sorted(set(keys))):
        for key, entity_id in conn.execute(_BY_NAMES, {"keys": list(chunk)}):
            found.setdefault(key, set()).add(entity_id)
    return found


def entity_ids_by_identifier(conn: Connection, scheme: str, key: str, market: str | None = None) -> list[str]:
    stmt = _BY_IDENTIFIER if market is None else _BY_IDENTIFIER_MARKET
    return list(conn.execute(stmt, {"scheme": scheme, "key": key, "market": market}).scalars())


_BY_IDENTIFIER = (
    select(records.c.entity_id)
    .distinct()
    .join(identifiers, identifiers.c.record_id == records.c.id)
    .where(identifiers.c.scheme == bindparam("scheme"), identifiers.c.key == bindparam("key"))
    .order_by(records.c.entity_id)  # the same order on every database
)
_BY_IDENTIFIER_MARKET = _BY_IDENTIFIER.where(
    or_(identifiers.c.exchange == bindparam("market"), identifiers.c.exchange.is_(None))
)


_ENTITY_ROWS = (
    select(entities)
    .where(entities.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(entities.c.list_id, entities.c.id)
)


def entity_rows(conn: Connection, entity_ids: Sequence[str]) -> list[Row[Any]]:
    return list(conn.execute(_ENTITY_ROWS, {"ids": list(entity_ids)}))


def entities_of_list(conn: Connection, list_id: str) -> list[Row[Any]]:
    stmt = select(entities).where(entities.c.list_id == list_id).order_by(entities.c.id)
    return list(conn.execute(stmt))


_same_names, _same_records = names.alias(), records.alias()
_SHARING_PRIMARY = (
    select(records.c.entity_id)
    .distinct()
    .join(names, names.c.record_id == records.c.id)
    .where(
        names.c.kind == "primary",
        names.c.key.in_(
            select(_same_names.c.key)
            .join(_same_records, _same_names.c.record_id == _same_records.c.id)
            .where(
                _same_records.c.entity_id.in_(bindparam("ids", expanding=True)),
                _same_names.c.kind == "primary",
            )
        ),
    )
)


def entity_ids_sharing_primary_names(conn: Connection, entity_ids: Sequence[str]) -> list[str]:
    """Entities whose primary name is a primary name of one of `entity_ids` (one statement)."""
    return list(conn.execute(_SHARING_PRIMARY, {"ids": list(entity_ids)}).scalars())


def entity_ids_linking_to(conn: Connection, keys: Sequence[str]) -> list[str]:
    """Entities with a record whose link target is one of the name `keys`, or one of them followed
    by more words (a legal form: "... group co ltd" for "... group"); the caller checks which.
    One statement per 500 keys; `%`, `_` and `\\` in a key match only themselves."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(keys))):
        likes = [links.c.target_key.like(_escape_like(key) + " %", escape="\\") for key in chunk]
        stmt = (
            select(records.c.entity_id)
            .distinct()
            .join(links, links.c.record_id == records.c.id)
            .where(or_(links.c.target_key.in_(list(chunk)), *likes))
        )
        found.update(conn.execute(stmt).scalars())
    return sorted(found)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def events_for(conn: Connection, entity_ids: Sequence[str]) -> list[Row[Any]]:
    """Events of the entities with their snapshot's publication date, in date order."""
    return list(conn.execute(_EVENTS_FOR, {"ids": list(entity_ids)}))


_EVENTS_FOR = (
    select(events, snapshots.c.published.label("snapshot_published"))
    .join(snapshots, snapshots.c.id == events.c.snapshot_id)
    .where(events.c.entity_id.in_(bindparam("ids", expanding=True)))
    .order_by(events.c.entity_id, events.c.effective_on, events.c.id)
)


def list_events_between(
    conn: Connection, list_id: str, after: date | None, until: date | None
) -> list[Row[Any]]:
    stmt = (
        select(events, entities.c.caption)
        .join(entities, entities.c.id == events.c.entity_id)
        .where(events.c.list_id == list_id)
        .order_by(events.c.effective_on, events.c.id)
    )
    if after is not None:
        stmt = stmt.where(events.c.effective_on > after)
    if until is not None:
        stmt = stmt.where(events.c.effective_on <= until)
    return list(conn.execute(stmt))


def events_between(
    conn: Connection,
    *,
    after: date,
    until: date,
    list_ids: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> list[Row[Any]]:
    """The events in (after, until] of `list_ids` (None: every list), of `kinds` (None: any), in
    date order: one statement for all the lists."""
    stmt = (
        select(events)
        .where(events.c.effective_on > after, events.c.effective_on <= until)
        .order_by(events.c.effective_on, events.c.id)
    )
    if list_ids is not None:
        stmt = stmt.where(events.c.list_id.in_(list(list_ids)))
    if kinds is not None:
        stmt = stmt.where(events.c.kind.in_(list(kinds)))
    return list(conn.execute(stmt))


def name_suggestions(conn: Connection, key: str, limit: int = 5) -> list[str]:
    """Published names whose lookup key contains `key` (LIKE wildcards in `key` escaped)."""
    escaped = _escape_like(key)
    stmt = (
        select(names.c.value, func.length(names.c.key).label("n"))
        .where(names.c.key.like(f"%{escaped}%", escape="\\"))
        .group_by(names.c.value, names.c.key)
        .order_by("n", names.c.value)
        .limit(limit)
    )
    return [value for value, _ in conn.execute(stmt)]


def list_events_until(conn: Connection, until: date, list_ids: Sequence[str] | None = None) -> list[Row[Any]]:
    """Every event up to `until` (inclusive) of the lists (all when None), with the entity's schema
    and caption: one query for a bulk replay, in the order `events_for` gives one entity's events."""
    stmt = (
        select(
            events.c.id,
            events.c.entity_id,
            events.c.list_id,
            events.c.kind,
            events.c.effective_on,
            events.c.date_basis,
            events.c.record_id,
            entities.c.schema,
            entities.c.caption,
        )
        .join(entities, entities.c.id == events.c.entity_id)
        .where(events.c.effective_on <= until)
        .order_by(events.c.entity_id, events.c.effective_on, events.c.id)
    )
    if list_ids is not None:
        stmt = stmt.where(events.c.list_id.in_(list(list_ids)))
    return list(conn.execute(stmt))


def last_event_on(conn: Connection, until: date, list_ids: Sequence[str] | None = None) -> date | None:
    """The date of the latest event up to `until` (inclusive) of the lists (all when None)."""
    stmt = select(func.max(events.c.effective_on)).where(events.c.effective_on <= until)
    if list_ids is not None:
        stmt = stmt.where(events.c.list_id.in_(list(list_ids)))
    value: date | None = conn.execute(stmt).scalar()  # max() keeps the column's Date type
    return value


def event_snapshots_until(
    conn: Connection, until: date, list_ids: Sequence[str] | None = None
) -> list[Row[Any]]:
    """The snapshots that carry an event up to `until` (inclusive) of the lists (all when None):
    those an as-of answer for `until` is replayed from. With the list's title; in list and
    publication order."""
    carrying = select(events.c.snapshot_id).where(events.c.effective_on <= until)
    if list_ids is not None:
        carrying = carrying.where(events.c.list_id.in_(list(list_ids)))
    stmt = (
        select(snapshots, lists.c.title.label("list_title"))
        .join(lists, lists.c.id == snapshots.c.list_id)
        .where(snapshots.c.id.in_(carrying.distinct()))
        .order_by(snapshots.c.list_id, snapshots.c.published, snapshots.c.id)
    )
    return list(conn.execute(stmt))


_RECORD_FINGERPRINTS = select(records.c.id, records.c.fingerprint).where(
    records.c.id.in_(bindparam("ids", expanding=True))
)


def record_fingerprints(conn: Connection, record_ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(sorted(set(record_ids))):
        found.update({rid: fp for rid, fp in conn.execute(_RECORD_FINGERPRINTS, {"ids": list(chunk)})})
    return found
