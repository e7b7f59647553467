"""Reading a portfolio's holdings from CSV, Excel or Parquet files (pandas at the edge).

A holdings file has a header row and any of the columns `isin`, `ticker` (with an optional
`exchange` column), `name` and `quantity`, plus an optional `id` or `key`; names are recognised
case-insensitively, with common variants (`symbol`, `issuer`, `shares`...). Each row needs at least
one usable ISIN, ticker or name. A value that cannot be used (an ISIN with a wrong check digit, a
quantity that is not a number) is dropped with a warning naming the row; a row left with nothing to
match on is kept as not screened, with the reason. Nothing stops the file but a file without any
recognised column.

    holdings = read_holdings(Path("examples/portfolios/hk_ccmc_holdings.csv"))
    holdings[0].ticker, holdings[0].identifiers()  # ('0317.HK', {'ticker': ('0317.HK',)})
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidQuery, ParseError
from listwatch.identifiers import parse_identifier_query
from listwatch.model import name_key
from listwatch.screening.inputs import read_frame

__all__ = ["COLUMNS", "Holding", "read_holdings"]

#: Recognised columns (after lower-casing and turning spaces and dashes into `_`) and their variants.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "isin": ("isin", "isin_code", "isincode"),
    "ticker": ("ticker", "symbol", "ticker_symbol", "bloomberg_ticker"),
    "exchange": ("exchange", "market", "exchange_code"),
    "name": ("name", "issuer", "issuer_name", "company", "company_name", "security", "security_name"),
    "quantity": ("quantity", "qty", "shares", "units", "position", "holding"),
    "key": ("id", "key", "holding_id"),
}
_MATCHABLE = ("isin", "ticker", "name")
# What Parquet's string conversion makes of missing values.
_PARQUET_NULLS = frozenset({"none", "nan", "nat", "<na>"})
_BLOOMBERG_SUFFIX = re.compile(r"\s+(equity|eq)$", re.IGNORECASE)


@dataclass(frozen=True)
class Holding:
    """One row of a holdings file, with what can be matched against the lists."""

    row_number: int  # 1-based data row; the header is row 0 (a CSV file's line is row_number + 1)
    key: str  # the row's own id column if there is one, else its row number
    isin: str | None = None
    ticker: str | None = None  # as given, with the exchange column's market appended ("0941.HK")
    name: str | None = None
    quantity: float | None = None
    error: str | None = None  # why the row cannot be screened
    warnings: tuple[str, ...] = ()  # values dropped from the row, and why
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    keyed: bool = False  # whether the file has an id or key column (a watch names holdings by it)

    @property
    def label(self) -> str:
        """How reports name the holding: its ticker, else its ISIN, else its name."""
        return self.ticker or self.isin or self.name or f"row {self.row_number}"

    def identifiers(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {}
        if self.isin:
            found["isin"] = (self.isin,)
        if self.ticker:
            found["ticker"] = (self.ticker,)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row_number,
            "key": self.key,
            "isin": self.isin,
            "ticker": self.ticker,
            "name": self.name,
            "quantity": self.quantity,
            "error": self.error,
            "warnings": list(self.warnings),
        }


def read_holdings(path: Path) -> list[Holding]:
    """Every data row of a holdings file as a `Holding`; see the module docstring for the columns."""
    frame = read_frame(path)
    columns = [str(c) for c in frame.columns]
    found = _columns(columns)
    if not any(role in found for role in _MATCHABLE):
        raise ParseError(
            path,
            1,
            "no isin, ticker or name column; the header must name at least one of them "
            f"(found: {', '.join(repr(c) for c in columns) or 'nothing'})",
        )
    nulls = _PARQUET_NULLS if path.suffix.lower() == ".parquet" else frozenset()
    holdings = []
    for index, raw in enumerate(frame.to_dict(orient="records"), start=1):
        cells = {role: _cell(raw.get(column), nulls) for role, column in found.items()}
        holdings.append(_holding(index, cells, raw, keyed="key" in found))
    return holdings


def _columns(columns: Sequence[str]) -> dict[str, str]:
    """Role -> the first column naming it."""
    found: dict[str, str] = {}
    for column in columns:
        normal = re.sub(r"[\s\-]+", "_", column.strip().lower())
        for role, variants in COLUMNS.items():
            if normal in variants and role not in found:
                found[role] = column
    return found


def _cell(value: Any, nulls: frozenset[str]) -> str:
    text = "" if value is None else str(value).strip()
    return "" if text.lower() in nulls else text


def _holding(row_number: int, cells: Mapping[str, str], raw: dict[str, Any], *, keyed: bool) -> Holding:
    warnings: list[str] = []
    isin = _isin(cells.get("isin", ""), warnings)
    ticker = _ticker(cells.get("ticker", ""), cells.get("exchange", ""), warnings)
    name = cells.get("name", "") or None
    if name is not None and not name_key(name):
        warnings.append(f"name {name[:60]!r} has no letters or digits; ignored")
        name = None
    quantity = _quantity(cells.get("quantity", ""), warnings)
    error = None
    if not (isin or ticker or name):
        given = [role for role in _MATCHABLE if cells.get(role)]
        error = f"no usable {' or '.join(given)}" if given else "no isin, ticker or name: nothing to match on"
    return Holding(
        row_number=row_number,
        key=cells.get("key") or str(row_number),
        isin=isin,
        ticker=ticker,
        name=name,
        quantity=quantity,
        error=error,
        warnings=tuple(warnings),
        raw=raw,
        keyed=keyed,
    )


def _isin(value: str, warnings: list[str]) -> str | None:
    if not value:
        return None
    import rigour.ids

    code = re.sub(r"\s+", "", value).upper()
    if not rigour.ids.ISIN.is_valid(code):
        warnings.append(f"isin {value!r} is not a valid ISIN (format or check digit); ignored")
        return None
    return code


def _ticker(value: str, exchange: str, warnings: list[str]) -> str | None:
    """`1810.HK`, `1810 HK`, `941 HK Equity`, or `1810` with an exchange column saying `HK`."""
    if not value:
        return None
    ticker = _BLOOMBERG_SUFFIX.sub("", value.strip())
    if exchange and not re.search(r"[. ][A-Za-z]{1,6}$|\)$", ticker):
        ticker = f"{ticker}.{exchange.strip()}"
    try:
        parsed = parse_identifier_query(f"ticker:{ticker}")
    except InvalidQuery:
        parsed = None
    if parsed is None or not parsed[1]:
        warnings.append(f"ticker {value!r} has no letters or digits; ignored")
        return None
    return ticker


def _quantity(value: str, warnings: list[str]) -> float | None:
    if not value:
        return None
    try:
        quantity = float(value.replace(",", "").replace("_", ""))
    except ValueError:
        quantity = math.nan
    if not math.isfinite(quantity):
        warnings.append(f"quantity {value!r} is not a number; ignored")
        return None
    return quantity
