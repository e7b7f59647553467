"""Ranks and rank-based intervals: the pieces the nonparametric statistics share.

`row_ranks` ranks every row of a matrix at once (ties get their average rank, NaN stays NaN), which
is what lets the Corrado and GRANK tests run over 10,000 events in a few milliseconds.
`interval_table` gives per-event-time intervals of cumulative returns the way the R package
`eventstudies` (xKDR) reports them: a classic t interval of the mean, or its Wilcoxon interval
around the median.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

from listwatch.impact.models import FloatArray, IntArray

__all__ = [
    "EventTimeInterval",
    "columns_order",
    "interval_table",
    "row_ranks",
    "signed_rank_distribution",
    "signed_rank_test",
]


def row_ranks(values: FloatArray, order: IntArray | None = None) -> FloatArray:
    """Average ranks (1-based) within each row, ignoring NaN (which keep NaN).

    `order`: an argsort of each row already at hand (any order that sorts the row non-decreasingly
    with NaN last, e.g. `columns_order` of a wider sort), so that one sort serves several rankings.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] == 0:
        return np.full(values.shape, np.nan)
    rows, cols = values.shape
    if order is None:
        order = np.argsort(values, axis=1)  # NaN sort last; the order of ties does not matter
    ordered = np.take_along_axis(values, order, axis=1)
    position = np.broadcast_to(np.arange(cols, dtype=np.float64), (rows, cols))
    new_run = np.ones((rows, cols), dtype=bool)
    new_run[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    if new_run.all():  # no ties (NaN never equals NaN): ranks are the sorted positions
        ranks = np.empty((rows, cols))
        _scatter(ranks, order, np.where(np.isnan(ordered), np.nan, position + 1.0))
        return ranks
    run_start = np.maximum.accumulate(np.where(new_run, position, 0.0), axis=1)
    ends_run = np.ones((rows, cols), dtype=bool)
    ends_run[:, :-1] = new_run[:, 1:]
    flipped = np.where(ends_run, position, cols)[:, ::-1]
    run_end = np.minimum.accumulate(flipped, axis=1)[:, ::-1]
    average = (run_start + run_end) / 2.0 + 1.0
    average = np.where(np.isnan(ordered), np.nan, average)
    ranks = np.empty_like(average)
    _scatter(ranks, order, average)
    return ranks


def _scatter(out: FloatArray, order: IntArray, values: FloatArray) -> None:
    """out[r, order[r, j]] = values[r, j] (np.put_along_axis, without its index broadcasting)."""
    rows, cols = order.shape
    flat = order + (np.arange(rows, dtype=np.int64) * cols)[:, None]
    out.reshape(-1)[flat] = values


def columns_order(order: IntArray, first: int) -> IntArray:
    """From an argsort of rows, the argsort of their first `first` columns alone (every row holds
    each of those columns once, so the kept entries reshape to rows x first)."""
    keep = order < first
    kept: IntArray = order[keep].reshape(order.shape[0], first)
    return kept


def signed_rank_test(values: FloatArray) -> tuple[float, float, str | None]:
    """Wilcoxon signed-rank test of a zero median: (z, two-sided p, reason when not computable).

    z = (W+ - n(n+1)/4) / sqrt(n(n+1)(2n+1)/24 - sum(t^3 - t)/48), zeros dropped and ties averaged;
    the p-value is exact for up to 50 values without ties (scipy), normal otherwise.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x) & (x != 0)]
    n = x.size
    if n < 2:
        return float("nan"), float("nan"), f"{n} non-zero value(s), needs 2"
    ranks = scipy_stats.rankdata(np.abs(x))
    w_plus = float(ranks[x > 0].sum())
    _, counts = np.unique(np.abs(x), return_counts=True)
    variance = n * (n + 1) * (2 * n + 1) / 24.0 - float((counts**3 - counts).sum()) / 48.0
    if variance <= 0:
        return float("nan"), float("nan"), "no variation"
    z = (w_plus - n * (n + 1) / 4.0) / float(np.sqrt(variance))
    if n > 50:  # scipy's own choice: the normal approximation
        return z, float(2.0 * scipy_stats.norm.sf(abs(z))), None
    p = float(scipy_stats.wilcoxon(x, zero_method="wilcox").pvalue)
    return z, p, None


def signed_rank_distribution(n: int) -> FloatArray:
    """P(V <= v), v = 0..n(n+1)/2, for the Wilcoxon signed-rank statistic V of n values (R psignrank)."""
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1)
    counts[0] = 1.0
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[: top + 1 - k].copy()
    cdf: FloatArray = np.cumsum(counts) / 2.0**n
    return cdf


@dataclass(frozen=True)
class EventTimeInterval:
    event_time: int
    lower: float
    center: float
    upper: float
    center_kind: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_time": self.event_time,
            "lower": _json(self.lower),
            "center": _json(self.center),
            "upper": _json(self.upper),
            "center_kind": self.center_kind,
        }


def _json(value: float) -> float | None:
    return value if np.isfinite(value) else None


def interval_table(
    cumulative: FloatArray,
    event_times: list[int] | FloatArray,
    *,
    strategy: Literal["classic", "wilcox"] = "classic",
    level: float = 0.95,
) -> list[EventTimeInterval]:
    """Intervals per event time (rows) across events (columns) of cumulative returns.

    classic: mean +- t(n-1, (1+level)/2) sd/sqrt(n) (R `t.test`; NaN when the values do not vary).
    wilcox: median, and the interval of Walsh averages that `eventstudies::inference.wilcox` gives:
    with m = n(n+1)/2 Walsh averages sorted, k = #{j <= m/2 : 1 - 2 P(V <= j) >= (1+level)/2}, the
    interval is [w(k+1), w(m-k)].
    """
    rows = []
    for time, row in zip(list(event_times), np.asarray(cumulative, dtype=np.float64), strict=True):
        x = row[np.isfinite(row)]
        if strategy == "classic":
            rows.append(_classic(int(time), x, level))
        else:
            rows.append(_wilcox(int(time), x, level))
    return rows


def _classic(time: int, x: FloatArray, level: float) -> EventTimeInterval:
    n = x.size
    mean = float(x.mean()) if n else float("nan")
    sd = float(x.std(ddof=1)) if n > 1 else float("nan")
    if not (n > 1 and sd > 0):
        return EventTimeInterval(time, float("nan"), mean, float("nan"), "mean")
    half = float(scipy_stats.t.ppf((1 + level) / 2, n - 1)) * sd / np.sqrt(n)
    return EventTimeInterval(time, mean - half, mean, mean + half, "mean")


def _wilcox(time: int, x: FloatArray, level: float) -> EventTimeInterval:
    n = x.size
    if n == 0:
        return EventTimeInterval(time, float("nan"), float("nan"), float("nan"), "median")
    m = n * (n + 1) // 2
    cdf = signed_rank_distribution(n)
    ks = np.arange(1, m // 2 + 1)
    k = int((1 - 2 * cdf[ks] >= (1 + level) / 2).sum())
    walsh = (x[:, None] + x[None, :]) / 2.0
    averages = np.sort(walsh[np.tril_indices(n)])
    return EventTimeInterval(
        time, float(averages[k]), float(np.median(x)), float(averages[m - k - 1]), "median"
    )
