"""The BIS Denied Persons List, tab-separated text (`dpl.txt`), read into `Record`s.

A header line (`Name`, `Street_Address`, `City`, `State`, `Country`, `Postal_Code`,
`Effective_Date`, `Expiration_Date`, `Standard_Order`, `Last_Update`, `Action`, `FR_Citation`),
every field quoted, one row per denied party and address. The list has no entry numbers: rows are
grouped by their name (compared case-, accent- and punctuation-insensitively), which is also the key
that ties an entry across versions, so two snapshots diff by name.

    >>> len(DPL_TSV.parse([Path("examples/lists/bis_dpl/dpl_2022-09.txt")]).records)
    458

Choices worth knowing:
- `Effective_Date` (MM/DD/YYYY) is the listing date; `Expiration_Date` becomes `expires_on`, and
  `Standard_Order`, `Last_Update`, `Action` and `FR_Citation` are kept as properties.
- A `Last_Update` in the future (BIS has published `3017-08-22`) is kept as published and warned.
- The same name at several addresses is one entry; an alias on its own row is its own entry, since
  the file does not say which rows are one party.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, ParsedList, name_key
from listwatch.sources.entry import Entry, clean, has_legal_form
from listwatch.sources.text import csv_rows, header_cells, parse_iso_date, parse_us_date, read_text
from listwatch.sources.xml import single_file

__all__ = ["DPL_TSV", "DplTsvFormat"]

_LIST_ID = "us_bis_dpl"
_COLUMNS = (
    "name", "street_address", "city", "state", "country", "postal_code", "effective_date",
    "expiration_date", "standard_order", "last_update", "action", "fr_citation",
)  # fmt: skip
_REQUIRED = ("name", "effective_date")


class DplTsvFormat:
    """The `SourceFormat` for the BIS Denied Persons List (tab-separated `dpl.txt`)."""

    name: str = "bis-dpl-tsv"
    title: str = "BIS Denied Persons List, tab-separated text (dpl.txt)"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        header = header_cells(files, "\t")
        return header is not None and {"name", "effective_date", "fr_citation"} <= header

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = single_file(files, self.name)
        rows = csv_rows(read_text(path, fallback="cp1252"), delimiter="\t")
        first = next(rows, None)
        if first is None:
            raise ParseError(path, 1, "no header line: the file holds only blank lines")
        header_line, header = first
        columns = [cell.strip().lower() for cell in header]
        missing = [column for column in _REQUIRED if column not in columns]
        if missing:
            raise FormatMismatch(
                path, header_line, f"not a Denied Persons List: no {', '.join(map(repr, missing))} column"
            )
        if len(set(columns)) != len(columns) or "" in columns:
            raise ParseError(path, header_line, "the header has an unnamed or repeated column")
        warnings = [
            f"{path.name}:{header_line}: unknown column {column!r} kept in the raw record"
            for column in columns
            if column not in _COLUMNS
        ]
        entries: dict[str, Entry] = {}
        today = date.today()
        for line, cells in rows:
            if len(cells) != len(columns):
                raise ParseError(
                    path,
                    line,
                    f"row has {len(cells)} fields, the header has {len(columns)}; is the file truncated?",
                )
            row = dict(zip(columns, cells, strict=True))
            name = clean(row["name"])
            if name is None:
                raise ParseError(path, line, "row without a name")
            key = name_key(name) or name
            entry = entries.get(key)
            if entry is None:
                entry = entries[key] = Entry(key, line=line)
            entry.name(name)
            country = clean(row.get("country"))
            entry.country(country.lower() if country and len(country) == 2 else country)
            entry.address(
                add_country=False,
                address=Address(
                    street=clean(row.get("street_address")),
                    city=", ".join(
                        filter(None, (clean(row.get(c)) for c in ("city", "state", "postal_code")))
                    )
                    or None,
                    country=country,
                ),
            )
            effective = parse_us_date(row["effective_date"], path=path, line=line, what="Effective_Date")
            entry.listed(effective)
            entry.add("effective_on", effective.isoformat() if effective else None)
            expires = parse_us_date(row.get("expiration_date"), path=path, line=line, what="Expiration_Date")
            entry.add("expires_on", expires.isoformat() if expires else None)
            updated = clean(row.get("last_update"))
            if updated is not None:
                day = parse_iso_date(updated, path=path, line=line, what="Last_Update")
                entry.add("last_update", day.isoformat())
                if day > today:
                    warnings.append(
                        f"{path.name}:{line}: Last_Update {updated} is in the future; kept as published"
                    )
            for column, key_name in (
                ("standard_order", "standard_order"),
                ("action", "action"),
                ("fr_citation", "fr_citation"),
            ):
                entry.add(key_name, clean(row.get(column)))
            for column in columns:
                if column not in _COLUMNS:
                    entry.unknown(column, row[column])
        if not entries:
            raise ParseError(path, header_line + 1, "no rows after the header line")
        records = tuple(
            entry.record("Company" if any(has_legal_form(n.value) for n in entry.names) else "LegalEntity")
            for entry in entries.values()
        )
        return ParsedList(format=self.name, records=records, list_id=_LIST_ID, warnings=tuple(warnings))


DPL_TSV = DplTsvFormat()
