"""The one state machine that turns an entity's events into where it stood on a day.

`history.status_as_of` (a few entities, with explanations) and `live.live_entities` (every entity of
some lists, in bulk) both call `replay_events`, so the two can never disagree about a state.

    replayed = replay_events(events_of_one_entity, date(2021, 3, 13))
    replayed.state  # "suspended"
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from listwatch.model import DateBasis, EventKind

__all__ = ["ENDING_KINDS", "LIVE_STATES", "Replay", "replay_events"]

#: The states in which an entity is on its list that day (with or without effect).
LIVE_STATES = frozenset({"listed", "suspended"})
#: The event kinds that end a listing.
ENDING_KINDS = (EventKind.VACATED.value, EventKind.DELISTED.value)


@dataclass(frozen=True, slots=True)
class Replay:
    """The outcome of replaying one entity's events up to a day.

    Event values are the rows given to `replay_events` (anything with `kind`, `effective_on`,
    `date_basis` and `record_id` attributes), so callers can render them as they like.
    """

    state: str  # listed | suspended | not_listed | unknown
    since: date | None  # start of the listing in force (or of the state, for not_listed)
    since_basis: str | None
    record_id: int | None  # the record version of the last event up to the day that names one
    court: Any  # the injunction suspending the listing, or the vacatur that ended it
    last: Any  # the last event up to the day
    first: Any  # the entity's first event (possibly after the day)

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES


def replay_events(evs: Sequence[Any], as_of: date) -> Replay:
    """Replay one entity's events, in (effective_on, id) order, up to `as_of` inclusive.

    Events after `as_of` may be included or left out: they only decide `first`, which matters for
    the `unknown` state (no event up to the day, and the first one is the list's earliest snapshot).
    """
    state, since, basis = "not_listed", None, None
    court: Any = None
    last: Any = None
    record_id: int | None = None
    for ev in evs:
        if ev.effective_on > as_of:
            break
        last = ev
        record_id = ev.record_id or record_id
        kind = EventKind(ev.kind)
        if kind is EventKind.LISTED:
            state, since, basis, court = "listed", ev.effective_on, ev.date_basis, None
        elif kind is EventKind.REINSTATED and state == "suspended":
            state, court = "listed", None
        elif kind is EventKind.ENJOINED and state == "listed":
            state, court = "suspended", ev
        elif kind is EventKind.VACATED:
            state, since, basis, court = "not_listed", ev.effective_on, ev.date_basis, ev
        elif kind is EventKind.DELISTED:
            state, since, basis = "not_listed", ev.effective_on, ev.date_basis
    first = evs[0] if evs else None
    if last is None and first is not None and first.date_basis == DateBasis.FIRST_SNAPSHOT:
        # Present in the list's earliest snapshot: its listing date is unknown, so is this day.
        state = "unknown"
    return Replay(state, since, basis, record_id, court, last, first)
