"""Request and response bodies of the yente-compatible routes (pydantic, for the OpenAPI schema).

Field names are yente's (`schema`, `properties`, `score`, `match`); listwatch adds a few fields
(`listing`, `as_of`), which yente clients ignore.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from listwatch.matching.score import DEFAULT_THRESHOLD

__all__ = [
    "AlgorithmResponse",
    "CatalogResponse",
    "EntityExample",
    "EntityMatchQuery",
    "EntityMatchResponse",
    "EntityResponse",
    "MatchParams",
    "SearchResponse",
    "StatusResponse",
]


class StatusResponse(BaseModel):
    status: str = Field("ok", examples=["ok"])


class EntityExample(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str | None = Field(None, examples=["my-entity-id"])
    schema_: str = Field(..., alias="schema", examples=["Company"])
    properties: dict[str, str | list[str]] = Field(..., examples=[{"name": ["Xiaomi Corporation"]}])


class EntityMatchQuery(BaseModel):
    weights: dict[str, float] = Field(
        {},
        examples=[{}],
        description="yente's feature weights: accepted and ignored (listwatch-v1's features have fixed weights)",
    )
    config: dict[str, Any] = Field(
        {}, examples=[{}], description="yente's algorithm settings: accepted and ignored"
    )
    queries: dict[str, EntityExample] = Field(
        ...,
        examples=[{"q1": {"schema": "Company", "properties": {"name": ["Xiaomi Corp"], "country": ["cn"]}}}],
    )


class MatchParams(BaseModel):
    """The query parameters of `POST /match/{dataset}` (yente's, plus `as_of`)."""

    limit: int = Field(5, ge=1, le=500, description="Results per query")
    threshold: float = Field(
        DEFAULT_THRESHOLD, gt=0.0, le=1.0, description="Score from which a result is a match"
    )
    # deprecated in the schema only: pydantic's `deprecated=` would warn on every read
    cutoff: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Lowest score returned at all",
        json_schema_extra={"deprecated": True},
    )
    algorithm: str = Field("best", max_length=40)
    include_dataset: list[str] = Field([], description="Datasets to search (default: all of `dataset`)")
    exclude_dataset: list[str] = Field([], description="Datasets to leave out")
    exclude_schema: list[str] = Field([], description="Schemata whose entities are left out")
    changed_since: str | None = Field(
        None, max_length=40, description="YYYY-MM-DD: only entities changed since"
    )
    exclude_entity_ids: list[str] = Field([], max_length=50, description="Entity ids left out of the results")
    as_of: str | None = Field(
        None, description="YYYY-MM-DD: the lists as they stood that day (default today)"
    )


class Listing(BaseModel):
    state: str
    since: str | None = None


class EntityResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    caption: str
    schema_: str = Field(..., alias="schema")
    properties: dict[str, list[Any]]
    datasets: list[str] = []
    referents: list[str] = []
    target: bool = False
    first_seen: str | None = None
    last_seen: str | None = None
    last_change: str | None = None
    listing: Listing | None = None


class ScoredEntityResponse(EntityResponse):
    score: float
    match: bool
    features: dict[str, float]
    explanations: dict[str, dict[str, Any]]


class TotalSpec(BaseModel):
    value: int
    relation: str = "eq"


class EntityMatches(BaseModel):
    status: int = 200
    results: list[ScoredEntityResponse]
    total: TotalSpec
    query: EntityExample


class EntityMatchResponse(BaseModel):
    responses: dict[str, EntityMatches]
    matcher: dict[str, dict[str, Any]]
    limit: int
    as_of: str
    algorithm: str


class SearchResponse(BaseModel):
    limit: int
    offset: int = 0
    total: TotalSpec
    results: list[EntityResponse]
    facets: dict[str, Any]
    as_of: str


class Algorithm(BaseModel):
    name: str
    description: str | None = None
    features: dict[str, dict[str, Any]]


class AlgorithmResponse(BaseModel):
    algorithms: list[Algorithm]
    default: str
    best: str


class Dataset(BaseModel):
    name: str
    title: str
    summary: str | None = None
    url: str | None = None
    load: bool
    entities_url: str | None = None
    version: str
    index_version: str | None = None
    index_current: bool = False
    children: list[str]


class CatalogResponse(BaseModel):
    datasets: list[Dataset]
    current: list[str]
    outdated: list[str]
    index_stale: bool = False
