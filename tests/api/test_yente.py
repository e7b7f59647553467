"""yente's result shapes built from listwatch hits (no store needed)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from listwatch.api import yente
from listwatch.matching.explain import ScoredMatch
from listwatch.matching.query import MatchQuery, build_query
from listwatch.screening.screener import Hit


def _hit(name: str, **changes: object) -> Hit:
    entity = build_query(MatchQuery(names=(name,), schema="Company", countries=("cn",)))
    entity = replace(entity, entity_id="e1", caption=name, **changes)  # type: ignore[arg-type]
    return Hit(entity, ScoredMatch(score=0.9, match=True, explanations=()))


def test_hit_entity_is_built_once_per_entity_object_and_never_stale() -> None:
    hit = _hit("Xiaomi Corporation")
    first = yente.hit_entity(hit)
    assert first["caption"] == "Xiaomi Corporation" and first["properties"]["country"] == ["cn"]
    assert yente.hit_entity(Hit(hit.entity, hit.scored)) is first  # the same entity: built once
    # an index reload makes new entity objects: an equal-looking but changed one is built again
    renamed = Hit(replace(hit.entity, caption="Xiaomi Corp."), hit.scored)
    assert yente.hit_entity(renamed)["caption"] == "Xiaomi Corp."
    assert yente.hit_entity(hit)["caption"] == "Xiaomi Corporation"


def test_scored_results_do_not_change_the_shared_entity_part() -> None:
    hit = _hit("Xiaomi Corporation")
    entity_part = dict(yente.hit_entity(hit))
    result = yente.scored_result(hit)
    result["properties"] = {}
    result["score"] = 0.0
    assert yente.hit_entity(hit) == entity_part
    assert yente.scored_result(hit)["score"] == 0.9


def test_the_entity_part_cache_starts_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    # bounded: an index reload leaves the old index's entities in it only until it is full
    monkeypatch.setattr(yente, "_ENTITY_DICTS", {})
    monkeypatch.setattr(yente, "_ENTITY_DICTS_SIZE", 2)
    hits = [_hit(name) for name in ("Acme Ltd", "Bravo Ltd", "Charlie Ltd")]
    parts = [yente.hit_entity(hit) for hit in hits]
    assert len(yente._ENTITY_DICTS) == 1  # full at the third: emptied, then the third kept
    assert [p["caption"] for p in parts] == ["Acme Ltd", "Bravo Ltd", "Charlie Ltd"]
    assert yente.hit_entity(hits[2]) is parts[2] and yente.hit_entity(hits[0]) is not parts[0]
    assert yente.hit_entity(hits[0]) == parts[0]
