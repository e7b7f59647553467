"""Every statement about screening runs and reviews (the audit trail), over a SQLAlchemy `Connection`.

Like `store.queries`: Core expressions with bound parameters, portable between SQLite and
PostgreSQL, and the caller owns the transaction. Runs are written once and reviews only appended;
nothing here updates or deletes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select

from listwatch.errors import UnknownRun
from listwatch.store.tables import lists, reviews, run_hits, run_rows, run_snapshots, runs, snapshots

__all__ = [
    "all_reviews",
    "insert_review",
    "insert_run",
    "insert_run_hits",
    "insert_run_rows",
    "insert_run_snapshots",
    "parse_run_label",
    "recent_runs",
    "reviews_of_entities",
    "run_by_id",
    "run_hits_of",
    "run_label",
    "run_rows_of",
    "run_snapshots_of",
]


def run_label(run_id: int) -> str:
    """How a run is shown and named on the command line: `run-0007` for run 7."""
    return f"run-{run_id:04d}"


def parse_run_label(text: str) -> int:
    """`run-0007`, `run-7` or `7` -> 7; anything else is an `UnknownRun`."""
    digits = text.strip().lower().removeprefix("run-")
    if not digits.isdigit() or int(digits) < 1:
        raise UnknownRun(text)
    return int(digits)


# -- writes ---------------------------------------------------------------------------------------


def insert_run(conn: Connection, row: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(runs).returning(runs.c.id), [dict(row)]).scalar_one())


def insert_run_snapshots(conn: Connection, run_id: int, snapshot_ids: Iterable[int]) -> None:
    rows = [{"run_id": run_id, "snapshot_id": sid} for sid in sorted(set(snapshot_ids))]
    if rows:
        conn.execute(insert(run_snapshots), rows)


def insert_run_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(run_rows), [dict(r) for r in rows])


def insert_run_hits(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(run_hits), [dict(r) for r in rows])


def insert_review(conn: Connection, row: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(reviews).returning(reviews.c.id), [dict(row)]).scalar_one())


# -- reads ----------------------------------------------------------------------------------------


def run_by_id(conn: Connection, run_id: int) -> Row[Any] | None:
    return conn.execute(select(runs).where(runs.c.id == run_id)).first()


def recent_runs(conn: Connection, limit: int) -> list[Row[Any]]:
    """The newest runs first, each with its number of hits and of rows with hits."""
    hit_counts = (
        select(
            run_hits.c.run_id,
            func.count().label("hit_count"),
            func.count(run_hits.c.row_number.distinct()).label("rows_with_hits"),
        )
        .group_by(run_hits.c.run_id)
        .subquery()
    )
    stmt = (
        select(
            runs,
            func.coalesce(hit_counts.c.hit_count, 0).label("hit_count"),
            func.coalesce(hit_counts.c.rows_with_hits, 0).label("rows_with_hits"),
        )
        .outerjoin(hit_counts, hit_counts.c.run_id == runs.c.id)
        .order_by(runs.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(stmt))


def run_snapshots_of(conn: Connection, run_id: int) -> list[Row[Any]]:
    """The run's snapshots with their list's title (as `list_title`), in list and publication order."""
    stmt = (
        select(snapshots, lists.c.title.label("list_title"))
        .join(run_snapshots, run_snapshots.c.snapshot_id == snapshots.c.id)
        .join(lists, lists.c.id == snapshots.c.list_id)
        .where(run_snapshots.c.run_id == run_id)
        .order_by(snapshots.c.list_id, snapshots.c.published, snapshots.c.id)
    )
    return list(conn.execute(stmt))


def run_rows_of(conn: Connection, run_id: int) -> list[Row[Any]]:
    stmt = select(run_rows).where(run_rows.c.run_id == run_id).order_by(run_rows.c.row_number)
    return list(conn.execute(stmt))


def run_hits_of(conn: Connection, run_id: int) -> list[Row[Any]]:
    stmt = select(run_hits).where(run_hits.c.run_id == run_id).order_by(run_hits.c.number)
    return list(conn.execute(stmt))


_REVIEWS_OF = (
    select(reviews).where(reviews.c.entity_id.in_(bindparam("ids", expanding=True))).order_by(reviews.c.id)
)


def reviews_of_entities(conn: Connection, entity_ids: Sequence[str]) -> list[Row[Any]]:
    """Every review of a hit on one of the entities, oldest first."""
    found: list[Row[Any]] = []
    ids = sorted(set(entity_ids))
    for start in range(0, len(ids), 500):
        found.extend(conn.execute(_REVIEWS_OF, {"ids": ids[start : start + 500]}))
    found.sort(key=lambda r: r.id)
    return found


def all_reviews(conn: Connection) -> list[Row[Any]]:
    """Every review, oldest first, with the hit's caption and list from its run."""
    stmt = (
        select(
            reviews,
            run_hits.c.list_id,
            run_hits.c.score,
            run_hits.c.data["caption"].as_string().label("caption"),
        )
        .outerjoin(
            run_hits,
            (run_hits.c.run_id == reviews.c.run_id)
            & (run_hits.c.row_number == reviews.c.row_number)
            & (run_hits.c.entity_id == reviews.c.entity_id),
        )
        .order_by(reviews.c.id)
    )
    return list(conn.execute(stmt))
