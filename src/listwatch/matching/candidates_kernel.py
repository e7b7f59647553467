"""The compiled candidate search of `index.MatchIndex.batch_candidates` (numba): one pass per batch.

For each probe (one name, or its initials, of one query) it orders the probe's features rarest
first and keeps them up to the postings budget, sums the squared feature weights its names share
with each listed name row straight from the CSR postings (what a sparse product would give, added
in the same order), turns the sums into cosines, keeps each entity's best row, each probe's best
`limit` entities (plus the entities the query wants anyway: identifier and ticker hits) and each
query's best value per entity, and returns every query's candidates already ranked.

The budget finds the rows; it need not rank them. When the features left unread weigh much (a
common name in a million-entity index: every feature has thousands of postings), the rows that
can still reach the probe's best `limit` are scored over all the probe's features from each row's
feature list (`forward`): exact cosines for them, at the price of one row list per such row
instead of reading every long posting list (1.6 -> 0.4 ms a query at 1M entities, and more true
entities among the first 20).

It replaces a scipy sparse product plus a numba pass over its result: building the product's
probe matrix and output, and the Python objects in between, cost more than the arithmetic.

    query_off, entities, values = search(probe_off, probe_ids, ..., limit=20)
    # candidates of query k: entities[query_off[k]:query_off[k + 1]], best first
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["forward", "search", "warm_up", "work_arrays"]


@njit(cache=True, nogil=True)
def _rare_first(ids: Any, offsets: Any, n_features: int, budget: int, min_features: int) -> Any:
    """The distinct feature ids of a probe, fewest postings first (ties: lower id first), up to
    `budget` postings in all but at least the rarest `min_features`; and all distinct ids.

    The 1% commonest features (" co", "ion", "t:china") hold 86% of a name's postings and add the
    least to a cosine: a candidate sharing only them ranks low anyway. They still count in the
    query's norm, so that scores stay comparable across queries."""
    keys = np.empty(len(ids), dtype=np.int64)
    for i in range(len(ids)):
        f = ids[i]
        keys[i] = (offsets[f + 1] - offsets[f]) * n_features + f
    keys = np.sort(keys)
    distinct = np.empty(len(keys), dtype=np.int64)
    n = 0
    for i in range(len(keys)):
        if i == 0 or keys[i] != keys[i - 1]:
            distinct[n] = keys[i] % n_features
            n += 1
    total = 0
    within = 0
    for i in range(n):
        f = distinct[i]
        total += offsets[f + 1] - offsets[f]
        if total > budget:
            break
        within += 1
    keep = max(within, min_features)
    return distinct[: min(keep, n)], distinct[:n]


@njit(cache=True, nogil=True)
def _best(touched: Any, best: Any, limit: int, is_wanted: Any, top: Any) -> Any:
    """The `limit` entities of `touched` with the best values (ties to the lower position), and
    the wanted ones. One pass keeps the best `limit` (value, position) pairs so far in `top`,
    sorted, best first; a probe of common words touches thousands of entities."""
    n_top = 0
    for i in range(len(touched)):
        e = touched[i]
        v = best[e]
        if n_top == limit:
            last = top[limit - 1]
            if v < best[last] or (v == best[last] and e > last):
                continue
            n_top -= 1
        at = n_top  # insertion into the sorted run
        while at > 0:
            other = top[at - 1]
            if best[other] > v or (best[other] == v and other < e):
                break
            top[at] = other
            at -= 1
        top[at] = e
        n_top += 1
    kept = np.empty(len(touched), dtype=np.int64)
    m = 0
    for i in range(n_top):
        kept[m] = top[i]
        m += 1
    cut = top[n_top - 1]
    for i in range(len(touched)):
        e = touched[i]
        if is_wanted[e]:
            v = best[e]
            if v < best[cut] or (v == best[cut] and e > cut):  # not kept already
                kept[m] = e
                m += 1
    return kept[:m]


@njit(cache=True, nogil=True)
def search(
    probe_off: Any, probe_ids: Any, probe_query: Any, probe_factor: Any, probe_unknown: Any,
    feature_off: Any, feature_rows: Any, feature_weight: Any, row_off: Any, row_features: Any,
    name_norm: Any, name_weight: Any, name_entity: Any, entities: int, queries: int,
    limit: int, budget: int, min_features: int, complete_share: float, wanted_off: Any, wanted: Any,
    work_values: Any, work_positions: Any, work_flags: Any,
) -> Any:  # fmt: skip
    """Ranked candidates of every query: (query offsets, entity, value), best value first, ties to
    the lower entity. A probe's value for a name row is its cosine times the row's weight and the
    probe's factor (initials against initials count for nothing). `probe_unknown` is the squared
    norm of the probe's features no listed name has. Probes are in query order.

    The postings read (`_rare_first`) find the rows; a row's cosine counts the features read. When
    the features left unread hold more than `complete_share` of the probe's squared norm (common
    words in a large index), the rows that could still reach the probe's best `limit` are scored
    over all the probe's features from `row_features` (each row's feature ids, ascending, from
    `forward`): the rows of a common name then rank by their whole names, not by their rarest
    letters. Rows skipped are those whose upper bound stays below the least cosine of the best
    `limit` entities by partial value: they cannot enter the probe's best `limit`."""
    n_features = len(feature_off) - 1
    rows = len(name_norm)
    # zeroed work arrays (`work_arrays`), handed back zeroed: every entry set is reset
    sums = work_values[:rows]
    squared = work_values[rows : rows + n_features]
    probe_best = work_values[rows + n_features : rows + n_features + entities]
    query_best = work_values[rows + n_features + entities : rows + n_features + 2 * entities]
    is_wanted = work_flags[:entities]
    chosen = work_flags[entities : 2 * entities]
    touched_rows = work_positions[:rows]
    picked = work_positions[rows : 2 * rows]
    starts = work_positions[2 * rows : 3 * rows]
    probe_touched = work_positions[3 * rows : 3 * rows + entities]
    query_touched = work_positions[3 * rows + entities : 3 * rows + 2 * entities]
    top = np.empty(limit + 1, dtype=np.int64)
    capacity = max(16, len(probe_factor) * limit * 2)
    out_entity = np.empty(capacity, dtype=np.int64)
    out_value = np.empty(capacity, dtype=np.float64)
    query_off = np.zeros(queries + 1, dtype=np.int64)
    n_out = 0
    p = 0
    probes = len(probe_query)
    for k in range(queries):
        query_off[k] = n_out
        if p >= probes or probe_query[p] != k:
            continue
        for x in range(wanted_off[k], wanted_off[k + 1]):
            is_wanted[wanted[x]] = True
        nq = 0
        while p < probes and probe_query[p] == k:
            used, distinct = _rare_first(
                probe_ids[probe_off[p] : probe_off[p + 1]], feature_off, n_features, budget, min_features
            )
            squares = 0.0
            for f in distinct:
                w = np.float64(feature_weight[f])
                squared[f] = w * w
                squares += w * w
            unread = 0.0
            for i in range(len(used), len(distinct)):
                unread += squared[distinct[i]]
            query_norm = np.sqrt(squares + probe_unknown[p])
            n_rows = 0
            for f in used:
                ww = squared[f]
                for x in range(feature_off[f], feature_off[f + 1]):
                    row = feature_rows[x]
                    if sums[row] == 0.0:
                        touched_rows[n_rows] = row
                        n_rows += 1
                    sums[row] += ww
            factor = probe_factor[p]
            np_ = 0
            for i in range(n_rows):
                row = touched_rows[i]
                weight = name_weight[row]
                if factor < 1.0 and weight < 1.0:
                    weight = 0.0
                value = sums[row] / (name_norm[row] * query_norm) * weight * factor
                e = name_entity[row]
                if probe_best[e] == 0.0 and value > 0.0:
                    probe_touched[np_] = e
                    np_ += 1
                probe_best[e] = max(probe_best[e], value)
            if unread > complete_share * squares:
                # First the rows of the best `limit` entities by partial value: their cosines give
                # the floor that the other rows' upper bounds (partial sum plus the unread mass, at
                # most the row's own unshared mass) must reach to be scored at all.
                n_top = 0
                if np_ > limit:
                    _best(probe_touched[:np_], probe_best, limit, is_wanted, top)
                    n_top = limit
                    for i in range(n_top):
                        chosen[top[i]] = True
                floor = 0.0
                for stage in range(2):
                    if stage == 1:
                        if n_top == 0:
                            break
                        floor = probe_best[top[0]]
                        for i in range(n_top):
                            floor = min(floor, probe_best[top[i]])
                    n_picked = 0
                    for i in range(n_rows):
                        row = touched_rows[i]
                        weight = name_weight[row]
                        if factor < 1.0 and weight < 1.0:
                            continue
                        e = name_entity[row]
                        if n_top > 0 and chosen[e] != (stage == 0):
                            continue
                        norm = np.float64(name_norm[row])
                        scale = weight * factor / (norm * query_norm)
                        # the margin covers the float32 norm's rounding: a bound must not fall short
                        bound = (sums[row] + min(unread, max(norm * norm - sums[row], 0.0))) * scale
                        if bound * 1.000001 < floor and not is_wanted[e]:
                            continue
                        picked[n_picked] = row
                        n_picked += 1
                    # where each picked row's features start, in a loop of its own: the loads do
                    # not wait on each other, so their cache misses overlap (a large index's rows
                    # are far apart)
                    for i in range(n_picked):
                        starts[i] = row_off[picked[i]]
                    for i in range(n_picked):
                        row = picked[i]
                        dot = 0.0
                        for x in range(starts[i], row_off[row + 1]):
                            dot += squared[row_features[x]]
                        scale = name_weight[row] * factor / (np.float64(name_norm[row]) * query_norm)
                        e = name_entity[row]
                        probe_best[e] = max(probe_best[e], dot * scale)
                for i in range(n_top):
                    chosen[top[i]] = False
            for i in range(n_rows):
                sums[touched_rows[i]] = 0.0
            for f in distinct:
                squared[f] = 0.0
            kept = probe_touched[:np_]
            if np_ > limit:
                kept = _best(kept, probe_best, limit, is_wanted, top)
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
        found = np.sort(query_touched[:nq])
        values = np.empty(nq, dtype=np.float64)
        for i in range(nq):
            values[i] = query_best[found[i]]
            query_best[found[i]] = 0.0
        order = np.argsort(-values, kind="mergesort")
        if n_out + nq > len(out_entity):
            grown = max(2 * len(out_entity), n_out + nq)
            bigger_e = np.empty(grown, dtype=np.int64)
            bigger_v = np.empty(grown, dtype=np.float64)
            bigger_e[:n_out] = out_entity[:n_out]
            bigger_v[:n_out] = out_value[:n_out]
            out_entity, out_value = bigger_e, bigger_v
        for i in range(nq):
            out_entity[n_out] = found[order[i]]
            out_value[n_out] = values[order[i]]
            n_out += 1
        for x in range(wanted_off[k], wanted_off[k + 1]):
            is_wanted[wanted[x]] = False
    query_off[queries] = n_out
    return query_off, out_entity[:n_out], out_value[:n_out]


def work_arrays(
    rows: int, features: int, entities: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The zeroed scratch arrays `search` needs for an index of this size. A caller keeps them
    (one set per thread) and passes them to every call: at a million entities they are ~85 MB,
    and zeroing fresh pages for every batch of queries costs more than some batches' search."""
    return (
        np.zeros(rows + features + 2 * entities, dtype=np.float64),
        np.zeros(3 * rows + 2 * entities, dtype=np.int64),
        np.zeros(2 * entities, dtype=np.bool_),
    )


@njit(cache=True, nogil=True)
def forward(feature_off: Any, feature_rows: Any, rows: int) -> Any:
    """The postings turned around: each name row's feature ids, ascending, as (offsets, ids).

    `search` reads them to score a row over all of a probe's features. A counting sort: two passes
    over the postings, no sorting (features are visited in ascending order)."""
    row_off = np.zeros(rows + 1, dtype=np.int64)
    for x in range(len(feature_rows)):
        row_off[feature_rows[x] + 1] += 1
    for r in range(rows):
        row_off[r + 1] += row_off[r]
    fill = row_off[:-1].copy()
    row_features = np.empty(len(feature_rows), dtype=np.int32)
    for f in range(len(feature_off) - 1):
        for x in range(feature_off[f], feature_off[f + 1]):
            r = feature_rows[x]
            row_features[fill[r]] = f
            fill[r] += 1
    return row_off, row_features


def warm_up() -> None:
    """Compile `search` and `forward` now (numba caches them beside the module, once per machine):
    `make install` calls this, so that the first screening does not pause to compile."""
    i64, i32, f32, f64 = np.int64, np.int32, np.float32, np.float64
    feature_off, feature_rows = np.asarray([0, 1, 2], dtype=i64), np.asarray([0, 0], dtype=i32)
    row_off, row_features = forward(feature_off, feature_rows, 1)
    search(
        np.asarray([0, 2], dtype=i64), np.asarray([0, 1], dtype=i64), np.zeros(1, dtype=i64),
        np.ones(1, dtype=f64), np.zeros(1, dtype=f64),
        feature_off, feature_rows, np.ones(2, dtype=f32), row_off, row_features,
        np.ones(1, dtype=f32), np.ones(1, dtype=f32), np.zeros(1, dtype=i32), 1, 1,
        20, 2000, 6, 0.25, np.zeros(2, dtype=i64), np.zeros(0, dtype=i64), *work_arrays(1, 2, 1),
    )  # fmt: skip
