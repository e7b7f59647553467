"""The compiled loops of matching (numba): the batch scorer's token similarities, greedy alignment
and aggregation per name pair, and the candidate index's per-probe selection (`probe_candidates`).

`batch.name_pair_scores` used to run these steps as ~100 numpy operations over padded arrays of
name pairs. That is fast for large batches but costs the same ~1 ms for one query's 60 pairs, and
it pads every pair to the longest name of its bucket. Here each pair is a small loop over its own
tokens, compiled once per machine (`cache=True`; numba is imported only when a screener scores).

What needs Python objects stays outside, computed once per batch for the distinct keys the loops
ask for: whether two rigour symbol sets share a symbol (`Vocabulary.share`), and edit similarities
of token pairs (rapidfuzz `cpdist`). The loops run in three passes:

1. `symbol_keys`: the symbol-set pairs a batch compares;
2. `fuzzy_keys`: the token pairs that need an edit similarity (not equal, no shared symbol, no
   number or initial, within the length budget);
3. `pair_scores`: the score of every pair's first alignment (single tokens), and which pairs
   `item_scores` aligns again (a multi-token symbol span takes part, or tokens are left open);
4. `merged_keys` and `item_scores`: those pairs again, with spans, merged runs and acronyms as
   items spanning several tokens.

The steps are those of `align.align` and `align.aggregate`, and must stay in step with them
(tests/matching/test_batch.py compares the scores with the Python scorer's).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from listwatch.matching.batch import MAX_TOKENS as MAX  # longer names never reach these loops

__all__ = ["fuzzy_keys", "item_scores", "merged_keys", "pair_scores", "probe_candidates", "symbol_keys"]
_SHIFT = 4294967296  # 1 << 32: keys are left << 32 | right (a plain int: numba caches only functions without array globals)


@njit(cache=True, nogil=True)
def _shared(keys: Any, values: Any, key: np.int64) -> bool:
    """Whether the symbol sets of `key` share a symbol (`keys` sorted, as np.unique gives them)."""
    at = np.searchsorted(keys, key)
    if at < len(keys) and keys[at] == key:
        return bool(values[at])
    return False


@njit(cache=True, nogil=True)
def _similarity(keys: Any, values: Any, key: np.int64) -> float:
    at = np.searchsorted(keys, key)
    if at < len(keys) and keys[at] == key:
        return values[at]  # type: ignore[no-any-return]
    return 0.0


@njit(cache=True, nogil=True)
def _token_sims(
    qs: int, nq: int, cs: int, nc: int,
    q_tok: Any, q_len: Any, q_klen: Any, q_first: Any, q_sym: Any, q_role: Any,
    c_tok: Any, c_len: Any, c_klen: Any, c_first: Any, c_sym: Any, c_role: Any, person: bool,
    share_keys: Any, share_values: Any, fuzzy_keys_: Any, fuzzy_values: Any,
    limits: Any, num: int, initial: int, sim: Any,
) -> None:  # fmt: skip
    """The token similarity matrix of one pair, as align._token_sim."""
    for i in range(nq):
        a = qs + i
        for j in range(nc):
            b = cs + j
            value = 0.0
            if q_tok[a] == c_tok[b]:
                value = 1.0
            elif (
                q_sym[a] > 0
                and c_sym[b] > 0
                and _shared(share_keys, share_values, q_sym[a] * _SHIFT + c_sym[b])
            ):
                value = 0.9
            elif q_role[a] == num or c_role[b] == num:
                value = 0.0
            elif q_role[a] == initial or c_role[b] == initial:
                if person and q_first[a] == c_first[b]:
                    value = 0.8
            else:
                la, lb, ka, kb = q_len[a], c_len[b], q_klen[a], c_klen[b]
                if abs(la - lb) < limits[max(la, lb)] or abs(ka - kb) < limits[max(ka, kb)]:
                    value = _similarity(fuzzy_keys_, fuzzy_values, q_tok[a] * _SHIFT + c_tok[b])
            sim[i, j] = value


@njit(cache=True, nogil=True)
def _weights(
    qs: int, nq: int, cs: int, nc: int, q_weight: Any, q_idf: Any, c_weight: Any, c_idf: Any, qw: Any, cw: Any
) -> None:
    """Role weights times IDF relative to the pair's mean over substantive tokens (score._pair_weights)."""
    count = 0
    total = 0.0
    for i in range(nq):
        if not np.isnan(q_idf[qs + i]):
            count += 1
            total += q_idf[qs + i]
    for j in range(nc):
        if not np.isnan(c_idf[cs + j]):
            count += 1
            total += c_idf[cs + j]
    mean = total / count if count > 0 else 1.0
    for i in range(nq):
        v = q_idf[qs + i]
        qw[i] = q_weight[qs + i]
        if mean > 0.0 and not np.isnan(v):
            qw[i] *= min(2.5, max(0.25, v / mean))
    for j in range(nc):
        v = c_idf[cs + j]
        cw[j] = c_weight[cs + j]
        if mean > 0.0 and not np.isnan(v):
            cw[j] *= min(2.5, max(0.25, v / mean))


