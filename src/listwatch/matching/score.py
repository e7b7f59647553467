"""Score a listed candidate against a query: names aligned part by part, identifiers, conflicts.

    >>> match = score_pair(query, candidate)             # doctest: +SKIP
    >>> match.score, match.match, match.summary()        # doctest: +SKIP

How a score is made (`listwatch-v1`):

1. Schemas must be able to describe the same thing (FollowTheMoney's rule: a Person matches a
   Person or a LegalEntity, a Company an Organization, a Vessel only a Vessel); if not, 0.
2. Names: for every pair of names (query x candidate), tokens are aligned one to one by
   similarity (equal, same rigour symbol, a fitting initial, or few edits for their length), runs
   of 2-3 tokens may align with one ("Xi Jinping" / "XiJinping"), and word order is ignored. The
   weights of the tokens (`ROLE_WEIGHTS`, times an optional per-token IDF) decide how much each
   agreement or disagreement counts:

       base  = matched / (matched + conflict + extra_penalty * extra)
       name  = base * CONFLICT_DECAY ** conflict

   "conflict" is weight present on both sides that disagrees (Daniel vs Donald), "extra" is weight
   only one side has (a middle name, a legal form, "Group"); disagreeing legal forms and
   organisation-type words only ever count as extra. Two names in Han or Hangul are compared
   character by character as written. The best pair wins; weak aliases count 0.9 of it.
3. The name score is scaled to at most `NAME_CEILING`, so that more evidence can still rank a
   candidate higher. Conflicts multiply it: birth years more than a year apart, no common country,
   different identifiers of a scheme an entity has only one of.
4. Supporting facts move it towards 1: the same ISIN, LEI, IMO number, USCC or ticker on the same
   market is decisive (at least 0.9 whatever the names), a passport or registration number strong,
   the same birth year or a shared country slight.

The tuned parameters are `EXTRA_PENALTY` (two values), `CONFLICT_DECAY` and `CALIBRATION` (where
DEFAULT_THRESHOLD cuts); `eval/name_bench.py` measures them on a labelled set, with a
cross-validation by case group.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Protocol

from listwatch.errors import InvalidQuery
from listwatch.matching.align import (
    INITIAL_SIM,
    NEVER_CONFLICT,
    SUBSTANTIVE,
    SYMBOL_SIM,
    TRANSLITERATES_WELL,
    Pair,
    aggregate,
    align,
)
from listwatch.matching.explain import Explanation, ScoredMatch, TokenPair
from listwatch.matching.features import EntityFeatures
from listwatch.matching.normalise import NameForm, person_symbols

__all__ = [
    "ALGORITHMS",
    "CALIBRATION",
    "CONFLICT_DECAY",
    "DEFAULT_THRESHOLD",
    "EXTRA_PENALTY",
    "MATCHABLE_SCHEMAS",
    "ListwatchV1",
    "ScoreOptions",
    "Scorer",
    "compare_names",
    "explain_aligned",
    "explain_pair",
    "rank_score",
    "schemas_compatible",
    "score_candidates",
    "score_pair",
]

DEFAULT_THRESHOLD = 0.70
# How much a token only one side has costs, relative to a disagreeing one, for people and for
# organisations (vessels and aircraft count as organisations, a LegalEntity as a person): people
# often appear with or without middle names and patronymics; an organisation with an extra word
# ("Systems", "Mexico", "Trust") is more often a different organisation.
EXTRA_PENALTY = {"PER": 0.5, "ORG": 1.5}
# Each unit of disagreeing weight also multiplies the name score by this, so that one wrong name
# part weighs the same in a five-part name as in a two-part one.
CONFLICT_DECAY = 0.6
# Name scores are raised to this power so that DEFAULT_THRESHOLD falls where the labelled set puts
# the best cut (a raw final score of 0.575): 0.97 * s ** k = 0.70 at s = 0.575 / 0.97.
CALIBRATION = math.log(DEFAULT_THRESHOLD / 0.97) / math.log(0.575 / 0.97)
NAME_CEILING = 0.97  # a name alone, however equal, leaves room for corroborating facts
ALIAS_FACTOR = {"weak_alias": 0.9, "abbreviation": 0.95}

# Identifier schemes: how much a shared value supports a match, and the factor applied when both
# sides have the scheme but no value in common (None: entities often have several, no conflict).
_ID_SUPPORT = {
    "isin": 0.9,
    "lei": 0.95,
    "imo": 0.95,
    "uscc": 0.95,
    "mmsi": 0.8,
    "swift": 0.85,
    "duns": 0.85,
    "cage": 0.85,
    "aircraft_serial": 0.85,
    "passport": 0.8,
    "national_id": 0.8,
    "tax_id": 0.8,
    "registration": 0.7,
    "call_sign": 0.6,
    "crypto": 0.6,
    "email": 0.5,
    "website": 0.4,
    "phone": 0.4,
}
_ID_CONFLICT: dict[str, float] = {
    "lei": 0.6,
    "imo": 0.5,
    "uscc": 0.6,
    "duns": 0.7,
    "aircraft_serial": 0.6,
    "mmsi": 0.85,
    "passport": 0.85,
    "national_id": 0.8,
    "tax_id": 0.8,
    "registration": 0.9,
}
_TICKER_SUPPORT = 0.9  # same symbol on the same market
_TICKER_SYMBOL_ONLY = 0.5  # same symbol, market unknown on one side
_BIRTH_YEAR_CONFLICT = 0.7
_BIRTH_YEAR_SUPPORT = 0.3
_COUNTRY_CONFLICT = 0.92
_COUNTRY_SUPPORT = 0.05

# FollowTheMoney's `Schema.can_match` for the schemas lists publish (a test keeps them in step).
_COMPATIBLE: dict[str, frozenset[str]] = {
    "Person": frozenset({"Person", "LegalEntity"}),
    "Company": frozenset({"Company", "Organization", "LegalEntity"}),
    "Organization": frozenset({"Company", "Organization", "LegalEntity", "PublicBody"}),
    "PublicBody": frozenset({"Organization", "LegalEntity", "PublicBody"}),
    "LegalEntity": frozenset({"Person", "Company", "Organization", "LegalEntity", "PublicBody"}),
    "Vessel": frozenset({"Vessel"}),
    "Airplane": frozenset({"Airplane"}),
}
#: The schemas a query or a listed entity may have: those the compatibility table knows.
MATCHABLE_SCHEMAS = tuple(_COMPATIBLE)

TokenWeights = Mapping[str, float] | Callable[[str], float]


@dataclass(frozen=True, slots=True)
class ScoreOptions:
    """How to score. `token_weights` come from the index: a token's IDF among the listed names (a
    mapping or a function, any scale; e.g. `NameIndex.token_weight`). Each distinctive token's
    weight is multiplied by its IDF relative to the mean over the two names compared."""

    threshold: float = DEFAULT_THRESHOLD
    token_weights: TokenWeights | None = None
    explain: bool = True  # build explanations; bulk callers that only rank can skip them
    person_symbols: bool = True  # use rigour's cross-script person names (10 s to load, once)
    # The tuned parameters, here so that an evaluation can vary them; keep the defaults.
    extra_penalty_person: float = EXTRA_PENALTY["PER"]
    extra_penalty_org: float = EXTRA_PENALTY["ORG"]
    conflict_decay: float = CONFLICT_DECAY
    calibration: float = CALIBRATION

    def extra_penalty(self, name_class: str) -> float:
        if name_class == "PER":
            return self.extra_penalty_person
        if name_class in ("ORG", "OBJ"):
            return self.extra_penalty_org
        return self.extra_penalty_person  # LegalEntity: of unknown kind, so the weaker evidence


DEFAULT_OPTIONS = ScoreOptions()


class NameComparison(NamedTuple):
    """Two names compared: the score, and the token alignment behind it (a tuple: made per pair)."""

    score: float
    query: NameForm
    candidate: NameForm
    pairs: tuple[Pair, ...]
    glyphs: bool = False  # compared as written in Han/Hangul


class Scorer(Protocol):
    name: ClassVar[str]
    description: ClassVar[str]

    def score_pair(
        self, query: EntityFeatures, candidate: EntityFeatures, *, options: ScoreOptions = ...
    ) -> ScoredMatch: ...

    def score_candidates(
        self, query: EntityFeatures, candidates: Sequence[EntityFeatures], *, options: ScoreOptions = ...
    ) -> list[ScoredMatch]: ...


class ListwatchV1:
    name: ClassVar[str] = "listwatch-v1"
    description: ClassVar[str] = (
        "Names aligned token by token (edits within a length budget, rigour symbols, initials, "
        "merged tokens, CJK by character), weighted by role and IDF; identical strong identifiers "
        "decisive; birth year, country and identifier conflicts penalised."
    )

    def score_pair(
        self, query: EntityFeatures, candidate: EntityFeatures, *, options: ScoreOptions = DEFAULT_OPTIONS
    ) -> ScoredMatch:
        return _score(query, candidate, options)

    def score_candidates(
        self,
        query: EntityFeatures,
        candidates: Sequence[EntityFeatures],
        *,
        options: ScoreOptions = DEFAULT_OPTIONS,
    ) -> list[ScoredMatch]:
        """Score many candidates for one query (the index's shortlist), in the order given.

        Token similarities are cached across pairs, so the common name parts of a list are
        compared once. (Precomputing all token distances with `rapidfuzz.process.cdist` was
        measured slower than this cache: the per-pair alignment, not the distances, is the cost.)
        """
        schemas_compatible(query.schema, query.schema)  # an unknown query schema fails once, early
        return [_score(query, candidate, options) for candidate in candidates]


ALGORITHMS: dict[str, Scorer] = {ListwatchV1.name: ListwatchV1()}


def score_pair(
    query: EntityFeatures,
    candidate: EntityFeatures,
    *,
    options: ScoreOptions = DEFAULT_OPTIONS,
    algorithm: str = ListwatchV1.name,
) -> ScoredMatch:
    """Score one candidate against a query with a registered algorithm."""
    return _algorithm(algorithm).score_pair(query, candidate, options=options)


def score_candidates(
    query: EntityFeatures,
    candidates: Sequence[EntityFeatures],
    *,
    options: ScoreOptions = DEFAULT_OPTIONS,
    algorithm: str = ListwatchV1.name,
) -> list[ScoredMatch]:
    """Score candidates (from the index) against a query, in the order given."""
    return _algorithm(algorithm).score_candidates(query, candidates, options=options)


def _algorithm(name: str) -> Scorer:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise InvalidQuery(f"unknown matching algorithm {name!r}; known: {', '.join(ALGORITHMS)}") from None


def schemas_compatible(left: str, right: str) -> bool:
    """Whether entities of these schemas can be the same thing; unknown schemas are an error."""
    for schema in (left, right):
        if schema not in _COMPATIBLE:
            known = ", ".join(sorted(_COMPATIBLE))
            raise InvalidQuery(f"unknown schema {schema!r}; known: {known}")
    return right in _COMPATIBLE[left]


# -- the score ---------------------------------------------------------------------------------


def explain_pair(
    query: EntityFeatures,
    candidate: EntityFeatures,
    *,
    query_name: int,
    candidate_name: int,
    options: ScoreOptions = DEFAULT_OPTIONS,
) -> ScoredMatch:
    """`score_pair` when the best pair of names is already known (from `batch.score_entities`):
    the same score and explanations, with one name comparison instead of all of them."""
    return _score(query, candidate, options, names=(query_name, candidate_name))


def explain_aligned(
    query: EntityFeatures,
    candidate: EntityFeatures,
    *,
    query_name: int,
    candidate_name: int,
    pairs: Sequence[Pair],
    name_score: float | None = None,
    options: ScoreOptions = DEFAULT_OPTIONS,
) -> ScoredMatch:
    """`explain_pair` when the token alignment of the best names is known too (from
    `batch.ScoringBatch.alignments`, for names without alternatives compared token by token): the
    same score and explanations, without aligning the names again. `name_score`, their score with
    the alias factors (`batch.EntityScores.name_score`), if known: not computed again either."""
    q, c = query.names[query_name], candidate.names[candidate_name]
    if name_score is not None:
        known = NameComparison(name_score, q, c, tuple(pairs))
    else:
        comparison = _compare_one(q, c, options, list(pairs))
        known = comparison._replace(score=comparison.score * _alias_factor(q, c))
    return _score(query, candidate, options, known=known)


def rank_score(
    name_score: float | None,
    query: EntityFeatures,
    candidate: EntityFeatures | None,
    options: ScoreOptions = DEFAULT_OPTIONS,
) -> float:
    """The final score from the best name score (alias factors applied; None: no comparable
    names) and, when `candidate` is given, the facts: `_score` without explanations."""
    score = NAME_CEILING * (name_score**options.calibration if name_score is not None else 0.0)
    if candidate is not None:
        factors, supports = _facts(query, candidate)
        for _, factor in factors:
            score *= factor
        for _, strength in supports:
            score += (1.0 - score) * strength
    return min(1.0, max(0.0, score))


def _score(
    query: EntityFeatures,
    candidate: EntityFeatures,
    options: ScoreOptions,
    names: tuple[int, int] | None = None,
    known: NameComparison | None = None,
) -> ScoredMatch:
    explain = options.explain
    if not schemas_compatible(query.schema, candidate.schema):
        expl = Explanation("schema", query.schema, candidate.schema, 0.0, 0.0, "cannot be the same thing")
        return _result(0.0, candidate, options, (expl,) if explain else ())
    best = known if known is not None else _best_names(query, candidate, options, names)
    name_score = best.score**options.calibration if best else 0.0
    score = NAME_CEILING * name_score
    explanations: list[Explanation] = []
    if best is not None and explain:
        token_pairs = _token_pairs(best)
        detail = ", ".join(str(p) for p in token_pairs)
        explanations.append(
            Explanation(
                "name", best.query.original, best.candidate.original, name_score, score, detail, token_pairs
            )
        )
    elif explain:
        explanations.append(Explanation("name", None, None, 0.0, 0.0, "no comparable names"))
    factors, supports = _facts(query, candidate)
    for expl_, factor in factors:
        before = score
        score *= factor
        if explain:
            explanations.append(_with_effect(expl_, score - before))
    for expl_, strength in supports:
        before = score
        score += (1.0 - score) * strength
        if explain:
            explanations.append(_with_effect(expl_, score - before))
    return _result(score, candidate, options, tuple(explanations))


def _result(
    score: float, candidate: EntityFeatures, options: ScoreOptions, explanations: tuple[Explanation, ...]
) -> ScoredMatch:
    score = min(1.0, max(0.0, score))
    return ScoredMatch(
        score=score,
        match=score >= options.threshold,
        explanations=explanations,
        entity_id=candidate.entity_id,
        algorithm=ListwatchV1.name,
        threshold=options.threshold,
    )


def _with_effect(expl: Explanation, effect: float) -> Explanation:
    return Explanation(expl.feature, expl.query, expl.candidate, expl.value, effect, expl.detail)


def _facts(
    query: EntityFeatures, candidate: EntityFeatures
) -> tuple[list[tuple[Explanation, float]], list[tuple[Explanation, float]]]:
    """Conflicting facts (factors below 1) and supporting ones (strengths towards 1)."""
    factors: list[tuple[Explanation, float]] = []
    supports: list[tuple[Explanation, float]] = []
    if not (
        (query.identifiers and candidate.identifiers)
        or (query.tickers and candidate.tickers)
        or (query.birth_years and candidate.birth_years)
        or (query.countries and candidate.countries)
    ):
        return factors, supports
    shared = query.identifiers & candidate.identifiers
    for scheme, key in sorted(shared):
        strength = _ID_SUPPORT.get(scheme, 0.3)
        supports.append(
            (Explanation("identifier", f"{scheme}:{key}", f"{scheme}:{key}", strength, 0.0, "same"), strength)
        )
    query_schemes = {s for s, _ in query.identifiers}
    candidate_schemes = {s for s, _ in candidate.identifiers}
    shared_schemes = {s for s, _ in shared}
    for scheme in sorted((query_schemes & candidate_schemes) - shared_schemes):
        factor = _ID_CONFLICT.get(scheme)
        if factor is not None:
            left = ", ".join(sorted(k for s, k in query.identifiers if s == scheme))
            right = ", ".join(sorted(k for s, k in candidate.identifiers if s == scheme))
            factors.append(
                (
                    Explanation(
                        "identifier_conflict",
                        f"{scheme}:{left}",
                        f"{scheme}:{right}",
                        factor,
                        0.0,
                        "different",
                    ),
                    factor,
                )
            )
    ticker = _ticker_support(query, candidate)
    if ticker is not None:
        supports.append(ticker)
    if query.birth_years and candidate.birth_years:
        gap = min(abs(a - b) for a in query.birth_years for b in candidate.birth_years)
        years = (_years(query.birth_years), _years(candidate.birth_years))
        if gap == 0:
            supports.append(
                (Explanation("birth_year", *years, _BIRTH_YEAR_SUPPORT, 0.0, "same"), _BIRTH_YEAR_SUPPORT)
            )
        elif gap == 1:
            supports.append(
                (
                    Explanation("birth_year", *years, _BIRTH_YEAR_SUPPORT / 2, 0.0, "one year apart"),
                    _BIRTH_YEAR_SUPPORT / 2,
                )
            )
        else:
            factors.append(
                (
                    Explanation("birth_year", *years, _BIRTH_YEAR_CONFLICT, 0.0, f"{gap} years apart"),
                    _BIRTH_YEAR_CONFLICT,
                )
            )
    if query.countries and candidate.countries:
        left, right = ", ".join(sorted(query.countries)), ", ".join(sorted(candidate.countries))
        if query.countries & candidate.countries:
            supports.append(
                (Explanation("country", left, right, _COUNTRY_SUPPORT, 0.0, "shared"), _COUNTRY_SUPPORT)
            )
        else:
            factors.append(
                (
                    Explanation("country", left, right, _COUNTRY_CONFLICT, 0.0, "none shared"),
                    _COUNTRY_CONFLICT,
                )
            )
    return factors, supports


def _ticker_support(query: EntityFeatures, candidate: EntityFeatures) -> tuple[Explanation, float] | None:
    best: tuple[Explanation, float] | None = None
    for symbol, market in query.tickers:
        for other_symbol, other_market in candidate.tickers:
            if symbol != other_symbol or (market and other_market and market != other_market):
                continue
            strength = _TICKER_SUPPORT if market and other_market else _TICKER_SYMBOL_ONLY
            if best is None or strength > best[1]:
                left, right = (
                    f"ticker:{symbol} {market or '?'}",
                    f"ticker:{other_symbol} {other_market or '?'}",
                )
                best = (Explanation("ticker", left, right, strength, 0.0, "same"), strength)
    return best


def _years(years: frozenset[int]) -> str:
    return ", ".join(str(y) for y in sorted(years))


# -- names -------------------------------------------------------------------------------------


def _best_names(
    query: EntityFeatures,
    candidate: EntityFeatures,
    options: ScoreOptions,
    names: tuple[int, int] | None = None,
) -> NameComparison | None:
    best: NameComparison | None = None
    best_score = -1.0
    pairs = (
        ((qn, cn) for qn in query.names for cn in candidate.names)
        if names is None
        else [(query.names[names[0]], candidate.names[names[1]])]
    )
    for qn, cn in pairs:
        comparison = compare_names(qn, cn, options=options)
        score = comparison.score * _alias_factor(qn, cn)
        if score > best_score:
            best_score = score
            best = comparison._replace(score=score)
    return best


def _alias_factor(query: NameForm, candidate: NameForm) -> float:
    """What a name comparison's score is multiplied by: less for weak aliases and abbreviations."""
    return ALIAS_FACTOR.get(candidate.kind, 1.0) * ALIAS_FACTOR.get(query.kind, 1.0)


def compare_names(
    query: NameForm,
    candidate: NameForm,
    *,
    options: ScoreOptions = DEFAULT_OPTIONS,
) -> NameComparison:
    """Similarity of two names in [0, 1], with the token alignment behind it.

    A name made of alternatives ("AL-QA'IDA/ISLAMIC ARMY") scores as its best alternative.
    """
    if query.alternatives or candidate.alternatives:
        best: NameComparison | None = None
        for q in query.alternatives or (query,):
            for c in candidate.alternatives or (candidate,):
                comparison = _compare_one(q, c, options)
                if best is None or comparison.score > best.score:
                    best = comparison
        assert best is not None
        return best
    return _compare_one(query, candidate, options)


def _compare_one(
    query: NameForm, candidate: NameForm, options: ScoreOptions, pairs: list[Pair] | None = None
) -> NameComparison:
    """`compare_names` of names without alternatives; `pairs`, their alignment when known
    (`explain_aligned`), is not made again."""
    if not query.tokens or not candidate.tokens:
        return NameComparison(0.0, query, candidate, ())
    cls = query.name_class if query.name_class == candidate.name_class else "ENT"
    if query.glyphs and candidate.glyphs:
        return _compare_glyphs(query, candidate, cls, options)
    if query.tokens == candidate.tokens:
        same: tuple[Pair, ...] = tuple(((i,), (i,), 1.0) for i in range(len(query.tokens)))
        return NameComparison(1.0, query, candidate, same)
    if pairs is None:
        qsym, csym = query.symbols, candidate.symbols
        if (
            options.person_symbols
            and cls == "PER"
            and query.script != candidate.script
            and not ({query.script, candidate.script} <= TRANSLITERATES_WELL)
        ):
            qsym, csym = person_symbols(query), person_symbols(candidate)
        pairs = align(query, qsym, candidate, csym, cls == "PER")
    qw, cw = _pair_weights(query, candidate, options.token_weights)
    score = aggregate(
        pairs, query.roles, qw, candidate.roles, cw, options.extra_penalty(cls), options.conflict_decay
    )
    return NameComparison(score, query, candidate, tuple(pairs))


def _pair_weights(
    query: NameForm, candidate: NameForm, token_weights: TokenWeights | None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Role weights, times the index's IDF of each distinctive token relative to the pair's mean.

    Relative, so that an IDF on any scale (ln(N/df) + 1, or a 0..1 rarity) keeps the meaning of
    "one token's worth" of conflict; bounded to [0.25, 2.5] so one token never decides alone.
    """
    if token_weights is None:
        return query.weights, candidate.weights
    get = token_weights.get if isinstance(token_weights, Mapping) else None
    raw: list[list[float | None]] = []
    values: list[float] = []
    for form in (query, candidate):
        row: list[float | None] = []
        for token, role in zip(form.tokens, form.roles, strict=True):
            if role in SUBSTANTIVE:
                value = float(get(token, 1.0) if get else token_weights(token))  # type: ignore[operator]
                row.append(value)
                values.append(value)
            else:
                row.append(None)
        raw.append(row)
    mean = sum(values) / len(values) if values else 1.0
    if mean <= 0.0:
        return query.weights, candidate.weights
    out = []
    for form, row in zip((query, candidate), raw, strict=True):
        out.append(
            tuple(
                w if v is None else w * min(2.5, max(0.25, v / mean))
                for w, v in zip(form.weights, row, strict=True)
            )
        )
    return out[0], out[1]


def _compare_glyphs(q: NameForm, c: NameForm, cls: str, options: ScoreOptions) -> NameComparison:
    """Two names in Han or Hangul: one character is one syllable, so compare them as written."""
    remaining = list(c.glyphs)
    matched = 0
    for glyph in q.glyphs:
        if glyph in remaining:
            remaining.remove(glyph)
            matched += 1
    left_q, left_c = len(q.glyphs) - matched, len(remaining)
    conflict = min(left_q, left_c)
    extra = abs(left_q - left_c)
    total = matched + conflict + options.extra_penalty(cls) * extra
    score: float = matched / total * options.conflict_decay**conflict if total else 0.0
    return NameComparison(score, q, c, (), glyphs=True)


def _token_pairs(best: NameComparison) -> tuple[TokenPair, ...]:
    q, c = best.query, best.candidate
    if best.glyphs:
        return (TokenPair(q.glyphs, c.glyphs, best.score, "glyphs"),)
    out: list[TokenPair] = []
    qt, ct = q.tokens, c.tokens
    used_q: set[int] = set()
    used_c: set[int] = set()
    for qi, ci, sim in best.pairs:
        used_q.update(qi)
        used_c.update(ci)
        if len(qi) == 1 and len(ci) == 1:
            a, b = qt[qi[0]], ct[ci[0]]
            if a == b:
                kind = "equal"
            elif sim == SYMBOL_SIM:
                kind = "symbol"
            elif sim == INITIAL_SIM and (len(a) == 1 or len(b) == 1):
                kind = "initial"
            else:
                kind = "fuzzy"
            out.append(TokenPair((a,), (b,), sim, kind))
        else:
            out.append(TokenPair(tuple([qt[i] for i in qi]), tuple([ct[j] for j in ci]), sim, "merged"))
    if len(used_q) == len(qt) and len(used_c) == len(ct):  # every token aligned: nothing left over
        return tuple(out)
    # tokens left over: different legal forms or types ("kind"), then the others ("conflict"), on
    # both sides; or on one side only ("extra")
    q_kind: list[str] = []
    q_other: list[str] = []
    for i, (token, role) in enumerate(zip(qt, q.roles, strict=True)):
        if i not in used_q:
            (q_kind if role in NEVER_CONFLICT else q_other).append(token)
    c_kind: list[str] = []
    c_other: list[str] = []
    for j, (token, role) in enumerate(zip(ct, c.roles, strict=True)):
        if j not in used_c:
            (c_kind if role in NEVER_CONFLICT else c_other).append(token)
    for left_q, left_c, both in ((q_kind, c_kind, "kind"), (q_other, c_other, "conflict")):
        if left_q and left_c:
            out.append(TokenPair(tuple(left_q), tuple(left_c), 0.0, both))
        elif left_q or left_c:
            out.append(TokenPair(tuple(left_q), tuple(left_c), 0.0, "extra"))
    return tuple(out)
