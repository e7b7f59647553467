"""The search page (as of a day) and the entity page (timeline, effects, price chart).

Search answers as `listwatch status` does (exact names, aliases, identifiers, ids) and adds the
fuzzy matches of `listwatch match`; the entity page joins `listwatch history`, `status`, `effect`
and, when price files are configured, the price chart of `listwatch impact` with the events marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from listwatch.errors import ListwatchError, UnknownEntity
from listwatch.identifiers import parse_identifier_query
from listwatch.model import parse_day
from listwatch.registry.history import EntityHistory, entity_history, status_as_of
from listwatch.rules.effects import legal_effect, legal_effect_timeline
from listwatch.web.render import error_page, page, svg
from listwatch.web.session import Viewer, WebRoute, store_of

__all__ = ["TimelineRow", "entity_timeline", "router"]

router = APIRouter(route_class=WebRoute)

_MAX_QUERY = 300


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    principal: Viewer,
    q: Annotated[str, Query(max_length=_MAX_QUERY)] = "",
    as_of: str = "",
) -> Response:
    context: dict[str, Any] = {"q": q, "as_of": as_of, "standings": [], "hits": [], "error": None}
    context["suggestions"] = []
    try:
        day = parse_day(as_of, "as of") or date.today()
        assert day is not None
        context["day"] = day
        if q.strip():
            _search(request, q.strip(), day, context)
    except ListwatchError as exc:
        context.setdefault("day", date.today())
        context["error"] = str(exc)
        return page(request, "search.html", context, status_code=int(getattr(exc, "status", 400)))
    return page(request, "search.html", context)


def _search(request: Request, q: str, day: date, context: dict[str, Any]) -> None:
    """Exact answers (`listwatch status`), then similar names (`listwatch match`) from the app's
    screener pool, which keeps one match index per day in memory."""
    from listwatch.matching.query import MatchQuery

    try:
        context["standings"] = status_as_of(store_of(request), q, day)
    except UnknownEntity as exc:
        context["suggestions"] = list(getattr(exc, "suggestions", None) or [])
    exact = {s.entity_id for s in context["standings"]}
    if parse_identifier_query(q) is not None:
        return
    response = request.app.state.screeners.get(as_of=day).match(MatchQuery(names=(q,)), limit=10)
    context["hits"] = [h.to_dict() for h in response.hits if h.entity.entity_id not in exact]
    context["threshold"] = response.threshold


@dataclass(frozen=True)
class TimelineRow:
    """One line of an entity page's timeline: a list event, a court order or an effect's stretch."""

    on: date
    until: date | None
    kind: str  # listed, enjoined, vacated, ... or an effect kind
    category: str  # event | court | effect
    list_id: str
    detail: str
    source: str
    source_url: str | None
    snapshot_id: int | None = None  # the stored list version that shows the event


_COURT = {"enjoined", "vacated", "reinstated"}


def entity_timeline(histories: list[EntityHistory], intervals: list[Any]) -> list[TimelineRow]:
    """The events of every entry (each with its source) and the stretches its effects were in force
    or suspended (each with its law), in date order."""
    rows = [
        TimelineRow(
            on=ev.effective_on,
            until=None,
            kind=ev.kind,
            category="court" if ev.kind in _COURT else "event",
            list_id=h.list_id,
            detail="; ".join(p for p in (ev.note, ev.authority, ev.legal_basis) if p)
            + (" (on or before: first snapshot)" if ev.date_basis == "first_snapshot" else ""),
            source=ev.source,
            source_url=ev.source_url,
            snapshot_id=ev.snapshot_id,
        )
        for h in histories
        for ev in h.events
    ]
    for i in intervals:
        citation = i.citations[0] if i.citations else None
        rows.append(
            TimelineRow(
                on=i.start,
                until=i.end,
                kind=i.kind,
                category="effect",
                list_id=i.list_id,
                detail=f"{i.state.replace('_', ' ')}: {i.reason}" + (f" (via {i.via})" if i.via else ""),
                source=citation.text if citation else "",
                source_url=citation.url if citation else None,
            )
        )
    order = {"event": 0, "court": 0, "effect": 1}
    rows.sort(key=lambda r: (r.on, order[r.category], r.list_id, r.kind))
    return rows


@router.get("/entity/{entity_id}", response_class=HTMLResponse)
def entity_page(request: Request, entity_id: str, principal: Viewer, as_of: str = "") -> Response:
    store = store_of(request)
    try:
        day = parse_day(as_of, "as of") or date.today()
        assert day is not None
        if len(entity_id) > _MAX_QUERY or parse_identifier_query(entity_id) is not None:
            raise UnknownEntity(entity_id)
        histories = entity_history(store, entity_id)
        if not any(h.entity_id == entity_id for h in histories):
            raise UnknownEntity(entity_id)
        first = min((ev.effective_on for h in histories for ev in h.events), default=day)
        end = max(day, date.today())
        intervals = legal_effect_timeline(store, entity_id, start=first, end=end)
        effects = legal_effect(store, entity_id, as_of=day)
        standings = status_as_of(store, entity_id, day)
    except ListwatchError as exc:
        return error_page(request, exc, title="No such entity")
    main = next(h for h in histories if h.entity_id == entity_id)
    charts, chart_note = _cached_charts(request, histories, entity_id)
    context = {
        "entity": main,
        "others": [h for h in histories if h.entity_id != entity_id],
        "day": day,
        "standings": standings,
        "effects": effects,
        "timeline": entity_timeline(histories, intervals),
        "charts": charts,
        "chart_note": chart_note,
        "record": _record_fields(main.record),
    }
    return page(request, "entity.html", context)


def _record_fields(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The newest record's fields as (name, text) pairs, for the page's details table."""
    shown = []
    for key, value in record.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            text = "; ".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = "; ".join(f"{k}: {v}" for k, v in value.items())
        else:
            text = str(value)
        shown.append((key, text[:2000]))
    return shown


