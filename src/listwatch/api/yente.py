"""yente's request and response shapes over listwatch's screener.

OpenSanctions' yente (and clients written for it, like nomenklatura's enricher) sends examples as
FollowTheMoney entities: `{"schema": "Company", "properties": {"name": [...], "isinCode": [...]}}`.
These become `MatchQuery`s; each `Hit` becomes a scored entity with yente's fields (`id`,
`caption`, `schema`, `properties`, `datasets`, `score`, `match`, `features`, `explanations`).

    queries_from_example({"schema": "Company", "properties": {"name": ["Xiaomi Corp"]}})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from listwatch.errors import InvalidQuery
from listwatch.identifiers import FTM_IDENTIFIER_PROPS
from listwatch.matching.features import EntityFeatures
from listwatch.matching.query import MatchQuery, build_query
from listwatch.matching.score import ALGORITHMS
from listwatch.screening.screener import Hit

__all__ = [
    "FEATURE_DOCS",
    "Answer",
    "Example",
    "MatchFilters",
    "build_examples",
    "hit_entity",
    "match_query_from_example",
    "match_responses",
    "matches",
    "query_echo",
    "resolve_algorithm",
    "scored_result",
    "search_facets",
]

#: One query's answer: its hits, best first, and how many candidates scored above zero.
Answer = tuple[Sequence[Hit], int]

#: FtM properties read as names, countries, birth dates; identifier properties map to schemes.
NAME_PROPS = ("name", "alias", "weakAlias", "previousName", "abbreviation")
COUNTRY_PROPS = (
    "country",
    "jurisdiction",
    "nationality",
    "citizenship",
    "registrationCountry",
    "mainCountry",
)
BIRTH_PROPS = ("birthDate", "incorporationDate")
IDENTIFIER_PROPS = {prop: scheme for scheme, prop in FTM_IDENTIFIER_PROPS.items()}
_FTM_NAME_KINDS = {
    "primary": "name",
    "alias": "alias",
    "weak_alias": "weakAlias",
    "previous": "previousName",
    "abbreviation": "abbreviation",
}
#: yente's aliases for "the recommended algorithm".
_ALIASES = {"best", "default"}

#: What each explanation feature of listwatch-v1 means (yente's `matcher` field).
FEATURE_DOCS: dict[str, dict[str, Any]] = {
    "name": {"description": "Best name pair, aligned token by token across scripts", "coefficient": 1.0},
    "identifier": {
        "description": "An identical strong identifier (ISIN, LEI, IMO, USCC...)",
        "coefficient": 1.0,
    },
    "ticker": {"description": "An identical ticker on the same market", "coefficient": 1.0},
    "birth_year": {"description": "Birth or incorporation years agree or conflict", "coefficient": 1.0},
    "country": {"description": "Countries agree or conflict", "coefficient": 1.0},
    "schema": {"description": "Entity types that cannot be the same thing", "coefficient": 1.0},
    "identifier_conflict": {"description": "Different identifiers of the same kind", "coefficient": 1.0},
}
for _doc in FEATURE_DOCS.values():
    _doc.setdefault("url", "https://github.com/listwatch/listwatch/blob/main/docs/matching.md")


def resolve_algorithm(name: str) -> str:
    """A registered algorithm name; yente's `best` and `default` mean listwatch's default."""
    if name in _ALIASES:
        return next(iter(ALGORITHMS))
    if name not in ALGORITHMS:
        raise InvalidQuery(
            f"unknown algorithm {name!r}; known: {', '.join([*ALGORITHMS, *sorted(_ALIASES)])}"
        )
    return name


def _values(properties: Mapping[str, Any], prop: str) -> list[str]:
    raw = properties.get(prop)
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    found = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidQuery(f"property {prop!r}: values must be strings, not {type(item).__name__}")
        if item.strip():
            found.append(item)
    return found


def match_query_from_example(schema: str, properties: Mapping[str, Any]) -> MatchQuery:
    """A yente example entity as a `MatchQuery`; properties listwatch does not score are ignored."""
    identifiers: dict[str, list[str]] = {}
    for prop, scheme in IDENTIFIER_PROPS.items():
        for value in _values(properties, prop):
            identifiers.setdefault(scheme, []).append(value)
    return MatchQuery(
        names=tuple(v for prop in NAME_PROPS for v in _values(properties, prop)),
        schema=schema,
        countries=tuple(v for prop in COUNTRY_PROPS for v in _values(properties, prop)),
        identifiers={scheme: tuple(values) for scheme, values in identifiers.items()},
        birth_dates=tuple(v[:10] for prop in BIRTH_PROPS for v in _values(properties, prop)),
    )


#: `hit_entity`'s answers by entity object (kept with it, so that its id is not reused meanwhile):
#: a listed entity is in many results, and its part of each is the same. Bounded: after an index
#: reload at most this many of the old index's entities stay alive, until the next clear.
_ENTITY_DICTS: dict[int, tuple[EntityFeatures, dict[str, Any]]] = {}
_ENTITY_DICTS_SIZE = 20_000


def hit_entity(hit: Hit) -> dict[str, Any]:
    """The listed entity of a hit as yente shows an entity: FtM properties of the version indexed.

    Built once per entity object and shared between results: callers copy it, never change it."""
    entity = hit.entity
    cached = _ENTITY_DICTS.get(id(entity))
    if cached is not None and cached[0] is entity:
        return cached[1]
    data = _entity_dict(entity)
    if len(_ENTITY_DICTS) >= _ENTITY_DICTS_SIZE:
        _ENTITY_DICTS.clear()
    _ENTITY_DICTS[id(entity)] = (entity, data)
    return data


def _entity_dict(entity: EntityFeatures) -> dict[str, Any]:
    properties: dict[str, list[str]] = {}
    for name in entity.names:
        properties.setdefault(_FTM_NAME_KINDS.get(name.kind, "alias"), []).append(name.original)
    for scheme, key in sorted(entity.identifiers):
        properties.setdefault(FTM_IDENTIFIER_PROPS.get(scheme, "idNumber"), []).append(key)
    for symbol, market in sorted(entity.tickers, key=lambda t: (t[0], t[1] or "")):
        properties.setdefault("ticker", []).append(f"{symbol} {market}" if market else symbol)
    if entity.countries:
        properties["country"] = sorted(entity.countries)
    if entity.birth_years:
        key = "birthDate" if entity.schema == "Person" else "incorporationDate"
        properties[key] = [str(year) for year in sorted(entity.birth_years)]
    listing = entity.listing
    if listing is not None:
        if listing.programs:
            properties["program"] = list(listing.programs)
        properties["topics"] = ["sanction"]
    return {
        "id": entity.entity_id,
        "caption": entity.caption,
        "schema": entity.schema,
        "properties": properties,
        "datasets": [listing.list_id] if listing else [],
        "referents": [],
        "target": True,
        "first_seen": None,
        "last_seen": None,
        "last_change": None,
        "listing": {
            "state": listing.state,
            "since": listing.since.isoformat() if listing.since else None,
        }
        if listing
        else None,
    }


def scored_result(hit: Hit) -> dict[str, Any]:
    """One of yente's `results[]`: the entity, `score`, `match`, `features` and `explanations`."""
    features: dict[str, float] = {}
    explanations: dict[str, dict[str, Any]] = {}
    for explanation in hit.scored.explanations:
        key, n = explanation.feature, 2
        while key in explanations:  # a feature can count twice (two identifiers)
            key, n = f"{explanation.feature}_{n}", n + 1
        features[key] = round(explanation.effect, 4)
        data = explanation.to_dict()
        del data["feature"]
        explanations[key] = {"score": data.pop("effect"), **data}
    return {
        **hit_entity(hit),
        "score": round(hit.score, 4),
        "match": hit.match,
        "features": features,
        "explanations": explanations,
    }


