"""The yente-compatible routes: `/match`, `/search`, `/entities`, `/algorithms`, `/catalog`.

Same paths, parameters and bodies as OpenSanctions' yente, so its clients work unchanged; each
also takes `as_of` (YYYY-MM-DD, default today): the lists as they stood that day.

`/match` runs on the event loop and does not wait on the database when it need not: the key, the
screener and the stored lists come from memory (`auth`, `api.index`), its queries are scored in
batches with those of concurrent requests (`api.batcher`), and the reads left (a reload check, a
`changed_since` filter) run in a worker thread.
"""

from __future__ import annotations

import secrets
from datetime import date
from functools import partial
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from listwatch.api import yente
from listwatch.api.auth import Principal, require
from listwatch.api.batcher import Answer, MatchBatcher
from listwatch.api.datasets import catalog, resolve_datasets
from listwatch.api.entities import changed_since, entity_response
from listwatch.api.errors import ERROR_RESPONSES
from listwatch.api.index import NotCached, ScreenerPool, SharedScreener
from listwatch.api.models import (
    AlgorithmResponse,
    CatalogResponse,
    EntityMatchQuery,
    EntityMatchResponse,
    EntityResponse,
    MatchParams,
    SearchResponse,
)
from listwatch.api.query_params import QueryModel
from listwatch.errors import InvalidQuery
from listwatch.matching.query import MatchQuery
from listwatch.matching.score import ALGORITHMS, DEFAULT_THRESHOLD
from listwatch.model import parse_day

router = APIRouter(responses=ERROR_RESPONSES)
# Which worker process answered (tests of several workers tell them apart): random, not the pid.
_WORKER = secrets.token_hex(4)

Dataset = Annotated[
    str, Path(description="`default` (every list), a collection (`us`) or a list id", max_length=80)
]
AsOf = Annotated[
    str | None, Query(description="YYYY-MM-DD: the lists as they stood that day (default today)")
]
Datasets = Annotated[list[str], Query(description="Dataset names")]
Viewer = Annotated[Principal, Depends(require("viewer"))]
# /match reads its query string in one validation: FastAPI's per-parameter checks cost 0.2 ms a
# request (api.query_params)
MATCH_PARAMS = QueryModel(MatchParams)


def _screener(
    request: Request,
    dataset: str,
    as_of: str | None,
    *,
    include: list[str],
    exclude: list[str],
    algorithm: str,
    threshold: float,
    wait: bool = True,
) -> SharedScreener | None:
    """The shared screener for this dataset and day, or None when the filters leave no list.

    `wait=False`: from memory only, else `NotCached` (then call it again in a worker thread)."""
    pool: ScreenerPool = request.app.state.screeners
    stored = pool.stored_lists(wait=wait) if (include or exclude) else []
    lists = resolve_datasets(dataset, include=include, exclude=exclude, stored=stored)
    if lists == ():
        return None
    day = parse_day(as_of, "as_of")
    return pool.get(
        as_of=day, lists=lists, algorithm=yente.resolve_algorithm(algorithm), threshold=threshold, wait=wait
    )


async def _answers(
    request: Request,
    screener: SharedScreener | None,
    examples: dict[str, yente.Example],
    filters: yente.MatchFilters,
) -> tuple[dict[str, Answer], set[str] | None]:
    """Each example's answer, scored in batches with concurrent requests' queries, and the hits
    changed since `filters.changed_since` (one query, in a worker thread), when asked."""
    if screener is None:
        return {}, None
    batcher: MatchBatcher = request.app.state.batcher
    found = await batcher.match_many(
        screener, [example.features for example in examples.values()], limit=filters.wanted
    )
    answers = dict(zip(examples, found, strict=True))
    if filters.changed_since is None:
        return answers, None
    ids = sorted({hit.entity.entity_id or "" for hits, _ in answers.values() for hit in hits})
    store = request.app.state.store
    return answers, await anyio.to_thread.run_sync(changed_since, store, ids, filters.changed_since)


@router.post(
    "/match/{dataset}",
    response_model=EntityMatchResponse,
    tags=["Matching"],
    openapi_extra=MATCH_PARAMS.openapi,
)
async def match(
    request: Request,
    body: EntityMatchQuery,
    _principal: Viewer,
    dataset: Dataset,
    params: Annotated[MatchParams, Depends(MATCH_PARAMS)],
) -> Response:
    """Match example entities (`{"queries": {"q1": {"schema": ..., "properties": {...}}}}`)."""
    options = request.app.state.options
    if len(body.queries) > options.max_batch_queries:
        raise InvalidQuery(
            f"too many queries in one batch: {len(body.queries)} (limit {options.max_batch_queries})"
        )
    if not body.queries:
        raise InvalidQuery("no queries provided")
    since = parse_day(params.changed_since, "changed_since")
    day = parse_day(params.as_of, "as_of") or date.today()
    filters = yente.MatchFilters(
        limit=min(params.limit, options.max_results),
        cutoff=params.cutoff,
        exclude_ids=tuple(params.exclude_entity_ids),
        exclude_schemas=tuple(params.exclude_schema),
        changed_since=since,
    )

    examples = yente.build_examples(
        {name: (ex.schema_, ex.properties, ex.id) for name, ex in body.queries.items()}
    )
    find = partial(
        _screener, request, dataset, params.as_of, include=params.include_dataset,
        exclude=params.exclude_dataset, algorithm=params.algorithm, threshold=params.threshold,
    )  # fmt: skip
    try:
        screener = find(wait=False)
    except NotCached:  # a reload check or an index build is due: not on the event loop
        screener = await anyio.to_thread.run_sync(partial(find, wait=True))
    answers, changed = await _answers(request, screener, examples, filters)
    content = {
        "responses": yente.match_responses(examples, answers, filters, changed=changed),
        "matcher": yente.FEATURE_DOCS,
        "limit": filters.limit,
        "as_of": screener.as_of.isoformat() if screener else day.isoformat(),
        "algorithm": screener.algorithm_name if screener else yente.resolve_algorithm(params.algorithm),
    }
    # Serialised as it is: the shape is the response model's, and skipping its re-validation keeps
    # /match cheap under load (tests check the shape against the OpenAPI schema).
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY),
        media_type="application/json",
        # which worker process answered: with --workers, each has its own index pool
        headers={"x-batch-size": str(len(examples)), "x-listwatch-worker": _WORKER},
    )


@router.get("/search/{dataset}", response_model=SearchResponse, tags=["Matching"])
def search(
    request: Request,
    _principal: Viewer,
    dataset: Dataset,
    q: Annotated[str, Query(min_length=1, max_length=500, description="A name or an identifier")],
    schema: Annotated[str, Query(max_length=40)] = "LegalEntity",
    countries: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
    offset: Annotated[int, Query(ge=0, le=500)] = 0,
    include_dataset: Datasets = [],  # noqa: B006
    exclude_dataset: Datasets = [],  # noqa: B006
    as_of: AsOf = None,
) -> dict[str, Any]:
    """Entities whose names are like `q` (ranked by the matcher, without a threshold)."""
    screener = _screener(
        request,
        dataset,
        as_of,
        include=include_dataset,
        exclude=exclude_dataset,
        algorithm="best",
        threshold=DEFAULT_THRESHOLD,
    )
    page: list[dict[str, Any]] = []
    total = 0
    if screener is not None:
        query = MatchQuery(names=(q,), schema=schema, countries=tuple(countries))
        answer = screener.match(query, limit=min(offset + limit, request.app.state.options.max_results))
        page = [yente.hit_entity(hit) for hit in answer.hits[offset : offset + limit]]
        total = answer.total_candidates  # scored above zero, as /match counts them
    day = screener.as_of if screener else (parse_day(as_of, "as_of") or date.today())
    return {
        "limit": limit,
        "offset": offset,
        "total": {"value": total, "relation": "eq"},
        "results": page,
        "facets": yente.search_facets(page),
        "as_of": day.isoformat(),
    }


@router.get("/entities/{entity_id}", response_model=EntityResponse, tags=["Data access"])
def fetch_entity(
    request: Request,
    _principal: Viewer,
    entity_id: Annotated[str, Path(max_length=200)],
    as_of: AsOf = None,
) -> dict[str, Any]:
    """One entity in FollowTheMoney form: its record version in force on `as_of` (default newest)."""
    day = parse_day(as_of, "as_of")
    return entity_response(request.app.state.store, entity_id, as_of=day)


@router.get("/algorithms", response_model=AlgorithmResponse, tags=["Matching"])
def algorithms(_principal: Viewer) -> dict[str, Any]:
    """The matching algorithms `/match` accepts (`best` and `default` name the first)."""
    names = list(ALGORITHMS)
    return {
        "algorithms": [
            {"name": name, "description": scorer.description, "features": yente.FEATURE_DOCS}
            for name, scorer in ALGORITHMS.items()
        ],
        "default": names[0],
        "best": names[0],
    }


@router.get("/catalog", response_model=CatalogResponse, tags=["Data access"])
def catalog_route(request: Request, _principal: Viewer) -> dict[str, Any]:
    """Every dataset: collections (`default`, `us`...) and lists, with their newest version."""
    found = catalog(request.app.state.screeners.snapshots())
    loaded = [d.name for d in found if d.load]
    return {"datasets": [d.to_dict() for d in found], "current": loaded, "outdated": [], "index_stale": False}
