"""A user's query (a name and whatever else is known) validated into `EntityFeatures`.

Bad input is refused with `InvalidQuery` saying which field and why; checksummed identifiers (ISIN,
LEI, IMO, USCC) are verified with rigour so a mistyped ISIN is an error, not a silent non-match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from listwatch.errors import InvalidQuery
from listwatch.identifiers import identifier_key, market_of
from listwatch.matching.countries import country_code
from listwatch.matching.features import EntityFeatures
from listwatch.matching.normalise import name_form
from listwatch.matching.score import MATCHABLE_SCHEMAS
from listwatch.model import IDENTIFIER_SCHEMES

__all__ = ["MAX_NAME_LENGTH", "SCHEMAS", "MatchQuery", "build_query"]

#: The followthemoney schemata a query may name.
SCHEMAS = MATCHABLE_SCHEMAS  # what the scorer can compare; validated here, before any scoring

#: Longer names are cut here: no real name is this long, and scoring time grows with length.
MAX_NAME_LENGTH = 500

_CHECKED = {"isin": "ISIN", "lei": "LEI", "imo": "IMO", "uscc": "USCC"}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True)
class MatchQuery:
    """What a caller knows about the party to screen. Everything but one name is optional."""

    names: tuple[str, ...]
    schema: str = "LegalEntity"
    countries: tuple[str, ...] = ()
    identifiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # scheme -> values
    birth_dates: tuple[str, ...] = ()


def _check_identifier(scheme: str, value: str) -> None:
    if scheme not in IDENTIFIER_SCHEMES:
        known = ", ".join(sorted(IDENTIFIER_SCHEMES))
        raise InvalidQuery(f"unknown identifier type {scheme!r}; known: {known}")
    checker = _CHECKED.get(scheme)
    if checker is not None:
        import rigour.ids

        fmt = getattr(rigour.ids, checker)
        if not fmt.is_valid(value.strip()):
            raise InvalidQuery(f"{scheme}: {value!r} is not a valid {checker} (format or check digit)")


def build_query(query: MatchQuery) -> EntityFeatures:
    """Validate and normalise a query; raises `InvalidQuery` naming the bad field."""
    if query.schema not in SCHEMAS:
        raise InvalidQuery(f"unknown schema {query.schema!r}; use one of {', '.join(SCHEMAS)}")
    forms = []
    for raw in query.names:
        text = (raw or "").strip()[:MAX_NAME_LENGTH]
        if not text:
            continue
        form = name_form(text, query.schema, kind="query")
        if not form.tokens:
            raise InvalidQuery(f"name {raw[:60]!r} has no letters or digits to match")
        forms.append(form)
    idents: set[tuple[str, str]] = set()
    tickers: set[tuple[str, str | None]] = set()
    for scheme, values in query.identifiers.items():
        for value in values:
            if not value.strip():
                continue
            _check_identifier(scheme, value)
            if scheme == "ticker":
                symbol, _, exchange = value.strip().replace(" ", ".").partition(".")
                tickers.add((identifier_key("ticker", symbol), market_of(exchange or None)))
            else:
                idents.add((scheme, identifier_key(scheme, value)))
    if not forms and not idents and not tickers:
        raise InvalidQuery("a query needs a name or an identifier")
    countries = set()
    for value in query.countries:
        code = country_code(value)
        if code is None:
            raise InvalidQuery(f"unknown country {value!r}; use an ISO code (cn) or a name (China)")
        countries.add(code)
    years = set()
    for value in query.birth_dates:
        if not _DATE.match(value.strip()):
            raise InvalidQuery(f"birth date {value!r}: expected YYYY, YYYY-MM or YYYY-MM-DD")
        years.add(int(value.strip()[:4]))
    return EntityFeatures(
        entity_id=None,
        schema=query.schema,
        names=tuple(forms),
        identifiers=frozenset(idents),
        tickers=frozenset(tickers),
        countries=frozenset(countries),
        birth_years=frozenset(years),
        caption=forms[0].original if forms else "",
    )


def identifiers_from_options(pairs: Iterable[tuple[str, str | None]]) -> dict[str, tuple[str, ...]]:
    """CLI options (`--isin X`, `--ticker Y`) to the identifiers mapping of a `MatchQuery`."""
    found: dict[str, list[str]] = {}
    for scheme, value in pairs:
        if value:
            found.setdefault(scheme, []).append(value)
    return {scheme: tuple(values) for scheme, values in found.items()}
