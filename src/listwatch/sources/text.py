"""Reading list files as text: encodings detected, never guessed silently; bad files refused clearly.

Official files arrive as UTF-8 (with or without BOM), UTF-16 with a BOM, or latin-1 / cp1252 (OFAC's
legacy files). Binary, empty and undecodable files raise `ParseError` naming the file and line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from listwatch.errors import ParseError

__all__ = ["DecodedText", "read_text", "csv_rows", "parse_iso_date"]

_SUBSTITUTE = "\x1a"  # DOS end-of-file marker that OFAC's files end with


@dataclass(frozen=True, slots=True)
class DecodedText:
    path: Path
    text: str
    encoding: str


def read_text(path: Path, *, fallback: str | None = None) -> DecodedText:
    """Read a whole text file and decode it.

    UTF-8 first (a BOM is dropped), then UTF-16 when it has a BOM, then `fallback` when the caller's
    format documents a legacy encoding (OFAC: "latin-1"). Without a fallback, bytes that are not
    UTF-8 are an error that names the line of the first bad byte.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ParseError(path, None, "no such file") from None
    except IsADirectoryError:
        raise ParseError(path, None, "is a directory, expected a file") from None
    except OSError as exc:
        raise ParseError(path, None, f"cannot read: {exc.strerror}") from None
    if not raw.strip(b" \t\r\n\x1a"):
        raise ParseError(path, None, "file is empty")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ParseError(path, _line_of(raw, exc.start), "invalid UTF-16 text") from None
        return DecodedText(path, _clean(text), "utf-16")
    if b"\x00" in raw[:65536]:
        raise ParseError(path, _line_of(raw, raw.index(b"\x00")), "binary file (NUL bytes), not text")
    try:
        if raw.startswith(b"\xef\xbb\xbf"):
            return DecodedText(path, _clean(raw[3:].decode("utf-8")), "utf-8-sig")
        return DecodedText(path, _clean(raw.decode("utf-8")), "utf-8")
    except UnicodeDecodeError as exc:
        if fallback is None:
            line = _line_of(raw, exc.start)
            raise ParseError(
                path, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
            ) from None
        return DecodedText(path, _clean(raw.decode(fallback)), fallback)


def _clean(text: str) -> str:
    return text.rstrip(_SUBSTITUTE + "\r\n ") + "\n"


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def csv_rows(
    decoded: DecodedText, *, delimiter: str = ",", skip_blank: bool = True
) -> Iterator[tuple[int, list[str]]]:
    """Yield `(line_number, fields)` for each CSV record; an unclosed quote is a `ParseError`."""
    reader = csv.reader(io.StringIO(decoded.text, newline=""), delimiter=delimiter, strict=True)
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ParseError(decoded.path, start, f"malformed CSV ({exc}); is the file truncated?") from None
        line = start
        if skip_blank and not any(cell.strip() for cell in row):
            continue
        yield line, row


def parse_iso_date(value: str, *, path: Path, line: int | None, what: str = "date") -> date:
    """Parse YYYY-MM-DD strictly, raising a `ParseError` that says which field was bad."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ParseError(path, line, f"bad {what} {value!r}: expected YYYY-MM-DD") from None


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files named directly, plus the regular files inside named directories (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not inside:
                raise ParseError(path, None, "directory holds no files")
            files.extend(inside)
        elif not path.exists():
            raise ParseError(path, None, "no such file")
        else:
            files.append(path)
    return files
