"""The remarks of an OFAC legacy CSV entry, read into typed facts.

OFAC puts identifiers, dates of birth, links and weak aliases in one free-text field as `;`-separated
facts ("DOB 12 Mar 1971; POB Riyadh, Saudi Arabia; Passport 484824 (Egypt) issued 18 Jan 1984; a.k.a.
'TARIQ'."). `parse_remarks` types each fact whose label (or shape) it knows and keeps the others as
`properties["unparsed"]`; `ofac_csv` puts the facts on the entry's `Record`, whose `remarks` keep
the full text.

    >>> parse_remarks("DOB circa 1951; POB Foca, Bosnia-Herzegovina.").birth_dates
    ['1951']

Choices worth knowing:
- Countries (nationality, citizenship, identifier issuers) are kept as OFAC publishes them
  ("Korea, North"), never mapped to codes here: one mapping, done once, belongs to matching.
- A date-of-birth range gives every year it spans when it is whole years ("1950 to 1952" or
  "01 Jan 1950 to 31 Dec 1952": 1950, 1951, 1952; spans over 10 years give the two ends), otherwise
  its two ends; `properties["birth_date_range"]` keeps it as an ISO interval.
- Every quoted alias in the remarks (a.k.a., f.k.a. or n.k.a. 'X') is a weak alias: OFAC keeps only
  weak aliases there.
- Of several listing dates (an NS-CMIC entry can give one per program) the earliest is `listed_on`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Any, NamedTuple

from listwatch.model import Identifier, Name
from listwatch.sources.entry import Entry, clean

__all__ = ["LinkedName", "RemarkFacts", "add_remark_facts", "parse_remarks"]


class LinkedName(NamedTuple):
    """A "Linked To:" target as the remarks name it.

    When the fact closes the remarks, its final period may end the name ("R D I S.A.") or be OFAC's
    full stop ("LAZARUS GROUP."): `without_final_period` is then the other reading, and the caller,
    who knows the list's names, picks one.
    """

    name: str
    without_final_period: str | None = None


class RemarkFacts:
    """Typed facts about one entry, in the order the remarks state them.

    `parse_remarks` appends to one: a new one, or the one it is handed (`into=`). OFAC's entries
    collect the same kinds of facts from their columns and other files, so an entry is a
    `RemarkFacts` and the remarks go straight into it: parsing 9,000 entries copies and merges
    nothing (a frozen result per entry made the whole parse 5% slower).
    """

    __slots__ = ("birth_dates", "countries", "identifiers", "links", "listed_on", "names", "properties")

    def __init__(self) -> None:
        self.names: list[Name] = []  # from the remarks: weak aliases
        self.identifiers: list[Identifier] = []
        self.countries: list[str] = []  # nationality and citizenship, as published
        self.birth_dates: list[str] = []  # ISO 8601, possibly partial ("1962", "1962-03")
        self.links: list[LinkedName] = []
        self.listed_on: date | None = None  # the earliest "Listing Date"
        # the other facts by key ("birth_place", "effective_on"...; "unparsed": the facts whose
        # wording is not known, as published), each value once
        self.properties: dict[str, list[str]] = {}

    def add(self, key: str, value: str) -> None:
        values = self.properties.setdefault(key, [])
        if value not in values:
            values.append(value)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, like `Record.to_dict`."""
        return {
            "names": [asdict(name) for name in self.names],
            "identifiers": [asdict(identifier) for identifier in self.identifiers],
            "countries": list(self.countries),
            "birth_dates": list(self.birth_dates),
            "links": [link._asdict() for link in self.links],
            "listed_on": self.listed_on.isoformat() if self.listed_on else None,
            "properties": {key: list(values) for key, values in sorted(self.properties.items())},
        }


def parse_remarks(remarks: str, *, into: RemarkFacts | None = None) -> RemarkFacts:
    """Type the facts of one entry's remarks (the whole text, spill-over included).

    >>> facts = parse_remarks("DOB 1929 to 1930; Linked To: SUMIYOSHI-KAI.")
    >>> facts.birth_dates, facts.properties["birth_date_range"]
    (['1929', '1930'], ['1929/1930'])
    """
    out = RemarkFacts() if into is None else into
    facts = _split_facts(remarks)
    last = len(facts) - 1
    for index, fact in enumerate(facts):
        final = index == last
        if final and fact.endswith(".") and not _ends_with_abbreviation(fact):
            fact = fact[:-1]
        if not _parse_fact(out, fact, final=final):
            out.add("unparsed", fact)
    return out


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


_Handler = Callable[[RemarkFacts, str, str, bool], bool]  # (out, label, rest of the fact, final) -> parsed?


def _parse_fact(out: RemarkFacts, fact: str, *, final: bool) -> bool:
    found = _find_label(fact)
    if found is None:
        return _weak_alias(out, fact) or _other_identifier(out, fact)
    (label, handler), rest = found
    return handler(out, label, rest, final)


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


def _weak_alias(out: RemarkFacts, fact: str) -> bool:
    match = _WEAK_ALIAS.match(fact.removeprefix("alt. "))
    if match is None:
        return False
    out.names.append(Name(match.group(1), "weak_alias"))
    return True


# "<Label> <value with a digit> (<Country>)", optionally "issued ..."/"expires ..."
_OTHER_ID = re.compile(
    r"^(?:alt\.\s+)?(?P<label>[A-Za-z][^\d();]{0,80}?)\s+(?P<value>[^\s()]*\d[^()]*?)\s*"
    r"\((?P<country>[^()\d]+)\)(?P<extra>\s+(?:issued|expires)\b.*)?\.?$"
)


