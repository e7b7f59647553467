"""Screening: a query against the entities live on a date, scored and explained.

`Screener` holds one match index (as of one date, over chosen lists) and answers many queries; the
CLI's `match` and `screen`, and the API, go through it.

    screener = Screener(store, as_of=date(2021, 2, 1))
    screener.match(MatchQuery(names=("XIAOMI CORP",), schema="Company")).hits[0].caption
"""

from __future__ import annotations

import copy
import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from listwatch.errors import InvalidQuery
from listwatch.matching.batch import EntityScores, scoring_batch
from listwatch.matching.explain import ScoredMatch
from listwatch.matching.features import EntityFeatures
from listwatch.matching.index import MatchIndex
from listwatch.matching.query import MatchQuery, build_query
from listwatch.matching.score import (
    ALGORITHMS,
    DEFAULT_THRESHOLD,
    ScoreOptions,
    explain_aligned,
    explain_pair,
)
from listwatch.store import Store

__all__ = ["DEFAULT_CANDIDATES", "Hit", "MatchResponse", "RowResult", "Screener", "gc_spares_the_index"]

#: Candidates taken from the index per query before scoring. Measured on the screening bench: 20
#: keeps recall within 0.003 of 50 at a third of the time (docs/performance.md, Screening).
DEFAULT_CANDIDATES = 20
#: Rows of a batch scored together. Per-batch work is shared by this many queries: the calls'
#: set-up, the batch's strings added to the vocabulary, the loops' memo of token similarities.
#: 1,024 screens new names 4-8% faster than 256 (docs/performance.md, Screening).
BATCH_ROWS = 1024
#: Young objects between collections while a batch is screened (CPython's default is 700).
BATCH_GC_THRESHOLD = 20_000


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