@njit(cache=True, nogil=True)
def symbol_keys(
    q_off: Any, q_tok: Any, q_sym: Any, q_span: Any, q_span_off: Any, q_span_sym: Any, q_rows: Any,
    c_off: Any, c_tok: Any, c_sym: Any, c_span: Any, c_span_off: Any, c_span_sym: Any, c_rows: Any,
) -> Any:  # fmt: skip
    """Keys (left << 32 | right) of the symbol-set pairs that `pair_scores` will look up."""
    total = 0
    for k in range(len(q_rows)):
        nq = q_off[q_rows[k] + 1] - q_off[q_rows[k]]
        nc = c_off[c_rows[k] + 1] - c_off[c_rows[k]]
        spans = (
            q_span_off[q_rows[k] + 1]
            - q_span_off[q_rows[k]]
            + c_span_off[c_rows[k] + 1]
            - c_span_off[c_rows[k]]
        )
        total += nq * nc + (nq + nc) * (1 + spans)
    out = np.empty(total, dtype=np.int64)
    n = 0
    for k in range(len(q_rows)):
        qs, qe = q_off[q_rows[k]], q_off[q_rows[k] + 1]
        cs, ce = c_off[c_rows[k]], c_off[c_rows[k] + 1]
        for i in range(qs, qe):
            a = q_sym[i]
            if a == 0:
                continue
            for j in range(cs, ce):
                b = c_sym[j]
                if b != 0 and q_tok[i] != c_tok[j]:
                    out[n] = a * _SHIFT + b
                    n += 1
        span = q_span[q_rows[k]]
        if span > 0:
            for j in range(cs, ce):
                if c_sym[j] > 0:
                    out[n] = span * _SHIFT + c_sym[j]
                    n += 1
        span = c_span[c_rows[k]]
        if span > 0:
            for i in range(qs, qe):
                if q_sym[i] > 0:
                    out[n] = span * _SHIFT + q_sym[i]
                    n += 1
        # and each span's own symbol, for the pairs where a span takes part (item_scores)
        for x in range(q_span_off[q_rows[k]], q_span_off[q_rows[k] + 1]):
            for j in range(cs, ce):
                if c_sym[j] > 0:
                    out[n] = q_span_sym[x] * _SHIFT + c_sym[j]
                    n += 1
        for x in range(c_span_off[c_rows[k]], c_span_off[c_rows[k] + 1]):
            for i in range(qs, qe):
                if q_sym[i] > 0:
                    out[n] = c_span_sym[x] * _SHIFT + q_sym[i]
                    n += 1
    return out[:n]


@njit(cache=True, nogil=True)
def fuzzy_keys(
    q_off: Any, q_tok: Any, q_skel: Any, q_len: Any, q_klen: Any, q_sym: Any, q_role: Any, q_rows: Any,
    c_off: Any, c_tok: Any, c_skel: Any, c_len: Any, c_klen: Any, c_sym: Any, c_role: Any, c_rows: Any,
    share_keys: Any, share_values: Any, limits: Any, num: int, initial: int,
) -> Any:  # fmt: skip
    """Rows (token, token, skeleton, skeleton, their four lengths) that need an edit similarity."""
    total = 0
    for k in range(len(q_rows)):
        total += (q_off[q_rows[k] + 1] - q_off[q_rows[k]]) * (c_off[c_rows[k] + 1] - c_off[c_rows[k]])
    out = np.empty((total, 8), dtype=np.int64)
    n = 0
    for k in range(len(q_rows)):
        for i in range(q_off[q_rows[k]], q_off[q_rows[k] + 1]):
            ri = q_role[i]
            if ri == num or ri == initial:
                continue
            for j in range(c_off[c_rows[k]], c_off[c_rows[k] + 1]):
                rj = c_role[j]
                if rj == num or rj == initial or q_tok[i] == c_tok[j]:
                    continue
                if (
                    q_sym[i] > 0
                    and c_sym[j] > 0
                    and _shared(share_keys, share_values, q_sym[i] * _SHIFT + c_sym[j])
                ):
                    continue
                la, lb = q_len[i], c_len[j]
                ka, kb = q_klen[i], c_klen[j]
                if abs(la - lb) < limits[max(la, lb)] or abs(ka - kb) < limits[max(ka, kb)]:
                    out[n, 0] = q_tok[i]
                    out[n, 1] = c_tok[j]
                    out[n, 2] = q_skel[i]
                    out[n, 3] = c_skel[j]
                    out[n, 4] = la
                    out[n, 5] = lb
                    out[n, 6] = ka
                    out[n, 7] = kb
                    n += 1
    return out[:n]


