"""The UN Security Council Consolidated List, XML (`consolidated.xml`), read into `Record`s.

The root `CONSOLIDATED_LIST` (its `dateGenerated` is the publication date) holds `INDIVIDUAL` and
`ENTITY` elements. Each becomes one record keyed by its reference number (`QDi.410`), stable across
versions; `DATAID` is kept as a property. `LISTED_ON` is the listing date and `LAST_DAY_UPDATED`
the amendment dates (`amended_on`).

    >>> UN_XML.parse([Path("examples/lists/un_sc/UN_consolidated_2018-10.xml")]).published
    datetime.date(2018, 10, 29)

Choices worth knowing:
- Alias quality: `Good` and `a.k.a.` are aliases, `Low` a weak alias, `f.k.a.` a previous name; the
  quality as published stays in `alias_quality` (`Jang Chang Ha: Good`).
- Countries stay as the UN writes them ("Democratic People's Republic of Korea").
- A birth date `BETWEEN` two years gives every year when they are at most ten apart (as for OFAC);
  `birth_date_range` keeps the interval.
- An element this parser does not know is kept under `properties["unknown:TAG"]` and reported once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from listwatch.errors import ParseError
from listwatch.model import Address, ParsedList, Record
from listwatch.sources.entry import Entry, clean, organisation_schema
from listwatch.sources.xml import (
    XmlRecords,
    child_map,
    children,
    describe,
    iter_elements,
    local_name,
    single_file,
    single_root,
    text_of,
)

__all__ = ["UN_XML", "UnXmlFormat"]

_ROOT = "CONSOLIDATED_LIST"
_LIST_ID = "un_sc"
_ALIAS_KINDS = {"good": "alias", "a.k.a.": "alias", "low": "weak_alias", "f.k.a.": "previous", "": "alias"}
# the UN writes a date as YYYY-MM-DD, sometimes with its UTC offset ("2015-04-14-04:00")
_DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[+-][0-9]{2}:[0-9]{2}|Z)?")
_NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
_PLAIN = {  # element -> property, for elements holding plain text
    "DATAID": "un_dataid",
    "VERSIONNUM": "un_version",
    "GENDER": "gender",
    "SUBMITTED_BY": "submitted_by",
    "SUBMITTED_ON": "submitted_on",
    "NAME_ORIGINAL_SCRIPT": None,  # a name, handled below
}
_VALUES = {  # element holding <VALUE> children -> property
    "TITLE": "title",
    "DESIGNATION": "position",
    "NATIONALITY": "nationality",
    "LIST_TYPE": "un_list",
    "LAST_DAY_UPDATED": "amended_on",
}
_IGNORED = frozenset({"SORT_KEY", "SORT_KEY_LAST_MOD"})  # the UN's own sorting aids, often empty


class UnXmlFormat:
    """The `SourceFormat` for the UN Security Council Consolidated List XML."""

    name: str = "un-sc-xml"
    title: str = "UN Security Council Consolidated List, XML (consolidated.xml)"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        return single_root(files, _ROOT)

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = single_file(files, self.name)
        found = XmlRecords(path, key_name="reference")
        published: date | None = None
        for element in iter_elements(path, ("INDIVIDUAL", "ENTITY"), root=_ROOT):
            if published is None:
                published = _published(path, element)
            found.add(_record(path, element, found.unknown), element.sourceline)
        return ParsedList(
            format=self.name,
            records=tuple(found.records),
            list_id=_LIST_ID,
            published=published,
            warnings=found.warnings(),
        )


UN_XML = UnXmlFormat()


def _published(path: Path, element: Any) -> date | None:
    generated = element.getroottree().getroot().get("dateGenerated")
    if not generated:
        return None
    match = _DATE.match(generated.strip())
    if match is None:
        raise ParseError(path, 1, f"bad dateGenerated {generated!r}: expected an ISO date and time")
    return _iso(path, 1, match.group(1), "dateGenerated")


def _iso(path: Path, line: int | None, text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ParseError(path, line, f"bad {what} {text!r}: expected YYYY-MM-DD") from None


def _date(path: Path, line: int | None, value: str | None, what: str) -> date | None:
    if value is None:
        return None
    match = _DATE.fullmatch(value)
    if match is None:
        raise ParseError(path, line, f"bad {what} {value!r}: expected YYYY-MM-DD")
    return _iso(path, line, match.group(1), what)


def _record(path: Path, element: Any, unknown: dict[str, int]) -> Record:
    line = element.sourceline
    is_person = local_name(element.tag) == "INDIVIDUAL"
    first = child_map(element)
    reference = text_of(first.get("REFERENCE_NUMBER"))
    key = reference or text_of(first.get("DATAID"))
    if key is None:
        raise ParseError(path, line, "entry without REFERENCE_NUMBER or DATAID")
    entry = Entry(key, line=line)
    entry.name(" ".join(filter(None, (text_of(first.get(part)) for part in _NAME_PARTS))))
    entry.identifier("other", reference, note="UN reference number")
    for tag, child in children(element):
        if tag in _NAME_PARTS or tag == "REFERENCE_NUMBER":
            continue
        if tag == "NAME_ORIGINAL_SCRIPT":
            entry.name(text_of(child), "alias")
        elif tag in _PLAIN:
            entry.add(_PLAIN[tag] or tag.lower(), text_of(child))
        elif tag in _VALUES:
            for value in _values(child):
                if tag == "LAST_DAY_UPDATED":
                    day = _date(path, child.sourceline, value, "LAST_DAY_UPDATED")
                    entry.add(_VALUES[tag], day.isoformat() if day else None)
                    continue
                entry.add(_VALUES[tag], value)
                if tag == "NATIONALITY":
                    entry.country(value)
        elif tag == "UN_LIST_TYPE":
            entry.program(text_of(child))
        elif tag == "LISTED_ON":
            entry.listed(_date(path, child.sourceline, text_of(child), "LISTED_ON"))
        elif tag.startswith("COMMENTS"):
            entry.remark(clean(child.text))
        elif tag in ("INDIVIDUAL_ALIAS", "ENTITY_ALIAS"):
            _alias(entry, child)
        elif tag in ("INDIVIDUAL_ADDRESS", "ENTITY_ADDRESS"):
            _address(entry, child, unknown)
        elif tag == "INDIVIDUAL_DATE_OF_BIRTH":
            _birth_date(path, entry, child)
        elif tag == "INDIVIDUAL_PLACE_OF_BIRTH":
            place = _place(child)
            entry.add("birth_place", place)
        elif tag == "INDIVIDUAL_DOCUMENT":
            _document(entry, child)
        elif tag in _IGNORED:
            continue
        else:
            unknown.setdefault(f"element <{tag}>", child.sourceline)
            entry.unknown(tag, describe(child))
    if is_person:
        return entry.record("Person")
    return entry.record(organisation_schema(entry.names))


def _values(element: Any) -> list[str]:
    return [value for _, child in children(element) if (value := text_of(child))]


def _alias(entry: Entry, element: Any) -> None:
    parts = {tag: text_of(child) for tag, child in children(element)}
    name = parts.pop("ALIAS_NAME", None)
    quality = parts.pop("QUALITY", None) or ""
    if name is None:
        return
    entry.name(name, _ALIAS_KINDS.get(quality.lower(), "alias"))
    if quality:
        entry.add("alias_quality", f"{name}: {quality}")
    for tag, value in parts.items():
        if value:
            entry.add(f"alias_{tag.lower()}", f"{name}: {value}")


def _address(entry: Entry, element: Any, unknown: dict[str, int]) -> None:
    parts = {tag: text_of(child) for tag, child in children(element)}
    city = ", ".join(p for p in (parts.get("CITY"), parts.get("STATE_PROVINCE"), parts.get("ZIP_CODE")) if p)
    entry.address(
        Address(
            street=parts.get("STREET"),
            city=city or None,
            country=parts.get("COUNTRY"),
            remarks=parts.get("NOTE"),
        )
    )
    for tag, value in parts.items():
        if tag not in ("STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY", "NOTE") and value:
            entry.add(f"address_{tag.lower()}", value)


def _place(element: Any) -> str | None:
    parts = {tag: text_of(child) for tag, child in children(element)}
    note = parts.pop("NOTE", None)
    place = ", ".join(p for p in parts.values() if p)
    if note:
        place = f"{place} ({note})" if place else note
    return place or None


def _birth_date(path: Path, entry: Entry, element: Any) -> None:
    parts = {tag: text_of(child) for tag, child in children(element)}
    kind = (parts.get("TYPE_OF_DATE") or "").upper()
    exact, year, note = parts.get("DATE"), parts.get("YEAR"), parts.get("NOTE")
    start, end = parts.get("FROM_YEAR"), parts.get("TO_YEAR")
    if exact:
        day = _date(path, element.sourceline, exact, "date of birth")
        entry.birth_date(day.isoformat() if day else None)
    if year:
        entry.birth_date(year)
    if start and end and start.isdigit() and end.isdigit():
        first, last = int(start), int(end)
        years = range(first, last + 1) if 0 <= last - first <= 10 else (first, last)
        for value in years:
            entry.birth_date(str(value))
        entry.add("birth_date_range", f"{start}/{end}")
    if kind == "APPROXIMATELY":
        entry.add("birth_date_note", "approximately")
    if note:
        entry.add("birth_date_note", note)


def _document(entry: Entry, element: Any) -> None:
    parts = {tag: text_of(child) for tag, child in children(element)}
    number = parts.get("NUMBER")
    if number is None:
        return
    kind = " ".join(filter(None, (parts.get("TYPE_OF_DOCUMENT"), parts.get("TYPE_OF_DOCUMENT2"))))
    lowered = kind.lower()
    if "pass" in lowered or "pasaporte" in lowered:
        scheme = "passport"
    elif "national" in lowered or "identi" in lowered:
        scheme = "national_id"
    else:
        scheme = "other"
    details = [kind] if scheme == "other" and kind else []
    for tag, label in (
        ("DATE_OF_ISSUE", "issued"),
        ("CITY_OF_ISSUE", "issued in"),
        ("COUNTRY_OF_ISSUE", "issued in"),
        ("NOTE", None),
    ):
        if parts.get(tag):
            details.append(f"{label} {parts[tag]}" if label else str(parts[tag]))
    entry.identifier(
        scheme,
        number,
        country=parts.get("ISSUING_COUNTRY") or parts.get("COUNTRY_OF_ISSUE"),
        note="; ".join(details) or None,
    )
