"""The legal effect of listings on a day, and over a range of days: pure functions over plain data.

`listings.listing_periods` folds a `Listing`'s events into periods on its list, each with its court
suspensions; `listing_windows` applies the rules of the programs that cover the entry, giving each
effect's dated window (a purchase ban from listing + 60 days, a divestment window until listing +
365 days...). `effects_on` answers for one day with only the events known by that day, so a court
order after the day changes nothing; `effect_timeline` answers for a range with every event.

    listing = Listing.from_history(xiaomi_history)
    [(e.kind, e.state, e.start) for e in effects_on(listing, load_programs(), date(2021, 3, 11))]
    # [('purchase_ban', 'pending', date(2021, 3, 15)), ('divestment_window', 'pending', ...), ...]

Dates are whole days: `start` is the first day an effect is in force and `end` its last day
(inclusive); an effect ends the day before its listing is delisted or vacated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from listwatch.model import DateBasis
from listwatch.rules.listings import Listing, Period, listing_periods
from listwatch.rules.programs import Citation, DateRule, Program, ProgramBook, Rule

__all__ = [
    "STATES",
    "Change",
    "Effect",
    "EffectInterval",
    "Window",
    "effect_timeline",
    "effects_on",
    "listing_windows",
    "next_change",
]

#: An effect's state on a day, in the order reports list them.
STATES = ("in_force", "suspended", "pending", "unknown", "ended")

_DAY = timedelta(days=1)

# How the dates that entries state themselves (`Record.properties`) are named in reasons.
_FACT_LABELS = {
    "effective_on": "effective date",
    "divestment_until": "divestment date",
}


@dataclass(frozen=True)
class Window:
    """The dated window of one rule's effect during one determination of one listing."""

    program: Program
    rule: Rule
    listing: Listing
    period: Period
    clock: date  # the listing (or re-determination) the rule's days run from
    segment_end: date | None  # the last day of this determination
    start: date
    end: date | None  # last day in force; None: open
    reason: str
    end_reason: str | None

    def current_on(self, day: date) -> bool:
        """Whether `day` falls in this window's determination (from its clock to its last day)."""
        return self.clock <= day and (self.segment_end is None or day <= self.segment_end)

    def state_on(self, day: date) -> str:
        if self.end is not None and day > self.end:
            return "ended"
        if self.period.suspension_on(day) is not None:
            return "suspended"
        return "pending" if day < self.start else "in_force"

    def in_force(self) -> list[tuple[date, date | None]]:
        """The stretches of days the effect was (or is) in force: the window less its suspensions."""
        if self.end is not None and self.end < self.start:
            return []
        pieces: list[tuple[date, date | None]] = [(self.start, self.end)]
        for suspension in self.period.suspensions:
            pieces = [p for piece in pieces for p in _subtract(piece, suspension.start, suspension.end)]
        return pieces


def _subtract(
    piece: tuple[date, date | None], cut_start: date, cut_end: date | None
) -> list[tuple[date, date | None]]:
    lo, hi = piece
    if (hi is not None and hi < cut_start) or (cut_end is not None and cut_end < lo):
        return [piece]
    kept: list[tuple[date, date | None]] = []
    if lo < cut_start:
        kept.append((lo, cut_start - _DAY))
    if cut_end is not None and (hi is None or cut_end < hi):
        kept.append((cut_end + _DAY, hi))
    return kept


def listing_windows(listing: Listing, programs: Sequence[Program]) -> list[Window]:
    """Every window of the rules of `programs` for a listing, over all its events, in period and
    determination order (a program's `redetermined_by` events start a new determination)."""
    found = []
    for program in programs:
        for period in listing_periods(listing.events):
            clocks = [period.start] + [
                a.effective_on
                for a in period.amendments
                if a.kind in program.redetermined_by and a.effective_on > period.start
            ]
            for index, clock in enumerate(clocks):
                last = clocks[index + 1] - _DAY if index + 1 < len(clocks) else period.end
                for rule in program.rules:
                    if rule.schemas is not None and listing.schema not in rule.schemas:
                        continue
                    found.append(_window(program, rule, listing, period, clock, last, index > 0))
    return found


def _window(
    program: Program,
    rule: Rule,
    listing: Listing,
    period: Period,
    clock: date,
    last: date | None,
    redetermined: bool,
) -> Window:
    listed = f"re-determined {clock}" if redetermined else period.listed_text
    picked = _pick(rule.starts, listing, clock, listed)
    if picked is None:
        start, reason = clock, listed
    else:
        start, reason = picked
    start = max(start, clock, program.enacted)
    end, end_reason = None, None
    picked_end = _pick(rule.ends, listing, clock, listed)
    if picked_end is not None:
        end, end_reason = picked_end[0], f"until {picked_end[0]}: {picked_end[1]}"
    if last is not None and (end is None or last < end):
        end = last
        if last == period.end and period.ended_by is not None:
            end_reason = f"{period.ended_by.kind} {period.ended_by.effective_on}"
        else:
            end_reason = f"re-determined {last + _DAY}"
    return Window(program, rule, listing, period, clock, last, start, end, reason, end_reason)


