"""Screening: a query against the entities live on a date, scored and explained.

`Screener` holds one match index (as of one date, over chosen lists) and answers many queries; the
CLI's `match` and `screen`, and the API, go through it.

    screener = Screener(store, as_of=date(2021, 2, 1))
    screener.match(MatchQuery(names=("XIAOMI CORP",), schema="Company")).hits[0].caption
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidQuery
from listwatch.matching.explain import ScoredMatch
from listwatch.matching.features import EntityFeatures
from listwatch.matching.index import MatchIndex
from listwatch.matching.query import MatchQuery, build_query
from listwatch.matching.score import ALGORITHMS, DEFAULT_THRESHOLD, ScoreOptions
from listwatch.store import Store

__all__ = ["DEFAULT_CANDIDATES", "Hit", "MatchResponse", "RowResult", "Screener"]

#: Candidates taken from the index per query before scoring. Measured on the screening bench: 20
#: keeps recall within 0.003 of 50 at a third of the time (docs/performance.md, Screening).
DEFAULT_CANDIDATES = 20


@dataclass(frozen=True)
class Hit:
    """One listed entity a query may be, with its listing on the screening date."""

    entity: EntityFeatures
    scored: ScoredMatch

    @property
    def score(self) -> float:
        return self.scored.score

    @property
    def match(self) -> bool:
        return self.scored.match

    @property
    def caption(self) -> str:
        return self.entity.caption

    def to_dict(self) -> dict[str, Any]:
        listing = self.entity.listing
        return {
            "id": self.entity.entity_id,
            "caption": self.entity.caption,
            "schema": self.entity.schema,
            "score": round(self.scored.score, 4),
            "match": self.scored.match,
            "list": listing.list_id if listing else None,
            "state": listing.state if listing else None,
            "listed_since": listing.since.isoformat() if listing and listing.since else None,
            "programs": list(listing.programs) if listing else [],
            "names": [n.original for n in self.entity.names],
            "explanations": [e.to_dict() for e in self.scored.explanations],
        }


@dataclass(frozen=True)
class MatchResponse:
    query: MatchQuery
    as_of: date
    threshold: float
    algorithm: str
    hits: tuple[Hit, ...]
    total_candidates: int = 0

    @property
    def matches(self) -> tuple[Hit, ...]:
        return tuple(h for h in self.hits if h.match)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": {
                "names": list(self.query.names),
                "schema": self.query.schema,
                "countries": list(self.query.countries),
                "identifiers": {k: list(v) for k, v in self.query.identifiers.items()},
                "birth_dates": list(self.query.birth_dates),
            },
            "as_of": self.as_of.isoformat(),
            "threshold": self.threshold,
            "algorithm": self.algorithm,
            "candidates": self.total_candidates,
            "results": [h.to_dict() for h in self.hits],
        }


@dataclass(frozen=True)
class RowResult:
    """The outcome for one row of a batch: its hits, or why it could not be screened."""

    row_number: int
    key: str
    query: MatchQuery | None
    hits: tuple[Hit, ...] = ()
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class Screener:
    """The match index for one date and set of lists, and the scorer, ready for many queries."""

    def __init__(
        self,
        store: Store,
        *,
        as_of: date | None = None,
        lists: Sequence[str] | None = None,
        algorithm: str = "listwatch-v1",
        threshold: float = DEFAULT_THRESHOLD,
        cache_dir: Path | None = None,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise InvalidQuery(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")
        if not 0.0 < threshold <= 1.0:
            raise InvalidQuery(f"threshold {threshold} must be above 0 and at most 1")
        self.as_of = as_of or date.today()
        self.lists = tuple(lists) if lists else None
        self.algorithm = ALGORITHMS[algorithm]
        self.threshold = threshold
        self.index = MatchIndex.load_or_build(store, as_of=self.as_of, lists=self.lists, cache_dir=cache_dir)
        self.options = ScoreOptions(threshold=threshold, token_weights=self.index.token_weight)
        # Ranking needs scores only; explanations are built for the hits that are returned.
        self._rank_options = replace(self.options, explain=False)

    def match(
        self, query: MatchQuery, *, limit: int = 5, candidates: int = DEFAULT_CANDIDATES
    ) -> MatchResponse:
        """Score the index's best candidates for `query`; the best `limit` hits, best first."""
        if limit < 1:
            raise InvalidQuery(f"limit must be at least 1, not {limit}")
        features = build_query(query)
        hits, scored_count = self._hits(features, candidates, limit)
        return MatchResponse(
            query=query,
            as_of=self.as_of,
            threshold=self.threshold,
            algorithm=self.algorithm.name,
            hits=tuple(hits),
            total_candidates=scored_count,
        )

    def _hits(self, features: EntityFeatures, candidates: int, limit: int) -> tuple[list[Hit], int]:
        """The best `limit` hits, explained, and how many candidates scored above zero."""
        positions = self.index.candidates(features, limit=candidates)
        entities = [self.index.entities[p] for p in positions]
        ranked = self.algorithm.score_candidates(features, entities, options=self._rank_options)
        order = sorted(
            (i for i, s in enumerate(ranked) if s.score > 0),
            key=lambda i: (-ranked[i].score, entities[i].entity_id or ""),
        )
        hits = [
            Hit(entities[i], self.algorithm.score_pair(features, entities[i], options=self.options))
            for i in order[:limit]
        ]
        return hits, len(order)

    def screen(
        self,
        rows: Iterable[Any],
        *,
        limit: int = 5,
        only_matches: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[RowResult]:
        """Screen input rows (`screening.inputs.InputRow`); a bad row is reported, never fatal."""
        for done, row in enumerate(rows, start=1):
            try:
                if row.query is None:
                    raise InvalidQuery("empty row")
                hits, _ = self._hits(build_query(row.query), DEFAULT_CANDIDATES, limit)
            except InvalidQuery as exc:
                yield RowResult(row.row_number, row.key, row.query, error=str(exc), raw=row.raw)
            else:
                kept = [h for h in hits if h.match] if only_matches else hits
                yield RowResult(row.row_number, row.key, row.query, tuple(kept[:limit]), raw=row.raw)
            if progress is not None:
                progress(done)
