"""Compiled loops (numba) for the hot parts of an event study: one pass where numpy needs several.

Imported only when a study runs, inside the functions that use it, so `listwatch --help` and the
other commands never pay numba's import. `cache=True` keeps the machine code on disk (beside this
file, or in NUMBA_CACHE_DIR): a machine compiles once, later processes load it.

Ranks come from one sort per event: each value becomes a uint64 key that sorts like the float
(NaN last), with its column number in the low bits, and numpy's vectorised sort orders the keys.
The column bits cost the key its last mantissa bits, so values that close sort by column; the walk
puts such runs back in value order, and ties are always found by comparing the values themselves,
so the ranks are exact.

    keys, shift = sorted_row_keys(est_resid, ar, rows)
    k_sum, k_count, twice_rank, n_finite = row_ranks(keys, est_resid, ar, rows, shift, sigma, True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

from listwatch.impact.models import FloatArray, IntArray

__all__ = [
    "gather_windows",
    "grank_sums",
    "market_fit",
    "residual_sums",
    "row_ranks",
    "sorted_row_keys",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def _compiled(function: _F) -> _F:
    """numba's njit, cached on disk; typed as the function it compiles."""
    return cast(_F, numba.njit(cache=True, nogil=True)(function))


@_compiled
def _keys(est_bits: Any, ar_bits: Any, rows: Any, shift: Any, out: Any) -> None:
    m = est_bits.shape[1]
    sign = np.uint64(0x8000000000000000)
    magnitude = np.uint64(0x7FFFFFFFFFFFFFFF)
    infinity = np.uint64(0x7FF0000000000000)
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    high = ~((np.uint64(1) << shift) - np.uint64(1))
    for r in range(rows.size):
        i = rows[r]
        for j in range(out.shape[1]):
            b = est_bits[i, j] if j < m else ar_bits[i, j - m]
            if (b & magnitude) > infinity:  # NaN (either sign): last
                k = ones
            elif (b & sign) != np.uint64(0):
                k = ~b
            else:
                k = b | sign
            out[r, j] = (k & high) | np.uint64(j)


def sorted_row_keys(est: FloatArray, ar: FloatArray, rows: IntArray) -> tuple[Any, int]:
    """Per chosen row, the columns of [est | ar] as sort keys, sorted: (keys, column bits)."""
    columns = est.shape[1] + ar.shape[1]
    shift = max(1, int(columns - 1).bit_length())
    est_bits = np.ascontiguousarray(est, dtype=np.float64).view(np.uint64)
    ar_bits = np.ascontiguousarray(ar, dtype=np.float64).view(np.uint64)
    keys = np.empty((rows.size, columns), dtype=np.uint64)
    _keys(est_bits, ar_bits, rows, np.uint64(shift), keys)
    keys.sort(axis=1)
    return keys, shift


@_compiled
def _decode(keys: Any, est: Any, ar: Any, i: int, shift: Any, row: Any, idx: Any, val: Any) -> int:
    """Columns and values of row i in sorted order; returns how many are not NaN (they come first)."""
    m = est.shape[1]
    for j in range(m):
        row[j] = est[i, j]
    for j in range(keys.size - m):
        row[m + j] = ar[i, j]
    low = (np.uint64(1) << shift) - np.uint64(1)
    present = 0
    for q in range(keys.size):
        c = np.int64(keys[q] & low)
        idx[q] = c
        val[q] = row[c]
        present += not np.isnan(row[c])
    # Values whose keys differ only in the column bits sort by column: put them in value order
    # (a value smaller than its predecessor can only be in such a run).
    for q in range(1, present):
        v = val[q]
        if v < val[q - 1]:
            c = idx[q]
            b = q - 1
            while b >= 0 and val[b] > v:
                val[b + 1] = val[b]
                idx[b + 1] = idx[b]
                b -= 1
            val[b + 1] = v
            idx[b + 1] = c
    return present


