"""OFAC's legacy CSV sets: `sdn.csv` (+ `add.csv`, `alt.csv`, `sdn_comments.csv`) or `cons_prim.csv`
(+ `cons_add.csv`, `cons_alt.csv`, `cons_comments.csv`), read into `Record`s.

The files have no header; `-0-` (often `-0- `) is OFAC's null; text is latin-1 with CRLF and may end
with a DOS `\\x1a`. Identifiers, dates of birth, links and weak aliases live in the free-text remarks
as `;`-separated facts; those are typed where the wording is known, and the rest are kept under
`properties["unparsed"]` (the full text always stays in `Record.remarks`).

    >>> OFAC_CSV.parse([Path("examples/lists/ofac_sdn_csv/2021-07/sdn.csv")]).list_id
    'us_ofac_sdn'

Choices worth knowing:
- Countries (nationality, citizenship, addresses, identifier issuers) are kept as OFAC publishes them
  ("Korea, North"), never mapped to codes here: one mapping, done once, belongs to matching.
- A date-of-birth range gives every year it spans when it is whole years ("1950 to 1952" or
  "01 Jan 1950 to 31 Dec 1952": 1950, 1951, 1952; spans over 10 years give the two ends), otherwise
  its two ends; `properties["birth_date_range"]` keeps it as an ISO interval.
- Every quoted alias in the remarks (a.k.a., f.k.a. or n.k.a. 'X') is a weak alias: OFAC keeps only
  weak aliases there.
"""

from __future__ import annotations

import csv
import gc
import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TypeVar

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, Identifier, Link, Name, ParsedList, Record
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
            entry.parse_remarks()
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


def _orphans(warnings: list[str], decoded: DecodedText, main: Path, lines: list[int]) -> None:
    if lines:
        shown = ", ".join(str(n) for n in lines[:_MAX_WARNED_LINES])
        more = f" and {len(lines) - _MAX_WARNED_LINES} more" if len(lines) > _MAX_WARNED_LINES else ""
        warnings.append(
            f"{decoded.path}: {len(lines)} rows refer to an ent_num not in {main.name}, ignored "
            f"(lines {shown}{more})"
        )


def _join_comments(entries: dict[str, _Entry], decoded: DecodedText, main: Path, warnings: list[str]) -> None:
    orphans: list[int] = []
    for line, key, row in _rows(decoded, _COMMENTS):
        entry = entries.get(key)
        if entry is None:
            orphans.append(line)
        elif _value(row[1]) is not None:
            entry.spill_over.append(row[1])
    _orphans(warnings, decoded, main, orphans)


def _warn_truncated(entries: dict[str, _Entry], main: Path, warnings: list[str]) -> None:
    cut = [e for e in entries.values() if len(e.row[11]) >= _REMARKS_LIMIT and not e.spill_over]
    if cut:
        shown = ", ".join(f"{e.key} (line {e.line})" for e in cut[:_MAX_WARNED_LINES])
        more = f" and {len(cut) - _MAX_WARNED_LINES} more" if len(cut) > _MAX_WARNED_LINES else ""
        comments = "cons_comments.csv" if main.name.lower() == "cons_prim.csv" else "sdn_comments.csv"
        warnings.append(
            f"{main}: the remarks of {len(cut)} entries fill the {_REMARKS_LIMIT}-character field and "
            f"no {comments} continues them, so they may be cut short: ent_num {shown}{more}"
        )


def _add_addresses(entries: dict[str, _Entry], decoded: DecodedText, main: Path, warnings: list[str]) -> None:
    orphans: list[int] = []
    for line, key, row in _rows(decoded, _ADDRESSES):
        entry = entries.get(key)
        if entry is None:
            orphans.append(line)
            continue
        street, city, country, remarks = (_value(cell) for cell in row[2:6])
        if street or city or country or remarks:  # most entries have an all-null address row
            entry.addresses.append(Address(street, city, country, remarks))
            if country:
                entry.countries.append(country)
    _orphans(warnings, decoded, main, orphans)


