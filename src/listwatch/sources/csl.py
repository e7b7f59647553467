"""The US Consolidated Screening List (trade.gov), as CSV (current and 2019 layouts) or JSON.

The CSL bundles some thirteen lists of three agencies (Commerce's Entity List, MEU, DPL and UVL;
State's ISN and DTC; Treasury's SDN, SSI, FSE, PLC, CAPTA, NS-CMIC, NS-MBS). Each becomes a list of
its own, `us_csl_meu`, `us_csl_sdn`..., named by the abbreviation in the row's `source`
(`Military End User (MEU) List - Bureau of Industry and Security`): one file gives one snapshot of
each. The Entity List, which BIS publishes machine-readable only through the CSL, is `us_bis_entity`.

    >>> [part.list_id for part in CSL_CSV.parse([Path("examples/lists/us_csl/csl_excerpt_2019.csv")]).parts][:2]
    ['us_bis_entity', 'us_csl_cap']

Choices worth knowing:
- The key is the row's `entity_number` (OFAC's ent_num, for Treasury lists), else its name: the
  Commerce and State lists give no number. Rows of one list with the same key are merged (warned).
- `ids` are `type, number, country` (current layout; `country, number, type` in 2019's), read with
  the OFAC remark labels (`Passport`, `Tax ID No.`, `Gender`, `Secondary sanctions risk:`...).
- `start_date` is the listing date, `end_date` the property `expires_on`.
- A source not known here goes to `us_csl_other`, with a warning; an unknown column is kept in the
  raw record as `unknown:COLUMN`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, ParsedList
from listwatch.sources.entry import Entry, clean, organisation_schema
from listwatch.sources.ofac_remarks import RemarkFacts, parse_remarks
from listwatch.sources.text import csv_rows, header_cells, parse_iso_date, read_text
from listwatch.sources.xml import single_file

__all__ = ["CSL_CSV", "CSL_JSON", "CslCsvFormat", "CslJsonFormat", "csl_list_id"]

_COLUMNS_2019 = (
    "source", "entity_number", "type", "programs", "name", "title", "addresses", "federal_register_notice",
    "start_date", "end_date", "standard_order", "license_requirement", "license_policy", "call_sign",
    "vessel_type", "gross_tonnage", "gross_registered_tonnage", "vessel_flag", "vessel_owner", "remarks",
    "source_list_url", "alt_names", "citizenships", "dates_of_birth", "nationalities", "places_of_birth",
    "source_information_url", "ids",
)  # fmt: skip
_KNOWN = frozenset({"_id", "id", *_COLUMNS_2019})
_REQUIRED = ("source", "name")
# abbreviation in the source's name -> list id suffix
_SOURCES = {
    "EL": "el", "MEU": "meu", "DPL": "dpl", "UVL": "uvl", "ISN": "isn", "DTC": "dtc", "SDN": "sdn",
    "SSI": "ssi", "FSE": "fse", "PLC": "plc", "CAP": "cap", "CAPTA": "cap", "CMIC": "cmic",
    "NS-CMIC": "cmic", "NS-MBS": "mbs", "NS-MBS LIST": "mbs", "NS-ISA": "mbs",
}  # fmt: skip
_OTHER = "us_csl_other"
_ABBREVIATION = re.compile(r"\(([^()]+)\)")
_PROPERTIES = {
    "title": "title",
    "federal_register_notice": "federal_register_notice",
    "standard_order": "standard_order",
    "license_requirement": "license_requirement",
    "license_policy": "license_policy",
    "vessel_type": "vessel_type",
    "gross_tonnage": "vessel_tonnage",
    "gross_registered_tonnage": "vessel_grt",
    "vessel_flag": "vessel_flag",
    "vessel_owner": "vessel_owner",
    "source_list_url": "source_list_url",
    "source_information_url": "source_information_url",
    "_id": "csl_id",
    "id": "csl_id",
}
_SCHEMAS = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane"}
_BIRTH_DATE = re.compile(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?")
_LINKED_TO = re.compile(r"\(Linked To: ([^)]+)\)")
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")


def csl_list_id(source: str) -> str | None:
    """`Military End User (MEU) List - Bureau of Industry and Security` -> `us_csl_meu`; None when unknown."""
    for abbreviation in _ABBREVIATION.findall(source):
        code = _SOURCES.get(" ".join(abbreviation.split()).upper())
        if code is not None:
            # the CSL is the Entity List's machine-readable form: it is that list, not a copy of one
            return "us_bis_entity" if code == "el" else f"us_csl_{code}"
    return None


class _Row:
    """One CSL entry, whichever form it came in: single values and lists, by CSV column name."""

    __slots__ = ("addresses", "ids", "line", "lists", "values")

    def __init__(self, line: int) -> None:
        self.line = line
        self.values: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}
        self.addresses: list[Address] = []
        self.ids: list[str] = []  # as OFAC remark facts: "Passport 836238033 (KP)"


class _Bundle:
    """Rows grouped by the list they belong to, merged by key, made into one `ParsedList` per list."""

    def __init__(self, path: Path, format_name: str) -> None:
        self.path = path
        self.format_name = format_name
        self.entries: dict[str, dict[str, Entry]] = {}
        self.schemas: dict[tuple[str, str], str] = {}
        self.warnings: dict[str, list[str]] = {}
        self.unknown_sources: dict[str, int] = {}
        self.common_warnings: list[str] = []
        self.warned_columns: set[str] = set()

    def unknown_column(self, column: str, line: int) -> None:
        if column not in self.warned_columns:
            self.warned_columns.add(column)
            self.common_warnings.append(
                f"{self.path.name}:{line}: unknown column {column!r} kept in the raw record"
            )

    def add(self, row: _Row) -> None:
        source = row.values.get("source", "")
        if not source:
            raise ParseError(self.path, row.line, "entry without a source list")
        list_id = csl_list_id(source)
        if list_id is None:
            list_id = _OTHER
            self.unknown_sources.setdefault(source, row.line)
        name = row.values.get("name")
        if name is None:
            raise ParseError(self.path, row.line, "entry without a name")
        key = row.values.get("entity_number") or name
        entries = self.entries.setdefault(list_id, {})
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = Entry(key, line=row.line)
        else:
            self.warnings.setdefault(list_id, []).append(
                f"{self.path.name}:{row.line}: a second entry {key!r} in {list_id} (first at line "
                f"{entry.line}), merged into one"
            )
        _fill(self.path, entry, row)
        for column in row.values:
            if column not in _KNOWN:
                self.unknown_column(column, row.line)
        kind = (row.values.get("type") or "").lower()
        self.schemas.setdefault((list_id, key), _SCHEMAS.get(kind, "" if kind == "entity" else "LegalEntity"))

    def parsed(self, published: date | None) -> ParsedList:
        if not self.entries:
            raise ParseError(self.path, None, "no entries in the file")
        common = list(self.common_warnings)
        for source, line in self.unknown_sources.items():
            common.append(
                f"{self.path.name}:{line}: source list {source!r} is not known here; its entries go to {_OTHER}"
            )
        parts = []
        for list_id in sorted(self.entries):
            records = tuple(
                entry.record(self.schemas[(list_id, key)] or organisation_schema(entry.names))
                for key, entry in self.entries[list_id].items()
            )
            warnings = tuple(common + self.warnings.get(list_id, []))
            parts.append(ParsedList(self.format_name, records, list_id, published, None, warnings))
        return ParsedList(self.format_name, (), None, published, None, tuple(common), tuple(parts))


def _fill(path: Path, entry: Entry, row: _Row) -> None:
    values, lists = row.values, row.lists
    entry.name(values.get("name"))
    for alias in lists.get("alt_names", ()):
        entry.name(alias, "alias")
    for program in lists.get("programs", ()):
        entry.program(program)
    for address in row.addresses:
        entry.address(address, add_country=False)
        entry.country(_country(address.country))
    for column, key in _PROPERTIES.items():
        entry.add(key, values.get(column))
    entry.identifier("call_sign", values.get("call_sign"))
    if values.get("start_date"):
        entry.listed(parse_iso_date(values["start_date"], path=path, line=row.line, what="start_date"))
    if values.get("end_date"):
        ends = parse_iso_date(values["end_date"], path=path, line=row.line, what="end_date")
        entry.add("expires_on", ends.isoformat())
    for column, key in (("citizenships", "citizenship"), ("nationalities", "nationality")):
        for country in lists.get(column, ()):
            entry.add(key, country)
            entry.country(_country(country))
    for value in lists.get("dates_of_birth", ()):
        if _BIRTH_DATE.fullmatch(value):
            entry.birth_date(value)
        else:
            entry.add("birth_date_text", value)
    for place in lists.get("places_of_birth", ()):
        entry.add("birth_place", place)
    remarks = values.get("remarks")
    entry.remark(remarks)
    for target in _LINKED_TO.findall(remarks or ""):
        entry.link("linked_to", target)
    facts = RemarkFacts()
    for fact in row.ids:
        parse_remarks(fact, into=facts)
    for identifier in facts.identifiers:
        entry.identifiers[identifier] = None
    for key, found in facts.properties.items():
        for value in found:
            entry.add("unparsed_id" if key == "unparsed" else key, value)
    for name in facts.names:
        entry.name(name.value, name.kind)
    for column, value in values.items():
        if column not in _KNOWN:
            entry.unknown(column, value)


def _country(value: str | None) -> str | None:
    """ISO codes in lower case, as `Record.countries` keeps them; names as published."""
    return value.lower() if value and _COUNTRY_CODE.fullmatch(value) else value


def _split(value: str | None) -> list[str]:
    return [part for part in (clean(piece) for piece in (value or "").split(";")) if part]


# --- CSV ---------------------------------------------------------------------------------------------


class CslCsvFormat:
    """The `SourceFormat` for the CSL as CSV (`consolidated.csv`), current and 2019 layouts."""

    name: str = "us-csl-csv"
    title: str = "US Consolidated Screening List (trade.gov), CSV: each source list becomes its own list"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        header = header_cells(files, ",")
        return header is not None and {"source", "name", "entity_number", "source_list_url"} <= header

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = single_file(files, self.name)
        lines = csv_rows(read_text(path))
        try:
            first = next(lines, None)
        except ParseError as exc:  # a header line that is not CSV: another format
            raise FormatMismatch(
                path, exc.line, f"not a Consolidated Screening List CSV: {exc.reason}"
            ) from None
        if first is None:
            raise ParseError(path, 1, "no header line: the file holds only blank lines")
        header_line, header = first
        columns = [cell.strip().lower() for cell in header]
        missing = [column for column in _REQUIRED if column not in columns]
        if missing:
            raise FormatMismatch(
                path,
                header_line,
                f"not a Consolidated Screening List CSV: no {', '.join(map(repr, missing))} column",
            )
        if len(set(columns)) != len(columns) or "" in columns:
            raise ParseError(path, header_line, "the header has an unnamed or repeated column")
        current = "_id" in columns  # the 2019 layout has no _id, and writes ids the other way round
        bundle = _Bundle(path, self.name)
        for column in columns:
            if column not in _KNOWN:
                bundle.unknown_column(column, header_line)
        for line, cells in lines:
            if len(cells) != len(columns):
                raise ParseError(
                    path,
                    line,
                    f"row has {len(cells)} fields, the header has {len(columns)}; is the file truncated?",
                )
            bundle.add(_csv_row(line, dict(zip(columns, cells, strict=True)), current=current))
        return bundle.parsed(None)


def _csv_row(line: int, cells: dict[str, str], *, current: bool) -> _Row:
    row = _Row(line)
    for column, cell in cells.items():
        value = clean(cell)
        if value is None:
            continue
        if column in (
            "alt_names",
            "programs",
            "citizenships",
            "nationalities",
            "dates_of_birth",
            "places_of_birth",
        ):
            row.lists[column] = _split(value)
        elif column == "addresses":
            row.addresses = [_csv_address(part) for part in _split(value)]
        elif column == "ids":
            row.ids = [_csv_id(part, current=current) for part in _split(value)]
        else:
            row.values[column] = value
    return row


def _csv_address(text: str) -> Address:
    """`street, city, state, postal code, CC`: the trailing ISO code is the country."""
    head, _, last = text.rpartition(", ")
    if head and _COUNTRY_CODE.fullmatch(last):
        return Address(street=head, country=last)
    if _COUNTRY_CODE.fullmatch(text):
        return Address(country=text)
    return Address(street=text)


def _csv_id(text: str, *, current: bool) -> str:
    """One id as an OFAC remark fact: `Passport, 836238033, KP` -> `Passport 836238033 (KP)`."""
    parts = [part.strip() for part in text.split(",")]
    country = None
    if current:
        kind, rest = parts[0], parts[1:]
        if len(rest) >= 2 and _COUNTRY_CODE.fullmatch(rest[-1]):
            country, rest = rest[-1], rest[:-1]
    else:
        kind, rest = parts[-1], parts[:-1]
        if len(rest) >= 2 and _COUNTRY_CODE.fullmatch(rest[0]):
            country, rest = rest[0], rest[1:]
    fact = f"{kind} {', '.join(rest)}".strip()
    return f"{fact} ({country})" if country else fact


CSL_CSV = CslCsvFormat()


# --- JSON --------------------------------------------------------------------------------------------


class CslJsonFormat:
    """The `SourceFormat` for the CSL as JSON (the API's `{"results": [...]}` or the JSON download)."""

    name: str = "us-csl-json"
    title: str = "US Consolidated Screening List (trade.gov), JSON: each source list becomes its own list"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        if len(files) != 1:
            return False
        try:
            with files[0].open("rb") as handle:
                head = handle.read(16384)
        except OSError:
            return False
        text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        return text.startswith(b"{") and b'"results"' in text and b'"source"' in text

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = single_file(files, self.name)
        decoded = read_text(path)
        try:
            document = json.loads(decoded.text)
        except json.JSONDecodeError as exc:
            reason = (
                "JSON ends early; is the file truncated?"
                if exc.pos >= len(decoded.text.rstrip())
                else "malformed JSON"
            )
            raise ParseError(path, exc.lineno, f"{reason} ({exc.msg}, column {exc.colno})") from None
        if not isinstance(document, dict) or not isinstance(document.get("results"), list):
            raise FormatMismatch(path, 1, 'not a Consolidated Screening List JSON: no "results" list')
        bundle = _Bundle(path, self.name)
        lines = _result_lines(decoded.text)
        for index, result in enumerate(document["results"]):
            line = lines[index] if index < len(lines) else 1
            if not isinstance(result, dict):
                raise ParseError(path, line, f"result {index + 1} is not an object")
            bundle.add(_json_row(path, line, result))
        return bundle.parsed(_published(path, document))


def _result_lines(text: str) -> list[int]:
    """The line of each result object, for messages (objects of `results` start with `{"` or `{`)."""
    start = text.find('"results"')
    lines, depth, line = [], 0, text.count("\n", 0, start) + 1
    in_string = escaped = False
    for char in text[start:]:
        if char == "\n":
            line += 1
        elif in_string:
            escaped = not escaped and char == "\\"
            in_string = escaped or char != '"'
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
            if depth == 2 and char == "{":
                lines.append(line)
        elif char in "}]":
            depth -= 1
            if depth < 0:
                break
    return lines


def _published(path: Path, document: dict[str, Any]) -> date | None:
    stamp = document.get("search_performed_at")
    if not isinstance(stamp, str) or not stamp:
        return None
    return parse_iso_date(stamp[:10], path=path, line=None, what="search_performed_at")


def _json_row(path: Path, line: int, result: dict[str, Any]) -> _Row:
    row = _Row(line)
    for key, value in result.items():
        if value is None or value == "" or value == []:
            continue
        if key == "addresses":
            row.addresses = [_json_address(path, line, item) for item in _items(path, line, key, value)]
        elif key == "ids":
            row.ids = [_json_id(path, line, item) for item in _items(path, line, key, value)]
        elif isinstance(value, list):
            row.lists[key] = [text for item in value if (text := clean(str(item)))]
        elif isinstance(value, dict):
            row.values[key] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        elif (text := clean(str(value))) is not None:
            row.values[key] = text
    return row


def _items(path: Path, line: int, key: str, value: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ParseError(path, line, f"{key!r} should be a list of objects")
    return value


def _json_address(path: Path, line: int, item: dict[str, Any]) -> Address:
    parts = [clean(str(item.get(key) or "")) for key in ("city", "state", "postal_code")]
    city = ", ".join(part for part in parts if part)
    return Address(
        street=clean(str(item.get("address") or "")),
        city=city or None,
        country=clean(str(item.get("country") or "")),
    )


def _json_id(path: Path, line: int, item: dict[str, Any]) -> str:
    kind, number = clean(str(item.get("type") or "")), clean(str(item.get("number") or ""))
    country = clean(str(item.get("country") or ""))
    fact = " ".join(part for part in (kind, number) if part)
    if country:
        fact += f" ({country})"
    for key, word in (("issue_date", "issued"), ("expiration_date", "expires")):
        if item.get(key):
            fact += f" {word} {item[key]}"
    return fact


CSL_JSON = CslJsonFormat()
