"""Portfolio screening on the real bundled lists: the HK shares tied to the CCMC and NS-CMIC lists.

Matching (identifier first, name second, parents and subsidiaries), effects on a day and the next
change, a timeline over 2020-06-01..2022-12-31, the reports, and bad inputs.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
import pytest
from typer.testing import CliRunner

from listwatch.cli import app
from listwatch.errors import ParseError, UnknownList
from listwatch.registry.snapshots import ingest
from listwatch.screening.portfolio import (
    Holding,
    HoldingResult,
    PortfolioTimeline,
    portfolio_timeline,
    read_holdings,
    screen_portfolio,
)
from listwatch.screening.portfolio_report import AS_OF_COLUMNS, TIMELINE_COLUMNS
from listwatch.store import Store, open_store
from tests.conftest import CCMC_1237, CONS_2025_04, DOD_1260H, SDN_2021
from tests.support import store_state

D = date.fromisoformat
HK_HOLDINGS = Path(__file__).resolve().parents[2] / "examples" / "portfolios" / "hk_ccmc_holdings.csv"
CCMC = "us_dod_1237_ccmc"
CMIC = "us_ofac_cons"
CHINA_MOBILE_GROUP = "us-dod-1237-ccmc-china-mobile-communications-group"

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("portfolio")
    url = module_db_url  # SQLite, then PostgreSQL (tests/conftest.py)
    store = open_store(url)
    ingest(store, [SDN_2021])
    ingest(store, [CONS_2025_04])
    ingest(store, [CCMC_1237], list_id=CCMC)
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    store.close()
    return url, folder / "cache"


@pytest.fixture(scope="module")
def store(db: tuple[str, Path]) -> Store:
    return open_store(db[0])


@pytest.fixture(scope="module")
def hk_timeline(store: Store, db: tuple[str, Path]) -> PortfolioTimeline:
    holdings = read_holdings(HK_HOLDINGS)
    return portfolio_timeline(store, holdings, start=D("2020-06-01"), end=D("2022-12-31"), cache_dir=db[1])


def _db_digest(db: tuple[str, Path]) -> str:
    """The store's bytes: equal digests mean nothing was written (cheaper than `store_state` here)."""
    if not db[0].startswith("sqlite:///"):  # PostgreSQL: every row of every table
        return hashlib.sha256(repr(store_state(open_store(db[0]))).encode()).hexdigest()
    path = Path(db[0].removeprefix("sqlite:///"))
    files = [f for f in (path, path.with_name(path.name + "-wal")) if f.exists()]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def run(db: tuple[str, Path], *args: str) -> object:
    env = {"COLUMNS": "200", "XDG_CACHE_HOME": str(db[1])}
    return runner.invoke(app, ["--db", db[0], *args], env=env)


def _one(store: Store, db: tuple[str, Path], day: str, **given: str) -> HoldingResult:
    holding = Holding(row_number=1, key="1", **given)  # type: ignore[arg-type]
    return screen_portfolio(store, [holding], as_of=D(day), cache_dir=db[1]).holdings[0]


def _effects(result: HoldingResult) -> dict[tuple[str, str], tuple[str, date | None, date | None]]:
    return {(e.list_id, e.kind): (e.state, e.start, e.end) for e in result.effects}


def test_the_hk_holdings_file_gives_eleven_holdings() -> None:
    holdings = read_holdings(HK_HOLDINGS)
    assert [h.ticker for h in holdings] == [
        f"{code}.HK" for code in ("0317", "0728", "0762", "0883", "0941", "0981", "1186", "1766", "1800")
    ] + ["1810.HK", "2357.HK"]
    assert all(h.error is None and not h.warnings and h.quantity for h in holdings)
    mobile = holdings[4]
    assert (mobile.key, mobile.isin, mobile.name) == ("H05", "HK0941009539", "China Mobile Limited")


def test_holdings_know_whether_the_file_has_a_key_column(tmp_path: Path) -> None:
    keyed = tmp_path / "keyed.csv"
    keyed.write_text("Holding-ID,ticker\nH1,1810.HK\n,0941.HK\n", encoding="utf-8")
    plain = tmp_path / "plain.csv"
    plain.write_text("ticker\n1810.HK\n", encoding="utf-8")
    assert [(h.key, h.keyed) for h in read_holdings(keyed)] == [("H1", True), ("2", True)]
    assert [(h.key, h.keyed) for h in read_holdings(plain)] == [("1", False)]


