"""OFAC's "enhanced" XML lists (`SDN_ENHANCED.XML`, `CONS_ENHANCED.XML`), from the Sanctions List
Service, read into `Record`s.

The root `sanctionsData` (namespace `.../exports/ENHANCED_XML`) holds `publicationInfo` (`dataAsOf`,
the publication date, and the lists the file was filtered to), `referenceValues` (coded values a
feature may point to with `valueRefId`), `featureTypes`, and `entities`: one `entity` per entry,
self-contained, with `generalInfo` (`entityType`, `remarks`, `title`), `sanctionsLists` (each with
its `datePublished`), `sanctionsPrograms`, `sanctionsTypes`, `legalAuthorities`, `names` (each with
its `translations` into scripts), `addresses`, `features` (a `type`, a `value` and, for dates, a
`valueDate` period), `identityDocuments` and `relationships`.

Written from the schema (`ENHANCED_XML.xsd`, as published by OFAC's Sanctions List Service) without
a real file at hand: the tests use a small hand-written file
(`tests/sources/data/ofac_advanced/SDN_ENHANCED.XML`) holding the same entries as the hand-written
`sdn_advanced.xml`, and check that both give what `ofac-csv` gives.

Choices worth knowing:
- Facts are typed as `ofac-advanced-xml` types them (`ofac_advanced.PartyFacts`): with the OFAC
  remark labels, so the records match the CSV's where the formats allow. The key is the entity's
  `id` (the CSV's ent_num).
- The listing date is the earliest `datePublished` of the entity's lists; a relationship is a
  `linked_to` link to the related entity's name and id.
- A `valueRefId` not in `referenceValues` is an error naming the line; an element this parser does
  not know is kept as `unknown:PARENT/NAME` and reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from listwatch.errors import ParseError
from listwatch.model import ParsedList
from listwatch.sources.entry import Entry, clean
from listwatch.sources.ofac_facts import PartyFacts, Period, address_of, alias_kind, list_id_of, schema_of
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

__all__ = ["OFAC_ENHANCED", "OfacEnhancedFormat"]

_ROOT = "sanctionsData"
_KNOWN = {
    "entity": {"generalInfo", "sanctionsLists", "sanctionsPrograms", "sanctionsTypes", "legalAuthorities", "names",
               "addresses", "features", "identityDocuments", "relationships"},
    "generalInfo": {"identityId", "entityType", "livingStatus", "remarks", "title", "isUsCitizen", "isUsPerson"},
    "name": {"isPrimary", "aliasType", "isLowQuality", "translations"},
    "address": {"country", "translations"},
    "feature": {"type", "versionId", "value", "valueRefId", "valueDate", "isPrimary", "reliability", "comments"},
    "identityDocument": {"type", "name", "documentNumber", "isValid", "issuingAuthority", "issuingLocation",
                         "issuingCountry", "issueDate", "expirationDate", "comments", "idFeatures"},
    "relationship": {"type", "relatedEntity", "quality", "dateRange", "comments"},
}  # fmt: skip


class OfacEnhancedFormat:
    """The `SourceFormat` for OFAC's enhanced XML lists (`sanctionsData` root)."""

    name: str = "ofac-enhanced-xml"
    title: str = "OFAC enhanced XML (SDN_ENHANCED.XML, CONS_ENHANCED.XML; Sanctions List Service)"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        return single_root(files, _ROOT)

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = single_file(files, self.name)
        reader = _Reader(path)
        for element in iter_elements(path, ("publicationInfo", "referenceValue", "entity"), root=_ROOT):
            tag = local_name(element.tag)
            if tag == "publicationInfo":
                reader.publication(element)
            elif tag == "referenceValue":
                reader.references[element.get("refId") or ""] = text_of(child_map(element).get("value"))
            else:
                reader.entity(element)
        found = reader.found
        return ParsedList(
            self.name,
            tuple(found.records),
            list_id_of(path, reader.lists),
            reader.published,
            None,
            found.warnings(),
        )


OFAC_ENHANCED = OfacEnhancedFormat()


