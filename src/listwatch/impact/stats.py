"""Test statistics for a sample of events, per event day and per CAR window, all events at once.

Every statistic is a small class with a `name` in `STATISTICS`; docs/impact.md gives each one's
formula and the sigma it standardises by. A day is the window [d, d]; a window's statistic uses the
events whose abnormal returns are complete over it (the others are counted out, not turned into NaN).
Where published tools differ, the choice is a field of `Conventions` with the default that
reproduces the EventStudyTools reference results (tests/impact/data/).

    sample = sample_statistics(fit, windows=[(10, 11), (9, 12)], evt_days=panel.evt_days)
    sample.tests["patell"].statistic
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Literal

import numpy as np
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

from listwatch.errors import ImpactError
from listwatch.impact.loops import RankSums, kernels_for
from listwatch.impact.models import BoolArray, EventPanel, Fit, FloatArray, IntArray
from listwatch.impact.ranks import signed_rank_test

__all__ = [
    "STATISTICS",
    "Conventions",
    "SampleStatistics",
    "Statistic",
    "TestColumn",
    "centred_mean_ranks",
    "mean_cross_correlation",
    "positive_share",
    "sample_statistics",
]


@dataclass(frozen=True)
class Conventions:
    """Choices where event-study tools differ; the defaults reproduce EventStudyTools' R package.

    - `bmp_sigma`: BMP standardises by the model's residual sigma ("model", EventStudyTools) or by
      Patell's forecast-error-corrected sigma ("fec", Boehmer-Musumeci-Poulsen 1991 as written).
    - `kp_alignment`: Kolari-Pynnönen's mean cross-correlation of estimation residuals, paired by
      event-time position ("event_time", EventStudyTools) or by calendar day ("calendar": pairs
      correlate only over the days their estimation windows share).
    """

    bmp_sigma: Literal["model", "fec"] = "model"
    kp_alignment: Literal["event_time", "calendar"] = "event_time"


@dataclass(frozen=True)
class TestColumn:
    """One statistic over a list of windows: value, two-sided p-value, and why a value is missing."""

    statistic: FloatArray
    p_value: FloatArray
    distribution: tuple[str, ...]
    reasons: tuple[str | None, ...]


@dataclass(frozen=True)
class SampleStatistics:
    """Per window: events used (`n`), mean CAR (`caar`), and each statistic's `TestColumn`."""

    n: IntArray
    caar: FloatArray
    tests: dict[str, TestColumn]
    r_bar: float  # Kolari-Pynnönen mean cross-correlation
    p_hat: float  # generalized sign: expected share of positive abnormal returns

    def select(self, columns: slice) -> SampleStatistics:
        """The statistics of some of the windows (one computation, shown as two tables)."""
        tests = {
            name: TestColumn(
                c.statistic[columns], c.p_value[columns], c.distribution[columns], c.reasons[columns]
            )
            for name, c in self.tests.items()
        }
        return SampleStatistics(self.n[columns], self.caar[columns], tests, self.r_bar, self.p_hat)


