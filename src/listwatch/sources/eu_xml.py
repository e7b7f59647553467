"""The EU consolidated financial sanctions list, Financial Sanctions Files XML (FSF, schema 1.1).

The root `export` (its `generationDate` is the publication date) holds `sanctionEntity` elements
(`logicalId`, `euReferenceNumber`, `unitedNationId`, `designationDate`) with `regulation`,
`subjectType`, `nameAlias` (one per name and language), `citizenship`, `birthdate`, `identification`,
`address` and `remark` children, mostly as attributes.

Written from the EU's published description of the format, without a real file at hand: the tests
use a small hand-written file (`tests/sources/data/eu_fsf_handwritten.xml`). So the parser is
tolerant: an element or attribute it does not know is kept as `unknown:NAME` and reported, never
dropped or refused.

Choices worth knowing:
- The key is the entity's `logicalId`; `euReferenceNumber` and `unitedNationId` are `other`
  identifiers. The listing date is `designationDate`, else the earliest regulation's publication
  date; later regulations' publication dates are `amended_on`; each regulation's `programme` is a
  program.
- The first strong name is primary; the others are aliases in their language (`nameLanguage`),
  `strong="false"` ones weak aliases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from listwatch.errors import ParseError
from listwatch.model import Address, ParsedList, Record
from listwatch.sources.entry import Entry, clean, organisation_schema
from listwatch.sources.text import parse_iso_date
from listwatch.sources.xml import (
    XmlRecords,
    children,
    describe,
    iter_elements,
    local_name,
    single_file,
    single_root,
    text_of,
)

__all__ = ["EU_XML", "EuXmlFormat"]

_ROOT = "export"
_NAMESPACE = "http://eu.europa.ec/fpi/fsd/export"
_SCHEMAS = {"person": "Person", "vessel": "Vessel"}
_ID_SCHEMES = {"passport": "passport", "id": "national_id", "fiscal": "tax_id", "regnumber": "registration"}
# attributes that carry no fact of the entity (bookkeeping of the export)
_BOOKKEEPING = frozenset({"logicalId", "regulationLanguage"})
_KNOWN_ATTRIBUTES = {
    "sanctionEntity": {"designationDetails", "unitedNationId", "euReferenceNumber", "designationDate"},
    "regulation": {"regulationType", "organisationType", "publicationDate", "entryIntoForceDate", "numberTitle", "programme"},
    "subjectType": {"code", "classificationCode"},
    "nameAlias": {"firstName", "middleName", "lastName", "wholeName", "function", "gender", "title", "nameLanguage", "strong"},
    "citizenship": {"region", "countryIso2Code", "countryDescription"},
    "birthdate": {"circa", "calendarType", "city", "zipCode", "birthdate", "dayOfMonth", "monthOfYear", "year",
                  "region", "place", "countryIso2Code", "countryDescription"},
    "identification": {"diplomatic", "knownExpired", "knownFalse", "reportedLost", "revokedByIssuer", "issuedBy",
                       "issuedDate", "validFrom", "validTo", "latinNumber", "nameOnDocument", "documentNumber",
                       "number", "region", "countryIso2Code", "countryDescription", "identificationTypeCode",
                       "identificationTypeDescription"},
    "address": {"city", "street", "poBox", "zipCode", "region", "place", "asAtListingTime", "contactInfo",
                "countryIso2Code", "countryDescription"},
}  # fmt: skip
_CHILDREN = frozenset({"regulationSummary", "remark", "publicationUrl", "contactInfo"})


class EuXmlFormat:
    """The `SourceFormat` for the EU Financial Sanctions Files XML (`export` root)."""

    name: str = "eu-fsf-xml"
    title: str = "EU consolidated financial sanctions list, Financial Sanctions Files XML"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        return single_root(files, _ROOT, (_NAMESPACE, None))

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = single_file(files, self.name)
        found = XmlRecords(path, key_name="sanctionEntity logicalId")
        published: date | None = None
        first = True
        for element in iter_elements(path, ("sanctionEntity",), root=_ROOT):
            if first:
                published = _date(
                    path, 1, element.getroottree().getroot().get("generationDate"), "generationDate"
                )
                first = False
            found.add(_record(path, element, found.unknown), element.sourceline)
        return ParsedList(self.name, tuple(found.records), "eu_fsf", published, None, found.warnings())


EU_XML = EuXmlFormat()


def _date(path: Path, line: int | None, value: str | None, what: str) -> date | None:
    """A date attribute: YYYY-MM-DD, or a timestamp read for its day ("2024-06-03T17:48:15+02:00")."""
    if not value or not value.strip():
        return None
    text = value.strip()
    day = text[:10] if len(text) > 10 and text[10] in "T+-Z" else text
    try:
        return parse_iso_date(day, path=path, line=line, what=what)
    except ParseError:
        raise ParseError(path, line, f"bad {what} {value!r}: expected YYYY-MM-DD") from None


def _attributes(element: Any, tag: str, entry: Entry, unknown: dict[str, int]) -> dict[str, str]:
    """The element's attributes that hold something; unknown ones go to the raw record."""
    found = {}
    known = _KNOWN_ATTRIBUTES.get(tag, set())
    for name, value in element.attrib.items():
        name = local_name(name)
        text = clean(value)
        if text is None or name in _BOOKKEEPING:
            continue
        if name not in known:
            unknown.setdefault(f"attribute {tag}/@{name}", element.sourceline)
            entry.unknown(f"{tag}@{name}", text)
            continue
        found[name] = text
    return found