def query_echo(schema: str, properties: Mapping[str, Any], entity_id: str | None) -> dict[str, Any]:
    """The example as yente echoes it: every value a list."""
    return {
        "id": entity_id,
        "schema": schema,
        "properties": {k: (v if isinstance(v, list) else [v]) for k, v in properties.items()},
    }


@dataclass(frozen=True)
class MatchFilters:
    """yente's per-request options that narrow and cut each query's results."""

    limit: int = 5
    cutoff: float = 0.0
    exclude_ids: tuple[str, ...] = ()
    exclude_schemas: tuple[str, ...] = ()
    changed_since: date | None = None

    @property
    def filtering(self) -> bool:
        return bool(self.exclude_ids or self.exclude_schemas or self.changed_since)

    @property
    def wanted(self) -> int:
        """Hits to ask the screener for: filters drop hits after ranking, so more to fill `limit`."""
        return self.limit * 4 if self.filtering else self.limit


@dataclass(frozen=True)
class Example:
    """One of a /match request's queries: as sent (echoed back), and built for the screener."""

    schema: str
    properties: Mapping[str, Any]
    entity_id: str | None
    query: MatchQuery
    features: EntityFeatures


def build_examples(examples: Mapping[str, tuple[str, Mapping[str, Any], str | None]]) -> dict[str, Example]:
    """Each example (schema, properties, id) as a query ready to score; a bad one (a mistyped
    ISIN, no name) is `InvalidQuery` (400) before anything is scored."""
    built = {}
    for name, (schema, properties, entity_id) in examples.items():
        query = match_query_from_example(schema, properties)
        built[name] = Example(schema, properties, entity_id, query, build_query(query))
    return built


