"""The loops of an event study's hot parts, as plain Python: `kernels` compiles them with numba.

A large study runs them compiled (`kernels`, numba: one pass where numpy needs several); a small
one runs them as they are here, since importing numba and loading its cached machine code (~0.9 s
CPU) costs more than a few events' loops in Python. `kernels_for(n_events)` picks. The functions
are written in the subset of Python and numpy numba compiles (no calls between them), and both
forms give the same numbers (tests/impact/test_kernels.py).

Ranks come from one sort per event: each value becomes a uint64 key that sorts like the float
(NaN last), with its column number in the low bits, and numpy's vectorised sort orders the keys.
The column bits cost the key its last mantissa bits, so values that close sort by column; the walk
puts such runs back in value order, and ties are always found by comparing the values themselves,
so the ranks are exact.

    run = kernels_for(len(events))
    sums = run.rank_sums(est_resid, ar, rows, sigma, grank=(g, used, ok))  # Corrado's and GRANK's
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from listwatch.impact.models import BoolArray, FloatArray, IntArray

__all__ = [
    "SMALL_STUDY",
    "RankSums",
    "event_tests",
    "gather_windows",
    "kernels_for",
    "market_fit",
    "rank_sums",
    "residual_sums",
]

SMALL_STUDY = 24  # fewer events: the loops in Python, ~25 ms an event (unless numba is loaded already)


def kernels_for(n_events: int) -> Any:
    """The compiled kernels for a study of `n_events`, or these loops for a small one (the module
    either way: the same functions). Once the kernels are loaded in a process, they always serve."""
    if n_events >= SMALL_STUDY or "listwatch.impact.kernels" in sys.modules:
        from listwatch.impact import kernels  # numba: imported when a study runs, not with the CLI

        return kernels
    return sys.modules[__name__]


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


def row_ranks(
    keys: Any,
    est: Any,
    ar: Any,
    rows: Any,
    shift: Any,
    sigma: Any,
    with_est: bool,
    k_sum: Any,
    k_count: Any,
    twice_rank: Any,
    n_finite: Any,
) -> None:
    """The rank tests' work on each row's sort, in one walk per row.

    Corrado: per column of [est | ar], adds to `k_sum` K = rank / (T_i + 1) - 1/2 of each row
    (average rank among the row's values, T_i its finite values) and to `k_count` the rows that
    have one. With `with_est`, GRANK: `twice_rank` gets twice the average rank of each estimation
    day's standardised residual s = est / sigma among the row's estimation days (0 where s is not
    finite; dividing by sigma > 0 keeps the sort's order, and ties are found on s itself), and
    `n_finite` how many are finite."""
    columns = keys.shape[1]
    m = est.shape[1]
    idx = np.empty(columns, dtype=np.int64)
    val = np.empty(columns)
    row = np.empty(columns)
    ranked = np.empty(m, dtype=np.int64)
    s = np.empty(m)
    low = (np.uint64(1) << np.uint64(shift)) - np.uint64(1)
    for r in range(rows.size):
        i = rows[r]
        # the row's columns and values in sorted order; the values present (not NaN) come first
        for j in range(m):
            row[j] = est[i, j]
        for j in range(columns - m):
            row[m + j] = ar[i, j]
        present = 0
        for q in range(columns):
            c = np.int64(keys[r, q] & low)
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
        for t in range(m):
            twice_rank[r, t] = 0
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


def grank_sums(
    est: Any,
    rows: Any,
    sigma: Any,
    twice_rank: Any,
    n_finite: Any,
    g: Any,
    used: Any,
    ok: Any,
    u_sum: Any,
    n_t: Any,
    base_all: Any,
    finite_all: Any,
    raised: Any,
    total: Any,
) -> None:
    """GRANK's sums over the events, per window and estimation day, in one pass per event.

    For row r (event rows[r]), s_t = est / sigma, U base = rank / (T_i + 1) - 1/2 with T_i the
    finite s_t plus the event day; per window w where the event is used, each day adds
    ([s_t > g] + [s_t == g] / 2) / (T_i + 1) to u_sum[w, t], and its base and presence to u_sum and
    n_t, or, for an event used in every window tested, to base_all and finite_all once (the caller
    adds those to every tested window at the end); raised[r, w] counts the days above g (ties 1/2)
    and total[r] is T_i."""
    m = est.shape[1]
    n_rows, n_win = g.shape
    s = np.empty(m)
    finite = np.empty(m)
    base = np.empty(m)
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
        everywhere = True  # used in every window tested: its base and days are added once
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
                above, equal = s[t] > level, s[t] >= level  # 2 above, 1 equal
                count += np.int64(above) + np.int64(equal)
                # from the comparisons straight to floats: AVX2 has no vector int64 -> float
                sums[t] += half_weight * ((1.0 if above else 0.0) + (1.0 if equal else 0.0))
            raised[r, w] = 0.5 * count
            if not everywhere:
                for t in range(m):
                    sums[t] += base[t]
                    n_t[w, t] += finite[t]


_CHUNK_ROWS = 256  # rows sorted and walked at a time: their keys stay in the cache between passes


@dataclass(frozen=True)
class RankSums:
    """What the rank tests need from each row's ranks (`rank_sums`)."""

    k_sum: FloatArray  # per column of [est | ar]: Corrado's K summed over the rows
    k_count: IntArray  # rows with a value in that column
    u_sum: FloatArray | None  # GRANK (when asked): W x m sums of U per window and estimation day
    n_t: FloatArray | None  # W x m events with that day
    raised: FloatArray | None  # rows x W: estimation days above the event's g (ties 1/2)
    total: FloatArray | None  # rows: T_i, finite estimation days plus the event day


def rank_sums(
    est: FloatArray,
    ar: FloatArray,
    rows: IntArray,
    sigma: FloatArray,
    grank: tuple[FloatArray, BoolArray, BoolArray] | None = None,
    *,
    kernels: Any = None,
) -> RankSums:
    """Corrado's sums over the chosen rows of [est | ar] and, with `grank` = (g, used, ok) (rows x
    W, rows x W, W), GRANK's: `_CHUNK_ROWS` rows at a time, each row's values made sort keys
    (`_keys`), sorted by numpy, walked (`row_ranks`) and, for GRANK, compared with the row's g
    (`grank_sums`) while they are in the cache. The sums run over the rows in order, as one pass
    would add them."""
    run = kernels or sys.modules[__name__]  # the compiled kernels, or these loops as they are
    est = np.ascontiguousarray(est, dtype=np.float64)
    ar = np.ascontiguousarray(ar, dtype=np.float64)
    sigma = np.ascontiguousarray(sigma, dtype=np.float64)
    m = est.shape[1]
    columns = m + ar.shape[1]
    shift = np.uint64(max(1, int(columns - 1).bit_length()))
    est_bits, ar_bits = est.view(np.uint64), ar.view(np.uint64)
    k_sum = np.zeros(columns)
    k_count = np.zeros(columns, dtype=np.int64)
    chunk = min(_CHUNK_ROWS, max(rows.size, 1))
    keys = np.empty((chunk, columns), dtype=np.uint64)
    twice_rank = np.zeros((chunk if grank else 0, m), dtype=np.int32)
    n_finite = np.zeros(chunk, dtype=np.int64)
    g, used, ok = grank or (
        np.zeros((rows.size, 0)),
        np.zeros((rows.size, 0), dtype=np.bool_),
        np.zeros(0, np.bool_),
    )
    n_win = g.shape[1]
    u_sum, n_t = np.zeros((n_win, m)), np.zeros((n_win, m))
    base_all, finite_all = np.zeros(m), np.zeros(m)
    raised, total = np.zeros((rows.size, n_win)), np.zeros(rows.size)
    for start in range(0, rows.size, chunk):
        part = rows[start : start + chunk]
        block = keys[: part.size]
        run._keys(est_bits, ar_bits, part, shift, block)
        block.sort(axis=1)
        run.row_ranks(
            block, est, ar, part, shift, sigma, grank is not None, k_sum, k_count, twice_rank, n_finite
        )
        if grank is not None:
            stop = start + part.size
            run.grank_sums(
                est,
                part,
                sigma,
                twice_rank,
                n_finite,
                g[start:stop],
                used[start:stop],
                ok,
                u_sum,
                n_t,
                base_all,
                finite_all,
                raised[start:stop],
                total[start:stop],
            )
    if grank is None:
        return RankSums(k_sum, k_count, None, None, None, None)
    u_sum[ok] += base_all
    n_t[ok] += finite_all
    return RankSums(k_sum, k_count, u_sum, n_t, raised, total)


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


def market_fit(
    all_y: Any, all_x: Any, start: Any, low: Any, high: Any, use: Any, m: int, evt_y: Any, evt_x: Any
) -> Any:
    """The market model by OLS for every event, three passes over each event's estimation days.

    Event i's estimation day j is row start[i] + j of `all_y` and `all_x` (the market's return) when
    low[i] <= j < high[i], missing otherwise, and its returns are all missing unless use[i]
    (`models.EstimationRuns`). Returns (alpha, beta, inv_sxx, x_mean, n, sigma, valid, resid, ar,
    expected, fec), as `models._Ols.fit` defines them: sigma, resid and ar NaN where the fit is not
    usable, resid NaN on missing days."""
    n_events = start.size
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
        # the columns with a return: the event's returns are missing outside [lo, hi)
        lo = min(max(low[i], 0), m)
        hi = max(min(high[i], m), lo) if use[i] else lo
        at = start[i]
        n = 0
        sy = 0.0
        sx = 0.0
        for t in range(lo, hi):
            y, x = all_y[at + t], all_x[at + t]
            if np.isfinite(y) and np.isfinite(x):
                n += 1
                sy += y
                sx += x
        safe = max(n, 1)
        ym = sy / safe
        xm = sx / safe
        sxx = 0.0
        sxy = 0.0
        for t in range(lo, hi):
            y, x = all_y[at + t], all_x[at + t]
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
        for t in range(lo):
            resid[i, t] = np.nan
        for t in range(lo, hi):
            y, x = all_y[at + t], all_x[at + t]
            e = y - a - x * b if np.isfinite(y) and np.isfinite(x) else np.nan
            resid[i, t] = e
            if not np.isnan(e):
                ssr += e * e
        for t in range(hi, m):
            resid[i, t] = np.nan
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
    store: bool,
) -> Any:
    """Each event's window of `width` rows from its series (concatenated at `offset`, `size` long),
    starting at row `first`; NaN (days -1) outside the series or when not placed.

    Returns (y, x, days, ok, ok_count, missed, missed_ok, zeros_ok, first_day, last_day, low,
    high): the windows (N x width; empty unless `store`: the counts alone), ok where the return and
    every regressor are finite and their count per event; per event the market sessions skipped over
    the window and over its ok days, the zero returns among them, the first (days >= 0) and last
    day, and the columns inside the series, [low, high)."""
    n = first.size
    k = all_x.shape[1]
    rows = n if store else 0
    y = np.empty((rows, width))
    x = np.empty((rows, width, k))
    days = np.empty((rows, width), dtype=np.int64)
    ok = np.empty((rows, width), dtype=np.bool_)
    ok_count = np.zeros(n, dtype=np.int64)
    missed = np.zeros(n, dtype=np.int64)
    missed_ok = np.zeros(n, dtype=np.int64)
    zeros_ok = np.zeros(n, dtype=np.int64)
    first_day = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last_day = np.full(n, -1, dtype=np.int64)
    low = np.zeros(n, dtype=np.int64)
    high = np.zeros(n, dtype=np.int64)
    for i in range(n):
        start, stop = 0, 0  # the columns inside the series
        if placed[i]:
            start = min(max(0, -first[i]), width)
            stop = max(min(width, size[i] - first[i]), start)
        low[i], high[i] = start, stop
        if store:
            for j in range(width):
                if j < start or j >= stop:
                    y[i, j] = np.nan
                    for c in range(k):
                        x[i, j, c] = np.nan
                    days[i, j] = -1
                    ok[i, j] = False
        lo, hi = np.iinfo(np.int64).max, np.iinfo(np.int64).min if start < stop else -1
        if 0 < start or stop < width:
            hi = max(hi, -1)  # days outside the series count as -1, as in the arrays
        lost, lost_ok, zeros, good_days = 0, 0, 0, 0
        at = offset[i] + first[i]
        for j in range(start, stop):
            value = all_y[at + j]
            good = np.isfinite(value)
            for c in range(k):
                good = good and np.isfinite(all_x[at + j, c])
            day = all_days[at + j]
            skipped = all_missed[at + j]
            lost += skipped
            if good:
                lost_ok += skipped
                zeros += value == 0.0
                good_days += 1
            if store:
                y[i, j] = value
                for c in range(k):
                    x[i, j, c] = all_x[at + j, c]
                days[i, j] = day
                ok[i, j] = good
            if 0 <= day < lo:
                lo = day
            hi = max(hi, day)
        ok_count[i] = good_days
        missed[i], missed_ok[i], zeros_ok[i] = lost, lost_ok, zeros
        first_day[i], last_day[i] = lo, hi
    return y, x, days, ok, ok_count, missed, missed_ok, zeros_ok, first_day, last_day, low, high


def event_tests(
    ar: Any, sigma: Any, valid: Any, evt_y: Any, expected: Any, starts: Any, stops: Any, log_returns: bool
) -> Any:
    """Each event's AR t, and per window its CAR, CAR t, BHAR, BHAR standard error and t, in one
    pass per event (`single.event_statistics` defines them). The CAR is a difference of running
    sums, as numpy's cumsum would give it."""
    n, length = ar.shape
    n_win = starts.size
    ar_t = np.empty((n, length))
    car = np.empty((n, n_win))
    car_t = np.empty((n, n_win))
    bhar = np.empty((n, n_win))
    bhar_se = np.empty((n, n_win))
    bhar_t = np.empty((n, n_win))
    cum = np.empty(length + 1)
    grow = np.empty(length)
    normal = np.empty(length)
    for i in range(n):
        scale = sigma[i]
        cum[0] = 0.0
        total = 0.0
        for c in range(length):
            ar_t[i, c] = ar[i, c] / scale
            total += ar[i, c]
            cum[c + 1] = total
            actual, model = evt_y[i, c], expected[i, c]
            if log_returns:
                # the C library's expm1, as the compiled loops call it: numpy's own is vectorised
                # on some CPUs (AVX-512) and differs from it in the last bit for about 1% of values
                actual, model = math.expm1(actual), math.expm1(model)
            grow[c] = 1.0 + actual
            normal[c] = 1.0 + model
        for w in range(n_win):
            a, b = starts[w], stops[w]
            root = np.sqrt(float(b - a))
            car[i, w] = cum[b] - cum[a]
            car_t[i, w] = car[i, w] / (root * scale)
            held, bench = 1.0, 1.0
            for c in range(a, b):
                held *= grow[c]
                bench *= normal[c]
            bhar[i, w] = held - bench if valid[i] else np.nan
            bhar_se[i, w] = scale * root
            bhar_t[i, w] = bhar[i, w] / bhar_se[i, w]
    return ar_t, car, car_t, bhar, bhar_se, bhar_t
