"""An entity's stay on a list, as the rules see it: periods and court suspensions from its events.

A `Listing` is one entity on one list with its events (listed, amended, enjoined, reinstated,
vacated, delisted) and the facts the rules read (programs, dated properties, parent links).
`listing_periods` folds the events into periods on the list, each with its court suspensions.

    [(p.start, p.end) for p in listing_periods(xiaomi.events)]  # [(2021-01-14, 2021-05-24)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from listwatch.model import DateBasis, EventKind
from listwatch.registry.history import EntityHistory

__all__ = ["Listing", "ListingEvent", "Period", "Suspension", "listing_periods"]

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ListingEvent:
    kind: str  # an EventKind value
    effective_on: date
    date_basis: str = DateBasis.RECORD.value
    source: str = ""  # the citation, or the snapshot that shows the change


@dataclass(frozen=True)
class Listing:
    """One entity on one list, with what the rules need to know about it."""

    entity_id: str
    list_id: str
    caption: str
    schema: str
    programs: tuple[str, ...]
    events: tuple[ListingEvent, ...]  # in date order
    facts: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)  # dated facts
    links: tuple[tuple[str, str], ...] = ()  # (relation, target name) as published

    @classmethod
    def from_history(cls, history: EntityHistory) -> Listing:
        record: dict[str, Any] = history.record
        return cls(
            entity_id=history.entity_id,
            list_id=history.list_id,
            caption=history.caption,
            schema=history.schema,
            programs=tuple(record.get("programs") or ()),
            events=tuple(
                ListingEvent(e.kind, e.effective_on, e.date_basis, e.source) for e in history.events
            ),
            facts={k: tuple(v) for k, v in (record.get("properties") or {}).items()},
            links=tuple(
                (str(link["relation"]), str(link["target_name"])) for link in record.get("links") or ()
            ),
        )


@dataclass(frozen=True, slots=True)
class Suspension:
    """A court order suspending a listing's effect, from its date to the day before it is lifted."""

    start: date
    end: date | None  # last suspended day; None: still suspended
    order: ListingEvent


@dataclass(frozen=True)
class Period:
    """One uninterrupted stay on a list."""

    start: date
    start_basis: str
    end: date | None  # last listed day; None: still listed
    ended_by: ListingEvent | None  # the delisting or vacatur
    amendments: tuple[ListingEvent, ...]
    suspensions: tuple[Suspension, ...]

    def suspension_on(self, day: date) -> Suspension | None:
        for suspension in self.suspensions:
            if suspension.start <= day and (suspension.end is None or day <= suspension.end):
                return suspension
        return None

    @property
    def listed_text(self) -> str:
        if self.start_basis == DateBasis.FIRST_SNAPSHOT:
            return f"on the list by {self.start} (earliest snapshot)"
        return f"listed {self.start}"


def listing_periods(events: Iterable[ListingEvent]) -> list[Period]:
    """Fold one entity's events (in date order) into its periods on the list.

    `enjoined` suspends the open period from its date, `reinstated` lifts the suspension, `vacated`
    and `delisted` end the period the day before their date, and a later `listed` opens a new one.
    """
    periods: list[Period] = []
    open_period: dict[str, Any] | None = None
    for ev in events:
        kind = EventKind(ev.kind)
        if kind is EventKind.LISTED:
            if open_period is None:
                open_period = {"start": ev.effective_on, "basis": ev.date_basis, "amended": [], "susp": []}
            continue
        if open_period is None:
            continue
        suspensions: list[Suspension] = open_period["susp"]
        current = suspensions[-1] if suspensions and suspensions[-1].end is None else None
        if kind is EventKind.AMENDED:
            open_period["amended"].append(ev)
        elif kind is EventKind.ENJOINED and current is None:
            suspensions.append(Suspension(ev.effective_on, None, ev))
        elif kind is EventKind.REINSTATED and current is not None:
            suspensions[-1] = replace(current, end=ev.effective_on - _DAY)
        elif kind in (EventKind.VACATED, EventKind.DELISTED):
            last_day = ev.effective_on - _DAY
            if current is not None:
                suspensions[-1] = replace(current, end=last_day)
            periods.append(_period(open_period, last_day, ev))
            open_period = None
    if open_period is not None:
        periods.append(_period(open_period, None, None))
    return periods


def _period(data: dict[str, Any], end: date | None, ended_by: ListingEvent | None) -> Period:
    return Period(
        start=data["start"],
        start_basis=data["basis"],
        end=end,
        ended_by=ended_by,
        amendments=tuple(data["amended"]),
        suspensions=tuple(data["susp"]),
    )