def match_responses(
    examples: Mapping[str, Example],
    answers: Mapping[str, Answer],
    filters: MatchFilters,
    *,
    changed: set[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """yente's `responses`: each example with its answer (its hits, best first, at most
    `filters.wanted`, and how many candidates scored above zero), filtered. An example without an
    answer has no results (the dataset filters left no list to search). `changed` is the
    entities with an event on or after `filters.changed_since` among all the hits."""
    responses = {}
    for name, example in examples.items():
        results: list[dict[str, Any]] = []
        total = 0
        if name in answers:
            hits, total = answers[name]
            kept = matches(
                hits,
                limit=filters.limit,
                exclude_ids=filters.exclude_ids,
                exclude_schemas=filters.exclude_schemas,
                changed=changed if filters.changed_since is not None else None,
            )
            results = [r for r in kept if r["score"] >= filters.cutoff]
        responses[name] = {
            "status": 200,
            "results": results,
            "total": {"value": total, "relation": "eq"},
            "query": query_echo(example.schema, example.properties, example.entity_id),
        }
    return responses


def matches(
    hits: Sequence[Hit],
    *,
    limit: int,
    exclude_ids: Sequence[str] = (),
    exclude_schemas: Sequence[str] = (),
    changed: set[str] | None = None,
) -> list[dict[str, Any]]:
    """The `hits` kept by yente's filters, best first, at most `limit`, as yente's results."""
    excluded, schemas = set(exclude_ids), set(exclude_schemas)
    kept = [
        hit
        for hit in hits
        if hit.entity.entity_id not in excluded
        and hit.entity.schema not in schemas
        and (changed is None or hit.entity.entity_id in changed)
    ]
    return [scored_result(hit) for hit in kept[:limit]]


def search_facets(page: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """yente's `facets` of a search page: how many results per list and per country."""
    facets: dict[str, Any] = {}
    for key, label in (("datasets", "Lists"), ("countries", "Countries")):
        counts: dict[str, int] = {}
        for entity in page:
            values = entity["datasets"] if key == "datasets" else entity["properties"].get("country", [])
            for value in values:
                counts[value] = counts.get(value, 0) + 1
        facets[key] = {
            "label": label,
            "values": [{"name": k, "label": k, "count": v} for k, v in sorted(counts.items())],
        }
    return facets