@dataclass
class _Context:
    fit: Fit
    windows: tuple[tuple[int, int], ...]  # event-window column ranges [start, stop)
    daily: BoolArray  # W: windows read as single days (Patell adds its Q_i before standardising)
    conventions: Conventions
    panel: EventPanel | None  # its est_dates (made on demand) for KP's calendar alignment
    car: FloatArray  # N x W, NaN unless the event's abnormal returns are complete over the window
    used: BoolArray  # N x W
    n: IntArray  # W
    events: BoolArray  # N: the events the sample holds
    names: tuple[str, ...]  # the statistics asked for

    # work shared by statistics, done once when the first of them asks
    @cached_property
    def bmp_t(self) -> tuple[FloatArray, IntArray]:
        """BMP's t and events used: for the BMP and KP tests."""
        return _bmp_t(self)

    @cached_property
    def residuals(self) -> _Residuals:
        """The pass over the estimation residuals: for KP's r-bar, p-hat and the calendar-time t."""
        return _residuals(self.fit, self.events)

    @cached_property
    def r_bar(self) -> float:
        """KP's mean cross-correlation: for the KP test and reported with the sample."""
        calendar = self.conventions.kp_alignment == "calendar"
        return _mean_cross_correlation(
            self.fit,
            self.events,
            self.conventions.kp_alignment,
            self.panel.est_dates if calendar and self.panel is not None else None,
            None if calendar else self.residuals,
        )

    @cached_property
    def p_hat(self) -> float:
        """Cowan's p-hat: for the generalized sign test and reported with the sample."""
        return _positive_share(self.residuals)

    @cached_property
    def grank_inputs(self) -> _GrankInputs:
        """GRANK's standardised CARs scaled by their cross-sectional sd, per window."""
        return _grank_inputs(self)

    @cached_property
    def ranks(self) -> RankSums:
        """Each used event's residuals sorted and ranked once: Corrado's sums, and GRANK's when that
        test is asked for and every sigma is usable (then the one sort serves both)."""
        return _ranks(self)


class Statistic:
    """A test of H0: no abnormal return, over windows. `sigma` says what it standardises by."""

    name: ClassVar[str]
    title: ClassVar[str]
    sigma: ClassVar[str]

    def compute(self, ctx: _Context) -> TestColumn:
        raise NotImplementedError


def _t_column(t: FloatArray, df: FloatArray, reasons: list[str | None]) -> TestColumn:
    p = 2.0 * scipy_stats.t.sf(np.abs(t), np.maximum(df, 1))
    dist = tuple(f"t({int(d)})" if np.isfinite(d) and d >= 1 else "t" for d in df)
    return _finish(t, np.where(np.isfinite(t), p, np.nan), dist, reasons)


def _z_column(z: FloatArray, reasons: list[str | None]) -> TestColumn:
    p = 2.0 * scipy_stats.norm.sf(np.abs(z))
    return _finish(z, np.where(np.isfinite(z), p, np.nan), ("N(0,1)",) * len(z), reasons)


def _finish(value: FloatArray, p: FloatArray, dist: tuple[str, ...], reasons: list[str | None]) -> TestColumn:
    out = [r if not np.isfinite(v) else None for v, r in zip(value.tolist(), reasons, strict=True)]
    out = [
        r or ("cannot be computed" if not np.isfinite(v) else None) for v, r in zip(value, out, strict=True)
    ]
    return TestColumn(statistic=value, p_value=p, distribution=dist, reasons=tuple(out))


def _few(n: IntArray, minimum: int = 2) -> list[str | None]:
    return [f"{int(k)} event(s), needs {minimum}" if k < minimum else None for k in n]


