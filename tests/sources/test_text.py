"""What the formats share: strict ISO dates, and the header checks of the CSV formats with a header line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import FormatMismatch, ParseError
from listwatch.sources import SourceFormat
from listwatch.sources.designations import DESIGNATIONS_CSV
from listwatch.sources.periods import PERIODS_CSV
from listwatch.sources.text import parse_iso_date, parse_us_date

WHERE = Path("list.csv")


def test_iso_date_is_read() -> None:
    assert parse_iso_date(" 2021-01-14 ", path=WHERE, line=2) == date(2021, 1, 14)


@pytest.mark.parametrize(
    "value",
    [
        "20210114",
        "2021-W02-4",
        "2021-014",
        "2021-1-14",
        "14/01/2021",
        "2021-02-30",
        "2021-01-14T00:00",
        "",
        "٢٠٢١-٠١-١٤",
    ],
)
def test_anything_but_yyyy_mm_dd_is_refused_naming_the_field(value: str) -> None:
    # date.fromisoformat on Python 3.11 takes the first two
    with pytest.raises(ParseError) as caught:
        parse_iso_date(value, path=WHERE, line=7, what="start date")
    assert str(caught.value) == f"list.csv:7: bad start date {value!r}: expected YYYY-MM-DD"


# --- the CSV formats with a header line, through both of them ------------------------------------

DESIGNATIONS = (DESIGNATIONS_CSV, "date,action,entity", "2021-01-14,listed,Acme Corp.")
PERIODS = (PERIODS_CSV, "Name,Start date", "Acme Corp.,2021-06-03")


@pytest.fixture(params=[DESIGNATIONS, PERIODS], ids=["designations-csv", "periods-csv"])
def headed(request: pytest.FixtureRequest) -> tuple[SourceFormat, str, str]:
    """Each format with a header line: the format, its smallest header and a row under it."""
    fmt, header, row = request.param
    return fmt, header, row


def _write(tmp_path: Path, text: str, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_column_names_are_matched_without_regard_to_case_or_spacing(
    tmp_path: Path, headed: tuple[SourceFormat, str, str]
) -> None:
    fmt, header, row = headed
    shouted = "  ,".join(column.upper().replace(" ", "   ") for column in header.split(","))
    path = _write(tmp_path, f"{shouted}\n{row}\n")
    assert fmt.sniff([path])
    assert [record.caption for record in fmt.parse([path]).records] == ["Acme Corp."]


@pytest.mark.parametrize(
    ("fmt", "header", "row", "expected"),
    [
        pytest.param(*DESIGNATIONS, "date, action, entity, aliases,", id="designations-csv"),
        pytest.param(*PERIODS, "name, clean name, alias,", id="periods-csv"),
    ],
)
def test_unknown_column_is_refused_naming_the_expected_ones_in_order(
    tmp_path: Path, fmt: SourceFormat, header: str, row: str, expected: str
) -> None:
    path = _write(tmp_path, f"{header},Foo\n{row},x\n")
    with pytest.raises(ParseError) as caught:
        fmt.parse([path])
    assert str(caught.value).startswith(f"{path}:1: unknown column 'foo'; expected {expected}")


def test_unnamed_or_repeated_column_is_refused(tmp_path: Path, headed: tuple[SourceFormat, str, str]) -> None:
    fmt, header, row = headed
    unnamed = _write(tmp_path, f"{header},\n{row},\n")
    with pytest.raises(ParseError) as caught:
        fmt.parse([unnamed])
    assert str(caught.value).startswith(f"{unnamed}:1: column {header.count(',') + 2} has no name; expected ")
    first = header.split(",")[0]
    repeated = _write(tmp_path, f"{header},{first.upper()}\n{row},x\n", name="repeated.csv")
    with pytest.raises(ParseError) as caught:
        fmt.parse([repeated])
    assert str(caught.value) == f"{repeated}:1: column {first.lower()!r} appears twice"


@pytest.mark.parametrize(
    ("fmt", "header", "missing"),
    [
        (DESIGNATIONS_CSV, "date,entity,aliases", "'action'"),
        (DESIGNATIONS_CSV, "Name,Start date", "'date', 'action', 'entity'"),
        (PERIODS_CSV, "Clean Name,Start date", "'name'"),
        (PERIODS_CSV, "Name,End date", "'start date'"),
        (PERIODS_CSV, "date,action,entity", "'name', 'start date'"),
    ],
)
def test_missing_required_column_is_a_format_mismatch_on_line_1(
    tmp_path: Path, fmt: SourceFormat, header: str, missing: str
) -> None:
    path = _write(tmp_path, f"{header}\na,b,c\n")
    assert not fmt.sniff([path])
    with pytest.raises(FormatMismatch) as caught:
        fmt.parse([path])
    assert str(caught.value).startswith(f"{path}:1: not a {fmt.name} file: no {missing} column")


def test_one_file_holds_the_whole_list(tmp_path: Path, headed: tuple[SourceFormat, str, str]) -> None:
    fmt, header, row = headed
    path = _write(tmp_path, f"{header}\n{row}\n")
    other = _write(tmp_path, f"{header}\n{row}\n", name="other.csv")
    assert not fmt.sniff([path, other])
    with pytest.raises(FormatMismatch) as caught:
        fmt.parse([path, other])
    assert str(caught.value).startswith(f"{other}: {fmt.name} reads one file holding ")
    assert str(caught.value).endswith(", got 2 (list.csv, other.csv)")
    with pytest.raises(ParseError, match=f"^[.]: {fmt.name} needs one file; none was given$"):
        fmt.parse([])


def test_file_that_is_not_utf8_is_refused_naming_the_line(
    tmp_path: Path, headed: tuple[SourceFormat, str, str]
) -> None:
    fmt, header, row = headed
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{header}\n{row}\n{row.replace('Acme', 'Société')}\n".encode("latin-1"))
    with pytest.raises(ParseError) as caught:
        fmt.parse([path])
    assert str(caught.value).startswith(f"{path}:3: not valid UTF-8 (byte 0xe9)")


@pytest.mark.parametrize(
    ("fmt", "header", "rows_are"),
    [
        (DESIGNATIONS_CSV, "date,action,entity", "designations"),
        (PERIODS_CSV, "Name,Start date", "listing periods"),
    ],
)
def test_header_without_rows_or_blank_file_is_refused(
    tmp_path: Path, fmt: SourceFormat, header: str, rows_are: str
) -> None:
    with pytest.raises(ParseError, match=rf":2: no {rows_are} after the header line$"):
        fmt.parse([_write(tmp_path, f"{header}\n\n")])
    with pytest.raises(ParseError, match=r":1: no header line: the file holds only blank lines$"):
        fmt.parse([_write(tmp_path, ",,,\n\n", name="blank.csv")])


def test_unclosed_quote_is_refused(tmp_path: Path, headed: tuple[SourceFormat, str, str]) -> None:
    fmt, header, row = headed
    path = _write(tmp_path, f'{header}\n{row}\n"{row}\n')
    with pytest.raises(ParseError, match=r":3: malformed CSV"):
        fmt.parse([path])


def test_first_bad_row_in_file_order_is_the_one_reported(
    tmp_path: Path, headed: tuple[SourceFormat, str, str]
) -> None:
    fmt, header, row = headed
    # line 3 has a bad date, line 4 too few fields: the message is about line 3
    path = _write(tmp_path, f"{header}\n{row}\n{row.replace('-', '/')}\nAcme Corp.\n")
    with pytest.raises(ParseError) as caught:
        fmt.parse([path])
    assert caught.value.line == 3
    assert "expected YYYY-MM-DD" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("01/14/2021", date(2021, 1, 14)),
        (" 1/4/2021 ", date(2021, 1, 4)),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_us_date_is_read_and_empty_is_none(value: str | None, expected: date | None) -> None:
    assert parse_us_date(value, path=Path("dpl.txt"), line=3, what="Effective_Date") == expected


@pytest.mark.parametrize("value", ["02/30/2021", "13/01/2021", "2021-01-14", "1/14/21", "01-14-2021", "x"])
def test_anything_but_a_real_mm_dd_yyyy_is_refused_naming_the_field(value: str) -> None:
    with pytest.raises(ParseError, match=r"dpl.txt:3: bad Effective_Date .*: expected MM/DD/YYYY"):
        parse_us_date(value, path=Path("dpl.txt"), line=3, what="Effective_Date")
