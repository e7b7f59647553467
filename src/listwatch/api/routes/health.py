"""`/healthz` (the process answers) and `/readyz` (the store answers and the index is loaded)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from listwatch.api.models import StatusResponse
from listwatch.errors import ListwatchError

router = APIRouter(tags=["System information"])


@router.get("/healthz", response_model=StatusResponse)
def healthz() -> StatusResponse:
    """The process is up. Needs no key."""
    return StatusResponse(status="ok")


@router.get(
    "/readyz",
    response_model=StatusResponse,
    responses={503: {"model": StatusResponse, "description": "Not ready: index loading or store down"}},
)
def readyz(request: Request) -> JSONResponse:
    """Ready to match: the store answers and today's index is loaded. Needs no key."""
    pool = request.app.state.screeners
    try:
        pool.generation()
    except (ListwatchError, SQLAlchemyError):
        return JSONResponse({"status": "store unavailable"}, status_code=503)
    if not pool.ready.is_set():
        return JSONResponse({"status": "loading"}, status_code=503)
    return JSONResponse({"status": "ok"})