def _pick(
    alternatives: Sequence[DateRule], listing: Listing, clock: date, listed: str
) -> tuple[date, str] | None:
    """The date of the first alternative that applies, with the reason for it."""
    for alt in alternatives:
        if alt.fixed is not None:
            if alt.if_listed_by is not None:
                if clock > alt.if_listed_by:
                    continue
                return alt.fixed, f"{listed}, by {alt.if_listed_by}: {alt.fixed} fixed by law"
            if clock > alt.fixed:
                return clock, f"{listed}, after {alt.fixed} fixed by law"
            return alt.fixed, f"{alt.fixed} fixed by law ({listed})"
        if alt.record is not None:
            stated = _fact_date(listing.facts.get(alt.record, ()))
            if stated is not None:
                label = _FACT_LABELS.get(alt.record, alt.record)
                return stated, f"{label} {stated} stated in the entry ({listed})"
            continue
        if alt.days_after_listing is not None:
            return clock + timedelta(days=alt.days_after_listing), f"{listed} + {alt.days_after_listing} days"
    return None


def _fact_date(values: Iterable[str]) -> date | None:
    for value in values:
        try:
            return date.fromisoformat(value)
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class Effect:
    """One legal effect of one listing, as it stands on the day asked about."""

    kind: str
    state: str  # in_force | suspended | pending | unknown | ended
    start: date | None  # first day in force (None: unknown)
    end: date | None  # last day in force (None: open or unknown)
    reason: str
    summary: str
    program_id: str
    rule_id: str
    list_id: str
    entity_id: str | None  # None: an entity on no list (blocked by its owners)
    caption: str
    citations: tuple[Citation, ...]
    via: str | None = None  # how the effect reaches the entity asked about (a parent, its owners)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "state": self.state,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "reason": self.reason,
            "summary": self.summary,
            "program": self.program_id,
            "rule": self.rule_id,
            "list": self.list_id,
            "entity": {"id": self.entity_id, "caption": self.caption},
            "via": self.via,
            "citations": [c.to_dict() for c in self.citations],
        }


@dataclass(frozen=True, slots=True)
class Change:
    """The next date on which an effect starts or ends, as far as is known on the day asked about."""

    on: date
    kind: str
    change: str  # starts | ends
    list_id: str

    @property
    def text(self) -> str:
        label = self.kind.replace("_", " ")
        if self.change == "starts":
            return f"{label} starts {self.on}"
        return f"{label} ends after {self.on - _DAY}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.on.isoformat(),
            "kind": self.kind,
            "change": self.change,
            "list": self.list_id,
            "text": self.text,
        }


def effects_on(
    listing: Listing, book: ProgramBook, day: date, *, via: str | None = None, subsidiaries_only: bool = False
) -> list[Effect]:
    """The effects of one listing on `day`, from the events known by then (later ones are ignored).

    For each rule: the window of the determination in force on the day (pending, in force,
    suspended or ended), else the last window that was ever in force (ended). A listing already in
    its list's earliest snapshot is `unknown` before that snapshot. `subsidiaries_only` keeps the
    programs that reach subsidiaries (for a parent's listing, with `via` naming the parent).
    """
    programs = [
        p
        for p in book.for_entry(listing.list_id, listing.programs)
        if p.enacted <= day and (p.covers_subsidiaries is not None or not subsidiaries_only)
    ]
    known = tuple(ev for ev in listing.events if ev.effective_on <= day)
    if not known:
        first = listing.events[0] if listing.events else None
        if first is None or first.date_basis != DateBasis.FIRST_SNAPSHOT:
            return []
        reason = f"on the list by {first.effective_on} (earliest snapshot); not known on {day}"
        return [
            _effect(listing, program, rule, "unknown", None, None, reason, via)
            for program in programs
            for rule in program.rules
            if rule.schemas is None or listing.schema in rule.schemas
        ]
    windows = listing_windows(replace(listing, events=known), programs)
    current: dict[str, Window] = {}
    last_in_force: dict[str, Window] = {}
    for window in windows:
        if window.current_on(day):
            current[window.rule.id] = window
        elif window.in_force():
            last_in_force[window.rule.id] = window
    chosen = [current.get(rule_id) or last_in_force[rule_id] for rule_id in {**last_in_force, **current}]
    effects = []
    for window in chosen:
        state = window.state_on(day)
        if state == "ended" and not window.in_force():
            continue  # never came into force (a ban enjoined before it started)
        effects.append(_window_effect(window, state, day, via))
    return effects


