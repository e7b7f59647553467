"""What the matcher knows about an entity, query or listed: normalised once, compared many times.

`EntityFeatures` is built from a stored record (`from_record`) or from a user's query
(`from_query`); the index keeps one per live listed entity and the scorer compares two of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from listwatch.identifiers import identifier_key, market_of
from listwatch.matching.normalise import NameForm, name_form

__all__ = ["EntityFeatures", "Listing"]


@dataclass(frozen=True, slots=True)
class Listing:
    """Where a listed entity stands on the screening date (for display and explanations)."""

    list_id: str
    state: str  # listed | suspended
    since: date | None
    programs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EntityFeatures:
    entity_id: str | None  # None for a query
    schema: str  # followthemoney schema name
    names: tuple[NameForm, ...]
    identifiers: frozenset[tuple[str, str]] = frozenset()  # (scheme, identifier_key)
    tickers: frozenset[tuple[str, str | None]] = frozenset()  # (symbol key, market)
    countries: frozenset[str] = frozenset()  # lower-case ISO alpha-2 where known
    birth_years: frozenset[int] = frozenset()
    caption: str = ""
    listing: Listing | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(
        cls, entity_id: str, data: dict[str, Any], listing: Listing | None = None
    ) -> EntityFeatures:
        """From a stored record version (`Record.to_dict()` form)."""
        schema = str(data.get("schema") or "LegalEntity")
        names = tuple(
            name_form(n["value"], schema, kind=n.get("kind", "primary")) for n in data.get("names", [])
        )
        idents, tickers = _identifiers(data.get("identifiers", []))
        return cls(
            entity_id=entity_id,
            schema=schema,
            names=tuple(n for n in names if n.tokens),
            identifiers=idents,
            tickers=tickers,
            countries=frozenset(_countries(data.get("countries", []))),
            birth_years=frozenset(_years(data.get("birth_dates", []))),
            caption=names[0].original if names else entity_id,
            listing=listing,
        )


def _identifiers(
    items: list[dict[str, Any]],
) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str | None]]]:
    idents: set[tuple[str, str]] = set()
    tickers: set[tuple[str, str | None]] = set()
    for item in items:
        scheme, value = item["scheme"], item["value"]
        if scheme == "ticker":
            tickers.add((identifier_key("ticker", value), market_of(item.get("exchange"))))
        else:
            idents.add((scheme, identifier_key(scheme, value)))
    return frozenset(idents), frozenset(tickers)


def _countries(values: list[str]) -> list[str]:
    from listwatch.matching.countries import country_code

    return [code for code in (country_code(v) for v in values) if code]


def _years(values: list[str]) -> list[int]:
    years = []
    for value in values:
        head = value[:4]
        if head.isdigit():
            years.append(int(head))
    return years
