"""Batch screening and portfolios as jobs; stored runs, their results, reviews and certificates.

`POST /api/v1/screenings` and `POST /api/v1/portfolios` take a file upload and answer 202 with a
job; `GET /api/v1/jobs/{job}` shows its progress and result. Each job calls what the CLI calls
(`screen_file`, `screen_portfolio`, `portfolio_timeline`), so a screening job stores a run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from listwatch.api.auth import Principal, require
from listwatch.api.errors import ERROR_RESPONSES
from listwatch.api.jobs import Job, JobRunner
from listwatch.api.uploads import client_errors, save_upload
from listwatch.errors import InvalidQuery
from listwatch.matching.score import DEFAULT_THRESHOLD
from listwatch.model import parse_day

if TYPE_CHECKING:
    from listwatch.screening.runs import RunParameters

router = APIRouter(prefix="/api/v1", tags=["Screening"], responses=ERROR_RESPONSES)
Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
# At most 16 characters: "run-" and 12 digits, which the database's integers hold.
RunId = Annotated[str, PathParam(max_length=16, description="run-0001, run-1 or 1")]
PARTY_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")  # what a screening upload may be
_OUTPUTS = {"csv": "text/csv", "json": "application/json", "html": "text/html"}


def _jobs(request: Request) -> JobRunner:
    return request.app.state.jobs  # type: ignore[no-any-return]


def _accepted(request: Request, job: Job) -> JSONResponse:
    request.state.audit = {"job": job.job_id, "kind": job.kind}
    body = {**job.to_dict(), "url": f"/api/v1/jobs/{job.job_id}"}
    return JSONResponse(body, status_code=202, headers={"Location": body["url"]})


def _lists(values: list[str]) -> tuple[str, ...] | None:
    from listwatch.catalog import get_list

    found = tuple(v.strip() for item in values for v in item.split(",") if v.strip())
    for list_id in found:
        get_list(list_id)
    return found or None


@router.post("/screenings", status_code=202)
def submit_screening(
    request: Request,
    principal: Analyst,
    file: Annotated[UploadFile, File(description="Parties: .csv, .tsv, .xlsx or .parquet")],
    name_column: Annotated[str | None, Form(max_length=200)] = None,
    id_columns: Annotated[list[str], Form(description="`isin` or `column=isin`")] = [],  # noqa: B006
    key_column: Annotated[str | None, Form(max_length=200)] = None,
    country_column: Annotated[str | None, Form(max_length=200)] = None,
    schema_: Annotated[str, Form(alias="schema", max_length=40)] = "LegalEntity",
    as_of: Annotated[str | None, Form(max_length=40)] = None,
    lists: Annotated[list[str], Form()] = [],  # noqa: B006
    threshold: Annotated[float, Form(gt=0.0, le=1.0)] = DEFAULT_THRESHOLD,
    limit: Annotated[int, Form(ge=1, le=50)] = 3,
) -> JSONResponse:
    """Screen every row of the file as `listwatch screen` does; the job's result names the run."""
    from listwatch.screening.runs import RunParameters

    parameters = RunParameters(
        as_of=parse_day(as_of, "as_of") or date.today(),
        lists=_lists(lists),
        threshold=threshold,
        limit=limit,
        name_column=name_column or None,
        id_columns=tuple(id_columns),
        key_column=key_column or None,
        country_column=country_column or None,
        schema=schema_,
    )
    job = start_screening(
        request, file, parameters=parameters, analyst=f"api:{principal.name}", owner=principal.name
    )
    return _accepted(request, job)


def start_screening(
    request: Request, upload: UploadFile, *, parameters: RunParameters, analyst: str, owner: str
) -> Job:
    """Save and check the upload (type, size, readable, row count), then queue its screening, which
    stores the run as `listwatch screen` does; the job's result names the run. The API's
    `POST /api/v1/screenings` and the web UI's upload form both start screenings here."""
    from listwatch.screening.batches import read_rows, screen_file

    options, runner = request.app.state.options, _jobs(request)
    job_id, folder = runner.folder()
    path = save_upload(upload, folder, suffixes=PARTY_SUFFIXES, max_bytes=options.max_upload_bytes)

    def count() -> int:
        return sum(1 for _ in read_rows(path, parameters))

    total = client_errors(path, path.name, count)
    if total > options.max_batch_rows:
        raise InvalidQuery(f"{path.name}: {total:,} rows; a job screens at most {options.max_batch_rows:,}")

    def work(job: Job) -> tuple[dict[str, Any], Any]:
        def progress(done: int) -> None:
            job.done = done

        run = screen_file(
            request.app.state.store,
            path,
            parameters=parameters,
            analyst=analyst,
            cache_dir=options.cache_dir,
            progress=progress,
        )
        return {"run": run.label, "summary": run.summary(), "url": f"/api/v1/runs/{run.label}"}, run

    return runner.submit("screen", job_id=job_id, folder=folder, owner=owner, total=total, work=work)


