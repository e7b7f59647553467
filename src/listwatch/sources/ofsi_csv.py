"""The UK consolidated list of financial sanctions targets (OFSI `ConList.csv`), read into `Record`s.

One row per name: the rows sharing a `Group ID` are one entity (its `Prime Alias` row gives the
primary name, `AKA` rows aliases). The official file starts with a line `Last Updated,DD/MM/YYYY`
(the publication date) before the header; copies without it are read too, and so is the header
with a spurious blank first cell when the rows have one field fewer (as in the 2020-03 excerpt).

    >>> OFSI_CSV.parse([Path("examples/lists/uk_ofsi/ConList_excerpt_2020-03.csv")]).list_id
    'gb_hmt_ofsi'

Choices worth knowing:
- Text is UTF-8 or, failing that, Windows-1252 (OFSI's own files have `’` as byte 0x92).
- Dates are DD/MM/YYYY; OFSI writes an unknown day or month as `00` (`00/00/1980` -> `1980`).
- Passport and national-insurance details are free text, kept as `passport_details` and
  `ni_number`; nationalities numbered `(1) Iraq (2) Syria` are split.
- A column this parser does not know is kept as `properties["unknown:COLUMN"]` and reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, ParsedList
from listwatch.sources.entry import Entry, clean, organisation_schema
from listwatch.sources.text import csv_rows, header_cells, read_text
from listwatch.sources.xml import single_file

__all__ = ["OFSI_CSV", "OfsiCsvFormat"]

_LIST_ID = "gb_hmt_ofsi"
_NAME_COLUMNS = ("name 1", "name 2", "name 3", "name 4", "name 5", "name 6")
_ADDRESS_COLUMNS = ("address 1", "address 2", "address 3", "address 4", "address 5", "address 6")
_PLAIN = {  # column -> property
    "title": "title",
    "position": "position",
    "passport details": "passport_details",
    "ni number": "ni_number",
    "non-latin script type": "non_latin_script_type",
    "uk sanctions list ref": "uk_sanctions_list_ref",
}
_KNOWN = frozenset(
    {
        *_NAME_COLUMNS,
        *_ADDRESS_COLUMNS,
        *_PLAIN,
        "name non-latin script",
        "non-latin script language",
        "dob",
        "town of birth",
        "country of birth",
        "nationality",
        "post/zip code",
        "country",
        "other information",
        "group type",
        "alias type",
        "alias quality",
        "regime",
        "listed on",
        "uk sanctions list date designated",
        "last updated",
        "group id",
    }
)
_REQUIRED = ("name 6", "group type", "group id")
_SCHEMAS = {"individual": "Person", "ship": "Vessel"}
_ALIAS_KINDS = {"prime alias": "primary", "aka": "alias", "fka": "previous", "formerly known as": "previous"}
_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_NUMBERED = re.compile(r"\(?\b[0-9]{1,2}\)\s*")


class OfsiCsvFormat:
    """The `SourceFormat` for OFSI's consolidated list CSV (`ConList.csv`)."""

    name: str = "uk-ofsi-csv"
    title: str = "UK OFSI consolidated list of financial sanctions targets, CSV (ConList.csv)"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        """The official file's `Last Updated,17/02/2020` line, or a header with `Name 6` and `Group ID`."""
        cells = header_cells(files, ",")
        if cells is None:
            return False
        dated = "last updated" in cells and len(cells - {""}) == 2  # the label and its date
        return dated or {"name 6", "group id"} <= cells

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = single_file(files, self.name)
        rows = csv_rows(read_text(path, fallback="cp1252"))
        published, header_line, header = _header(path, rows)
        columns, rows, blank_first = _columns(path, header_line, header, rows)
        warnings: list[str] = []
        if blank_first:
            warnings.append(
                f"{path.name}:{header_line}: the header's first cell is blank and the rows have one "
                "field fewer: that cell is ignored"
            )
        unknown = [column for column in columns if column.lower() not in _KNOWN]
        for column in unknown:
            warnings.append(f"{path.name}:{header_line}: unknown column {column!r} kept in the raw record")
        entries: dict[str, Entry] = {}
        schemas: dict[str, str] = {}
        for line, cells in rows:
            if len(cells) != len(columns):
                raise ParseError(
                    path,
                    line,
                    f"row has {len(cells)} fields, the header has {len(columns)}; is the file truncated?",
                )
            row = {column.lower(): cell for column, cell in zip(columns, cells, strict=True)}
            key = clean(row["group id"])
            if key is None:
                raise ParseError(path, line, "row without a Group ID")
            entry = entries.get(key)
            if entry is None:
                entry = entries[key] = Entry(key, line=line)
                kind = (clean(row["group type"]) or "").lower()
                schemas[key] = _SCHEMAS.get(kind, "")
            _read_row(path, line, entry, row)
            for column in unknown:
                entry.unknown(column, row[column.lower()])
        if not entries:
            raise ParseError(path, header_line + 1, "no rows after the header line")
        records = tuple(
            entry.record(schemas[key] or organisation_schema(entry.names)) for key, entry in entries.items()
        )
        return ParsedList(
            format=self.name, records=records, list_id=_LIST_ID, published=published, warnings=tuple(warnings)
        )