def _add_aliases(entries: dict[str, _Entry], decoded: DecodedText, main: Path, warnings: list[str]) -> None:
    orphans: list[int] = []
    for line, key, row in _rows(decoded, _ALIASES):
        entry = entries.get(key)
        if entry is None:
            orphans.append(line)
            continue
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
    _orphans(warnings, decoded, main, orphans)


# --- one entry -------------------------------------------------------------------------------------


class _Entry:
    """A main-file row plus what the other files and the remarks add, frozen into a `Record`."""

    __slots__ = (
        "addresses", "birth_dates", "countries", "identifiers", "key", "line", "links", "listed_on",
        "name", "names", "properties", "remarks", "row", "spill_over",
    )  # fmt: skip

    def __init__(self, key: str, line: int, row: list[str]) -> None:
        self.key = key
        self.line = line
        self.row = row
        self.name = row[1].strip()
        self.remarks = _value(row[11])
        self.spill_over: list[str] = []  # continuations of the remarks, from the comments file
        self.names: list[Name] = [Name(self.name, "primary")]
        self.identifiers: list[Identifier] = []
        self.countries: list[str] = []
        self.addresses: list[Address] = []
        self.birth_dates: list[str] = []
        self.links: list[tuple[str, str | None]] = []  # (name, the name without a final ".")
        self.listed_on: date | None = None
        self.properties: dict[str, list[str]] = {}
        if call_sign := _value(row[5]):
            self.identifiers.append(Identifier("call_sign", call_sign))
        for index, key_name in _COLUMN_PROPERTIES:
            if (text := _value(row[index])) is not None:
                self.add(key_name, text)

    def add(self, key: str, value: str) -> None:
        values = self.properties.setdefault(key, [])
        if value not in values:
            values.append(value)

    def parse_remarks(self) -> None:
        if self.spill_over:
            # cut at the field's limit, even mid-word: the spill-over continues the text as it is
            self.remarks = ((self.row[11] if self.remarks else "") + "".join(self.spill_over)).strip()
        if self.remarks is None:
            return
        facts = _split_facts(self.remarks)
        for index, fact in enumerate(facts):
            final = index == len(facts) - 1
            if final and fact.endswith(".") and not _ends_with_abbreviation(fact):
                fact = fact[:-1]
            if not _parse_fact(self, fact, final=final):
                self.add("unparsed", fact)

    def schema(self) -> str:
        published = (_value(self.row[2]) or "").lower()
        if published in _SCHEMAS:
            return _SCHEMAS[published]
        if (
            any(t in _COMPANY_TARGET_TYPES for t in self.properties.get("target_type", ()))
            or any(i.scheme in ("isin", "ticker") for i in self.identifiers)
            or any(_has_legal_form(name.value) for name in self.names)
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
# fmt: off
_LEGAL_FORMS = frozenset({
    "LTD", "LIMITED", "LTDA", "LIMITADA", "CO", "COMPANY", "COMPANIA", "CIA", "CORP", "CORPORATION",
    "CORPORACION", "INC", "INCORPORATED", "LLC", "LLP", "PLC", "GMBH", "AG", "KG", "SA", "SAS", "SAC",
    "SL", "SARL", "SRL", "SPA", "CV", "RL", "EIRL", "ANONIMA", "BV", "NV", "OOO", "ZAO", "OAO", "PAO",
    "AO", "JSC", "OJSC", "CJSC", "PJSC", "EOOD", "OOD", "EAD", "KFT", "ZRT", "PTE", "PVT", "BHD", "FZE",
    "FZCO", "FZC", "DMCC",
})
# fmt: on
_TOKENS = re.compile(r"[A-Z0-9]+")


def _has_legal_form(name: str) -> bool:
    return not _LEGAL_FORMS.isdisjoint(_TOKENS.findall(name.upper().replace(".", "")))


def _unique(items: list[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items)) if len(items) > 1 else tuple(items)


def _programs(cell: str) -> tuple[str, ...]:
    text = _value(cell)
    if text is None:
        return ()
    return tuple(p.strip(" []") for p in text.split("] [") if p.strip(" []"))


# --- the remarks -----------------------------------------------------------------------------------

# A name that ends with an abbreviation keeps its period ("... CO., LTD.", "S.A.", "John A.").
_ABBREVIATION = re.compile(
    r"(?:.*[^A-Za-z])?[A-Za-z]\.|(?i:INC|LTD|LTDA|CO|CORP|CIA|BHD|PVT|PTE|JR|SR|ST|NO|LLC)\.",
)


def _ends_with_abbreviation(text: str) -> bool:
    return _ABBREVIATION.fullmatch(text[text.rfind(" ") + 1 :]) is not None


_WEAK_ALIAS = re.compile(r"^[afn]\.k\.a\.,?\s+'(.+)'\.?$")
_OPEN_WEAK_ALIAS = re.compile(r"^(?:alt\.\s+)?[afn]\.k\.a\.,?\s+'")


def _split_facts(remarks: str) -> list[str]:
    """Split on `;`, but not inside parentheses or a quoted alias."""
    facts: list[str] = []
    pending = ""
    for piece in remarks.split(";"):
        pending = f"{pending};{piece}" if pending else piece
        text = pending.strip()
        if "(" in text and text.count("(") > text.count(")"):
            continue
        if ".k.a." in text[:11] and _OPEN_WEAK_ALIAS.match(text) and not text.rstrip(".").endswith("'"):
            continue
        if text:
            facts.append(text)
        pending = ""
    # a parenthesis or quote that never closes: fall back to plain splitting for the rest
    facts.extend(piece.strip() for piece in pending.split(";") if piece.strip())
    return facts


_Handler = Callable[[_Entry, str, str, bool], bool]  # (entry, label, rest of the fact, final) -> parsed?


def _parse_fact(entry: _Entry, fact: str, *, final: bool) -> bool:
    found = _find_label(fact)
    if found is None:
        return _weak_alias(entry, fact) or _other_identifier(entry, fact)
    (label, handler), rest = found
    return handler(entry, label, rest, final)


def _find_label(fact: str) -> tuple[tuple[str, _Handler], str] | None:
    """The known label the fact starts with (longest first, any case, after "alt. "), and the rest.

    A dictionary keyed by the first word beats one regex of 130 alternatives by far.
    """
    lowered = fact.lower()
    if lowered.startswith("alt. "):
        fact, lowered = fact[5:].lstrip(), lowered[5:].lstrip()
    space = lowered.find(" ")
    first_word = (lowered if space < 0 else lowered[:space]).rstrip(":")
    for label, handler in _LABELS_BY_FIRST_WORD.get(first_word, ()):
        if lowered.startswith(label):
            rest = fact[len(label) :]
            if not rest or rest[0] in " :":
                return (_CANONICAL[label], handler), rest.lstrip(" :")
    return None


def _weak_alias(entry: _Entry, fact: str) -> bool:
    match = _WEAK_ALIAS.match(fact.removeprefix("alt. "))
    if match is None:
        return False
    entry.names.append(Name(match.group(1), "weak_alias"))
    return True


# "<Label> <value with a digit> (<Country>)", optionally "issued ..."/"expires ..."
_OTHER_ID = re.compile(
    r"^(?:alt\.\s+)?(?P<label>[A-Za-z][^\d();]{0,80}?)\s+(?P<value>[^\s()]*\d[^()]*?)\s*"
    r"\((?P<country>[^()\d]+)\)(?P<extra>\s+(?:issued|expires)\b.*)?\.?$"
)


def _other_identifier(entry: _Entry, fact: str) -> bool:
    match = _OTHER_ID.match(fact)
    if match is None:
        return False
    note = match.group("label").rstrip(":")
    if extra := match.group("extra"):
        note = f"{note}, {extra.strip()}"
    entry.identifiers.append(Identifier("other", match["value"], match["country"].strip(), note=note))
    return True


# value, then an issuing country in parentheses (no digits), then "issued ... expires ..."
_ID_VALUE = re.compile(
    r"^(?P<value>.*?)\s*(?:\((?P<country>[^()\d]+)\))?(?P<extra>\s+(?:issued|expires)\b.*)?$"
)


def _identifier(scheme: str, *, keep_label: bool = False, country: bool = True) -> _Handler:
    def handle(entry: _Entry, label: str, rest: str, final: bool) -> bool:
        rest = rest.rstrip(". ")
        value, issuer, extra = rest, None, None
        if country and (match := _ID_VALUE.match(rest)) is not None:
            value, issuer, extra = match["value"], match["country"], match["extra"]
        if not value:
            return False
        notes = [label] if keep_label else []
        if extra:
            notes.append(extra.strip())
        entry.identifiers.append(
            Identifier(scheme, value, issuer.strip() if issuer else None, note=", ".join(notes) or None)
        )
        return True

    return handle


def _ticker(entry: _Entry, label: str, rest: str, final: bool) -> bool:
    # "941 HK": the last token is the exchange or market code
    symbol, _, exchange = rest.rstrip(". ").rpartition(" ")
    if not symbol:
        symbol, exchange = exchange, ""
    if not symbol:
        return False
    entry.identifiers.append(Identifier("ticker", symbol, exchange=exchange or None))
    return True


def _crypto(entry: _Entry, label: str, rest: str, final: bool) -> bool:
    # "XBT 12QtD5BF...": the currency, then the address
    currency, _, address = rest.lstrip("- ").rstrip(". ").partition(" ")
    if not address:
        return False
    entry.identifiers.append(Identifier("crypto", address.strip(), note=currency))
    return True


def _text(key: str, *, country: bool = False) -> _Handler:
    def handle(entry: _Entry, label: str, rest: str, final: bool) -> bool:
        value = rest.lstrip("-: ").strip()
        if not value:
            return False
        if country:
            value = value.rstrip(". ")
            entry.countries.append(value)
        entry.add(key, value)
        return True

    return handle


def _whole(key: str) -> _Handler:
    """Facts whose rest is the fact ("Executive Order 13662 Directive Determination - ...")."""

    def handle(entry: _Entry, label: str, rest: str, final: bool) -> bool:
        entry.add(key, rest.lstrip("-: ").strip())
        return True

    return handle


# "(CMIC) 03 Jun 2021" or "(EO 14024 Directive 3): 24 Feb 2022" or "17 Dec 2016"
_QUALIFIED_DATE = re.compile(r"^(?:\([^()]*\):?\s*)?(?P<date>.+?)\.?$")


def _dated(key: str) -> _Handler:
    def handle(entry: _Entry, label: str, rest: str, final: bool) -> bool:
        match = _QUALIFIED_DATE.match(rest)
        iso = _iso_date(match["date"]) if match else None
        if iso is None:
            return False
        if key == "listed_on":
            if len(iso) != 10:
                return False
            listed_on = date.fromisoformat(iso)
            entry.listed_on = min(entry.listed_on or listed_on, listed_on)
        else:
            entry.add(key, iso)
        return True

    return handle


def _linked_to(entry: _Entry, label: str, rest: str, final: bool) -> bool:
    if not rest:
        return False
    # the period closing the remarks may end the name or be OFAC's; the list's names decide later
    stripped = rest[:-1] if final and rest.endswith(".") else None
    entry.links.append((rest, stripped))
    return True


_MONTHS = {month: number for number, month in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
)}  # fmt: skip
_DATE = re.compile(r"^(?:circa\s+)?(?:(\d{1,2})\s+)?(?:([A-Za-z]{3})[a-z]*\.?\s+)?(\d{4})$")
_RANGE = re.compile(r"\s+to\s+|(?<=\d{4})\s*-\s*(?=(?:circa\s+)?\d)")
_MAX_EXPANDED_YEARS = 10