def _kids(element: Any) -> list[tuple[str, Any]]:
    """The children of an element that may be missing (None: no children)."""
    return list(children(element)) if element is not None else []


def _true(element: Any) -> bool:
    return (text_of(element) or "").lower() == "true"


# xs:date / xs:dateTime: the day, then an optional time (fractional seconds allowed), then an
# optional time zone.
_XS_DATE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.published: date | None = None
        self.references: dict[str, str | None] = {}
        self.lists: set[str] = set()
        self.found = XmlRecords(path, key_name="entity")

    def _date(self, value: str | None, line: int | None, what: str) -> date | None:
        """An `xs:date` or `xs:dateTime` (`2021-07-01`, `2021-07-01T00:00:00-04:00`): its day.
        Nothing looser (`date.fromisoformat` alone also takes `20210701` and `2021-W26-4`)."""
        text = clean(value)
        if text is None:
            return None
        match = _XS_DATE.fullmatch(text)
        if match is not None:
            try:
                return date.fromisoformat(match.group(1))
            except ValueError:  # 2012-11-31
                pass
        raise ParseError(self.path, line, f"bad {what} {text!r}: expected YYYY-MM-DD")

    def _period(self, element: Any, what: str) -> Period | None:
        """A `DatePeriodType`: from `fromDateBegin` to `toDateEnd` (either alone: that day)."""
        if element is None:
            return None
        line = element.sourceline
        parts = child_map(element)
        start = self._date(text_of(parts.get("fromDateBegin")), line, f"{what} fromDateBegin")
        end = self._date(text_of(parts.get("toDateEnd")), line, f"{what} toDateEnd")
        start, end = start or end, end or start
        if start is None or end is None:
            return None
        if end < start:
            raise ParseError(self.path, line, f"bad {what}: it ends ({end}) before it starts ({start})")
        return Period(start, end, _true(parts.get("isApproximate")))

    def _fields(self, element: Any, tag: str, entry: Entry) -> dict[str, Any]:
        """The first child of each name; those the schema does not have are kept and reported."""
        known = _KNOWN[tag]
        found: dict[str, Any] = {}
        for name, child in children(element):
            if name not in known:
                key = f"{tag}/{name}"
                self.found.unknown.setdefault(f"element <{key}>", child.sourceline)
                entry.unknown(key, describe(child))
            found.setdefault(name, child)
        return found

    def publication(self, element: Any) -> None:
        stamp = child_map(element).get("dataAsOf")
        line = stamp.sourceline if stamp is not None else element.sourceline
        self.published = self._date(text_of(stamp), line, "dataAsOf")
        for found in element.iter("{*}sanctionsList"):
            if name := text_of(found):
                self.lists.add(name)

    def entity(self, element: Any) -> None:
        line = element.sourceline
        key = (element.get("id") or "").strip()
        if not key.isascii() or not key.isdigit():
            raise ParseError(self.path, line, f"entity without a numeric id ({key!r})")
        entry = Entry(key, line=line)
        facts = PartyFacts(entry)
        fields = self._fields(element, "entity", entry)
        party_type = self._general(fields.get("generalInfo"), entry)
        for _, listed in _kids(fields.get("sanctionsLists")):
            entry.add("sanctions_list", text_of(listed))
            entry.listed(self._date(listed.get("datePublished"), listed.sourceline, "datePublished"))
        for _, program in _kids(fields.get("sanctionsPrograms")):
            entry.program(text_of(program))
        for _, measure in _kids(fields.get("sanctionsTypes")):
            entry.add("sanctions_type", text_of(measure))
        for _, authority in _kids(fields.get("legalAuthorities")):
            entry.add("legal_basis", text_of(authority))
        names = [self._fields(name, "name", entry) for _, name in _kids(fields.get("names"))]
        for name_fields in sorted(names, key=lambda found: not _true(found.get("isPrimary"))):
            self._name(name_fields, entry)
        for _, address in _kids(fields.get("addresses")):
            self._address(self._fields(address, "address", entry), entry)
        for _, feature in _kids(fields.get("features")):
            self._feature(self._fields(feature, "feature", entry), entry, facts)
        for _, document in _kids(fields.get("identityDocuments")):
            self._document(self._fields(document, "identityDocument", entry), facts)
        for _, relationship in _kids(fields.get("relationships")):
            self._relationship(relationship, self._fields(relationship, "relationship", entry), entry)
        self.found.add(entry.record(facts.finish(schema_of(party_type))), line)

    def _general(self, general: Any, entry: Entry) -> str | None:
        if general is None:
            return None
        fields = self._fields(general, "generalInfo", entry)
        entry.remark(text_of(fields.get("remarks")))
        entry.add("title", text_of(fields.get("title")))
        entry.add("living_status", text_of(fields.get("livingStatus")))
        return text_of(fields.get("entityType"))

    def _name(self, fields: dict[str, Any], entry: Entry) -> None:
        kind = alias_kind(
            primary=_true(fields.get("isPrimary")),
            low_quality=_true(fields.get("isLowQuality")),
            alias_type=text_of(fields.get("aliasType")),
        )
        translations = [child_map(t) for _, t in _kids(fields.get("translations"))]
        translations.sort(key=lambda found: not _true(found.get("isPrimary")))
        for index, translation in enumerate(translations):
            full = text_of(translation.get("formattedFullName"))
            if full is None:
                values = [
                    text_of(child_map(part).get("value")) for _, part in _kids(translation.get("nameParts"))
                ]
                full = " ".join(filter(None, values)) or None
            entry.name(full, kind if index == 0 or kind != "primary" else "alias")

    def _address(self, fields: dict[str, Any], entry: Entry) -> None:
        country = text_of(fields.get("country"))
        translations = [
            child_map(t) for name, t in _kids(fields.get("translations")) if name == "translation"
        ]
        translations.sort(key=lambda found: not _true(found.get("isPrimary")))
        parts: dict[str, list[str]] = {}
        if translations:
            for _, part in _kids(translations[0].get("addressParts")):
                part_fields = child_map(part)
                if value := text_of(part_fields.get("value")):
                    parts.setdefault((text_of(part_fields.get("type")) or "").upper(), []).append(value)
        entry.address(address_of(parts, country))
        for other in translations[1:]:
            values = [text_of(child_map(p).get("value")) for _, p in _kids(other.get("addressParts"))]
            entry.add("address_other_script", ", ".join(filter(None, values)))

    def _feature(self, fields: dict[str, Any], entry: Entry, facts: PartyFacts) -> None:
        label = text_of(fields.get("type"))
        if label is None:
            return
        value = text_of(fields.get("value"))
        ref = fields.get("valueRefId")
        if ref is not None and (ref_id := text_of(ref)) is not None:
            if ref_id not in self.references:
                raise ParseError(
                    self.path, ref.sourceline, f"unknown valueRefId {ref_id!r}: not in referenceValues"
                )
            value = value or self.references[ref_id]
        period = self._period(fields.get("valueDate"), label)
        if label.strip().lower() == "location":
            entry.add("location", value)
            return
        facts.feature(label, value, period=period)

    def _document(self, fields: dict[str, Any], facts: PartyFacts) -> None:
        kind = text_of(fields.get("type"))
        facts.document(
            kind,
            text_of(fields.get("documentNumber")),
            country=text_of(fields.get("issuingCountry")),
            issued=self._period(fields.get("issueDate"), f"{kind} issueDate"),
            expires=self._period(fields.get("expirationDate"), f"{kind} expirationDate"),
        )

    def _relationship(self, element: Any, fields: dict[str, Any], entry: Entry) -> None:
        related = fields.get("relatedEntity")
        if related is None:
            raise ParseError(self.path, element.sourceline, "relationship without a relatedEntity")
        name = text_of(related)
        target = (related.get("entityId") or "").strip() or None
        relation = text_of(fields.get("type"))
        entry.link("linked_to", name, target)
        if name:
            entry.add("relationship", f"{relation}: {name}" if relation else name)
