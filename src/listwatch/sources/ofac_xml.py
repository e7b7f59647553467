"""OFAC's XML lists (`sdn.xml`, `consolidated.xml`, schema `sdnList.xsd`), read into `Record`s.

The root `sdnList` starts with `publshInformation` (sic: `Publish_Date` MM/DD/YYYY, the publication
date, and `Record_Count`), then one `sdnEntry` per entry: `uid` (the same number as the CSV's
ent_num), `firstName`, `lastName`, `sdnType`, `programList`, `akaList`, `addressList`, `idList`,
`nationalityList`, `citizenshipList`, `dateOfBirthList`, `placeOfBirthList`, `vesselInfo`,
`title`, `remarks`.

Written from OFAC's published schema without a real file at hand: the tests use a hand-written file
(`tests/sources/data/sdn_handwritten.xml`). An element not in the schema is kept as `unknown:NAME`
and reported. `SDN_ENHANCED.XML` and `sdn_advanced.xml` use other schemas and are not read here.

Choices worth knowing:
- Records match what `ofac-csv` makes of the same entry where the XML allows: the name is
  `LAST, First`, programs and vessel facts are the same properties, and the ids are typed with the
  OFAC remark labels (`Passport`, `Tax ID No.`...). The XML has typed ids where the CSV has remarks,
  so a list ingested from both shows amendments where the two differ.
- `sdn.xml` is `us_ofac_sdn`, `consolidated.xml` `us_ofac_cons`; a file under any other name needs
  --list.
- A count of entries other than `Record_Count` is a warning (a truncated or edited file).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from listwatch.errors import ParseError
from listwatch.model import Address, ParsedList, Record
from listwatch.sources.entry import Entry, has_legal_form
from listwatch.sources.ofac_remarks import RemarkFacts, add_remark_facts, parse_remarks
from listwatch.sources.text import parse_us_date
from listwatch.sources.xml import (
    XmlRecords,
    child_map,
    children,
    describe,
    iter_elements,
    single_file,
    single_root,
    text_of,
)

__all__ = ["OFAC_XML", "OfacXmlFormat"]

_ROOT = "sdnList"
_SCHEMAS = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane"}
_VESSEL = {
    "callSign": None, "vesselType": "vessel_type", "vesselFlag": "vessel_flag", "vesselOwner": "vessel_owner",
    "tonnage": "vessel_tonnage", "grossRegisteredTonnage": "vessel_grt",
}  # fmt: skip
_ENTRY_ELEMENTS = frozenset(
    {
        "uid", "firstName", "lastName", "title", "sdnType", "remarks", "programList", "idList", "akaList",
        "addressList", "nationalityList", "citizenshipList", "dateOfBirthList", "placeOfBirthList", "vesselInfo",
    }
)  # fmt: skip


class OfacXmlFormat:
    """The `SourceFormat` for OFAC's classic XML lists (`sdnList` root)."""

    name: str = "ofac-xml"
    title: str = "OFAC XML (sdn.xml, consolidated.xml; schema sdnList.xsd)"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        return single_root(files, _ROOT)

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = single_file(files, self.name)
        found = XmlRecords(path, key_name="uid")
        published: date | None = None
        stated_count: int | None = None
        for element in iter_elements(path, ("sdnEntry", "publshInformation"), root=_ROOT):
            if element.tag.endswith("publshInformation"):
                info = child_map(element)
                stamp = info.get("Publish_Date")
                line = stamp.sourceline if stamp is not None else element.sourceline
                published = parse_us_date(text_of(stamp), path=path, line=line, what="Publish_Date")
                count = text_of(info.get("Record_Count"))
                stated_count = int(count) if count and count.isdigit() else None
                continue
            found.add(_record(path, element, found.unknown), element.sourceline)
        records = found.records
        warnings = list(found.warnings())
        if stated_count is not None and stated_count != len(records):
            warnings.append(
                f"{path.name}: Record_Count says {stated_count} entries, the file holds {len(records)}"
            )
        return ParsedList(self.name, tuple(records), _list_id(path), published, None, tuple(warnings))


OFAC_XML = OfacXmlFormat()


def _list_id(path: Path) -> str | None:
    return {"sdn.xml": "us_ofac_sdn", "consolidated.xml": "us_ofac_cons"}.get(path.name.lower())


