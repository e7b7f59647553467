"""The facts of an OFAC entry as the advanced and enhanced XML lists state them, typed as `ofac-csv`
types the same facts in its remarks.

Both XML formats give a feature as a type and a value ("Gender" "Male", "Effective Date (CMIC)" and a
date period) and a document as a type, a number and an issuer. `PartyFacts` words each as OFAC's
remarks word it ("Gender Male", "Effective Date (CMIC) 02 Aug 2021", "Passport 040070827 (Mexico)")
and hands it to `ofac_remarks.parse_remarks`, so the same facts give the same identifiers and
properties whatever the format. `Period` is a date as the schemas give it (first and last day).

    facts = PartyFacts(entry)
    facts.feature("Gender", "Male")
    facts.document("Passport", "040070827", country="Mexico")
    schema = facts.finish(schema_of("Individual"))  # "Person"; the facts are on the entry
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from listwatch.model import Address
from listwatch.sources.entry import Entry, clean, has_legal_form
from listwatch.sources.ofac_remarks import RemarkFacts, add_remark_facts, parse_remarks

__all__ = ["PartyFacts", "Period", "address_of", "alias_kind", "list_id_of", "schema_of"]

_SCHEMAS = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane"}
_FILE_LISTS = {
    "sdn_advanced.xml": "us_ofac_sdn", "cons_advanced.xml": "us_ofac_cons",
    "sdn_enhanced.xml": "us_ofac_sdn", "cons_enhanced.xml": "us_ofac_cons",
}  # fmt: skip
_SDN_LIST = "SDN List"


def list_id_of(path: Path, lists: set[str]) -> str | None:
    """The list a file holds: from its name (`sdn_advanced.xml`...), else from the OFAC lists its
    entries are on (all on the SDN List: `us_ofac_sdn`; none: `us_ofac_cons`)."""
    by_name = _FILE_LISTS.get(path.name.lower())
    if by_name is not None or not lists:
        return by_name
    if lists == {_SDN_LIST}:
        return "us_ofac_sdn"
    return "us_ofac_cons" if _SDN_LIST not in lists else None


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Period:
    """A date as OFAC's schemas give it: the first and last day it may be, and whether it is approximate.

    `text()` words it as OFAC's remarks do ("12 Mar 1971", "Sep 1938", "circa 1951", "1929 to 1930"),
    so that the remark parser makes of it exactly what it makes of the CSV's.
    """

    start: date
    end: date
    approximate: bool = False

    def text(self) -> str:
        start, end = self.start, self.end
        if start == end:
            words = _day_text(start)
        elif (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
            words = str(start.year) if start.year == end.year else f"{start.year} to {end.year}"
        elif (start.year, start.month, start.day) == (end.year, end.month, 1) and end.day == _last_day(end):
            words = f"{_MONTHS[start.month - 1]} {start.year}"
        else:
            words = f"{_day_text(start)} to {_day_text(end)}"
        return f"circa {words}" if self.approximate else words


def _day_text(day: date) -> str:
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


_COMPANY_TARGET_TYPES = frozenset(
    {"Public Company", "Private Company", "State-Owned Enterprise", "Financial Institution"}
)
# feature types whose value is a plain property or identifier (lower case) -> listwatch key
_FEATURE_PROPERTIES = {
    "title": "title", "place of birth": "birth_place", "vessel type": "vessel_type", "vessel flag": "vessel_flag",
    "vessel owner": "vessel_owner", "vessel tonnage": "vessel_tonnage",
    "vessel gross registered tonnage": "vessel_grt", "vessel grt": "vessel_grt",
}  # fmt: skip
# feature types that are facts the remark parser knows under another label
_FEATURE_LABELS = {"birthdate": "DOB", "nationality country": "nationality", "citizenship country": "citizen"}


class PartyFacts:
    """One OFAC party's facts from the advanced or enhanced XML, typed as `ofac-csv` types the same
    facts in its remarks: each feature or document becomes "LABEL VALUE" for `parse_remarks`.

        facts = PartyFacts(entry)
        facts.feature("Effective Date (CMIC)", period=Period(date(2021, 8, 2), date(2021, 8, 2)))
        schema = facts.finish(None)  # the facts are on the entry; "Company" or "Organization"
    """

    __slots__ = ("entry", "facts")

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.facts = RemarkFacts()

    def feature(
        self,
        label: str,
        value: str | None = None,
        *,
        period: Period | None = None,
        address: Address | None = None,
    ) -> None:
        """One feature: its type as published, and its value (text, a date, or a location)."""
        label = " ".join(label.split()).rstrip(":")
        key = label.lower()
        if address is not None and key == "location":
            self.entry.address(address)
            return
        if address is not None:
            value = value or address.country or address.full
        text = period.text() if period is not None else clean(value)
        if text is None:
            return
        if key == "vessel call sign":
            self.entry.identifier("call_sign", text)
        elif key in _FEATURE_PROPERTIES:
            self.entry.add(_FEATURE_PROPERTIES[key], text)
        else:
            parse_remarks(f"{_FEATURE_LABELS.get(key, label)} {text}", into=self.facts)

    def document(
        self,
        kind: str | None,
        number: str | None,
        *,
        country: str | None = None,
        issued: Period | None = None,
        expires: Period | None = None,
    ) -> None:
        """An identity or registration document, as the CSV's remarks would state it."""
        kind, number = clean(kind), clean(number)
        if not kind or not number:
            return
        fact = f"{kind} {number}"
        if country:
            fact += f" ({country})"
        if issued is not None:
            fact += f" issued {issued.text()}"
        if expires is not None:
            fact += f" expires {expires.text()}"
        parse_remarks(fact, into=self.facts)

    def finish(self, schema: str | None) -> str:
        """Put the typed facts on the entry; the schema is `schema`, or for an organisation
        `Company` or `Organization` as `ofac-csv` decides it."""
        entry = self.entry
        add_remark_facts(entry, self.facts)
        if schema is not None:
            return schema
        if (
            not _COMPANY_TARGET_TYPES.isdisjoint(entry.properties.get("target_type", ()))
            or any(identifier.scheme in ("isin", "ticker") for identifier in entry.identifiers)
            or any(has_legal_form(name.value) for name in entry.names)
        ):
            return "Company"
        return "Organization"


