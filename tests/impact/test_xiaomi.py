"""Done-when: the Xiaomi events against the HSI, and the 2021-01-14 tranche as one study."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tests.impact.conftest import HSI, PRICES
from typer.testing import CliRunner

from listwatch.cli import app
from listwatch.impact.options import StudyOptions
from listwatch.impact.runner import study_from_files
from listwatch.store import open_store

runner = CliRunner()


def run(db_url: str, *args: str) -> object:
    return runner.invoke(app, ["--db", db_url, "impact", *args], env={"COLUMNS": "220"})


def test_xiaomi_listing_falls_10_percent_and_injunction_rises_7(ccmc_db_url: str) -> None:
    store = open_store(ccmc_db_url)
    result = study_from_files(
        store=store,
        list_id="us_dod_1237_ccmc",
        entity="Xiaomi",
        prices=[PRICES / "hk"],
        markets=[f"HK={HSI}"],
        options=StudyOptions(after_close=True, estimation_end=date(2021, 1, 14)),
    )
    store.close()
    events = {e["label"]: e for e in result.to_dict()["event_results"]}
    listed, enjoined = events["listed"], events["enjoined"]
    assert listed["day0"] == "2021-01-15" and enjoined["day0"] == "2021-03-15"
    assert -0.12 < listed["ar_day0"] < -0.09 and listed["ar_p_day0"] < 0.01
    assert 0.05 < enjoined["ar_day0"] < 0.08 and enjoined["ar_p_day0"] < 0.05
    for event in events.values():  # every estimation window ends before the listing
        assert event["estimation"][1] < "2021-01-14"
    assert result.n_valid == 3


def test_without_after_close_day0_is_the_announcement_day(ccmc_db_url: str) -> None:
    result = run(
        ccmc_db_url,
        "--list",
        "us_dod_1237_ccmc",
        "--entity",
        "Xiaomi",
        "--action",
        "listed",
        "--prices",
        str(PRICES / "hk"),
        "--market",
        str(HSI),
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["event_results"][0]["day0"] == "2021-01-14"


def test_tranche_runs_as_one_study_over_the_firms_with_prices(ccmc_db_url: str, tmp_path: Path) -> None:
    out, plot = tmp_path / "report.html", tmp_path / "car.svg"
    result = run(
        ccmc_db_url,
        "--list",
        "us_dod_1237_ccmc",
        "--action",
        "listed",
        "--from",
        "2021-01-14",
        "--to",
        "2021-01-14",
        "--prices",
        str(PRICES / "hk"),
        "--prices",
        str(PRICES / "us"),
        "--market",
        f"HK={HSI}",
        "--after-close",
        "--windows",
        "[0,0] [-1,1]",
        "--out",
        str(out),
        "--plot",
        str(plot),
    )
    assert result.exit_code == 0, result.output
    assert "2 of 9 events used" in result.output
    assert "no price file" in result.output and "no market index for US" in result.output
    page = out.read_text()
    assert page.count("<svg") == 3 and "<script" not in page and "cdn" not in page.lower()
    assert plot.read_text().startswith("<svg")


def test_events_csv_and_csv_output(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        "date,ticker,label\n2021-01-14,1810.HK,listed\n2021-03-12,1810.HK,enjoined\n2030-01-01,1810.HK,late\n"
    )
    out = tmp_path / "r.csv"
    result = runner.invoke(
        app,
        [
            "impact",
            str(events),
            "--prices",
            str(PRICES / "hk" / "1810.HK.csv"),
            "--market",
            str(HSI),
            "--after-close",
            "--out",
            str(out),
        ],
        env={"COLUMNS": "220"},
    )
    assert result.exit_code == 0, result.output
    assert "2 of 3 events used" in result.output
    text = out.read_text()
    assert (
        text.startswith("scope,label,n,mean,test,statistic")
        and "no session of 1810.HK for 2030-01-01" in text
    )


def test_bad_input_is_one_line_and_exit_1(ccmc_db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Close\n2021-01-04,10\n2021-01-05,abc\n")
    result = run(ccmc_db_url, "--list", "us_dod_1237_ccmc", "--prices", str(bad), "--market", str(HSI))
    assert result.exit_code == 1
    assert "bad.csv:3: close: 'abc' is not a number" in result.output
    result = run(ccmc_db_url, "--list", "nope", "--prices", str(PRICES / "us"))
    assert result.exit_code == 1 and "unknown list 'nope'" in result.output
    result = run(ccmc_db_url, "--list", "us_dod_1237_ccmc", "--prices", str(PRICES / "us"), "--model", "capm")
    assert result.exit_code == 1 and "unknown model 'capm'" in result.output
