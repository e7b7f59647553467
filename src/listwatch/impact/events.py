"""Events to study: from the store's list history, or from an events CSV; linked to price series.

An entity is linked to a price series by, in order: the user's mapping file (entity id, name,
`isin:...` or `ticker:...` -> a price file or a symbol), then the tickers its records publish
(`1810` on `HK` finds the price file `1810.HK.csv`). ISINs link only through the mapping file, since
price files do not carry them.

    events = events_from_store(store, "us_dod_1237_ccmc", actions=("listed",), book=book)
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from listwatch.errors import PriceFileError, UnknownList
from listwatch.identifiers import market_of, parse_identifier_query
from listwatch.impact.panel import StudyEvent
from listwatch.impact.prices import PriceBook, read_price_file
from listwatch.model import name_key
from listwatch.registry.history import find_entities
from listwatch.store import Store, queries

__all__ = ["SecurityMap", "events_from_store", "read_events_csv", "read_security_map"]

_DATE_COLUMNS = ("date", "event_date", "when", "day")
_SECURITY_COLUMNS = ("security", "ticker", "symbol", "name", "firm", "entity", "company")
_LABEL_COLUMNS = ("label", "event", "kind", "action", "type")


def _columns(
    path: Path, header: Sequence[str], wanted: Sequence[str], what: str, required: bool
) -> str | None:
    lowered = {h.strip().lower(): h for h in header}
    for name in wanted:
        if name in lowered:
            return lowered[name]
    if required:
        raise PriceFileError(path, 1, f"no {what} column (one of: {', '.join(wanted)})")
    return None


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if not path.is_file():
        raise PriceFileError(path, None, "no such file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = [(reader.line_num, row) for row in reader if any((v or "").strip() for v in row.values())]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PriceFileError(path, None, f"not a readable CSV: {exc}") from None
    return header, rows


def _parse_date(path: Path, line: int, text: str) -> date:
    text = text.strip()
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise PriceFileError(path, line, f"bad date {text!r}, expected YYYY-MM-DD") from None


def read_events_csv(path: Path) -> list[StudyEvent]:
    """Rows of `date` (or `when`) and `security` (or `ticker`, `symbol`, `name`), optionally `label`
    and `market`; the security is a symbol of the price files or a key of the mapping file."""
    header, rows = _rows(path)
    date_col = _columns(path, header, _DATE_COLUMNS, "date", True)
    sec_col = _columns(path, header, _SECURITY_COLUMNS, "security", True)
    label_col = _columns(path, header, _LABEL_COLUMNS, "label", False)
    market_col = _columns(path, header, ("market", "exchange"), "market", False)
    events = []
    for line, row in rows:
        security = (row.get(sec_col or "") or "").strip()
        if not security:
            raise PriceFileError(path, line, f"empty {sec_col}")
        events.append(
            StudyEvent(
                security=security,
                event_date=_parse_date(path, line, row.get(date_col or "") or ""),
                label=(row.get(label_col or "") or "").strip() if label_col else "",
                name=security,
                market=market_of((row.get(market_col or "") or "").strip()) if market_col else None,
            )
        )
    return events


@dataclass(frozen=True)
class SecurityMap:
    """The user's links from entities to price series: key -> (symbol, market)."""

    entries: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    files: tuple[Path, ...] = ()  # price files the mapping names, to load with the others

    def lookup(self, *keys: str) -> tuple[str, str | None] | None:
        for key in keys:
            found = self.entries.get(_map_key(key))
            if found:
                return found
        return None


def _map_key(text: str) -> str:
    """`isin:...`/`ticker:...` by their identifier keys; names and entity ids by `name_key`."""
    ident = parse_identifier_query(text) if ":" in text else None
    if ident is not None:
        scheme, key, market = ident
        return f"{scheme}:{key}{market or ''}"
    return name_key(text)


