"""/match scores concurrent queries in batches: the answers are those of one query at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from listwatch.api.batcher import MatchBatcher
from listwatch.api.index import NotCached, ScreenerPool, SharedScreener
from listwatch.api.yente import match_query_from_example, scored_result
from listwatch.matching.query import build_query
from listwatch.registry.live import live_entities
from listwatch.store import open_store
from tests.api.support import TestClient, bearer, client_for, example

AS_OF = date(2021, 2, 1)
OTHERS = ("Acme Bakery", "Maria Fernandez", "Northern Lights Shipping AS", "Xiaomi Corp", "Huawei")


@pytest.fixture(scope="module")
def names(lists_db: tuple[str, dict[str, str], Path]) -> list[str]:
    """Captions of listed entities (every tenth) and names listed nowhere."""
    store = open_store(lists_db[0])
    try:
        live = live_entities(store, as_of=AS_OF)
    finally:
        store.close()
    return [e.caption for e in sorted(live, key=lambda e: e.entity_id)[::10][:40]] + list(OTHERS)


@pytest.fixture(scope="module")
def shared(lists_db: tuple[str, dict[str, str], Path]) -> Iterator[SharedScreener]:
    store = open_store(lists_db[0])
    pool = ScreenerPool(store, cache_dir=lists_db[2] / "index-cache")
    try:
        yield pool.get(as_of=AS_OF)
    finally:
        pool.shutdown()
        store.close()


def _answer(hits: Any, total: int) -> tuple[list[dict[str, Any]], int]:
    return [scored_result(hit) for hit in hits], total


def test_a_batch_answers_as_one_query_at_a_time(shared: SharedScreener, names: list[str]) -> None:
    queries = [match_query_from_example("LegalEntity", {"name": [n]}) for n in names]
    alone = [_answer(*_hits_total(shared, q, limit=5)) for q in queries]
    batcher = MatchBatcher(window_s=0.005)

    async def together() -> list[Any]:
        # One request per query, all at once, limits differing: they share batches anyway.
        found = await asyncio.gather(
            *(batcher.match_many(shared, [build_query(q)], limit=5 + i % 3) for i, q in enumerate(queries))
        )
        return [answers[0] for answers in found]

    batched = asyncio.run(together())
    assert [_answer(hits[:5], total) for hits, total in batched] == alone
    assert all(len(hits) <= 5 + i % 3 for i, (hits, _) in enumerate(batched))
    assert batcher.queries == len(queries) and batcher.batches < len(queries) / 4  # batched indeed
    assert any(hits for hits, _ in alone[0:40] if hits and hits[0]["match"])  # real listed names matched


def _hits_total(shared: SharedScreener, query: Any, *, limit: int) -> tuple[Any, int]:
    response = shared.match(query, limit=limit)
    return response.hits, response.total_candidates


def test_a_busy_index_does_not_block_the_event_loop(shared: SharedScreener, names: list[str]) -> None:
    import threading
    import time

    query = match_query_from_example("LegalEntity", {"name": [names[0]]})
    expected = _answer(*_hits_total(shared, query, limit=5))
    batcher = MatchBatcher()
    holding = threading.Event()

    def search_in_a_worker_thread() -> None:  # as /search holds the index while it scores
        with shared.lock:
            holding.set()
            time.sleep(0.3)

    async def scenario() -> tuple[int, bool, Any]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        ticker = asyncio.create_task(tick())
        worker = threading.Thread(target=search_in_a_worker_thread)
        worker.start()
        holding.wait()
        pending = asyncio.ensure_future(batcher.match_many(shared, [build_query(query)], limit=5))
        await asyncio.sleep(0.15)
        ticks_while_busy, waited = ticks, not pending.done()
        [answer] = await pending
        worker.join()
        ticker.cancel()
        return ticks_while_busy, waited, answer

    ticks_while_busy, waited, answer = asyncio.run(scenario())
    assert waited  # the batch waited for the index...
    assert ticks_while_busy >= 10  # ...while the event loop went on serving
    assert _answer(*answer) == expected


def test_concurrent_requests_answer_as_requests_one_by_one(
    lists_db: tuple[str, dict[str, str], Path], names: list[str]
) -> None:
    url, keys, tmp = lists_db
    with client_for(url, tmp / "one", rate_per_minute=0) as client:
        one_by_one = [_match(client, keys["viewer"], name) for name in names]
    with client_for(url, tmp / "many", rate_per_minute=0) as client:
        app: Any = client.app

        async def all_at_once() -> list[Any]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                responses = await asyncio.gather(
                    *(
                        http.post(
                            "/match/default",
                            headers=bearer(keys["viewer"]),
                            params={"as_of": AS_OF.isoformat()},
                            json={"queries": {"q": example(name, schema="LegalEntity")}},
                        )
                        for name in names
                    )
                )
            return [r.json() for r in responses]

        concurrent = asyncio.run(all_at_once())
        batcher: MatchBatcher = app.state.batcher
        assert batcher.batches < batcher.queries  # some requests shared a batch
    assert concurrent == one_by_one


def _match(client: TestClient, secret: str, name: str) -> Any:
    response = client.post(
        "/match/default",
        headers=bearer(secret),
        params={"as_of": AS_OF.isoformat()},
        json={"queries": {"q": example(name, schema="LegalEntity")}},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_pool_answers_from_memory_or_says_it_cannot(lists_db: tuple[str, dict[str, str], Path]) -> None:
    store = open_store(lists_db[0])
    pool = ScreenerPool(store, cache_dir=lists_db[2] / "index-cache", reload_every_s=3600)
    try:
        with pytest.raises(NotCached):
            pool.get(as_of=AS_OF, wait=False)  # nothing looked up yet
        assert "us_dod_1237_ccmc" in pool.stored_lists()
        with pytest.raises(NotCached):
            pool.get(as_of=AS_OF, wait=False)  # no index built for that day yet
        built = pool.get(as_of=AS_OF)
        assert pool.get(as_of=AS_OF, wait=False).screener is built.screener
    finally:
        pool.shutdown()
        store.close()
