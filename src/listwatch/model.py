"""Domain types shared by every layer: what a list publishes and what listwatch derives from it.

A source parser turns files into `Record`s (one entity as published in one version of a list) and,
for lists published as dated notices, `SourceEvent`s. The registry stores them as snapshots and
derives `Event`s (listed, amended, delisted, enjoined, vacated...) from them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any

from listwatch.errors import InvalidQuery

__all__ = [
    "Address",
    "DateBasis",
    "EventKind",
    "Identifier",
    "Link",
    "Name",
    "ParsedList",
    "Record",
    "SourceEvent",
    "name_key",
    "parse_day",
]


class EventKind(StrEnum):
    LISTED = "listed"
    AMENDED = "amended"
    DELISTED = "delisted"
    ENJOINED = "enjoined"  # a court suspends the listing's effect from this date
    VACATED = "vacated"  # a court sets the listing aside: it ends
    REINSTATED = "reinstated"  # an injunction lifted: the listing has effect again


class DateBasis(StrEnum):
    """Where an event's date comes from, so a user can weigh it."""

    RECORD = "record"  # the record or notice states the date itself
    SNAPSHOT = "snapshot"  # first or last seen in a snapshot: the date is that snapshot's
    FIRST_SNAPSHOT = "first_snapshot"  # already present in the earliest snapshot: on or before


@dataclass(frozen=True, slots=True)
class Name:
    """One name of an entity, in the script it was published in."""

    value: str
    kind: str = "primary"  # primary | alias | weak_alias | previous | abbreviation
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Identifier:
    """A typed identifier. `scheme` is one of the keys of `IDENTIFIER_SCHEMES`."""

    scheme: str
    value: str
    country: str | None = None  # issuing country (passport, national id) as ISO alpha-2
    exchange: str | None = None  # for tickers: the exchange or market code as published
    note: str | None = None


IDENTIFIER_SCHEMES = {
    "isin": "ISIN",
    "lei": "Legal Entity Identifier",
    "ticker": "Equity ticker (symbol with exchange)",
    "imo": "IMO ship number",
    "mmsi": "MMSI",
    "passport": "Passport number",
    "national_id": "National identity number",
    "tax_id": "Tax identification number",
    "registration": "Company registration number",
    "uscc": "Chinese Unified Social Credit Code",
    "swift": "SWIFT/BIC",
    "duns": "D-U-N-S number",
    "cage": "CAGE code",
    "email": "E-mail address",
    "website": "Website",
    "phone": "Phone number",
    "crypto": "Digital currency address",
    "call_sign": "Vessel or aircraft call sign",
    "aircraft_serial": "Aircraft serial number",
    "other": "Other identifier",
}


@dataclass(frozen=True, slots=True)
class Address:
    street: str | None = None
    city: str | None = None  # city, state or province and postal code, as published
    country: str | None = None  # country name as published
    remarks: str | None = None

    @property
    def full(self) -> str:
        return ", ".join(part for part in (self.street, self.city, self.country) if part)