def read_security_map(path: Path) -> SecurityMap:
    """CSV with `entity` (an entity id, a name, `isin:...` or `ticker:...`) and `prices` (a price
    file, relative to the mapping file) or `ticker`/`symbol` (a symbol of the price files); optional
    `market` (HK, US...)."""
    header, rows = _rows(path)
    key_col = _columns(path, header, ("entity", "entity_id", "name", "key", "isin", "query"), "entity", True)
    file_col = _columns(path, header, ("prices", "price_file", "file", "path"), "prices", False)
    sym_col = _columns(path, header, ("ticker", "symbol", "security"), "ticker", False)
    market_col = _columns(path, header, ("market", "exchange"), "market", False)
    if file_col is None and sym_col is None:
        raise PriceFileError(path, 1, "needs a prices (file) or ticker (symbol) column")
    entries: dict[str, tuple[str, str | None]] = {}
    files: list[Path] = []
    for line, row in rows:
        key = (row.get(key_col or "") or "").strip()
        market = market_of((row.get(market_col or "") or "").strip()) if market_col else None
        symbol = (row.get(sym_col or "") or "").strip() if sym_col else ""
        file = (row.get(file_col or "") or "").strip() if file_col else ""
        if not key or not (symbol or file):
            raise PriceFileError(path, line, "each row needs an entity and a price file or ticker")
        if file:
            target = (path.parent / file).resolve()
            symbol = symbol or read_price_file(target)[0].symbol
            files.append(target)
        if key_col and key_col.lower() == "isin" and ":" not in key:
            key = f"isin:{key}"
        entries[_map_key(key)] = (symbol, market)
    return SecurityMap(entries, tuple(dict.fromkeys(files)))


def _ticker_symbol(value: str, exchange: str | None, book: PriceBook) -> str | None:
    market = market_of(exchange) if exchange else None
    candidates = [f"{value}.{exchange}" if exchange else value, value]
    if market:
        candidates.insert(1, f"{value}.{market}")
    for candidate in candidates:
        found = book.find(candidate)
        if found is not None and (found.market in (None, market) or market is None):
            return found.symbol
    return None


def events_from_store(
    store: Store,
    list_id: str,
    *,
    book: PriceBook,
    actions: Sequence[str] = (),
    entity: str | None = None,
    start: date | None = None,
    end: date | None = None,
    mapping: SecurityMap | None = None,
) -> list[StudyEvent]:
    """The list's events (of `actions`, of `entity`, from `start` to `end`), each linked to a price
    series when one can be found (otherwise `security` is None and the study reports it)."""
    mapping = mapping or SecurityMap()
    with store.engine.connect() as conn:
        known = [row.id for row in queries.all_lists(conn)]
        if list_id not in known:
            raise UnknownList(list_id, known)
        rows = queries.list_events_between(conn, list_id, start - timedelta(days=1) if start else None, end)
        wanted = set(find_entities(conn, entity)) if entity else None
        rows = [
            r
            for r in rows
            if (not actions or r.kind in actions) and (wanted is None or r.entity_id in wanted)
        ]
        records = queries.record_data(conn, [r.record_id for r in rows if r.record_id is not None])
    events = []
    for row in rows:
        record = records.get(row.record_id, {}) if row.record_id is not None else {}
        identifiers = record.get("identifiers", [])
        keys = [row.entity_id, row.caption, *(n["value"] for n in record.get("names", []))]
        keys += [
            f"{i['scheme']}:{i['value']}{'.' + i['exchange'] if i.get('exchange') else ''}"
            for i in identifiers
        ]
        keys += [f"{i['scheme']}:{i['value']}" for i in identifiers]
        mapped = mapping.lookup(*keys)
        security, market = mapped if mapped else (None, None)
        if security is None:
            for ident in identifiers:
                if ident["scheme"] == "ticker":
                    security = _ticker_symbol(ident["value"], ident.get("exchange"), book)
                    if security:
                        market = market_of(ident.get("exchange")) if ident.get("exchange") else None
                        break
        if market is None and security:
            found = book.find(security)
            market = found.market if found else None
        events.append(
            StudyEvent(
                security=security,
                event_date=row.effective_on,
                label=row.kind,
                name=row.caption,
                entity_id=row.entity_id,
                market=market,
                citation=row.citation,
            )
        )
    return events
