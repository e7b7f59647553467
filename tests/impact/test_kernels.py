"""The compiled parts of an event study against plain per-event computations, on real returns.

A few hundred events on the bundled Hong Kong prices; the residuals are also rounded (ties), nudged
by one ulp (values whose sort keys differ only in the column bits), given signed zeros and missing
days, so that every path of the rank kernels is taken.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date
from functools import cache

import numpy as np
import pytest
from scipy import stats as scipy_stats  # type: ignore[import-untyped]
from tests.impact.conftest import HSI, PRICES, small_study

from listwatch.impact import kernels, loops
from listwatch.impact.models import Fit
from listwatch.impact.options import StudyOptions
from listwatch.impact.panel import StudyEvent, _count_windows
from listwatch.impact.prices import load_prices, read_price_file
from listwatch.impact.ranks import signed_rank_test
from listwatch.impact.stats import centred_mean_ranks, sample_statistics
from listwatch.impact.study import StudyResult, run_study

TOL = 1e-12
WINDOWS = [(10, 11), (9, 12), (5, 16), (0, 21)]  # [0,0], [-1,1], [-5,5], [-10,10]


@cache
def _study() -> StudyResult:
    book = load_prices([PRICES / "hk"])
    events = []
    for series in book.series:
        sessions = series.dates[(series.dates >= np.datetime64("2019-06-01"))]
        for day in sessions[:-15:23][:25]:
            events.append(StudyEvent(series.symbol, day.astype(date), "test"))
    options = StudyOptions(same_firm="keep", estimation=(-120, -11), min_estimation=100)
    return run_study(events, book, markets={None: read_price_file(HSI)[0]}, options=options)


def _awkward(fit: Fit) -> Fit:
    """The study's fit with ties, one-ulp neighbours, signed zeros and missing days."""
    est = np.round(fit.est_resid, 3)  # many ties
    ar = np.round(fit.ar, 3)
    rows = np.flatnonzero(fit.valid)
    for n, i in enumerate(rows[::3]):
        est[i, 1] = np.nextafter(est[i, 0], np.inf)  # sorts by column unless put back in order
        est[i, 2] = np.nextafter(est[i, 0], -np.inf)
        est[i, 3 + n % 5] = np.nan
        est[i, 10], est[i, 11] = 0.0, -0.0
    return dataclasses.replace(fit, est_resid=est, ar=ar)


def _ranks(row: np.ndarray) -> np.ndarray:
    out = np.full(row.shape, np.nan)
    present = ~np.isnan(row)
    out[present] = scipy_stats.rankdata(row[present])
    return out


@pytest.mark.parametrize("awkward", [False, True])
def test_corrado_ranks_match_ranking_each_event_with_scipy(awkward: bool) -> None:
    fit = _study().fit
    if awkward:
        fit = _awkward(fit)
    combined = np.concatenate([fit.est_resid, fit.ar], axis=1)[fit.valid]
    ranks = np.array([_ranks(row) for row in combined])
    k = ranks / (np.isfinite(combined).sum(axis=1)[:, None] + 1.0) - 0.5
    k_bar = np.nanmean(k, axis=0)
    mean_rank, s = centred_mean_ranks(fit)
    np.testing.assert_allclose(mean_rank, k_bar[fit.est_resid.shape[1] :], rtol=0, atol=TOL)
    assert s == pytest.approx(float(np.nanstd(k_bar, ddof=1)), abs=TOL)


def _grank_reference(fit: Fit, window: tuple[int, int]) -> float:
    """GRANK (Kolari-Pynnönen 2011) for one window, one event at a time."""
    a, b = window
    cumulative = np.cumsum(fit.ar, axis=1)  # as the statistics sum windows: a CAR of 0 stays 0
    car = cumulative[:, b - 1] - (cumulative[:, a - 1] if a else 0.0)
    used = fit.valid & np.isfinite(car)
    scar = car[used] / (fit.sigma[used] * np.sqrt(fit.car_variance_factor(a, b)[used]))
    g = scar / np.std(scar, ddof=1)
    sar = (fit.est_resid / fit.sigma[:, None])[used]
    m = sar.shape[1]
    u_days = np.full(sar.shape, np.nan)
    u0 = np.empty(len(g))
    for n, (row, value) in enumerate(zip(sar, g, strict=True)):
        present = np.isfinite(row)
        ranks = scipy_stats.rankdata(np.append(row[present], value))
        size = present.sum() + 1
        u_days[n, present] = ranks[:-1] / (size + 1) - 0.5
        u0[n] = ranks[-1] / (size + 1) - 0.5
    n_t = np.isfinite(u_days).sum(axis=0)
    u_est = np.where(n_t > 0, np.nansum(u_days, axis=0) / np.maximum(n_t, 1), 0.0)
    big_t = m + 1
    s_u = np.sqrt(((n_t / len(g)) * u_est**2).sum() + u0.mean() ** 2) / np.sqrt(big_t)
    z = u0.mean() / s_u
    return float(z * np.sqrt((big_t - 2) / (big_t - 1 - z * z)))