@router.post("/portfolios", status_code=202)
def submit_portfolio(
    request: Request,
    principal: Analyst,
    file: Annotated[UploadFile, File(description="Holdings with isin, ticker, name and/or quantity columns")],
    as_of: Annotated[str | None, Form(max_length=40)] = None,
    from_: Annotated[str | None, Form(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Form(max_length=40)] = None,
    lists: Annotated[list[str], Form()] = [],  # noqa: B006
) -> JSONResponse:
    """Screen holdings on a day (`as_of`) or over a range (`from`, `to`), as `listwatch portfolio`."""
    from listwatch.screening.portfolio import portfolio_timeline, read_holdings, screen_portfolio

    options, runner = request.app.state.options, _jobs(request)
    start, end = parse_day(from_, "from"), parse_day(to, "to")
    if as_of and (start or end):
        raise InvalidQuery("give either as_of, or from and to, not both")
    if (start is None) != (end is None):
        raise InvalidQuery("from and to go together: give both for a timeline")
    if start is not None and end is not None and end < start:
        raise InvalidQuery(f"from {start} is after to {end}")
    day = parse_day(as_of, "as_of") or date.today()
    chosen = _lists(lists)
    job_id, folder = runner.folder()
    path = save_upload(file, folder, suffixes=PARTY_SUFFIXES, max_bytes=options.max_upload_bytes)
    holdings = client_errors(path, path.name, lambda: read_holdings(path))
    if len(holdings) > options.max_batch_rows:
        raise InvalidQuery(
            f"{path.name}: {len(holdings):,} holdings; a job takes at most {options.max_batch_rows:,}"
        )

    def work(_job: Job) -> tuple[dict[str, Any], Any]:
        store = request.app.state.store
        if start is not None and end is not None:
            report: Any = portfolio_timeline(
                store, holdings, start=start, end=end, lists=chosen, cache_dir=options.cache_dir
            )
        else:
            report = screen_portfolio(store, holdings, as_of=day, lists=chosen, cache_dir=options.cache_dir)
        return {"source": path.name, **report.to_dict()}, report

    job = runner.submit(
        "portfolio", job_id=job_id, folder=folder, owner=principal.name, total=len(holdings), work=work
    )
    return _accepted(request, job)


@router.get("/jobs")
def jobs(request: Request, _principal: Viewer) -> list[dict[str, Any]]:
    """The jobs this server holds, newest first (without their results)."""
    return [{k: v for k, v in job.to_dict().items() if k != "result"} for job in _jobs(request).all()]


@router.get("/jobs/{job_id}")
def job(request: Request, job_id: str, _principal: Viewer) -> dict[str, Any]:
    """A job's status, progress and (when done) result."""
    return _jobs(request).get(job_id).to_dict()


@router.get("/jobs/{job_id}/report.{fmt}", response_class=FileResponse)
def job_report(request: Request, job_id: str, fmt: str, _principal: Viewer) -> FileResponse:
    """A finished job's results as CSV, JSON or HTML (a portfolio timeline's HTML has charts)."""
    from listwatch.screening.portfolio_report import write_portfolio
    from listwatch.screening.reports import write_results

    found = _jobs(request).get(job_id)
    if fmt not in _OUTPUTS:
        raise InvalidQuery(f"unknown report format {fmt!r}; use {', '.join(_OUTPUTS)}")
    if found.status != "done" or found.folder is None:
        raise InvalidQuery(f"job {job_id} is {found.status}; its report is ready when it is done")
    path = found.folder / f"report.{fmt}"
    if not path.exists():
        if found.kind == "portfolio":
            write_portfolio(found.outputs, path, source=str(found.result.get("source", "")))
        else:
            write_results(found.outputs, path)
    return FileResponse(path, media_type=_OUTPUTS[fmt], filename=f"{job_id}-report.{fmt}")


# -- stored runs ------------------------------------------------------------------------------


@router.get("/runs")
def runs(
    request: Request, _principal: Viewer, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> list[dict[str, Any]]:
    """The newest stored screening runs (from the CLI and the API alike)."""
    from listwatch.screening.runs import list_runs

    return [r.to_dict() for r in list_runs(request.app.state.store, limit=limit)]


@router.get("/runs/{run}")
def run(request: Request, run: RunId, _principal: Viewer) -> dict[str, Any]:
    """One run: who, when, input digest, parameters, snapshots, every hit with its review status."""
    from listwatch.screening.runs import load_run

    return load_run(request.app.state.store, run).to_dict()


@router.get("/runs/{run}/results.{fmt}", response_class=FileResponse)
def run_results(request: Request, run: RunId, fmt: str, _principal: Viewer) -> FileResponse:
    """A run's results as CSV, JSON or HTML (as `listwatch runs show RUN --out results.html`)."""
    from listwatch.screening.reports import write_results
    from listwatch.screening.runs import load_run

    if fmt not in _OUTPUTS:
        raise InvalidQuery(f"unknown results format {fmt!r}; use {', '.join(_OUTPUTS)}")
    found = load_run(request.app.state.store, run)
    folder = Path(tempfile.mkdtemp(prefix="results-", dir=_jobs(request).work_dir))
    path = folder / f"{found.label}-results.{fmt}"
    write_results(found, path)
    cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)  # once it is sent
    return FileResponse(path, media_type=_OUTPUTS[fmt], filename=path.name, background=cleanup)


class ReviewBody(BaseModel):
    hit: str = Field(..., min_length=1, max_length=300, description="The hit's number, or ROW:ENTITY_ID")
    decision: str = Field(..., examples=["false_positive"], description="true_match or false_positive")
    comment: str = Field(..., min_length=1, max_length=5000)


@router.post("/runs/{run}/reviews", status_code=201)
def review(request: Request, run: RunId, body: ReviewBody, principal: Analyst) -> dict[str, Any]:
    """Record a decision on a hit (as `listwatch review`); the key's name is the analyst."""
    from listwatch.screening.reviews import record_review

    if body.decision not in ("true_match", "false_positive"):
        raise InvalidQuery(f"decision {body.decision!r}: use true_match or false_positive")
    saved = record_review(
        request.app.state.store,
        run,
        body.hit,
        decision=body.decision,
        comment=body.comment,
        analyst=f"api:{principal.name}",
    )
    request.state.audit = {"run": saved.run, "hit": body.hit, "decision": body.decision}
    return saved.to_dict()


@router.get("/reviews")
def reviews(request: Request, _principal: Viewer) -> list[dict[str, Any]]:
    """Every review ever made, oldest first (as `listwatch reviews export`)."""
    from listwatch.screening.reviews import list_reviews

    return [r.to_dict() for r in list_reviews(request.app.state.store)]


@router.post("/runs/{run}/rerun", status_code=202)
def rerun(request: Request, run: RunId, principal: Analyst) -> JSONResponse:
    """Screen a stored run's rows again as a new run and compare (as `listwatch runs rerun`)."""
    from listwatch.screening.batches import rerun as rerun_run
    from listwatch.screening.runs import load_run

    runner = _jobs(request)
    original = load_run(request.app.state.store, run)
    job_id, folder = runner.folder()

    def work(_job: Job) -> tuple[dict[str, Any], Any]:
        result = rerun_run(
            request.app.state.store,
            original.label,
            analyst=f"api:{principal.name}",
            cache_dir=request.app.state.options.cache_dir,
        )
        return result.to_dict(), result.run

    job = runner.submit(
        "rerun", job_id=job_id, folder=folder, owner=principal.name, total=len(original.rows), work=work
    )
    return _accepted(request, job)


# -- certificates -----------------------------------------------------------------------------


@router.get("/runs/{run}/certificate", tags=["Certificates"])
def certificate(request: Request, run: RunId, _principal: Analyst) -> JSONResponse:
    """A signed certificate of the run (as `listwatch certificate`), signed with the server's key."""
    from listwatch.screening.certificates import issue_certificate

    signed = issue_certificate(
        request.app.state.store, run, key_dir=request.app.state.settings.signing_key_dir()
    )
    name = f"{signed['payload'].get('run', run)}-certificate.json"
    return JSONResponse(signed, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/certificates/public-key", tags=["Certificates"], response_class=FileResponse)
def public_key(request: Request, _principal: Viewer) -> FileResponse:
    """The server's public signing key (PEM), to verify its certificates offline."""
    from listwatch.screening.signing import load_or_create_key

    key_dir: Path = request.app.state.settings.signing_key_dir()
    load_or_create_key(key_dir)
    return FileResponse(key_dir / "signing-key.pub.pem", media_type="application/x-pem-file")


@router.post("/certificates/verify", tags=["Certificates"])
def verify(
    request: Request,
    _principal: Viewer,
    body: Annotated[dict[str, Any], "the certificate, as downloaded"],
    pinned: Annotated[bool, Query(description="Also require the server's own signing key")] = False,
) -> dict[str, Any]:
    """Check a certificate's signature (as `listwatch verify`); 422 with the reason when it fails."""
    from listwatch.screening.certificates import verify_certificate_text

    key = request.app.state.settings.signing_key_dir() / "signing-key.pub.pem" if pinned else None
    if key is not None and not key.exists():
        raise InvalidQuery("this server has not signed anything yet: no public key to pin")
    checked = verify_certificate_text(json.dumps(body), source="certificate", public_key=key)
    return checked.to_dict()
