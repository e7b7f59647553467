"""Portfolio screening: which listed entity each holding is, and what its listings mean by date.

Each holding is matched to stored entries by identifier first (ISIN, then ticker with its market,
from the identifiers the lists publish), each identifier match bringing in the entries of other
lists with the same primary name (or that name less trailing legal forms: "CRRC Corporation
Limited" finds the DoD's "CRRC Corporation"). Only a holding that no identifier matches is matched
by name, with the `Screener`: the best match above the threshold on each list. Then come the
published parent links (`rules.parents`): the listed parents, whose programs may reach the holding
(the CCMC ban reached China Mobile Limited through China Mobile Communications Group), and the
listed subsidiaries, shown for information (a subsidiary's listing does not restrict its parent).

`screen_portfolio` answers for one day: the effects on that day (`rules.effects.listing_effects`)
and the next change ahead. `portfolio_timeline` answers for a range of days with hindsight: every
stretch over which an effect was in force or suspended (`rules.effects.listing_timeline`), and the
court orders in the range.

    xiaomi = Holding(row_number=1, key="1", ticker="1810.HK")
    screen_portfolio(store, [xiaomi], as_of=date(2021, 3, 11)).holdings[0].next_change.text
    # 'purchase ban starts 2021-03-15'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from listwatch.catalog import get_list
from listwatch.errors import InvalidQuery
from listwatch.identifiers import identifier_key, parse_identifier_query
from listwatch.matching.query import MatchQuery
from listwatch.matching.score import DEFAULT_THRESHOLD
from listwatch.model import EventKind, name_key
from listwatch.registry.replay import ENDING_KINDS
from listwatch.rules.effects import listing_effects, listing_timeline
from listwatch.rules.engine import Change, Effect, EffectInterval
from listwatch.rules.listings import Listing
from listwatch.rules.parents import (
    Parent,
    entity_ids_by_names,
    linked_parents,
    linked_subsidiaries,
    listings_of,
    name_variants,
)
from listwatch.rules.programs import ProgramBook, load_programs
from listwatch.screening.holdings import Holding, read_holdings
from listwatch.screening.screener import Screener
from listwatch.store import Store, queries

__all__ = [
    "HOW",
    "CourtEvent",
    "EntityMatch",
    "Holding",
    "HoldingResult",
    "HoldingTimeline",
    "PortfolioResult",
    "PortfolioTimeline",
    "portfolio_timeline",
    "read_holdings",
    "screen_portfolio",
]

#: How a holding reached a listed entity, in the order matches are tried and reported.
HOW = ("isin", "ticker", "name", "parent", "subsidiary")
_DIRECT = ("isin", "ticker", "name")
_COURT = (EventKind.ENJOINED.value, EventKind.REINSTATED.value, EventKind.VACATED.value)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class EntityMatch:
    """A stored list entry a holding reached, and how."""

    entity_id: str
    list_id: str
    caption: str
    how: str  # one of HOW
    detail: str  # the identifier, the name score, or the link followed
    score: float | None = None  # name matches only

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entity_id,
            "list": self.list_id,
            "caption": self.caption,
            "how": self.how,
            "detail": self.detail,
            "score": round(self.score, 4) if self.score is not None else None,
        }


@dataclass(frozen=True)
class HoldingResult:
    """One holding on one day: its matches, the effects on that day, the next change ahead."""

    holding: Holding
    matches: tuple[EntityMatch, ...] = ()
    effects: tuple[Effect, ...] = ()
    next_change: Change | None = None

    @property
    def in_force(self) -> tuple[Effect, ...]:
        return tuple(e for e in self.effects if e.state == "in_force")

    @property
    def restricted(self) -> bool:
        return bool(self.in_force)

    @property
    def has_effects(self) -> bool:
        return bool(self.effects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "holding": self.holding.to_dict(),
            "matches": [m.to_dict() for m in self.matches],
            "restricted": self.restricted,
            "effects": [e.to_dict() for e in self.effects],
            "next_change": self.next_change.to_dict() if self.next_change else None,
        }


@dataclass(frozen=True)
class PortfolioResult:
    as_of: date
    lists: tuple[str, ...] | None  # None: every stored list
    threshold: float
    holdings: tuple[HoldingResult, ...]

    def summary(self) -> dict[str, int]:
        return _summary(self.holdings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "lists": list(self.lists) if self.lists else None,
            "threshold": self.threshold,
            "summary": self.summary(),
            "holdings": [h.to_dict() for h in self.holdings],
        }


@dataclass(frozen=True)
class CourtEvent:
    """A court order on a matched entry (or a parent reaching the holding), for timeline charts."""

    on: date
    kind: str  # enjoined | reinstated | vacated
    entity_id: str
    list_id: str
    caption: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.on.isoformat(),
            "kind": self.kind,
            "entity": {"id": self.entity_id, "caption": self.caption},
            "list": self.list_id,
            "source": self.source,
        }


@dataclass(frozen=True)
class HoldingTimeline:
    """One holding over a range of days: every stretch over which an effect reached it."""

    holding: Holding
    matches: tuple[EntityMatch, ...] = ()
    intervals: tuple[EffectInterval, ...] = ()
    court_events: tuple[CourtEvent, ...] = ()

    def spans(self, state: str = "in_force") -> list[tuple[date, date]]:
        """The days on which some effect was in `state`, as merged stretches (first, last day)."""
        merged: list[tuple[date, date]] = []
        for interval in sorted((i for i in self.intervals if i.state == state), key=lambda i: i.start):
            if merged and interval.start <= merged[-1][1] + _DAY:
                merged[-1] = (merged[-1][0], max(merged[-1][1], interval.end))
            else:
                merged.append((interval.start, interval.end))
        return merged

    @property
    def restricted(self) -> bool:
        """Whether some effect was in force on some day of the range."""
        return any(i.state == "in_force" for i in self.intervals)

    @property
    def has_effects(self) -> bool:
        return bool(self.intervals)

    def to_dict(self) -> dict[str, Any]:
        return {
            "holding": self.holding.to_dict(),
            "matches": [m.to_dict() for m in self.matches],
            "restricted": self.restricted,
            "restricted_spans": [[lo.isoformat(), hi.isoformat()] for lo, hi in self.spans("in_force")],
            "suspended_spans": [[lo.isoformat(), hi.isoformat()] for lo, hi in self.spans("suspended")],
            "intervals": [i.to_dict() for i in self.intervals],
            "court_events": [c.to_dict() for c in self.court_events],
        }


@dataclass(frozen=True)
class PortfolioTimeline:
    start: date
    end: date
    lists: tuple[str, ...] | None
    threshold: float
    holdings: tuple[HoldingTimeline, ...]

    def summary(self) -> dict[str, int]:
        return _summary(self.holdings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "lists": list(self.lists) if self.lists else None,
            "threshold": self.threshold,
            "summary": self.summary(),
            "holdings": [h.to_dict() for h in self.holdings],
        }


def _summary(rows: Sequence[HoldingResult] | Sequence[HoldingTimeline]) -> dict[str, int]:
    """The counts both a day's result and a range's timeline report."""
    return {
        "holdings": len(rows),
        "matched": sum(1 for r in rows if r.matches),
        "restricted": sum(1 for r in rows if r.restricted),
        "with_effects": sum(1 for r in rows if r.has_effects),
        "not_screened": sum(1 for r in rows if r.holding.error),
    }


def screen_portfolio(
    store: Store,
    holdings: Sequence[Holding],
    *,
    as_of: date,
    lists: Sequence[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    cache_dir: Path | None = None,
    book: ProgramBook | None = None,
) -> PortfolioResult:
    """Each holding's matches on the lists (`lists`, or all), the effects of those listings on
    `as_of` (as known that day) and the next change ahead; rows with an `error` pass through."""
    matcher = _Matcher(store, lists, threshold, cache_dir, book, probe_days=[as_of])
    results = []
    for holding in holdings:
        if holding.error:
            results.append(HoldingResult(holding))
            continue
        found = matcher.match(holding)
        effects, change = listing_effects(found.direct, found.parents, as_of=as_of, book=matcher.book)
        results.append(HoldingResult(holding, found.matches, tuple(effects), change))
    return PortfolioResult(as_of, matcher.lists, threshold, tuple(results))


def portfolio_timeline(
    store: Store,
    holdings: Sequence[Holding],
    *,
    start: date,
    end: date,
    lists: Sequence[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    cache_dir: Path | None = None,
    book: ProgramBook | None = None,
) -> PortfolioTimeline:
    """Each holding's matches and every stretch of days in [start, end] over which an effect
    reached it, with hindsight (every stored event), and the court orders in the range.

    Names are matched against every entity live on some day of the range: those live on `end`
    and, for each delisting or vacatur in the range, those live the day before it."""
    if end < start:
        raise InvalidQuery(f"the range ends ({end}) before it starts ({start})")
    probe_days = _probe_days(store, lists, start, end)
    matcher = _Matcher(store, lists, threshold, cache_dir, book, probe_days=probe_days)
    results = []
    for holding in holdings:
        if holding.error:
            results.append(HoldingTimeline(holding))
            continue
        found = matcher.match(holding)
        intervals = listing_timeline(found.direct, found.parents, start=start, end=end, book=matcher.book)
        courts = _court_events([*found.direct, *(p.listing for p in found.parents)], start, end)
        results.append(HoldingTimeline(holding, found.matches, tuple(intervals), courts))
    return PortfolioTimeline(start, end, matcher.lists, threshold, tuple(results))


@dataclass(frozen=True)
class _Found:
    matches: tuple[EntityMatch, ...]
    direct: tuple[Listing, ...]  # the entries matched by identifier or name
    parents: tuple[Parent, ...]


class _Matcher:
    """Matches holdings to stored entries; name screeners are built on first use, one per day."""

    def __init__(
        self,
        store: Store,
        lists: Sequence[str] | None,
        threshold: float,
        cache_dir: Path | None,
        book: ProgramBook | None,
        *,
        probe_days: Sequence[date],
    ) -> None:
        self.store = store
        self.lists = tuple(sorted({get_list(list_id).id for list_id in lists})) if lists else None
        self.threshold = threshold
        self.cache_dir = cache_dir
        self.book = book or load_programs()
        self.probe_days = sorted(set(probe_days))
        self._screeners: list[Screener] | None = None

    def match(self, holding: Holding) -> _Found:
        matches = self._by_identifier(holding)
        if not matches and holding.name:
            matches = self._by_name(holding.name)
        direct = tuple(listings_of(self.store, [m.entity_id for m in matches]))
        direct_ids = {m.entity_id for m in matches}
        parents = [
            p for p in linked_parents(self.store, direct, book=self.book, exclude=direct_ids) if self._kept(p)
        ]
        related = direct_ids | {p.listing.entity_id for p in parents}
        children = [
            c
            for c in linked_subsidiaries(self.store, direct, book=self.book)
            if self._kept(c) and c.listing.entity_id not in related
        ]
        matches += [_link_match(p, "parent") for p in parents]
        matches += [_link_match(c, "subsidiary") for c in children]
        return _Found(tuple(matches), direct, tuple(parents))

    def _kept(self, related: Parent) -> bool:
        return self._on_lists(related.listing.list_id)

    def _by_identifier(self, holding: Holding) -> list[EntityMatch]:
        """Entries carrying the holding's ISIN or ticker, then those of the same primary name."""
        wanted: list[tuple[str, str, str, str | None]] = []  # how, shown, key, market
        if holding.isin:
            wanted.append(("isin", holding.isin, identifier_key("isin", holding.isin), None))
        if holding.ticker:
            parsed = parse_identifier_query(f"ticker:{holding.ticker}")
            if parsed is not None:
                wanted.append(("ticker", holding.ticker, parsed[1], parsed[2]))
        found: dict[str, EntityMatch] = {}
        with self.store.engine.connect() as conn:
            for how, shown, key, market in wanted:
                ids = queries.entity_ids_by_identifier(conn, how, key, market)
                for row in queries.entity_rows(conn, ids):
                    if row.id not in found and self._on_lists(row.list_id):
                        where = "" if how == "isin" or market else " (no market given: any market)"
                        detail = f"{how} {shown} on the entry{where}"
                        found[row.id] = EntityMatch(row.id, row.list_id, row.caption, how, detail)
            named = entity_ids_by_names(conn, {match.caption for match in found.values()})
            for match in list(found.values()):
                variants = name_variants(match.caption)
                ids = sorted(named[match.caption] - set(found))
                for row in queries.entity_rows(conn, ids):
                    # primary names only: aliases such as "China Mobile" are shared by companies
                    if name_key(row.caption) in variants and self._on_lists(row.list_id):
                        detail = f"same name as {match.caption} ({match.how} match)"
                        found[row.id] = EntityMatch(row.id, row.list_id, row.caption, "name", detail)
        return list(found.values())

    def _by_name(self, name: str) -> list[EntityMatch]:
        """The best match above the threshold on each list, over the screeners' days."""
        best: dict[str, EntityMatch] = {}
        query = MatchQuery(names=(name,))
        for screener in self._name_screeners():
            for hit in screener.match(query).matches:
                listing = hit.entity.listing
                entity_id = hit.entity.entity_id
                if listing is None or entity_id is None:
                    continue
                current = best.get(listing.list_id)
                if current is None or (current.score or 0.0) < hit.score:
                    detail = f"name {name!r} scores {hit.score:.3f} on {screener.as_of}"
                    best[listing.list_id] = EntityMatch(
                        entity_id, listing.list_id, hit.caption, "name", detail, hit.score
                    )
        return sorted(best.values(), key=lambda m: (-(m.score or 0.0), m.list_id))

    def _name_screeners(self) -> list[Screener]:
        if self._screeners is None:
            self._screeners = [
                Screener(
                    self.store,
                    as_of=day,
                    lists=self.lists,
                    threshold=self.threshold,
                    cache_dir=self.cache_dir,
                )
                for day in self.probe_days
            ]
        return self._screeners

    def _on_lists(self, list_id: str) -> bool:
        return self.lists is None or list_id in self.lists


def _link_match(related: Parent, how: str) -> EntityMatch:
    listing = related.listing
    return EntityMatch(listing.entity_id, listing.list_id, listing.caption, how, related.via)


def _probe_days(store: Store, lists: Sequence[str] | None, start: date, end: date) -> list[date]:
    """`end`, and the day before each delisting or vacatur in (start, end]: every entity live on
    some day of the range is live on one of these days."""
    with store.engine.connect() as conn:
        ending = queries.events_between(
            conn, after=start, until=end, list_ids=lists or None, kinds=ENDING_KINDS
        )
    return sorted({end} | {event.effective_on - _DAY for event in ending})


def _court_events(listings: Sequence[Listing], start: date, end: date) -> tuple[CourtEvent, ...]:
    found = {
        (event.effective_on, event.kind, listing.entity_id): CourtEvent(
            event.effective_on, event.kind, listing.entity_id, listing.list_id, listing.caption, event.source
        )
        for listing in listings
        for event in listing.events
        if event.kind in _COURT and start <= event.effective_on <= end
    }
    return tuple(found[key] for key in sorted(found))
