"""The designations-csv format: one row per dated action on an entity (listed, amended, enjoined...).

Some lists exist only as press releases, notices and court orders (the DoD s.1237 list of Communist
Chinese military companies). A user transcribes each action into a row, citing its source; the rows
are the list's events and the entities they name are its records. The format is documented for
users in docs/formats.md.

    parsed = DESIGNATIONS_CSV.parse([Path("examples/lists/us_dod_1237_ccmc/designations.csv")])
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from listwatch.errors import ParseError
from listwatch.model import (
    IDENTIFIER_SCHEMES,
    EventKind,
    Identifier,
    Name,
    ParsedList,
    Record,
    SourceEvent,
    name_key,
)
from listwatch.sources.text import CsvLayout, parse_iso_date

__all__ = ["DESIGNATIONS_CSV", "DesignationsCsv"]

_T = TypeVar("_T", bound=Hashable)

_LAYOUT = CsvLayout(
    format_name="designations-csv",
    columns=(
        "date",
        "action",
        "entity",
        "aliases",
        "country",
        "identifiers",
        "authority",
        "legal_basis",
        "citation",
        "note",
        "list",
        "schema",
        "source_url",
        "program",
    ),
    required=("date", "action", "entity"),
    rows_are="designations",
    file_holds="all the rows of a list",
)
_SCHEMAS = ("Company", "Organization", "LegalEntity", "Person", "Vessel", "Airplane")
# Rows that state the listing itself; court orders and delistings carry their own authority and
# legal basis, which describe the event, not the entity's listing.
_LISTING_KINDS = frozenset({EventKind.LISTED, EventKind.AMENDED})
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_TICKER_PAREN = re.compile(r"(?P<symbol>.+?)\s*\((?P<exchange>[^()]+)\)")
_TICKER_SUFFIX = re.compile(r"(?P<symbol>[^.\s]+)(?:\.|\s+)(?P<exchange>[A-Za-z]{1,6})")
_URL = re.compile(r"https?://[^\s,;\"')]+")


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    effective_on: date
    kind: EventKind
    entity: str
    aliases: tuple[str, ...]
    countries: tuple[str, ...]
    identifiers: tuple[Identifier, ...]
    cells: dict[str, str]  # the optional free-text columns, stripped, empty ones left out

    def get(self, column: str) -> str | None:
        return self.cells.get(column)


class DesignationsCsv:
    """Dated designations: a `SourceFormat` whose rows are the list's own events."""

    name: str = "designations-csv"
    title: str = "Dated designations, one row per action on an entity (listed, amended, enjoined...)"
    dated: bool = True

    def sniff(self, files: Sequence[Path]) -> bool:
        return _LAYOUT.sniff(files)

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = _LAYOUT.single_file(files)
        columns, lines = _LAYOUT.read(path)
        rows = [_parse_row(path, line, cells) for line, cells in lines]
        list_id = _list_id(path, rows) if "list" in columns else None
        rows.sort(key=lambda row: (row.effective_on, row.line))
        records = _build_records(path, rows)
        events = tuple(_event(row) for row in rows)
        return ParsedList(
            format=self.name,
            records=records,
            list_id=list_id,
            published=max(row.effective_on for row in rows),
            events=events,
        )


DESIGNATIONS_CSV = DesignationsCsv()


def _parse_row(path: Path, line: int, cells: dict[str, str]) -> _Row:
    values = {column: cell.strip() for column, cell in cells.items()}
    effective_on = parse_iso_date(values["date"], path=path, line=line)
    action = values["action"].lower()
    try:
        kind = EventKind(action)
    except ValueError:
        known = ", ".join(kind.value for kind in EventKind)
        raise ParseError(
            path, line, f"unknown action {values['action']!r}; expected one of {known}"
        ) from None
    entity = " ".join(values["entity"].split())
    if not name_key(entity):
        raise ParseError(path, line, "empty entity name")
    schema = values.get("schema", "")
    if schema and schema not in _SCHEMAS:
        raise ParseError(path, line, f"unknown schema {schema!r}; expected one of {', '.join(_SCHEMAS)}")
    free_text = ("authority", "legal_basis", "citation", "note", "list", "schema", "source_url", "program")
    return _Row(
        line=line,
        effective_on=effective_on,
        kind=kind,
        entity=entity,
        aliases=tuple(" ".join(alias.split()) for alias in _split(values.get("aliases", ""))),
        countries=_parse_countries(values.get("country", ""), path=path, line=line),
        identifiers=tuple(
            _parse_identifier(item, path=path, line=line) for item in _split(values.get("identifiers", ""))
        ),
        cells={column: values[column] for column in free_text if values.get(column)},
    )


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _parse_countries(cell: str, *, path: Path, line: int) -> tuple[str, ...]:
    countries: list[str] = []
    for code in _split(cell):
        if not _COUNTRY.fullmatch(code):
            raise ParseError(
                path,
                line,
                f"bad country {code!r}: expected ISO 3166 alpha-2 codes like 'cn', separated by ';'",
            )
        if code.lower() not in countries:
            countries.append(code.lower())
    return tuple(countries)


