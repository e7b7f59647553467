"""Factor files, on hand-written copies of Kenneth French's layout (no factor file is bundled).

They share the price files' column names and date parsing (`impact.prices.column_key` and
`parse_dates`), so both accept and refuse the same dates, with the same message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from listwatch.errors import PriceFileError
from listwatch.impact.factors import read_factors
from listwatch.impact.prices import column_key

FRENCH = (
    "This file was created by CMPT_ME_BEME_RETS_DAILY using the 202409 CRSP database.\n"
    "The Tbill return is the simple daily rate that, over the number of trading days\n"
    "\n"
    ",Mkt-RF,SMB,HML,RF\n"
    "20210105,   0.86,   1.03,   0.59,   0.000\n"
    "20210104,  -1.41,   0.14,   0.37,   0.000\n"
    "\n"
    "Copyright 2024 Kenneth R. French\n"
)


def test_ken_french_daily_file_is_read_in_percent_and_sorted(tmp_path: Path) -> None:
    path = tmp_path / "F-F_Research_Data_Factors_daily.CSV"
    path.write_text(FRENCH, encoding="utf-8")
    table = read_factors(path)
    assert table.dates.tolist() == [np.datetime64("2021-01-04"), np.datetime64("2021-01-05")]
    assert table.columns["mkt_rf"] == pytest.approx([-0.0141, 0.0086])
    assert set(table.columns) == {"mkt_rf", "smb", "hml", "rf"} and table.notes == (
        "factors read as percent",
    )


@pytest.mark.parametrize("day", ["2021-01-04", "20210104", "2021/01/04", "2021-01-04 00:00:00+08:00"])
def test_plain_factor_file_takes_the_price_files_date_forms(tmp_path: Path, day: str) -> None:
    path = tmp_path / "factors.csv"
    path.write_text(f"Date,Mkt_RF,Mom\n{day},0.001,0.002\n", encoding="utf-8")
    table = read_factors(path)
    assert table.dates.tolist() == [np.datetime64("2021-01-04")]
    assert table.notes == ("factors read as decimals",) and set(table.columns) == {"mkt_rf", "mom"}


@pytest.mark.parametrize("day", ["2021-13-04", "04/01/2021", "", "yesterday"])
def test_bad_date_in_a_factor_file_names_its_line(tmp_path: Path, day: str) -> None:
    path = tmp_path / "factors.csv"
    path.write_text(f"date,mkt_rf\n2021-01-04,0.001\n{day},0.002\n", encoding="utf-8")
    with pytest.raises(PriceFileError, match=r"factors.csv:3: bad date .*, expected YYYY-MM-DD"):
        read_factors(path)


def test_column_names_are_matched_loosely() -> None:
    assert column_key(" Adj  Close ") == "adj_close" and column_key("Mkt-RF") == "mkt_rf"