@_compiled
def row_ranks(keys: Any, est: Any, ar: Any, rows: Any, shift: Any, sigma: Any, with_est: bool) -> Any:
    """The rank tests' work on each row's sort, in one walk per row.

    Corrado: per column of [est | ar], the sum over the rows of K = rank / (T_i + 1) - 1/2 (average
    rank among the row's values, T_i its finite values) and how many rows have one. With `with_est`,
    GRANK: twice the average rank of each estimation day's standardised residual s = est / sigma
    among the row's estimation days (0 where s is not finite; dividing by sigma > 0 keeps the sort's
    order, and ties are found on s itself), and how many are finite.
    Returns (k_sum, k_count, twice_rank, n_finite)."""
    columns = keys.shape[1]
    m = est.shape[1]
    k_sum = np.zeros(columns)
    k_count = np.zeros(columns, dtype=np.int64)
    twice_rank = np.zeros((rows.size if with_est else 0, m), dtype=np.int32)
    n_finite = np.zeros(rows.size, dtype=np.int64)
    idx = np.empty(columns, dtype=np.int64)
    val = np.empty(columns)
    row = np.empty(columns)
    ranked = np.empty(m, dtype=np.int64)
    s = np.empty(m)
    for r in range(rows.size):
        i = rows[r]
        present = _decode(keys[r], est, ar, i, np.uint64(shift), row, idx, val)
        finite = 0
        for q in range(present):
            finite += np.isfinite(val[q])
        q = 0
        while q < present:
            end = q
            while end + 1 < present and val[end + 1] == val[q]:
                end += 1
            k = ((q + end) / 2.0 + 1.0) / (finite + 1.0) - 0.5
            for a in range(q, end + 1):
                k_sum[idx[a]] += k
                k_count[idx[a]] += 1
            q = end + 1
        if not with_est:
            continue
        scale = sigma[i]
        n_ranked = 0
        for q in range(present):
            c = idx[q]
            if c < m:
                value = val[q] / scale
                if not np.isnan(value):
                    s[n_ranked] = value
                    ranked[n_ranked] = c
                    n_ranked += 1
        count = 0
        a = 0
        while a < n_ranked:
            b = a
            while b + 1 < n_ranked and s[b + 1] == s[a]:
                b += 1
            for q in range(a, b + 1):
                if np.isfinite(s[q]):
                    twice_rank[r, ranked[q]] = a + b + 2
                    count += 1
            a = b + 1
        n_finite[r] = count
    return k_sum, k_count, twice_rank, n_finite


@_compiled
def grank_sums(
    est: Any, rows: Any, sigma: Any, twice_rank: Any, n_finite: Any, g: Any, used: Any, ok: Any
) -> Any:
    """GRANK's sums over the events, per window and estimation day, in one pass per event.

    For row r (event rows[r]), s_t = est / sigma, U base = rank / (T_i + 1) - 1/2 with T_i the
    finite s_t plus the event day; per window w where the event is used, each day adds
    base + ([s_t > g] + [s_t == g] / 2) / (T_i + 1) to u_sum[w, t] and its presence to n_t[w, t];
    raised[r, w] counts the days above g (ties 1/2). Returns (u_sum, n_t, raised, total)."""
    m = est.shape[1]
    n_rows, n_win = g.shape
    u_sum = np.zeros((n_win, m))
    n_t = np.zeros((n_win, m))
    raised = np.zeros((n_rows, n_win))
    total = np.empty(n_rows)
    s = np.empty(m)
    finite = np.empty(m)
    base = np.empty(m)
    base_all = np.zeros(m)
    finite_all = np.zeros(m)
    for r in range(n_rows):
        i = rows[r]
        scale = sigma[i]
        size = n_finite[r] + 1.0
        for t in range(m):
            value = est[i, t] / scale
            good = twice_rank[r, t] > 0
            s[t] = value if good else np.nan  # a missing day is neither above nor equal
            finite[t] = 1.0 if good else 0.0
            base[t] = (twice_rank[r, t] * 0.5) / (size + 1.0) - 0.5 if good else 0.0
        total[r] = size
        half_weight = 0.5 / (size + 1.0)
        everywhere = True  # used in every window tested: its base and days are added once, below
        for w in range(n_win):
            if ok[w] and not used[r, w]:
                everywhere = False
        if everywhere:
            for t in range(m):
                base_all[t] += base[t]
                finite_all[t] += finite[t]
        for w in range(n_win):
            if not ok[w] or not used[r, w]:
                continue
            level = g[r, w]
            sums = u_sum[w]
            count = np.int64(0)
            for t in range(m):
                above = np.int64(s[t] > level) + np.int64(s[t] >= level)  # 2 above, 1 equal
                count += above
                sums[t] += half_weight * above
            raised[r, w] = 0.5 * count
            if not everywhere:
                for t in range(m):
                    sums[t] += base[t]
                    n_t[w, t] += finite[t]
    for w in range(n_win):
        if ok[w]:
            for t in range(m):
                u_sum[w, t] += base_all[t]
                n_t[w, t] += finite_all[t]
    return u_sum, n_t, raised, total


