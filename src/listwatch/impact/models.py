"""Models of normal returns, fitted for every event at once with numpy.

An `EventPanel` holds each event's returns in event time: an estimation window (N x m) and an event
window (N x L), with the regressors the model needs (the market's return, or the factors). A model
fits all N events in one pass of array arithmetic (masked sums, batched k x k solves; the market
model in compiled code, `loops.market_fit`), which is what makes 10,000 events take milliseconds. A missing return is NaN and simply drops out of that
event's fit; an event that cannot be fitted gets NaN results and a reason, never an exception.

    fit = MODELS["market"].fit(panel)
    fit.ar            # abnormal returns, N x L
    fit.sigma         # residual standard error per event (df = m - 2 for the market model)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from listwatch.errors import ImpactError

__all__ = ["MODELS", "EventPanel", "Fit", "NormalReturnModel", "model_named"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class EstimationRuns:
    """Every event's estimation window as a run of rows of the concatenated series, not copied.

    Column j of event i is row `start[i] + j` of `y`, `x` and `days` when `low[i] <= j < high[i]`
    (the columns inside the event's own series; none when the event was not placed), missing
    otherwise; `use[i]` False leaves the event's returns missing (an invalid event), its regressors
    and dates not. A study of 10,000 events reads its windows from a few securities' series this way
    instead of writing three N x m arrays.
    """

    y: FloatArray  # concatenated returns
    x: FloatArray  # rows x k concatenated regressors
    days: IntArray  # concatenated dates, days since 1970
    start: IntArray  # N
    low: IntArray  # N
    high: IntArray  # N
    use: BoolArray  # N
    width: int

    @classmethod
    def from_dense(cls, est_y: FloatArray, est_x: FloatArray) -> EstimationRuns:
        """Runs over N x m (x k) arrays: row i is event i's window."""
        n, m = est_y.shape
        k = est_x.shape[2]
        x = np.broadcast_to(est_x, (n, m, k))
        return cls(
            y=np.ascontiguousarray(est_y, dtype=np.float64).reshape(n * m),
            x=np.ascontiguousarray(x, dtype=np.float64).reshape(n * m, k),
            days=np.full(n * m, -1, dtype=np.int64),
            start=np.arange(n, dtype=np.int64) * m,
            low=np.zeros(n, dtype=np.int64),
            high=np.full(n, m, dtype=np.int64),
            use=np.ones(n, dtype=np.bool_),
            width=m,
        )

    def _take(self, values: Any, fill: Any, rows: bool) -> Any:
        columns = np.arange(self.width, dtype=np.int64)
        inside = (columns >= self.low[:, None]) & (columns < self.high[:, None])
        if rows:
            inside &= self.use[:, None]
        index = np.where(inside, self.start[:, None] + columns, 0)
        taken = values[index] if values.size else np.zeros(index.shape + values.shape[1:], values.dtype)
        mask = inside if values.ndim == 1 else inside[:, :, None]
        return np.where(mask, taken, fill)

    def dense_y(self) -> FloatArray:
        result: FloatArray = self._take(self.y, np.nan, True)
        return result

    def dense_x(self) -> FloatArray:
        result: FloatArray = self._take(self.x, np.nan, False)
        return result

    def dense_days(self) -> IntArray:
        result: IntArray = self._take(self.days, -1, False)
        return result


class EventPanel:
    """Returns of N events in event time.

    An estimation window (N x m) and an event window (N x L) of returns, with the regressors (N x m
    x k, N x L x k) named by `regressors`: `market` for the market-based models, the factor names
    for the factor models (returns already in excess of the risk-free rate where the model asks for
    it). `est_days` and `evt_days` are the event-time labels of the columns (e.g. -260..-11 and
    -10..10); `est_dates` (N x m, days since 1970, -1 when unknown) lets cross-correlation be
    measured in calendar time. A panel built from price files keeps its estimation windows as
    `runs` of the concatenated series; `est_y`, `est_x` and `est_dates` are made from them when
    something asks (the market model's fit reads the runs themselves).
    """

    def __init__(
        self,
        *,
        evt_y: FloatArray,
        evt_x: FloatArray,
        regressors: tuple[str, ...],
        est_days: IntArray,
        evt_days: IntArray,
        est_y: FloatArray | None = None,
        est_x: FloatArray | None = None,
        est_dates: IntArray | None = None,
        runs: EstimationRuns | None = None,
    ) -> None:
        if runs is None and (est_y is None or est_x is None):
            raise ImpactError("a panel needs its estimation windows: est_y and est_x, or runs")
        self.evt_y = evt_y
        self.evt_x = evt_x
        self.regressors = regressors
        self.est_days = est_days
        self.evt_days = evt_days
        self.runs = runs  # from price files only: est_dates is known only then
        if est_y is not None:
            self.est_y = est_y
        if est_x is not None:
            self.est_x = est_x
        if est_dates is not None:
            self.est_dates = est_dates

    # made from the runs when something asks (a dense panel sets them in __init__)
    @cached_property
    def est_y(self) -> FloatArray:
        return self.estimation_runs().dense_y()

    @cached_property
    def est_x(self) -> FloatArray:
        return self.estimation_runs().dense_x()

    @cached_property
    def est_dates(self) -> IntArray | None:
        return None if self.runs is None else self.runs.dense_days()

    @cached_property
    def _dense_runs(self) -> EstimationRuns:
        return EstimationRuns.from_dense(self.est_y, self.est_x)

    def estimation_runs(self) -> EstimationRuns:
        """The estimation windows as runs (made from the dense arrays for a panel built from them)."""
        return self.runs if self.runs is not None else self._dense_runs

    @property
    def n_events(self) -> int:
        return int(self.evt_y.shape[0])

    @classmethod
    def from_arrays(
        cls,
        est_y: Any,
        evt_y: Any,
        *,
        est_x: Any = None,
        evt_x: Any = None,
        regressors: tuple[str, ...] = ("market",),
        evt_start: int = 0,
    ) -> EventPanel:
        """A panel from plain lists (one row per event), as in published reference fixtures.

        The estimation window ends the day before the event window starts at `evt_start`.
        """
        ey = np.atleast_2d(np.asarray(est_y, dtype=np.float64))
        vy = np.atleast_2d(np.asarray(evt_y, dtype=np.float64))
        n, m, length = ey.shape[0], ey.shape[1], vy.shape[1]

        def regress(values: Any, width: int) -> FloatArray:
            if values is None:
                return np.zeros((n, width, 0))
            arr = np.asarray(values, dtype=np.float64)
            if arr.ndim == 1:
                arr = arr[None, :, None]
            elif arr.ndim == 2:
                arr = arr[:, :, None] if len(regressors) == 1 else arr[None, :, :]
            return arr

        return cls(
            est_y=ey,
            evt_y=vy,
            est_x=regress(est_x, m),
            evt_x=regress(evt_x, length),
            regressors=regressors if est_x is not None else (),
            est_days=np.arange(evt_start - m, evt_start, dtype=np.int64),
            evt_days=np.arange(evt_start, evt_start + length, dtype=np.int64),
        )


@dataclass(frozen=True)
class Fit:
    """A model fitted to every event of a panel.

    `fec` is the forecast-error correction per event day, sqrt(1 + h_t) with h_t the leverage of that
    day's regressors (1/m + (x_t - mean x)^2 / SSx for the market model), so that sigma * fec is the
    standard deviation of the prediction error. `xtx_inv`, `x_mean` and `n_est` let a window's CAR
    variance be corrected the same way (`car_variance_factor`).
    """

    model: str
    ar: FloatArray  # N x L abnormal returns in the event window
    expected: FloatArray  # N x L normal returns the model predicts
    est_resid: FloatArray  # N x m residuals over the estimation window (NaN where missing)
    sigma: FloatArray  # N
    df: IntArray  # N, degrees of freedom of sigma
    n_est: IntArray  # N, estimation returns used
    n_params: int  # parameters estimated per event (intercept included)
    fec: FloatArray  # N x L
    params: FloatArray  # N x n_params: intercept, then one coefficient per regressor
    param_names: tuple[str, ...]
    valid: BoolArray  # N: a usable fit
    reasons: tuple[str | None, ...]  # why an event has no usable fit
    xtx_inv: FloatArray | None = field(default=None, repr=False)  # N x k x k, centred regressors
    x_mean: FloatArray | None = field(default=None, repr=False)  # N x k
    evt_x: FloatArray | None = field(default=None, repr=False)  # N x L x k

    def car_variance_factor(self, start: int, stop: int) -> FloatArray:
        """Var(CAR over event-window columns start..stop-1) / sigma^2 per event.

        n + n^2/m + d' (X'X)^-1 d, with d the sum of the window's centred regressors: the prediction
        error of a sum of days, not n times one day's.
        """
        length = stop - start
        if self.model == "raw":
            return np.full(self.sigma.shape, float(length))
        factor = length + length**2 / np.maximum(self.n_est, 1)
        if self.xtx_inv is not None and self.x_mean is not None and self.evt_x is not None:
            d = (self.evt_x[:, start:stop, :] - self.x_mean[:, None, :]).sum(axis=1)
            factor = factor + np.einsum("ni,nij,nj->n", d, self.xtx_inv, d)
        return np.asarray(factor, dtype=np.float64)


class NormalReturnModel:
    """One way of predicting an event's normal returns. Subclasses set `name` and `fit`."""

    name: ClassVar[str]
    title: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()  # regressors the panel must carry, in order
    excess: ClassVar[bool] = False  # returns in excess of the risk-free rate

    def fit(self, panel: EventPanel) -> Fit:
        raise NotImplementedError

    def _columns(self, panel: EventPanel) -> list[int] | None:
        """The panel's regressor columns the model needs (None: all of them, in order)."""
        missing = [name for name in self.needs if name not in panel.regressors]
        if missing:
            raise ImpactError(
                f"model {self.name!r} needs {', '.join(missing)}: give "
                + ("--market" if missing == ["market"] else "a factor file with --factors")
            )
        cols = [panel.regressors.index(name) for name in self.needs]
        return None if cols == list(range(panel.evt_x.shape[2])) else cols

    def _regressors(self, panel: EventPanel) -> tuple[FloatArray, FloatArray]:
        cols = self._columns(panel)
        if cols is None:  # no copy
            return panel.est_x, panel.evt_x
        return panel.est_x[:, :, cols], panel.evt_x[:, :, cols]


def _reasons(valid: BoolArray, n_est: IntArray, minimum: int, what: str) -> tuple[str | None, ...]:
    return tuple(
        None if ok else f"{what}: {int(n)} estimation returns, needs at least {minimum}"
        for ok, n in zip(valid.tolist(), n_est.tolist(), strict=True)
    )


class _Ols(NormalReturnModel):
    """OLS of the event's returns on an intercept and `needs`, per event, all events at once."""

    def fit(self, panel: EventPanel) -> Fit:
        if len(self.needs) == 1:
            cols = self._columns(panel)
            column = cols[0] if cols else 0
            return self._fit_one(panel, column, panel.evt_x if cols is None else panel.evt_x[:, :, cols])
        est_x, evt_x = self._regressors(panel)
        y = panel.est_y
        k = est_x.shape[2]
        mask = np.isfinite(y) & np.isfinite(est_x).all(axis=2)
        n = mask.sum(axis=1).astype(np.int64)
        df = n - k - 1
        safe_n = np.maximum(n, 1)
        y0 = np.where(mask, y, 0.0)
        x0 = np.where(mask[:, :, None], est_x, 0.0)
        y_mean = y0.sum(axis=1) / safe_n
        x_mean = x0.sum(axis=1) / safe_n[:, None]
        yc = np.where(mask, y - y_mean[:, None], 0.0)
        xc = np.where(mask[:, :, None], est_x - x_mean[:, None, :], 0.0)
        xtx = np.einsum("nmi,nmj->nij", xc, xc)
        xty = np.einsum("nmi,nm->ni", xc, yc)
        ok = (df >= 1) & (np.linalg.matrix_rank(xtx) == k) if k else df >= 1
        safe = np.where(ok[:, None, None], xtx, np.eye(k))
        xtx_inv = np.where(ok[:, None, None], np.linalg.inv(safe), np.nan)
        beta = np.einsum("nij,nj->ni", xtx_inv, xty)
        alpha = y_mean - np.einsum("ni,ni->n", x_mean, beta)
        resid = np.where(mask, y - alpha[:, None] - np.einsum("nmi,ni->nm", est_x, beta), np.nan)
        ssr = np.nansum(resid * resid, axis=1)
        sigma = np.sqrt(ssr / np.maximum(df, 1))
        valid = ok & (sigma > 0)
        sigma = np.where(valid, sigma, np.nan)
        expected = alpha[:, None] + np.einsum("nli,ni->nl", evt_x, beta)
        d = evt_x - x_mean[:, None, :]
        leverage = 1.0 / safe_n[:, None] + np.einsum("nli,nij,nlj->nl", d, xtx_inv, d)
        return Fit(
            model=self.name,
            ar=np.where(valid[:, None], panel.evt_y - expected, np.nan),
            expected=expected,
            est_resid=np.where(valid[:, None], resid, np.nan),
            sigma=sigma,
            df=df,
            n_est=n,
            n_params=k + 1,
            fec=np.sqrt(1.0 + leverage),
            params=np.column_stack([alpha, beta]),
            param_names=("alpha", *(f"beta_{name}" for name in self.needs)),
            valid=valid,
            reasons=_reasons(valid, n, k + 2, f"{self.name} model cannot be fitted"),
            xtx_inv=xtx_inv,
            x_mean=x_mean,
            evt_x=evt_x,
        )

    def _fit_one(self, panel: EventPanel, column: int, evt_x: FloatArray) -> Fit:
        """One regressor (the market model): a compiled pass per event, the same sums as above, read
        from the panel's estimation runs (no N x m copy of the windows)."""
        from listwatch.impact.loops import kernels_for

        kernels = kernels_for(panel.n_events)  # compiled (numba) unless the study is small

        def flat(values: FloatArray) -> FloatArray:
            return np.ascontiguousarray(values, dtype=np.float64)

        runs = panel.estimation_runs()
        alpha, beta, inv, x_mean, n, sigma, valid, resid, ar, expected, fec = kernels.market_fit(
            runs.y,
            flat(runs.x[:, column]),
            runs.start,
            runs.low,
            runs.high,
            runs.use,
            runs.width,
            flat(panel.evt_y),
            flat(evt_x[:, :, 0]),
        )
        return Fit(
            model=self.name,
            ar=ar,
            expected=expected,
            est_resid=resid,
            sigma=sigma,
            df=n - 2,
            n_est=n,
            n_params=2,
            fec=fec,
            params=np.column_stack([alpha, beta]),
            param_names=("alpha", *(f"beta_{name}" for name in self.needs)),
            valid=valid,
            reasons=_reasons(valid, n, 3, f"{self.name} model cannot be fitted"),
            xtx_inv=inv[:, None, None],
            x_mean=x_mean[:, None],
            evt_x=evt_x,
        )


class MarketModel(_Ols):
    name = "market"
    title = "market model: R = alpha + beta Rm + e, OLS over the estimation window"
    needs = ("market",)


class FamaFrench3(_Ols):
    name = "ff3"
    title = "Fama-French three-factor model on excess returns"
    needs = ("mkt_rf", "smb", "hml")
    excess = True


class FamaFrench5(_Ols):
    name = "ff5"
    title = "Fama-French five-factor model on excess returns"
    needs = ("mkt_rf", "smb", "hml", "rmw", "cma")
    excess = True


class Carhart(_Ols):
    name = "carhart"
    title = "Carhart four-factor model (FF3 + momentum) on excess returns"
    needs = ("mkt_rf", "smb", "hml", "mom")
    excess = True


class _Constant(NormalReturnModel):
    """Models without regression: AR = R - benchmark; sigma = sd(AR over the estimation window)."""

    demean: ClassVar[bool] = False  # benchmark is the estimation-window mean

    def _benchmarks(self, panel: EventPanel) -> tuple[FloatArray, FloatArray]:
        if self.needs:
            est_x, evt_x = self._regressors(panel)
            return est_x[:, :, 0], evt_x[:, :, 0]
        return np.zeros_like(panel.est_y), np.zeros_like(panel.evt_y)

    def fit(self, panel: EventPanel) -> Fit:
        est_b, evt_b = self._benchmarks(panel)
        resid = panel.est_y - est_b
        mask = np.isfinite(resid)
        n = mask.sum(axis=1).astype(np.int64)
        safe_n = np.maximum(n, 1)
        mean = np.where(mask, resid, 0.0).sum(axis=1) / safe_n
        centred = np.where(mask, resid - mean[:, None], 0.0)
        df = n - 1
        sigma = np.sqrt((centred * centred).sum(axis=1) / np.maximum(df, 1))
        valid = (df >= 1) & (sigma > 0)
        level = mean if self.demean else np.zeros_like(mean)
        expected = evt_b + level[:, None]
        est_resid = resid - level[:, None]
        fec = np.sqrt(1.0 + 1.0 / safe_n) if self.name != "raw" else np.ones_like(mean)
        # Without estimated parameters an abnormal return needs no estimation window.
        ar = (
            panel.evt_y - expected
            if not self.demean
            else np.where(valid[:, None], panel.evt_y - expected, np.nan)
        )
        return Fit(
            model=self.name,
            ar=ar,
            expected=expected,
            est_resid=np.where(valid[:, None] & mask, est_resid, np.nan),
            sigma=np.where(valid, sigma, np.nan),
            df=df,
            n_est=n,
            n_params=1 if self.demean else 0,
            fec=np.repeat(fec[:, None], panel.evt_y.shape[1], axis=1),
            params=level[:, None],
            param_names=("mean",) if self.demean else ("none",),
            valid=valid,
            reasons=_reasons(valid, n, 2, f"{self.name} model has no usable estimation window"),
        )


class MeanAdjusted(_Constant):
    name = "mean"
    title = "mean-adjusted (constant mean return over the estimation window)"
    demean = True


class MarketAdjusted(_Constant):
    name = "market-adjusted"
    title = "market-adjusted: AR = R - Rm (alpha 0, beta 1)"
    needs = ("market",)


class BuyAndHold(MarketAdjusted):
    """Market-adjusted daily, compounded over windows: BHAR = prod(1+R) - prod(1+Rm)."""

    name = "bhar"
    title = "buy-and-hold abnormal returns against the market (Barber-Lyon)"


class Raw(_Constant):
    name = "raw"
    title = "raw returns, no benchmark (AR = R)"


MODELS: dict[str, NormalReturnModel] = {
    model.name: model
    for model in (
        MeanAdjusted(),
        MarketAdjusted(),
        MarketModel(),
        FamaFrench3(),
        FamaFrench5(),
        Carhart(),
        BuyAndHold(),
        Raw(),
    )
}


def model_named(name: str) -> NormalReturnModel:
    try:
        return MODELS[name]
    except KeyError:
        raise ImpactError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None
