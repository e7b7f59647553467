"""Writing batch screening results: CSV (one row per hit), JSON, or a self-contained HTML page."""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidQuery
from listwatch.screening.screener import RowResult

__all__ = ["OUTPUT_SUFFIXES", "write_results"]

OUTPUT_SUFFIXES = (".csv", ".json", ".html")

_CSV_COLUMNS = (
    "row",
    "key",
    "query",
    "error",
    "rank",
    "score",
    "match",
    "entity_id",
    "caption",
    "schema",
    "list",
    "state",
    "listed_since",
    "programs",
    "explanation",
)


def _flat(result: RowResult) -> list[dict[str, Any]]:
    base = {
        "row": result.row_number,
        "key": result.key,
        "query": "; ".join(result.query.names) if result.query else "",
        "error": result.error or "",
    }
    if not result.hits:
        return [base]
    rows = []
    for rank, hit in enumerate(result.hits, start=1):
        data = hit.to_dict()
        rows.append(
            {
                **base,
                "rank": rank,
                "score": data["score"],
                "match": data["match"],
                "entity_id": data["id"],
                "caption": data["caption"],
                "schema": data["schema"],
                "list": data["list"],
                "state": data["state"],
                "listed_since": data["listed_since"],
                "programs": "; ".join(data["programs"]),
                "explanation": hit.scored.summary(),
            }
        )
    return rows


def write_results(results: Sequence[RowResult], path: Path, *, as_of: date, source: Path) -> None:
    """Write to `path` by its suffix, atomically (a temp file renamed into place)."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InvalidQuery(
            f"--out: unsupported output {suffix or path.name!r}; use {', '.join(OUTPUT_SUFFIXES)}"
        )
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        if suffix == ".csv":
            writer = csv.DictWriter(handle, fieldnames=_CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for result in results:
                writer.writerows(_flat(result))
        elif suffix == ".json":
            json.dump(
                {"as_of": as_of.isoformat(), "source": str(source), "rows": [_row_dict(r) for r in results]},
                handle,
                ensure_ascii=False,
                indent=1,
            )
        else:
            handle.write(_html(results, as_of=as_of, source=source))
    partial.replace(path)


def _row_dict(result: RowResult) -> dict[str, Any]:
    return {
        "row": result.row_number,
        "key": result.key,
        "query": list(result.query.names) if result.query else [],
        "error": result.error,
        "hits": [h.to_dict() for h in result.hits],
    }


def _html(results: Sequence[RowResult], *, as_of: date, source: Path) -> str:
    hit_rows = [r for r in results if r.hits]
    errors = [r for r in results if r.error]
    body = []
    for result in hit_rows:
        for hit in result.hits:
            data = hit.to_dict()
            body.append(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(str(v))}</td>"
                    for v in (
                        result.row_number,
                        "; ".join(result.query.names) if result.query else "",
                        f"{hit.score:.3f}",
                        data["caption"],
                        data["list"],
                        data["state"],
                        data["listed_since"] or "",
                        "; ".join(data["programs"]),
                        hit.scored.summary(),
                    )
                )
                + "</tr>"
            )
    error_rows = "".join(
        f"<tr><td>{r.row_number}</td><td>{html.escape(r.error or '')}</td></tr>" for r in errors
    )
    return f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>listwatch screening of {html.escape(source.name)} as of {as_of}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}th{{background:#f3f3f3}}</style>
<h1>Screening of {html.escape(source.name)}</h1>
<p>As of {as_of}: {len(results)} rows screened, {len(hit_rows)} with hits, {len(errors)} not screened.</p>
<table><tr><th>row</th><th>query</th><th>score</th><th>listed entity</th><th>list</th><th>state</th>
<th>since</th><th>programs</th><th>why</th></tr>{"".join(body)}</table>
<h2>Rows not screened</h2><table><tr><th>row</th><th>reason</th></tr>{error_rows}</table></html>
"""