@contextmanager
def gc_spares_the_index() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off the objects alive on entry (a loaded index's)
    while a batch is screened.

    A batch keeps its results, so full collections come round as they pile up, and each walked
    the index's hundreds of thousands of objects again: a quarter of a batch's time on the
    screening bench (docs/performance.md). Frozen objects are not collected, hence the thaw on
    exit; nothing is done when the application has frozen objects itself (the API freezes its
    indexes for good).

    Young objects are collected less often meanwhile (`BATCH_GC_THRESHOLD`): a batch makes
    millions of short-lived ones and keeps its results, and each young collection also walks the
    results made since the last one; the threshold is put back on exit."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], BATCH_GC_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise InvalidQuery(f"threshold {threshold} must be above 0 and at most 1")


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
        _check_threshold(threshold)
        self.as_of = as_of or date.today()
        self.lists = tuple(lists) if lists else None
        self.algorithm = ALGORITHMS[algorithm]
        self.threshold = threshold
        self.index = MatchIndex.load_or_build(store, as_of=self.as_of, lists=self.lists, cache_dir=cache_dir)
        self.options = ScoreOptions(threshold=threshold, token_weights=self.index.token_weight)
        # Ranking needs scores only; explanations are built for the hits that are returned.
        self._rank_options = replace(self.options, explain=False)

    def with_threshold(self, threshold: float) -> Screener:
        """The same index and scorer, deciding `match` at another threshold (the ranking is the
        same: the threshold only sets each hit's `match`)."""
        _check_threshold(threshold)
        if threshold == self.threshold:
            return self
        derived = copy.copy(self)
        derived.threshold = threshold
        derived.options = replace(self.options, threshold=threshold)
        derived._rank_options = replace(self._rank_options, threshold=threshold)
        return derived

    def match(
        self, query: MatchQuery, *, limit: int = 5, candidates: int = DEFAULT_CANDIDATES
    ) -> MatchResponse:
        """Score the index's best candidates for `query`; the best `limit` hits, best first."""
        hits, scored_count = self.match_batch([build_query(query)], limit=limit, candidates=candidates)[0]
        return MatchResponse(
            query=query,
            as_of=self.as_of,
            threshold=self.threshold,
            algorithm=self.algorithm.name,
            hits=tuple(hits),
            total_candidates=scored_count,
        )

    def match_batch(
        self, queries: Sequence[EntityFeatures], *, limit: int = 5, candidates: int = DEFAULT_CANDIDATES
    ) -> list[tuple[list[Hit], int]]:
        """For each built query (`build_query`), what `match` finds for it: its best `limit` hits,
        explained, and how many candidates scored above zero. One candidate search and one scoring
        pass serve the whole batch, so a batch costs far less per query; a query's hits do not
        depend on the other queries of its batch."""
        if limit < 1:
            raise InvalidQuery(f"limit must be at least 1, not {limit}")
        return self._batch_hits(queries, candidates, limit, only_matches=False)

    def _batch_hits(
        self, queries: Sequence[EntityFeatures], candidates: int, limit: int, *, only_matches: bool
    ) -> list[tuple[list[Hit], int]]:
        """Each query's best hits (above the threshold only, with `only_matches`), explained, and
        how many of its candidates scored above zero. Scores come from `batch.ScoringBatch`,
        equal to `score_pair`'s; only the hits returned are explained, with their best names and
        the alignment of those the compiled loops recorded."""
        positions = self.index.batch_positions(queries, limit=candidates)
        index = self.index
        with scoring_batch(queries, index.indexed_names, index.entities, self._rank_options) as batch:
            # every query's best `limit` are explained when they need not match: their alignments
            # are kept while scoring rather than made again
            scored = batch.score(positions, record=not only_matches)
            chosen, counts = self._chosen(scored, limit, only_matches)
            # the token alignments of the hits' best names, from the compiled loops (None: aligned
            # in Python)
            aligned = batch.alignments([[pick[:3] for pick in mine if pick[1] >= 0] for mine in chosen])
        return [
            (self._explained_picks(query, mine, iter(found)), count)
            for query, mine, found, count in zip(queries, chosen, aligned, counts, strict=True)
        ]

    def _chosen(
        self, scored: Sequence[EntityScores], limit: int, only_matches: bool
    ) -> tuple[list[list[tuple[int, int, int, float]]], list[int]]:
        """Each query's best `limit` hits (above the threshold only, with `only_matches`) as
        (candidate position, best query name, best candidate name, their score), best first, ties
        by entity id; and how many of its candidates scored above zero."""
        ids = self.index.indexed_names.entity_ids
        floor = self.threshold if only_matches else 0.0
        chosen, counts = [], []
        for result in scored:
            scores = result.scores
            above = scores > 0
            eligible = np.flatnonzero(scores >= floor if floor > 0.0 else above).tolist()
            values, positions = scores.tolist(), result.positions.tolist()
            order = sorted(eligible, key=lambda i: (-values[i], ids[positions[i]]))
            chosen.append(
                [
                    (
                        positions[i],
                        int(result.query_name[i]),
                        int(result.candidate_name[i]),
                        float(result.name_score[i]),
                    )
                    for i in order[:limit]
                ]
            )
            counts.append(int(np.count_nonzero(above)))
        return chosen, counts

    def _explained_picks(
        self, query: EntityFeatures, picks: Sequence[tuple[int, int, int, float]], aligned: Iterator[Any]
    ) -> list[Hit]:
        """The hits (candidate position, best query name, best candidate name, their score),
        explained: from the alignment of the names found by the compiled loops where there is one
        (`aligned`, in the order of the picks with names), else by the Python scorer."""
        hits = []
        for position, qn, cn, name_score in picks:
            entity = self.index.entities[position]
            pairs = next(aligned) if qn >= 0 else None
            if pairs is not None:
                scored = explain_aligned(
                    query,
                    entity,
                    query_name=qn,
                    candidate_name=cn,
                    pairs=pairs,
                    name_score=name_score,
                    options=self.options,
                )
            elif qn >= 0:
                scored = explain_pair(query, entity, query_name=qn, candidate_name=cn, options=self.options)
            else:
                scored = self.algorithm.score_pair(query, entity, options=self.options)
            hits.append(Hit(entity, scored))
        return hits

    def screen_all(
        self,
        rows: Iterable[Any],
        *,
        limit: int = 5,
        only_matches: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> list[RowResult]:
        """`screen`'s results, all kept in a list (what a batch run stores or writes), with the
        garbage collector kept off the index meanwhile (`gc_spares_the_index`)."""
        with gc_spares_the_index():
            return list(self.screen(rows, limit=limit, only_matches=only_matches, progress=progress))

    def screen(
        self,
        rows: Iterable[Any],
        *,
        limit: int = 5,
        only_matches: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[RowResult]:
        """Screen input rows (`screening.inputs.InputRow`); a bad row is reported, never fatal."""
        done = 0
        iterator = iter(rows)
        while chunk := list(islice(iterator, BATCH_ROWS)):
            built: list[tuple[Any, EntityFeatures | None, str | None]] = []
            for row in chunk:
                try:
                    if row.query is None:
                        raise InvalidQuery("empty row")
                    built.append((row, build_query(row.query), None))
                except InvalidQuery as exc:
                    built.append((row, None, str(exc)))
            queries = [features for _, features, _ in built if features is not None]
            # build_query has validated every query: scoring a batch raises nothing row-specific
            answers = iter(self._batch_hits(queries, DEFAULT_CANDIDATES, limit, only_matches=only_matches))
            for row, features, error in built:
                if features is None:
                    yield RowResult(row.row_number, row.key, row.query, error=error, raw=row.raw)
                else:
                    hits, _ = next(answers)
                    yield RowResult(row.row_number, row.key, row.query, tuple(hits[:limit]), raw=row.raw)
                done += 1
                if progress is not None:
                    progress(done)
