"""Factor returns for the Fama-French and Carhart models, from a file the user supplies.

Reads Kenneth French's daily CSV files as published (text lines, then `,Mkt-RF,SMB,HML,RF` and rows
`YYYYMMDD, 0.10, ...` in percent, then a copyright line) and plain CSV or Parquet files with a date
column and factor columns. Column names are matched loosely: `Mkt-RF`/`mkt_rf`/`market_excess`,
`SMB`, `HML`, `RMW`, `CMA`, `Mom`/`UMD`/`WML`, `RF`. Ken French files are in percent; for other files
`percent=None` decides from the data (a median absolute market excess return above 0.05 is percent)
and says so in `notes`.

    factors = read_factors(Path("F-F_Research_Data_Factors_daily.CSV"))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]

from listwatch.errors import PriceFileError
from listwatch.impact.prices import column_key, parse_dates

__all__ = ["FactorTable", "read_factors"]

_ALIASES = {
    "mkt_rf": ("mkt_rf", "mktrf", "mkt_excess", "market_excess", "rm_rf", "excess_market"),
    "smb": ("smb",),
    "hml": ("hml",),
    "rmw": ("rmw",),
    "cma": ("cma",),
    "mom": ("mom", "umd", "wml", "momentum"),
    "rf": ("rf", "risk_free", "riskfree"),
}


@dataclass(frozen=True)
class FactorTable:
    dates: npt.NDArray[np.datetime64]
    columns: dict[str, npt.NDArray[np.float64]]  # decimals, by canonical name
    source: str
    notes: tuple[str, ...] = ()

    def aligned(self, name: str, dates: npt.NDArray[np.datetime64]) -> npt.NDArray[np.float64]:
        """The factor on each of `dates` (NaN where the file has no such day)."""
        index = np.searchsorted(self.dates, dates)
        safe = np.minimum(index, self.dates.size - 1)
        found = (index < self.dates.size) & (self.dates[safe] == dates)
        return np.where(found, self.columns[name][safe], np.nan)


def read_factors(path: Path, *, percent: bool | None = None) -> FactorTable:
    if not path.is_file():
        raise PriceFileError(path, None, "no such factor file")
    if path.suffix.lower() in (".parquet", ".pq"):
        table = pd.read_parquet(path)
        if isinstance(table.index, pd.DatetimeIndex):
            table = table.reset_index()
        table = table.astype(str)
        first_line, french = 1, False
    else:
        lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
        header_at = next((i for i, line in enumerate(lines) if "mkt" in line.lower() and "," in line), None)
        if header_at is None:
            raise PriceFileError(path, None, "no header with a market factor (Mkt-RF) found")
        french = lines[header_at].startswith(",")
        body = [lines[header_at]]
        for line in lines[header_at + 1 :]:
            if not re.match(r"\s*\d{6,8}\s*,", line) and (french or not line.strip()):
                break
            body.append(line)
        from io import StringIO

        table = pd.read_csv(StringIO("\n".join(body)), dtype=str, skipinitialspace=True)
        first_line = header_at + 2
    table.columns = [column_key(c) or "date" for c in table.columns]
    date_col = next((c for c in ("date", "trade_date", "day") if c in table.columns), table.columns[0])
    row_lines = np.arange(first_line, first_line + len(table), dtype=np.int64)
    dates = parse_dates(table[date_col], path=path, lines=row_lines)
    columns: dict[str, npt.NDArray[np.float64]] = {}
    for canonical, aliases in _ALIASES.items():
        found = next((c for c in aliases if c in table.columns), None)
        if found is None:
            continue
        values = pd.to_numeric(table[found].str.strip(), errors="coerce")
        if values.isna().any():
            at = int(np.argmax(values.isna().to_numpy()))
            raise PriceFileError(path, first_line + at, f"{found}: {table[found].iloc[at]!r} is not a number")
        columns[canonical] = values.to_numpy(dtype=np.float64)
    if "mkt_rf" not in columns:
        raise PriceFileError(path, first_line - 1, "no market excess return column (Mkt-RF)")
    notes = []
    if percent is None:
        percent = french or float(np.median(np.abs(columns["mkt_rf"]))) > 0.05
        notes.append("factors read as percent" if percent else "factors read as decimals")
    if percent:
        columns = {k: v / 100.0 for k, v in columns.items()}
    order = np.argsort(dates)
    return FactorTable(
        dates=dates[order],
        columns={k: v[order] for k, v in columns.items()},
        source=str(path),
        notes=tuple(notes),
    )
