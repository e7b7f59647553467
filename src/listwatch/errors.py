"""The exception tree. Lower layers raise these; only the CLI and API translate them.

Every error carries its facts (file, line, list id...) and the HTTP status the API answers with,
so that `str(error)` is the one line a user sees.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DatabaseBusy",
    "FormatMismatch",
    "ImpactError",
    "InvalidCertificate",
    "InvalidQuery",
    "ListwatchError",
    "ParseError",
    "PriceFileError",
    "SigningKeyError",
    "StoreError",
    "UnknownEntity",
    "UnknownFormat",
    "UnknownHit",
    "UnknownList",
    "UnknownRun",
    "UnknownSnapshot",
    "UnknownWatch",
]


class ListwatchError(Exception):
    """Base of every error listwatch raises on purpose."""

    status = 400
    retry_after_s: int | None = None  # when trying again later may succeed (the API's Retry-After)


class ParseError(ListwatchError):
    """A file could not be read: names the file, the line (when known) and the problem."""

    status = 422

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {reason}")


class FormatMismatch(ParseError):
    """A file is not in the format the user named (or that detection settled on)."""


class UnknownFormat(ListwatchError):
    """No parser recognises the input, or the user named a format that does not exist."""

    status = 422


class UnknownList(ListwatchError):
    status = 404

    def __init__(self, list_id: str, known: list[str] | None = None) -> None:
        self.list_id = list_id
        hint = f"; known lists: {', '.join(known)}" if known else ""
        super().__init__(f"unknown list {list_id!r}{hint}")


class UnknownEntity(ListwatchError):
    status = 404

    def __init__(self, query: str, suggestions: list[str] | None = None) -> None:
        self.query = query
        self.suggestions = suggestions or []
        hint = f"; did you mean: {'; '.join(self.suggestions)}" if self.suggestions else ""
        super().__init__(f"no listed entity matches {query!r}{hint}")


class UnknownSnapshot(ListwatchError):
    status = 404


class UnknownRun(ListwatchError):
    status = 404

    def __init__(self, run: str) -> None:
        self.run = run
        super().__init__(f"no stored screening run {run!r}; see `listwatch runs`")


class UnknownWatch(ListwatchError):
    status = 404

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no watch named {name!r}; see `listwatch watch list`")


class UnknownHit(ListwatchError):
    status = 404

    def __init__(self, run: str, hit: str, reason: str) -> None:
        self.run = run
        self.hit = hit
        super().__init__(f"{run} has no hit {hit!r}: {reason}")


class InvalidCertificate(ListwatchError):
    """A certificate that cannot be read, or whose signature does not hold."""

    status = 422

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: not valid: {reason}")


class SigningKeyError(ListwatchError):
    """The certificate signing key cannot be created, read or trusted (e.g. readable by others)."""

    status = 500


class InvalidQuery(ListwatchError):
    """A query, date or option the user gave cannot be understood."""

    status = 400


class StoreError(ListwatchError):
    """The database cannot be opened, migrated or written."""

    status = 503


class DatabaseBusy(StoreError):
    """SQLite's one write lock stayed with another process (an ingest) past the busy timeout: the
    write changed nothing and can be tried again (the API says when, in `Retry-After`)."""

    retry_after_s: int | None = 5

    def __init__(self) -> None:
        super().__init__(
            "the database is busy: another process (an ingest) is writing to it; try again shortly"
        )


class PriceFileError(ParseError):
    """A price, factor, events or mapping file for an event study cannot be read (file, line, why)."""


class ImpactError(ListwatchError):
    """An event study cannot be run as asked: no usable event, a model without its factors..."""

    status = 422