def _window_effect(window: Window, state: str, day: date, via: str | None) -> Effect:
    reason = window.reason
    suspension = window.period.suspension_on(day) if state == "suspended" else None
    if suspension is not None:
        reason += f"; suspended from {suspension.start}: {suspension.order.kind} ({suspension.order.source})"
    elif window.end_reason and window.end is not None:
        reason += f"; {window.end_reason}"
    return _effect(window.listing, window.program, window.rule, state, window.start, window.end, reason, via)


def _effect(
    listing: Listing,
    program: Program,
    rule: Rule,
    state: str,
    start: date | None,
    end: date | None,
    reason: str,
    via: str | None,
) -> Effect:
    citations = rule.citations
    if via is not None and program.covers_subsidiaries is not None:
        citations += program.covers_subsidiaries.citations
    return Effect(
        kind=rule.kind,
        state=state,
        start=start,
        end=end,
        reason=reason,
        summary=rule.summary,
        program_id=program.id,
        rule_id=rule.id,
        list_id=listing.list_id,
        entity_id=listing.entity_id,
        caption=listing.caption,
        citations=citations,
        via=via,
    )


def next_change(effects: Iterable[Effect], day: date) -> Change | None:
    """The first day after `day` on which one of the effects starts or ends, as known on `day`
    (of two on one day, a start before an end, then the effect given first)."""
    changes = []
    for index, effect in enumerate(effects):
        if effect.state == "pending" and effect.start is not None and effect.start > day:
            changes.append(
                (effect.start, 0, index, Change(effect.start, effect.kind, "starts", effect.list_id))
            )
        elif effect.state in ("in_force", "pending") and effect.end is not None and effect.end >= day:
            ends = effect.end + _DAY
            changes.append((ends, 1, index, Change(ends, effect.kind, "ends", effect.list_id)))
    return min(changes, key=lambda c: c[:3])[3] if changes else None


@dataclass(frozen=True)
class EffectInterval:
    """A stretch of days over which one effect was in force (or suspended by a court)."""

    kind: str
    state: str  # in_force | suspended
    start: date
    end: date  # last day, at most the end of the range asked about
    reason: str
    program_id: str
    rule_id: str
    list_id: str
    entity_id: str | None  # None: an entity on no list (blocked by its owners)
    caption: str
    citations: tuple[Citation, ...]
    via: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "state": self.state,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reason": self.reason,
            "program": self.program_id,
            "rule": self.rule_id,
            "list": self.list_id,
            "entity": {"id": self.entity_id, "caption": self.caption},
            "via": self.via,
            "citations": [c.to_dict() for c in self.citations],
        }


def effect_timeline(
    listing: Listing,
    book: ProgramBook,
    *,
    start: date,
    end: date,
    via: str | None = None,
    subsidiaries_only: bool = False,
) -> list[EffectInterval]:
    """Every stretch of days in [start, end] over which an effect of the listing was in force or
    suspended, with every event known (hindsight), in date order."""
    programs = [
        p
        for p in book.for_entry(listing.list_id, listing.programs)
        if p.covers_subsidiaries is not None or not subsidiaries_only
    ]
    found = []
    for window in listing_windows(listing, programs):
        effect = _effect(
            listing, window.program, window.rule, "in_force", window.start, window.end, window.reason, via
        )
        stretches = [(lo, hi, "in_force") for lo, hi in window.in_force()]
        if window.end is None or window.start <= window.end:
            for suspension in window.period.suspensions:
                lo = max(suspension.start, window.start)
                hi = _earlier(suspension.end, window.end)
                if hi is None or lo <= hi:
                    stretches.append((lo, hi, "suspended"))
        for lo, hi, state in stretches:
            clipped_lo, clipped_hi = max(lo, start), min(hi or end, end)
            if clipped_lo > clipped_hi:
                continue
            found.append(
                EffectInterval(
                    kind=effect.kind,
                    state=state,
                    start=clipped_lo,
                    end=clipped_hi,
                    reason=effect.reason,
                    program_id=effect.program_id,
                    rule_id=effect.rule_id,
                    list_id=effect.list_id,
                    entity_id=effect.entity_id,
                    caption=effect.caption,
                    citations=effect.citations,
                    via=via,
                )
            )
    found.sort(key=lambda i: (i.start, i.list_id, i.kind, i.state))
    return found


def _earlier(a: date | None, b: date | None) -> date | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