@njit(cache=True, nogil=True)
def pair_scores(
    q_off: Any, q_tok: Any, q_len: Any, q_klen: Any, q_first: Any, q_sym: Any, q_span: Any,
    q_role: Any, q_weight: Any, q_idf: Any, q_rows: Any,
    c_off: Any, c_tok: Any, c_len: Any, c_klen: Any, c_first: Any, c_sym: Any, c_span: Any,
    c_role: Any, c_weight: Any, c_idf: Any, c_rows: Any,
    person: Any, penalty: Any, decay: float,
    share_keys: Any, share_values: Any, fuzzy_keys_: Any, fuzzy_values: Any,
    limits: Any, substantive_role: Any, never_conflict_role: Any, num: int, initial: int,
) -> Any:  # fmt: skip
    """Per pair: the score of the first alignment (single tokens); whether a multi-token symbol
    span meets a symbol on the other side, and whether tokens are left open (merged runs or
    acronyms might join): `item_scores` aligns those pairs again; and the open tokens of each side
    (padded to MAX)."""
    p = len(q_rows)
    score = np.zeros(p, dtype=np.float64)
    span_hit = np.zeros(p, dtype=np.bool_)
    leftover = np.zeros(p, dtype=np.bool_)
    open_q = np.zeros((p, MAX), dtype=np.bool_)
    open_c = np.zeros((p, MAX), dtype=np.bool_)
    sim = np.zeros((MAX, MAX), dtype=np.float64)
    work = np.zeros((MAX, MAX), dtype=np.float64)
    match_q = np.zeros(MAX, dtype=np.int64)
    sim_q = np.zeros(MAX, dtype=np.float64)
    taken_c = np.zeros(MAX, dtype=np.bool_)
    exact_c = np.zeros(MAX, dtype=np.bool_)
    qw = np.zeros(MAX, dtype=np.float64)
    cw = np.zeros(MAX, dtype=np.float64)
    for k in range(p):
        qs = q_off[q_rows[k]]
        nq = q_off[q_rows[k] + 1] - qs
        cs = c_off[c_rows[k]]
        nc = c_off[c_rows[k] + 1] - cs
        # the same tokens in the same order
        same = nq == nc
        if same:
            for i in range(nq):
                if q_tok[qs + i] != c_tok[cs + i]:
                    same = False
                    break
        _token_sims(
            qs, nq, cs, nc, q_tok, q_len, q_klen, q_first, q_sym, q_role,
            c_tok, c_len, c_klen, c_first, c_sym, c_role, person[k],
            share_keys, share_values, fuzzy_keys_, fuzzy_values, limits, num, initial, sim,
        )  # fmt: skip
        for i in range(nq):
            for j in range(nc):
                work[i, j] = sim[i, j] if sim[i, j] > 0.0 else -1.0
        # greedy one-to-one alignment: the best remaining cell, ties to the lowest (i, j)
        for i in range(nq):
            match_q[i] = -1
            sim_q[i] = 0.0
        for j in range(nc):
            taken_c[j] = False
            exact_c[j] = False
        for _ in range(min(nq, nc)):
            best = 0.0
            bi = -1
            bj = -1
            for i in range(nq):
                for j in range(nc):
                    if work[i, j] > best:
                        best = work[i, j]
                        bi = i
                        bj = j
            if bi < 0:
                break
            match_q[bi] = bj
            sim_q[bi] = best
            taken_c[bj] = True
            exact_c[bj] = best == 1.0
            for j in range(nc):
                work[bi, j] = -1.0
            for i in range(nq):
                work[i, bj] = -1.0
        _weights(qs, nq, cs, nc, q_weight, q_idf, c_weight, c_idf, qw, cw)
        # align.aggregate
        matched = 0.0
        mismatch = 0.0
        substantive = False
        left_q = 0.0
        kind_q = 0.0
        for i in range(nq):
            j = match_q[i]
            if j >= 0:
                weight = qw[i] + cw[j]
                matched += weight * sim_q[i]
                mismatch += weight * (1.0 - sim_q[i])
                if sim_q[i] >= 0.5 and (substantive_role[q_role[qs + i]] or substantive_role[c_role[cs + j]]):
                    substantive = True
            elif never_conflict_role[q_role[qs + i]]:
                kind_q += qw[i]
            else:
                left_q += qw[i]
        left_c = 0.0
        kind_c = 0.0
        for j in range(nc):
            if not taken_c[j]:
                if never_conflict_role[c_role[cs + j]]:
                    kind_c += cw[j]
                else:
                    left_c += cw[j]
        matched /= 2.0
        conflict = mismatch / 2.0 + min(left_c, left_q)
        extra = abs(left_q - left_c) + abs(kind_q - kind_c) + 0.25 * min(kind_q, kind_c)
        denominator = matched + conflict + penalty[k] * extra
        value = matched / denominator * decay**conflict if denominator > 0.0 else 0.0
        if not substantive:
            value *= 0.5
        if same:
            value = 1.0
        score[k] = value
        # a multi-token symbol span that a token on the other side carries: an item of the alignment
        hit = False
        span = q_span[q_rows[k]]
        if span > 0:
            for j in range(nc):
                if c_sym[cs + j] > 0 and _shared(share_keys, share_values, span * _SHIFT + c_sym[cs + j]):
                    hit = True
        span = c_span[c_rows[k]]
        if span > 0:
            for i in range(nq):
                if q_sym[qs + i] > 0 and _shared(share_keys, share_values, span * _SHIFT + q_sym[qs + i]):
                    hit = True
        span_hit[k] = hit and not same
        # tokens not aligned exactly: merged runs or acronyms might join the alignment
        any_q = False
        for i in range(nq):
            is_open = not (match_q[i] >= 0 and sim_q[i] == 1.0)
            open_q[k, i] = is_open
            any_q |= is_open
        any_c = False
        for j in range(nc):
            open_c[k, j] = not exact_c[j]
            any_c |= not exact_c[j]
        leftover[k] = ((nq > 1 and any_q) or (nc > 1 and any_c)) and not same and not hit
    return score, span_hit, leftover, open_q, open_c


