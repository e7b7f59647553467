"""The market model's compiled fit against a general least-squares solver, and the panel's two
forms of the estimation windows (runs of the price series, dense arrays) fitting the same."""

from __future__ import annotations

import numpy as np
import pytest
from tests.impact.test_kernels import _study

from listwatch.errors import ImpactError
from listwatch.impact.models import MODELS, EventPanel
from listwatch.impact.stats import Conventions, sample_statistics

TOL = 1e-12


def _random_panel(seed: int = 7) -> EventPanel:
    """40 events, 60 estimation days with missing returns and market returns, 5 event days; one event
    with too few days to fit and one whose market return never varies."""
    rng = np.random.default_rng(seed)
    n, m, length = 40, 60, 5
    x = rng.normal(0, 0.01, (n, m))
    y = 0.0005 + rng.uniform(0.3, 1.5, (n, 1)) * x + rng.normal(0, 0.02, (n, m))
    y[rng.random((n, m)) < 0.1] = np.nan
    x[rng.random((n, m)) < 0.05] = np.nan
    y[3, 2:] = np.nan  # two returns: no degrees of freedom left
    x[5] = 0.25  # no variation of the regressor (its mean is exact in binary)
    evt_x = rng.normal(0, 0.01, (n, length))
    evt_y = 0.8 * evt_x + rng.normal(0, 0.02, (n, length))
    return EventPanel.from_arrays(y, evt_y, est_x=x, evt_x=evt_x)


def test_market_fit_matches_least_squares_on_each_event_with_missing_days() -> None:
    panel = _random_panel()
    fit = MODELS["market"].fit(panel)
    assert fit.valid.tolist() == [i not in (3, 5) for i in range(panel.n_events)]
    for i in range(panel.n_events):
        y, x = panel.est_y[i], panel.est_x[i, :, 0]
        present = np.isfinite(y) & np.isfinite(x)
        assert fit.n_est[i] == present.sum()
        if not fit.valid[i]:
            assert np.isnan(fit.sigma[i]) and np.isnan(fit.ar[i]).all() and np.isnan(fit.est_resid[i]).all()
            continue
        design = np.column_stack([np.ones(present.sum()), x[present]])
        coef, ssr, _, _ = np.linalg.lstsq(design, y[present], rcond=None)
        np.testing.assert_allclose(fit.params[i], coef, rtol=0, atol=TOL)
        sigma = np.sqrt(ssr[0] / (present.sum() - 2))
        assert fit.sigma[i] == pytest.approx(sigma, rel=TOL)
        resid = np.full(y.shape, np.nan)
        resid[present] = y[present] - design @ coef
        np.testing.assert_allclose(fit.est_resid[i], resid, rtol=0, atol=TOL)
        evt_x = panel.evt_x[i, :, 0]
        np.testing.assert_allclose(fit.ar[i], panel.evt_y[i] - coef[0] - coef[1] * evt_x, rtol=0, atol=TOL)
        # the forecast-error correction: sqrt(1 + leverage of the event day's market return)
        xtx_inv = np.linalg.inv(design.T @ design)
        leverage = np.einsum(
            "li,ij,lj->l",
            np.column_stack([np.ones(evt_x.size), evt_x]),
            xtx_inv,
            np.column_stack([np.ones(evt_x.size), evt_x]),
        )
        np.testing.assert_allclose(fit.fec[i], np.sqrt(1.0 + leverage), rtol=TOL, atol=0)


def test_a_study_panel_reads_its_estimation_windows_from_the_series_as_the_dense_arrays_would() -> None:
    result = _study()
    panel = result.panel
    assert panel.runs is not None
    dense = EventPanel(
        est_y=panel.est_y,  # made from the runs when asked for
        est_x=panel.est_x,
        evt_y=panel.evt_y,
        evt_x=panel.evt_x,
        regressors=panel.regressors,
        est_days=panel.est_days,
        evt_days=panel.evt_days,
    )
    again = MODELS["market"].fit(dense)
    for name in ("ar", "est_resid", "sigma", "fec", "params", "expected"):
        np.testing.assert_array_equal(getattr(again, name), getattr(result.fit, name), err_msg=name)
    # the estimation days are the series' sessions before the event window, and invalid events have
    # no returns
    dates = panel.est_dates
    assert dates is not None
    for i, placed in enumerate(result.placed):
        if placed.estimation is not None:
            known = dates[i][dates[i] >= 0]
            first, last = (np.datetime64(d, "D").astype(np.int64) for d in placed.estimation)
            assert known.min() == first and known.max() == last
        if not result.valid[i]:
            assert np.isnan(panel.est_y[i]).all()


def test_a_panel_without_estimation_windows_is_refused() -> None:
    with pytest.raises(ImpactError, match="estimation windows"):
        EventPanel(
            evt_y=np.zeros((1, 3)),
            evt_x=np.zeros((1, 3, 1)),
            regressors=("market",),
            est_days=np.arange(-5, 0),
            evt_days=np.arange(0, 3),
        )


def test_calendar_alignment_on_a_panel_without_dates_is_refused_after_the_fit_too() -> None:
    """Fitting a dense panel makes runs for the compiled fit; those carry no dates, so the panel
    still has none (it once gave an all-unknown array, and KP's r-bar came out as -1/(N-1))."""
    panel = _random_panel()
    fit = MODELS["market"].fit(panel)
    assert panel.est_dates is None and panel.runs is None
    with pytest.raises(ImpactError, match="needs the events' dates"):
        sample_statistics(
            fit, windows=[(0, 3)], panel=panel, conventions=Conventions(kp_alignment="calendar")
        )
