"""Where entities stood and what lists changed: status, history, effect; snapshots and diffs.

Each route calls the function its CLI command calls (`listwatch status`, `history`, `effect`,
`lists`, `diff`) and returns that result's `to_dict()`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from listwatch.api.auth import Principal, require
from listwatch.api.errors import ERROR_RESPONSES
from listwatch.model import parse_day

router = APIRouter(prefix="/api/v1", tags=["Lists and entities"], responses=ERROR_RESPONSES)
Viewer = Annotated[Principal, Depends(require("viewer"))]
EntityQuery = Annotated[
    str, Query(min_length=1, max_length=300, description="A name, scheme:value (isin:...) or an entity id")
]
AsOf = Annotated[str | None, Query(description="YYYY-MM-DD (default today)", max_length=40)]


def _day(value: str | None) -> date:
    return parse_day(value, "as_of") or date.today()


@router.get("/status")
def status(request: Request, _principal: Viewer, q: EntityQuery, as_of: AsOf = None) -> dict[str, Any]:
    """On which lists the entity stood on `as_of`, since when, under which programs."""
    from listwatch.registry.history import status_as_of

    day = _day(as_of)
    standings = status_as_of(request.app.state.store, q, day)
    return {"query": q, "as_of": day.isoformat(), "standings": [s.to_dict() for s in standings]}


@router.get("/history")
def history(request: Request, _principal: Viewer, q: EntityQuery) -> dict[str, Any]:
    """The entity's timeline on every list, each event with its source."""
    from listwatch.registry.history import entity_history

    return {"query": q, "entities": [h.to_dict() for h in entity_history(request.app.state.store, q)]}


@router.get("/effect")
def effect(request: Request, _principal: Viewer, q: EntityQuery, as_of: AsOf = None) -> dict[str, Any]:
    """What the entity's listings mean on `as_of`: each effect, its state, dates, reason and law."""
    from listwatch.rules.effects import legal_effect

    report = legal_effect(request.app.state.store, q, as_of=_day(as_of))
    return report.to_dict()


@router.get("/lists")
def lists(request: Request, _principal: Viewer) -> list[dict[str, Any]]:
    """The stored lists with their snapshots (as `listwatch lists`)."""
    from listwatch.registry.overview import stored_lists

    return [item.to_dict() for item in stored_lists(request.app.state.store)]


@router.get("/lists/{list_id}/diff")
def diff(
    request: Request,
    _principal: Viewer,
    list_id: str,
    from_: Annotated[
        str | None, Query(alias="from", max_length=40, description="Snapshot number or date")
    ] = None,
    to: Annotated[str | None, Query(max_length=40, description="Snapshot number or date")] = None,
) -> dict[str, Any]:
    """What changed in a list between two snapshots or dates (default: the last two snapshots)."""
    from listwatch.registry.overview import list_diff

    return list_diff(request.app.state.store, list_id, from_, to).to_dict()