@njit(cache=True, nogil=True)
def _any_open(open_row: Any, start: int, end: int) -> bool:
    for i in range(start, end):
        if open_row[i]:
            return True
    return False


@njit(cache=True, nogil=True)
def merged_keys(
    q_off: Any, q_tok: Any, q_len: Any, q_run_off: Any, q_runs: Any, q_run_len: Any,
    q_run_start: Any, q_run_size: Any, q_rows: Any,
    c_off: Any, c_tok: Any, c_len: Any, c_run_off: Any, c_runs: Any, c_run_len: Any,
    c_run_start: Any, c_run_size: Any, c_rows: Any,
    rest: Any, open_q: Any, open_c: Any, limits: Any,
) -> Any:  # fmt: skip
    """Rows (merged run, token, their lengths) whose edit similarity `item_scores` needs: as
    align._merged_candidates, a run of 2-3 tokens with an open one against an open token of 4+
    characters within its edit budget."""
    total = 0
    for r in range(len(rest)):
        k = rest[r]
        nq = q_off[q_rows[k] + 1] - q_off[q_rows[k]]
        nc = c_off[c_rows[k] + 1] - c_off[c_rows[k]]
        total += (q_run_off[q_rows[k] + 1] - q_run_off[q_rows[k]]) * nc
        total += (c_run_off[c_rows[k] + 1] - c_run_off[c_rows[k]]) * nq
    out = np.empty((total, 4), dtype=np.int64)
    n = 0
    for r in range(len(rest)):
        k = rest[r]
        for side in range(2):
            if side == 0:  # query runs against candidate tokens
                row, t_row = q_rows[k], c_rows[k]
                run_off, runs, run_len, run_start, run_size = (
                    q_run_off,
                    q_runs,
                    q_run_len,
                    q_run_start,
                    q_run_size,
                )
                t_off, t_tok, t_len = c_off, c_tok, c_len
                run_open, tok_open = open_q[k], open_c[k]
            else:
                row, t_row = c_rows[k], q_rows[k]
                run_off, runs, run_len, run_start, run_size = (
                    c_run_off,
                    c_runs,
                    c_run_len,
                    c_run_start,
                    c_run_size,
                )
                t_off, t_tok, t_len = q_off, q_tok, q_len
                run_open, tok_open = open_c[k], open_q[k]
            ts = t_off[t_row]
            for j in range(t_off[t_row + 1] - ts):
                length = t_len[ts + j]
                if length < 4 or not tok_open[j]:
                    continue
                for x in range(run_off[row], run_off[row + 1]):
                    start = run_start[x]
                    if not _any_open(run_open, start, start + run_size[x]):
                        continue
                    if abs(run_len[x] - length) < limits[length]:
                        out[n, 0] = runs[x]
                        out[n, 1] = t_tok[ts + j]
                        out[n, 2] = run_len[x]
                        out[n, 3] = length
                        n += 1
    return out[:n]


