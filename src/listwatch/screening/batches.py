"""Batch screening that leaves an audit record: screen a file (or rows) and store the run; rerun one.

Screening happens first and the run is written in one transaction afterwards, so a failed or
interrupted screening stores nothing. The CLI's `screen` and `runs rerun`, and the API, call
these functions.

    run = screen_file(store, Path("parties.csv"), parameters=RunParameters(as_of=date(2021, 2, 1)),
                      analyst="ana")
    rerun(store, run.label, analyst="bo").identical  # True while the lists and the code are the same
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from listwatch.errors import StoreError
from listwatch.matching.query import MatchQuery
from listwatch.registry.provenance import SnapshotRef, records_in_force, screening_basis
from listwatch.screening.inputs import InputRow, read_parties
from listwatch.screening.reviews import subject_name
from listwatch.screening.runs import (
    SOFTWARE,
    InputFile,
    RunParameters,
    ScreeningRun,
    load_run,
    run_from_rows,
)
from listwatch.screening.screener import RowResult, Screener
from listwatch.store import Store, audit

__all__ = ["RerunResult", "read_rows", "rerun", "screen_file", "screen_rows"]

Progress = Callable[[int], None]


@dataclass(frozen=True)
class RerunResult:
    original: ScreeningRun
    run: ScreeningRun  # the new run, stored with `rerun_of` set
    snapshots_added: tuple[SnapshotRef, ...] = ()
    snapshots_removed: tuple[SnapshotRef, ...] = ()
    differences: tuple[str, ...] = field(default=())  # one line per row whose results differ

    @property
    def same_basis(self) -> bool:
        """Whether the lists' events and record versions up to the day are those of the original."""
        return self.original.basis_sha256 == self.run.basis_sha256

    @property
    def identical(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "original": self.original.label,
            "run": self.run.label,
            "same_basis": self.same_basis,
            "identical": self.identical,
            "snapshots_added": [s.to_dict() for s in self.snapshots_added],
            "snapshots_removed": [s.to_dict() for s in self.snapshots_removed],
            "differences": list(self.differences),
        }


# -- screening and storing ------------------------------------------------------------------------


def read_rows(path: Path, parameters: RunParameters) -> Iterator[InputRow]:
    """The parties of `path`, read with the run's column choices (as `listwatch screen` reads them)."""
    return read_parties(
        path,
        name_column=parameters.name_column,
        id_columns=parameters.id_columns,
        key_column=parameters.key_column,
        country_column=parameters.country_column,
        schema=parameters.schema,
    )


