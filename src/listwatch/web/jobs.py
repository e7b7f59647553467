"""Batch screenings started from the web UI, run as jobs of the API's `JobRunner`.

The upload is checked at once (type, size, readable, row count), so a bad file is answered on the
form; the job then screens and stores the run exactly as `listwatch screen` does, and the progress
page polls the job's JSON twin, `/api/v1/jobs/{job}`.

    job = start_screening(request, upload, parameters=parameters, analyst="web:alice", owner="alice")
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, UploadFile

from listwatch.api.jobs import Job, JobRunner
from listwatch.api.uploads import client_errors, save_upload
from listwatch.errors import InvalidQuery
from listwatch.screening.batches import screen_file
from listwatch.screening.inputs import read_parties
from listwatch.screening.runs import RunParameters

__all__ = ["UPLOAD_SUFFIXES", "job_runner", "start_screening"]

UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")


def job_runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


def start_screening(
    request: Request, upload: UploadFile, *, parameters: RunParameters, analyst: str, owner: str
) -> Job:
    """Save and check the upload, then queue its screening; the job's result names the run."""
    runner, options = job_runner(request), request.app.state.options
    job_id, folder = runner.folder()
    path = save_upload(upload, folder, suffixes=UPLOAD_SUFFIXES, max_bytes=options.max_upload_bytes)

    def count() -> int:
        rows = read_parties(
            path,
            name_column=parameters.name_column,
            id_columns=parameters.id_columns,
            key_column=parameters.key_column,
            country_column=parameters.country_column,
            schema=parameters.schema,
        )
        return sum(1 for _ in rows)

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