@_compiled
def residual_sums(resid: Any, rows: Any) -> Any:
    """One pass over the chosen events' estimation residuals for three statistics.

    Returns (z_sum, n_scaled, complete, share, count, column_sum, column_count): Kolari-Pynnönen's
    column sums of each row centred and scaled to unit length, and how many rows could be scaled;
    whether every value is present; Cowan's share of positive residuals per row and the row's
    count; and the calendar-time test's sums and counts per estimation day."""
    m = resid.shape[1]
    n = rows.size
    z_sum = np.zeros(m)
    column_sum = np.zeros(m)
    column_count = np.zeros(m, dtype=np.int64)
    share = np.empty(n)
    count = np.empty(n, dtype=np.int64)
    complete = True
    n_scaled = 0
    for r in range(n):
        i = rows[r]
        present = 0
        total = 0.0
        positive = 0
        for t in range(m):
            v = resid[i, t]
            if np.isfinite(v):
                present += 1
                total += v
                positive += v > 0.0
            else:
                complete = False
            if not np.isnan(v):
                column_sum[t] += v
                column_count[t] += np.isfinite(v)
        mean = total / max(present, 1)
        squares = 0.0
        for t in range(m):
            v = resid[i, t]
            if np.isfinite(v):
                squares += (v - mean) * (v - mean)
        norm = np.sqrt(squares)
        if norm > 0.0:
            n_scaled += 1
            for t in range(m):
                v = resid[i, t]
                if np.isfinite(v):
                    z_sum[t] += (v - mean) / norm
        share[r] = positive / max(present, 1)
        count[r] = present
    return z_sum, n_scaled, complete, share, count, column_sum, column_count


@_compiled
def market_fit(est_y: Any, est_x: Any, evt_y: Any, evt_x: Any) -> Any:
    """The market model by OLS for every event, three passes over each event's estimation days.

    Returns (alpha, beta, inv_sxx, x_mean, n, sigma, valid, resid, ar, expected, fec), as
    `models._Ols.fit` defines them: sigma, resid and ar NaN where the fit is not usable, resid NaN on
    missing days."""
    n_events, m = est_y.shape
    length = evt_y.shape[1]
    alpha = np.empty(n_events)
    beta = np.empty(n_events)
    inv = np.empty(n_events)
    x_mean = np.empty(n_events)
    count = np.empty(n_events, dtype=np.int64)
    sigma = np.empty(n_events)
    valid = np.empty(n_events, dtype=np.bool_)
    resid = np.empty((n_events, m))
    ar = np.empty((n_events, length))
    expected = np.empty((n_events, length))
    fec = np.empty((n_events, length))
    for i in range(n_events):
        n = 0
        sy = 0.0
        sx = 0.0
        for t in range(m):
            y, x = est_y[i, t], est_x[i, t]
            if np.isfinite(y) and np.isfinite(x):
                n += 1
                sy += y
                sx += x
        safe = max(n, 1)
        ym = sy / safe
        xm = sx / safe
        sxx = 0.0
        sxy = 0.0
        for t in range(m):
            y, x = est_y[i, t], est_x[i, t]
            if np.isfinite(y) and np.isfinite(x):
                dx = x - xm
                sxx += dx * dx
                sxy += dx * (y - ym)
        df = n - 2
        good = df >= 1 and sxx > 0.0
        slope_inv = 1.0 / sxx if good else np.nan
        b = sxy * slope_inv
        a = ym - xm * b
        ssr = 0.0
        for t in range(m):
            y, x = est_y[i, t], est_x[i, t]
            e = y - a - x * b if np.isfinite(y) and np.isfinite(x) else np.nan
            resid[i, t] = e
            if not np.isnan(e):
                ssr += e * e
        sd = np.sqrt(ssr / max(df, 1))
        usable = good and sd > 0.0
        if not usable:
            sd = np.nan
            for t in range(m):
                resid[i, t] = np.nan
        for t in range(length):
            x = evt_x[i, t]
            expected[i, t] = a + x * b
            ar[i, t] = evt_y[i, t] - expected[i, t] if usable else np.nan
            d = x - xm
            fec[i, t] = np.sqrt(1.0 + (1.0 / safe + d * slope_inv * d))
        alpha[i] = a
        beta[i] = b
        inv[i] = slope_inv
        x_mean[i] = xm
        count[i] = n
        sigma[i] = sd
        valid[i] = usable
    return alpha, beta, inv, x_mean, count, sigma, valid, resid, ar, expected, fec