def _iso_date(text: str) -> str | None:
    """OFAC's dates as ISO, partial when they are: "Mar 1960" -> "1960-03", "circa 1955" -> "1955"."""
    match = _DATE.match(text.strip())
    if match is None:
        return None
    day, month_name, year = match.groups()
    if month_name is None:
        return None if day else year
    month = _MONTHS.get(month_name.lower())
    if month is None:
        return None
    if day is None:
        return f"{year}-{month:02d}"
    try:
        return date(int(year), month, int(day)).isoformat()
    except ValueError:
        return None


def _birth_date(entry: _Entry, label: str, rest: str, final: bool) -> bool:
    text = rest.rstrip(". ").removeprefix("circa ")
    parts = [_iso_date(part) for part in (_RANGE.split(text) if " to " in text or "-" in text else (text,))]
    if not parts or len(parts) > 2 or any(part is None for part in parts):
        return False
    dates = [part for part in parts if part]
    if len(dates) == 1:
        entry.birth_dates.append(dates[0])
        return True
    start, end = dates
    entry.add("birth_date_range", f"{start}/{end}")
    first, last = _whole_years(start, end)
    if first is not None and last is not None and 0 <= last - first <= _MAX_EXPANDED_YEARS:
        entry.birth_dates.extend(str(year) for year in range(first, last + 1))
    else:
        entry.birth_dates.extend((start, end))
    return True


