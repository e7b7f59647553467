"""What `listwatch impact` (and an API route) calls: files and a list selection in, a study out.

result = study_from_files(
    store=store, list_id="us_dod_1237_ccmc", actions=("listed",),
    prices=[Path("examples/prices")], markets=["HK=examples/prices/index/HSI.csv"],
    options=StudyOptions(after_close=True),
)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from listwatch.errors import InvalidQuery
from listwatch.impact.events import SecurityMap, events_from_store, read_events_csv, read_security_map
from listwatch.impact.factors import read_factors
from listwatch.impact.options import StudyOptions
from listwatch.impact.panel import StudyEvent
from listwatch.impact.prices import PriceBook, PriceSeries, load_prices, read_price_file
from listwatch.impact.study import StudyResult, run_study
from listwatch.store import Store

__all__ = ["parse_markets", "study_from_files"]


def parse_markets(specs: Sequence[str]) -> dict[str | None, PriceSeries]:
    """`HSI.csv` (the market for every security) or `HK=HSI.csv` (for securities of that market;
    the first one given also stands in for markets without their own index)."""
    markets: dict[str | None, PriceSeries] = {}
    for spec in specs:
        code, sep, file = spec.partition("=")
        if not sep or "/" in code or code.lower().endswith((".csv", ".parquet")):
            code, file = "", spec
        series = read_price_file(Path(file))[0]
        if code:
            series = dataclasses.replace(series, market=code.upper())
            markets[code.upper()] = series
        markets.setdefault(None, series)
    return markets


def study_from_files(
    *,
    store: Callable[[], Store] | Store | None = None,
    events_file: Path | None = None,
    list_id: str | None = None,
    actions: Sequence[str] = (),
    entity: str | None = None,
    start: date | None = None,
    end: date | None = None,
    prices: Sequence[Path],
    mapping: Path | None = None,
    markets: Sequence[str] = (),
    factors: Path | None = None,
    options: StudyOptions,
) -> StudyResult:
    if (events_file is None) == (list_id is None):
        raise InvalidQuery("give either an events CSV or --list (events from the store), not both")
    security_map = read_security_map(mapping) if mapping else SecurityMap()
    if not prices and not security_map.files:
        raise InvalidQuery("--prices: give the price files or folders")
    book = load_prices([*prices, *security_map.files])
    book = PriceBook(tuple({(s.symbol, s.source): s for s in book.series}.values()))
    factor_table = read_factors(factors) if factors else None
    if list_id is not None:
        opened = store() if callable(store) else store
        if opened is None:
            raise InvalidQuery("--list needs the database")
        events = events_from_store(
            opened,
            list_id,
            book=book,
            actions=actions,
            entity=entity,
            start=start,
            end=end,
            mapping=security_map,
        )
        parts = [list_id, "/".join(actions) or "all events", entity or "", _span(start, end)]
        title = " ".join(p for p in parts if p)
    else:
        assert events_file is not None
        events = read_events_csv(events_file)
        if security_map.entries:
            events = [_mapped(e, security_map) for e in events]
        title = events_file.name
    return run_study(
        events, book, options=options, markets=parse_markets(markets), factors=factor_table, title=title
    )


def _mapped(event: StudyEvent, mapping: SecurityMap) -> StudyEvent:
    found = mapping.lookup(event.security or "")
    if not found:
        return event
    return dataclasses.replace(event, security=found[0], market=found[1] or event.market)


def _span(start: date | None, end: date | None) -> str:
    if start and end and start == end:
        return f"on {start}"
    if start or end:
        return f"{start or '...'} to {end or '...'}"
    return ""