@pytest.mark.parametrize(
    ("given", "how"),
    [
        ({"ticker": "1810 HK"}, "ticker"),
        ({"isin": "KYG9830T1067"}, "isin"),
        ({"name": "Xiaomi Corp"}, "name"),
    ],
)
def test_xiaomi_ban_is_due_on_2021_03_15_as_of_2021_03_11(
    store: Store, db: tuple[str, Path], given: dict[str, str], how: str
) -> None:
    result = _one(store, db, "2021-03-11", **given)
    assert [(m.list_id, m.how) for m in result.matches] == [(CCMC, how)]
    assert _effects(result)[(CCMC, "purchase_ban")] == ("pending", D("2021-03-15"), None)
    assert result.next_change is not None and result.next_change.text == "purchase ban starts 2021-03-15"
    assert not result.restricted


def test_xiaomi_is_enjoined_with_no_ban_in_force_on_2021_03_16(store: Store, db: tuple[str, Path]) -> None:
    result = _one(store, db, "2021-03-16", ticker="1810.HK", isin="KYG9830T1067")
    assert result.effects and {e.state for e in result.effects} == {"suspended"}
    ban = next(e for e in result.effects if e.kind == "purchase_ban")
    assert "suspended from 2021-03-12: enjoined" in ban.reason
    assert not result.restricted and result.next_change is None


def test_xiaomi_has_no_effect_on_2021_06_01(store: Store, db: tuple[str, Path]) -> None:
    result = _one(store, db, "2021-06-01", ticker="1810.HK", isin="KYG9830T1067")
    assert result.matches and result.effects == () and result.next_change is None


def test_china_mobile_is_banned_through_its_listed_parent(store: Store, db: tuple[str, Path]) -> None:
    result = _one(store, db, "2021-02-01", ticker="0941.HK")
    ban = next(e for e in result.effects if e.kind == "purchase_ban")
    assert (ban.list_id, ban.state, ban.start, ban.entity_id) == (
        CCMC,
        "in_force",
        D("2021-01-11"),
        CHINA_MOBILE_GROUP,
    )
    assert ban.via is not None and "China Mobile Communications Group" in ban.via
    hows = {m.entity_id: m.how for m in result.matches}
    assert hows["us-ofac-cons-30923"] == "ticker"
    assert hows["us-dod-1260h-china-mobile-limited"] == "name"  # the same company on the DoD 1260H list
    assert hows[CHINA_MOBILE_GROUP] == "parent"


def test_china_mobile_under_ns_cmic_from_listing_to_divestment(store: Store, db: tuple[str, Path]) -> None:
    pending = _one(store, db, "2021-06-10", isin="HK0941009539")
    cmic = next(e for e in pending.effects if e.list_id == CMIC and e.kind == "purchase_ban")
    assert (cmic.state, cmic.start) == ("pending", D("2021-08-02")) and "listed 2021-06-03" in cmic.reason
    assert pending.next_change is not None and pending.next_change.on == D("2021-08-02")
    effects = _effects(_one(store, db, "2021-09-01", isin="HK0941009539"))
    assert effects[(CMIC, "purchase_ban")] == ("in_force", D("2021-08-02"), None)
    assert effects[(CMIC, "divestment_window")] == ("in_force", D("2021-08-02"), D("2022-06-03"))
    assert effects[(CCMC, "purchase_ban")] == ("ended", D("2021-01-11"), D("2021-06-02"))


def test_a_name_matches_the_best_entry_of_each_list_only(store: Store, db: tuple[str, Path]) -> None:
    # "CRRC Corporation Limited" also scores above the threshold against China Railway Construction
    result = _one(store, db, "2021-03-11", name="CRRC Corporation Limited")
    assert [(m.entity_id, m.how) for m in result.matches] == [("us-dod-1237-ccmc-crrc-corporation", "name")]


def test_listed_subsidiaries_are_shown_but_pass_no_effect(store: Store, db: tuple[str, Path]) -> None:
    result = _one(store, db, "2021-09-01", ticker="0981.HK")
    children = {m.entity_id for m in result.matches if m.how == "subsidiary"}
    assert "us-dod-1260h-smic-holdings-limited" in children and len(children) >= 10
    assert result.effects and not children & {e.entity_id for e in result.effects}


