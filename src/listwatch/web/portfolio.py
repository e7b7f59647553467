"""The portfolio page: upload holdings, see each one's listed entities and effects on a day, or its
timeline over a range with a chart per holding. Calls what `listwatch portfolio` calls."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from listwatch.api.uploads import client_errors, save_upload
from listwatch.errors import InvalidQuery, ListwatchError
from listwatch.model import parse_day
from listwatch.screening.portfolio import portfolio_timeline, read_holdings, screen_portfolio
from listwatch.screening.portfolio_report import timeline_chart
from listwatch.web.jobs import UPLOAD_SUFFIXES, job_runner
from listwatch.web.render import check_csrf, page, svg
from listwatch.web.session import Analyst, Viewer, WebRoute, store_of

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)


def _form(**values: str) -> dict[str, str]:
    return {"as_of": "", "start": "", "end": "", **values}


@router.get("/portfolio", response_class=HTMLResponse)
def portfolio_page(request: Request, principal: Viewer) -> Response:
    return page(request, "portfolio.html", {"form": _form(), "report": None, "error": None})


@router.post("/portfolio", response_class=HTMLResponse)
def portfolio_upload(
    request: Request,
    principal: Analyst,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form()] = "",
    as_of: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
) -> Response:
    """Analysts and admins, as for the JSON twin (`POST /api/v1/portfolios`)."""
    check_csrf(request, csrf)
    form = _form(as_of=as_of, start=start, end=end)
    context: dict[str, Any] = {"form": form, "report": None, "error": None, "source": file.filename}
    try:
        day = parse_day(as_of, "as of")
        first, last = parse_day(start, "from"), parse_day(end, "to")
        if day is not None and (first or last):
            raise InvalidQuery("give either an as-of day, or a from and a to day, not both")
        if (first is None) != (last is None):
            raise InvalidQuery("from and to go together: give both for a timeline")
        folder = Path(tempfile.mkdtemp(prefix="portfolio-", dir=job_runner(request).work_dir))
        try:
            limit = request.app.state.options.max_upload_bytes
            path = save_upload(file, folder, suffixes=UPLOAD_SUFFIXES, max_bytes=limit)
            holdings = client_errors(path, path.name, partial(read_holdings, path))
            most = request.app.state.options.max_batch_rows
            if len(holdings) > most:  # this page screens in the request, the JSON twin in a job
                raise InvalidQuery(f"{path.name}: {len(holdings):,} holdings; a page takes at most {most:,}")
            store = store_of(request)
            if first is not None and last is not None:
                report: Any = portfolio_timeline(store, holdings, start=first, end=last)
                context["charts"] = {
                    t.holding.row_number: svg(partial(timeline_chart, t, start=first, end=last))
                    for t in report.holdings
                    if t.intervals
                }
            else:
                report = screen_portfolio(store, holdings, as_of=day or date.today())
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    except ListwatchError as exc:
        context["error"] = str(exc)
        return page(request, "portfolio.html", context, status_code=int(getattr(exc, "status", 400)))
    except HTTPException as exc:  # 413, 415 from the upload checks
        context["error"] = str(exc.detail)
        return page(request, "portfolio.html", context, status_code=exc.status_code)
    context["report"] = report
    context["timeline"] = hasattr(report, "start")
    context["summary"] = report.summary()
    context["problems"] = [
        (h.row_number, problem)
        for h in holdings
        for problem in ([h.error] if h.error else []) + list(h.warnings)
    ]
    return page(request, "portfolio.html", context)