@pytest.mark.parametrize("awkward", [False, True])
def test_grank_matches_ranking_each_event_with_its_window_value(awkward: bool) -> None:
    fit = _study().fit
    if awkward:
        fit = _awkward(fit)
    sample = sample_statistics(fit, windows=WINDOWS, names=("grank_t", "rank_z"))
    expected = [_grank_reference(fit, w) for w in WINDOWS]
    np.testing.assert_allclose(sample.tests["grank_t"].statistic, expected, rtol=0, atol=TOL)


def test_grank_with_an_unfitted_event_in_the_sample_ignores_it() -> None:
    fit = _study().fit
    rows = np.flatnonzero(fit.valid)
    broken = rows[0]
    sigma, ar, resid = fit.sigma.copy(), fit.ar.copy(), fit.est_resid.copy()
    sigma[broken], ar[broken], resid[broken] = np.nan, np.nan, np.nan
    unfitted = dataclasses.replace(fit, sigma=sigma, ar=ar, est_resid=resid)
    everything = sample_statistics(unfitted, windows=WINDOWS, names=("grank_t",), events=fit.valid)
    without = fit.valid.copy()
    without[broken] = False
    expected = sample_statistics(unfitted, windows=WINDOWS, names=("grank_t",), events=without)
    np.testing.assert_allclose(
        everything.tests["grank_t"].statistic, expected.tests["grank_t"].statistic, rtol=0, atol=TOL
    )


def test_kolari_pynnonen_correlation_and_p_hat_match_their_definitions() -> None:
    result = _study()
    fit, valid = result.fit, result.valid
    resid = fit.est_resid[valid]
    corr = np.corrcoef(resid)
    n = corr.shape[0]
    assert result.days.r_bar == pytest.approx((corr.sum() - n) / (n * (n - 1)), abs=TOL)
    assert result.days.p_hat == pytest.approx(float((resid > 0).mean(axis=1).mean()), abs=TOL)


def test_wilcoxon_matches_scipy_with_ties() -> None:
    values = np.round(_study().per_event.car[:, 1], 3)
    values = values[np.isfinite(values)]
    z, p, reason = signed_rank_test(values)
    expected = scipy_stats.wilcoxon(values, zero_method="wilcox", correction=False, method="approx")
    assert reason is None
    assert p == pytest.approx(expected.pvalue, abs=TOL)
    assert abs(z) == pytest.approx(abs(float(expected.zstatistic)), abs=1e-9)


def test_placements_are_built_on_demand_and_behave_as_a_list() -> None:
    result = _study()
    placed = result.placed
    assert len(placed) == len(list(placed))
    assert placed[-1] is placed[len(placed) - 1]
    assert placed[:3] == [placed[0], placed[1], placed[2]] and placed[:3][1] is placed[1]
    # the study's events fall on sessions (see _study): day 0 is the event's own date, and the
    # estimation window (-120..-11) ends 11 sessions before it in the security's calendar
    for p in placed[:40]:
        dates = result.series[p.event.security or ""].dates
        row = int(np.searchsorted(dates, np.datetime64(p.event.event_date)))
        assert p.day0 == p.event.event_date == dates[row].astype(date)
        assert p.estimation == (dates[row - 120].astype(date), dates[row - 11].astype(date))
    with pytest.raises(IndexError):
        placed[len(placed)]


def test_an_event_between_two_overlapping_ones_names_the_earlier_first() -> None:
    book = load_prices([PRICES / "hk"])
    days = [date(2021, 1, 14), date(2021, 1, 20), date(2021, 1, 26)]
    events = [StudyEvent("0317.HK", d, label) for d, label in zip(days, "abc", strict=True)]
    result = run_study(
        events, book, markets={None: read_price_file(HSI)[0]}, options=StudyOptions(same_firm="keep")
    )
    middle = [i.message for i in result.placed[1].issues if i.code == "overlapping_windows"]
    assert middle == [
        "event windows overlap with the a event of 2021-01-14 (same security)",
        "event windows overlap with the c event of 2021-01-26 (same security)",
    ]


