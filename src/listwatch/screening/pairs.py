"""`score-pairs`: score labelled pairs for evaluation, as CSV name pairs or FtM entity pairs.

CSV input has `name1,name2` and optionally `schema` (like the OpenSanctions name bench); JSON lines
input has `{"left": <FtM entity>, "right": <FtM entity>}` per line and is scored with every
property. The output is the input with `score` and `match` added.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidQuery, ParseError
from listwatch.identifiers import FTM_IDENTIFIER_PROPS, identifier_key, market_of
from listwatch.matching.countries import country_code
from listwatch.matching.features import EntityFeatures
from listwatch.matching.normalise import NameForm, name_form
from listwatch.matching.query import SCHEMAS, MatchQuery, build_query
from listwatch.matching.score import ALGORITHMS, ScoreOptions

__all__ = ["features_from_ftm", "score_pairs"]

_NAME_PROPS: dict[str, str | None] = {
    "name": "primary",
    "alias": "alias",
    "weakAlias": "weak_alias",
    "previousName": "previous",
    "abbreviation": "abbreviation",
    "firstName": None,
    "lastName": None,
}
_COUNTRY_PROPS = ("country", "nationality", "citizenship", "jurisdiction", "mainCountry", "flag")
_SCHEME_OF = {prop: scheme for scheme, prop in FTM_IDENTIFIER_PROPS.items()}


def features_from_ftm(data: dict[str, Any], *, where: str) -> EntityFeatures:
    """An FtM entity (JSON form) as matcher features; `where` names it in error messages."""
    if not isinstance(data, dict) or "schema" not in data:
        raise InvalidQuery(f"{where}: not a FollowTheMoney entity (no 'schema')")
    props: dict[str, list[str]] = data.get("properties") or {}
    schema = str(data["schema"]) if data["schema"] in SCHEMAS else "LegalEntity"
    names: list[NameForm] = []
    for prop, kind in _NAME_PROPS.items():
        if kind is None:
            continue
        names.extend(name_form(v, schema, kind=kind) for v in props.get(prop, []) if str(v).strip())
    if not names and (props.get("firstName") or props.get("lastName")):
        full = " ".join(props.get("firstName", [])[:1] + props.get("lastName", [])[:1])
        names.append(name_form(full, schema))
    idents: set[tuple[str, str]] = set()
    tickers: set[tuple[str, str | None]] = set()
    for prop, values in props.items():
        scheme = _SCHEME_OF.get(prop)
        if scheme is None:
            continue
        for value in values:
            if scheme == "ticker":
                symbol, _, exchange = str(value).replace(" ", ".").partition(".")
                tickers.add((identifier_key("ticker", symbol), market_of(exchange or None)))
            else:
                idents.add((scheme, identifier_key(scheme, str(value))))
    countries = {c for prop in _COUNTRY_PROPS for v in props.get(prop, []) if (c := country_code(str(v)))}
    years = {int(str(v)[:4]) for v in props.get("birthDate", []) if str(v)[:4].isdigit()}
    return EntityFeatures(
        entity_id=data.get("id"),
        schema=schema,
        names=tuple(n for n in names if n.tokens),
        identifiers=frozenset(idents),
        tickers=frozenset(tickers),
        countries=frozenset(countries),
        birth_years=frozenset(years),
        caption=names[0].original if names else "",
    )


def _csv_pairs(path: Path) -> Iterator[tuple[dict[str, Any], EntityFeatures, EntityFeatures]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "name1" not in fields or "name2" not in fields:
            raise ParseError(
                path, 1, f"needs columns name1 and name2; found: {', '.join(reader.fieldnames or [])}"
            )
        for row in reader:
            line = reader.line_num
            schema = (row.get("schema") or "LegalEntity").strip() or "LegalEntity"
            try:
                left = build_query(MatchQuery(names=(row.get("name1") or "",), schema=schema))
                right = build_query(MatchQuery(names=(row.get("name2") or "",), schema=schema))
            except InvalidQuery as exc:
                raise ParseError(path, line, str(exc)) from None
            yield row, left, right


def _json_pairs(path: Path) -> Iterator[tuple[dict[str, Any], EntityFeatures, EntityFeatures]]:
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ParseError(path, line_number, f"not JSON: {exc.msg}") from None
            if not isinstance(row, dict) or "left" not in row or "right" not in row:
                raise ParseError(path, line_number, 'expected {"left": entity, "right": entity}')
            try:
                left = features_from_ftm(row["left"], where="left")
                right = features_from_ftm(row["right"], where="right")
            except InvalidQuery as exc:
                raise ParseError(path, line_number, str(exc)) from None
            yield row, left, right


def score_pairs(
    path: Path, *, algorithm: str = "listwatch-v1", threshold: float | None = None
) -> list[dict[str, Any]]:
    """Every input row with `score` and `match` added (and `explanation` for CSV)."""
    if not path.exists():
        raise ParseError(path, None, "no such file")
    scorer = ALGORITHMS[algorithm]
    options = ScoreOptions() if threshold is None else ScoreOptions(threshold=threshold)
    reader = _json_pairs if path.suffix.lower() in (".json", ".jsonl", ".ndjson") else _csv_pairs
    out = []
    for row, left, right in reader(path):
        scored = scorer.score_pair(left, right, options=options)
        out.append(
            {**row, "score": round(scored.score, 4), "match": scored.match, "explanation": scored.summary()}
        )
    return out
