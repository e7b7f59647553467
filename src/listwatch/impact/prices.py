"""Daily prices as users have them, read into one `PriceSeries` per security.

Formats (`PRICE_FORMATS`, detected from the header, or named):

- `yfinance-download`: `yf.download` CSVs with the 3-line header (`Price,...`, `Ticker,...`,
  `Date,...`); several tickers in one file give several series.
- `yfinance-history`: `Ticker.history()` saved as CSV (`Date,Open,...,Dividends,Stock Splits`),
  dates possibly with a time and zone (the local date is kept).
- `yahoo-csv`: Yahoo's classic download (`Date,Open,High,Low,Close,Adj Close,Volume`, `null` rows).
- `tushare`: `ts_code,trade_date(YYYYMMDD),...,close,...` newest first; `adj_factor` applied if present.
- `date-close`: any CSV with a date column and a close/price column, or a date column and one
  price column per security (a wide file: the column names are the symbols).
- `parquet`: the same columns in a Parquet file (or a date index).

The adjusted close is used when the file has one (`Adj Close`, `adj_close`, `adj_factor`;
yfinance's auto-adjusted `Close`). Rows without a price (`null`, empty) are dropped. Rows with zero
volume are placeholders for days the security did not trade (yfinance writes one for every
holiday), so they are dropped too, unless the file's volume is zero on more than a tenth of its rows,
in which case it does not report volume (index files) and is ignored. Each drop is counted in
`notes`. A value that is not a number or a date raises `PriceFileError` naming the file and line.

    series = read_price_file(Path("examples/prices/hk/1810.HK.csv"))[0]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]

from listwatch.errors import ImpactError, PriceFileError
from listwatch.identifiers import market_of

__all__ = [
    "PRICE_FORMATS",
    "PriceBook",
    "PriceSeries",
    "column_key",
    "load_prices",
    "parse_dates",
    "read_price_file",
    "symbol_key",
]

DateArray = npt.NDArray[np.datetime64]
FloatArray = npt.NDArray[np.float64]

_MISSING = {"", "null", "nan", "NaN", "NA", "N/A", "-", "None", "#N/A"}
_SUFFIXES = (".csv", ".txt", ".parquet", ".pq")
_PLACEHOLDER_SHARE = 0.10


@dataclass(frozen=True)
class PriceSeries:
    """One security's daily closes, ascending and unique by date (datetime64[D])."""

    symbol: str
    dates: DateArray
    close: FloatArray
    source: str
    format: str
    adjusted: bool
    notes: tuple[str, ...] = ()
    market: str | None = None  # HK, US...: from the symbol's suffix or the user's mapping

    def __len__(self) -> int:
        return int(self.dates.size)

    @property
    def first(self) -> str:
        return str(self.dates[0]) if self.dates.size else ""

    @property
    def last(self) -> str:
        return str(self.dates[-1]) if self.dates.size else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "source": self.source,
            "format": self.format,
            "adjusted": self.adjusted,
            "first": self.first,
            "last": self.last,
            "days": len(self),
            "market": self.market,
            "notes": list(self.notes),
        }


def symbol_key(symbol: str) -> str:
    """Comparable form of a ticker or file symbol: `0941.HK`, `941 HK`, `^HSI` -> `941HK`, `HSI`."""
    text = symbol.upper().lstrip("^")
    match = re.fullmatch(r"0*(\d+)([.\s]?[A-Z]+)?", text)
    if match:
        return match.group(1) + re.sub(r"[^A-Z]", "", match.group(2) or "")
    return re.sub(r"[^0-9A-Z]", "", text)


def _market_of_symbol(symbol: str) -> str | None:
    _, dot, suffix = symbol.rpartition(".")
    return market_of(suffix) if dot and suffix.isalpha() else None


@dataclass
class _Frame:
    """A table read as strings, with the file line of each row, before it becomes series."""

    path: Path
    format: str
    columns: list[str]
    rows: pd.DataFrame
    lines: npt.NDArray[np.int64]
    symbols: dict[str, str] = field(default_factory=dict)  # column -> ticker (multi-ticker files)


