"""The compiled loops (numba) of `loops`: one pass where numpy needs several.

Imported only when a study of at least `loops.SMALL_STUDY` events runs (`loops.kernels_for`), so
`listwatch --help`, the other commands and small studies never pay numba's import. `cache=True`
keeps the machine code on disk (beside `loops.py`, or in NUMBA_CACHE_DIR): a machine compiles once,
later processes load it.

    sums = rank_sums(est_resid, ar, rows, sigma, grank=(g, used, ok))  # Corrado's and GRANK's
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

from listwatch.impact import loops
from listwatch.impact.loops import RankSums
from listwatch.impact.models import BoolArray, FloatArray, IntArray

__all__ = [
    "RankSums",
    "cache_misses",
    "event_tests",
    "gather_windows",
    "market_fit",
    "rank_sums",
    "residual_sums",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def _compiled(function: _F) -> _F:
    """numba's njit, cached on disk; typed as the function it compiles."""
    return cast(_F, numba.njit(cache=True, nogil=True)(function))


_keys = _compiled(loops._keys)
row_ranks = _compiled(loops.row_ranks)
grank_sums = _compiled(loops.grank_sums)
residual_sums = _compiled(loops.residual_sums)
market_fit = _compiled(loops.market_fit)
gather_windows = _compiled(loops.gather_windows)
event_tests = _compiled(loops.event_tests)


def rank_sums(
    est: FloatArray,
    ar: FloatArray,
    rows: IntArray,
    sigma: FloatArray,
    grank: tuple[FloatArray, BoolArray, BoolArray] | None = None,
) -> RankSums:
    """`loops.rank_sums` with the compiled passes."""
    return loops.rank_sums(est, ar, rows, sigma, grank, kernels=sys.modules[__name__])


_KERNELS = (
    "_keys",
    "row_ranks",
    "grank_sums",
    "residual_sums",
    "market_fit",
    "gather_windows",
    "event_tests",
)


def cache_misses() -> int:
    """Kernel signatures compiled in this process rather than loaded from numba's on-disk cache."""
    return sum(sum(globals()[name].stats.cache_misses.values()) for name in _KERNELS)