def test_the_cli_does_not_import_numba() -> None:
    code = "import sys, listwatch.cli; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _same(a: object, b: object) -> None:
    """Equal outputs, array by array (NaN where NaN)."""
    if isinstance(a, tuple | list):
        assert isinstance(b, tuple | list) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif dataclasses.is_dataclass(a):
        _same(list(vars(a).values()), list(vars(b).values()))
    else:
        assert a == b or (isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b))


@pytest.mark.parametrize("awkward", [False, True])
def test_the_python_loops_and_the_compiled_kernels_give_the_same_numbers(awkward: bool) -> None:
    result = _study()
    fit = _awkward(result.fit) if awkward else result.fit
    rows = np.flatnonzero(fit.valid)[:12]  # the loops in Python take ~25 ms an event
    grank = (
        np.linspace(-2.0, 2.0, 12 * 3).reshape(12, 3),
        np.ones((12, 3), dtype=bool),
        np.ones(3, dtype=bool),
    )
    for args in (
        (fit.est_resid, fit.ar, rows, fit.sigma),
        (fit.est_resid, fit.ar, rows, fit.sigma, grank),
    ):
        _same(loops.rank_sums(*args), kernels.rank_sums(*args))
    _same(loops.residual_sums(fit.est_resid, rows), kernels.residual_sums(fit.est_resid, rows))
    runs = result.panel.runs
    assert runs is not None
    panel_rows = (runs.start[rows], runs.low[rows], runs.high[rows], runs.use[rows], runs.width)
    evt = (
        np.ascontiguousarray(result.panel.evt_y[rows]),
        np.ascontiguousarray(result.panel.evt_x[rows, :, 0]),
    )
    market = np.ascontiguousarray(runs.x[:, 0])
    _same(
        loops.market_fit(runs.y, market, *panel_rows, *evt),
        kernels.market_fit(runs.y, market, *panel_rows, *evt),
    )
    sources = (runs.y, runs.x, runs.days, np.arange(runs.y.size) % 3)
    where = (np.zeros(12, dtype=np.int64), np.full(12, runs.y.size), runs.start[rows] - 5, 40, runs.use[rows])
    for store in (True, False):
        _same(loops.gather_windows(*sources, *where, store), kernels.gather_windows(*sources, *where, store))
    per_event = (
        np.ascontiguousarray(fit.ar[rows]),
        fit.sigma[rows],
        fit.valid[rows],
        evt[0],
        np.ascontiguousarray(fit.expected[rows]),
        np.array([10, 9, 0]),
        np.array([11, 12, 21]),
    )
    for log_returns in (True, False):
        _same(loops.event_tests(*per_event, log_returns), kernels.event_tests(*per_event, log_returns))


def test_a_small_study_runs_without_numba_and_gives_the_compiled_numbers() -> None:
    code = (
        "import json, sys\n"
        "from tests.impact.conftest import small_study\n"
        "print(json.dumps(small_study().to_dict(), default=str))\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "False"  # the loops ran as Python
    assert loops.kernels_for(1) is kernels  # here the compiled kernels are loaded, so they serve
    here = json.loads(json.dumps(small_study().to_dict(), default=str))
    assert json.loads(out.stdout.splitlines()[0]) == here


def test_window_counts_from_running_sums_match_the_gather_pass() -> None:
    """Windows inside, across either end of and outside their series, unplaced events, days
    before 1970 (negative) and after, missing and zero returns."""
    rng = np.random.default_rng(11)
    size = np.array([50, 30, 80])
    offset = np.concatenate([[0], np.cumsum(size)[:-1]])
    rows = int(size.sum())
    all_y = rng.normal(0, 0.01, rows)
    all_y[rng.random(rows) < 0.1] = np.nan
    all_y[rng.random(rows) < 0.1] = 0.0
    all_x = rng.normal(0, 0.01, (rows, 1))
    all_x[rng.random(rows) < 0.05] = np.nan
    all_days = np.concatenate([np.arange(-20, 30), np.arange(100, 130), np.arange(-100, -20)]).astype(
        np.int64
    )
    all_missed = rng.integers(0, 3, rows).astype(np.int64)
    which = np.repeat([0, 1, 2], 40)
    first = np.tile(np.arange(-25, 95, 3), 3)
    placed = rng.random(which.size) < 0.9
    width = 20
    args = (all_y, all_x, all_days, all_missed, offset[which], size[which], first, width, placed)
    gathered = kernels.gather_windows(*args, False)
    counted = _count_windows(*args)
    for got, expected in zip(counted, [gathered[k] for k in (4, 6, 7, 8, 9, 10, 11)], strict=True):
        np.testing.assert_array_equal(got, expected)