def _cached_charts(request: Request, histories: list[EntityHistory], entity_id: str) -> tuple[list[Any], str]:
    from listwatch.web.config import ChartCache, web_config

    cache: ChartCache = request.app.state.web_charts
    config = web_config(request)
    # The stored snapshots (they change with every ingest) and the price files' times.
    key = (entity_id, request.app.state.screeners.generation(), config, config.prices_version())
    found = cache.get(key)
    if found is None:
        found = _price_charts(request, histories, entity_id)
        cache.put(key, found)
    return found  # type: ignore[no-any-return]


def _price_charts(request: Request, histories: list[EntityHistory], entity_id: str) -> tuple[list[Any], str]:
    """The entity's price charts with its events marked, when price files are configured."""
    from listwatch.impact.options import StudyOptions
    from listwatch.impact.plots import price_chart
    from listwatch.impact.runner import study_from_files
    from listwatch.web.config import web_config

    config = web_config(request)
    if not config.prices:
        return [], "No price files are configured (LISTWATCH_PRICES), so there is no price chart."
    charts = []
    notes = []
    for h in histories:
        if not h.events:
            continue
        try:
            result = study_from_files(
                store=store_of(request),
                list_id=h.list_id,
                entity=h.entity_id,
                prices=list(config.prices),
                markets=list(config.markets),
                options=StudyOptions(min_estimation=1),
            )
        except ListwatchError as exc:
            notes.append(f"{h.list_id}: {exc}")
            continue
        except ValueError:  # impact.panel.build_panel fails so when no event has a price series
            notes.append(f"{h.list_id}: no price series for this entry")
            continue
        for symbol in result.series:
            drawn = svg(partial(price_chart, result, symbol))
            if drawn:
                charts.append({"symbol": symbol, "list": h.list_id, "svg": drawn})
        if charts:
            break
    note = "" if charts else "No prices found for this entity's securities. " + " ".join(notes)[:500]
    return charts, note
