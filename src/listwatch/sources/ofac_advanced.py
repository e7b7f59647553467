"""OFAC's "advanced" XML lists (`sdn_advanced.xml`, `cons_advanced.xml`; schema `sdn_advanced.xsd`,
the UN's Advanced Sanctions List Standard), read into `Record`s.

The root `Sanctions` holds, in this order: `DateOfIssue` (the publication date), `ReferenceValueSets`
(every coded value: countries, alias types, name-part types, feature types, programs, lists...),
`Locations`, `IDRegDocuments` (identity documents, by the `IdentityID` of their holder),
`DistinctParties` (one `DistinctParty` per entry: `Profile` > `Identity` > `Alias` >
`DocumentedName` > `DocumentedNamePart`s, typed by the identity's `NamePartGroups`; and `Feature`s:
birth dates, places, nationality, addresses, vessel and aircraft facts, "Effective Date (CMIC)"...),
`ProfileRelationships` (links between entries) and `SanctionsEntries` (per profile: the list, the
`EntryEvent`s with their dates and legal basis, and the `SanctionsMeasure`s, whose comments are the
programs). Ids point into the reference sets and the earlier sections, so the file is read in one
pass: reference values, locations and documents are kept (small), each party is read and cleared,
and the sanctions entries and relationships are added to the parties at the end.

Written from OFAC's schema and its notes, without a real file at hand: the tests use small
hand-written files (`tests/sources/data/ofac_advanced/`). `SDN_ENHANCED.XML` uses another schema and
is read by `ofac_enhanced`; both type their facts with `ofac_facts`.

Choices worth knowing:
- Records match what `ofac-csv` makes of the same entry where the schema allows: the key is the
  party's `FixedRef` (the CSV's ent_num), names are `LAST, First`, and features and documents are
  typed with the OFAC remark labels (`Passport`, `Equity Ticker`, `Effective Date (CMIC)`...), so the
  same identifiers and properties come out. A listing date comes from the `EntryEvent`s (the
  earliest), which the CSV has only for some programs.
- A relationship is a `linked_to` link on its `From` party, to the `To` party's primary name and key;
  the relation as published is kept as `relationship` (`Owned or Controlled By: NAME`).
- An id that points nowhere (a `CountryID` not in the reference sets, a relationship to a profile not
  in the file) is an error naming the line; an element this parser does not know is kept as
  `unknown:PARENT/NAME` on the party it belongs to, and reported.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from listwatch.errors import ParseError
from listwatch.model import Address, ParsedList
from listwatch.sources.entry import Entry
from listwatch.sources.ofac_facts import PartyFacts, Period, address_of, alias_kind, list_id_of, schema_of
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

__all__ = ["OFAC_ADVANCED", "OfacAdvancedFormat"]

_ROOT = "Sanctions"
_RECORD_TAGS = (
    "DateOfIssue", "ReferenceValueSets", "Location", "IDRegDocument", "DistinctParty",
    "ProfileRelationship", "SanctionsEntry", "SanctionsEntryLink",
)  # fmt: skip
_SECTIONS = frozenset(
    {"DateOfIssue", "ReferenceValueSets", "Locations", "IDRegDocuments", "DistinctParties",
     "ProfileRelationships", "SanctionsEntries", "SanctionsEntryLinks"}
)  # fmt: skip
# the children each element may have (sdn_advanced.xsd); any other is kept as unknown
_KNOWN = {
    "DistinctParty": {"Comment", "Profile"},
    "Profile": {"Comment", "Identity", "Feature", "SanctionsEntryReference", "ExternalReference"},
    "Identity": {"Comment", "Alias", "NamePartGroups", "IDRegDocumentReference"},
    "Alias": {"Comment", "DatePeriod", "DocumentedName"},
    "Feature": {"FeatureVersion", "IdentityReference"},
    "FeatureVersion": {"Comment", "DatePeriod", "VersionDetail", "VersionLocation", "IDRegDocumentReference"},
    "IDRegDocument": {"Comment", "IDRegistrationNo", "IssuingAuthority", "DocumentDate", "IDRegDocumentMention",
                      "FeatureVersionReference", "DocumentedNameReference", "ProfileRelationshipReference"},
    "Location": {"Comment", "LocationAreaCode", "LocationCountry", "LocationPart", "FeatureVersionReference",
                 "IDRegDocumentReference"},
    "SanctionsEntry": {"Comment", "LimitationsToListing", "EntryEvent", "SanctionsMeasure", "SupportingInfo",
                       "ProfileRelationshipReference"},
    "ProfileRelationship": {"Comment", "DatePeriod", "IDRegDocumentReference"},
}  # fmt: skip


class OfacAdvancedFormat:
    """The `SourceFormat` for OFAC's advanced XML lists (`Sanctions` root)."""

    name: str = "ofac-advanced-xml"
    title: str = "OFAC advanced XML (sdn_advanced.xml, cons_advanced.xml; schema sdn_advanced.xsd)"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        return single_root(files, _ROOT)

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = single_file(files, self.name)
        reader = _Reader(path)
        root: Any = None
        for element in iter_elements(path, _RECORD_TAGS, root=_ROOT):
            root = element.getroottree().getroot() if root is None else root
            reader.read(element)
        if root is not None:
            for child in root:
                name = local_name(child.tag)
                if name and name not in _SECTIONS:
                    reader.warnings.append(
                        f"{path.name}:{child.sourceline}: unknown section <{name}> skipped"
                    )
        return reader.parsed(self.name)