@_compiled
def gather_windows(
    all_y: Any,
    all_x: Any,
    all_days: Any,
    all_missed: Any,
    offset: Any,
    size: Any,
    first: Any,
    width: int,
    placed: Any,
) -> Any:
    """Each event's window of `width` rows from its series (concatenated at `offset`, `size` long),
    starting at row `first`; NaN (days -1) outside the series or when not placed.

    Returns (y, x, days, ok, missed, missed_ok, zeros_ok, first_day, last_day): ok where the return
    and every regressor are finite; per event the market sessions skipped over the window and over
    its ok days, the zero returns among them, and the first (days >= 0) and last day."""
    n = first.size
    k = all_x.shape[1]
    y = np.empty((n, width))
    x = np.empty((n, width, k))
    days = np.empty((n, width), dtype=np.int64)
    ok = np.empty((n, width), dtype=np.bool_)
    missed = np.zeros(n, dtype=np.int64)
    missed_ok = np.zeros(n, dtype=np.int64)
    zeros_ok = np.zeros(n, dtype=np.int64)
    first_day = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last_day = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        start, stop = 0, 0  # the columns inside the series
        if placed[i]:
            start = min(max(0, -first[i]), width)
            stop = max(min(width, size[i] - first[i]), start)
        for j in range(width):
            if j < start or j >= stop:
                y[i, j] = np.nan
                for c in range(k):
                    x[i, j, c] = np.nan
                days[i, j] = -1
                ok[i, j] = False
        low, high = np.iinfo(np.int64).max, np.iinfo(np.int64).min if start < stop else -1
        if 0 < start or stop < width:
            high = max(high, -1)  # days outside the series count as -1, as in the arrays
        lost, lost_ok, zeros = 0, 0, 0
        at = offset[i] + first[i]
        for j in range(start, stop):
            value = all_y[at + j]
            y[i, j] = value
            good = np.isfinite(value)
            for c in range(k):
                x[i, j, c] = all_x[at + j, c]
                good = good and np.isfinite(all_x[at + j, c])
            day = all_days[at + j]
            days[i, j] = day
            skipped = all_missed[at + j]
            lost += skipped
            if good:
                lost_ok += skipped
                zeros += value == 0.0
            ok[i, j] = good
            if 0 <= day < low:
                low = day
            high = max(high, day)
        missed[i], missed_ok[i], zeros_ok[i] = lost, lost_ok, zeros
        first_day[i], last_day[i] = low, high
    return y, x, days, ok, missed, missed_ok, zeros_ok, first_day, last_day


_KERNELS = ("_keys", "row_ranks", "grank_sums", "residual_sums", "market_fit", "gather_windows")


def cache_misses() -> int:
    """Kernel signatures compiled in this process rather than loaded from numba's on-disk cache."""
    return sum(sum(globals()[name].stats.cache_misses.values()) for name in _KERNELS)