def _parse_identifier(item: str, *, path: Path, line: int) -> Identifier:
    scheme, colon, value = item.partition(":")
    scheme, value = scheme.strip().lower(), value.strip()
    if not colon or not value:
        raise ParseError(
            path, line, f"bad identifier {item!r}: expected scheme:value, e.g. isin:KYG9830T1067"
        )
    if scheme not in IDENTIFIER_SCHEMES:
        raise ParseError(
            path,
            line,
            f"unknown identifier scheme {scheme!r}; expected one of {', '.join(IDENTIFIER_SCHEMES)}",
        )
    if scheme != "ticker":
        return Identifier(scheme, value)
    # "LKCO (NASDAQ)", "1810.HK" or "941 HK"; the parenthesised form wins, so "BRK.B (NYSE)" keeps
    # its dot. The exchange stays as published; identifiers.market_of compares markets.
    match = _TICKER_PAREN.fullmatch(value) or _TICKER_SUFFIX.fullmatch(value)
    if match:
        return Identifier(scheme, match["symbol"].strip(), exchange=match["exchange"].strip())
    return Identifier(scheme, value)


def _list_id(path: Path, rows: list[_Row]) -> str:
    """The one list id a file with a `list` column names (a snapshot belongs to one list)."""
    first = rows[0]
    for row in rows:
        list_id = row.get("list")
        if list_id is None:
            raise ParseError(
                path, row.line, "empty 'list': when the column is present every row needs a list id"
            )
        if list_id != first.get("list"):
            raise ParseError(
                path,
                row.line,
                f"list {list_id!r} differs from {first.get('list')!r} on line {first.line}; "
                "a file holds the rows of one list: split it into one file per list",
            )
    return str(first.get("list"))


def _build_records(path: Path, rows: list[_Row]) -> tuple[Record, ...]:
    """One record per entity (rows in date order), its names and identifiers merged across rows."""
    by_key: dict[str, list[_Row]] = {}
    for row in rows:
        by_key.setdefault(name_key(row.entity), []).append(row)
    records = [_build_record(path, key, entity_rows) for key, entity_rows in by_key.items()]
    return tuple(sorted(records, key=lambda record: record.line or 0))


def _build_record(path: Path, key: str, rows: list[_Row]) -> Record:
    listings = [row for row in rows if row.kind in _LISTING_KINDS]
    listed = [row for row in rows if row.kind is EventKind.LISTED]
    if not listed:
        first = rows[0]
        raise ParseError(
            path,
            first.line,
            f"{first.entity!r} is {first.kind.value} on {first.effective_on} but has no 'listed' row; "
            "add the row that lists it",
        )
    primary = listed[0].entity
    names = [Name(primary)]
    seen_names = {key}
    for row in rows:
        for alias in (row.entity, *row.aliases):
            alias_key = name_key(alias)
            if alias_key and alias_key not in seen_names:
                seen_names.add(alias_key)
                names.append(Name(alias, kind="alias"))
    schemas = _distinct(row.get("schema") for row in rows)
    if len(schemas) > 1:
        conflicting = next(row for row in rows if row.get("schema") == schemas[1])
        raise ParseError(
            path, conflicting.line, f"schema {schemas[1]!r} for {primary!r} conflicts with {schemas[0]!r}"
        )
    programs = _distinct(row.get("program") for row in listings) or _distinct(
        _first_program(row.get("legal_basis")) for row in listings
    )
    properties = {
        "authority": _distinct(row.get("authority") for row in listings),
        "legal_basis": _distinct(row.get("legal_basis") for row in listings),
    }
    return Record(
        key=key,
        schema=schemas[0] if schemas else "Company",
        names=tuple(names),
        identifiers=_distinct(identifier for row in rows for identifier in row.identifiers),
        countries=_distinct(country for row in rows for country in row.countries),
        programs=programs,
        listed_on=listed[0].effective_on,
        properties={name: values for name, values in properties.items() if values},
        line=min(row.line for row in rows),
    )


def _first_program(legal_basis: str | None) -> str | None:
    parts = _split(legal_basis or "")
    return parts[0] if parts else None


def _distinct(values: Iterable[_T | None]) -> tuple[_T, ...]:
    """The values in first-seen order, without repeats or `None`."""
    return tuple(dict.fromkeys(value for value in values if value is not None))


def _event(row: _Row) -> SourceEvent:
    citation = row.get("citation")
    source_url = row.get("source_url")
    if source_url is None and citation:
        found = _URL.search(citation)
        source_url = found.group(0).rstrip(".") if found else None
    return SourceEvent(
        record_key=name_key(row.entity),
        kind=row.kind,
        effective_on=row.effective_on,
        citation=citation,
        source_url=source_url,
        authority=row.get("authority"),
        legal_basis=row.get("legal_basis"),
        note=row.get("note"),
        line=row.line,
    )
