"""From events and price files to an `EventPanel`: calendars, windows, and every data problem found.

Each security's returns are computed on its own calendar; the market index's close is taken as of
each of those days (its last close on or before it), so a day the security did not trade makes one
longer return for both. Events are placed with `calendars.event_sessions`; one compiled pass over
the concatenated series (`kernels.gather_windows`) copies every event window and counts what the
data checks need. The estimation windows are only counted: the panel keeps them as runs of the
concatenated series (`models.EstimationRuns`), which the market model reads directly.

What cannot be used is reported per event (`EventIssue`) and the event's rows are left NaN, so that
one bad event never turns the sample into NaN:
unknown security, no session near the date (out of range), no return on day 0, too short an
estimation window (invalid); missing days in the window, thin trading, another event of the same
security in the estimation window (which is moved back) or overlapping its event window, a market
index of another market (warnings).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, overload

import numpy as np

from listwatch.errors import ImpactError
from listwatch.impact.calendars import event_sessions, market_sessions_between
from listwatch.impact.factors import FactorTable
from listwatch.impact.loops import kernels_for
from listwatch.impact.models import (
    BoolArray,
    EstimationRuns,
    EventPanel,
    FloatArray,
    IntArray,
    NormalReturnModel,
)
from listwatch.impact.options import StudyOptions
from listwatch.impact.prices import PriceBook, PriceSeries

__all__ = ["EventIssue", "PanelBuild", "PlacedEvent", "PlacedEvents", "StudyEvent", "build_panel"]


@dataclass(frozen=True)
class StudyEvent:
    """One event to study: a security (a symbol of the price files) and a date."""

    security: str | None
    event_date: date
    label: str = ""  # listed, enjoined... or the events file's own label
    name: str | None = None  # the entity's or security's name
    entity_id: str | None = None
    market: str | None = None  # the security's market when known (HK, US)
    citation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "security": self.security,
            "date": self.event_date.isoformat(),
            "label": self.label,
            "name": self.name,
            "entity_id": self.entity_id,
            "market": self.market,
            "citation": self.citation,
        }


@dataclass(frozen=True)
class EventIssue:
    code: str
    message: str
    severity: Literal["invalid", "warning"] = "warning"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


@dataclass(frozen=True)
class PlacedEvent:
    """Where an event landed: its day 0 and estimation window in the security's calendar."""

    event: StudyEvent
    symbol: str | None
    day0: date | None
    estimation: tuple[date, date] | None
    issues: tuple[EventIssue, ...]

    @property
    def valid(self) -> bool:
        return not any(issue.severity == "invalid" for issue in self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.event.to_dict(),
            "symbol": self.symbol,
            "day0": self.day0.isoformat() if self.day0 else None,
            "estimation": [d.isoformat() for d in self.estimation] if self.estimation else None,
            "valid": self.valid,
            "issues": [issue.to_dict() for issue in self.issues],
        }


class PlacedEvents(Sequence[PlacedEvent]):
    """Every event's `PlacedEvent`, made when asked for: a study of 10,000 events keeps its
    placements as arrays and its issues where there are some, and builds the objects (dates,
    messages) for the events a table or a report shows."""

    def __init__(
        self,
        events: list[StudyEvent],
        prepared: list[_Prepared | None],
        day0: IntArray,  # row of day 0 in the security's series, -1 when not placed
        est_span: tuple[IntArray, IntArray],  # first and last estimation day (days since 1970)
        issues: tuple[dict[int, list[EventIssue]], dict[int, list[EventIssue]]],  # before, after
        overlaps: tuple[IntArray, IntArray],  # the neighbouring event whose window overlaps, or -1
        model_issues: dict[int, EventIssue] | None = None,
    ) -> None:
        self._events = events
        self._prepared = prepared
        self._day0 = day0
        self._est_span = est_span
        self._issues = issues
        self._overlaps = overlaps
        self._model_issues = model_issues or {}
        self._built: dict[int, PlacedEvent] = {}

    def with_model_issues(self, model_issues: dict[int, EventIssue]) -> PlacedEvents:
        """The same placements, with the events the model could not fit marked invalid."""
        return PlacedEvents(
            self._events,
            self._prepared,
            self._day0,
            self._est_span,
            self._issues,
            self._overlaps,
            {**self._model_issues, **model_issues},
        )

    def __len__(self) -> int:
        return len(self._events)

    @overload
    def __getitem__(self, index: int) -> PlacedEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[PlacedEvent]: ...

    def __getitem__(self, index: int | slice) -> PlacedEvent | list[PlacedEvent]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index not in self._built:
            self._built[index] = self._make(index)
        return self._built[index]

    def _make(self, i: int) -> PlacedEvent:
        before, after = self._issues
        found = list(before.get(i, ()))
        found += [self._overlap(int(other[i])) for other in self._overlaps if other[i] >= 0]
        found += after.get(i, ())
        prep = self._prepared[i]
        if prep is not None:
            found += [EventIssue("data", note) for note in prep.notes]
        if i in self._model_issues:
            found.append(self._model_issues[i])
        day0, window = None, None
        if prep is not None and self._day0[i] >= 0:
            day0 = prep.series.dates[self._day0[i]].tolist()
            first, last = self._est_span[0][i], self._est_span[1][i]
            if last >= 0:
                window = (np.datetime64(int(first), "D").tolist(), np.datetime64(int(last), "D").tolist())
        symbol = prep.series.symbol if prep is not None else None
        return PlacedEvent(self._events[i], symbol, day0, window, tuple(found))

    def _overlap(self, other: int) -> EventIssue:
        event = self._events[other]
        return EventIssue(
            "overlapping_windows",
            f"event windows overlap with the {event.label or 'other'} event of "
            f"{event.event_date} (same security)",
        )