def column_key(name: object) -> str:
    """How price and factor files' column names are matched: `Adj Close` -> `adj_close`."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def _read_csv(
    path: Path, skip: int, header: list[str] | None = None
) -> tuple[pd.DataFrame, npt.NDArray[np.int64]]:
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            skiprows=skip,
            header=None if header is not None else 0,
            names=header,
            skip_blank_lines=False,
            skipinitialspace=True,
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise PriceFileError(path, None, f"not a readable CSV: {exc}") from None
    first_line = skip + (1 if header is not None else 2)
    lines = np.arange(first_line, first_line + len(frame), dtype=np.int64)
    blank = (frame == "").all(axis=1).to_numpy()
    return frame.loc[~blank].reset_index(drop=True), lines[~blank]


def _head(path: Path, count: int = 3) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            return [handle.readline().rstrip("\r\n") for _ in range(count)]
    except OSError as exc:
        raise PriceFileError(path, None, f"cannot read: {exc.strerror}") from None


def _detect(path: Path) -> str:
    if path.suffix.lower() in (".parquet", ".pq"):
        return "parquet"
    head = _head(path)
    cells = [column_key(c) for c in head[0].split(",")]
    if cells[:1] == ["price"] and head[1].lower().startswith("ticker") and head[2].lower().startswith("date"):
        return "yfinance-download"
    if "trade_date" in cells and ("ts_code" in cells or "close" in cells):
        return "tushare"
    if "dividends" in cells and "stock_splits" in cells:
        return "yfinance-history"
    if cells[:1] == ["date"] and "adj_close" in cells and "close" in cells:
        return "yahoo-csv"
    return "date-close"


def _frame_yfinance_download(path: Path) -> _Frame:
    head = _head(path)
    fields = [c.strip() for c in head[0].split(",")]
    tickers = [c.strip() for c in head[1].split(",")]
    columns = ["date"] + [f"{column_key(f)}@{t}" for f, t in zip(fields[1:], tickers[1:], strict=False)]
    rows, lines = _read_csv(path, 3, header=columns)
    symbols = {c: c.partition("@")[2] for c in columns[1:]}
    return _Frame(path, "yfinance-download", columns, rows, lines, symbols)


def _frame_plain(path: Path, fmt: str) -> _Frame:
    rows, lines = _read_csv(path, 0)
    rows.columns = [column_key(c) or "date" for c in rows.columns]
    return _Frame(path, fmt, list(rows.columns), rows, lines)


def _frame_parquet(path: Path) -> _Frame:
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError, ImportError) as exc:
        raise PriceFileError(path, None, f"not a readable Parquet file: {exc}") from None
    if isinstance(table.index, pd.DatetimeIndex) or column_key(str(table.index.name or "")) in _DATE_NAMES:
        table = table.reset_index()
    table.columns = [column_key(str(c)) for c in table.columns]
    rows = table.astype(str).replace({"NaT": "", "nan": "", "None": "", "<NA>": ""})
    return _Frame(path, "parquet", list(rows.columns), rows, np.arange(1, len(rows) + 1, dtype=np.int64))


_DATE_NAMES = ("date", "trade_date", "datetime", "timestamp", "time", "day")
_CLOSE_NAMES = ("adj_close", "adjclose", "adjusted_close", "close", "price", "px_last", "last", "value")
_NOT_PRICES = {
    "open",
    "high",
    "low",
    "volume",
    "vol",
    "amount",
    "dividends",
    "stock_splits",
    "change",
    "pct_chg",
    "pre_close",
    "ts_code",
    "adj_factor",
    "capital_gains",
    "turnover",
}


def _parse_dates(frame: _Frame, column: str) -> DateArray:
    return parse_dates(frame.rows[column], path=frame.path, lines=frame.lines)


def parse_dates(cells: pd.Series, *, path: Path, lines: npt.NDArray[np.int64]) -> DateArray:
    """A date column of a price or factor file: `YYYY-MM-DD` (anything after the day, a time and
    zone, ignored), `YYYYMMDD` or `YYYY/MM/DD`. The first other value is a `PriceFileError` at its
    line (`lines[i]` is the file line of `cells.iloc[i]`)."""
    text = cells.astype(str).str.strip()
    iso = text.str.slice(0, 10)
    compact = text.str.fullmatch(r"\d{8}")
    iso = iso.where(~compact, text.str.slice(0, 4) + "-" + text.str.slice(4, 6) + "-" + text.str.slice(6, 8))
    iso = iso.str.replace("/", "-", regex=False)
    parsed = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        at = int(np.argmax(bad))
        raise PriceFileError(path, int(lines[at]), f"bad date {text.iloc[at]!r}, expected YYYY-MM-DD")
    dates: DateArray = parsed.to_numpy().astype("datetime64[D]")
    return dates


def _numbers(frame: _Frame, column: str) -> FloatArray:
    text = frame.rows[column].astype(str).str.strip()
    missing = text.isin(_MISSING).to_numpy()
    values: FloatArray = pd.to_numeric(text.where(~missing, "nan"), errors="coerce").to_numpy(
        dtype=np.float64
    )
    bad = np.isnan(values) & ~missing
    if bad.any():
        at = int(np.argmax(bad))
        raise PriceFileError(frame.path, int(frame.lines[at]), f"{column}: {text.iloc[at]!r} is not a number")
    return values


def _series_from(frame: _Frame, *, symbol: str, columns: dict[str, str], adjusted: bool) -> PriceSeries:
    """`columns` maps role (date, close, volume, open, high, low, adj_factor) to the frame's column."""
    dates = _parse_dates(frame, columns["date"])
    close = _numbers(frame, columns["close"])
    notes: list[str] = []
    if "adj_factor" in columns:
        close = close * _numbers(frame, columns["adj_factor"])
        adjusted = True
    keep = np.isfinite(close)
    if (~keep).sum():
        notes.append(f"{int((~keep).sum())} rows without a price dropped")
    if (close[keep] <= 0).any():
        at = int(np.argmax(keep & (close <= 0)))
        raise PriceFileError(frame.path, int(frame.lines[at]), f"price {close[at]} is not positive")
    if "volume" in columns:
        volume = _numbers(frame, columns["volume"])
        zero = keep & (volume == 0)
        share = zero.sum() / max(int(keep.sum()), 1)
        if zero.any() and share <= _PLACEHOLDER_SHARE:
            keep &= ~zero
            notes.append(f"{int(zero.sum())} zero-volume placeholder rows dropped (no trading)")
        elif zero.any():
            notes.append(f"volume ignored: zero on {share:.0%} of rows (not reported)")
    dates, close, lines = dates[keep], close[keep], frame.lines[keep]
    order = np.argsort(dates, kind="stable")
    if (np.diff(order) < 0).any():
        notes.append("rows sorted by date (the file is newest first)")
    dates, close, lines = dates[order], close[order], lines[order]
    dup = np.flatnonzero(dates[1:] == dates[:-1])
    if dup.size:
        at = int(dup[0]) + 1
        raise PriceFileError(frame.path, int(lines[at]), f"date {dates[at]} appears twice")
    return PriceSeries(
        symbol=symbol,
        dates=dates,
        close=close,
        source=str(frame.path),
        format=frame.format,
        adjusted=adjusted,
        notes=tuple(notes),
        market=_market_of_symbol(symbol),
    )


