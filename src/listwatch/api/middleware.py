"""Two plain ASGI middlewares: request body limits, and the audit log of changing requests.

Plain ASGI (not `BaseHTTPMiddleware`) so that `/match` under load pays almost nothing for them.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from listwatch.store import Store
from listwatch.store import keys as key_rows
from listwatch.store.concurrency import retry_while_locked

__all__ = ["READ_ONLY_POSTS", "AuditLog", "BodyLimit"]

log = logging.getLogger("listwatch.api")

#: POST routes that only read (a yente /match is a query with a body): not audited.
READ_ONLY_POSTS = re.compile(r"^/(match/[^/]+|api/v1/certificates/verify|login|logout)$")
_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _json_error(status: int, detail: str) -> tuple[Message, Message]:
    body = json.dumps({"detail": detail, "status": status}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    """Refuse bodies above `max_body` bytes (JSON) or `max_upload` (multipart uploads) with 413."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        is_upload = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        limit = self.max_upload + 64 * 1024 if is_upload else self.max_body  # room for form framing
        what = "upload" if is_upload else "request body"
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False
            if too_big:
                start, body = _json_error(
                    413, f"{what} of {int(declared)} bytes exceeds the limit of {limit}"
                )
                await send(start)
                await send(body)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"{what} exceeds the limit of {limit} bytes")
            return message

        await self.app(scope, limited, send)


class AuditLog:
    """Append every changing request (its key, method, path, status) to the `api_audit` table.

    A route adds facts with `request.state.audit = {...}` (e.g. the run it created).
    """

    def __init__(self, app: ASGIApp, *, store: Store) -> None:
        self.app, self.store = app, store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "")
        path = scope.get("path", "")
        if scope["type"] != "http" or method not in _CHANGING or READ_ONLY_POSTS.match(path):
            await self.app(scope, receive, send)
            return
        status = 500
        scope.setdefault("state", {})  # request.state writes here; read back below

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            state: dict[str, Any] = scope.get("state") or {}
            principal = state.get("principal")
            row = {
                "at": datetime.now(UTC),
                "key_name": getattr(principal, "name", None),
                "role": getattr(principal, "role", None),
                "method": method,
                "path": path[:2000],
                "status": status,
                "detail": dict(state.get("audit") or {}),
            }
            await anyio.to_thread.run_sync(self._write, row)

    def _write(self, row: dict[str, Any]) -> None:
        # The response has gone out; the row must not be lost to an ingest holding SQLite's write lock.
        retry_while_locked(lambda: self._insert(row))

    def _insert(self, row: dict[str, Any]) -> None:
        with self.store.engine.begin() as conn:
            key_rows.insert_audit(conn, row)
