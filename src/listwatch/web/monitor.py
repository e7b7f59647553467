"""The alerts page (`listwatch alerts`, `alerts ack`) and the event-study page (`listwatch impact
--list ...`) with its CAR chart, over the price files the server is configured with."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from listwatch.errors import InvalidQuery, ListwatchError
from listwatch.model import EventKind, parse_day
from listwatch.registry.overview import stored_lists
from listwatch.screening.monitoring import acknowledge_alerts, list_alerts
from listwatch.web.config import web_config
from listwatch.web.render import check_csrf, error_page, page, svg
from listwatch.web.session import Analyst, Viewer, WebRoute, store_of

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

_ACTIONS = [k.value for k in EventKind if k is not EventKind.AMENDED]


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, principal: Viewer, all: bool = False) -> Response:
    found = list_alerts(store_of(request), include_acknowledged=all)
    notice = request.query_params.get("acked")
    context = {"alerts": found, "show_all": all, "notice": f"Acknowledged {notice}." if notice else None}
    return page(request, "alerts.html", context)


@router.post("/alerts/ack")
def alerts_ack(
    request: Request,
    principal: Analyst,
    alert: Annotated[list[int] | None, Form()] = None,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        done = acknowledge_alerts(store_of(request), alert or [], analyst=f"web:{principal.name}")
    except ListwatchError as exc:
        return error_page(request, exc, title="Nothing was acknowledged")
    return RedirectResponse(f"/alerts?acked={len(done)}+alert(s)", status_code=303)


@router.get("/impact", response_class=HTMLResponse)
def impact_page(
    request: Request,
    principal: Viewer,
    list_id: Annotated[str, Query(alias="list", max_length=100)] = "",
    action: Annotated[str, Query(max_length=20)] = "",
    entity: Annotated[str, Query(max_length=300)] = "",
    start: Annotated[str, Query(alias="from", max_length=20)] = "",
    end: Annotated[str, Query(alias="to", max_length=20)] = "",
    model: Annotated[str, Query(max_length=30)] = "market",
    after_close: bool = False,
) -> Response:
    from listwatch.impact.models import MODELS

    config = web_config(request)
    form = {
        "list": list_id,
        "action": action,
        "entity": entity,
        "from": start,
        "to": end,
        "model": model,
        "after_close": after_close,
    }
    context: dict[str, Any] = {
        "form": form,
        "lists": [item.list_id for item in stored_lists(store_of(request))],
        "actions": _ACTIONS,
        "models": list(MODELS),
        "configured": bool(config.prices),
        "result": None,
        "chart": None,
        "error": None,
    }
    if not list_id:
        return page(request, "impact.html", context)
    try:
        context["result"], context["chart"] = _study(request, form)
    except ListwatchError as exc:
        context["error"] = str(exc)
        return page(request, "impact.html", context, status_code=int(getattr(exc, "status", 400)))
    return page(request, "impact.html", context)


def _study(request: Request, form: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    from listwatch.impact.models import model_named
    from listwatch.impact.options import StudyOptions
    from listwatch.impact.plots import car_chart
    from listwatch.impact.runner import study_from_files

    config = web_config(request)
    if not config.prices:
        raise InvalidQuery("no price files are configured: start the server with LISTWATCH_PRICES set")
    if form["action"] and form["action"] not in _ACTIONS:
        raise InvalidQuery(f"unknown event {form['action']!r}; use one of {', '.join(_ACTIONS)}")
    model_named(form["model"])
    result = study_from_files(
        store=store_of(request),
        list_id=form["list"],
        actions=[form["action"]] if form["action"] else [],
        entity=form["entity"].strip() or None,
        start=parse_day(form["from"], "from"),
        end=parse_day(form["to"], "to"),
        prices=list(config.prices),
        markets=list(config.markets),
        options=StudyOptions(model=form["model"], after_close=bool(form["after_close"])),
    )
    chart = svg(lambda: car_chart(result)) if result.n_valid else None
    return result.to_dict(), chart
