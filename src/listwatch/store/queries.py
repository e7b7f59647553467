"""Every statement listwatch runs, as small functions over a SQLAlchemy `Connection`.

All SQL is built with SQLAlchemy Core expressions (bound parameters only) and is portable between
SQLite and PostgreSQL. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, delete, func, insert, or_, select, update

from listwatch.store.postgresql import copy_rows
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
    "insert_entities",
    "insert_events",
    "insert_records",
    "insert_rows",
    "insert_snapshot",
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


def ensure_list(conn: Connection, row: Mapping[str, Any]) -> None:
    exists = conn.execute(select(lists.c.id).where(lists.c.id == row["id"])).first()
    if exists is None:
        conn.execute(insert(lists), [dict(row)])


def snapshot_by_sha(conn: Connection, list_id: str, sha256: str) -> Row[Any] | None:
    stmt = select(snapshots).where(snapshots.c.list_id == list_id, snapshots.c.sha256 == sha256)
    return conn.execute(stmt).first()


def snapshots_by_sha(conn: Connection, sha256: str) -> list[Row[Any]]:
    return list(conn.execute(select(snapshots).where(snapshots.c.sha256 == sha256)))


def insert_snapshot(conn: Connection, row: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(snapshots).returning(snapshots.c.id), [dict(row)]).scalar_one())


def entity_ids_by_key(conn: Connection, list_id: str) -> dict[str, str]:
    stmt = select(entities.c.source_key, entities.c.id).where(entities.c.list_id == list_id)
    return {key: entity_id for key, entity_id in conn.execute(stmt)}


def insert_entities(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        _insert_plain(conn, entities, rows)


def update_entities(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Refresh schema and caption from the newest version (rows: id, schema, caption)."""
    if rows:
        stmt = (
            update(entities)
            .where(entities.c.id == bindparam("_id"))
            .values(schema=bindparam("_schema"), caption=bindparam("_caption"))
        )
        conn.execute(stmt, [{"_id": r["id"], "_schema": r["schema"], "_caption": r["caption"]} for r in rows])


def record_ids_by_fingerprint(conn: Connection, list_id: str) -> dict[tuple[str, str], int]:
    stmt = (
        select(records.c.entity_id, records.c.fingerprint, records.c.id)
        .join(entities, entities.c.id == records.c.entity_id)
        .where(entities.c.list_id == list_id)
    )
    return {(entity_id, fp): record_id for entity_id, fp, record_id in conn.execute(stmt)}


def insert_records(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert record versions and return their ids, in the order of `rows`."""
    if not rows:
        return []
    if conn.dialect.name != "sqlite":
        stmt = insert(records).returning(records.c.id, sort_by_parameter_order=True)
        return [int(i) for i in conn.execute(stmt, list(rows)).scalars().all()]
    # SQLite: one driver-level INSERT per row on the transaction's own connection, reading the new
    # id from `lastrowid`; the values go through the columns' own bind processors (the JSON type's
    # serialiser), so the stored bytes are what `conn.execute(insert(records), rows)` writes.
    sql, params = _plain_params(conn, records, rows)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        ids = []
        for values in params:
            cursor.execute(sql, values)
            ids.append(int(cursor.lastrowid))
    finally:
        cursor.close()
    return ids


# (dialect, table, columns) -> the compiled INSERT: compiling one took about 0.5 ms, paid on every
# insert of every list of a bundled file.
_INSERTS: dict[tuple[Any, Table, tuple[str, ...]], tuple[str, bool, list[str], dict[str, Any]]] = {}


def _compiled_insert(
    dialect: Any, table: Table, columns: tuple[str, ...]
) -> tuple[str, bool, list[str], dict[str, Any]]:
    cache_key = (dialect, table, columns)
    found = _INSERTS.get(cache_key)
    if found is None:
        compiled = insert(table).values({name: bindparam(name) for name in columns}).compile(dialect=dialect)
        processors = {
            name: proc
            for name in columns
            if (proc := table.c[name].type._cached_bind_processor(dialect)) is not None
        }
        order = list(compiled.positiontup or []) if compiled.positional else list(columns)
        found = (compiled.string, bool(compiled.positional), order, processors)
        if len(_INSERTS) < 256:
            _INSERTS[cache_key] = found
    return found


def _plain_params(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> tuple[str, list[Any]]:
    """An INSERT compiled by SQLAlchemy for the connection's dialect, with the rows' parameters
    already passed through each column's bind processor (dates, JSON), in the driver's form."""
    columns = tuple(rows[0])
    sql, positional, order, processors = _compiled_insert(conn.dialect, table, columns)
    if not positional:
        params: list[Any] = [
            {name: (processors[name](value) if name in processors else value) for name, value in row.items()}
            for row in rows
        ]
        return sql, params
    if len(order) == 1:
        (only,) = order
        params = [(row[only],) for row in rows]
    else:
        getter = itemgetter(*order)
        params = [getter(row) for row in rows]
    processed = [(index, processors[name]) for index, name in enumerate(order) if name in processors]
    if processed:
        for position, values in enumerate(params):
            values = list(values)
            for index, proc in processed:
                values[index] = proc(values[index])
            params[position] = tuple(values)
    return sql, params


def _insert_plain(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """executemany straight on the driver: SQLAlchemy's per-row parameter handling was half the
    cost of the insert. The statement is still compiled by SQLAlchemy for the connection's dialect
    and the values pass through the columns' bind processors (dates, JSON), as `conn.execute`
    would do."""
    if conn.dialect.name == "postgresql":  # COPY: a third of the time of a pipelined executemany
        copy_rows(conn, table, rows)
        return
    sql, params = _plain_params(conn, table, rows)
    conn.exec_driver_sql(sql, params)


def insert_rows(conn: Connection, table_name: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Bulk insert into one of the per-record child tables (names, identifiers, links)."""
    table = {"names": names, "identifiers": identifiers, "links": links}[table_name]
    if rows:
        _insert_plain(conn, table, rows)


def link_snapshot(conn: Connection, snapshot_id: int, record_ids: Iterable[int]) -> None:
    rows = [{"snapshot_id": snapshot_id, "record_id": rid} for rid in record_ids]
    if rows:
        _insert_plain(conn, snapshot_records, rows)


def delete_events(conn: Connection, list_id: str, snapshot_ids: Sequence[int] | None = None) -> None:
    stmt = delete(events).where(events.c.list_id == list_id)
    if snapshot_ids is not None:
        stmt = stmt.where(events.c.snapshot_id.in_(list(snapshot_ids)))
    conn.execute(stmt)


def insert_events(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        _insert_plain(conn, events, rows)


# -- reads ----------------------------------------------------------------------------------------


def list_snapshots(conn: Connection, list_id: str | None = None) -> list[Row[Any]]:
    """Snapshots in publication order (ties by ingest order)."""
    stmt = select(snapshots).order_by(snapshots.c.list_id, snapshots.c.published, snapshots.c.id)
    if list_id is not None:
        stmt = stmt.where(snapshots.c.list_id == list_id)
    return list(conn.execute(stmt))


def snapshot_contents(conn: Connection, snapshot_id: int) -> dict[str, tuple[int, str]]:
    """entity id -> (record id, fingerprint) for every entry of a snapshot."""
    stmt = (
        select(records.c.entity_id, records.c.id, records.c.fingerprint)
        .join(snapshot_records, snapshot_records.c.record_id == records.c.id)
        .where(snapshot_records.c.snapshot_id == snapshot_id)
    )
    return {entity_id: (record_id, fp) for entity_id, record_id, fp in conn.execute(stmt)}


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