@dataclass(frozen=True)
class PanelBuild:
    panel: EventPanel
    placed: PlacedEvents
    valid: BoolArray
    series: dict[str, PriceSeries]  # by symbol, the securities used
    markets: dict[str, str]  # symbol -> the market index's symbol used for it


_EPOCH = date(1970, 1, 1).toordinal()


@dataclass
class _Prepared:
    series: PriceSeries
    market: PriceSeries | None
    y: FloatArray
    x: FloatArray  # n x k
    missed: IntArray  # market sessions skipped before each day
    notes: list[str]


def _returns(close: FloatArray, kind: str) -> FloatArray:
    out = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = np.diff(np.log(close)) if kind == "log" else close[1:] / close[:-1] - 1.0
    return out


def _market_close(market: PriceSeries, dates: Any) -> FloatArray:
    index = np.searchsorted(market.dates, dates, side="right") - 1
    inside = (index >= 0) & (dates <= market.dates[-1])
    return np.where(inside, market.close[np.maximum(index, 0)], np.nan)


def _prepare(
    series: PriceSeries,
    market: PriceSeries | None,
    factors: FactorTable | None,
    model: NormalReturnModel,
    kind: str,
) -> _Prepared:
    y = _returns(series.close, kind)
    columns: list[FloatArray] = []
    notes: list[str] = []
    for need in model.needs:
        if need == "market":
            if market is None:
                raise ImpactError(f"model {model.name!r} needs a market index: give --market")
            columns.append(_returns(_market_close(market, series.dates), kind))
        else:
            if factors is None or need not in factors.columns:
                raise ImpactError(f"model {model.name!r} needs factor {need!r}: give --factors with it")
            columns.append(factors.aligned(need, series.dates))
    if model.excess:
        if factors is not None and "rf" in factors.columns:
            y = y - factors.aligned("rf", series.dates)
        else:
            notes.append("no RF column in the factor file: returns not in excess of a risk-free rate")
    x = np.column_stack(columns) if columns else np.zeros((y.size, 0))
    missed = (
        market_sessions_between(market.dates, series.dates) - 1
        if market is not None
        else np.zeros(y.size, dtype=np.int64)
    )
    return _Prepared(series, market, y, x, np.maximum(missed, 0), notes)


def _pick_market(
    series: PriceSeries, event: StudyEvent, markets: dict[str | None, PriceSeries]
) -> tuple[PriceSeries | None, EventIssue | None]:
    own = event.market or series.market
    if own is not None and own in markets:
        return markets[own], None
    default = markets.get(None)
    if default is None:
        chosen = next(iter(markets.values()), None) if len(markets) == 1 else None
        return chosen, None
    theirs = default.market
    if own and theirs and own != theirs:
        return default, EventIssue(
            "market_mismatch", f"no market index for {own}; {default.symbol} ({theirs}) used instead"
        )
    return default, None