def _name(parts: dict[str, Any]) -> str | None:
    last, first = text_of(parts.get("lastName")), text_of(parts.get("firstName"))
    if last and first:
        return f"{last}, {first}"
    return last or first


def _record(path: Path, element: Any, unknown: dict[str, int]) -> Record:
    line = element.sourceline
    parts = child_map(element)
    key = text_of(parts.get("uid"))
    if key is None or not key.isdigit():
        raise ParseError(path, line, f"sdnEntry without a numeric uid ({key!r})")
    entry = Entry(key, line=line)
    entry.name(_name(parts))
    entry.add("title", text_of(parts.get("title")))
    facts = RemarkFacts()
    for tag, child in children(element):
        if tag == "programList":
            for _, program in children(child):
                entry.program(text_of(program))
        elif tag == "akaList":
            for _, aka in children(child):
                _aka(entry, child_map(aka))
        elif tag == "addressList":
            for _, address in children(child):
                _address(entry, child_map(address))
        elif tag == "idList":
            for _, item in children(child):
                _identifier(facts, child_map(item))
        elif tag in ("nationalityList", "citizenshipList"):
            key_name = "nationality" if tag == "nationalityList" else "citizenship"
            for _, item in children(child):
                country = text_of(child_map(item).get("country"))
                entry.add(key_name, country)
                entry.country(country)
        elif tag == "dateOfBirthList":
            for _, item in children(child):
                value = text_of(child_map(item).get("dateOfBirth"))
                if value:
                    parse_remarks(f"DOB {value}", into=facts)
        elif tag == "placeOfBirthList":
            for _, item in children(child):
                entry.add("birth_place", text_of(child_map(item).get("placeOfBirth")))
        elif tag == "vesselInfo":
            for vessel_tag, vessel_child in children(child):
                if vessel_tag == "callSign":
                    entry.identifier("call_sign", text_of(vessel_child))
                elif vessel_tag in _VESSEL:
                    entry.add(str(_VESSEL[vessel_tag]), text_of(vessel_child))
                else:
                    unknown.setdefault(f"element <vesselInfo/{vessel_tag}>", vessel_child.sourceline)
                    entry.unknown(f"vesselInfo/{vessel_tag}", describe(vessel_child))
        elif tag == "remarks":
            remarks = text_of(child)
            entry.remark(remarks)
            if remarks:
                parse_remarks(remarks, into=facts)
        elif tag not in _ENTRY_ELEMENTS:
            unknown.setdefault(f"element <{tag}>", child.sourceline)
            entry.unknown(tag, describe(child))
    add_remark_facts(entry, facts)
    published_type = (text_of(parts.get("sdnType")) or "").lower()
    schema = _SCHEMAS.get(published_type)
    if schema is None:
        schema = "Company" if any(has_legal_form(n.value) for n in entry.names) else "Organization"
    return entry.record(schema)


def _aka(entry: Entry, parts: dict[str, Any]) -> None:
    kind = "previous" if (text_of(parts.get("type")) or "").lower() == "f.k.a." else "alias"
    if (text_of(parts.get("category")) or "").lower() == "weak":
        kind = "weak_alias"
    entry.name(_name(parts), kind)


def _address(entry: Entry, parts: dict[str, Any]) -> None:
    street = ", ".join(filter(None, (text_of(parts.get(f"address{n}")) for n in (1, 2, 3))))
    city = ", ".join(filter(None, (text_of(parts.get(k)) for k in ("city", "stateOrProvince", "postalCode"))))
    entry.address(Address(street=street or None, city=city or None, country=text_of(parts.get("country"))))


def _identifier(facts: RemarkFacts, parts: dict[str, Any]) -> None:
    kind, number = text_of(parts.get("idType")), text_of(parts.get("idNumber"))
    if not kind or not number:
        return
    fact = f"{kind} {number}"
    country = text_of(parts.get("idCountry"))
    if country:
        fact += f" ({country})"
    for tag, word in (("issueDate", "issued"), ("expirationDate", "expires")):
        if text_of(parts.get(tag)):
            fact += f" {word} {text_of(parts.get(tag))}"
    parse_remarks(fact, into=facts)
