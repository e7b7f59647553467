"""Trading calendars: which session an event falls on, in the security's own market.

A security's calendar is the days it has a price (placeholder rows for holidays already dropped by
`prices`). An event maps to the first session at or after its date; an announcement made after
that market's close (a US notice about a Hong Kong share) maps to the first session after its date
(`after_close`). The `previous` rule (the last session at or before the date) is what the R package
`eventstudies` does, kept for reproducing it.

    day0 = event_sessions(series.dates, np.array(["2021-01-14"], "datetime64[D]"), after_close=True)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["DateRule", "event_sessions", "market_sessions_between"]

DateRule = Literal["next", "previous"]
IntArray = npt.NDArray[np.int64]


def event_sessions(
    dates: npt.NDArray[np.datetime64],
    event_dates: npt.NDArray[np.datetime64],
    *,
    after_close: bool | npt.NDArray[np.bool_] = False,
    rule: DateRule = "next",
    max_gap_days: int = 10,
) -> IntArray:
    """Index into `dates` of each event's day 0, or -1 when the calendar has no such session.

    With `next`, a session more than `max_gap_days` calendar days after the event is not taken for
    it (the security was not trading, or the prices end): -1. With `previous`, an event after the
    last price or before the first is -1.
    """
    events = np.asarray(event_dates, dtype="datetime64[D]")
    late = np.broadcast_to(np.asarray(after_close, dtype=bool), events.shape)
    if dates.size == 0:
        return np.full(events.shape, -1, dtype=np.int64)
    if rule == "previous":
        index = np.searchsorted(dates, events, side="right") - 1
        inside = (index >= 0) & (events <= dates[-1])
        return np.where(inside, index, -1).astype(np.int64)
    left = np.searchsorted(dates, events, side="left")
    right = np.searchsorted(dates, events, side="right")
    index = np.where(late, right, left)
    found = index < dates.size
    safe = np.minimum(index, dates.size - 1)
    gap = (dates[safe] - events).astype(np.int64)
    return np.where(found & (gap <= max_gap_days), index, -1).astype(np.int64)


def market_sessions_between(
    market_dates: npt.NDArray[np.datetime64], dates: npt.NDArray[np.datetime64]
) -> IntArray:
    """For each day of a security's calendar, the market sessions since its previous day (1 normally;
    more when the security did not trade on some of the market's sessions: thin trading)."""
    position = np.searchsorted(market_dates, dates, side="right")
    counts = np.empty(dates.shape, dtype=np.int64)
    counts[0] = 1
    counts[1:] = np.diff(position)
    return counts
