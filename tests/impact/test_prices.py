"""Price files as users have them: each format read from a real or hand-written file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.impact.conftest import HSI, PRICES

from listwatch.errors import PriceFileError
from listwatch.impact.prices import load_prices, read_price_file


def test_yfinance_download_header_and_holiday_placeholders() -> None:
    [series] = read_price_file(PRICES / "hk" / "1810.HK.csv")
    assert (series.symbol, series.format, series.market, series.adjusted) == (
        "1810.HK",
        "yfinance-download",
        "HK",
        True,
    )
    assert np.datetime64("2021-02-11") not in series.dates  # zero-volume placeholder: no trading
    day = int(np.searchsorted(series.dates, np.datetime64("2021-01-15")))
    assert abs(series.close[day] / series.close[day - 1] - 1 - (29.30 / 32.65 - 1)) < 1e-6
    assert "9 zero-volume placeholder rows dropped (no trading)" in series.notes


def test_yahoo_csv_null_rows_and_index_volume() -> None:
    [series] = read_price_file(HSI)
    assert series.format == "yahoo-csv" and series.first == "1986-12-31"
    assert np.datetime64("1987-01-01") not in series.dates
    assert any("volume ignored" in note for note in series.notes)  # an index reports no real volume


def test_ticker_history() -> None:
    [series] = read_price_file(PRICES / "us" / "LKCO.csv")
    assert (series.symbol, series.format, series.first) == ("LKCO", "yfinance-history", "2019-01-15")


def test_tushare_newest_first_with_adj_factor(tmp_path: Path) -> None:
    path = tmp_path / "600000.SH.csv"
    path.write_text(
        "ts_code,trade_date,open,high,low,close,vol,adj_factor\n"
        "600000.SH,20210106,10,10,10,10.5,100,2\n"
        "600000.SH,20210105,10,10,10,10,100,2\n"
        "600000.SH,20210104,10,10,10,9,100,1\n"
    )
    [series] = read_price_file(path)
    assert series.symbol == "600000.SH" and series.format == "tushare"
    assert [str(d) for d in series.dates] == ["2021-01-04", "2021-01-05", "2021-01-06"]
    assert series.close.tolist() == [9.0, 20.0, 21.0]


def test_wide_date_close_and_parquet(tmp_path: Path) -> None:
    wide = tmp_path / "closes.csv"
    wide.write_text("date,AAA,BBB\n2021-01-04,1,2\n2021-01-05,1.1,\n2021-01-06,1.2,2.2\n")
    a, b = read_price_file(wide)
    assert (a.symbol, len(a), b.symbol, len(b)) == ("AAA", 3, "BBB", 2)
    frame = pd.DataFrame(
        {"close": [1.0, 2.0]}, index=pd.DatetimeIndex(["2021-01-04", "2021-01-05"], name="Date")
    )
    frame.to_parquet(tmp_path / "CCC.parquet")
    [c] = read_price_file(tmp_path / "CCC.parquet")
    assert (c.symbol, c.format, c.close.tolist()) == ("CCC", "parquet", [1.0, 2.0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Date,Close\n2021-01-04,10\n2021-13-05,11\n", "bad.csv:3: bad date '2021-13-05'"),
        ("Date,Close\n2021-01-04,10\n2021-01-04,11\n", "bad.csv:3: date 2021-01-04 appears twice"),
        ("Date,Close\n2021-01-04,10\n2021-01-05,-1\n", "bad.csv:3: price -1.0 is not positive"),
        ("Date,Volume\n2021-01-04,10\n", "bad.csv:1: no close or price column"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(PriceFileError) as caught:
        read_price_file(path)
    assert message in str(caught.value)


def test_a_folder_reads_every_file_and_finds_by_ticker() -> None:
    book = load_prices([PRICES / "hk"])
    assert len(book.series) == 11
    found = book.find("941 HK")
    assert found is not None and found.symbol == "0941.HK"