@njit(cache=True, nogil=True)
def _add_extras(
    k: int, qrow: int, crow: int, nq: int, nc: int,
    q_off: Any, q_tok: Any, q_len: Any, q_short: Any, q_run_off: Any, q_runs: Any, q_run_len: Any,
    q_run_start: Any, q_run_size: Any, q_acr_off: Any, q_acr: Any, q_acr_start: Any, q_acr_end: Any,
    c_off: Any, c_tok: Any, c_len: Any, c_short: Any, c_run_off: Any, c_runs: Any, c_run_len: Any,
    c_run_start: Any, c_run_size: Any, c_acr_off: Any, c_acr: Any, c_acr_start: Any, c_acr_end: Any,
    open_q: Any, open_c: Any, person: bool, merged_keys_: Any, merged_values: Any, limits: Any,
    initial_sim: float, acronym_sim: float,
    item_sim: Any, item_size: Any, item_q0: Any, item_q1: Any, item_c0: Any, item_c1: Any, n: int,
) -> int:  # fmt: skip
    """Merged runs, then acronyms, as align._merged_candidates and _acronym_candidates add them
    (query side first); items from `n` on; returns the new end."""
    for side in range(2):
        if side == 0:
            row, t_row = qrow, crow
            run_off, runs, run_len, run_start, run_size = (
                q_run_off,
                q_runs,
                q_run_len,
                q_run_start,
                q_run_size,
            )
            t_off, t_tok, t_len = c_off, c_tok, c_len
            run_open, tok_open = open_q, open_c
        else:
            row, t_row = crow, qrow
            run_off, runs, run_len, run_start, run_size = (
                c_run_off,
                c_runs,
                c_run_len,
                c_run_start,
                c_run_size,
            )
            t_off, t_tok, t_len = q_off, q_tok, q_len
            run_open, tok_open = open_c, open_q
        ts = t_off[t_row]
        for j in range(t_off[t_row + 1] - ts):
            length = t_len[ts + j]
            if length < 4 or not tok_open[j]:
                continue
            for x in range(run_off[row], run_off[row + 1]):
                start = run_start[x]
                size = run_size[x]
                if not _any_open(run_open, start, start + size):
                    continue
                if abs(run_len[x] - length) >= limits[length]:
                    continue
                value = _similarity(merged_keys_, merged_values, runs[x] * _SHIFT + t_tok[ts + j])
                if value >= 0.5:
                    item_sim[n], item_size[n] = value, size + 1
                    if side == 0:
                        item_q0[n], item_q1[n], item_c0[n], item_c1[n] = start, start + size, j, j + 1
                    else:
                        item_q0[n], item_q1[n], item_c0[n], item_c1[n] = j, j + 1, start, start + size
                    n += 1
    for side in range(2):
        if side == 0:
            row, t_row, n_run = qrow, crow, nq
            acr_off, acr, acr_start, acr_end = q_acr_off, q_acr, q_acr_start, q_acr_end
            t_off, t_tok, t_len, t_short = c_off, c_tok, c_len, c_short
            run_open, tok_open = open_q, open_c
        else:
            row, t_row, n_run = crow, qrow, nc
            acr_off, acr, acr_start, acr_end = c_acr_off, c_acr, c_acr_start, c_acr_end
            t_off, t_tok, t_len, t_short = q_off, q_tok, q_len, q_short
            run_open, tok_open = open_c, open_q
        ts = t_off[t_row]
        for j in range(t_off[t_row + 1] - ts):
            if not t_short[ts + j] or not tok_open[j] or t_len[ts + j] > n_run:
                continue
            for x in range(acr_off[row], acr_off[row + 1]):
                if acr[x] != t_tok[ts + j]:
                    continue
                start, end = acr_start[x], acr_end[x] + 1
                if not _any_open(run_open, start, end):
                    continue
                item_sim[n] = initial_sim if person else acronym_sim
                item_size[n] = end - start + 1
                if side == 0:
                    item_q0[n], item_q1[n], item_c0[n], item_c1[n] = start, end, j, j + 1
                else:
                    item_q0[n], item_q1[n], item_c0[n], item_c1[n] = j, j + 1, start, end
                n += 1
    return n


@njit(cache=True, nogil=True)
def _sorted(order: Any, count: int, item_sim: Any, item_size: Any) -> None:
    """Items by (similarity, size), best first, ties in the order they were made: a stable
    insertion sort (a few dozen items)."""
    for a in range(1, count):
        x = order[a]
        sx, zx = item_sim[x], item_size[x]
        b = a - 1
        while b >= 0 and (item_sim[order[b]] < sx or (item_sim[order[b]] == sx and item_size[order[b]] < zx)):
            order[b + 1] = order[b]
            b -= 1
        order[b + 1] = x


@njit(cache=True, nogil=True)
def _greedy(
    order: Any, count: int, item_q0: Any, item_q1: Any, item_c0: Any, item_c1: Any,
    nq: int, nc: int, taken: Any, free_q: Any, free_c: Any,
) -> int:  # fmt: skip
    """align._greedy: the items taken (into `taken`, in order), while all their tokens are free."""
    free_q[:nq] = True
    free_c[:nc] = True
    m = 0
    for t in range(count):
        x = order[t]
        ok = True
        for i in range(item_q0[x], item_q1[x]):
            ok &= free_q[i]
        for j in range(item_c0[x], item_c1[x]):
            ok &= free_c[j]
        if not ok:
            continue
        for i in range(item_q0[x], item_q1[x]):
            free_q[i] = False
        for j in range(item_c0[x], item_c1[x]):
            free_c[j] = False
        taken[m] = x
        m += 1
    return m