OFAC_ADVANCED = OfacAdvancedFormat()


# --- dates -----------------------------------------------------------------------------------------


def _number(path: Path, element: Any, parts: dict[str, Any], name: str, what: str) -> int | None:
    text = text_of(parts.get(name))
    if text is None:
        return None
    if not text.isascii() or not text.isdigit():
        raise ParseError(path, element.sourceline, f"bad {what}: {name} {text!r} is not a number")
    return int(text)


def _point(path: Path, element: Any, what: str, *, last: bool) -> date:
    """A `Year`/`Month`/`Day` element as a day: the first it may be, or with `last` the last."""
    parts = dict(children(element))
    year = _number(path, element, parts, "Year", what)
    month = _number(path, element, parts, "Month", what)
    day = _number(path, element, parts, "Day", what)
    if year is None:
        raise ParseError(path, element.sourceline, f"bad {what}: no Year")
    try:
        month = month if month is not None else (12 if last else 1)
        if day is None:
            day = calendar.monthrange(year, month)[1] if last else 1
        return date(year, month, day)
    except (ValueError, calendar.IllegalMonthError):
        raise ParseError(
            path, element.sourceline, f"bad {what}: {year}-{month}-{day} is not a calendar date"
        ) from None


def _period(path: Path, element: Any, what: str) -> Period | None:
    """A `DatePeriod`: from the first day its `Start` may be to the last its `End` may be."""
    parts = dict(children(element))
    start, end = parts.get("Start"), parts.get("End")
    if start is None and end is None:
        return None
    first = _bound(path, start if start is not None else end, what, last=False)
    final = _bound(path, end if end is not None else start, what, last=True)
    if final[0] < first[0]:
        raise ParseError(
            path, element.sourceline, f"bad {what}: it ends ({final[0]}) before it starts ({first[0]})"
        )
    return Period(first[0], final[0], first[1] or final[1])


def _bound(path: Path, boundary: Any, what: str, *, last: bool) -> tuple[date, bool]:
    """A `Start` or `End`: its first (`From`) or last (`To`) day, and whether it is approximate."""
    points = dict(children(boundary))
    point = points.get("To" if last else "From")
    point = point if point is not None else points.get("From" if last else "To")
    if point is None:
        raise ParseError(path, boundary.sourceline, f"bad {what}: a date boundary without From or To")
    return _point(path, point, what, last=last), (boundary.get("Approximate") or "").lower() == "true"


# --- reading the file ------------------------------------------------------------------------------


_Reference = tuple[str | None, dict[str, str]]  # a reference value's text and attributes


class _Party:
    """A party read from `DistinctParties`, waiting for its sanctions entries and relationships."""

    __slots__ = ("entry", "schema")

    def __init__(self, entry: Entry, schema: str) -> None:
        self.entry = entry
        self.schema = schema