def test_lists_limit_matches_parents_and_effects(store: Store, db: tuple[str, Path]) -> None:
    holding = Holding(row_number=1, key="1", ticker="0941.HK")
    result = screen_portfolio(store, [holding], as_of=D("2021-02-01"), lists=[CMIC], cache_dir=db[1])
    only = result.holdings[0]
    assert {m.list_id for m in only.matches} == {CMIC} and only.effects == ()
    with pytest.raises(UnknownList):
        screen_portfolio(store, [holding], as_of=D("2021-02-01"), lists=["nope"], cache_dir=db[1])


def test_hk_portfolio_timeline_says_which_holdings_were_restricted_when(
    hk_timeline: PortfolioTimeline,
) -> None:
    spans = {t.holding.ticker: t.spans("in_force") for t in hk_timeline.holdings}
    ccmc_by_2020_11_12 = (D("2021-01-11"), D("2021-06-02"))
    ccmc_listed_2020_12_03 = (D("2021-02-01"), D("2021-06-02"))  # CNOOC and SMIC: listed + 60 days
    ns_cmic = (D("2021-08-02"), D("2022-12-31"))
    assert spans == {
        "0317.HK": [ns_cmic],
        "0728.HK": [ccmc_by_2020_11_12, ns_cmic],
        "0762.HK": [ccmc_by_2020_11_12, ns_cmic],
        "0883.HK": [ccmc_listed_2020_12_03, ns_cmic],
        "0941.HK": [ccmc_by_2020_11_12, ns_cmic],
        "0981.HK": [ccmc_listed_2020_12_03, ns_cmic],
        "1186.HK": [ccmc_by_2020_11_12, ns_cmic],
        "1766.HK": [ccmc_by_2020_11_12],
        "1800.HK": [ccmc_by_2020_11_12, ns_cmic],
        "1810.HK": [],
        "2357.HK": [],
    }
    by_ticker = {t.holding.ticker: t for t in hk_timeline.holdings}
    xiaomi = by_ticker["1810.HK"]
    assert xiaomi.spans("suspended") == [(D("2021-03-15"), D("2021-05-24"))]
    assert [(c.on, c.kind) for c in xiaomi.court_events] == [
        (D("2021-03-12"), "enjoined"),
        (D("2021-05-25"), "vacated"),
    ]
    mobile = {
        (i.list_id, i.kind): (i.start, i.end, i.via is not None) for i in by_ticker["0941.HK"].intervals
    }
    assert mobile[(CCMC, "purchase_ban")] == (D("2021-01-11"), D("2021-06-02"), True)
    assert mobile[(CMIC, "divestment_window")] == (D("2021-08-02"), D("2022-06-03"), False)
    assert by_ticker["2357.HK"].matches == ()  # AviChina: on none of the bundled lists
    assert hk_timeline.summary() == {
        "holdings": 11,
        "matched": 10,
        "restricted": 9,
        "with_effects": 10,
        "not_screened": 0,
    }


