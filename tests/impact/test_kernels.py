"""The compiled parts of an event study against plain per-event computations, on real returns.

A few hundred events on the bundled Hong Kong prices; the residuals are also rounded (ties), nudged
by one ulp (values whose sort keys differ only in the column bits), given signed zeros and missing
days, so that every path of the rank kernels is taken.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date
from functools import cache

import numpy as np
import pytest
from scipy import stats as scipy_stats  # type: ignore[import-untyped]
from tests.impact.conftest import HSI, PRICES

from listwatch.impact.models import Fit
from listwatch.impact.options import StudyOptions
from listwatch.impact.panel import StudyEvent
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
    placed = _study().placed
    assert len(placed) == len(list(placed))
    assert placed[-1] is placed[len(placed) - 1]
    assert [p.day0 for p in placed[:3]] == [placed[0].day0, placed[1].day0, placed[2].day0]
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