OFSI_CSV = OfsiCsvFormat()


def _header(path: Path, rows: Iterator[tuple[int, list[str]]]) -> tuple[date | None, int, list[str]]:
    first = next(rows, None)
    if first is None:
        raise ParseError(path, 1, "no header line: the file holds only blank lines")
    line, cells = first
    if clean(cells[0]) and (clean(cells[0]) or "").lower() == "last updated":
        published = _date(path, line, cells[1] if len(cells) > 1 else "", "Last Updated", partial=False)
        header = next(rows, None)
        if header is None:
            raise ParseError(path, line + 1, "no header line after 'Last Updated'")
        return (date.fromisoformat(published) if published else None), header[0], header[1]
    return None, line, cells


def _columns(
    path: Path, line: int, header: list[str], rows: Iterator[tuple[int, list[str]]]
) -> tuple[list[str], Iterator[tuple[int, list[str]]], bool]:
    columns = [" ".join(cell.split()) for cell in header]
    lowered = [column.lower() for column in columns]
    missing = [column for column in _REQUIRED if column not in lowered]
    if missing:
        raise FormatMismatch(
            path, line, f"not an OFSI consolidated list: no {', '.join(repr(c) for c in missing)} column"
        )
    first = next(rows, None)
    if first is None:
        raise ParseError(path, line + 1, "no rows after the header line")
    blank_first = not columns[0] and len(first[1]) == len(columns) - 1
    if blank_first:
        columns = columns[1:]
    seen: set[str] = set()
    for position, column in enumerate(columns, 1):
        if not column:
            raise ParseError(path, line, f"column {position} has no name")
        if column.lower() in seen:
            raise ParseError(path, line, f"column {column!r} appears twice")
        seen.add(column.lower())

    def chained() -> Iterator[tuple[int, list[str]]]:
        yield first
        yield from rows

    return columns, chained(), blank_first


def _read_row(path: Path, line: int, entry: Entry, row: dict[str, str]) -> None:
    alias_type = (clean(row.get("alias type")) or "").lower()
    kind = _ALIAS_KINDS.get(alias_type, "alias")
    if kind != "primary" and (clean(row.get("alias quality")) or "").lower() == "low":
        kind = "weak_alias"
    entry.name(" ".join(filter(None, (clean(row.get(column)) for column in _NAME_COLUMNS))), kind)
    entry.name(row.get("name non-latin script"), "alias", lang=clean(row.get("non-latin script language")))
    for column, key in _PLAIN.items():
        entry.add(key, clean(row.get(column)))
    entry.birth_date(_date(path, line, row.get("dob", ""), "DOB", partial=True))
    birth_place = ", ".join(
        filter(None, (clean(row.get("town of birth")), clean(row.get("country of birth"))))
    )
    entry.add("birth_place", birth_place)
    for nationality in _numbered(row.get("nationality")):
        entry.add("nationality", nationality)
        entry.country(nationality)
    street = ", ".join(filter(None, (clean(row.get(column)) for column in _ADDRESS_COLUMNS)))
    entry.address(
        Address(
            street=street or None, city=clean(row.get("post/zip code")), country=clean(row.get("country"))
        )
    )
    entry.remark(clean(row.get("other information")))
    entry.program(row.get("regime"))
    for column in ("listed on", "uk sanctions list date designated"):
        listed = _date(path, line, row.get(column, ""), column.title(), partial=False)
        entry.listed(date.fromisoformat(listed) if listed else None)
    entry.add("amended_on", _date(path, line, row.get("last updated", ""), "Last Updated", partial=False))


def _date(path: Path, line: int, value: str, what: str, *, partial: bool) -> str | None:
    """DD/MM/YYYY as ISO; `00` for an unknown day or month gives a partial date when allowed."""
    text = value.strip()
    if not text:
        return None
    match = _DATE.fullmatch(text)
    if match is not None:
        day, month, year = match.groups()
        if partial and year != "0000" and month == "00":
            return year
        if partial and year != "0000" and day == "00":
            return f"{year}-{month}" if 1 <= int(month) <= 12 else _bad(path, line, what, value)
        try:
            return date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            pass
    return _bad(path, line, what, value)


def _bad(path: Path, line: int, what: str, value: str) -> NoReturn:
    raise ParseError(path, line, f"bad {what} {value!r}: expected DD/MM/YYYY")


def _numbered(cell: str | None) -> list[str]:
    """`(1) Iraq (2) Syria` -> ["Iraq", "Syria"]; a plain value stays one."""
    text = clean(cell)
    if text is None:
        return []
    return [part for part in (clean(piece) for piece in _NUMBERED.split(text)) if part]