def _whole_years(start: str, end: str) -> tuple[int | None, int | None]:
    first = int(start[:4]) if len(start) == 4 or start.endswith("-01-01") else None
    last = int(end[:4]) if len(end) == 4 or end.endswith("-12-31") else None
    return first, last


# label as published (matched without regard to case) -> handler. A label may be followed by ":".
_FACTS: dict[str, _Handler] = {
    "DOB": _birth_date,
    "POB": _text("birth_place"),
    "nationality": _text("nationality", country=True),
    "citizen": _text("citizenship", country=True),
    "Gender": _text("gender"),
    "ethnicity": _text("ethnicity"),
    "Tribe": _text("tribe"),
    "Position": _text("position"),
    "Linked To": _linked_to,
    "Issuer Name": _text("issuer_name"),
    "Target Type": _text("target_type"),
    "Organization Type": _text("organization_type"),
    "Organization Established Date": _dated("established_on"),
    "Listing Date": _dated("listed_on"),
    "Effective Date": _dated("effective_on"),
    "Purchase/Sales For Divestment Date": _dated("divestment_until"),
    "Secondary sanctions risk": _text("secondary_sanctions_risk"),
    "Additional Sanctions Information": _text("additional_sanctions_information"),
    "Transactions Prohibited For Persons Owned or Controlled By U.S. Financial Institutions": _text(
        "transactions_prohibited"
    ),
    "Executive Order": _whole("executive_order"),
    "CAATSA Section 235 Information": _text("caatsa_section_235"),
    "IFCA Determination": _text("ifca_determination"),
    "For more information on directives, please visit the following link": _text("information_url"),
    "For more information, please reference the following link": _text("information_url"),
    "Aircraft Model": _text("aircraft_model"),
    "Aircraft Operator": _text("aircraft_operator"),
    "Aircraft Manufacture Date": _dated("aircraft_built_on"),
    "Former Vessel Flag": _text("vessel_former_flag"),
    "Other Vessel Flag": _text("vessel_flag"),
    "Other Vessel Type": _text("vessel_type"),
    "Vessel Year of Build": _text("vessel_build_year"),
    "Nationality of Registration": _text("registration_nationality"),
    "Equity Ticker": _ticker,
    "Digital Currency Address": _crypto,
    "ISIN": _identifier("isin", country=False),
    "Legal Entity Number": _identifier("lei"),
    "SWIFT/BIC": _identifier("swift"),
    "D-U-N-S Number": _identifier("duns"),
    "MMSI": _identifier("mmsi"),
    "Vessel Registration Identification IMO": _identifier("imo"),
    "Company Number IMO": _identifier("imo", keep_label=True),
    "Identification Number IMO": _identifier("imo", keep_label=True),
    "Other Vessel Call Sign": _identifier("call_sign", country=False),
    "Email Address": _identifier("email", country=False),
    "Email": _identifier("email", country=False),
    "Website": _identifier("website", country=False),
    "Unified Social Credit Code (USCC)": _identifier("uscc"),
    "United Social Credit Code Certificate (USCCC)": _identifier("uscc", keep_label=True),
    "Aircraft Manufacturer's Serial Number (MSN)": _identifier("aircraft_serial"),
    "Aircraft Serial Identification": _identifier("aircraft_serial", keep_label=True),
    "Aircraft Construction Number (also called L/N or S/N or F/N)": _identifier(
        "aircraft_serial", keep_label=True
    ),
    "Passport": _identifier("passport"),
    "Diplomatic Passport": _identifier("passport", keep_label=True),
    "Passport Booklet": _identifier("passport", keep_label=True),
    "Travel Document Number": _identifier("passport", keep_label=True),
}
_PHONE_LABELS = "Phone Number|Phone No.|PHONE|Telephone|Telephone No.|Fax|Fax No."
_NATIONAL_ID_LABELS = (
    "National ID No.|Cedula No.|Identification Number|C.U.R.P.|C.U.R.P. #|D.N.I.|SSN|Personal ID Card|"
    "National Foreign ID Number|Citizen's Card Number|Numero de Identidad|Turkish Identification Number|"
    "Turkish Identificiation Number|Kenyan ID No.|Tazkira National ID Card|C.U.I.|LE Number|"
    "UAE Identification|Bosnian Personal ID No."
)
_TAX_ID_LABELS = (
    "Tax ID No.|R.F.C.|R.F.C. #|RFC|NIT #|RUC #|RIF #|RTN|C.U.I.T.|C.I.F.|V.A.T. Number|US FEIN|"
    "Italian Fiscal Code|Numero Unico de Identificacao Tributaria (NUIT)"
)
_REGISTRATION_LABELS = (
    "Registration ID|Registration Number|Company Number|UK Company Number|Business Registration Number|"
    "Business Registration Document #|Commercial Registry Number|Matricula Mercantil No|"
    "Folio Mercantil No.|Public Registration Number|C.R. No.|Chamber of Commerce Number|"
    "Certificate of Incorporation Number|Enterprise Number|Business Number|Branch Unit Number|"
    "Trade License No.|Registered Charity No.|Government Gazette Number|Central Registration System Number|"
    "Dubai Chamber of Commerce Membership No."
)
_OTHER_LABELS = (
    "Aircraft Tail Number|Previous Aircraft Tail Number|Aircraft Mode S Transponder Code|BIK (RU)|"
    "Chinese Commercial Code|Birth Certificate Number|Residency Number|Electoral Registry No.|"
    "Credencial electoral|I.F.E.|"
    "C.U.I.P.|Driver's License No.|Cartilla de Servicio Militar Nacional|License|Serial No.|"
    "VisaNumberID|Immigration No.|Pilot License Number|SRE Permit No.|File Number|"
    "Vessel Registration Identification"
)
for _labels, _scheme in (
    (_PHONE_LABELS, "phone"), (_NATIONAL_ID_LABELS, "national_id"), (_TAX_ID_LABELS, "tax_id"),
    (_REGISTRATION_LABELS, "registration"), (_OTHER_LABELS, "other"),
):  # fmt: skip
    for _label in _labels.split("|"):
        _FACTS[_label] = _identifier(_scheme, keep_label=True, country=_scheme != "phone")
_FACTS["Phone Number"] = _identifier("phone", country=False)

_CANONICAL = {label.lower(): label for label in _FACTS}
_LABELS_BY_FIRST_WORD: dict[str, list[tuple[str, _Handler]]] = {}
for _label in sorted(_FACTS, key=len, reverse=True):
    _LABELS_BY_FIRST_WORD.setdefault(_label.lower().split(" ")[0].rstrip(":"), []).append(
        (_label.lower(), _FACTS[_label])
    )