@njit(cache=True, nogil=True)
def _aggregate(
    taken: Any, m: int, item_sim: Any, item_q0: Any, item_q1: Any, item_c0: Any, item_c1: Any,
    qs: int, nq: int, cs: int, nc: int, q_role: Any, c_role: Any, qw: Any, cw: Any,
    free_q: Any, free_c: Any, substantive_role: Any, never_conflict_role: Any,
    penalty: float, decay: float, initial_sim: float,
) -> float:  # fmt: skip
    """align.aggregate over the items taken (`free_q`/`free_c` as `_greedy` left them)."""
    matched = 0.0
    mismatch = 0.0
    substantive = False
    acronym_of_initials = False
    single_substantive = False
    for t in range(m):
        x = taken[t]
        q0, q1, c0, c1 = item_q0[x], item_q1[x], item_c0[x], item_c1[x]
        value = item_sim[x]
        weight = 0.0
        for i in range(q0, q1):
            weight += qw[i]
            if value >= 0.5 and substantive_role[q_role[qs + i]]:
                substantive = True
        for j in range(c0, c1):
            weight += cw[j]
            if value >= 0.5 and substantive_role[c_role[cs + j]]:
                substantive = True
        matched += weight * value
        mismatch += weight * (1.0 - value)
        if (q1 - q0) + (c1 - c0) > 2:
            if value == initial_sim:
                acronym_of_initials = True
        elif value >= 0.5 and (substantive_role[q_role[qs + q0]] or substantive_role[c_role[cs + c0]]):
            single_substantive = True
    if substantive and acronym_of_initials:
        # an acronym of a person's initials is not a name: something else must agree
        substantive = single_substantive
    left_q = 0.0
    kind_q = 0.0
    for i in range(nq):
        if free_q[i]:
            if never_conflict_role[q_role[qs + i]]:
                kind_q += qw[i]
            else:
                left_q += qw[i]
    left_c = 0.0
    kind_c = 0.0
    for j in range(nc):
        if free_c[j]:
            if never_conflict_role[c_role[cs + j]]:
                kind_c += cw[j]
            else:
                left_c += cw[j]
    matched /= 2.0
    conflict = mismatch / 2.0 + min(left_c, left_q)
    extra = abs(left_q - left_c) + abs(kind_q - kind_c) + 0.25 * min(kind_q, kind_c)
    denominator = matched + conflict + penalty * extra
    value = matched / denominator * decay**conflict if denominator > 0.0 else 0.0
    return value if substantive else value * 0.5


