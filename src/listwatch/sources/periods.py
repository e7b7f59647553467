"""The periods-csv format: one row per listing period (start and end date) of an entity.

OpenSanctions keeps the history of the DoD s.1260H list of Chinese military companies this way: a
row per edition an entity appears in, with an end date once it left; a re-listing is a new row. One
file holds every edition, so its events are the list's own: `listed` where a run of periods starts,
`delisted` where it ends. The format is documented for users in docs/formats.md.

    parsed = PERIODS_CSV.parse([Path("examples/lists/us_dod_1260h/sanctions.csv")])
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from listwatch.errors import ParseError
from listwatch.model import EventKind, Link, Name, ParsedList, Record, SourceEvent, name_key
from listwatch.sources.text import CsvLayout, parse_iso_date

__all__ = ["PERIODS_CSV", "PeriodsCsv"]

_T = TypeVar("_T", bound=Hashable)

_LAYOUT = CsvLayout(
    format_name="periods-csv",
    columns=(
        "name",
        "clean name",
        "alias",
        "previous name",
        "parent name",
        "note",
        "start date",
        "end date",
        "source url",
    ),
    required=("name", "start date"),
    rows_are="listing periods",
    file_holds="every listing period",
)
# What the events and records say about the list; the bundled file is the DoD s.1260H list.
_AUTHORITY = "US Department of Defense"
_LEGAL_BASIS = "FY2021 NDAA s.1260H"
_PROGRAM = "FY2021 NDAA s.1260H"
_EDITION = "DoD 1260H list edition"
# A comma inside an Alias cell separates names ("Knownsec,Beijing Kownsec") unless what follows is
# the legal form of the same name ("China Avionics Systems Co., Ltd.").
_LEGAL_FORM = re.compile(
    r"(ltd|limited|inc|incorporated|llc|co|corp|corporation|company|plc|jsc|pte|gmbh|ag|s\.?a)\b\.?",
    re.IGNORECASE,
)
_TRAILING_PAREN = re.compile(r"(?P<name>.+?)\s*\((?P<inner>[^()]+)\)")


@dataclass(frozen=True, slots=True)
class _Period:
    line: int
    key: str
    name: str  # the clean name
    published_name: str  # Name as published, less its footnote star
    aliases: tuple[str, ...]
    previous: tuple[str, ...]
    parent: str | None
    note: str | None
    start: date
    end: date | None  # None: the period is open
    source_url: str | None


@dataclass(slots=True)
class _Interval:
    """A run of overlapping or touching periods: one stretch on the list."""

    first: _Period  # the period that starts it
    end: date | None
    last: _Period  # the period whose end is the interval's end


class PeriodsCsv:
    """Listing periods, one row each: a `SourceFormat` whose events come from the periods."""

    name: str = "periods-csv"
    title: str = "Listing periods, one row per period with start and end date (OpenSanctions style)"
    dated: bool = True

    def sniff(self, files: Sequence[Path]) -> bool:
        return _LAYOUT.sniff(files)

    def parse(self, files: Sequence[Path]) -> ParsedList:
        path = _LAYOUT.single_file(files)
        _, lines = _LAYOUT.read(path)
        periods = [_parse_period(path, line, cells) for line, cells in lines]
        by_key: dict[str, list[_Period]] = {}
        for period in periods:
            by_key.setdefault(period.key, []).append(period)
        latest_edition = max(period.start for period in periods)
        records: list[Record] = []
        events: list[SourceEvent] = []
        warnings: list[str] = []
        edition_urls = _edition_urls(periods)
        known_keys = set(by_key)
        renamed_to = {name_key(previous): period for period in periods for previous in period.previous}
        for key, entity_periods in by_key.items():
            records.append(_build_record(key, entity_periods, known_keys=known_keys))
            intervals = _merge(entity_periods)
            events.extend(_events(key, intervals, edition_urls))
            warnings.extend(
                _check(path, entity_periods, intervals, latest_edition=latest_edition, renamed_to=renamed_to)
            )
        events.sort(key=lambda event: (event.effective_on, event.line or 0))
        published = max(
            [period.start for period in periods] + [period.end for period in periods if period.end]
        )
        return ParsedList(
            format=self.name,
            records=tuple(records),
            list_id=None,
            published=published,
            events=tuple(events),
            warnings=tuple(warnings),
        )


PERIODS_CSV = PeriodsCsv()


def _parse_period(path: Path, line: int, cells: dict[str, str]) -> _Period:
    values = {column: " ".join(cell.split()) for column, cell in cells.items()}
    published_name = _strip_footnote(values["name"])
    name = values.get("clean name") or published_name
    aliases = _split_names(values.get("alias", ""))
    # Some rows of the 2025 edition keep the abbreviation in Clean Name, "MGI Tech Co., Ltd. (MGI)",
    # which would split the entity in two; uncleaned, the Alias cell is empty. Only a complete
    # company name gives its parenthesis up: "Acme Group (Shenzhen)" stays whole.
    uncleaned = _TRAILING_PAREN.fullmatch(name)
    if (
        uncleaned
        and not aliases
        and name == published_name
        and _is_legal_form(uncleaned["name"].split()[-1])
        and not _is_legal_form(uncleaned["inner"])
    ):
        name, aliases = uncleaned["name"], (uncleaned["inner"],)
    key = name_key(name)
    if not key:
        raise ParseError(path, line, "empty entity name")
    start = parse_iso_date(values["start date"], path=path, line=line, what="start date")
    end_cell = values.get("end date", "")
    end = parse_iso_date(end_cell, path=path, line=line, what="end date") if end_cell else None
    if end is not None and end <= start:
        raise ParseError(path, line, f"end date {end} is not after start date {start}")
    return _Period(
        line=line,
        key=key,
        name=name,
        published_name=published_name,
        aliases=aliases,
        previous=_split_names(values.get("previous name", "")),
        parent=values.get("parent name") or None,
        note=values.get("note") or None,
        start=start,
        end=end,
        source_url=values.get("source url") or None,
    )


def _strip_footnote(name: str) -> str:
    """'AVIC (AVIC)*' -> 'AVIC (AVIC)'; a period after a closing parenthesis goes too."""
    name = name.rstrip("* ")
    return name[:-1] if name.endswith(").") else name


def _split_names(cell: str) -> tuple[str, ...]:
    names: list[str] = []
    for part in cell.split(";"):
        for piece in part.split(","):
            piece = piece.strip()
            if names and _is_legal_form(piece):
                names[-1] = f"{names[-1]}, {piece}"
            elif piece:
                names.append(piece)
    return tuple(names)


def _is_legal_form(text: str) -> bool:
    return _LEGAL_FORM.fullmatch(text.strip()) is not None


def _is_abbreviation(alias: str) -> bool:
    """'AVIC', 'S-SEA', 'BGI' are abbreviations; 'Qihoo 360', 'Megvii', 'ChemChina' are not."""
    letters = [ch for ch in alias if ch.isalpha()]
    capitals = sum(1 for ch in letters if ch.isupper())
    return " " not in alias and capitals >= 2 and capitals * 2 >= len(letters)


def _build_record(key: str, periods: list[_Period], *, known_keys: set[str]) -> Record:
    chronological = sorted(periods, key=lambda period: (period.start, period.line))
    latest = chronological[-1]
    names = [Name(latest.name)]
    seen = {key}

    def add(value: str, kind: str) -> None:
        value_key = name_key(value)
        if value_key and value_key not in seen:
            seen.add(value_key)
            names.append(Name(value, kind=kind))

    for period in chronological:
        add(period.name, "alias")
        add(period.published_name, "alias")
        for alias in period.aliases:
            add(alias, "abbreviation" if _is_abbreviation(alias) else "alias")
        for previous in period.previous:
            add(previous, "previous")
    links: dict[str, Link] = {}
    for period in chronological:
        if period.parent and name_key(period.parent) not in links:
            parent_key = name_key(period.parent)
            links[parent_key] = Link(
                "parent", period.parent, parent_key if parent_key in known_keys else None
            )
    properties = {
        "note": _distinct(period.note for period in chronological),
        "editions": _distinct(period.start.isoformat() for period in chronological),
    }
    return Record(
        key=key,
        schema="Company",
        names=tuple(names),
        programs=(_PROGRAM,),
        links=tuple(links.values()),
        listed_on=chronological[0].start,
        properties={name: values for name, values in properties.items() if values},
        line=min(period.line for period in periods),
    )


def _distinct(values: Iterable[_T | None]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(value for value in values if value is not None))


def _merge(periods: list[_Period]) -> list[_Interval]:
    """Overlapping or touching periods merge; an open period runs on for ever."""
    intervals: list[_Interval] = []
    for period in sorted(periods, key=lambda period: (period.start, period.line)):
        current = intervals[-1] if intervals else None
        if current is None or (current.end is not None and period.start > current.end):
            intervals.append(_Interval(first=period, end=period.end, last=period))
        elif current.end is not None and (period.end is None or period.end > current.end):
            current.end, current.last = period.end, period
    return intervals


def _edition_urls(periods: list[_Period]) -> dict[date, str]:
    """The document of each edition: the Source Url of the rows that start on its date."""
    urls: dict[date, str] = {}
    for period in periods:
        if period.source_url:
            urls.setdefault(period.start, period.source_url)
    return urls


def _events(key: str, intervals: list[_Interval], edition_urls: dict[date, str]) -> list[SourceEvent]:
    events: list[SourceEvent] = []
    for interval in intervals:
        start = interval.first.start
        events.append(
            SourceEvent(
                record_key=key,
                kind=EventKind.LISTED,
                effective_on=start,
                citation=interval.first.source_url or f"{_EDITION} {start}",
                source_url=interval.first.source_url,
                authority=_AUTHORITY,
                legal_basis=_LEGAL_BASIS,
                line=interval.first.line,
            )
        )
        if interval.end is not None:
            # The edition that dropped the entity, when the file has one of that date. The period's
            # own Source Url is the document that listed it, so it is no citation for the end.
            url = edition_urls.get(interval.end)
            citation = f"Not in the {_EDITION} of {interval.end}"
            events.append(
                SourceEvent(
                    record_key=key,
                    kind=EventKind.DELISTED,
                    effective_on=interval.end,
                    citation=f"{citation}; {url}" if url else citation,
                    source_url=url,
                    authority=_AUTHORITY,
                    legal_basis=_LEGAL_BASIS,
                    line=interval.last.line,
                )
            )
    return events


def _check(
    path: Path,
    periods: list[_Period],
    intervals: list[_Interval],
    *,
    latest_edition: date,
    renamed_to: dict[str, _Period],
) -> list[str]:
    """Warnings for periods the file contradicts: reported, the periods kept as published."""
    warnings: list[str] = []
    for interval in intervals:
        for period in periods:
            if period.end is not None and interval.end is None and period.start > interval.first.start:
                warnings.append(
                    f"{path}:{period.line}: {period.name!r}: the period {period.start} to {period.end} "
                    f"lies inside the open period from {interval.first.start} (line {interval.first.line}); "
                    "the entity counts as listed throughout"
                )
    last = intervals[-1]
    if last.end is None and all(period.start != latest_edition for period in periods):
        successor = renamed_to.get(periods[0].key)
        hint = (
            f" (renamed? {successor.name!r}, line {successor.line}, gives it as its previous name)"
            if successor
            else ""
        )
        warnings.append(
            f"{path}:{last.first.line}: {last.first.name!r} has an open period from {last.first.start} "
            f"but no row in the latest edition ({latest_edition}); its end date may be missing{hint}"
        )
    return warnings
