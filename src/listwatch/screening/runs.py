"""Screening runs as stored: what a run holds, reading one back, listing them.

A run keeps who screened what (the input's name and SHA-256, each row as a query), when, with
which parameters, against which snapshots (`registry.provenance`), and each hit with the record
version it was scored against. `screening.batches` screens and writes runs; this module reads
them, with each hit's current review status (`screening.reviews`). Runs are numbered in the
database and shown as `run-0001`.

    run = load_run(store, "run-0001")
    run.input.sha256, [s.snapshot_id for s in run.snapshots], [h.caption for h in run.hits]
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from listwatch import __version__
from listwatch.errors import ParseError, UnknownRun
from listwatch.matching.score import DEFAULT_THRESHOLD
from listwatch.registry.provenance import SnapshotRef
from listwatch.screening.reviews import HitSubject, ReviewStatus, review_statuses
from listwatch.screening.screener import DEFAULT_CANDIDATES
from listwatch.store import Store, audit
from listwatch.store.timestamps import as_utc

__all__ = [
    "SOFTWARE",
    "InputFile",
    "RunHit",
    "RunParameters",
    "RunRow",
    "RunSummary",
    "ScreeningRun",
    "list_runs",
    "load_run",
    "run_from_rows",
]

SOFTWARE = f"listwatch {__version__}"


@dataclass(frozen=True)
class RunParameters:
    """Everything that decides a run's results besides its input and the lists' contents."""

    as_of: date
    lists: tuple[str, ...] | None = None  # None: every list
    threshold: float = DEFAULT_THRESHOLD
    limit: int = 3  # hits kept per row
    algorithm: str = "listwatch-v1"
    only_matches: bool = True
    name_column: str | None = None
    id_columns: tuple[str, ...] = ()
    key_column: str | None = None
    country_column: str | None = None
    schema: str = "LegalEntity"
    candidates: int = DEFAULT_CANDIDATES  # taken from the index per row (the screener's setting)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["lists"] = list(self.lists) if self.lists is not None else None
        data["id_columns"] = list(self.id_columns)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunParameters:
        values = dict(data)
        values["as_of"] = date.fromisoformat(values["as_of"])
        values["lists"] = tuple(values["lists"]) if values.get("lists") is not None else None
        values["id_columns"] = tuple(values.get("id_columns") or ())
        return cls(**values)


@dataclass(frozen=True)
class InputFile:
    name: str  # the file's name, without its folder
    sha256: str
    size_bytes: int

    @classmethod
    def from_path(cls, path: Path) -> InputFile:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ParseError(path, None, f"cannot read: {exc.strerror}") from None
        return cls(path.name, hashlib.sha256(data).hexdigest(), len(data))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "bytes": self.size_bytes}


@dataclass(frozen=True)
class RunHit:
    number: int  # 1-based within the run, in row and rank order
    row_number: int
    rank: int
    entity_id: str
    list_id: str
    record_id: int  # the record version scored against
    fingerprint: str
    score: float
    match: bool
    summary: str  # ScoredMatch.summary()
    data: dict[str, Any]  # Hit.to_dict()
    status: ReviewStatus = field(default_factory=lambda: ReviewStatus("open"))

    @property
    def caption(self) -> str:
        return str(self.data.get("caption") or self.entity_id)

    @property
    def ref(self) -> str:
        """How `listwatch review` names this hit besides its number: `ROW:ENTITY_ID`."""
        return f"{self.row_number}:{self.entity_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.data,
            "hit": self.number,
            "rank": self.rank,
            "record": self.record_id,
            "fingerprint": self.fingerprint,
            "summary": self.summary,
            "review": self.status.to_dict(),
        }


@dataclass(frozen=True)
class RunRow:
    row_number: int
    key: str
    own_key: str | None  # the key column's value, when the run named one
    name_key: str | None  # the normalised query (reviews carry over by it when there is no own key)
    query: dict[str, Any] | None
    error: str | None
    hits: tuple[RunHit, ...] = ()

    @property
    def names(self) -> list[str]:
        return list(self.query.get("names", [])) if self.query else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row_number,
            "key": self.key,
            "query": self.names,
            "error": self.error,
            "hits": [h.to_dict() for h in self.hits],
        }


@dataclass(frozen=True)
class ScreeningRun:
    run_id: int
    started_at: datetime
    finished_at: datetime
    analyst: str
    input: InputFile
    parameters: RunParameters
    snapshots: tuple[SnapshotRef, ...]
    basis_sha256: str
    software: str
    rows: tuple[RunRow, ...]
    rerun_of: int | None = None

    @property
    def label(self) -> str:
        return audit.run_label(self.run_id)

    @property
    def as_of(self) -> date:
        return self.parameters.as_of

    @property
    def hits(self) -> list[RunHit]:
        return [hit for row in self.rows for hit in row.hits]

    def summary(self) -> dict[str, int]:
        hits = self.hits
        return {
            "rows": len(self.rows),
            "rows_with_hits": sum(1 for r in self.rows if r.hits),
            "rows_with_open_hits": sum(1 for r in self.rows if any(h.status.open for h in r.hits)),
            "hits": len(hits),
            "open": sum(1 for h in hits if h.status.open),
            "dismissed": sum(1 for h in hits if not h.status.open),
            "not_screened": sum(1 for r in self.rows if r.error),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.label,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "analyst": self.analyst,
            "input": self.input.to_dict(),
            "as_of": self.as_of.isoformat(),
            "parameters": self.parameters.to_dict(),
            "snapshots": [s.to_dict() for s in self.snapshots],
            "basis_sha256": self.basis_sha256,
            "software": self.software,
            "rerun_of": audit.run_label(self.rerun_of) if self.rerun_of else None,
            "summary": self.summary(),
            "rows": [r.to_dict() for r in self.rows],
        }


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    started_at: datetime
    analyst: str
    input_name: str
    as_of: date
    lists: tuple[str, ...] | None
    row_count: int
    rows_with_hits: int
    hit_count: int
    rerun_of: int | None

    @property
    def label(self) -> str:
        return audit.run_label(self.run_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.label,
            "started_at": self.started_at.isoformat(),
            "analyst": self.analyst,
            "input": self.input_name,
            "as_of": self.as_of.isoformat(),
            "lists": list(self.lists) if self.lists is not None else None,
            "rows": self.row_count,
            "rows_with_hits": self.rows_with_hits,
            "hits": self.hit_count,
            "rerun_of": audit.run_label(self.rerun_of) if self.rerun_of else None,
        }


# -- reading -------------------------------------------------------------------------------------


def run_from_rows(
    store: Store,
    run_id: int,
    run: dict[str, Any],
    snapshots: Sequence[SnapshotRef],
    rows: Sequence[Any],
    hits: Sequence[Any],
) -> ScreeningRun:
    """A `ScreeningRun` from stored (or just written) rows, with the current review statuses."""

    def get(item: Any, name: str) -> Any:
        return item[name] if isinstance(item, dict) else getattr(item, name)

    rows_own = {get(r, "row_number"): (get(r, "own_key"), get(r, "name_key")) for r in rows}
    subjects = [
        HitSubject(*rows_own[get(h, "row_number")], get(h, "entity_id"), get(h, "fingerprint")) for h in hits
    ]
    statuses = review_statuses(store, subjects)
    by_row: dict[int, list[RunHit]] = {}
    for hit, status in zip(hits, statuses, strict=True):
        by_row.setdefault(get(hit, "row_number"), []).append(
            RunHit(
                number=get(hit, "number"),
                row_number=get(hit, "row_number"),
                rank=get(hit, "rank"),
                entity_id=get(hit, "entity_id"),
                list_id=get(hit, "list_id"),
                record_id=get(hit, "record_id"),
                fingerprint=get(hit, "fingerprint"),
                score=get(hit, "score"),
                match=bool(get(hit, "match")),
                summary=get(hit, "summary"),
                data=get(hit, "data"),
                status=status,
            )
        )
    return ScreeningRun(
        run_id=run_id,
        started_at=as_utc(run["started_at"]),
        finished_at=as_utc(run["finished_at"]),
        analyst=run["analyst"],
        input=InputFile(run["input_name"], run["input_sha256"], run["input_bytes"]),
        parameters=RunParameters.from_dict(run["parameters"]),
        snapshots=tuple(snapshots),
        basis_sha256=run["basis_sha256"],
        software=run["software"],
        rerun_of=run["rerun_of"],
        rows=tuple(
            RunRow(
                row_number=get(r, "row_number"),
                key=get(r, "key"),
                own_key=get(r, "own_key"),
                name_key=get(r, "name_key"),
                query=get(r, "query"),
                error=get(r, "error"),
                hits=tuple(by_row.get(get(r, "row_number"), ())),
            )
            for r in rows
        ),
    )


def load_run(store: Store, run: str) -> ScreeningRun:
    """The stored run `run` (`run-0001`, `run-1` or `1`), with its hits' current review statuses."""
    run_id = audit.parse_run_label(run)
    with store.engine.connect() as conn:
        found = audit.run_by_id(conn, run_id)
        if found is None:
            raise UnknownRun(run)
        snapshots = [SnapshotRef.from_row(s) for s in audit.run_snapshots_of(conn, run_id)]
        rows = audit.run_rows_of(conn, run_id)
        hits = audit.run_hits_of(conn, run_id)
    return run_from_rows(store, run_id, dict(found._mapping), snapshots, rows, hits)


def list_runs(store: Store, *, limit: int = 20) -> list[RunSummary]:
    """The newest `limit` runs, newest first."""
    with store.engine.connect() as conn:
        found = audit.recent_runs(conn, limit)
    return [
        RunSummary(
            run_id=r.id,
            started_at=as_utc(r.started_at),
            analyst=r.analyst,
            input_name=r.input_name,
            as_of=r.as_of,
            lists=tuple(r.parameters["lists"]) if r.parameters.get("lists") is not None else None,
            row_count=r.row_count,
            rows_with_hits=r.rows_with_hits,
            hit_count=r.hit_count,
            rerun_of=r.rerun_of,
        )
        for r in found
    ]
