"""What a score is made of: one `Explanation` per feature that moved it, inside a `ScoredMatch`.

The scorer builds these; the CLI renders them as a table and the API returns `to_dict()`:

    >>> match = score_pair(query, candidate)                       # doctest: +SKIP
    >>> [(e.feature, round(e.effect, 2)) for e in match.explanations]  # doctest: +SKIP
    [('name', 0.95), ('identifier', 0.05)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Explanation", "ScoredMatch", "TokenPair"]

_SIGNS = {"equal": "=", "symbol": "≡", "initial": "~", "merged": "~", "fuzzy": "~", "kind": "/"}


@dataclass(frozen=True, slots=True)
class TokenPair:
    """One step of a name alignment: tokens of the query, tokens of the candidate, their similarity.

    An empty side means the other side's tokens found no counterpart (`kind` "extra"); unmatched
    tokens on both sides disagree (`kind` "conflict"), or are different legal forms or organisation
    types ("kind": "group/corp", which hardly counts).
    """

    query: tuple[str, ...]
    candidate: tuple[str, ...]
    similarity: float
    kind: str  # equal | symbol | fuzzy | initial | merged | glyphs | conflict | kind | extra

    def __str__(self) -> str:
        left, right = " ".join(self.query) or "-", " ".join(self.candidate) or "-"
        if self.kind == "extra":
            return f"+{left if self.query else right}"
        if self.kind == "glyphs":  # compared character by character: equal or alike
            sign = "=" if self.similarity >= 1.0 else "~"
        else:
            sign = _SIGNS.get(self.kind, "≠")
        return f"{left}{sign}{right}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": list(self.query),
            "candidate": list(self.candidate),
            "similarity": round(self.similarity, 4),
            "kind": self.kind,
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """One feature's part in a score.

    `value` is the feature's own measure (a name similarity, a factor applied); `effect` is how
    much it moved the final score, signed, so that the effects of a match add up to its score.
    """

    feature: str  # name | identifier | ticker | birth_year | country | schema | identifier_conflict
    query: str | None  # the query's value involved: a name as given, "isin:KYG9830T1067", "1962"
    candidate: str | None  # the candidate's value
    value: float
    effect: float
    detail: str = ""
    alignment: tuple[TokenPair, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "feature": self.feature,
            "query": self.query,
            "candidate": self.candidate,
            "value": round(self.value, 4),
            "effect": round(self.effect, 4),
            "detail": self.detail,
        }
        if self.alignment:
            data["alignment"] = [pair.to_dict() for pair in self.alignment]
        return data


@dataclass(frozen=True, slots=True)
class ScoredMatch:
    """A candidate's score against a query, whether it passes the threshold, and why."""

    score: float
    match: bool
    explanations: tuple[Explanation, ...]
    entity_id: str | None = None
    algorithm: str = "listwatch-v1"
    threshold: float = 0.7

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "score": round(self.score, 4),
            "match": self.match,
            "threshold": self.threshold,
            "algorithm": self.algorithm,
            "explanations": [e.to_dict() for e in self.explanations],
        }

    def summary(self) -> str:
        """One line for logs and tables: `0.912 match: name xiaomi=xiaomi +corporation; ...`."""
        parts = [f"{e.feature} {e.detail}".strip() for e in self.explanations]
        return f"{self.score:.3f} {'match' if self.match else 'no match'}: " + "; ".join(parts)