@dataclass(frozen=True, slots=True)
class Link:
    """A relation to another entity, by the name the source gives (and its key, when known)."""

    relation: str  # linked_to | parent | subsidiary | owner | issuer
    target_name: str
    target_key: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """One entity as one version of a list publishes it.

    `key` is the publisher's own stable id for the entry (OFAC's ent_num) or, when it has none,
    a key derived from the primary name; it identifies the entity across versions of a list.
    """

    key: str
    schema: str  # followthemoney schema: Person, Company, Organization, LegalEntity, Vessel, Airplane
    names: tuple[Name, ...]
    identifiers: tuple[Identifier, ...] = ()
    countries: tuple[str, ...] = ()  # ISO 3166 alpha-2, lower case, or the name as published
    addresses: tuple[Address, ...] = ()
    birth_dates: tuple[str, ...] = ()  # ISO 8601, possibly partial ("1962", "1962-03")
    programs: tuple[str, ...] = ()
    remarks: str | None = None
    links: tuple[Link, ...] = ()
    listed_on: date | None = None  # the record's own listing date, when it states one
    # Other published facts, typed where the source allows: "nationality", "title",
    # "effective_on", "divestment_until", "vessel_flag"... Values are strings.
    properties: dict[str, tuple[str, ...]] = field(default_factory=dict)
    line: int | None = None  # first line of the record in its source file, for messages

    @property
    def caption(self) -> str:
        for name in self.names:
            if name.kind == "primary":
                return name.value
        return self.names[0].value if self.names else self.key

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, stable across runs: the basis of fingerprints and diffs."""
        # Not dataclasses.asdict(): it deep-copies every string and took a quarter of an ingest.
        # Same keys, order and types (tuples of flat dicts) as asdict gives.
        data: dict[str, Any] = {}
        for name in _RECORD_FIELDS:
            value = getattr(self, name)
            if type(value) is tuple and value and type(value[0]) in _FLAT:
                names, values = _FLAT[type(value[0])]
                value = tuple(dict(zip(names, values(item), strict=True)) for item in value)
            data[name] = value
        data["listed_on"] = self.listed_on.isoformat() if self.listed_on else None
        data["properties"] = {k: list(v) for k, v in sorted(self.properties.items())}
        return data


_RECORD_FIELDS = tuple(f.name for f in fields(Record) if f.name != "line")
# The parts of a record, whose fields are all strings or None: field names, and a getter for them.
_FLAT: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {
    cls: (names, attrgetter(*names))
    for cls in (Name, Identifier, Address, Link)
    for names in [tuple(f.name for f in fields(cls))]
}


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """A dated action stated by the source itself (a DoD notice, a court order, a listing period)."""

    record_key: str
    kind: EventKind
    effective_on: date
    citation: str | None = None
    source_url: str | None = None
    authority: str | None = None
    legal_basis: str | None = None
    note: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedList:
    """What a source parser returns for one version of one list."""

    format: str
    records: tuple[Record, ...]
    list_id: str | None = None  # the list the content implies, if it does
    published: date | None = None  # the publication date the content states, if it does
    # For lists that exist as dated notices or listing periods: the source's own events. `None`
    # means the list is a plain snapshot and its events come from diffing consecutive snapshots.
    events: tuple[SourceEvent, ...] | None = None
    warnings: tuple[str, ...] = ()
    # A file that bundles several lists (the US Consolidated Screening List): one `ParsedList` per
    # list inside, each with its `list_id`; `records` of the bundle itself is then empty.
    parts: tuple[ParsedList, ...] = ()


_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def name_key(text: str) -> str:
    """The exact-lookup form of a name: case-, accent- and punctuation-insensitive.

    Scripts are kept as they are (小米集团 stays 小米集团); transliteration belongs to fuzzy matching.

    >>> name_key("  Société Générale, S.A. ")
    'societe generale s a'
    """
    if text.isascii():  # nothing to decompose or strip: the same result, three times faster
        return _NON_WORD.sub(" ", text.casefold()).strip()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped.casefold()).strip()


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(value: str | None, name: str) -> date | None:
    """A day a user gives (`--as-of`, an `as_of` parameter, a form field): YYYY-MM-DD, or a timestamp
    starting with one (it counts for its day); None when empty. Anything else, including the
    compact and week forms `date.fromisoformat` also takes, is an `InvalidQuery` naming `name`."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    day, _, time_part = text.partition("T")
    try:
        if not _ISO_DAY.fullmatch(day):
            raise ValueError(text)
        if time_part:  # the whole timestamp must be one: "2021-02-01T1" or "T25:00" is not
            datetime.fromisoformat(text)
        return date.fromisoformat(day)
    except ValueError:
        raise InvalidQuery(f"{name}: bad date {text[:40]!r}, expected YYYY-MM-DD") from None