@njit(cache=True, nogil=True)
def item_scores(
    q_off: Any, q_tok: Any, q_len: Any, q_klen: Any, q_first: Any, q_sym: Any, q_role: Any,
    q_weight: Any, q_idf: Any, q_short: Any, q_run_off: Any, q_runs: Any, q_run_len: Any,
    q_run_start: Any, q_run_size: Any, q_acr_off: Any, q_acr: Any, q_acr_start: Any, q_acr_end: Any,
    q_span_off: Any, q_span_start: Any, q_span_end: Any, q_span_sym: Any, q_rows: Any,
    c_off: Any, c_tok: Any, c_len: Any, c_klen: Any, c_first: Any, c_sym: Any, c_role: Any,
    c_weight: Any, c_idf: Any, c_short: Any, c_run_off: Any, c_runs: Any, c_run_len: Any,
    c_run_start: Any, c_run_size: Any, c_acr_off: Any, c_acr: Any, c_acr_start: Any, c_acr_end: Any,
    c_span_off: Any, c_span_start: Any, c_span_end: Any, c_span_sym: Any, c_rows: Any,
    rest: Any, with_spans: Any, open_q: Any, open_c: Any, person: Any, penalty: Any, decay: float,
    share_keys: Any, share_values: Any, fuzzy_keys_: Any, fuzzy_values: Any,
    merged_keys_: Any, merged_values: Any, limits: Any, substantive_role: Any,
    never_conflict_role: Any, num: int, initial: int, initial_sim: float, acronym_sim: float,
) -> Any:  # fmt: skip
    """Scores of the pairs `rest`, aligned as align.align does with items spanning several tokens:
    multi-token symbol spans (`with_spans`: in the first alignment), and merged runs and acronyms
    where tokens are left open. Items are sorted by similarity and size (stable) and taken
    greedily while all their tokens are free; then align.aggregate. NaN where no such item takes
    part: the first alignment (`pair_scores`) stands. `open_q`/`open_c` are the open tokens after
    the first alignment, for the pairs without spans."""
    out = np.zeros(len(rest), dtype=np.float64)
    base = MAX * MAX + 2 * MAX * MAX  # [0, base): single tokens, then spans; then runs and acronyms
    cap = base + 4 * MAX * 2 * MAX
    order = np.zeros(cap, dtype=np.int64)
    taken = np.zeros(cap, dtype=np.int64)
    item_sim = np.zeros(cap, dtype=np.float64)
    item_size = np.zeros(cap, dtype=np.int64)
    item_q0 = np.zeros(cap, dtype=np.int64)
    item_q1 = np.zeros(cap, dtype=np.int64)
    item_c0 = np.zeros(cap, dtype=np.int64)
    item_c1 = np.zeros(cap, dtype=np.int64)
    sim = np.zeros((MAX, MAX), dtype=np.float64)
    free_q = np.zeros(MAX, dtype=np.bool_)
    free_c = np.zeros(MAX, dtype=np.bool_)
    first_open_q = np.zeros(MAX, dtype=np.bool_)
    first_open_c = np.zeros(MAX, dtype=np.bool_)
    qw = np.zeros(MAX, dtype=np.float64)
    cw = np.zeros(MAX, dtype=np.float64)
    for r in range(len(rest)):
        k = rest[r]
        qrow, crow = q_rows[k], c_rows[k]
        qs = q_off[qrow]
        nq = q_off[qrow + 1] - qs
        cs = c_off[crow]
        nc = c_off[crow + 1] - cs
        extras = base
        if not with_spans[r]:
            # merged runs and acronyms first: without them the first alignment stands
            extras = _add_extras(
                k, qrow, crow, nq, nc,
                q_off, q_tok, q_len, q_short, q_run_off, q_runs, q_run_len, q_run_start, q_run_size,
                q_acr_off, q_acr, q_acr_start, q_acr_end,
                c_off, c_tok, c_len, c_short, c_run_off, c_runs, c_run_len, c_run_start, c_run_size,
                c_acr_off, c_acr, c_acr_start, c_acr_end,
                open_q[k], open_c[k], person[k], merged_keys_, merged_values, limits,
                initial_sim, acronym_sim,
                item_sim, item_size, item_q0, item_q1, item_c0, item_c1, base,
            )  # fmt: skip
            if extras == base:
                out[r] = np.nan
                continue
        _token_sims(
            qs, nq, cs, nc, q_tok, q_len, q_klen, q_first, q_sym, q_role,
            c_tok, c_len, c_klen, c_first, c_sym, c_role, person[k],
            share_keys, share_values, fuzzy_keys_, fuzzy_values, limits, num, initial, sim,
        )  # fmt: skip
        _weights(qs, nq, cs, nc, q_weight, q_idf, c_weight, c_idf, qw, cw)
        n = 0
        for i in range(nq):
            for j in range(nc):
                if sim[i, j] > 0.0:
                    item_sim[n], item_size[n] = sim[i, j], 2
                    item_q0[n], item_q1[n], item_c0[n], item_c1[n] = i, i + 1, j, j + 1
                    n += 1
        if with_spans[r]:
            # a symbol spanning several tokens against a token carrying it (align.align)
            for x in range(q_span_off[qrow], q_span_off[qrow + 1]):
                for j in range(nc):
                    if c_sym[cs + j] > 0 and _shared(
                        share_keys, share_values, q_span_sym[x] * _SHIFT + c_sym[cs + j]
                    ):
                        item_sim[n], item_size[n] = 0.9, q_span_end[x] - q_span_start[x] + 1
                        item_q0[n], item_q1[n], item_c0[n], item_c1[n] = (
                            q_span_start[x],
                            q_span_end[x],
                            j,
                            j + 1,
                        )
                        n += 1
            for x in range(c_span_off[crow], c_span_off[crow + 1]):
                for i in range(nq):
                    if q_sym[qs + i] > 0 and _shared(
                        share_keys, share_values, c_span_sym[x] * _SHIFT + q_sym[qs + i]
                    ):
                        item_sim[n], item_size[n] = 0.9, c_span_end[x] - c_span_start[x] + 1
                        item_q0[n], item_q1[n], item_c0[n], item_c1[n] = (
                            i,
                            i + 1,
                            c_span_start[x],
                            c_span_end[x],
                        )
                        n += 1
            # the first alignment, with the spans; then the tokens it leaves open
            for x in range(n):
                order[x] = x
            _sorted(order, n, item_sim, item_size)
            m = _greedy(order, n, item_q0, item_q1, item_c0, item_c1, nq, nc, taken, free_q, free_c)
            first_open_q[:nq] = True
            first_open_c[:nc] = True
            for t in range(m):
                x = taken[t]
                if item_sim[x] == 1.0:
                    first_open_q[item_q0[x] : item_q1[x]] = False
                    first_open_c[item_c0[x] : item_c1[x]] = False
            any_q = False
            for i in range(nq):
                any_q |= first_open_q[i]
            any_c = False
            for j in range(nc):
                any_c |= first_open_c[j]
            if (nq > 1 and any_q) or (nc > 1 and any_c):
                extras = _add_extras(
                    k, qrow, crow, nq, nc,
                    q_off, q_tok, q_len, q_short, q_run_off, q_runs, q_run_len, q_run_start, q_run_size,
                    q_acr_off, q_acr, q_acr_start, q_acr_end,
                    c_off, c_tok, c_len, c_short, c_run_off, c_runs, c_run_len, c_run_start, c_run_size,
                    c_acr_off, c_acr, c_acr_start, c_acr_end,
                    first_open_q, first_open_c, person[k], merged_keys_, merged_values, limits,
                    initial_sim, acronym_sim,
                    item_sim, item_size, item_q0, item_q1, item_c0, item_c1, base,
                )  # fmt: skip
            if extras == base:
                out[r] = _aggregate(
                    taken, m, item_sim, item_q0, item_q1, item_c0, item_c1, qs, nq, cs, nc, q_role, c_role,
                    qw, cw, free_q, free_c, substantive_role, never_conflict_role, penalty[k], decay, initial_sim,
                )  # fmt: skip
                continue
        count = 0
        for x in range(n):
            order[count] = x
            count += 1
        for x in range(base, extras):
            order[count] = x
            count += 1
        _sorted(order, count, item_sim, item_size)
        m = _greedy(order, count, item_q0, item_q1, item_c0, item_c1, nq, nc, taken, free_q, free_c)
        out[r] = _aggregate(
            taken, m, item_sim, item_q0, item_q1, item_c0, item_c1, qs, nq, cs, nc, q_role, c_role,
            qw, cw, free_q, free_c, substantive_role, never_conflict_role, penalty[k], decay, initial_sim,
        )  # fmt: skip
    return out


