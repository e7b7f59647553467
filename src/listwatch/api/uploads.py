"""Saving an uploaded file into a job's folder: name made safe, type and size checked.

Errors name the file as the client sent it, never the server's folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from fastapi import HTTPException, UploadFile

from listwatch.api.jobs import safe_name
from listwatch.errors import InvalidQuery, ParseError

__all__ = ["client_errors", "save_upload"]

T = TypeVar("T")
_CHUNK = 1 << 20


def save_upload(upload: UploadFile, folder: Path, *, suffixes: Sequence[str], max_bytes: int) -> Path:
    """Write `upload` to `folder`; 415 for a type not in `suffixes`, 413 past `max_bytes`."""
    name = safe_name(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise HTTPException(
            415, f"{name}: unsupported file type {suffix or '(none)'!r}; use {', '.join(suffixes)}"
        )
    path = folder / name
    written = 0
    with path.open("wb") as handle:
        while chunk := upload.file.read(_CHUNK):
            written += len(chunk)
            if written > max_bytes:
                handle.close()
                path.unlink(missing_ok=True)
                raise HTTPException(413, f"{name}: upload exceeds the limit of {max_bytes} bytes")
            handle.write(chunk)
    if written == 0:
        path.unlink(missing_ok=True)
        raise InvalidQuery(f"{name}: the uploaded file is empty")
    return path


def client_errors(path: Path, shown: str, read: Callable[[], T]) -> T:
    """Run `read()`; a `ParseError` about `path` is re-raised naming `shown` (the client's name)."""
    try:
        return read()
    except ParseError as exc:
        if exc.path == path:
            raise ParseError(shown, exc.line, exc.reason) from None
        raise
