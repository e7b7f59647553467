"""Who is asking: API keys with roles, read from a header or the web UI's cookie.

A key is taken from `Authorization: Bearer KEY`, `X-API-Key: KEY` or the `listwatch_key` cookie
(set by the web UI's login). Routes declare the role they need:

    @router.post("/screen", dependencies=[Depends(require("analyst"))])

A missing or unknown (or revoked) key is 401; a key whose role is too low is 403; both as JSON
`{"detail", "status"}`. When the operator opens read access (`listwatch serve --open-read`), a
request without a key acts as `Principal("anonymous", "viewer")`; a key that is given must be
valid. Each principal has a per-minute request budget (`ApiOptions.rate_per_minute`), 429 past it.

Keys seen recently are answered from `app.state.key_cache` (`keys.KeyCache`) without a database
read; a key not cached is read in a worker thread, never on the event loop, and its last use is
written once a minute on a thread of its own that no request waits for (`_Touches`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import anyio
from fastapi import HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError

from listwatch.api.keys import (
    ROLES,
    KeyCache,
    Principal,
    authenticate_digest,
    hash_secret,
    mark_used,
    role_allows,
    well_formed,
)
from listwatch.errors import StoreError

if TYPE_CHECKING:
    from listwatch.api.options import ApiOptions
    from listwatch.store import Store

__all__ = [
    "ANONYMOUS",
    "ROLES",
    "Principal",
    "RateLimiter",
    "current_principal",
    "demand_role",
    "key_from",
    "principal_of",
    "require",
]

log = logging.getLogger("listwatch.api")

ANONYMOUS = Principal(name="anonymous", role="viewer")
COOKIE = "listwatch_key"
#: A key's last use is written at most this often (seconds): one write per request would serialise
#: every reader behind SQLite's single writer.
_TOUCH_EVERY = 60.0


def key_from(request: Request) -> str | None:
    """The key the request carries, from the Authorization or X-API-Key header or the cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        # yente clients send `Authorization: ApiKey KEY`
        if scheme.lower() == "apikey" and value.strip():
            return value.strip()
    found = request.headers.get("x-api-key") or request.cookies.get(COOKIE)
    return found.strip() if found and found.strip() else None


class RateLimiter:
    """A token bucket per principal: `rate_per_minute` requests a minute, bursts up to that many."""

    def __init__(self, rate_per_minute: int) -> None:
        self.rate_per_minute = rate_per_minute
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, at)
        self._lock = threading.Lock()

    def allow(self, name: str) -> bool:
        if self.rate_per_minute <= 0:
            return True
        now = time.monotonic()
        capacity = float(self.rate_per_minute)
        with self._lock:
            tokens, at = self._buckets.get(name, (capacity, now))
            tokens = min(capacity, tokens + (now - at) * capacity / 60.0)
            if tokens < 1.0:
                self._buckets[name] = (tokens, now)
                return False
            self._buckets[name] = (tokens - 1.0, now)
            return True


class _Touches:
    """When each key's last use is due to be written, and the writing, off the request's path.

    The write runs on a thread of its own and the request does not wait for it: on SQLite an
    ingest holds the only write lock for as long as it writes (minutes for a large list), and a
    read must not wait for it, or fail when the busy timeout passes, over a bookkeeping column. A
    write that fails is logged and dropped; the next one is due a minute later.
    """

    def __init__(self) -> None:
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()
        self._writer: ThreadPoolExecutor | None = None

    def due(self, key_id: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key_id, -_TOUCH_EVERY) < _TOUCH_EVERY:
                return False
            self._last[key_id] = now
            return True

    def write(self, store: Store, key_id: int) -> None:
        with self._lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="listwatch-key-use")
            self._writer.submit(_mark_used_or_log, store, key_id)

    def flush(self) -> None:
        """Wait for the writes already asked for (at shutdown)."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)


def _mark_used_or_log(store: Store, key_id: int) -> None:
    try:
        mark_used(store, key_id)
    except (SQLAlchemyError, StoreError) as exc:  # DatabaseBusy on SQLite while an ingest writes
        log.warning("the last use of API key #%d was not recorded: %s", key_id, exc.__class__.__name__)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def _secret_of(request: Request) -> tuple[str | None, str | None]:
    """The request's key and, when it is well formed, its digest (the cache's and database's key)."""
    secret = key_from(request)
    if secret is None or not well_formed(secret):
        return secret, None
    return secret, hash_secret(secret)


