"""OFAC's legacy CSV sets: `sdn.csv` (+ `add.csv`, `alt.csv`, `sdn_comments.csv`) or `cons_prim.csv`
(+ `cons_add.csv`, `cons_alt.csv`, `cons_comments.csv`), read into `Record`s.

The files have no header; `-0-` (often `-0- `) is OFAC's null; text is latin-1 with CRLF and may end
with a DOS `\\x1a`. Remarks longer than 1,000 characters continue in the comments file and are joined
here; `ofac_remarks` types the facts in them (identifiers, dates of birth, links, weak aliases), and
those it cannot type are kept under `properties["unparsed"]` (the full text always stays in
`Record.remarks`).

    >>> OFAC_CSV.parse([Path("examples/lists/ofac_sdn_csv/2021-07/sdn.csv")]).list_id
    'us_ofac_sdn'

Choices worth knowing:
- Countries (nationality, citizenship, addresses, identifier issuers) are kept as OFAC publishes them
  ("Korea, North"), never mapped to codes here: one mapping, done once, belongs to matching.
- A "Linked To:" name finds its target's ent_num only when exactly one entry of the list bears it.
"""

from __future__ import annotations

import csv
import gc
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, Identifier, Link, Name, ParsedList, Record
from listwatch.sources.entry import has_legal_form
from listwatch.sources.ofac_remarks import RemarkFacts, parse_remarks
from listwatch.sources.text import DecodedText, csv_rows, read_text

__all__ = ["OFAC_CSV", "OfacCsvFormat"]

_SDN, _CONS = "us_ofac_sdn", "us_ofac_cons"
_MAIN, _ADDRESSES, _ALIASES, _COMMENTS = "main", "addresses", "aliases", "comments"
# file name (lower case) -> (list id, role); the spec also spells the spill-over "sdn comments.csv"
_FILE_ROLES: dict[str, tuple[str, str]] = {
    "sdn.csv": (_SDN, _MAIN),
    "add.csv": (_SDN, _ADDRESSES),
    "alt.csv": (_SDN, _ALIASES),
    "sdn_comments.csv": (_SDN, _COMMENTS),
    "sdn comments.csv": (_SDN, _COMMENTS),
    "cons_prim.csv": (_CONS, _MAIN),
    "cons_add.csv": (_CONS, _ADDRESSES),
    "cons_alt.csv": (_CONS, _ALIASES),
    "cons_comments.csv": (_CONS, _COMMENTS),
}
_FIELD_COUNTS = {_MAIN: 12, _ADDRESSES: 6, _ALIASES: 5, _COMMENTS: 2}
_SET_NAMES = {_SDN: "SDN set (sdn.csv...)", _CONS: "consolidated set (cons_prim.csv...)"}
_SCHEMAS = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane"}
_ALIAS_KINDS = {"aka": "alias", "fka": "previous", "nka": "alias"}
_MAX_WARNED_LINES = 5
_REMARKS_LIMIT = 1000  # OFAC cuts longer remarks here and continues them in the spill-over file
_T = TypeVar("_T")


class OfacCsvFormat:
    """The `SourceFormat` for OFAC's legacy CSV sets (SDN and consolidated non-SDN)."""

    name: str = "ofac-csv"
    title: str = "OFAC legacy CSV (sdn.csv, add.csv, alt.csv, sdn_comments.csv, or the cons_* set)"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        roles = [_FILE_ROLES.get(path.name.lower()) for path in files]
        if any(role is not None and role[1] == _MAIN for role in roles) or all(roles):
            return bool(files)
        return len(files) == 1 and _first_record_looks_like_main(files[0])

    def parse(self, files: Sequence[Path]) -> ParsedList:
        sets, list_id = _classify(files)
        with _collector_paused():
            return self._parse(sets, list_id)

    def _parse(self, sets: dict[str, Path], list_id: str | None) -> ParsedList:
        main = sets[_MAIN]
        entries = _read_main(read_text(main, fallback="latin-1"))
        warnings: list[str] = []
        for role, add in (
            (_COMMENTS, _join_comments),
            (_ADDRESSES, _add_addresses),
            (_ALIASES, _add_aliases),
        ):
            if role in sets and (decoded := _read_optional(sets[role])) is not None:
                add(entries, decoded, main, warnings)
        _warn_truncated(entries, main, warnings)
        keys_by_name: dict[str, str | None] = {}
        for entry in entries.values():
            entry.add_remarks()
            # a name two entries share resolves to no key
            keys_by_name[entry.name] = None if entry.name in keys_by_name else entry.key
        records = tuple(entry.to_record(keys_by_name) for entry in entries.values())
        return ParsedList(format=self.name, records=records, list_id=list_id, warnings=tuple(warnings))