class _Reader:
    """The state of one pass over the file: reference values, locations, documents, parties."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.published: date | None = None
        # "Country" -> ID -> the value's text and attributes, kept as plain Python (read often)
        self.references: dict[str, dict[str, _Reference]] = {}
        self.locations: dict[str, tuple[Address, list[tuple[str, str | None]]]] = {}
        self.documents: dict[str, list[Any]] = {}  # IdentityID -> document facts
        self.parties: dict[str, _Party] = {}  # FixedRef -> party
        self.profiles: dict[str, str] = {}  # Profile ID -> FixedRef
        self.lines: dict[str, int] = {}
        self.lists: set[str] = set()
        self.found = XmlRecords(path, key_name="DistinctParty")  # the records, and what was unknown
        self.warnings: list[str] = []

    def read(self, element: Any) -> None:
        tag = local_name(element.tag)
        if tag == "DateOfIssue":
            period = _point(self.path, element, "DateOfIssue", last=False)
            self.published = period
        elif tag == "ReferenceValueSets":
            self._references(element)
        elif tag == "Location":
            self._location(element)
        elif tag == "IDRegDocument":
            self._document(element)
        elif tag == "DistinctParty":
            self._party(element)
        elif tag == "ProfileRelationship":
            self._relationship(element)
        elif tag == "SanctionsEntry":
            self._sanctions_entry(element)
        # SanctionsEntryLinks: unused by OFAC

    def parsed(self, format_name: str) -> ParsedList:
        for key, party in self.parties.items():
            self.found.add(party.entry.record(party.schema), self.lines[key])
        return ParsedList(
            format_name,
            tuple(self.found.records),
            list_id_of(self.path, self.lists),
            self.published,
            None,
            self.found.warnings() + tuple(self.warnings),
        )

    # reference values ---------------------------------------------------------------------------

    def _references(self, element: Any) -> None:
        for _set_name, values in children(element):
            for name, value in children(values):
                ref_id = value.get("ID")
                if ref_id is not None:
                    attributes = {local_name(k): str(v) for k, v in value.attrib.items()}
                    self.references.setdefault(name, {})[ref_id] = (text_of(value), attributes)

    def _reference(self, kind: str, ref_id: str | None, line: int | None) -> _Reference | None:
        if ref_id is None:
            return None
        found = self.references.get(kind, {}).get(ref_id)
        if found is None:
            raise ParseError(
                self.path, line, f"unknown {kind}ID {ref_id!r}: not in the file's ReferenceValueSets"
            )
        return found

    def _value(self, kind: str, element: Any, attribute: str | None = None) -> str | None:
        """The text of the reference value an element's `KINDID` attribute points to."""
        found = self._reference(kind, element.get(attribute or f"{kind}ID"), element.sourceline)
        return None if found is None else found[0]

    def _children(
        self, element: Any, tag: str, entry: Entry | None, into: list[tuple[str, str | None]] | None = None
    ) -> list[tuple[str, Any]]:
        """The element's children by local name; those the schema does not have are kept on `entry`
        (or in `into`, for the party that will use the element) and reported."""
        known = _KNOWN[tag]
        found = list(children(element))
        for name, child in found:
            if name not in known:
                key = f"{tag}/{name}"
                self.found.unknown.setdefault(f"element <{key}>", child.sourceline)
                if entry is not None:
                    entry.unknown(key, describe(child))
                elif into is not None:
                    into.append((key, describe(child)))
        return found

    # locations and documents --------------------------------------------------------------------

    def _location(self, element: Any) -> None:
        parts: dict[str, list[str]] = {}
        country: str | None = None
        unknown: list[tuple[str, str | None]] = []
        for name, child in self._children(element, "Location", None, unknown):
            if name == "LocationCountry":
                country = country or self._value("Country", child)
            elif name == "LocationAreaCode":
                area = self._reference("AreaCode", child.get("AreaCodeID"), child.sourceline)
                country = country or (area[1].get("Description") if area is not None else None)
            elif name == "LocationPart":
                kind = (self._value("LocPartType", child) or "").upper()
                for value_name, value in children(child):
                    if value_name == "LocationPartValue" and (text := text_of(_child(value, "Value"))):
                        parts.setdefault(kind, []).append(text)
                        break
        self.locations[element.get("ID") or ""] = (address_of(parts, country), unknown)

    def _location_of(self, element: Any) -> tuple[Address, list[tuple[str, str | None]]]:
        location_id = element.get("LocationID")
        found = self.locations.get(location_id or "")
        if found is None:
            raise ParseError(
                self.path, element.sourceline, f"unknown LocationID {location_id!r}: no such Location"
            )
        return found

    def _document(self, element: Any) -> None:
        kind = self._value("IDRegDocType", element)
        country = self._value("Country", element, "IssuedBy-CountryID")
        number = issued = expires = None
        unknown: list[tuple[str, str | None]] = []
        for name, child in self._children(element, "IDRegDocument", None, unknown):
            if name == "IDRegistrationNo":
                number = text_of(child)
            elif name == "DocumentDate":
                date_type = (self._value("IDRegDocDateType", child) or "").lower()
                period_element = _child(child, "DatePeriod")
                period = (
                    _period(self.path, period_element, "DocumentDate") if period_element is not None else None
                )
                if "issue" in date_type:
                    issued = period
                elif "expir" in date_type:
                    expires = period
        identity = element.get("IdentityID") or ""
        self.documents.setdefault(identity, []).append((kind, number, country, issued, expires, unknown))

    # parties ------------------------------------------------------------------------------------

    def _party(self, element: Any) -> None:
        line = element.sourceline
        key = (element.get("FixedRef") or "").strip()
        if not key.isascii() or not key.isdigit():
            raise ParseError(self.path, line, f"DistinctParty without a numeric FixedRef ({key!r})")
        if key in self.parties:
            raise ParseError(
                self.path, line, f"DistinctParty {key} appears twice (first at line {self.lines[key]})"
            )
        entry = Entry(key, line=line)
        facts = PartyFacts(entry)
        schema: str | None = None
        for name, child in self._children(element, "DistinctParty", entry):
            if name == "Comment":
                entry.remark(text_of(child))
            elif name == "Profile":
                self.profiles[child.get("ID") or key] = key
                schema = self._profile(child, entry, facts) or schema
        self.parties[key] = _Party(entry, facts.finish(schema))
        self.lines[key] = line

    def _profile(self, profile: Any, entry: Entry, facts: PartyFacts) -> str | None:
        line = profile.sourceline
        sub_type = self._reference("PartySubType", profile.get("PartySubTypeID"), line)
        party_type = sub_type[0] if sub_type is not None else None
        if sub_type is not None and (party_type or "").lower() == "unknown":
            found = self._reference("PartyType", sub_type[1].get("PartyTypeID"), line)
            party_type = found[0] if found is not None else None
        for name, child in self._children(profile, "Profile", entry):
            if name == "Comment":
                entry.remark(text_of(child))
            elif name == "Identity":
                self._identity(child, entry, facts)
            elif name == "Feature":
                self._feature(child, entry, facts)
        return schema_of(party_type)

    def _identity(self, identity: Any, entry: Entry, facts: PartyFacts) -> None:
        found = self._children(identity, "Identity", entry)
        groups: dict[str, str] = {}
        for group in identity.iter("{*}NamePartGroup"):
            groups[group.get("ID") or ""] = (self._value("NamePartType", group) or "").lower()
        primary_first = sorted(
            (alias for name, alias in found if name == "Alias"),
            key=lambda alias: (alias.get("Primary") or "").lower() != "true",
        )
        for alias in primary_first:
            self._alias(alias, entry, groups)
        for kind, number, country, issued, expires, unknown in self.documents.pop(
            identity.get("ID") or "", ()
        ):
            facts.document(kind, number, country=country, issued=issued, expires=expires)
            for key, value in unknown:
                entry.unknown(key, value)

    def _alias(self, alias: Any, entry: Entry, groups: dict[str, str]) -> None:
        found = self._children(alias, "Alias", entry)
        alias_type = (self._value("AliasType", alias) or "").lower()
        kind = alias_kind(
            primary=(alias.get("Primary") or "").lower() == "true" and alias_type in ("name", ""),
            low_quality=(alias.get("LowQuality") or "").lower() == "true",
            alias_type=alias_type,
        )
        documented_names = [child for name, child in found if name == "DocumentedName"]
        for index, documented in enumerate(documented_names):
            full = self._documented_name(documented, groups)
            entry.name(full, kind if index == 0 else ("alias" if kind == "primary" else kind))

    def _documented_name(self, documented: Any, groups: dict[str, str]) -> str | None:
        last: list[str] = []
        other: list[str] = []
        for value in documented.iter("{*}NamePartValue"):
            text = text_of(value)
            group_id = value.get("NamePartGroupID")
            if group_id is not None and group_id not in groups:
                raise ParseError(
                    self.path,
                    value.sourceline,
                    f"unknown NamePartGroupID {group_id!r}: not in the identity's NamePartGroups",
                )
            if text:
                (last if groups.get(group_id or "") == "last name" else other).append(text)
        if last and other:
            return f"{' '.join(last)}, {' '.join(other)}"
        return " ".join(last or other) or None

    def _feature(self, feature: Any, entry: Entry, facts: PartyFacts) -> None:
        label = self._value("FeatureType", feature)
        for name, version in self._children(feature, "Feature", entry):
            if name != "FeatureVersion" or label is None:
                continue
            period = address = text = None
            for part_name, part in self._children(version, "FeatureVersion", entry):
                if part_name == "DatePeriod":
                    period = _period(self.path, part, f"{label} date")
                elif part_name == "VersionDetail":
                    reference = part.get("DetailReferenceID")
                    text = self._value("DetailReference", part) if reference is not None else text_of(part)
                elif part_name == "VersionLocation":
                    address, unknown = self._location_of(part)
                    for key, value in unknown:
                        entry.unknown(key, value)
            facts.feature(label, text, period=period, address=address)

    # relationships and sanctions entries --------------------------------------------------------

    def _party_of(self, profile_id: str | None, line: int | None, what: str) -> _Party:
        key = self.profiles.get(profile_id or "")
        if key is None:
            raise ParseError(self.path, line, f"{what} {profile_id!r} is not the ID of a Profile in the file")
        return self.parties[key]

    def _relationship(self, element: Any) -> None:
        line = element.sourceline
        source = self._party_of(element.get("From-ProfileID"), line, "From-ProfileID")
        target = self._party_of(element.get("To-ProfileID"), line, "To-ProfileID")
        relation = self._value("RelationType", element)
        self._children(element, "ProfileRelationship", source.entry)
        caption = target.entry.caption()
        source.entry.link("linked_to", caption, target.entry.key)
        source.entry.add("relationship", f"{relation}: {caption}" if relation else caption)

    def _sanctions_entry(self, element: Any) -> None:
        line = element.sourceline
        party = self._party_of(element.get("ProfileID"), line, "ProfileID")
        entry = party.entry
        list_name = self._value("List", element)
        if list_name:
            self.lists.add(list_name)
            entry.add("sanctions_list", list_name)
        for name, child in self._children(element, "SanctionsEntry", entry):
            if name == "EntryEvent":
                self._entry_event(child, entry)
            elif name == "SanctionsMeasure":
                measure = self._value("SanctionsType", child)
                comment = text_of(_child(child, "Comment"))
                if (measure or "").lower() == "program":
                    entry.program(comment)
                elif measure:
                    entry.add("sanctions_type", f"{measure}: {comment}" if comment else measure)
            elif name == "Comment":
                entry.remark(text_of(child))

    def _entry_event(self, event: Any, entry: Entry) -> None:
        kind = self._value("EntryEventType", event)
        basis_element = self._reference("LegalBasis", event.get("LegalBasisID"), event.sourceline)
        basis = None
        if basis_element is not None:
            basis = basis_element[1].get("LegalBasisShortRef") or basis_element[0]
        if (basis or "").lower() == "unknown":  # OFAC's placeholder, not a legal basis
            basis = None
        when = _child(event, "Date")
        day = _point(self.path, when, "EntryEvent Date", last=False) if when is not None else None
        entry.listed(day)
        if basis:
            entry.add("legal_basis", basis)
        words = " ".join(filter(None, (kind, day.isoformat() if day else None)))
        entry.add("entry_event", f"{words} ({basis})" if basis and words else words or basis)


def _child(element: Any, name: str) -> Any:
    for child_name, child in children(element):
        if child_name == name:
            return child
    return None