def test_hk_portfolio_html_report_has_a_timeline_chart_per_holding_with_effects(
    db: tuple[str, Path], tmp_path: Path, hk_timeline: PortfolioTimeline
) -> None:
    out = tmp_path / "report.html"
    result = run(
        db, "portfolio", str(HK_HOLDINGS), "--from", "2020-06-01", "--to", "2022-12-31", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "9 restricted" in result.output and "2021-08-02 to 2022-12-31" in result.output
    page = out.read_text(encoding="utf-8")
    charted = [t for t in hk_timeline.holdings if t.intervals]
    assert page.count("<svg") == page.count('<section class="holding">') == len(charted) == 10
    assert "enjoined 2021-03-12" in page and "vacated 2021-05-25" in page  # court orders marked
    assert "<script" not in page and "<link" not in page  # self-contained: nothing fetched
    assert "AviChina" in page and "86 FR 30145" in page


def test_portfolio_json_and_csv_for_one_day(db: tuple[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    result = run(db, "portfolio", str(HK_HOLDINGS), "--as-of", "2021-03-11", "--json", "--out", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(data) == ["as_of", "holdings", "lists", "source", "summary", "threshold"]
    xiaomi = next(h for h in data["holdings"] if h["holding"]["ticker"] == "1810.HK")
    assert sorted(xiaomi) == ["effects", "holding", "matches", "next_change", "restricted"]
    assert sorted(xiaomi["matches"][0]) == ["caption", "detail", "how", "id", "list", "score"]
    assert xiaomi["next_change"]["text"] == "purchase ban starts 2021-03-15"
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == AS_OF_COLUMNS
    ban = next(r for r in rows if r["ticker"] == "1810.HK" and r["effect"] == "purchase_ban")
    assert (ban["state"], ban["start"], ban["next_change"]) == (
        "pending",
        "2021-03-15",
        "purchase ban starts 2021-03-15",
    )
    assert [r["matches"] for r in rows if r["ticker"] == "2357.HK"] == [""]


def test_portfolio_timeline_csv_has_one_row_per_interval(db: tuple[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "timeline.csv"
    result = run(
        db, "portfolio", str(HK_HOLDINGS), "--from", "2021-01-01", "--to", "2022-12-31", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == TIMELINE_COLUMNS
    xiaomi = [(r["effect"], r["state"], r["start"], r["end"]) for r in rows if r["ticker"] == "1810.HK"]
    assert ("purchase_ban", "suspended", "2021-03-15", "2021-05-24") in xiaomi


def test_holdings_in_excel_and_parquet_with_an_exchange_column(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "Symbol": ["1810", "941 HK Equity", None],
            "Exchange": ["HK", "HK", None],
            "ISIN Code": [None, "HK0941009539", None],
            "Issuer": [None, None, "Xiaomi Corporation"],
            "Shares": ["1,000", "abc", None],
        }
    )
    for suffix in (".xlsx", ".parquet"):
        path = tmp_path / f"holdings{suffix}"
        frame.to_excel(path, index=False) if suffix == ".xlsx" else frame.to_parquet(path)
        holdings = read_holdings(path)
        assert [(h.ticker, h.isin, h.name) for h in holdings] == [
            ("1810.HK", None, None),
            ("941 HK", "HK0941009539", None),
            (None, None, "Xiaomi Corporation"),
        ]
        assert holdings[0].quantity == 1000 and holdings[1].quantity is None
        assert holdings[1].warnings == ("quantity 'abc' is not a number; ignored",)


def test_a_bad_row_is_reported_with_its_number_and_the_rest_screened(
    db: tuple[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "holdings.csv"
    path.write_text(
        "ticker,isin,name,quantity\n1810.HK,,,100\n,,,5\n,HK0941009538,,7\n0941.HK,,,10\n", encoding="utf-8"
    )
    holdings = read_holdings(path)
    assert holdings[1].error == "no isin, ticker or name: nothing to match on"
    assert holdings[2].error == "no usable isin"
    assert holdings[2].warnings == (
        "isin 'HK0941009538' is not a valid ISIN (format or check digit); ignored",
    )
    before = _db_digest(db)
    result = run(db, "portfolio", str(path), "--as-of", "2021-03-11")
    assert result.exit_code == 0, result.output
    assert "row 2: no isin, ticker or name" in result.output and "row 3: isin 'HK0941009538'" in result.output
    assert "1 restricted" in result.output and "2 not screened" in result.output
    assert "None" not in result.output  # a holding without a name shows none
    assert _db_digest(db) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2021-02-30"], "error: --as-of: bad date '2021-02-30', expected YYYY-MM-DD"),
        (["--from", "2021-13-01", "--to", "2021-12-31"], "error: --from: bad date '2021-13-01'"),
        (["--from", "2022-01-01", "--to", "2021-01-01"], "error: --from 2022-01-01 is after --to 2021-01-01"),
        (["--from", "2021-01-01"], "error: --from and --to go together"),
        (["--as-of", "2021-01-01", "--to", "2021-02-01"], "error: give either --as-of, or --from and --to"),
        (["--out", "report.pdf"], "error: --out: unsupported output '.pdf'"),
        (["--list", "nope"], "error: unknown list 'nope'"),
    ],
)
def test_bad_options_are_one_error_line(db: tuple[str, Path], args: list[str], message: str) -> None:
    before = _db_digest(db)
    result = run(db, "portfolio", str(HK_HOLDINGS), *args)
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1, result.output
    assert _db_digest(db) == before


def test_a_missing_file_or_one_without_a_usable_column_is_an_error(
    db: tuple[str, Path], tmp_path: Path
) -> None:
    missing = run(db, "portfolio", str(tmp_path / "nope.csv"), "--as-of", "2021-03-11")
    assert missing.exit_code == 1 and missing.output == f"error: {tmp_path / 'nope.csv'}: no such file\n"
    unusable = tmp_path / "positions.csv"
    unusable.write_text("account,amount\nA1,100\n", encoding="utf-8")
    with pytest.raises(ParseError, match="no isin, ticker or name column"):
        read_holdings(unusable)
    result = run(db, "portfolio", str(unusable), "--as-of", "2021-03-11")
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {unusable}:1: no isin, ticker or name column")
    assert "'account', 'amount'" in result.output