def _cross_t(values: FloatArray, used: BoolArray) -> tuple[FloatArray, IntArray]:
    """sqrt(N) mean / sd (ddof 1) down each column over the used events."""
    n = used.sum(axis=0)
    x = np.where(used, values, 0.0)
    mean = x.sum(axis=0) / np.maximum(n, 1)
    dev = np.where(used, values - mean, 0.0)
    sd = np.sqrt((dev * dev).sum(axis=0) / np.maximum(n - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where((n >= 2) & (sd > 0), np.sqrt(n) * mean / sd, np.nan)
    return t, n


def _window_sums(values: FloatArray, windows: tuple[tuple[int, int], ...]) -> FloatArray:
    """N x W sums over each window's columns (NaN when a value in it is missing)."""
    padded = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
    starts = np.array([w[0] for w in windows])
    stops = np.array([w[1] for w in windows])
    result: FloatArray = padded[:, stops] - padded[:, starts]
    return result


def _lengths(ctx: _Context) -> FloatArray:
    return np.array([stop - start for start, stop in ctx.windows], dtype=np.float64)


class CrossSectionalT(Statistic):
    name = "csect_t"
    title = "cross-sectional t (Brown-Warner)"
    sigma = "cross-sectional sd of the CARs"

    def compute(self, ctx: _Context) -> TestColumn:
        t, n = _cross_t(ctx.car, ctx.used)
        return _t_column(t, (n - 1).astype(np.float64), _few(n))


class PatellZ(Statistic):
    name = "patell_z"
    title = "Patell Z (standardised residuals, forecast-error corrected)"
    sigma = "each event's sigma x sqrt(1 + h_t) (forecast error), Q_i = df/(df-2)"

    def compute(self, ctx: _Context) -> TestColumn:
        fit = ctx.fit
        sar = fit.ar / (fit.sigma[:, None] * fit.fec)
        q = fit.df / (fit.df - 2.0)
        ok_q = (fit.df > 2)[:, None] & ctx.used
        csar = _window_sums(sar, ctx.windows)
        n = ok_q.sum(axis=0)
        total_q = np.where(ok_q, q[:, None], 0.0).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z_day = np.where(ok_q, csar, 0.0).sum(axis=0) / np.sqrt(np.where(total_q > 0, total_q, np.nan))
            scaled = csar / np.sqrt(_lengths(ctx)[None, :] * q[:, None])
        z_window = np.where(ok_q, scaled, 0.0).sum(axis=0) / np.sqrt(np.maximum(n, 1))
        z = np.where(n >= 2, np.where(ctx.daily, z_day, z_window), np.nan)
        return _z_column(z, _few(n))


def _bmp_t(ctx: _Context) -> tuple[FloatArray, IntArray]:
    """BMP's cross-sectional t of the standardised CARs (and events used)."""
    fit = ctx.fit
    scale = fit.sigma[:, None] * (fit.fec if ctx.conventions.bmp_sigma == "fec" else 1.0)
    scores = _window_sums(fit.ar / scale, ctx.windows) / np.sqrt(_lengths(ctx))[None, :]
    return _cross_t(scores, ctx.used)


class BoehmerT(Statistic):
    name = "bmp_t"
    title = "BMP standardised cross-sectional t (Boehmer-Musumeci-Poulsen)"
    sigma = "each event's model sigma (Conventions.bmp_sigma='fec': forecast-error corrected)"

    def compute(self, ctx: _Context) -> TestColumn:
        t, n = ctx.bmp_t
        return _t_column(t, (n - 1).astype(np.float64), _few(n))


@dataclass(frozen=True)
class _Residuals:
    """What three statistics need from the chosen events' estimation residuals, in one pass."""

    z_sum: FloatArray  # m: column sums of the rows centred and scaled to unit length (KP)
    n_scaled: int  # rows that could be scaled (not constant)
    complete: bool  # no residual missing
    share: FloatArray  # per row: share of positive residuals (Cowan's p-hat)
    count: IntArray  # per row: residuals present
    column_sum: FloatArray  # m: sum over the rows per estimation day (calendar-time t)
    column_count: IntArray  # m


def _residuals(fit: Fit, chosen: BoolArray) -> _Residuals:
    kernels = kernels_for(fit.ar.shape[0])  # compiled (numba) unless the study is small
    resid = np.ascontiguousarray(fit.est_resid, dtype=np.float64)
    z_sum, n_scaled, complete, share, count, column_sum, column_count = kernels.residual_sums(
        resid, np.flatnonzero(chosen)
    )
    return _Residuals(z_sum, int(n_scaled), bool(complete), share, count, column_sum, column_count)


def mean_cross_correlation(
    fit: Fit, *, alignment: str, est_dates: IntArray | None = None, events: BoolArray | None = None
) -> float:
    """Mean off-diagonal Pearson correlation of the events' estimation residuals (Kolari-Pynnönen).

    Computed without forming the N x N matrix: with each row centred and scaled to unit length,
    the sum of all pairwise correlations is |sum of rows|^2, so the cost is O(N m). Rows with
    missing days (or calendar alignment) are centred and scaled over their own days.
    """
    chosen = fit.valid if events is None else events
    return _mean_cross_correlation(fit, chosen, alignment, est_dates, None)


def _mean_cross_correlation(
    fit: Fit, chosen: BoolArray, alignment: str, est_dates: IntArray | None, summary: _Residuals | None
) -> float:
    n_events = int(chosen.sum())
    if n_events < 2:
        return 0.0
    if alignment != "calendar":
        summary = summary or _residuals(fit, chosen)
        if summary.complete:  # the usual case, from the one compiled pass over the residuals
            total = float(summary.z_sum @ summary.z_sum)
            return float((total - summary.n_scaled) / (n_events * (n_events - 1)))
    resid = fit.est_resid[chosen]
    mask = np.isfinite(resid)
    count = np.maximum(mask.sum(axis=1), 1)
    centred = np.where(mask, resid - (np.where(mask, resid, 0.0).sum(axis=1) / count)[:, None], 0.0)
    norm = np.sqrt((centred * centred).sum(axis=1))
    z = centred / np.where(norm > 0, norm, np.inf)[:, None]
    if alignment == "calendar":
        if est_dates is None:
            raise ImpactError("calendar alignment of Kolari-Pynnönen needs the events' dates")
        days = est_dates[chosen]
        keep = mask & (days >= 0)
        _, index = np.unique(days[keep], return_inverse=True)
        summed = np.bincount(index, weights=z[keep])
        total = float((summed * summed).sum())
    else:
        return _pairwise_mean_correlation(resid, mask)
    self_terms = float((norm > 0).sum())
    return float((total - self_terms) / (n_events * (n_events - 1)))


def _pairwise_mean_correlation(resid: FloatArray, mask: BoolArray) -> float:
    """Pearson correlation over each pair's common days (R's use="pairwise.complete.obs")."""
    w = mask.astype(np.float64)
    x = np.where(mask, resid, 0.0)
    n = w @ w.T
    sx = x @ w.T
    sxx = (x * x) @ w.T
    sxy = x @ x.T
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sx.T / n
        var_a = sxx - sx * sx / n
        corr = cov / np.sqrt(var_a * var_a.T)
    np.fill_diagonal(corr, np.nan)
    return float(np.nanmean(corr))


class KolariPynnonenT(Statistic):
    name = "kp_t"
    title = "BMP adjusted for cross-correlation (Kolari-Pynnönen)"
    sigma = "as BMP, then x sqrt((1 - r)/(1 + (N - 1) r)), r = mean cross-correlation of residuals"

    def compute(self, ctx: _Context) -> TestColumn:
        t, n = ctx.bmp_t
        r = ctx.r_bar
        if not 1.0 - r > 1e-12:
            reason = f"mean cross-correlation {r:.3f}: the events share their estimation residuals"
            return _t_column(np.full(len(n), np.nan), (n - 1).astype(np.float64), [reason] * len(n))
        with np.errstate(invalid="ignore", divide="ignore"):
            adj = np.sqrt((1.0 - r) / (1.0 + (n - 1) * r))
        return _t_column(t * adj, (n - 1).astype(np.float64), _few(n))


class SignZ(Statistic):
    name = "sign_z"
    title = "sign test"
    sigma = "none: counts CAR > 0 against one half"

    def compute(self, ctx: _Context) -> TestColumn:
        pos = ((ctx.car > 0) & ctx.used).sum(axis=0)
        n = ctx.n
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(n >= 2, (pos - 0.5 * n) / (0.5 * np.sqrt(n)), np.nan)
        return _z_column(z, _few(n))


def positive_share(fit: Fit, events: BoolArray | None = None) -> float:
    """Cowan's p-hat: per event the share of positive estimation residuals, averaged over events."""
    return _positive_share(_residuals(fit, fit.valid if events is None else events))


def _positive_share(summary: _Residuals) -> float:
    share, count = summary.share, summary.count
    return float(share[count > 0].mean()) if (count > 0).any() else float("nan")


class GeneralizedSignZ(Statistic):
    name = "gsign_z"
    title = "generalized sign test (Cowan)"
    sigma = "none: counts CAR > 0 against p-hat, the estimation window's share of positive residuals"

    def compute(self, ctx: _Context) -> TestColumn:
        p = ctx.p_hat
        pos = ((ctx.car > 0) & ctx.used).sum(axis=0)
        n = ctx.n
        reasons = _few(n)
        if not 0 < p < 1:
            return _z_column(np.full(len(n), np.nan), [f"p-hat is {p}"] * len(n))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(n >= 2, (pos - n * p) / np.sqrt(n * p * (1 - p)), np.nan)
        return _z_column(z, reasons)


def centred_mean_ranks(fit: Fit, events: BoolArray | None = None) -> tuple[FloatArray, float]:
    """Corrado's mean centred rank per event day, and S, their sd over all days.

    Each event's residuals over the estimation and event windows together are ranked (T_i values),
    K = rank / (T_i + 1) - 1/2; K-bar is the mean over the events that have that day; S is the sd
    (ddof 1) of K-bar over every estimation and event day.
    """
    kernels = kernels_for(fit.ar.shape[0])  # compiled (numba) unless the study is small
    rows = np.flatnonzero(fit.valid if events is None else events)
    sums = kernels.rank_sums(fit.est_resid, fit.ar, rows, fit.sigma)
    return _corrado_k_bar(sums.k_sum, sums.k_count, fit.est_resid.shape[1])


def _corrado_k_bar(k_sum: FloatArray, n_day: IntArray, m: int) -> tuple[FloatArray, float]:
    with np.errstate(invalid="ignore"):
        k_bar = np.where(n_day > 0, k_sum / np.maximum(n_day, 1), np.nan)
    s = float(np.nanstd(k_bar, ddof=1)) if np.isfinite(k_bar).sum() > 1 else float("nan")
    return k_bar[m:], s


def _ranks(ctx: _Context) -> RankSums:
    kernels = kernels_for(ctx.fit.ar.shape[0])  # compiled (numba) unless the study is small
    fit, rows = ctx.fit, np.flatnonzero(ctx.events)
    grank = None
    if "grank_t" in ctx.names and _sigma_usable(ctx):
        inputs = ctx.grank_inputs
        grank = (inputs.g, inputs.used, inputs.ok)
    sums: RankSums = kernels.rank_sums(fit.est_resid, fit.ar, rows, fit.sigma, grank)
    return sums


def _sigma_usable(ctx: _Context) -> bool:
    sigma = ctx.fit.sigma[ctx.events]
    return bool(np.all(np.isfinite(sigma) & (sigma > 0)))


@dataclass(frozen=True)
class _GrankInputs:
    g: FloatArray  # n x W: each used event's standardised CAR over the cross-sectional sd
    used: BoolArray  # n x W
    ok: BoolArray  # W: at least two events and some dispersion
    n_all: IntArray  # W


def _grank_inputs(ctx: _Context) -> _GrankInputs:
    fit = ctx.fit
    rows = ctx.events
    used = ctx.used[rows]  # n x W
    n_all = used.sum(axis=0)
    factor = np.column_stack([fit.car_variance_factor(a, b)[rows] for a, b in ctx.windows])
    with np.errstate(divide="ignore", invalid="ignore"):
        scar = ctx.car[rows] / (fit.sigma[rows][:, None] * np.sqrt(factor))
    mean = np.where(used, scar, 0.0).sum(axis=0) / np.maximum(n_all, 1)
    dev = np.where(used, scar - mean, 0.0)
    spread = np.sqrt((dev * dev).sum(axis=0) / np.maximum(n_all - 1, 1))
    ok = (n_all >= 2) & (spread > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(used & ok, scar / spread, 0.0)
    return _GrankInputs(g, used, ok, n_all)


class CorradoRankZ(Statistic):
    name = "rank_z"
    title = "Corrado rank test"
    sigma = "sd over all estimation and event days of the mean centred rank"

    def compute(self, ctx: _Context) -> TestColumn:
        sums = ctx.ranks
        evt_k, s = _corrado_k_bar(sums.k_sum, sums.k_count, ctx.fit.est_resid.shape[1])
        sums = _window_sums(evt_k[None, :], ctx.windows)[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = sums / (np.sqrt(_lengths(ctx)) * s) if s > 0 else np.full(len(sums), np.nan)
        return _z_column(np.where(ctx.n >= 1, z, np.nan), _few(ctx.n, 1))


class GeneralizedRankT(Statistic):
    name = "grank_t"
    title = "generalized rank test GRANK (Kolari-Pynnönen 2011)"
    sigma = (
        "CAR / (sigma sqrt(Var factor)), re-scaled by the cross-sectional sd of those, ranked with "
        "the estimation days' standardised residuals"
    )

    def compute(self, ctx: _Context) -> TestColumn:
        kernels = kernels_for(ctx.fit.ar.shape[0])  # compiled (numba) unless the study is small
        fit = ctx.fit
        inputs = ctx.grank_inputs
        used, ok, n_all = inputs.used, inputs.ok, inputs.n_all
        # U of an estimation day = (its rank among the estimation days' standardised residuals, plus
        # 1 where the event's value g is below it, 1/2 where equal) / (T_i + 1) - 1/2, averaged over
        # the events. The compiled passes rank each event's days from the sort Corrado's test uses
        # (dividing by sigma > 0 keeps the order) and compare them with every window's g.
        sums = ctx.ranks if _sigma_usable(ctx) else None
        if sums is None or sums.u_sum is None:  # rank the standardised values themselves
            with np.errstate(divide="ignore", invalid="ignore"):
                est = fit.est_resid / fit.sigma[:, None]
            none = np.zeros((est.shape[0], 0))
            rows = np.flatnonzero(ctx.events)
            sums = kernels.rank_sums(est, none, rows, np.ones(est.shape[0]), (inputs.g, used, ok))
        assert sums.u_sum is not None and sums.n_t is not None
        assert sums.raised is not None and sums.total is not None
        u_sum, n_t, raised, total = sums.u_sum, sums.n_t, sums.raised, sums.total
        big_t = fit.est_resid.shape[1] + 1
        u_est = np.where(n_t > 0, u_sum / np.maximum(n_t, 1), 0.0)
        u0 = (total[:, None] - raised) / (total[:, None] + 1.0) - 0.5
        u0_bar = np.where(used, u0, 0.0).sum(axis=0) / np.maximum(n_all, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = n_t / np.maximum(n_all, 1)[:, None]
            s_u = np.sqrt(((share * u_est * u_est).sum(axis=1) + u0_bar * u0_bar) / big_t)
            z = u0_bar / s_u
            t = z * np.sqrt((big_t - 2.0) / (big_t - 1.0 - z * z))
        values_out = np.where(ok, t, np.nan)
        dfs = np.where(ok, big_t - 2.0, np.nan)
        reasons: list[str | None] = [
            None
            if good
            else (f"{int(k)} event(s), needs 2" if k < 2 else "no dispersion of standardised CARs")
            for good, k in zip(ok.tolist(), n_all.tolist(), strict=True)
        ]
        return _t_column(values_out, dfs, reasons)


class WilcoxonZ(Statistic):
    name = "wilcoxon_z"
    title = "Wilcoxon signed-rank test"
    sigma = "none: ranks of |CAR| across events (zeros dropped, ties averaged)"

    def compute(self, ctx: _Context) -> TestColumn:
        zs, ps, reasons = [], [], []
        for w in range(len(ctx.windows)):
            values = ctx.car[ctx.used[:, w], w]
            z, p, reason = signed_rank_test(values)
            zs.append(z)
            ps.append(p)
            reasons.append(reason)
        return _finish(np.array(zs), np.array(ps), ("N(0,1)",) * len(zs), reasons)


class CalendarTimeT(Statistic):
    name = "caltime_t"
    title = "crude dependence adjustment / calendar-time portfolio t (Brown-Warner)"
    sigma = "time-series sd (ddof 1) of the mean residual over the estimation days"

    def compute(self, ctx: _Context) -> TestColumn:
        summary = ctx.residuals
        counts = summary.column_count
        with np.errstate(invalid="ignore"):
            aar_est = summary.column_sum / np.where(counts > 0, counts, np.nan)
        aar_est = aar_est[np.isfinite(aar_est)]
        if aar_est.size < 2:
            nan = np.full(len(ctx.windows), np.nan)
            return _t_column(nan, nan, ["no estimation window"] * len(ctx.windows))
        ts_sd = float(np.std(aar_est, ddof=1))
        caar = _column_means(ctx.car, ctx.used)
        t = caar / (ts_sd * np.sqrt(_lengths(ctx))) if ts_sd > 0 else np.full(len(caar), np.nan)
        t = np.where(ctx.n >= 1, t, np.nan)
        return _t_column(t, np.full(len(t), aar_est.size - 1.0), _few(ctx.n, 1))


def _column_means(values: FloatArray, used: BoolArray) -> FloatArray:
    n = used.sum(axis=0)
    with np.errstate(invalid="ignore"):
        result: FloatArray = np.where(
            n > 0, np.where(used, values, 0.0).sum(axis=0) / np.maximum(n, 1), np.nan
        )
    return result


STATISTICS: dict[str, Statistic] = {
    s.name: s
    for s in (
        CrossSectionalT(),
        PatellZ(),
        BoehmerT(),
        KolariPynnonenT(),
        CorradoRankZ(),
        GeneralizedRankT(),
        SignZ(),
        GeneralizedSignZ(),
        WilcoxonZ(),
        CalendarTimeT(),
    )
}


def sample_statistics(
    fit: Fit,
    *,
    windows: list[tuple[int, int]] | tuple[tuple[int, int], ...],
    daily: bool | list[bool] = False,
    conventions: Conventions | None = None,
    panel: EventPanel | None = None,
    names: tuple[str, ...] | None = None,
    events: BoolArray | None = None,
) -> SampleStatistics:
    """Every statistic (or those `names`) over `windows`: column ranges [start, stop) of the event
    window. `daily=True` marks one-day windows that are read as days (Patell's AAR form). `events`
    picks the events to use (default: those with a usable fit)."""
    chosen = names or tuple(STATISTICS)
    ctx = _context(fit, tuple(windows), daily, conventions or Conventions(), panel, events, chosen)
    tests = {name: STATISTICS[name].compute(ctx) for name in chosen}
    r_bar = ctx.r_bar if "kp_t" in chosen else float("nan")
    return SampleStatistics(
        n=ctx.n,
        caar=_column_means(ctx.car, ctx.used),
        tests=tests,
        r_bar=r_bar,
        p_hat=ctx.p_hat,
    )


def _context(
    fit: Fit,
    windows: tuple[tuple[int, int], ...],
    daily: bool | list[bool],
    conventions: Conventions,
    panel: EventPanel | None,
    events: BoolArray | None,
    names: tuple[str, ...],
) -> _Context:
    if not windows:
        raise ImpactError("no window to test")
    length = fit.ar.shape[1]
    for start, stop in windows:
        if not 0 <= start < stop <= length:
            raise ImpactError(f"window columns {start}..{stop} outside the event window (0..{length})")
    car = _window_sums(fit.ar, windows)
    chosen = fit.valid & np.isfinite(fit.sigma) if events is None else events
    used = np.isfinite(car) & chosen[:, None]
    return _Context(
        fit=fit,
        windows=windows,
        daily=np.broadcast_to(np.asarray(daily, dtype=bool), (len(windows),)),
        conventions=conventions,
        panel=panel,
        car=car,
        used=used,
        n=used.sum(axis=0),
        events=chosen,
        names=names,
    )
