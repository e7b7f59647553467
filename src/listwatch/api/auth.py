"""Who is asking: API keys with roles, read from a header or the web UI's cookie.

A key is taken from `Authorization: Bearer KEY`, `X-API-Key: KEY` or the `listwatch_key` cookie
(set by the web UI's login). Routes declare the role they need:

    @router.post("/screen", dependencies=[Depends(require("analyst"))])

A missing or unknown (or revoked) key is 401; a key whose role is too low is 403; both as JSON
`{"detail", "status"}`. When the operator opens read access (`listwatch serve --open-read`), a
request without a key acts as `Principal("anonymous", "viewer")`; a key that is given must be
valid. Each principal has a per-minute request budget (`ApiOptions.rate_per_minute`), 429 past it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request

from listwatch.api.keys import ROLES, Principal, authenticate, mark_used, role_allows

if TYPE_CHECKING:
    from listwatch.api.options import ApiOptions

__all__ = ["ANONYMOUS", "ROLES", "Principal", "RateLimiter", "current_principal", "key_from", "require"]

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
    def __init__(self) -> None:
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def due(self, key_id: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key_id, -_TOUCH_EVERY) < _TOUCH_EVERY:
                return False
            self._last[key_id] = now
            return True


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def current_principal(request: Request) -> Principal:
    """The principal of this request (401 without a valid key unless read access is open)."""
    state = request.app.state
    options: ApiOptions = state.options
    secret = key_from(request)
    if secret is None:
        if not options.open_read:
            raise _unauthorized("an API key is required: send 'Authorization: Bearer KEY'")
        principal, bucket = ANONYMOUS, f"anonymous@{request.client.host if request.client else '-'}"
    else:
        found = authenticate(state.store, secret)
        if found is None:
            raise _unauthorized("unknown or revoked API key")
        key_id, principal = found
        bucket = f"key:{principal.name}"
        touches: _Touches = state.key_touches
        if touches.due(key_id):
            mark_used(state.store, key_id)
    request.state.principal = principal
    limiter: RateLimiter = state.rate_limiter
    if not limiter.allow(bucket):
        raise HTTPException(
            status_code=429,
            detail=f"rate limit of {limiter.rate_per_minute} requests a minute exceeded for {principal.name}",
            headers={"Retry-After": "1"},
        )
    return principal


async def _principal_inline(request: Request) -> Principal:
    # Async on purpose: FastAPI runs a sync dependency in a worker thread, and the key lookup
    # (one indexed query) is cheaper inline than that thread hop under load.
    return current_principal(request)


def require(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting principals with `role` or above (403 otherwise)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(principal: Annotated[Principal, Depends(_principal_inline)]) -> Principal:
        if not role_allows(principal.role, role):
            raise HTTPException(
                status_code=403,
                detail=f"this needs the {role} role; key {principal.name!r} has {principal.role}",
            )
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


def new_touches() -> _Touches:
    return _Touches()