def current_principal(request: Request) -> Principal:
    """The principal of this request (401 without a valid key unless read access is open).

    For synchronous callers (the web UI's pages run in worker threads); the API's routes use
    `principal_of`, which keeps the database off the event loop."""
    state = request.app.state
    secret, digest = _secret_of(request)
    found = None
    if digest is not None:
        cache: KeyCache = state.key_cache
        found = cache.get(digest) or cache.put(digest, authenticate_digest(state.store, digest))
    principal, key_id = _admit(request, secret, found)
    if key_id is not None:
        state.key_touches.write(state.store, key_id)
    return principal


async def principal_of(request: Request) -> Principal:
    """`current_principal` for the event loop: a cached key costs a hash; a database read or
    write, when one is needed, runs in a worker thread."""
    state = request.app.state
    secret, digest = _secret_of(request)
    found = None
    if digest is not None:
        cache: KeyCache = state.key_cache
        found = cache.get(digest)
        if found is None:
            found = cache.put(digest, await _look_up(state, digest))
    principal, key_id = _admit(request, secret, found)
    if key_id is not None:
        state.key_touches.write(state.store, key_id)
    return principal


async def _look_up(state: Any, digest: str) -> tuple[int, Principal] | None:
    """The key for `digest` from the database, in a worker thread; concurrent requests with the same
    key (50 at once when its cache entry expires under load) share one lookup."""
    pending: dict[str, asyncio.Future[tuple[int, Principal] | None]] = state.key_lookups
    lookup = pending.get(digest)
    if lookup is None:
        lookup = asyncio.ensure_future(anyio.to_thread.run_sync(authenticate_digest, state.store, digest))
        pending[digest] = lookup
        lookup.add_done_callback(lambda _done: pending.pop(digest, None))
    return await asyncio.shield(lookup)  # a request that goes away does not cancel the others' lookup


def _admit(
    request: Request, secret: str | None, found: tuple[int, Principal] | None
) -> tuple[Principal, int | None]:
    """The principal, or 401/429; and the key id when its last use is due to be written."""
    state = request.app.state
    options: ApiOptions = state.options
    touch: int | None = None
    if secret is None:
        if not options.open_read:
            raise _unauthorized("an API key is required: send 'Authorization: Bearer KEY'")
        principal, bucket = ANONYMOUS, f"anonymous@{request.client.host if request.client else '-'}"
    else:
        if found is None:
            raise _unauthorized("unknown or revoked API key")
        principal = found[1]
        bucket = f"key:{principal.name}"
    request.state.principal = principal
    limiter: RateLimiter = state.rate_limiter
    if not limiter.allow(bucket):
        raise HTTPException(
            status_code=429,
            detail=f"rate limit of {limiter.rate_per_minute} requests a minute exceeded for {principal.name}",
            headers={"Retry-After": "1"},
        )
    if found is not None:
        touches: _Touches = state.key_touches
        touch = found[0] if touches.due(found[0]) else None
    return principal, touch


def demand_role(principal: Principal, role: str) -> Principal:
    """`principal` when it has `role` or above; 403 otherwise (the API's and the web's check)."""
    if not role_allows(principal.role, role):
        raise HTTPException(
            status_code=403,
            detail=f"this needs the {role} role; key {principal.name!r} has {principal.role}",
        )
    return principal


def require(role: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting principals with `role` or above (403 otherwise)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    # takes the request itself, not `Depends(principal_of)`: a nested dependency costs FastAPI a
    # second resolution pass on every request
    async def dependency(request: Request) -> Principal:
        return demand_role(await principal_of(request), role)

    dependency.__name__ = f"require_{role}"
    return dependency


def new_touches() -> _Touches:
    return _Touches()
