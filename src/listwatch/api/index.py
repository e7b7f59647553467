"""The screeners the API shares between requests, reloaded without downtime after an ingest.

A `Screener` holds the match index for one date and set of lists. The pool keeps the recently
used ones; at most every `reload_every_s` seconds it looks at the stored snapshots (one small
query). When they changed, a request still gets the screener it had while a new one is built in a
background thread from the on-disk index cache, then swapped in; the first request for a date
and dataset not seen before builds its screener itself.

    pool = ScreenerPool(store)
    pool.get(as_of=date(2021, 2, 1), lists=None).match(query)

On the event loop, `get(..., wait=False)` answers from memory or raises `NotCached` (a database
read or an index build is due): then call `get` in a worker thread. The snapshot rows read for the
reload check also answer `/catalog` and the dataset filters (`snapshots()`), so those do not
re-read the snapshots table per request.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from listwatch.errors import ListwatchError
from listwatch.matching.query import MatchQuery
from listwatch.matching.score import DEFAULT_THRESHOLD
from listwatch.screening.screener import MatchResponse, Screener
from listwatch.store import Store, queries

__all__ = ["NotCached", "ScreenerPool", "SharedScreener"]

log = logging.getLogger("listwatch.api")

_Key = tuple[date, tuple[str, ...] | None, str]
_Generation = tuple[int, int, str]
_Entry = tuple[_Generation, Screener, threading.Lock]


class NotCached(Exception):
    """`wait=False` and the answer needs the database or an index build: ask from a thread."""


@dataclass(frozen=True)
class SharedScreener:
    """A pooled `Screener`, one request at a time.

    Scoring batches already take turns on an index's vocabulary (`matching.batch`); this lock keeps
    a whole request (candidates, scores, explanations) to one thread per index, which costs little:
    most of it holds the GIL.
    """

    screener: Screener
    lock: threading.Lock

    @property
    def as_of(self) -> date:
        return self.screener.as_of

    @property
    def threshold(self) -> float:
        return self.screener.threshold

    @property
    def algorithm_name(self) -> str:
        return self.screener.algorithm.name

    def match(self, query: MatchQuery, *, limit: int = 5) -> MatchResponse:
        with self.lock:
            return self.screener.match(query, limit=limit)


class ScreenerPool:
    def __init__(
        self,
        store: Store,
        *,
        cache_dir: Path | None = None,
        reload_every_s: float = 2.0,
        max_screeners: int = 8,
    ) -> None:
        self.store = store
        self.cache_dir = cache_dir
        self.reload_every_s = reload_every_s
        self.max_screeners = max(1, max_screeners)
        self._screeners: OrderedDict[_Key, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[_Key, threading.Lock] = {}
        self._refreshing: set[_Key] = set()
        self._generation: _Generation | None = None
        self._snapshots: tuple[Any, ...] = ()
        self._checking = False
        self._checked_at = float("-inf")
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.ready = threading.Event()
        self.reloads = 0
        self.last_error: str | None = None

    # -- the snapshots the screeners rest on ---------------------------------------------------

    def generation(self, *, wait: bool = True) -> _Generation:
        """(snapshots, newest id, newest ingest time); looked up at most every `reload_every_s`.

        With `wait=False`, no database read: when one is due, the last answer while a background
        thread looks (so a new snapshot is seen a moment later), or `NotCached` if there is none."""
        now = time.monotonic()
        with self._lock:
            known = self._generation
            if known is not None and now - self._checked_at < self.reload_every_s:
                return known
            if not wait and known is not None:
                if not self._checking and not self._closed:
                    self._checking = True
                    self._start(self._check)
                return known
        if not wait:
            raise NotCached("the stored snapshots have not been looked up yet")
        return self._look()

    def _check(self) -> None:
        try:
            self._look()
        except (ListwatchError, SQLAlchemyError) as exc:  # the next request looks again
            self.last_error = str(exc)
            log.error("looking up the stored snapshots failed: %s", exc)
        finally:
            with self._lock:
                self._checking = False

    def _look(self) -> _Generation:
        now = time.monotonic()
        with self.store.engine.connect() as conn:
            snaps = queries.list_snapshots(conn)
        newest = max((s.ingested_at.isoformat() for s in snaps), default="")
        found = (len(snaps), max((int(s.id) for s in snaps), default=0), newest)
        with self._lock:
            self._generation, self._checked_at, self._snapshots = found, now, tuple(snaps)
        return found

    def snapshots(self, *, wait: bool = True) -> tuple[Any, ...]:
        """The stored snapshot rows (`queries.list_snapshots`) as of the last reload check."""
        self.generation(wait=wait)
        with self._lock:
            return self._snapshots

    def stored_lists(self, *, wait: bool = True) -> list[str]:
        """The ids of the lists with a stored snapshot."""
        return sorted({row.list_id for row in self.snapshots(wait=wait)})

    # -- screeners -----------------------------------------------------------------------------

    def get(
        self,
        *,
        as_of: date | None = None,
        lists: tuple[str, ...] | None = None,
        algorithm: str = "listwatch-v1",
        threshold: float = DEFAULT_THRESHOLD,
        wait: bool = True,
    ) -> SharedScreener:
        """A screener for `as_of` (today when None) over `lists` (every list when None).

        With `wait=False`, `NotCached` when the snapshots must be looked up or the index built."""
        key: _Key = (as_of or date.today(), tuple(sorted(set(lists))) if lists else None, algorithm)
        generation = self.generation(wait=wait)
        with self._lock:
            entry = self._screeners.get(key)
            if entry is not None:
                self._screeners.move_to_end(key)
                if entry[0] != generation and key not in self._refreshing and not self._closed:
                    self._refreshing.add(key)
                    self._start(self._refresh, key, generation)
        if entry is None:
            if not wait:
                raise NotCached(f"no index loaded for {key}")
            entry = self._build(key, generation)
        return SharedScreener(entry[1].with_threshold(threshold), entry[2])

    def _build(self, key: _Key, generation: _Generation) -> _Entry:
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one build per key at a time; the others wait for it
            with self._lock:
                entry = self._screeners.get(key)
            if entry is not None and entry[0] == generation:
                return entry
            as_of, lists, algorithm = key
            screener = Screener(
                self.store, as_of=as_of, lists=lists, algorithm=algorithm, cache_dir=self.cache_dir
            )
            entry = (generation, screener, threading.Lock())
            with self._lock:
                self._screeners[key] = entry
                self._screeners.move_to_end(key)
                while len(self._screeners) > self.max_screeners:
                    self._screeners.popitem(last=False)
            # The index is long-lived: keep the cyclic GC from walking it again and again. A full
            # collection over it took 60 ms, a pause in the middle of some request under load.
            # Unfrozen first, and after the eviction above, so that the cycles of the indexes
            # evicted are collected now (a frozen object is never collected).
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            return entry

    def _refresh(self, key: _Key, generation: _Generation) -> None:
        try:
            self._build(key, generation)
            self.reloads += 1
            log.info("match index reloaded for %s", key)
        except ListwatchError as exc:  # keep serving the old screener; say why on /readyz
            self.last_error = str(exc)
            log.error("match index reload failed for %s: %s", key, exc)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="listwatch-index")  # type: ignore[arg-type]
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def warm_in_background(self) -> None:
        """Build today's screener over every list, so the first /match does not wait for it."""

        def warm() -> None:
            try:
                self.get()
            except ListwatchError as exc:
                self.last_error = str(exc)
                log.error("match index could not be built: %s", exc)
            finally:
                self.ready.set()

        with self._lock:
            self._start(warm)

    def shutdown(self) -> None:
        self._closed = True
        for thread in self._threads:
            thread.join(timeout=30)