def _other_identifier(out: RemarkFacts, fact: str) -> bool:
    match = _OTHER_ID.match(fact)
    if match is None:
        return False
    label, value = match.group("label").rstrip(":"), match["value"]
    # A letter prefix of the number ("Personal ID No. E 427689") belongs to the value, not the label.
    if (prefixed := _LABEL_END.match(label)) is not None:
        label, value = prefixed["label"], f"{prefixed['prefix']} {value}"
    note = label
    if extra := match.group("extra"):
        note = f"{note}, {extra.strip()}"
    out.identifiers.append(Identifier("other", value, match["country"].strip(), note=note))
    return True


_LABEL_END = re.compile(r"^(?P<label>.*?\b(?:No\.|Number|#|ID|Code))\s+(?P<prefix>[A-Z]{1,3})$")


# value, then an issuing country in parentheses (no digits), then "issued ... expires ..."
_ID_VALUE = re.compile(
    r"^(?P<value>.*?)\s*(?:\((?P<country>[^()\d]+)\))?(?P<extra>\s+(?:issued|expires)\b.*)?$"
)


def _identifier(scheme: str, *, keep_label: bool = False, country: bool = True) -> _Handler:
    def handle(out: RemarkFacts, label: str, rest: str, final: bool) -> bool:
        rest = rest.rstrip(". ")
        value, issuer, extra = rest, None, None
        if country and (match := _ID_VALUE.match(rest)) is not None:
            value, issuer, extra = match["value"], match["country"], match["extra"]
        if not value:
            return False
        notes = [label] if keep_label else []
        if extra:
            notes.append(extra.strip())
        out.identifiers.append(
            Identifier(scheme, value, issuer.strip() if issuer else None, note=", ".join(notes) or None)
        )
        return True

    return handle


def _ticker(out: RemarkFacts, label: str, rest: str, final: bool) -> bool:
    # "941 HK": the last token is the exchange or market code
    symbol, _, exchange = rest.rstrip(". ").rpartition(" ")
    if not symbol:
        symbol, exchange = exchange, ""
    if not symbol:
        return False
    out.identifiers.append(Identifier("ticker", symbol, exchange=exchange or None))
    return True


def _crypto(out: RemarkFacts, label: str, rest: str, final: bool) -> bool:
    # "XBT 12QtD5BF...": the currency, then the address
    currency, _, address = rest.lstrip("- ").rstrip(". ").partition(" ")
    if not address:
        return False
    out.identifiers.append(Identifier("crypto", address.strip(), note=currency))
    return True


def _text(key: str, *, country: bool = False) -> _Handler:
    def handle(out: RemarkFacts, label: str, rest: str, final: bool) -> bool:
        value = rest.lstrip("-: ").strip()
        if not value:
            return False
        if country:
            value = value.rstrip(". ")
            out.countries.append(value)
        out.add(key, value)
        return True

    return handle


def _whole(key: str) -> _Handler:
    """Facts whose rest is the fact ("Executive Order 13662 Directive Determination - ...")."""

    def handle(out: RemarkFacts, label: str, rest: str, final: bool) -> bool:
        out.add(key, rest.lstrip("-: ").strip())
        return True

    return handle


# "(CMIC) 03 Jun 2021" or "(EO 14024 Directive 3): 24 Feb 2022" or "17 Dec 2016"
_QUALIFIED_DATE = re.compile(r"^(?:\([^()]*\):?\s*)?(?P<date>.+?)\.?$")


def _dated(key: str) -> _Handler:
    def handle(out: RemarkFacts, label: str, rest: str, final: bool) -> bool:
        match = _QUALIFIED_DATE.match(rest)
        iso = _iso_date(match["date"]) if match else None
        if iso is None:
            return False
        if key == "listed_on":
            if len(iso) != 10:
                return False
            listed_on = date.fromisoformat(iso)
            out.listed_on = min(out.listed_on or listed_on, listed_on)
        else:
            out.add(key, iso)
        return True

    return handle


def _linked_to(out: RemarkFacts, label: str, rest: str, final: bool) -> bool:
    if not rest:
        return False
    # the period closing the remarks may end the name or be OFAC's; the list's names decide later
    stripped = rest[:-1] if final and rest.endswith(".") else None
    out.links.append(LinkedName(rest, stripped))
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


def _birth_date(out: RemarkFacts, label: str, rest: str, final: bool) -> bool:
    text = rest.rstrip(". ").removeprefix("circa ")
    parts = [_iso_date(part) for part in (_RANGE.split(text) if " to " in text or "-" in text else (text,))]
    if not parts or len(parts) > 2 or any(part is None for part in parts):
        return False
    dates = [part for part in parts if part]
    if len(dates) == 1:
        out.birth_dates.append(dates[0])
        return True
    start, end = dates
    out.add("birth_date_range", f"{start}/{end}")
    first, last = _whole_years(start, end)
    if first is not None and last is not None and 0 <= last - first <= _MAX_EXPANDED_YEARS:
        out.birth_dates.extend(str(year) for year in range(first, last + 1))
    else:
        out.birth_dates.extend((start, end))
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


def add_remark_facts(entry: Entry, facts: RemarkFacts) -> None:
    """Put what the remarks say on the entry: names, identifiers, countries, birth dates, links,
    the listing date and the typed properties (the OFAC XML formats word their facts as remarks)."""
    for name in facts.names:
        entry.name(name.value, name.kind)
    for identifier in facts.identifiers:
        entry.identifiers[identifier] = None
    for country in facts.countries:
        entry.country(country)
    for birth in facts.birth_dates:
        entry.birth_date(birth)
    for link in facts.links:
        entry.link("linked_to", link.name)
    entry.listed(facts.listed_on)
    for key, values in facts.properties.items():
        for value in values:
            entry.add(key, clean(value))
