"""Bulk inserts for an ingest: rows as tuples, straight to the driver.

An ingest of the SDN files writes about 70,000 rows. Going through `conn.execute(insert(table), rows)`
costs SQLAlchemy's per-row parameter handling, which was half the time of the inserts. Here each
statement is compiled once per (dialect, table, columns) by SQLAlchemy, the values pass through the
columns' own bind processors (dates, JSON), so the bytes stored are those `conn.execute` writes, and
the rows go to the driver's `executemany` (PostgreSQL: COPY, see `store.postgresql`).

    insert_values(conn, names, ("record_id", "value", "key", "kind"), [(1, "Xiaomi Corp", "xiaomi corp", "primary")])
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from json import encoder as _json_encoder
from typing import Any

from sqlalchemy import JSON, Connection, Table, bindparam, func, insert, select

from listwatch.errors import StoreError
from listwatch.store.postgresql import copy_values

__all__ = ["insert_returning_ids", "insert_values", "json_encoder"]

_Processor = Callable[[Any], Any]


def json_encoder(*, sort_keys: bool, ensure_ascii: bool) -> Callable[[Any], str]:
    """`json.JSONEncoder(sort_keys=..., ensure_ascii=...).encode`, the same text, without the
    encoder's set-up on every call (which was most of the cost of encoding a small value): CPython's
    C encoder is built once. Values must not contain reference cycles (the encoder does not look).

    >>> json_encoder(sort_keys=True, ensure_ascii=False)({"b": "é", "a": None})
    '{"a": null, "b": "é"}'
    """
    reference = json.JSONEncoder(sort_keys=sort_keys, ensure_ascii=ensure_ascii)
    make = getattr(_json_encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the encoder itself
        return reference.encode
    strings = _json_encoder.encode_basestring_ascii if ensure_ascii else _json_encoder.encode_basestring
    # The arguments JSONEncoder.iterencode passes, with no circular-reference markers.
    encode = make(None, reference.default, strings, None, ": ", ", ", sort_keys, False, True)

    def encode_value(value: Any) -> str:
        return "".join(encode(value, 0))

    return encode_value


# What `json.dumps(value)` gives, which is how SQLAlchemy's JSON type serialises on SQLite.
_DUMPS = json_encoder(sort_keys=False, ensure_ascii=True)


def _processor(table: Table, name: str, dialect: Any) -> _Processor | None:
    column_type = table.c[name].type
    proc: _Processor | None = column_type._cached_bind_processor(dialect)
    if (
        proc is not None
        and isinstance(column_type, JSON)
        and dialect.name == "sqlite"
        and dialect._json_serializer is None  # the default: json.dumps
        and not column_type.none_as_null
        and column_type._str_impl.bind_processor(dialect) is None
    ):
        # The JSON type's processor on SQLite is json.dumps (None becomes "null"); the same text,
        # with the encoder built once.
        return _dumps
    return proc


def _dumps(value: Any) -> str:
    return "null" if value is None else _DUMPS(value)


# (dialect, table, columns) -> (SQL, [(index, bind processor)]): compiling one INSERT took about
# 0.5 ms, paid on every insert of every list of a bundled file.
_INSERTS: dict[tuple[Any, Table, tuple[str, ...]], tuple[str, list[tuple[int, _Processor]]]] = {}


def _compiled_insert(
    dialect: Any, table: Table, columns: tuple[str, ...]
) -> tuple[str, list[tuple[int, _Processor]]]:
    cache_key = (dialect, table, columns)
    found = _INSERTS.get(cache_key)
    if found is None:
        compiled = insert(table).values({name: bindparam(name) for name in columns}).compile(dialect=dialect)
        if not compiled.positional or list(compiled.positiontup or []) != list(columns):
            raise StoreError(f"bulk inserts need a positional driver (not {dialect.name}'s paramstyle)")
        processors = [
            (index, proc)
            for index, name in enumerate(columns)
            if (proc := _processor(table, name, dialect)) is not None
        ]
        found = (compiled.string, processors)
        if len(_INSERTS) < 256:
            _INSERTS[cache_key] = found
    return found


def _driver_values(
    processors: list[tuple[int, _Processor]], values: Sequence[Sequence[Any]]
) -> Sequence[Sequence[Any]]:
    if not processors:
        return values
    out: list[tuple[Any, ...]] = []
    for row in values:
        processed = list(row)
        for index, proc in processors:
            processed[index] = proc(processed[index])
        out.append(tuple(processed))
    return out


def insert_values(
    conn: Connection, table: Table, columns: tuple[str, ...], values: Sequence[Sequence[Any]]
) -> None:
    """Insert rows given as tuples in the order of `columns`, in the caller's transaction."""
    if not values:
        return
    if conn.dialect.name == "postgresql":  # COPY: a third of the time of a pipelined executemany
        copy_values(conn, table, columns, values)
        return
    sql, processors = _compiled_insert(conn.dialect, table, columns)
    conn.exec_driver_sql(sql, _driver_values(processors, values))


def insert_returning_ids(
    conn: Connection, table: Table, columns: tuple[str, ...], values: Sequence[Sequence[Any]]
) -> list[int]:
    """`insert_values` for a table with an integer `id` key: the new ids, in the order of `values`."""
    if not values:
        return []
    if conn.dialect.name != "sqlite":
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        rows = [dict(zip(columns, row, strict=True)) for row in values]
        return [int(i) for i in conn.execute(stmt, rows).scalars().all()]
    # SQLite gives each new row an id above every id in the table (max + 1; with AUTOINCREMENT,
    # above any ever given), so rows inserted in order, in one write transaction, get increasing
    # ids above the largest before: read back, in order, they are the rows' ids. A count other
    # than the rows' (a trigger's rows, say) is refused rather than guessed at.
    sql, processors = _compiled_insert(conn.dialect, table, columns)
    largest_sql, new_ids_sql = _id_reads(conn.dialect, table)
    largest = conn.exec_driver_sql(largest_sql).scalar()
    conn.exec_driver_sql(sql, _driver_values(processors, values))
    ids = [int(i) for i in conn.exec_driver_sql(new_ids_sql, (-1 if largest is None else largest,)).scalars()]
    if len(ids) != len(values):
        raise StoreError(f"{table.name}: {len(ids)} new rows where {len(values)} were inserted")
    return ids


_ID_READS: dict[tuple[Any, Table], tuple[str, str]] = {}


def _id_reads(dialect: Any, table: Table) -> tuple[str, str]:
    """The SQLite statements of `insert_returning_ids`, compiled once: the largest id, and the
    ids above a given one, in order."""
    found = _ID_READS.get((dialect, table))
    if found is None:
        largest = select(func.max(table.c.id))
        above = select(table.c.id).where(table.c.id > bindparam("largest")).order_by(table.c.id)
        found = (largest.compile(dialect=dialect).string, above.compile(dialect=dialect).string)
        if len(_ID_READS) < 256:
            _ID_READS[(dialect, table)] = found
    return found