def _record(path: Path, element: Any, unknown: dict[str, int]) -> Record:
    line = element.sourceline
    key = clean(element.get("logicalId")) or clean(element.get("euReferenceNumber"))
    if key is None:
        raise ParseError(path, line, "sanctionEntity without a logicalId")
    entry = Entry(key, line=line)
    top = _attributes(element, "sanctionEntity", entry, unknown)
    entry.identifier("other", top.get("euReferenceNumber"), note="EU reference number")
    entry.identifier("other", top.get("unitedNationId"), note="UN reference number")
    entry.add("designation_details", top.get("designationDetails"))
    entry.listed(_date(path, line, top.get("designationDate"), "designationDate"))
    schema = ""
    regulation_dates: list[date] = []
    names: list[tuple[str, str, str | None]] = []
    for tag, child in children(element):
        attributes = _attributes(child, tag, entry, unknown) if tag in _KNOWN_ATTRIBUTES else {}
        if tag == "remark":
            entry.remark(text_of(child))
        elif tag == "regulation":
            day = _date(path, child.sourceline, attributes.get("publicationDate"), "publicationDate")
            if day is not None:
                regulation_dates.append(day)
            entry.program(attributes.get("programme"))
            entry.add("regulation", attributes.get("numberTitle"))
        elif tag == "subjectType":
            schema = _SCHEMAS.get((attributes.get("code") or "").lower(), "")
        elif tag == "nameAlias":
            whole = attributes.get("wholeName") or " ".join(
                filter(None, (attributes.get(k) for k in ("firstName", "middleName", "lastName")))
            )
            kind = "weak_alias" if attributes.get("strong", "true").lower() == "false" else "alias"
            if whole:
                names.append((whole, kind, attributes.get("nameLanguage")))
            for name, key_name in (("function", "position"), ("title", "title"), ("gender", "gender")):
                entry.add(key_name, attributes.get(name))
        elif tag == "citizenship":
            country = attributes.get("countryIso2Code")
            entry.add("citizenship", attributes.get("countryDescription") or country)
            entry.country(country.lower() if country and country != "00" else None)
        elif tag == "birthdate":
            _birth(entry, attributes)
        elif tag == "identification":
            _identification(entry, attributes)
        elif tag == "address":
            city = ", ".join(filter(None, (attributes.get(k) for k in ("city", "region", "zipCode"))))
            street = ", ".join(filter(None, (attributes.get(k) for k in ("street", "poBox", "place"))))
            country = attributes.get("countryIso2Code")
            entry.address(
                Address(
                    street=street or None, city=city or None, country=attributes.get("countryDescription")
                ),
                add_country=False,
            )
            entry.country(
                country.lower() if country and country != "00" else attributes.get("countryDescription")
            )
            entry.add("contact_info", attributes.get("contactInfo"))
        else:
            unknown.setdefault(f"element <{tag}>", child.sourceline)
            entry.unknown(tag, describe(child))
            continue
        for grandchild_tag, grandchild in children(child):
            if grandchild_tag == "publicationUrl":
                entry.add("regulation_url", text_of(grandchild))
            elif grandchild_tag not in _CHILDREN:
                unknown.setdefault(f"element <{tag}/{grandchild_tag}>", grandchild.sourceline)
                entry.unknown(f"{tag}/{grandchild_tag}", describe(grandchild))
    for index, (whole, kind, lang) in enumerate(sorted(names, key=lambda n: n[1] != "alias")):
        entry.name(whole, "primary" if index == 0 else kind, lang=lang)
    if regulation_dates:
        if entry.listed_on is None:
            entry.listed(min(regulation_dates))
        for day in sorted(set(regulation_dates))[1:]:
            entry.add("amended_on", day.isoformat())
    return entry.record(schema or organisation_schema(entry.names))


def _birth(entry: Entry, attributes: dict[str, str]) -> None:
    if attributes.get("birthdate"):
        entry.birth_date(attributes["birthdate"])
    elif attributes.get("year"):
        month = attributes.get("monthOfYear")
        entry.birth_date(
            f"{attributes['year']}-{int(month):02d}" if month and month.isdigit() else attributes["year"]
        )
    if attributes.get("circa", "").lower() == "true":
        entry.add("birth_date_note", "circa")
    place = ", ".join(
        filter(None, (attributes.get(k) for k in ("place", "city", "region", "countryDescription")))
    )
    entry.add("birth_place", place)


def _identification(entry: Entry, attributes: dict[str, str]) -> None:
    code = (attributes.get("identificationTypeCode") or "").lower()
    notes = [attributes.get("identificationTypeDescription")]
    for flag in ("diplomatic", "knownExpired", "knownFalse", "reportedLost", "revokedByIssuer"):
        if attributes.get(flag, "").lower() == "true":
            notes.append(flag)
    for key_name, word in (("issuedBy", "issued by"), ("issuedDate", "issued"), ("validTo", "valid to")):
        if attributes.get(key_name):
            notes.append(f"{word} {attributes[key_name]}")
    entry.identifier(
        _ID_SCHEMES.get(code, "other"),
        attributes.get("number") or attributes.get("documentNumber"),
        country=attributes.get("countryDescription") or attributes.get("countryIso2Code"),
        note="; ".join(n for n in notes if n) or None,
    )