OFAC_CSV = OfacCsvFormat()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing builds ~150k objects that all live on; CPython's cycle collector would rescan them
    over and over (a third of the parse time). Nothing here makes cycles, so it waits until the end.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- which file is which ---------------------------------------------------------------------------


def _classify(files: Sequence[Path]) -> tuple[dict[str, Path], str | None]:
    """The files by role, and the list id their names imply (None for a lone renamed main file)."""
    if not files:
        raise FormatMismatch(".", None, "no files given; expected sdn.csv or cons_prim.csv")
    roles: dict[str, Path] = {}
    list_id: str | None = None
    for path in files:
        found = _FILE_ROLES.get(path.name.lower())
        if found is None:
            if len(files) == 1:  # renamed: its first record has to show it is a main file
                return {_MAIN: path}, None
            raise FormatMismatch(
                path,
                None,
                "not a file of an OFAC CSV set (expected sdn.csv, add.csv, alt.csv, "
                "sdn_comments.csv or cons_prim.csv, cons_add.csv, cons_alt.csv, cons_comments.csv)",
            )
        file_list, role = found
        if list_id is not None and file_list != list_id:
            other = next(iter(roles.values()))
            raise FormatMismatch(
                path,
                None,
                f"belongs to the {_SET_NAMES[file_list]} but {other.name} belongs to "
                f"the {_SET_NAMES[list_id]}; ingest one set at a time",
            )
        if role in roles:
            raise FormatMismatch(path, None, f"the set already has {roles[role]}; give one of each file")
        roles[role], list_id = path, file_list
    if _MAIN not in roles:
        main_name = "sdn.csv" if list_id == _SDN else "cons_prim.csv"
        raise FormatMismatch(files[0], None, f"the set has no {main_name}, the file that lists entries")
    return roles, list_id


def _read_optional(path: Path) -> DecodedText | None:
    """An empty add/alt/comments file just has no rows (the main file must not be empty)."""
    try:
        if not path.read_bytes().strip(b" \t\r\n\x1a"):
            return None
    except OSError:
        pass  # read_text says what is wrong
    return read_text(path, fallback="latin-1")