def _pick(columns: list[str], names: Sequence[str]) -> str | None:
    return next((name for name in names if name in columns), None)


def _roles(frame: _Frame, columns: list[str]) -> dict[str, str]:
    date = _pick(columns, _DATE_NAMES) or (columns[0] if columns else None)
    if date is None:
        raise PriceFileError(frame.path, 1, "no date column")
    close = _pick(columns, _CLOSE_NAMES)
    roles = {"date": date}
    if close:
        roles["close"] = close
    for role, names in (("volume", ("volume", "vol")), ("adj_factor", ("adj_factor",))):
        found = _pick(columns, names)
        if found:
            roles[role] = found
    return roles


def _series_of_frame(frame: _Frame) -> list[PriceSeries]:
    stem = _stem(frame.path)
    if frame.symbols:  # yfinance download: one series per ticker
        by_ticker: dict[str, list[str]] = {}
        for column, ticker in frame.symbols.items():
            by_ticker.setdefault(ticker, []).append(column)
        result = []
        for ticker, cols in by_ticker.items():
            plain = {c.partition("@")[0]: c for c in cols}
            close = plain.get("adj_close") or plain.get("close")
            if close is None:
                raise PriceFileError(frame.path, 1, f"no Close column for {ticker}")
            roles = {"date": "date", "close": close}
            if "volume" in plain:
                roles["volume"] = plain["volume"]
            result.append(_series_from(frame, symbol=ticker or stem, columns=roles, adjusted=True))
        return result
    roles = _roles(frame, frame.columns)
    if "close" in roles:
        symbol = stem
        if "ts_code" in frame.columns and len(frame.rows):
            symbol = str(frame.rows["ts_code"].iloc[0]).strip() or stem
        adjusted = roles["close"] != "close" or frame.format == "yfinance-history"
        return [_series_from(frame, symbol=symbol, columns=roles, adjusted=adjusted)]
    wide = [c for c in frame.columns if c != roles["date"] and c not in _NOT_PRICES]
    if not wide:
        raise PriceFileError(
            frame.path, 1, "no close or price column (looked for Close, Adj Close, price...)"
        )
    original = _original_header(frame)
    return [
        _series_from(
            frame, symbol=original.get(c, c), columns={"date": roles["date"], "close": c}, adjusted=False
        )
        for c in wide
    ]


