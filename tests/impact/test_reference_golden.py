"""Every number of the EventStudyTools golden tests (tests/impact/data/eventstudy_r_golden), to 1e-10.

The inputs are the published fixtures as they stand; each block builds the panel the fixture
describes, fits the model, and checks the statistics with the conventions stated beside them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from listwatch.impact.models import MODELS, EventPanel, Fit
from listwatch.impact.single import event_statistics
from listwatch.impact.stats import centred_mean_ranks, sample_statistics

DATA = Path(__file__).parent / "data" / "eventstudy_r_golden"
FIXTURES = json.loads((DATA / "fixtures.json").read_text())
EXPECTED = json.loads((DATA / "expected.json").read_text())
TOL = 1e-10
CUMULATIVE = [(0, 1), (0, 2), (0, 3)]  # the reference's CAR windows: [0,0], [0,1], [0,2]
DAYS = [(0, 1), (1, 2), (2, 3)]


def close(actual: Any, expected: Any) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=0, atol=TOL
    )


def single_market_model() -> tuple[EventPanel, Fit]:
    fx = FIXTURES["single_market_model"]
    est_index = np.array(fx["est_index"])
    est_firm = 0.005 + 1.5 * est_index + np.array(fx["est_resid"])
    panel = EventPanel.from_arrays(est_firm, fx["evt_firm"], est_x=est_index, evt_x=fx["evt_index"])
    return panel, MODELS["market"].fit(panel)


def test_market_model_sigma_ar_t_and_car_t() -> None:
    panel, fit = single_market_model()
    ex = EXPECTED["single_market_model"]
    close(fit.sigma, [ex["sigma"]])
    assert fit.df.tolist() == [ex["df"]]
    per_event = event_statistics(fit, panel, windows=CUMULATIVE)
    close(per_event.ar_t[0], ex["ar_t"])
    close(per_event.car_t[0], ex["car_t"])


def test_market_adjusted_sigma_and_abnormal_returns() -> None:
    fx, ex = FIXTURES["single_market_adjusted"], EXPECTED["single_market_adjusted"]
    panel = EventPanel.from_arrays(
        fx["est_firm"], fx["evt_firm"], est_x=fx["est_index"], evt_x=fx["evt_index"]
    )
    fit = MODELS["market-adjusted"].fit(panel)
    close(fit.sigma, [ex["sigma"]])
    assert fit.df.tolist() == [ex["df"]]
    close(fit.ar[0], ex["ar_event"])


def test_mean_adjusted_mean_sigma_and_abnormal_returns() -> None:
    fx, ex = FIXTURES["single_comparison_mean"], EXPECTED["single_comparison_mean"]
    fit = MODELS["mean"].fit(EventPanel.from_arrays(fx["est_firm"], fx["evt_firm"]))
    close(fit.params[0], [ex["mean"]])
    close(fit.sigma, [ex["sigma"]])
    assert fit.df.tolist() == [ex["df"]]
    close(fit.ar[0], ex["ar_event"])


@pytest.mark.parametrize(
    ("model", "key", "factors"),
    [
        ("ff3", "FF3", ("me", "smb", "hml")),
        ("ff5", "FF5", ("me", "smb", "hml", "rmw", "cma")),
        ("carhart", "Carhart4", ("me", "smb", "hml", "mom")),
    ],
)
def test_factor_models_sigma_df_and_abnormal_returns(model: str, key: str, factors: tuple[str, ...]) -> None:
    fx, ex = FIXTURES["single_factor_models"], EXPECTED["single_factor_models"][key]
    names = {"me": "mkt_rf", "mom": "mom"}
    est = {f: np.array(fx[f]) for f in ("me", "smb", "hml", "mom", "rmw", "cma")}
    excess_est = (
        0.0005
        + 1.1 * est["me"]
        + 0.5 * est["smb"]
        - 0.3 * est["hml"]
        + 0.2 * est["mom"]
        + 0.15 * est["rmw"]
        - 0.1 * est["cma"]
        + np.array(fx["resid"])
    )
    est_x = np.column_stack([est[f] for f in factors])[None, :, :]
    evt_x = np.column_stack([fx[f + "_e"] for f in factors])[None, :, :]
    panel = EventPanel(
        est_y=excess_est[None, :],
        evt_y=np.array([fx["excess_evt"]]),
        est_x=est_x,
        evt_x=evt_x,
        regressors=tuple(names.get(f, f) for f in factors),
        est_days=np.arange(-8, 0),
        evt_days=np.arange(0, 3),
    )
    fit = MODELS[model].fit(panel)
    close(fit.sigma, [ex["sigma"]])
    assert fit.df.tolist() == [ex["df"]]
    close(fit.ar[0], ex["ar_event"])


def test_bhar_compounds_and_scales_by_sqrt_n() -> None:
    fx, ex = FIXTURES["single_bhar"], EXPECTED["single_bhar"]
    panel = EventPanel.from_arrays(
        fx["est_firm"], fx["evt_firm"], est_x=fx["est_index"], evt_x=fx["evt_index"]
    )
    fit = MODELS["bhar"].fit(panel)
    close(fit.sigma, [ex["sigma"]])
    assert fit.df.tolist() == [ex["df"]]
    per_event = event_statistics(fit, panel, windows=CUMULATIVE)
    close(per_event.bhar[0], ex["bhar"])
    close(per_event.bhar_se[0], ex["bhar_se"])
    close(per_event.bhar_t[0], ex["bhar_t"])


def multi_event() -> tuple[EventPanel, Fit]:
    events = FIXTURES["multi_event_market_model"]["events"]
    est_y, est_x, evt_y, evt_x = [], [], [], []
    for spec in events.values():
        index = np.array(spec["est_index"])
        est_y.append(spec["alpha"] + spec["beta"] * index + np.array(spec["est_resid"]))
        est_x.append(index)
        evt_y.append(spec["evt_firm"])
        evt_x.append(spec["evt_index"])
    panel = EventPanel.from_arrays(est_y, evt_y, est_x=est_x, evt_x=evt_x)
    return panel, MODELS["market"].fit(panel)


MULTI = EXPECTED["multi_event_market_model"]


@pytest.fixture(scope="module")
def days() -> Any:
    panel, fit = multi_event()
    return sample_statistics(fit, windows=DAYS, daily=True, panel=panel)


@pytest.fixture(scope="module")
def cumulative() -> Any:
    panel, fit = multi_event()
    return sample_statistics(fit, windows=CUMULATIVE, panel=panel)


def test_cross_sectional_t(days: Any, cumulative: Any) -> None:
    ex = MULTI["csect_t"]
    assert days.n.tolist() == ex["n_events"]
    close(days.caar, ex["aar"])
    close(days.tests["csect_t"].statistic, ex["aar_t"])
    close(cumulative.caar, ex["caar"])
    close(cumulative.tests["csect_t"].statistic, ex["caar_t"])


def test_patell_z_with_forecast_error_correction(days: Any, cumulative: Any) -> None:
    close(days.tests["patell_z"].statistic, MULTI["patell_z"]["aar_z"])
    close(cumulative.tests["patell_z"].statistic, MULTI["patell_z"]["caar_z"])


def test_bmp_t_standardises_by_model_sigma(days: Any, cumulative: Any) -> None:
    _panel, fit = multi_event()
    sar = fit.ar / fit.sigma[:, None]
    close(sar.mean(axis=0), MULTI["bmp_t"]["mean_sar"])
    close(days.tests["bmp_t"].statistic, MULTI["bmp_t"]["bmp_t"])
    close(cumulative.tests["bmp_t"].statistic, MULTI["bmp_t"]["cbmp_t"])


def test_kolari_pynnonen_adjusted_bmp(days: Any, cumulative: Any) -> None:
    ex = MULTI["kolari_pynnonen_t"]
    assert abs(days.r_bar - ex["r_bar_rederived"]) < 1e-11
    close(days.tests["kp_t"].statistic, ex["kp_t"])
    close(cumulative.tests["kp_t"].statistic, ex["ckp_t"])


def test_sign_and_generalized_sign(days: Any, cumulative: Any) -> None:
    close(days.tests["sign_z"].statistic, MULTI["sign_z"]["sign_z"])
    close(cumulative.tests["sign_z"].statistic, MULTI["sign_z"]["csign_z"])
    assert days.p_hat == 0.5
    close(days.tests["gsign_z"].statistic, MULTI["generalized_sign_z"]["gsign_z"])
    close(cumulative.tests["gsign_z"].statistic, MULTI["generalized_sign_z"]["cgsign_z"])


def test_corrado_rank_over_estimation_and_event_days(days: Any) -> None:
    _panel, fit = multi_event()
    close(centred_mean_ranks(fit)[0], MULTI["corrado_rank_z"]["mean_rank"])
    close(days.tests["rank_z"].statistic, MULTI["corrado_rank_z"]["rank_z"])


def test_calendar_time_portfolio_t(days: Any, cumulative: Any) -> None:
    ex = MULTI["calendar_time_portfolio_t"]
    close(days.tests["caltime_t"].statistic, ex["caltime_t"])
    close(cumulative.tests["caltime_t"].statistic, ex["ccaltime_t"])
    assert days.tests["caltime_t"].distribution[0] == "t(7)"


def test_patell_and_sign_are_not_applicable_for_one_event() -> None:
    panel, fit = single_market_model()
    one = sample_statistics(fit, windows=DAYS, daily=True, panel=panel)
    for name in ("patell_z", "sign_z", "csect_t"):
        column = one.tests[name]
        assert np.isnan(column.statistic).all()
        assert column.reasons[0] == "1 event(s), needs 2"