def screen_file(
    store: Store,
    path: Path,
    *,
    parameters: RunParameters,
    analyst: str,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> ScreeningRun:
    """Read the parties in `path`, screen them and store the run (see the module docstring)."""
    rows = list(read_rows(path, parameters))
    source = InputFile.from_path(path)
    return screen_rows(
        store,
        rows,
        parameters=parameters,
        source=source,
        analyst=analyst,
        cache_dir=cache_dir,
        progress=progress,
    )


def screen_rows(
    store: Store,
    rows: Sequence[InputRow],
    *,
    parameters: RunParameters,
    source: InputFile,
    analyst: str,
    rerun_of: int | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> ScreeningRun:
    """Screen already read rows and store the run: all of it, or nothing when anything fails."""
    started_at = datetime.now(UTC)
    basis = screening_basis(store, as_of=parameters.as_of, lists=parameters.lists)
    screener = Screener(
        store,
        as_of=parameters.as_of,
        lists=parameters.lists,
        algorithm=parameters.algorithm,
        threshold=parameters.threshold,
        cache_dir=cache_dir,
    )
    results = screener.screen_all(
        rows, limit=parameters.limit, only_matches=parameters.only_matches, progress=progress
    )
    versions = records_in_force(
        store, [h.entity.entity_id or "" for r in results for h in r.hits], as_of=parameters.as_of
    )
    if screening_basis(store, as_of=parameters.as_of, lists=parameters.lists).digest != basis.digest:
        raise StoreError("the lists changed while screening (an ingest ran); nothing was stored, run again")
    finished_at = datetime.now(UTC)
    run_rows, hit_rows = _rows_to_store(results, versions, keyed=parameters.key_column is not None)
    values = {
        "started_at": started_at,
        "finished_at": finished_at,
        "analyst": analyst,
        "input_name": source.name,
        "input_sha256": source.sha256,
        "input_bytes": source.size_bytes,
        "row_count": len(results),
        "as_of": parameters.as_of,
        "parameters": parameters.to_dict(),
        "basis_sha256": basis.digest,
        "software": SOFTWARE,
        "rerun_of": rerun_of,
    }
    try:
        with store.engine.begin() as conn:
            run_id = audit.insert_run(conn, values)
            audit.insert_run_snapshots(conn, run_id, [s.snapshot_id for s in basis.snapshots])
            audit.insert_run_rows(conn, [{**row, "run_id": run_id} for row in run_rows])
            audit.insert_run_hits(conn, [{**hit, "run_id": run_id} for hit in hit_rows])
    except SQLAlchemyError as exc:
        raise StoreError(f"the screening run was not stored: {exc}") from None
    return run_from_rows(store, run_id, values, basis.snapshots, run_rows, hit_rows)


def _rows_to_store(
    results: Sequence[RowResult], versions: dict[str, Any], *, keyed: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    run_rows, hit_rows = [], []
    number = 0
    for result in results:
        query = _query_dict(result.query) if result.query is not None else None
        run_rows.append(
            {
                "row_number": result.row_number,
                "key": result.key,
                "own_key": result.key if keyed else None,
                "name_key": subject_name(result.query),
                "query": query,
                "error": result.error,
            }
        )
        for rank, hit in enumerate(result.hits, start=1):
            number += 1
            entity_id = hit.entity.entity_id or ""
            version = versions.get(entity_id)
            if version is None:  # the index and the replay disagree: a bug, never an audit gap
                raise StoreError(f"no record version in force for {entity_id}; nothing was stored")
            data = hit.to_dict()
            hit_rows.append(
                {
                    "row_number": result.row_number,
                    "rank": rank,
                    "number": number,
                    "entity_id": entity_id,
                    "list_id": data["list"] or "",
                    "record_id": version.record_id,
                    "fingerprint": version.fingerprint,
                    "score": float(hit.score),
                    "match": bool(hit.match),
                    "summary": hit.scored.summary(),
                    "data": data,
                }
            )
    return run_rows, hit_rows


def _query_dict(query: MatchQuery) -> dict[str, Any]:
    return {
        "names": list(query.names),
        "schema": query.schema,
        "countries": list(query.countries),
        "identifiers": {scheme: list(values) for scheme, values in query.identifiers.items()},
        "birth_dates": list(query.birth_dates),
    }


def _query_from(data: dict[str, Any] | None) -> MatchQuery | None:
    if data is None:
        return None
    return MatchQuery(
        names=tuple(data.get("names", ())),
        schema=data.get("schema", "LegalEntity"),
        countries=tuple(data.get("countries", ())),
        identifiers={scheme: tuple(values) for scheme, values in data.get("identifiers", {}).items()},
        birth_dates=tuple(data.get("birth_dates", ())),
    )


def rerun(
    store: Store,
    run: str,
    *,
    analyst: str,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> RerunResult:
    """Screen a stored run's rows again with its parameters, store that as a new run, and compare.

    No input file is needed: the rows are stored as queries. On the same basis (`same_basis`) and
    the same code, the results are identical; `differences` names every row where they are not.
    """
    original = load_run(store, run)
    rows = [InputRow(r.row_number, r.key, _query_from(r.query), raw={}) for r in original.rows]
    again = screen_rows(
        store,
        rows,
        parameters=original.parameters,
        source=original.input,
        analyst=analyst,
        rerun_of=original.run_id,
        cache_dir=cache_dir,
        progress=progress,
    )
    before = {s.snapshot_id: s for s in original.snapshots}
    after = {s.snapshot_id: s for s in again.snapshots}
    return RerunResult(
        original=original,
        run=again,
        snapshots_added=tuple(s for sid, s in after.items() if sid not in before),
        snapshots_removed=tuple(s for sid, s in before.items() if sid not in after),
        differences=tuple(_differences(original, again)),
    )


def _differences(before: ScreeningRun, after: ScreeningRun) -> list[str]:
    lines = []
    old_rows = {r.row_number: r for r in before.rows}
    for row in after.rows:
        old = old_rows.pop(row.row_number, None)
        if old is None:
            lines.append(f"row {row.row_number}: not in {before.label}")
            continue
        if old.error != row.error:
            lines.append(f"row {row.row_number}: error {old.error!r} is now {row.error!r}")
        was = [(h.entity_id, h.score, h.match) for h in old.hits]
        now = [(h.entity_id, h.score, h.match) for h in row.hits]
        if was != now:
            lines.append(f"row {row.row_number}: hits {_brief(was)} are now {_brief(now)}")
    lines += [f"row {n}: not in {after.label}" for n in sorted(old_rows)]
    return lines


def _brief(hits: Sequence[tuple[str, float, bool]]) -> str:
    return (
        "["
        + ", ".join(f"{eid} {score!r}{'' if match else ' (no match)'}" for eid, score, match in hits)
        + "]"
    )
