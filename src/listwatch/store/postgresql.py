"""What only PostgreSQL does: bulk inserts through COPY.

An ingest of the SDN files writes about 60,000 rows (entities, names, identifiers, links, snapshot
links, events). psycopg's pipelined `executemany` sends one INSERT per row; `COPY ... FROM STDIN`
streams them as one statement, which took the ingest's inserts from about 3.5 s to about 1 s.

    copy_rows(conn, names, [{"record_id": 1, "value": "Xiaomi Corp", "key": "xiaomi corp", "kind": "primary"}])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table

__all__ = ["copy_rows"]


def copy_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (all with the keys of the first) into `table` with COPY, in the caller's
    transaction. Values pass through the columns' bind processors (JSON), as `conn.execute` does."""
    if not rows:
        return
    columns = list(rows[0])
    dialect = conn.dialect
    processors = {
        name: proc
        for name in columns
        if (proc := table.c[name].type._cached_bind_processor(dialect)) is not None
    }
    quote = dialect.identifier_preparer.quote
    # Identifiers only (from the table's own metadata, quoted by the dialect); values travel as data.
    statement = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in columns)}) FROM STDIN"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [processors[name](row[name]) if name in processors else row[name] for name in columns]
                )
    finally:
        cursor.close()
