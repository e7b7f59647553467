"""Micro-batching for `/match`: the queries of concurrent requests are scored together.

A batch of queries costs far less per query than one query at a time: the index's candidate
search and the scoring kernel run once for all of them (`Screener.screen` uses the same path).
A request's queries wait in a list on the event loop; once no query has arrived for `window_s`
(or the first has waited `max_wait_s`, or `max_batch` are waiting; with `window_s=0`, at the next
turn of the loop), they are grouped by index and threshold and each group is scored in one call,
on the event loop itself. Scoring holds the GIL
anyway, so a scoring thread would only take turns with the event loop, at the cost of thread
switches; while a batch is scored, new requests wait in the socket buffers and form the next one.
When the index is busy (a /search or a web search scores on it from a worker thread, holding
its lock), the batch waits for it in a thread instead, so that the event loop never blocks on
the lock.

The answers are those `Screener.match` gives query by query: it scores a batch of one through
the same code, and a query's hits do not depend on the other queries of its batch (tested).

    batcher = MatchBatcher()
    [(hits, total)] = await batcher.match_many(shared_screener, [build_query(query)], limit=5)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from listwatch.api.index import SharedScreener
from listwatch.matching.features import EntityFeatures
from listwatch.screening.screener import Hit

__all__ = ["Answer", "MatchBatcher"]

#: The hits of one query (best first, at most its limit) and how many candidates scored above zero.
Answer = tuple[list[Hit], int]

#: Most queries scored in one batch: scoring holds the event loop, so a larger batch would make
#: every request waiting behind it wait longer. Smaller than a batch screen's `BATCH_ROWS` on purpose.
MAX_BATCH = 256


@dataclass
class _Item:
    shared: SharedScreener
    features: EntityFeatures
    limit: int
    future: asyncio.Future[Answer]


class MatchBatcher:
    """Queries waiting to be scored together; used from one event loop (the app's)."""

    def __init__(
        self, *, window_s: float = 0.0, max_wait_s: float = 0.01, max_batch: int = MAX_BATCH
    ) -> None:
        self.window_s, self.max_wait_s, self.max_batch = window_s, max_wait_s, max(1, max_batch)
        self._pending: list[_Item] = []
        self._timer: asyncio.TimerHandle | None = None
        self._first_at = self._last_at = 0.0
        #: Batches scored, the queries in them (their mean size is queries / batches), seconds spent.
        self.batches = 0
        self.queries = 0
        self.busy_s = 0.0

    async def match_many(
        self, shared: SharedScreener, features: Sequence[EntityFeatures], *, limit: int
    ) -> list[Answer]:
        """Each built query's answer (`matching.query.build_query`), at most `limit` hits."""
        loop = asyncio.get_running_loop()
        items = [_Item(shared, f, limit, loop.create_future()) for f in features]
        now = time.monotonic()
        if not self._pending:
            self._first_at = now
        self._pending.extend(items)
        self._last_at = now
        if self._timer is None:
            self._timer = loop.call_later(self.window_s, self._drain, loop)
        return [await item.future for item in items]

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        more_coming = now - self._last_at < self.window_s and now - self._first_at < self.max_wait_s
        if more_coming and len(self._pending) < self.max_batch:
            self._timer = loop.call_later(self.window_s, self._drain, loop)
            return
        self._timer = None
        items, self._pending = self._pending, []
        groups: dict[tuple[int, float, str], list[_Item]] = {}
        for item in items:
            if not item.future.done():  # a request cancelled (client gone) needs no answer
                screener = item.shared.screener
                key = (id(item.shared.lock), screener.threshold, screener.algorithm.name)
                groups.setdefault(key, []).append(item)
        for group in groups.values():
            for start in range(0, len(group), self.max_batch):
                self._score(group[start : start + self.max_batch], loop)

    def _score(self, group: list[_Item], loop: asyncio.AbstractEventLoop) -> None:
        lock = group[0].shared.lock
        if lock.acquire(blocking=False):
            try:
                outcome = self._match(group)
            finally:
                lock.release()
            self._deliver(group, outcome)
        else:  # a worker thread scores on this index: wait for it off the event loop
            loop.run_in_executor(None, self._score_when_free, group, loop)

    def _score_when_free(self, group: list[_Item], loop: asyncio.AbstractEventLoop) -> None:
        with group[0].shared.lock:
            outcome = self._match(group)
        loop.call_soon_threadsafe(self._deliver, group, outcome)

    def _match(self, group: list[_Item]) -> tuple[list[Answer] | BaseException, float]:
        """The group's answers (or what went wrong) and the seconds scoring took; the caller
        holds the index's lock."""
        limit = max(item.limit for item in group)
        started = time.perf_counter()
        try:
            answers = group[0].shared.screener.match_batch([item.features for item in group], limit=limit)
        except Exception as exc:  # noqa: BLE001 - handed to each waiting request, whose handler logs it
            return exc, time.perf_counter() - started
        return answers, time.perf_counter() - started

    def _deliver(self, group: list[_Item], outcome: tuple[list[Answer] | BaseException, float]) -> None:
        """On the event loop: each waiting request gets its answer."""
        answers, took = outcome
        self.busy_s += took
        if isinstance(answers, BaseException):
            for item in group:
                if not item.future.done():
                    item.future.set_exception(answers)
            return
        self.batches += 1
        self.queries += len(group)
        for item, (hits, total) in zip(group, answers, strict=True):
            if not item.future.done():  # cancelled meanwhile: the client has gone
                # The ranking is complete before the cut: the first `limit` of more hits are the same.
                item.future.set_result((hits[: item.limit], total))