def _original_header(frame: _Frame) -> dict[str, str]:
    if frame.format == "parquet":
        return {}
    cells = [c.strip() for c in _head(frame.path, 1)[0].split(",")]
    return {column_key(c): c for c in cells}


def _stem(path: Path) -> str:
    name = path.name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


_READERS: dict[str, Callable[[Path], _Frame]] = {
    "yfinance-download": _frame_yfinance_download,
    "yfinance-history": lambda p: _frame_plain(p, "yfinance-history"),
    "yahoo-csv": lambda p: _frame_plain(p, "yahoo-csv"),
    "tushare": lambda p: _frame_plain(p, "tushare"),
    "date-close": lambda p: _frame_plain(p, "date-close"),
    "parquet": _frame_parquet,
}

#: format name -> one-line description (CLI help and docs read this)
PRICE_FORMATS = {
    "yfinance-download": "yfinance download() CSV with the 3-line Price/Ticker/Date header",
    "yfinance-history": "yfinance Ticker.history() saved as CSV (Dividends, Stock Splits columns)",
    "yahoo-csv": "classic Yahoo CSV: Date,Open,High,Low,Close,Adj Close,Volume with null rows",
    "tushare": "Tushare daily: ts_code, trade_date YYYYMMDD, newest first; adj_factor applied",
    "date-close": "any CSV with a date column and a close/price column, or one price column per symbol",
    "parquet": "Parquet with the same columns (or a date index)",
}


def read_price_file(path: Path, *, format: str | None = None) -> list[PriceSeries]:
    """The series in one price file (one, or several for multi-ticker and wide files)."""
    if not path.is_file():
        raise PriceFileError(path, None, "no such file")
    fmt = format or _detect(path)
    if fmt not in _READERS:
        raise ImpactError(f"unknown price format {fmt!r}; known: {', '.join(PRICE_FORMATS)}")
    series = _series_of_frame(_READERS[fmt](path))
    for s in series:
        if len(s) < 2:
            raise PriceFileError(path, None, f"{s.symbol}: fewer than two prices")
    return series


@dataclass(frozen=True)
class PriceBook:
    """Price series by symbol, found by `symbol_key` (`941.HK` finds `0941.HK`)."""

    series: tuple[PriceSeries, ...]

    @cached_property
    def _index(self) -> dict[str, PriceSeries]:
        index: dict[str, PriceSeries] = {}
        for s in self.series:
            index.setdefault(symbol_key(s.symbol), s)
        for s in self.series:
            index.setdefault(symbol_key(_stem(Path(s.source))), s)
        return index

    def find(self, symbol: str) -> PriceSeries | None:
        return self._index.get(symbol_key(symbol))

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.series]


def load_prices(paths: Sequence[Path], *, format: str | None = None) -> PriceBook:
    """Every price file under `paths` (files, or folders read one level deep, sorted by name)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p for p in sorted(path.iterdir()) if p.is_file() and p.name.lower().endswith(_SUFFIXES)
            )
        elif path.exists():
            files.append(path)
        else:
            raise PriceFileError(path, None, "no such file or folder")
    if not files:
        raise ImpactError(f"no price files in {', '.join(map(str, paths))}")
    series: list[PriceSeries] = []
    for file in files:
        series.extend(read_price_file(file, format=format))
    return PriceBook(tuple(series))