def _first_record_looks_like_main(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    if b"\x00" in head:
        return False
    text = head.decode("utf-8-sig", errors="replace")
    try:
        row = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        return False
    return _looks_like_main_row(row)


def _looks_like_main_row(row: list[str]) -> bool:
    return len(row) == 12 and _is_int(row[0].strip())


def _check_first_record(decoded: DecodedText) -> None:
    """A first record that is not OFAC's means another format; a later bad one, a damaged file."""
    for line, row in csv_rows(decoded):
        if not _looks_like_main_row(row):
            raise FormatMismatch(
                decoded.path,
                line,
                f"not an OFAC sdn.csv/cons_prim.csv: the first record has {len(row)} fields "
                f"starting {row[0][:30]!r}, expected 12 starting with an integer ent_num",
            )
        return


def _is_int(text: str) -> bool:
    return text.isascii() and text.isdigit()


# --- reading the files -----------------------------------------------------------------------------


def _value(cell: str) -> str | None:
    if cell == "-0- ":
        return None
    text = cell.strip()
    return None if not text or text == "-0-" else text


def _rows(decoded: DecodedText, role: str) -> Iterator[tuple[int, str, list[str]]]:
    """`(line, ent_num, fields)` for each record, after checking the field count and ent_num."""
    expected = _FIELD_COUNTS[role]
    for line, row in csv_rows(decoded):
        if len(row) != expected:
            raise ParseError(
                decoded.path, line, f"expected {expected} fields, found {len(row)}; is the file truncated?"
            )
        ent_num = row[0].strip()
        if not _is_int(ent_num):
            raise ParseError(decoded.path, line, f"ent_num {row[0]!r} is not an integer")
        yield line, ent_num if ent_num[0] != "0" else str(int(ent_num)), row


def _read_main(decoded: DecodedText) -> dict[str, _Entry]:
    _check_first_record(decoded)
    entries: dict[str, _Entry] = {}
    for line, key, row in _rows(decoded, _MAIN):
        seen = entries.get(key)
        if seen is not None:
            if seen.row == row:  # OFAC sometimes publishes an entry twice in cons_prim.csv
                continue
            raise ParseError(
                decoded.path,
                line,
                f"ent_num {key} appears again with different content (first at line {seen.line})",
            )
        entries[key] = _Entry(key, line, row)
    return entries


def _joined(
    entries: dict[str, _Entry], decoded: DecodedText, role: str, main: Path, warnings: list[str]
) -> Iterator[tuple[int, _Entry, list[str]]]:
    """`(line, entry, fields)` for each row of an add/alt/comments file.

    Rows whose ent_num is not in the main file are left out, and warned about together once the file
    has been read.
    """
    orphans: list[int] = []
    for line, key, row in _rows(decoded, role):
        entry = entries.get(key)
        if entry is None:
            orphans.append(line)
        else:
            yield line, entry, row
    if orphans:
        warnings.append(
            f"{decoded.path}: {len(orphans)} rows refer to an ent_num not in {main.name}, ignored "
            f"(lines {_first_few(orphans)})"
        )


def _first_few(items: Sequence[object]) -> str:
    """A long list cut short for a warning: "1, 2, 3, 4, 5 and 12 more"."""
    more = f" and {len(items) - _MAX_WARNED_LINES} more" if len(items) > _MAX_WARNED_LINES else ""
    return ", ".join(str(item) for item in items[:_MAX_WARNED_LINES]) + more


def _join_comments(entries: dict[str, _Entry], decoded: DecodedText, main: Path, warnings: list[str]) -> None:
    for _, entry, row in _joined(entries, decoded, _COMMENTS, main, warnings):
        if _value(row[1]) is not None:
            entry.spill_over.append(row[1])


def _warn_truncated(entries: dict[str, _Entry], main: Path, warnings: list[str]) -> None:
    cut = [
        f"{e.key} (line {e.line})"
        for e in entries.values()
        if len(e.row[11]) >= _REMARKS_LIMIT and not e.spill_over
    ]
    if cut:
        comments = "cons_comments.csv" if main.name.lower() == "cons_prim.csv" else "sdn_comments.csv"
        warnings.append(
            f"{main}: the remarks of {len(cut)} entries fill the {_REMARKS_LIMIT}-character field and "
            f"no {comments} continues them, so they may be cut short: ent_num {_first_few(cut)}"
        )


def _add_addresses(entries: dict[str, _Entry], decoded: DecodedText, main: Path, warnings: list[str]) -> None:
    for _, entry, row in _joined(entries, decoded, _ADDRESSES, main, warnings):
        street, city, country, remarks = (_value(cell) for cell in row[2:6])
        if street or city or country or remarks:  # most entries have an all-null address row
            entry.addresses.append(Address(street, city, country, remarks))
            if country:
                entry.countries.append(country)


def _add_aliases(entries: dict[str, _Entry], decoded: DecodedText, main: Path, warnings: list[str]) -> None:
    for line, entry, row in _joined(entries, decoded, _ALIASES, main, warnings):
        alias = _value(row[3])
        if alias is None:
            continue
        alt_type = (_value(row[2]) or "aka").lower()
        kind = _ALIAS_KINDS.get(alt_type)
        if kind is None:
            warnings.append(f"{decoded.path}:{line}: unknown alt_type {row[2]!r}, read as an alias")
            kind = "alias"
        entry.names.append(Name(alias, kind))
        if (remark := _value(row[4])) is not None:
            entry.add("alias_remarks", f"{alias}: {remark}")


# --- one entry -------------------------------------------------------------------------------------


class _Entry(RemarkFacts):
    """A main-file row plus what the other files and the remarks add, frozen into a `Record`.

    Its names, identifiers, countries and properties start from the row and the other files; the
    remarks' facts are appended to them in place.
    """

    __slots__ = ("addresses", "key", "line", "name", "remarks", "row", "spill_over")

    def __init__(self, key: str, line: int, row: list[str]) -> None:
        super().__init__()
        self.key = key
        self.line = line
        self.row = row
        self.name = row[1].strip()
        self.remarks = _value(row[11])
        self.spill_over: list[str] = []  # continuations of the remarks, from the comments file
        self.names.append(Name(self.name, "primary"))
        self.addresses: list[Address] = []
        if call_sign := _value(row[5]):
            self.identifiers.append(Identifier("call_sign", call_sign))
        for index, key_name in _COLUMN_PROPERTIES:
            if (text := _value(row[index])) is not None:
                self.add(key_name, text)

    def add_remarks(self) -> None:
        if self.spill_over:
            # cut at the field's limit, even mid-word: the spill-over continues the text as it is
            self.remarks = ((self.row[11] if self.remarks else "") + "".join(self.spill_over)).strip()
        if self.remarks is not None:
            parse_remarks(self.remarks, into=self)

    def schema(self) -> str:
        published = (_value(self.row[2]) or "").lower()
        if published in _SCHEMAS:
            return _SCHEMAS[published]
        if (
            any(t in _COMPANY_TARGET_TYPES for t in self.properties.get("target_type", ()))
            or any(i.scheme in ("isin", "ticker") for i in self.identifiers)
            or any(has_legal_form(name.value) for name in self.names)
        ):
            return "Company"
        return "Organization"

    def to_record(self, keys_by_name: dict[str, str | None]) -> Record:
        links = []
        for name, stripped in self.links:
            if stripped is not None and name not in keys_by_name and stripped in keys_by_name:
                name = stripped
            links.append(Link("linked_to", name, keys_by_name.get(name)))
        return Record(
            key=self.key,
            schema=self.schema(),
            names=_unique(self.names),
            identifiers=_unique(self.identifiers),
            countries=_unique(self.countries),
            addresses=tuple(self.addresses),
            birth_dates=_unique(self.birth_dates),
            programs=_programs(self.row[3]),
            remarks=self.remarks,
            links=_unique(links),
            listed_on=self.listed_on,
            properties={key: tuple(values) for key, values in self.properties.items()},
            line=self.line,
        )


_COLUMN_PROPERTIES = (
    (4, "title"), (6, "vessel_type"), (7, "vessel_tonnage"), (8, "vessel_grt"), (9, "vessel_flag"),
    (10, "vessel_owner"),
)  # fmt: skip
_COMPANY_TARGET_TYPES = frozenset(
    {"Public Company", "Private Company", "State-Owned Enterprise", "Financial Institution"}
)


def _unique(items: list[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items)) if len(items) > 1 else tuple(items)


def _programs(cell: str) -> tuple[str, ...]:
    text = _value(cell)
    if text is None:
        return ()
    return tuple(p.strip(" []") for p in text.split("] [") if p.strip(" []"))
