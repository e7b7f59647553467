"""The compiled loops of the batch scorer (numba): token similarities, greedy alignment and
aggregation per name pair (candidate search has its own loops in `candidates_kernel`).

Each name pair is a small loop over its own tokens, compiled once per machine (`cache=True`; numba
is imported only when a screener scores). Nothing per pair needs a Python object:

- edit similarities are computed here, on the code points of the vocabulary's strings
  (`batch.Vocabulary.codepoints`): rapidfuzz's OSA distance, bit-parallel as rapidfuzz computes it
  (Hyyrö 2003; a plain table past 64 characters), after two cheap bounds (length difference, and
  a 64-bit set of code points: `signatures`). The distance is the same integer, so `edit_sim` is
  the same float as `align.edit_sim` (tests/matching/test_kernel.py checks every token pair);
- "a symbol in common" is a merge of two short sorted lists of symbol ids
  (`batch.Vocabulary.symbol_members`).

`pair_scores` makes every pair's first alignment (single tokens), and aligns again with items
spanning several tokens (`_again`) the pairs where a multi-token symbol span meets a symbol or a
merged run or acronym can join (`_might_extend` rules out most pairs first). On
request it records each alignment, so that a hit is explained without aligning in Python.

The steps are those of `align.align` and `align.aggregate`, and must stay in step with them
(tests/matching/test_batch.py compares the scores and explanations with the Python scorer's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numba import njit

__all__ = ["edit_sim", "fuzzy_sim", "pair_scores", "signatures"]

MEMO_MASK = (1 << 12) - 1  # slots of the fuzzy-similarity memo of a call, less one

_F = TypeVar("_F", bound=Callable[..., Any])


def _leaf(function: _F) -> _F:
    """numba's njit for the helpers called per pair: compiled without reference counting
    (`_nrt=False`: they allocate nothing), so that a call does not pay an atomic increment and
    decrement per array argument."""
    return njit(cache=True, nogil=True, _nrt=False)(function)  # type: ignore[call-overload,no-any-return]


@_leaf
def _shared(sym_off: Any, sym_mem: Any, a: int, b: int) -> bool:
    """Whether symbol sets `a` and `b` have a symbol in common (members sorted, CSR by set)."""
    i, ie = sym_off[a], sym_off[a + 1]
    j, je = sym_off[b], sym_off[b + 1]
    while i < ie and j < je:
        x, y = sym_mem[i], sym_mem[j]
        if x == y:
            return True
        if x < y:
            i += 1
        else:
            j += 1
    return False


@_leaf
def _osa(chars: Any, a0: int, la: int, b0: int, lb: int, cutoff: int, buf: Any) -> int:
    """rapidfuzz's OSA distance (edits and adjacent transpositions, each substring edited once) of
    the code points `chars[a0:a0+la]` and `chars[b0:b0+lb]`; any value above `cutoff` once the
    distance must exceed it (two rows in a row above it: no later row can come back under).
    `buf` has 3 rows of at least `lb + 1` (strings are at most MAX_NAME_CHARS long, as `limits`)."""
    if la == 0:
        return lb
    if lb == 0:
        return la
    before = buf[0]
    prev = buf[1]
    cur = buf[2]
    for j in range(lb + 1):
        prev[j] = j
    low_prev = 0
    for i in range(1, la + 1):
        ca = chars[a0 + i - 1]
        cur[0] = i
        low = i
        for j in range(1, lb + 1):
            cb = chars[b0 + j - 1]
            value = prev[j - 1] + (0 if ca == cb else 1)
            value = min(value, prev[j] + 1)
            value = min(value, cur[j - 1] + 1)
            if i > 1 and j > 1 and ca == chars[b0 + j - 2] and chars[a0 + i - 2] == cb:
                value = min(value, before[j - 2] + 1)
            cur[j] = value
            low = min(low, value)
        if low > cutoff and low_prev > cutoff:
            return cutoff + 1
        low_prev = low
        before, prev, cur = prev, cur, before
    return prev[lb]  # type: ignore[no-any-return]


@_leaf
def _osa_bits(chars: Any, a0: int, la: int, b0: int, lb: int, masks: Any) -> int:
    """The same distance, bit-parallel for `la` <= 64 (Hyyrö 2003, as rapidfuzz computes it).

    `masks` (128 zeros, handed back zeroed) holds the positions of each ASCII code point in the
    first string, so that a character of the second finds its mask in one load instead of a pass
    over the first string; other code points take that pass."""
    one = np.uint64(1)
    bit = one
    for i in range(la):
        ca = chars[a0 + i]
        if ca < 128:
            masks[ca] |= bit
        bit <<= one
    vp = ~np.uint64(0)
    vn = np.uint64(0)
    d0 = np.uint64(0)
    pm_old = np.uint64(0)
    mask = one << np.uint64(la - 1)
    distance = la
    for j in range(lb):
        ch = chars[b0 + j]
        if ch < 128:
            pm = masks[ch]
        else:
            pm = np.uint64(0)
            bit = one
            for i in range(la):
                if chars[a0 + i] == ch:
                    pm |= bit
                bit <<= one
        tr = (((~d0) & pm) << one) & pm_old
        d0 = (((pm & vp) + vp) ^ vp) | pm | vn | tr
        hp = vn | ~(d0 | vp)
        hn = d0 & vp
        if hp & mask:
            distance += 1
        elif hn & mask:
            distance -= 1
        hp = (hp << one) | one
        hn = hn << one
        vp = hn | ~(d0 | hp)
        vn = hp & d0
        pm_old = pm
    for i in range(la):
        ca = chars[a0 + i]
        if ca < 128:
            masks[ca] = np.uint64(0)
    return distance


@_leaf
def _popcount(x: Any) -> int:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@_leaf
def _may_reach_half(len_a: int, len_b: int, sig_a: Any, sig_b: Any, limits: Any) -> bool:
    """False when the edit similarity of two strings of these lengths and code-point signatures
    must be under 0.5, the least a merged run or acronym item takes: their distance is at least
    the length difference and the code points either lacks (a margin covers float rounding)."""
    fewest = max(abs(len_a - len_b), _popcount(sig_a & ~sig_b), _popcount(sig_b & ~sig_a))
    most = limits[max(len_a, len_b)]
    return fewest * fewest <= 0.5000001 * most * most  # type: ignore[no-any-return]


@njit(cache=True, nogil=True)
def signatures(chars: Any, starts: Any) -> Any:
    """Per string, a 64-bit set of its code points modulo 64: a distance is at least the number of
    bits one string has and the other lacks (each edit removes at most one missing character)."""
    out = np.zeros(len(starts) - 1, dtype=np.uint64)
    for k in range(len(starts) - 1):
        sig = np.uint64(0)
        for x in range(starts[k], starts[k + 1]):
            sig |= np.uint64(1) << np.uint64(chars[x] & 63)
        out[k] = sig
    return out


@_leaf
def edit_sim(chars: Any, starts: Any, sigs: Any, a: int, b: int, limits: Any, buf: Any, masks: Any) -> float:
    """align.edit_sim of strings `a` and `b` of the vocabulary (code points in `chars`, string k at
    `starts[k]:starts[k + 1]`): the same integer distance, so the same float. `buf` and `masks` are
    scratch (`_osa`, `_osa_bits`)."""
    a0, b0 = starts[a], starts[b]
    la, lb = starts[a + 1] - a0, starts[b + 1] - b0
    limit = limits[max(la, lb)]
    if abs(la - lb) >= limit:
        return 0.0
    sa, sb = sigs[a], sigs[b]
    if max(_popcount(sa & ~sb), _popcount(sb & ~sa)) >= limit:
        return 0.0
    if la == 0 or lb == 0:
        distance = max(la, lb)
    elif la <= 64:
        distance = _osa_bits(chars, a0, la, b0, lb, masks)
    elif lb <= 64:
        distance = _osa_bits(chars, b0, lb, a0, la, masks)
    else:
        distance = _osa(chars, a0, la, b0, lb, int(np.ceil(limit)) - 1, buf)
    if distance >= limit:
        return 0.0
    ratio = distance / limit
    return 1.0 - ratio * ratio  # type: ignore[no-any-return]


@_leaf
def fuzzy_sim(
    chars: Any, starts: Any, sigs: Any, a: int, b: int, ka: int, kb: int, limits: Any, buf: Any, masks: Any
) -> float:
    """align._fuzzy_sim: tokens `a`, `b` with skeletons `ka`, `kb` (string ids)."""
    sim = edit_sim(chars, starts, sigs, a, b, limits, buf, masks)
    if sim < 0.95 and (ka != a or kb != b):
        spelled = 0.95 if ka == kb else 0.95 * edit_sim(chars, starts, sigs, ka, kb, limits, buf, masks)
        sim = max(sim, spelled)
    return sim


@_leaf
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
def pair_scores(
    q: Any, c: Any, q_rows: Any, c_rows: Any, person: Any, penalty: Any, decay: float,
    sym_off: Any, sym_mem: Any, chars: Any, starts: Any, sigs: Any,
    limits: Any, substantive_role: Any, never_conflict_role: Any, num: int, initial: int,
    initial_sim: float, acronym_sim: float, record: bool, most_tokens: int,
) -> Any:  # fmt: skip
    """The score of every pair (`q_rows[k]`, `c_rows[k]`): the first alignment (single tokens);
    then, where a multi-token symbol span meets a symbol on the other side or tokens are left open
    (merged runs or acronyms might join), the alignment with items (`_again`). `q` and `c` are
    the compiled names' arrays (`batch.CompiledNames.arrays`).

    With `record`, also each pair's alignment as align.align returns it, for an explanation: the
    number of steps, and per step the query's and the candidate's tokens [start, end) and the
    similarity, in the order they were taken.

    `most_tokens` (batch.MAX_TOKENS) sizes the scratch arrays: no name of the pairs has more tokens.
    An argument, not a constant of another module, so that numba's cache (keyed on this file)
    never keeps loops compiled for another size."""
    (
        q_off, q_tok, q_skel, q_len, q_klen, q_first, q_sym, q_span, q_role, q_weight, q_idf,
        q_short, q_run_off, q_runs, q_run_len, q_run_start, q_run_size,
        q_acr_off, q_acr, q_acr_start, q_acr_end, q_span_off, q_span_start, q_span_end, q_span_sym,
    ) = q  # fmt: skip
    (
        c_off, c_tok, c_skel, c_len, c_klen, c_first, c_sym, c_span, c_role, c_weight, c_idf,
        c_short, c_run_off, c_runs, c_run_len, c_run_start, c_run_size,
        c_acr_off, c_acr, c_acr_start, c_acr_end, c_span_off, c_span_start, c_span_end, c_span_sym,
    ) = c  # fmt: skip
    p = len(q_rows)
    score = np.zeros(p, dtype=np.float64)
    kept = p if record else 0
    steps = np.zeros(kept, dtype=np.int64)
    step_tokens = np.empty((kept, most_tokens, 4), dtype=np.int64)  # read up to steps[k] only
    step_sim = np.empty((kept, most_tokens), dtype=np.float64)
    open_q = np.zeros(most_tokens, dtype=np.bool_)
    open_c = np.zeros(most_tokens, dtype=np.bool_)
    masks = np.zeros(128, dtype=np.uint64)  # bit-parallel pattern masks of ASCII code points
    buf = np.zeros((3, len(limits) + 1), dtype=np.int64)  # edit distances of strings up to MAX_NAME_CHARS
    item_base = 3 * most_tokens * most_tokens  # single tokens, then spans; then runs, acronyms
    items = _items(most_tokens, item_base + 8 * most_tokens * most_tokens)
    sim = np.zeros((most_tokens, most_tokens), dtype=np.float64)
    memo_key = np.full(MEMO_MASK + 1, -1, dtype=np.int64)  # fuzzy_sim of token id pairs
    memo_sim = np.zeros(MEMO_MASK + 1, dtype=np.float64)
    work = np.zeros((most_tokens, most_tokens), dtype=np.float64)
    match_q = np.zeros(most_tokens, dtype=np.int64)
    sim_q = np.zeros(most_tokens, dtype=np.float64)
    taken_c = np.zeros(most_tokens, dtype=np.bool_)
    exact_c = np.zeros(most_tokens, dtype=np.bool_)
    qw = np.zeros(most_tokens, dtype=np.float64)
    cw = np.zeros(most_tokens, dtype=np.float64)
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
        # the token similarity matrix, as align._token_sim (written out here: a call per pair to a
        # function this size costs more than its work)
        for i in range(nq):
            ta = qs + i
            for j in range(nc):
                tb = cs + j
                value = 0.0
                if q_tok[ta] == c_tok[tb]:
                    value = 1.0
                elif q_sym[ta] > 0 and c_sym[tb] > 0 and _shared(sym_off, sym_mem, q_sym[ta], c_sym[tb]):
                    value = 0.9
                elif q_role[ta] == num or c_role[tb] == num:
                    value = 0.0
                elif q_role[ta] == initial or c_role[tb] == initial:
                    if person[k] and q_first[ta] == c_first[tb]:
                        value = 0.8
                else:
                    la, lb, ka, kb = q_len[ta], c_len[tb], q_klen[ta], c_klen[tb]
                    if abs(la - lb) < limits[max(la, lb)] or abs(ka - kb) < limits[max(ka, kb)]:
                        # the same two tokens come back in the names of one candidate (its
                        # aliases share words) and across candidates: a direct-mapped memo
                        a, b = q_tok[ta], c_tok[tb]
                        key = (a << 32) | b
                        at = ((a * 0x9E3779B1) ^ (b * 0x85EBCA77)) & MEMO_MASK
                        if memo_key[at] == key:
                            value = memo_sim[at]
                        else:
                            value = fuzzy_sim(
                                chars, starts, sigs, a, b, q_skel[ta], c_skel[tb], limits, buf, masks
                            )
                            memo_key[at] = key
                            memo_sim[at] = value
                sim[i, j] = value
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
            if record:
                t = steps[k]
                step_tokens[k, t, 0], step_tokens[k, t, 1] = bi, bi + 1
                step_tokens[k, t, 2], step_tokens[k, t, 3] = bj, bj + 1
                step_sim[k, t] = best
                steps[k] = t + 1
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
            if record:  # token by token, as compare_names pairs equal names
                steps[k] = nq
                for i in range(nq):
                    step_tokens[k, i, 0], step_tokens[k, i, 1] = i, i + 1
                    step_tokens[k, i, 2], step_tokens[k, i, 3] = i, i + 1
                    step_sim[k, i] = 1.0
        score[k] = value
        # a multi-token symbol span that a token on the other side carries: an item of the alignment
        hit = False
        span = q_span[q_rows[k]]
        if span > 0:
            for j in range(nc):
                if c_sym[cs + j] > 0 and _shared(sym_off, sym_mem, span, c_sym[cs + j]):
                    hit = True
        span = c_span[c_rows[k]]
        if span > 0:
            for i in range(nq):
                if q_sym[qs + i] > 0 and _shared(sym_off, sym_mem, span, q_sym[qs + i]):
                    hit = True
        # tokens not aligned exactly: merged runs or acronyms might join the alignment
        any_q = False
        for i in range(nq):
            is_open = not (match_q[i] >= 0 and sim_q[i] == 1.0)
            open_q[i] = is_open
            any_q |= is_open
        any_c = False
        for j in range(nc):
            open_c[j] = not exact_c[j]
            any_c |= not exact_c[j]
        if same or not (hit or (nq > 1 and any_q) or (nc > 1 and any_c)):
            continue
        if not hit and not _might_extend(
            q_rows[k], c_rows[k], nq, nc, qs, cs, q_tok, q_len, q_short, q_run_off, q_runs, q_run_len,
            q_run_start, q_run_size, q_acr_off, q_acr, q_acr_start, q_acr_end,
            c_tok, c_len, c_short, c_run_off, c_runs, c_run_len, c_run_start, c_run_size,
            c_acr_off, c_acr, c_acr_start, c_acr_end, open_q, open_c, sigs, limits,
        ):  # fmt: skip
            continue  # not even a candidate item: the first alignment stands
        again = _again(
            q_rows[k], c_rows[k], hit,
            q_off, q_tok, q_len, q_sym, q_role,
            q_short, q_run_off, q_runs, q_run_len, q_run_start, q_run_size,
            q_acr_off, q_acr, q_acr_start, q_acr_end, q_span_off, q_span_start, q_span_end, q_span_sym,
            c_off, c_tok, c_len, c_sym, c_role,
            c_short, c_run_off, c_runs, c_run_len, c_run_start, c_run_size,
            c_acr_off, c_acr, c_acr_start, c_acr_end, c_span_off, c_span_start, c_span_end, c_span_sym,
            open_q, open_c, person[k], penalty[k], decay, sym_off, sym_mem, chars, starts, sigs, buf, masks,
            limits, substantive_role, never_conflict_role, initial_sim, acronym_sim, sim, qw, cw, items,
            item_base,
        )  # fmt: skip
        if not np.isnan(again):
            score[k] = again
            if record:
                taken, item_sim = items[1], items[2]
                steps[k] = items[12][0]
                for t in range(steps[k]):
                    x = taken[t]
                    step_tokens[k, t, 0], step_tokens[k, t, 1] = items[4][x], items[5][x]
                    step_tokens[k, t, 2], step_tokens[k, t, 3] = items[6][x], items[7][x]
                    step_sim[k, t] = item_sim[x]
    return score, steps, step_tokens, step_sim


@_leaf
def _any_open(open_row: Any, start: int, end: int) -> bool:
    for i in range(start, end):
        if open_row[i]:
            return True
    return False


@_leaf
def _might_extend(
    qrow: int, crow: int, nq: int, nc: int, qs: int, cs: int,
    q_tok: Any, q_len: Any, q_short: Any, q_run_off: Any, q_runs: Any, q_run_len: Any,
    q_run_start: Any, q_run_size: Any, q_acr_off: Any, q_acr: Any, q_acr_start: Any, q_acr_end: Any,
    c_tok: Any, c_len: Any, c_short: Any, c_run_off: Any, c_runs: Any, c_run_len: Any,
    c_run_start: Any, c_run_size: Any, c_acr_off: Any, c_acr: Any, c_acr_start: Any, c_acr_end: Any,
    open_q: Any, open_c: Any, sigs: Any, limits: Any,
) -> bool:  # fmt: skip
    """`_add_extras`'s tests but the edit distance, with a bound on it instead: False when no
    merged run or acronym can be an item at all, which is most pairs; they skip `_again`, a large
    function whose every call costs more than this."""
    for side in range(2):
        if side == 0:  # the query's runs and acronyms against the candidate's open tokens
            row, n_run, t0, nt = qrow, nq, cs, nc
            run_off, runs, run_len, run_start, run_size = (
                q_run_off,
                q_runs,
                q_run_len,
                q_run_start,
                q_run_size,
            )
            acr_off, acr, acr_start, acr_end = q_acr_off, q_acr, q_acr_start, q_acr_end
            t_tok, t_len, t_short, run_open, tok_open = c_tok, c_len, c_short, open_q, open_c
        else:
            row, n_run, t0, nt = crow, nc, qs, nq
            run_off, runs, run_len, run_start, run_size = (
                c_run_off,
                c_runs,
                c_run_len,
                c_run_start,
                c_run_size,
            )
            acr_off, acr, acr_start, acr_end = c_acr_off, c_acr, c_acr_start, c_acr_end
            t_tok, t_len, t_short, run_open, tok_open = q_tok, q_len, q_short, open_c, open_q
        for j in range(nt):
            if not tok_open[j]:
                continue
            length = t_len[t0 + j]
            if length >= 4:
                tsig = sigs[t_tok[t0 + j]]
                for x in range(run_off[row], run_off[row + 1]):
                    if abs(run_len[x] - length) >= limits[length]:
                        continue
                    start = run_start[x]
                    if not _any_open(run_open, start, start + run_size[x]):
                        continue
                    if _may_reach_half(run_len[x], length, sigs[runs[x]], tsig, limits):
                        return True
            if t_short[t0 + j] and length <= n_run:
                for x in range(acr_off[row], acr_off[row + 1]):
                    if acr[x] == t_tok[t0 + j] and _any_open(run_open, acr_start[x], acr_end[x] + 1):
                        return True
    return False


@_leaf
def _add_extras(
    qrow: int, crow: int, nq: int, nc: int,
    q_off: Any, q_tok: Any, q_len: Any, q_short: Any, q_run_off: Any, q_runs: Any, q_run_len: Any,
    q_run_start: Any, q_run_size: Any, q_acr_off: Any, q_acr: Any, q_acr_start: Any, q_acr_end: Any,
    c_off: Any, c_tok: Any, c_len: Any, c_short: Any, c_run_off: Any, c_runs: Any, c_run_len: Any,
    c_run_start: Any, c_run_size: Any, c_acr_off: Any, c_acr: Any, c_acr_start: Any, c_acr_end: Any,
    open_q: Any, open_c: Any, person: bool, chars: Any, starts: Any, sigs: Any, buf: Any, masks: Any,
    limits: Any,
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
                # most pairs are ruled out before their distance is computed
                if not _may_reach_half(run_len[x], length, sigs[runs[x]], sigs[t_tok[ts + j]], limits):
                    continue
                value = edit_sim(chars, starts, sigs, runs[x], t_tok[ts + j], limits, buf, masks)
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


@_leaf
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


@_leaf
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


@_leaf
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
def _items(most_tokens: int, cap: int) -> Any:
    """The scratch arrays of `_again`."""
    return (
        np.zeros(cap, dtype=np.int64),  # order
        np.zeros(cap, dtype=np.int64),  # taken
        np.zeros(cap, dtype=np.float64),  # item_sim
        np.zeros(cap, dtype=np.int64),  # item_size
        np.zeros(cap, dtype=np.int64),  # item_q0
        np.zeros(cap, dtype=np.int64),  # item_q1
        np.zeros(cap, dtype=np.int64),  # item_c0
        np.zeros(cap, dtype=np.int64),  # item_c1
        np.zeros(most_tokens, dtype=np.bool_),  # free_q
        np.zeros(most_tokens, dtype=np.bool_),  # free_c
        np.zeros(most_tokens, dtype=np.bool_),  # first_open_q
        np.zeros(most_tokens, dtype=np.bool_),  # first_open_c
        np.zeros(1, dtype=np.int64),  # m: items taken
    )


@_leaf
def _again(
    qrow: int, crow: int, with_spans: bool,
    q_off: Any, q_tok: Any, q_len: Any, q_sym: Any, q_role: Any,
    q_short: Any, q_run_off: Any, q_runs: Any, q_run_len: Any, q_run_start: Any, q_run_size: Any,
    q_acr_off: Any, q_acr: Any, q_acr_start: Any, q_acr_end: Any,
    q_span_off: Any, q_span_start: Any, q_span_end: Any, q_span_sym: Any,
    c_off: Any, c_tok: Any, c_len: Any, c_sym: Any, c_role: Any,
    c_short: Any, c_run_off: Any, c_runs: Any, c_run_len: Any, c_run_start: Any, c_run_size: Any,
    c_acr_off: Any, c_acr: Any, c_acr_start: Any, c_acr_end: Any,
    c_span_off: Any, c_span_start: Any, c_span_end: Any, c_span_sym: Any,
    open_q: Any, open_c: Any, person: bool, penalty: float, decay: float,
    sym_off: Any, sym_mem: Any, chars: Any, starts: Any, sigs: Any, buf: Any, masks: Any,
    limits: Any, substantive_role: Any, never_conflict_role: Any, initial_sim: float, acronym_sim: float,
    sim: Any, qw: Any, cw: Any, items: Any, base: int,
) -> float:  # fmt: skip
    """One pair aligned again, as align.align does with items spanning several tokens: multi-token
    symbol spans (`with_spans`: in the first alignment), and merged runs and acronyms where tokens
    are left open (`open_q`/`open_c` after the first alignment, for a pair without spans). `sim`,
    `qw` and `cw` are the first alignment's token similarities and weights. Items are sorted by
    similarity and size (stable) and taken greedily while all their tokens are free; then
    align.aggregate. NaN where no such item takes part: the first alignment stands. The items
    taken stay in `items` (`taken[:m[0]]`) for an explanation. Items from `base` on are the merged
    runs and acronyms."""
    (
        order, taken, item_sim, item_size, item_q0, item_q1, item_c0, item_c1,
        free_q, free_c, first_open_q, first_open_c, scratch_m,
    ) = items  # fmt: skip
    qs = q_off[qrow]
    nq = q_off[qrow + 1] - qs
    cs = c_off[crow]
    nc = c_off[crow + 1] - cs
    extras = base
    if not with_spans:
        # merged runs and acronyms first: without them the first alignment stands
        extras = _add_extras(
            qrow, crow, nq, nc,
            q_off, q_tok, q_len, q_short, q_run_off, q_runs, q_run_len, q_run_start, q_run_size,
            q_acr_off, q_acr, q_acr_start, q_acr_end,
            c_off, c_tok, c_len, c_short, c_run_off, c_runs, c_run_len, c_run_start, c_run_size,
            c_acr_off, c_acr, c_acr_start, c_acr_end,
            open_q, open_c, person, chars, starts, sigs, buf, masks, limits,
            initial_sim, acronym_sim,
            item_sim, item_size, item_q0, item_q1, item_c0, item_c1, base,
        )  # fmt: skip
        if extras == base:
            return np.nan
    n = 0
    for i in range(nq):
        for j in range(nc):
            if sim[i, j] > 0.0:
                item_sim[n], item_size[n] = sim[i, j], 2
                item_q0[n], item_q1[n], item_c0[n], item_c1[n] = i, i + 1, j, j + 1
                n += 1
    if with_spans:
        # a symbol spanning several tokens against a token carrying it (align.align)
        for x in range(q_span_off[qrow], q_span_off[qrow + 1]):
            for j in range(nc):
                if c_sym[cs + j] > 0 and _shared(sym_off, sym_mem, q_span_sym[x], c_sym[cs + j]):
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
                if q_sym[qs + i] > 0 and _shared(sym_off, sym_mem, c_span_sym[x], q_sym[qs + i]):
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
                qrow, crow, nq, nc,
                q_off, q_tok, q_len, q_short, q_run_off, q_runs, q_run_len, q_run_start, q_run_size,
                q_acr_off, q_acr, q_acr_start, q_acr_end,
                c_off, c_tok, c_len, c_short, c_run_off, c_runs, c_run_len, c_run_start, c_run_size,
                c_acr_off, c_acr, c_acr_start, c_acr_end,
                first_open_q, first_open_c, person, chars, starts, sigs, buf, masks, limits,
                initial_sim, acronym_sim,
                item_sim, item_size, item_q0, item_q1, item_c0, item_c1, base,
            )  # fmt: skip
        if extras == base:
            scratch_m[0] = m
            return _aggregate(
                taken, m, item_sim, item_q0, item_q1, item_c0, item_c1, qs, nq, cs, nc, q_role, c_role,
                qw, cw, free_q, free_c, substantive_role, never_conflict_role, penalty, decay, initial_sim,
            )  # fmt: skip
    count = 0
    for x in range(n):
        order[count] = x
        count += 1
    for x in range(base, extras):
        order[count] = x
        count += 1
    _sorted(order, count, item_sim, item_size)
    m = _greedy(order, count, item_q0, item_q1, item_c0, item_c1, nq, nc, taken, free_q, free_c)
    scratch_m[0] = m
    return _aggregate(
        taken, m, item_sim, item_q0, item_q1, item_c0, item_c1, qs, nq, cs, nc, q_role, c_role,
        qw, cw, free_q, free_c, substantive_role, never_conflict_role, penalty, decay, initial_sim,
    )  # fmt: skip


# -- candidates -----------------------------------------------------------------------------------
