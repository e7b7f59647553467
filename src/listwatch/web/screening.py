"""Batch screening pages: upload with progress, stored runs, the results table with review buttons
(analysts and admins only), and the export of a run as CSV, JSON or HTML.

The same functions as `listwatch screen`, `runs`, `runs show`, `review` and `runs show --out`.
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from listwatch.errors import InvalidQuery, ListwatchError
from listwatch.matching.score import DEFAULT_THRESHOLD
from listwatch.model import parse_day
from listwatch.screening.reports import write_results
from listwatch.screening.reviews import record_review
from listwatch.screening.runs import RunParameters, list_runs, load_run
from listwatch.web.jobs import job_runner, start_screening
from listwatch.web.render import SECURITY_HEADERS, check_csrf, error_page, page
from listwatch.web.session import Analyst, Viewer, WebRoute, store_of

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

_EXPORTS = {"csv": "text/csv; charset=utf-8", "json": "application/json", "html": "text/html; charset=utf-8"}


def _threshold(text: str) -> float:
    if not text.strip():
        return DEFAULT_THRESHOLD
    try:
        value = float(text)
    except ValueError:
        raise InvalidQuery(f"threshold: {text[:20]!r} is not a number") from None
    if not 0.0 < value <= 1.0:
        raise InvalidQuery(f"threshold {value} must be above 0 and at most 1")
    return value


@router.get("/screen", response_class=HTMLResponse)
def screen_page(request: Request, principal: Viewer) -> Response:
    runs = list_runs(store_of(request), limit=10)
    return page(request, "screen.html", {"runs": runs, "error": None, "today": date.today()})


@router.post("/screen", response_class=HTMLResponse)
def screen_upload(
    request: Request,
    principal: Analyst,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form()] = "",
    as_of: Annotated[str, Form()] = "",
    name_column: Annotated[str, Form()] = "",
    id_columns: Annotated[str, Form()] = "",
    key_column: Annotated[str, Form()] = "",
    threshold: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        parameters = RunParameters(
            as_of=parse_day(as_of, "as of") or date.today(),
            threshold=_threshold(threshold),
            name_column=name_column.strip() or None,
            id_columns=tuple(c for c in re.split(r"[\s,]+", id_columns.strip()) if c),
            key_column=key_column.strip() or None,
        )
        job = start_screening(
            request, file, parameters=parameters, analyst=f"web:{principal.name}", owner=principal.name
        )
    except ListwatchError as exc:
        return _screen_form(request, str(exc), int(getattr(exc, "status", 400)))
    except HTTPException as exc:  # 413, 415 from the upload checks
        return _screen_form(request, str(exc.detail), exc.status_code)
    return RedirectResponse(f"/screen/jobs/{job.job_id}", status_code=303)


def _screen_form(request: Request, error: str, status: int) -> Response:
    runs = list_runs(store_of(request), limit=10)
    context = {"runs": runs, "error": error, "today": date.today()}
    return page(request, "screen.html", context, status_code=status)


@router.get("/screen/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, principal: Viewer) -> Response:
    """The job's progress; the page's script polls its JSON twin, /api/v1/jobs/{job}."""
    try:
        job = job_runner(request).get(job_id)
    except ListwatchError as exc:
        return error_page(request, exc, title="No such job")
    return page(request, "job.html", {"job": job.to_dict()})


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, principal: Viewer) -> Response:
    return page(request, "runs.html", {"runs": list_runs(store_of(request), limit=100)})


@router.get("/runs/{run}", response_class=HTMLResponse)
def run_page(request: Request, run: str, principal: Viewer, show: str = "all") -> Response:
    try:
        found = load_run(store_of(request), run)
    except ListwatchError as exc:
        return error_page(request, exc, title="No such run")
    rows: list[dict[str, Any]] = []
    for row in found.rows:
        hits = [h for h in row.hits if show != "open" or h.status.open]
        if row.error or hits or show == "all":
            rows.append({"row": row, "hits": hits})
    context = {"run": found, "summary": found.summary(), "rows": rows, "show": show, "notice": None}
    notice = request.query_params.get("reviewed")
    if notice and notice.isdigit():
        context["notice"] = f"Review of hit {notice} recorded."
    return page(request, "run.html", context)


@router.post("/runs/{run}/review")
def review_hit(
    request: Request,
    run: str,
    principal: Analyst,
    hit: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        saved = record_review(
            store_of(request), run, hit, decision=decision, comment=comment, analyst=f"web:{principal.name}"
        )
    except ListwatchError as exc:
        return error_page(request, exc, title="The review was not recorded")
    number = hit.strip() if hit.strip().isdigit() else ""  # ROW:ENTITY_ID names are not echoed back
    target = f"/runs/{saved.run}?reviewed={number}#hit-{number}" if number else f"/runs/{saved.run}"
    return RedirectResponse(target, status_code=303)


@router.get("/runs/{run}/export.{fmt}")
def export_run(request: Request, run: str, fmt: str, principal: Viewer) -> Response:
    if fmt not in _EXPORTS:
        return error_page(request, InvalidQuery(f"unsupported export {fmt[:10]!r}; use csv, json or html"))
    try:
        found = load_run(store_of(request), run)
    except ListwatchError as exc:
        return error_page(request, exc, title="No such run")
    with tempfile.TemporaryDirectory(prefix="listwatch-export-") as folder:
        path = Path(folder) / f"{found.label}.{fmt}"
        write_results(found, path)
        body = path.read_bytes()
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{found.label}.{fmt}"',
    }
    return Response(body, media_type=_EXPORTS[fmt], headers=headers)