def schema_of(party_type: str | None) -> str | None:
    """`Person`, `Vessel`, `Airplane` for OFAC's party types; None for an entity (decided later)."""
    return _SCHEMAS.get((party_type or "").strip().lower())


def alias_kind(*, primary: bool, low_quality: bool, alias_type: str | None) -> str:
    """A name's kind from an OFAC alias's flags and type (`a.k.a.`, `f.k.a.`, `n.k.a.`):
    primary, weak_alias (OFAC's "low quality"), previous (f.k.a.) or alias."""
    if primary:
        return "primary"
    if low_quality:
        return "weak_alias"
    if (alias_type or "").lower() == "f.k.a.":
        return "previous"
    return "alias"


def address_of(parts: dict[str, list[str]], country: str | None) -> Address:
    """An `Address` from OFAC's typed address parts (ADDRESS1-3, CITY, STATE/PROVINCE, REGION,
    POSTAL CODE, in upper case); parts of other types ("Unknown") are kept, as published, in its
    remarks. `parts` is emptied."""
    street = ", ".join(v for k in ("ADDRESS1", "ADDRESS2", "ADDRESS3") for v in parts.pop(k, ()))
    city = ", ".join(v for k in ("CITY", "STATE/PROVINCE", "REGION") for v in parts.pop(k, ()))
    postal = " ".join(parts.pop("POSTAL CODE", ()))
    city = f"{city} {postal}".strip() if postal else city
    remarks = "; ".join(v for values in parts.values() for v in values)
    parts.clear()
    return Address(street or None, city or None, country, remarks or None)
