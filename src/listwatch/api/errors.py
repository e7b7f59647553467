"""Every error the API answers with has one JSON shape: `{"detail": str, "status": int}`.

`ListwatchError` carries its own HTTP status, and `Retry-After` when trying again may succeed (a
`DatabaseBusy` write on SQLite, 503); validation errors also list each bad field under `errors`
(`loc`, `msg`); an unexpected failure is a 500 with a fixed message and is logged, never shown as
a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from listwatch.errors import ListwatchError

__all__ = ["ERROR_RESPONSES", "error_response", "install_error_handlers"]

log = logging.getLogger("listwatch.api")

#: For route declarations: the error shape, so that the OpenAPI schema describes it.
ERROR_SCHEMA: dict[str, Any] = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["detail", "status"],
                "properties": {
                    "detail": {"type": "string"},
                    "status": {"type": "integer"},
                    "errors": {"type": "array", "items": {"type": "object"}},
                },
            }
        }
    }
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {**ERROR_SCHEMA, "description": text}
    for code, text in (
        (400, "Bad request: a query, date or option that cannot be understood"),
        (401, "No valid API key"),
        (403, "The key's role does not allow this"),
        (404, "Unknown dataset, entity, list, run or job"),
        (413, "Body or upload too large"),
        (415, "Upload of a file type that is not accepted"),
        (422, "Invalid request body or parameters"),
        (429, "Rate limit exceeded"),
        (503, "The database cannot be opened or written, or is busy (then with Retry-After)"),
    )
}


def error_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"detail": detail, "status": status, **extra}, status_code=status, headers=headers)


def _location(loc: Any) -> str:
    return ".".join(str(part) for part in loc) if isinstance(loc, (list, tuple)) else str(loc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ListwatchError)
    async def _listwatch_error(_request: Request, exc: ListwatchError) -> JSONResponse:
        if exc.status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        retry = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else None
        return error_response(exc.status, str(exc), headers=retry)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": _location(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]
        first = errors[0] if errors else {"loc": "request", "msg": "invalid"}
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        detail = f"{first['loc']}: {first['msg']}{more}"
        return error_response(422, detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_response(exc.status_code, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; the server log has the details")
