"""Batch screenings started from the web UI, run as jobs of the API's `JobRunner`.

The upload is checked at once (type, size, readable, row count), so a bad file is answered on the
form; the job then screens and stores the run exactly as `listwatch screen` does, and the progress
page polls the job's JSON twin, `/api/v1/jobs/{job}`.

    job = start_screening(request, upload, parameters=parameters, analyst="web:alice", owner="alice")
"""

from __future__ import annotations

from fastapi import Request

from listwatch.api.jobs import JobRunner
from listwatch.api.routes.screening import PARTY_SUFFIXES as UPLOAD_SUFFIXES
from listwatch.api.routes.screening import start_screening

__all__ = ["UPLOAD_SUFFIXES", "job_runner", "start_screening"]


def job_runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner
