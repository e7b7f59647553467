"""Reading list files as text: encodings detected, never guessed silently; bad files refused clearly.

Official files arrive as UTF-8 (with or without BOM), UTF-16 with a BOM, or latin-1 / cp1252 (OFAC's
legacy files). Binary, empty and undecodable files raise `ParseError` naming the file and line.
`CsvLayout` reads the CSV formats that have a header line (designations-csv, periods-csv) the same
way: columns matched without regard to case, required and unknown columns checked, one file each.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from listwatch.errors import FormatMismatch, ParseError

__all__ = [
    "CsvLayout",
    "DecodedText",
    "csv_rows",
    "expand_paths",
    "header_cells",
    "parse_iso_date",
    "parse_us_date",
    "read_text",
]

_SUBSTITUTE = "\x1a"  # DOS end-of-file marker that OFAC's files end with
# exactly YYYY-MM-DD: date.fromisoformat (3.11) also takes "20210114" and week dates ("2021-W02-4")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_US_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


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
    bomless = _bomless_utf16(raw)
    if bomless is not None:
        try:
            return DecodedText(path, _clean(raw.decode(bomless)), bomless)
        except UnicodeDecodeError as exc:
            raise ParseError(path, _line_of(raw, exc.start), f"invalid {bomless.upper()} text") from None
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
    try:
        return DecodedText(path, _clean(raw.decode(fallback)), fallback)
    except UnicodeDecodeError as exc:  # cp1252 leaves five bytes undefined: neither encoding fits
        raise ParseError(
            path,
            _line_of(raw, exc.start),
            f"neither UTF-8 nor {fallback} (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
        ) from None


def _bomless_utf16(raw: bytes) -> str | None:
    """ "utf-16-le"/"utf-16-be" when the text is UTF-16 without a byte-order mark, else None.

    Text in a Latin script has a NUL in every other byte in UTF-16 and none in the rest; anything
    less regular is left to the NUL check (binary) rather than guessed.
    """
    head = raw[:4096]
    if len(head) < 4 or b"\x00" not in head:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


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
    """Parse exactly YYYY-MM-DD (spaces around it aside), or raise a `ParseError` naming the field.

    A hand-written file with `14/01/2021` or `20210114` is more likely wrong than meant, so those are
    refused rather than guessed: `parse_iso_date(cell, path=path, line=7, what="start date")`.
    """
    text = value.strip()
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:  # 2021-02-30
            pass
    raise ParseError(path, line, f"bad {what} {value!r}: expected YYYY-MM-DD")


def parse_us_date(value: str | None, *, path: Path, line: int | None, what: str = "date") -> date | None:
    """Parse a US date, MM/DD/YYYY (`1/4/2021` too), as OFAC's XML and BIS's files write them; an
    empty or missing value is None, anything else that is not a real date a `ParseError` naming the
    field: `parse_us_date(cell, path=path, line=3, what="Effective_Date")`.
    """
    if value is None or not value.strip():
        return None
    match = _US_DATE.fullmatch(value.strip())
    if match is not None:
        month, day, year = (int(part) for part in match.groups())
        try:
            return date(year, month, day)
        except ValueError:  # 02/30/2021
            pass
    raise ParseError(path, line, f"bad {what} {value!r}: expected MM/DD/YYYY")


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvLayout:
    """A CSV format whose first line names its columns, and the words its messages use.

    Column names are matched without regard to case or spacing (`Start  Date` is `start date`); a
    file without the required ones is in another format (`FormatMismatch`), and one with a column
    not known here is refused, so that a typo does not silently drop data.

        _LAYOUT = CsvLayout(format_name="periods-csv", columns=("name", "start date", "end date"),
                            required=("name", "start date"), rows_are="listing periods",
                            file_holds="every listing period")
        columns, rows = _LAYOUT.read(_LAYOUT.single_file(files))
    """

    format_name: str
    columns: tuple[str, ...]  # every column it knows, lower case, in the order messages list them
    required: tuple[str, ...]
    rows_are: str  # "no designations after the header line"
    file_holds: str  # "designations-csv reads one file holding all the rows of a list"

    def sniff(self, files: Sequence[Path]) -> bool:
        """One file whose first line has the required columns; the rest of the file is not read."""
        if len(files) != 1:
            return False
        try:
            with files[0].open("rb") as handle:
                head = handle.readline(65536)
        except OSError:
            return False
        text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
        try:
            header = {_column_name(cell) for cell in next(csv.reader([text]))}
        except (csv.Error, StopIteration):
            return False
        return header.issuperset(self.required)

    def single_file(self, files: Sequence[Path]) -> Path:
        if not files:
            raise ParseError(Path("."), None, f"{self.format_name} needs one file; none was given")
        if len(files) > 1:
            names = ", ".join(file.name for file in files)
            raise FormatMismatch(
                files[1],
                None,
                f"{self.format_name} reads one file holding {self.file_holds}, got {len(files)} ({names})",
            )
        return files[0]

    def read(self, path: Path) -> tuple[tuple[str, ...], Iterator[tuple[int, dict[str, str]]]]:
        """The columns (checked now) and the rows, as `(line, {column: cell as published})`.

        A row with another number of fields than the header is refused as it is read, so errors
        come in the file's order; a file with no row is refused once the rows run out.
        """
        lines = csv_rows(read_text(path))
        first = next(lines, None)
        if first is None:
            raise ParseError(path, 1, "no header line: the file holds only blank lines")
        header_line, header = first
        columns = self._columns(path, header_line, header)
        return columns, self._rows(path, header_line, columns, lines)

    def _columns(self, path: Path, line: int, header: list[str]) -> tuple[str, ...]:
        columns = tuple(_column_name(cell) for cell in header)
        missing = [column for column in self.required if column not in columns]
        if missing:
            raise FormatMismatch(
                path,
                line,
                f"not a {self.format_name} file: no {', '.join(repr(c) for c in missing)} column "
                f"(a header line needs at least {', '.join(self.required)})",
            )
        expected = ", ".join(self.columns)
        seen: set[str] = set()
        for position, column in enumerate(columns, 1):
            if not column:
                raise ParseError(path, line, f"column {position} has no name; expected {expected}")
            if column not in self.columns:
                raise ParseError(path, line, f"unknown column {column!r}; expected {expected}")
            if column in seen:
                raise ParseError(path, line, f"column {column!r} appears twice")
            seen.add(column)
        return columns

    def _rows(
        self,
        path: Path,
        header_line: int,
        columns: tuple[str, ...],
        lines: Iterator[tuple[int, list[str]]],
    ) -> Iterator[tuple[int, dict[str, str]]]:
        empty = True
        for line, cells in lines:
            if len(cells) != len(columns):
                raise ParseError(
                    path, line, f"row has {len(cells)} fields, the header has {len(columns)}; check quoting"
                )
            empty = False
            yield line, dict(zip(columns, cells, strict=True))
        if empty:
            raise ParseError(path, header_line + 1, f"no {self.rows_are} after the header line")


def _column_name(cell: str) -> str:
    return " ".join(cell.split()).lower()


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


def header_cells(files: Sequence[Path], delimiter: str) -> set[str] | None:
    """For `sniff`: the lower-cased, unquoted cells of a lone file's first line (None when there is
    not exactly one readable file). Reads at most 64 KiB."""
    if len(files) != 1:
        return None
    try:
        with files[0].open("rb") as handle:
            head = handle.readline(65536).removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    except OSError:
        return None
    return {cell.strip().strip('"').lower() for cell in head.split(delimiter)}