def build_panel(
    events: list[StudyEvent],
    book: PriceBook,
    *,
    model: NormalReturnModel,
    options: StudyOptions,
    markets: dict[str | None, PriceSeries] | None = None,
    factors: FactorTable | None = None,
) -> PanelBuild:
    markets = markets or {}
    span_start, span_end = options.span
    est_start, est_end = options.estimation or (span_start, span_start - 1)
    m = est_end - est_start + 1
    issues: dict[int, list[EventIssue]] = defaultdict(list)  # found before the overlaps
    later: dict[int, list[EventIssue]] = defaultdict(list)  # found after them
    prepared: dict[tuple[str, str | None], _Prepared] = {}
    # many events share a security: each (security, market) pair is looked up and prepared once
    pair_code: dict[tuple[str | None, str | None], int] = {}
    codes = np.array(
        [pair_code.setdefault((e.security, e.market), len(pair_code)) for e in events], dtype=np.int64
    )
    by_code = np.argsort(codes, kind="stable")  # the events of pair c: by_code[bounds[c]:bounds[c + 1]]
    bounds = np.searchsorted(codes[by_code], np.arange(len(pair_code) + 1)).tolist()
    prep_of_pair: list[_Prepared | None] = []
    for code, (security, _market) in enumerate(pair_code):
        members = by_code[bounds[code] : bounds[code + 1]].tolist()
        series = book.find(security) if security else None
        problem: EventIssue | None = None
        if series is None:
            what = (
                f"no price file for {security}"
                if security
                else "no price file: neither the mapping file nor a published ticker links it to one"
            )
            problem = EventIssue("unknown_security", what, "invalid")
            prep_of_pair.append(None)
        else:
            market, problem = _pick_market(series, events[members[0]], markets)
            key = (series.symbol + "|" + series.source, market.symbol if market else None)
            if key not in prepared:
                prepared[key] = _prepare(series, market, factors, model, options.returns)
            prep_of_pair.append(prepared[key])
        if problem:
            for i in members:
                issues[i].append(problem)
    series_of = [prep_of_pair[c] for c in codes.tolist()]
    # One long array of every prepared series: an event's window is a run of it.
    order = list(prepared.values())
    starts = np.cumsum([0] + [p.y.size for p in order])[:-1]  # empty when no event has prices
    offsets = {id(p): int(off) for p, off in zip(order, starts, strict=True)}
    k = len(model.needs)
    all_y = np.concatenate([p.y for p in order]) if order else np.zeros(0)
    all_x = np.concatenate([p.x for p in order]) if order else np.zeros((0, k))
    all_missed = np.concatenate([p.missed for p in order]) if order else np.zeros(0, dtype=np.int64)
    all_days = (
        np.concatenate([p.series.dates.astype(np.int64) for p in order])
        if order
        else np.zeros(0, dtype=np.int64)
    )

    n = len(events)
    day0 = np.full(n, -1, dtype=np.int64)
    est_first = np.full(n, est_start, dtype=np.int64)
    offset = np.zeros(n, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    by_series: dict[int, list[int]] = defaultdict(list)
    # the events of each prepared series, in the order of their first event
    number = {id(p): k for k, p in enumerate(order)}
    pair_prep = np.array([number[id(p)] if p is not None else -1 for p in prep_of_pair], dtype=np.int64)
    event_prep = pair_prep[codes] if codes.size else np.zeros(0, dtype=np.int64)
    by_prep = np.argsort(event_prep, kind="stable")
    cuts = np.searchsorted(event_prep[by_prep], np.arange(len(order) + 1)).tolist()
    groups = {id(p): by_prep[cuts[k] : cuts[k + 1]].tolist() for k, p in enumerate(order)}
    by_id = {id(p): p for p in order}
    # day numbers from ordinals: much faster than numpy converting 10,000 date objects
    event_days = (np.array([e.event_date.toordinal() for e in events], dtype=np.int64) - _EPOCH).astype(
        "datetime64[D]"
    )
    for group_id, members in groups.items():
        prep = by_id[group_id]
        idx = np.array(members, dtype=np.int64)
        dates = prep.series.dates
        found = event_sessions(
            dates,
            event_days[idx],
            after_close=options.after_close,
            rule=options.date_rule,
            max_gap_days=options.max_gap_days,
        )
        for i in idx[found < 0]:
            issues[i].append(
                EventIssue(
                    "out_of_range",
                    f"no session of {prep.series.symbol} for {events[i].event_date} "
                    f"(prices {prep.series.first} to {prep.series.last})",
                    "invalid",
                )
            )
        ok, placed_idx = found >= 0, idx[found >= 0]
        day0[placed_idx], offset[placed_idx], size[placed_idx] = found[ok], offsets[group_id], prep.y.size
        by_series[group_id] = placed_idx.tolist()
        if options.estimation_end is not None and m > 0:
            cut = int(np.searchsorted(dates, np.datetime64(options.estimation_end))) - 1 - found[ok]
            est_first[placed_idx] = np.where(cut < est_end, est_start - (est_end - cut), est_start)
    prev_overlap = np.full(n, -1, dtype=np.int64)
    next_overlap = np.full(n, -1, dtype=np.int64)
    for members in by_series.values():
        _same_firm(
            members, day0, est_first, m, (span_start, span_end), options, later, (prev_overlap, next_overlap)
        )

    kernels = kernels_for(len(events))  # compiled (numba) unless the study is small

    placed_ok = day0 >= 0
    sources = (all_y, np.ascontiguousarray(all_x), all_days, all_missed.astype(np.int64, copy=False))
    est_row = np.where(placed_ok, day0 + est_first, 0)
    # the estimation windows are only counted here (the model reads them from the series as runs)
    est_have, est_skipped, est_zeros, est_lo, est_hi, est_low, est_high = _count_windows(
        *sources, offset, size, est_row, m, placed_ok
    )
    evt_y, evt_x, _, evt_ok, _, evt_thin, _, _, _, _, _, _ = kernels.gather_windows(
        *sources,
        offset,
        size,
        np.where(placed_ok, day0 + span_start, 0),
        span_end - span_start + 1,
        placed_ok,
        True,
    )
    _check(placed_ok, est_have, est_zeros, est_skipped, evt_ok, evt_thin, -span_start, m, options, later)
    valid = placed_ok.copy()
    for collected in (issues, later):
        for i, listed in collected.items():
            if any(issue.severity == "invalid" for issue in listed):
                valid[i] = False
    evt_y[~valid] = np.nan

    runs = EstimationRuns(
        y=all_y,
        x=sources[1],
        days=all_days,
        start=offset + est_row,
        low=est_low,
        high=est_high,
        use=valid.copy(),
        width=m,
    )
    panel = EventPanel(
        evt_y=evt_y,
        evt_x=evt_x,
        regressors=model.needs,
        est_days=np.arange(est_start, est_end + 1, dtype=np.int64),
        evt_days=np.arange(span_start, span_end + 1, dtype=np.int64),
        runs=runs,
    )
    placed = PlacedEvents(
        events,
        series_of,
        day0,
        (est_lo, est_hi),
        (dict(issues), dict(later)),
        (prev_overlap, next_overlap),
    )
    # the securities used, in the order of their first event (`order` is), each with the series and
    # market index of its latest event
    latest: dict[str, tuple[int, PriceSeries]] = {}
    latest_market: dict[str, tuple[int, str]] = {}
    for prep in order:
        last, symbol = groups[id(prep)][-1], prep.series.symbol
        if last > latest.get(symbol, (-1, prep.series))[0]:
            latest[symbol] = (last, prep.series)
        if prep.market is not None and last > latest_market.get(symbol, (-1, ""))[0]:
            latest_market[symbol] = (last, prep.market.symbol)
    used = {symbol: series for symbol, (_, series) in latest.items()}
    market_used = {symbol: market for symbol, (_, market) in latest_market.items()}
    return PanelBuild(panel=panel, placed=placed, valid=valid, series=used, markets=market_used)


def _count_windows(
    all_y: FloatArray,
    all_x: FloatArray,
    all_days: IntArray,
    all_missed: IntArray,
    offset: IntArray,
    size: IntArray,
    first: IntArray,
    width: int,
    placed: BoolArray,
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray, IntArray]:
    """What `kernels.gather_windows` counts over each event's window, from running sums over the
    concatenated series (O(1) an event, not O(width)): days with a return and every regressor, the
    market sessions skipped and the zero returns on those days, the first (days >= 0) and last day,
    and the columns inside the series [low, high). A series' days increase, so its days before 1970
    (negative) come first in a window."""
    good = np.isfinite(all_y) & np.isfinite(all_x).all(axis=1)

    def running(values: Any) -> IntArray:
        out: IntArray = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
        return out

    low = np.where(placed, np.clip(-first, 0, width), 0)
    high = np.where(placed, np.maximum(np.minimum(width, size - first), low), 0)
    inside = high > low  # else the window holds no row of its series (or the event is not placed)
    a = np.where(inside, offset + first + low, 0)
    b = np.where(inside, offset + first + high, 0)
    have, skipped, zeros, negative = (
        c[b] - c[a]
        for c in (
            running(good),
            running(np.where(good, all_missed, 0)),
            running(good & (all_y == 0.0)),
            running(all_days < 0),
        )
    )
    last = np.where(inside, b - 1, 0)
    at = np.minimum(a + negative, np.maximum(b - 1, 0))
    first_day = np.where(
        inside & (a + negative < b), all_days[at] if all_days.size else 0, np.iinfo(np.int64).max
    )
    partial = (low > 0) | (high < width)
    last_day = np.where(inside, all_days[last] if all_days.size else 0, -1)
    last_day = np.where(inside & partial, np.maximum(last_day, -1), last_day)
    return have, skipped, zeros, first_day, last_day, low, high


def _same_firm(
    members: list[int],
    day0: IntArray,
    est_first: IntArray,
    m: int,
    span: tuple[int, int],
    options: StudyOptions,
    issues: dict[int, list[EventIssue]],
    overlaps: tuple[IntArray, IntArray],
) -> None:
    """Several events of one security: mark overlapping event windows (each event with its earlier
    and later neighbour, whose issue `PlacedEvents` words); with `same_firm="shift"`, move each
    estimation window back until it holds no other event's window."""
    if len(members) < 2:
        return
    index = np.array(members, dtype=np.int64)
    ordered_index = index[np.argsort(day0[index], kind="stable")]
    days = day0[ordered_index]
    at = np.flatnonzero(days[1:] + span[0] <= days[:-1] + span[1])
    prev_overlap, next_overlap = overlaps
    next_overlap[ordered_index[at]] = ordered_index[at + 1]
    prev_overlap[ordered_index[at + 1]] = ordered_index[at]
    if options.same_firm != "shift" or m == 0 or options.estimation_end is not None:
        return
    # the earlier events whose windows meet [start, end] are a run of the sorted days: found by
    # bisection, so that a security with many events costs n log n, not n^2
    sorted_days = days.tolist()
    low_day, high_day = span
    for i in ordered_index.tolist():
        start = int(day0[i] + est_first[i])
        moved = False
        before = bisect_left(sorted_days, int(day0[i]))  # events strictly earlier than this one
        for _ in range(len(members)):
            first = bisect_left(sorted_days, start - high_day, 0, before)
            last = bisect_right(sorted_days, start + m - 1 - low_day, 0, before)
            if first >= last:
                break
            end = sorted_days[first] + low_day - 1
            start = end - m + 1
            moved = True
        if moved:
            est_first[i] = start - day0[i]
            issues[i].append(
                EventIssue(
                    "same_firm",
                    f"estimation window moved back to end {-(start + m - 1 - day0[i])} days before the event, "
                    "clear of earlier events of the same security",
                )
            )


def _check(
    placed: BoolArray,
    have: IntArray,
    est_zeros: IntArray,
    skipped: IntArray,
    evt_ok: BoolArray,
    evt_thin: IntArray,
    zero_col: int,
    m: int,
    options: StudyOptions,
    issues: dict[int, list[EventIssue]],
) -> None:
    """Every placed event's data problems, from what `kernels.gather_windows` counted: estimation
    days with a return and all regressors (`have`), the zero returns and market sessions skipped on
    those days, event-window days with them (`evt_ok`), sessions skipped over the event window."""
    no_day0 = placed & ~evt_ok[:, zero_col]
    missing = (~evt_ok).sum(axis=1) - no_day0
    zero_share = est_zeros / np.maximum(have, 1)
    short = have < options.min_estimation
    thin = (zero_share > options.thin_trading_share) | (skipped > options.thin_trading_share * have)
    flagged = placed & (no_day0 | (missing > 0) | (evt_thin > 0) | ((m > 0) & (short | (have < m) | thin)))
    for i in np.flatnonzero(flagged).tolist():
        add = issues[i].append
        if no_day0[i]:
            add(
                EventIssue(
                    "no_return_on_event_day", "no return on day 0 (first price, or no market data)", "invalid"
                )
            )
        if missing[i]:
            add(
                EventIssue(
                    "missing_returns",
                    f"{missing[i]} event-window day(s) without a return: left out of windows covering them",
                )
            )
        if evt_thin[i]:
            add(
                EventIssue(
                    "thin_trading", f"did not trade on {evt_thin[i]} market session(s) in the event window"
                )
            )
        if m == 0:
            continue
        if short[i]:
            add(
                EventIssue(
                    "short_estimation",
                    f"{have[i]} estimation returns, needs {options.min_estimation}",
                    "invalid",
                )
            )
        elif have[i] < m:
            add(EventIssue("short_estimation", f"estimation window has {have[i]} of {m} returns"))
        if thin[i] and have[i]:
            add(
                EventIssue(
                    "thin_trading",
                    f"thin trading: {zero_share[i]:.0%} zero returns and {skipped[i]} market sessions without a "
                    "trade in the estimation window",
                )
            )
