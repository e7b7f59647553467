"""One entity's facts gathered while a file is read, made into a `Record` at the end.

The formats that read rows or elements (UN, UK, CSL, DPL, FtM, EU, OFAC XML) collect the same kinds
of facts; `Entry` keeps each once, in publication order, with whitespace tidied, and keeps what the
format does not know (a new column, a new element) under `properties["unknown:NAME"]`, so nothing is
dropped and `listwatch show` can display it.

    entry = Entry("QDi.410", line=12)
    entry.name("Ri  Won Ho ")          # -> "Ri Won Ho", the primary name
    entry.name("Jang Chang Ha", "alias")
    record = entry.record("Person")
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from listwatch.model import Address, Identifier, Link, Name, Record

__all__ = ["UNKNOWN_PREFIX", "Entry", "clean", "has_legal_form", "organisation_schema"]

UNKNOWN_PREFIX = "unknown:"  # properties["unknown:COLUMN"]: published, but not understood here


def clean(text: str | None) -> str | None:
    """Whitespace collapsed and trimmed; None for nothing."""
    if text is None:
        return None
    tidy = " ".join(text.split())
    return tidy or None


class Entry:
    """The facts of one entity, each once, in the order they were read."""

    __slots__ = (
        "addresses",
        "birth_dates",
        "countries",
        "identifiers",
        "key",
        "line",
        "links",
        "listed_on",
        "name_kinds",
        "names",
        "programs",
        "properties",
        "remarks",
    )

    def __init__(self, key: str, *, line: int | None = None) -> None:
        self.key = key
        self.line = line
        self.names: dict[Name, None] = {}
        self.name_kinds: set[tuple[str, str]] = set()
        self.identifiers: dict[Identifier, None] = {}
        self.countries: dict[str, None] = {}
        self.addresses: dict[Address, None] = {}
        self.birth_dates: dict[str, None] = {}
        self.programs: dict[str, None] = {}
        self.remarks: dict[str, None] = {}
        self.links: dict[Link, None] = {}
        self.listed_on: date | None = None
        self.properties: dict[str, dict[str, None]] = {}

    def name(self, value: str | None, kind: str = "primary", *, lang: str | None = None) -> None:
        text = clean(value)
        if text is None:
            return
        if kind == "primary" and self.names and next(iter(self.names)).kind == "primary":
            kind = "alias"  # a second primary name (another row of the same entity) is an alias
        if (text, kind) in self.name_kinds or (text, "primary") in self.name_kinds:
            return
        self.name_kinds.add((text, kind))
        name = Name(text, kind, lang)
        if kind == "primary":  # the primary name leads, whenever it comes
            self.names = {name: None, **self.names}
        else:
            self.names[name] = None

    def identifier(
        self,
        scheme: str,
        value: str | None,
        *,
        country: str | None = None,
        note: str | None = None,
        exchange: str | None = None,
    ) -> None:
        text = clean(value)
        if text is not None:
            self.identifiers[Identifier(scheme, text, clean(country), clean(exchange), clean(note))] = None

    def country(self, value: str | None) -> None:
        text = clean(value)
        if text is not None:
            self.countries[text] = None

    def address(self, address: Address, *, add_country: bool = True) -> None:
        """An address (empty ones are not); its country is one of the entity's unless told not."""
        if address.full or address.remarks:
            self.addresses[address] = None
            if add_country:
                self.country(address.country)

    def birth_date(self, value: str | None) -> None:
        text = clean(value)
        if text is not None:
            self.birth_dates[text] = None

    def program(self, value: str | None) -> None:
        text = clean(value)
        if text is not None:
            self.programs[text] = None

    def remark(self, value: str | None) -> None:
        text = value.strip() if value else None
        if text:
            self.remarks[text] = None

    def link(self, relation: str, target_name: str | None, target_key: str | None = None) -> None:
        text = clean(target_name)
        if text is not None:
            self.links[Link(relation, text, target_key)] = None

    def listed(self, day: date | None) -> None:
        """A listing date; of several, the earliest is the record's."""
        if day is not None and (self.listed_on is None or day < self.listed_on):
            self.listed_on = day

    def add(self, key: str, value: str | None) -> None:
        text = value.strip() if value else None
        if text:
            self.properties.setdefault(key, {})[text] = None

    def unknown(self, name: str, value: str | None) -> None:
        """Keep a column or element this format does not know, as published."""
        self.add(UNKNOWN_PREFIX + name, value)

    def caption(self) -> str:
        return next(iter(self.names)).value if self.names else self.key

    def record(self, schema: str) -> Record:
        names = list(self.names)
        if names and not any(n.kind == "primary" for n in names):
            first = names[0]
            names[0] = Name(first.value, "primary", first.lang)
        remarks = "\n".join(self.remarks) or None
        return Record(
            key=self.key,
            schema=schema,
            names=tuple(names),
            identifiers=tuple(self.identifiers),
            countries=tuple(self.countries),
            addresses=tuple(self.addresses),
            birth_dates=tuple(self.birth_dates),
            programs=tuple(self.programs),
            remarks=remarks,
            links=tuple(self.links),
            listed_on=self.listed_on,
            properties={key: tuple(values) for key, values in self.properties.items()},
            line=self.line,
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


def has_legal_form(name: str) -> bool:
    """Whether a name carries a company's legal form (`LTD`, `S.A.`, `GMBH`, `OOO`...)."""
    return not _LEGAL_FORMS.isdisjoint(_TOKENS.findall(name.upper().replace(".", "")))


def organisation_schema(names: Iterable[Name]) -> str:
    """`Company` when one of the names has a legal form, else `Organization` (as for OFAC's lists)."""
    return "Company" if any(has_legal_form(name.value) for name in names) else "Organization"
