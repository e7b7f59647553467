"""Ranks and rank-based intervals: the pieces the nonparametric statistics share.

`signed_rank_test` is Wilcoxon's test across events (one sort); the Corrado and GRANK tests rank
each event's days in compiled code (`kernels.rank_sums`). `interval_table` gives per-event-time intervals of cumulative returns the way the R package
`eventstudies` (xKDR) reports them: a classic t interval of the mean, or its Wilcoxon interval
around the median.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import special  # type: ignore[import-untyped]
from scipy import stats as scipy_stats

from listwatch.impact.models import FloatArray

__all__ = [
    "EventTimeInterval",
    "interval_table",
    "signed_rank_distribution",
    "signed_rank_test",
]


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
    # one sort of |x|: the average rank of a run of equal values is (its start + its end + 1) / 2
    # (0-based, end inclusive); a positive value finds its run's start by binary search
    magnitude = np.sort(np.abs(x))
    starts = np.flatnonzero(np.concatenate([[True], magnitude[1:] != magnitude[:-1]]))
    counts = np.diff(np.append(starts, n))
    run_rank = np.repeat((2 * starts + counts + 1) / 2.0, counts)  # per position of `magnitude`
    positive = np.sort(x[x > 0])  # sorted needles: searchsorted walks on from the last one
    w_plus = float(run_rank[np.searchsorted(magnitude, positive)].sum())  # halves: exact in any order
    variance = n * (n + 1) * (2 * n + 1) / 24.0 - float((counts**3 - counts).sum()) / 48.0
    if variance <= 0:
        return float("nan"), float("nan"), "no variation"
    z = (w_plus - n * (n + 1) / 4.0) / float(np.sqrt(variance))
    if n > 50:  # scipy's own choice: the normal approximation
        return z, float(2.0 * special.ndtr(-abs(z))), None  # = 2 norm.sf(|z|), without its checks
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
