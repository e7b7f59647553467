"""Watches and their alerts (as `listwatch watch list`, `alerts` and `alerts ack`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from listwatch.api.auth import Principal, require
from listwatch.api.errors import ERROR_RESPONSES
from listwatch.model import parse_day

router = APIRouter(prefix="/api/v1", tags=["Monitoring"], responses=ERROR_RESPONSES)
Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]


@router.get("/watches")
def watches(request: Request, _principal: Viewer) -> list[dict[str, Any]]:
    """The watched files, re-screened after every ingest."""
    from listwatch.screening.monitoring import list_watches

    return [w.to_dict() for w in list_watches(request.app.state.store)]


@router.get("/alerts")
def alerts(
    request: Request,
    _principal: Viewer,
    watch: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[
        str | None, Query(max_length=40, description="Raised on or after YYYY-MM-DD (UTC)")
    ] = None,
    include_acknowledged: Annotated[bool, Query(alias="all")] = False,
) -> list[dict[str, Any]]:
    """Alerts not yet acknowledged (all with `all=true`), oldest first."""
    from listwatch.screening.monitoring import list_alerts

    found = list_alerts(
        request.app.state.store,
        watch=watch,
        since=parse_day(since, "since"),
        include_acknowledged=include_acknowledged,
    )
    return [a.to_dict() for a in found]


class AckBody(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**53)]] = Field(
        ..., min_length=1, max_length=1000, examples=[[1, 2]]
    )


@router.post("/alerts/ack")
def acknowledge(request: Request, body: AckBody, principal: Analyst) -> list[dict[str, Any]]:
    """Acknowledge alerts, all or none; the key's name is recorded as who did."""
    from listwatch.screening.monitoring import acknowledge_alerts

    request.state.audit = {"alerts": body.ids}
    done = acknowledge_alerts(request.app.state.store, body.ids, analyst=f"api:{principal.name}")
    return [a.to_dict() for a in done]
