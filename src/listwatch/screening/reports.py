"""Writing a screening run's results: CSV (one row per hit), JSON, or a self-contained HTML page.

Every format names the run and shows each hit's review status (`screening.reviews`): a hit
dismissed as a false positive is listed, marked, and not counted as open.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidQuery
from listwatch.screening.runs import RunRow, ScreeningRun

__all__ = ["OUTPUT_SUFFIXES", "write_results"]

OUTPUT_SUFFIXES = (".csv", ".json", ".html")

_CSV_COLUMNS = (
    "run",
    "row",
    "key",
    "query",
    "error",
    "hit",
    "rank",
    "score",
    "match",
    "review",
    "entity_id",
    "caption",
    "schema",
    "list",
    "state",
    "listed_since",
    "programs",
    "explanation",
)


def _flat(run: ScreeningRun, row: RunRow) -> list[dict[str, Any]]:
    base = {
        "run": run.label,
        "row": row.row_number,
        "key": row.key,
        "query": "; ".join(row.names),
        "error": row.error or "",
    }
    if not row.hits:
        return [base]
    return [
        {
            **base,
            "hit": hit.number,
            "rank": hit.rank,
            "score": round(hit.score, 4),
            "match": hit.match,
            "review": hit.status.describe(),
            "entity_id": hit.entity_id,
            "caption": hit.caption,
            "schema": hit.data.get("schema"),
            "list": hit.list_id,
            "state": hit.data.get("state"),
            "listed_since": hit.data.get("listed_since"),
            "programs": "; ".join(hit.data.get("programs", [])),
            "explanation": hit.summary,
        }
        for hit in row.hits
    ]


def write_results(run: ScreeningRun, path: Path) -> None:
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
            for row in run.rows:
                writer.writerows(_flat(run, row))
        elif suffix == ".json":
            data = {
                "run": run.label,
                "as_of": run.as_of.isoformat(),
                "source": run.input.name,
                "summary": run.summary(),
                "rows": [r.to_dict() for r in run.rows],
            }
            json.dump(data, handle, ensure_ascii=False, indent=1)
        else:
            handle.write(_html(run))
    partial.replace(path)


def _html(run: ScreeningRun) -> str:
    summary = run.summary()
    body = []
    for row in run.rows:
        for hit in row.hits:
            cells = (
                hit.number,
                row.row_number,
                "; ".join(row.names),
                f"{hit.score:.3f}",
                hit.caption,
                hit.list_id,
                hit.data.get("state") or "",
                hit.data.get("listed_since") or "",
                "; ".join(hit.data.get("programs", [])),
                hit.status.describe(),
                hit.summary,
            )
            css = "" if hit.status.open else ' class="dismissed"'
            body.append(f"<tr{css}>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in cells) + "</tr>")
    error_rows = "".join(
        f"<tr><td>{r.row_number}</td><td>{html.escape(r.error or '')}</td></tr>" for r in run.rows if r.error
    )
    name = html.escape(run.input.name)
    lists = ", ".join(f"{s.list_id} #{s.snapshot_id} ({s.published})" for s in run.snapshots) or "none"
    return f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>listwatch {run.label}: screening of {name} as of {run.as_of}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}th{{background:#f3f3f3}}
tr.dismissed td{{color:#888}}</style>
<h1>Screening of {name}</h1>
<p>{run.label}, as of {run.as_of}, by {html.escape(run.analyst)}: {summary["rows"]} rows screened,
{summary["rows_with_open_hits"]} with open hits, {summary["dismissed"]} hits dismissed as false positives,
{summary["not_screened"]} not screened. Input SHA-256 {run.input.sha256}. Lists: {html.escape(lists)}.</p>
<table><tr><th>hit</th><th>row</th><th>query</th><th>score</th><th>listed entity</th><th>list</th>
<th>state</th><th>since</th><th>programs</th><th>review</th><th>why</th></tr>{"".join(body)}</table>
<h2>Rows not screened</h2><table><tr><th>row</th><th>reason</th></tr>{error_rows}</table></html>
"""
