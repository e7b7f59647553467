"""Event studies of list events (as `listwatch impact`): JSON, the HTML report and the CAR chart.

The price files are uploaded with the request; the events come from a stored list (`list_id`,
with `action`, `entity`, `from`, `to`) or from an uploaded events CSV. A study is kept in the
server's memory under an id, so its report and chart can be fetched after the JSON.
"""

from __future__ import annotations

import secrets
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from listwatch.api.auth import Principal, require
from listwatch.api.errors import ERROR_RESPONSES
from listwatch.api.uploads import client_errors, save_upload
from listwatch.errors import InvalidQuery, ListwatchError
from listwatch.model import parse_day

router = APIRouter(prefix="/api/v1", tags=["Market impact"], responses=ERROR_RESPONSES)
Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
_DATA = (".csv", ".parquet", ".txt", ".tsv", ".json")
_KEEP = 50


class UnknownStudy(ListwatchError):
    status = 404

    def __init__(self, study: str) -> None:
        super().__init__(f"no study {study!r} in this server (studies are kept in memory until it restarts)")


_studies: dict[str, Any] = {}
_lock = threading.Lock()


@router.post("/impact")
def impact(
    request: Request,
    principal: Analyst,
    prices: Annotated[list[UploadFile], File(description="Price files of the securities")],
    market: Annotated[list[UploadFile], File(description="Market index price files")] = [],  # noqa: B006
    market_code: Annotated[list[str], Form(description="Each market file's market (HK), in order")] = [],  # noqa: B006
    events: Annotated[UploadFile | None, File(description="Events CSV (date, security[, label])")] = None,
    list_id: Annotated[str | None, Form(max_length=80)] = None,
    action: Annotated[list[str], Form()] = [],  # noqa: B006
    entity: Annotated[str | None, Form(max_length=300)] = None,
    from_: Annotated[str | None, Form(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Form(max_length=40)] = None,
    model: Annotated[str, Form(max_length=40)] = "market",
    windows: Annotated[str, Form(max_length=200)] = "[0,0] [-1,1] [0,5] [-10,10]",
    event_window: Annotated[str, Form(max_length=40)] = "[-10,10]",
    estimation: Annotated[str, Form(max_length=40)] = "[-260,-11]",
    estimation_end: Annotated[str | None, Form(max_length=40)] = None,
    after_close: Annotated[bool, Form()] = False,
    min_estimation: Annotated[int, Form(ge=1, le=5000)] = 60,
) -> dict[str, Any]:
    """Run an event study; the answer is the study's JSON with its `study` id for the plots."""
    from listwatch.impact.models import model_named
    from listwatch.impact.options import StudyOptions, parse_window, parse_windows
    from listwatch.impact.runner import study_from_files

    model_named(model)
    options = StudyOptions(
        model=model,
        estimation=parse_window(estimation, "estimation"),
        estimation_end=parse_day(estimation_end, "estimation_end"),
        event_window=parse_window(event_window, "event_window"),
        windows=parse_windows(windows, "windows"),
        after_close=after_close,
        min_estimation=min_estimation,
    )
    limit = request.app.state.options.max_upload_bytes
    _, folder = request.app.state.jobs.folder()
    (folder / "prices").mkdir()
    (folder / "market").mkdir()
    for upload in prices:
        save_upload(upload, folder / "prices", suffixes=_DATA, max_bytes=limit)
    if market_code and len(market_code) != len(market):
        raise InvalidQuery(f"{len(market_code)} market_code values for {len(market)} market files")
    codes = market_code or [""] * len(market)
    markets = [
        f"{code}={path}" if code else str(path)
        for code, path in zip(
            codes,
            (save_upload(m, folder / "market", suffixes=_DATA, max_bytes=limit) for m in market),
            strict=True,
        )
    ]
    events_path = save_upload(events, folder, suffixes=(".csv",), max_bytes=limit) if events else None
    if events_path is None and not list_id:
        raise InvalidQuery("give list_id (events from a stored list) or an events file")

    result = client_errors(
        events_path or folder,
        events_path.name if events_path else "events",
        lambda: study_from_files(
            store=request.app.state.store,
            events_file=events_path,
            list_id=list_id or None,
            actions=action,
            entity=entity,
            start=parse_day(from_, "from"),
            end=parse_day(to, "to"),
            prices=[folder / "prices"],
            markets=markets,
            options=options,
        ),
    )
    study = secrets.token_hex(8)
    with _lock:
        _studies[study] = result
        while len(_studies) > _KEEP:
            del _studies[next(iter(_studies))]
    request.state.audit = {"study": study, "list": list_id}
    return {"study": study, "owner": principal.name, **result.to_dict()}


def _study(study: str) -> Any:
    with _lock:
        found = _studies.get(study)
    if found is None:
        raise UnknownStudy(study)
    return found


@router.get("/impact/{study}/car.svg", response_class=Response)
def car_svg(study: str, _principal: Viewer) -> Response:
    """The study's cumulative abnormal return chart (SVG)."""
    from listwatch.impact.plots import car_chart

    return Response(car_chart(_study(study)), media_type="image/svg+xml")


@router.get("/impact/{study}/report.html", response_class=Response)
def report_html(study: str, _principal: Viewer) -> Response:
    """The study's HTML report (as `listwatch impact --out report.html`)."""
    from listwatch.impact.report import study_html

    return Response(study_html(_study(study)), media_type="text/html")