# -- candidates -----------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def probe_candidates(
    indptr: Any, indices: Any, data: Any, probe_query: Any, factor: Any, query_norm: Any,
    name_norm: Any, name_weight: Any, name_entity: Any, entities: int, limit: int,
    wanted_offsets: Any, wanted: Any,
) -> Any:  # fmt: skip
    """Each query's candidate entities from the (probes x name rows) product of `index`: a probe's
    value for a name row is its cosine times the row's weight and the probe's factor (initials
    against initials count for nothing); an entity takes its best row per probe; each probe keeps
    its best `limit` entities (best value first, then the lower position), plus the entities the
    query wants anyway (`wanted`, CSR by query: identifier and ticker hits); a query keeps the best
    value of each entity over its probes. Returns (query, entity, value) for values above 0, by
    query. Probes are in query order."""
    probe_best = np.zeros(entities, dtype=np.float64)
    query_best = np.zeros(entities, dtype=np.float64)
    is_wanted = np.zeros(entities, dtype=np.bool_)
    probe_touched = np.empty(entities, dtype=np.int64)
    query_touched = np.empty(entities, dtype=np.int64)
    chunks_q = []
    chunks_e = []
    chunks_v = []
    p = 0
    probes = len(probe_query)
    while p < probes:
        k = probe_query[p]
        for x in range(wanted_offsets[k], wanted_offsets[k + 1]):
            is_wanted[wanted[x]] = True
        nq = 0
        while p < probes and probe_query[p] == k:
            np_ = 0
            for x in range(indptr[p], indptr[p + 1]):
                row = indices[x]
                weight = name_weight[row]
                if factor[p] < 1.0 and weight < 1.0:
                    weight = 0.0
                value = data[x] / (name_norm[row] * query_norm[p]) * weight * factor[p]
                e = name_entity[row]
                if probe_best[e] == 0.0 and value > 0.0:
                    probe_touched[np_] = e
                    np_ += 1
                probe_best[e] = max(probe_best[e], value)
            kept = probe_touched[:np_]
            if np_ > limit:
                # best value first, ties to the lower position
                kept = np.sort(kept)
                order = np.argsort(-probe_best[kept], kind="mergesort")
                keep = np.zeros(np_, dtype=np.bool_)
                keep[order[:limit]] = True
                for i in range(np_):
                    if is_wanted[kept[i]]:
                        keep[i] = True
                kept = kept[keep]
            for e in kept:
                v = probe_best[e]
                if v > query_best[e]:
                    if query_best[e] == 0.0:
                        query_touched[nq] = e
                        nq += 1
                    query_best[e] = v
            for i in range(np_):
                probe_best[probe_touched[i]] = 0.0
            p += 1
        entities_k = query_touched[:nq].copy()
        values_k = np.empty(nq, dtype=np.float64)
        for i in range(nq):
            values_k[i] = query_best[entities_k[i]]
            query_best[entities_k[i]] = 0.0
        chunks_q.append(np.full(nq, k, dtype=np.int64))
        chunks_e.append(entities_k)
        chunks_v.append(values_k)
        for x in range(wanted_offsets[k], wanted_offsets[k + 1]):
            is_wanted[wanted[x]] = False
    total = 0
    for c in chunks_e:
        total += len(c)
    out_query = np.empty(total, dtype=np.int64)
    out_entity = np.empty(total, dtype=np.int64)
    out_value = np.empty(total, dtype=np.float64)
    n = 0
    for i in range(len(chunks_e)):
        m = len(chunks_e[i])
        out_query[n : n + m] = chunks_q[i]
        out_entity[n : n + m] = chunks_e[i]
        out_value[n : n + m] = chunks_v[i]
        n += m
    return out_query, out_entity, out_value
