"""UK OFSI ConList.csv: the real 2020-03 excerpt, the official first line, and broken files."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, Name, ParsedList
from listwatch.sources import detect_format
from listwatch.sources.ofsi_csv import OFSI_CSV
from tests.conftest import CCMC_1237, OFSI_2020_03
from tests.sources.support import find_record

HEADER = (
    "Name 6,Name 1,Name 2,Name 3,Name 4,Name 5,Title,DOB,Town of Birth,Country of Birth,Nationality,"
    "Passport Details,NI Number,Position,Address 1,Address 2,Address 3,Address 4,Address 5,Address 6,"
    "Post/Zip Code,Country,Other Information,Group Type,Alias Type,Regime,Listed On,Last Updated,Group ID"
)
ROW = "ACME,,,,,,,,,,,,,,,,,,,,,,,Entity,Prime Alias,Iraq,01/04/2016,02/04/2016,42"


@pytest.fixture(scope="module")
def ofsi() -> ParsedList:
    return OFSI_CSV.parse([OFSI_2020_03])


def _write(tmp_path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "ConList.csv"
    path.write_bytes("".join(line + "\r\n" for line in lines).encode(encoding))
    return path


def test_excerpt_rows_group_into_41_entities(ofsi: ParsedList) -> None:
    assert len(ofsi.records) == 41  # 77 rows
    assert Counter(record.schema for record in ofsi.records) == {"Person": 32, "Organization": 9}
    assert ofsi.list_id == "gb_hmt_ofsi" and ofsi.format == "uk-ofsi-csv"
    assert ofsi.published is None  # no "Last Updated" line in the excerpt: the path gives the date
    blank = "the header's first cell is blank and the rows have one field fewer: that cell is ignored"
    assert ofsi.warnings == (f"ConList_excerpt_2020-03.csv:1: {blank}",)


def test_excerpt_is_recognised() -> None:
    assert detect_format([OFSI_2020_03]) is OFSI_CSV


def test_rows_of_a_group_merge_names_and_birth_dates(ofsi: ParsedList) -> None:
    record = find_record(ofsi, "13720")
    assert record.names == (Name("Hajji 'ABD AL-NASIR"), Name("Hajji ABD AL-NASR", "alias"))
    assert record.birth_dates == ("1965", "1966", "1967", "1968", "1969")  # 00/00/1965 ... one per row
    assert record.listed_on == date(2018, 11, 20)
    assert record.properties["amended_on"] == ("2018-11-23",)
    assert record.programs == ("The ISIL (Da'esh) and Al-Qaida organisations",)
    assert record.remarks is not None and record.remarks.startswith("UN Ref QDi.420.")


def test_nationalities_numbered_in_one_cell_are_split(ofsi: ParsedList) -> None:
    record = find_record(ofsi, "13349")
    assert record.properties["nationality"] == ("Saudi Arabia", "Qatar")
    assert record.properties["passport_details"] == (
        "Passport No: 592667 (Qatari passport issued on 3 May 2007).",
    )


def test_windows_1252_punctuation_is_read(ofsi: ParsedList) -> None:
    record = find_record(ofsi, "13222")
    assert (
        record.remarks is not None and "’2nd Army Corps’ of the ‘Lugansk People´s Republic’" in record.remarks
    )


def test_official_last_updated_line_gives_the_publication_date(tmp_path: Path) -> None:
    path = _write(tmp_path, "Last Updated,17/02/2020", HEADER, ROW)
    assert detect_format([path]) is OFSI_CSV
    parsed = OFSI_CSV.parse([path])
    assert parsed.published == date(2020, 2, 17) and parsed.warnings == ()
    (record,) = parsed.records
    assert record.names == (Name("ACME"),) and record.schema == "Organization"
    assert record.listed_on == date(2016, 4, 1)


def test_address_lines_join(tmp_path: Path) -> None:
    row = ROW.replace(
        ",,,,,,,,,,,,,,,,,,,,,,,Entity", ",,,,,,,,,,,,,,1 Main St,Floor 2,,,,Baghdad,10001,Iraq,,Entity"
    )
    (record,) = OFSI_CSV.parse([_write(tmp_path, HEADER, row)]).records
    assert record.addresses == (Address(street="1 Main St, Floor 2, Baghdad", city="10001", country="Iraq"),)


def test_unknown_column_is_kept_in_the_raw_record(tmp_path: Path) -> None:
    parsed = OFSI_CSV.parse([_write(tmp_path, HEADER + ",Sanctions Imposed", ROW + ",Asset freeze")])
    assert parsed.records[0].properties["unknown:Sanctions Imposed"] == ("Asset freeze",)
    assert parsed.warnings == ("ConList.csv:1: unknown column 'Sanctions Imposed' kept in the raw record",)


def test_bad_date_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, ROW, ROW.replace("01/04/2016", "2016-04-01"))
    with pytest.raises(ParseError) as caught:
        OFSI_CSV.parse([path])
    assert str(caught.value) == f"{path}:3: bad Listed On '2016-04-01': expected DD/MM/YYYY"


def test_bad_last_updated_line_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "Last Updated,31/02/2020", HEADER, ROW)
    with pytest.raises(ParseError, match=r":1: bad Last Updated '31/02/2020'"):
        OFSI_CSV.parse([path])


def test_truncated_row_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, ROW, ROW[:30])
    with pytest.raises(ParseError) as caught:
        OFSI_CSV.parse([path])
    assert str(caught.value) == f"{path}:3: row has 24 fields, the header has 29; is the file truncated?"


def test_unclosed_quote_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, ROW, 'ACME,"unclosed')
    with pytest.raises(ParseError, match=r":3: malformed CSV"):
        OFSI_CSV.parse([path])


def test_another_csv_is_not_this_format() -> None:
    assert not OFSI_CSV.sniff([CCMC_1237])
    with pytest.raises(
        FormatMismatch, match=r":1: not an OFSI consolidated list: no 'name 6', 'group type', 'group id'"
    ):
        OFSI_CSV.parse([CCMC_1237])


def test_bytes_neither_utf8_nor_cp1252_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ConList.csv"
    path.write_bytes((HEADER + "\r\n" + ROW.replace("ACME", "AC\x81ME") + "\r\n").encode("latin-1"))
    with pytest.raises(ParseError) as caught:
        OFSI_CSV.parse([path])
    assert str(caught.value) == f"{path}:2: neither UTF-8 nor cp1252 (byte 0x81); save the file as UTF-8"


@pytest.mark.parametrize(
    ("first", "recognised"),
    [
        ("Last Updated,17/02/2020", True),
        ('"Last Updated","17/02/2020",,,', True),
        (HEADER, True),
        ("name,last updated,country", False),  # another CSV with such a column is not OFSI's
        ("Last Updated", False),
    ],
)
def test_sniffing_reads_the_first_line_as_the_other_csv_formats_do(
    tmp_path: Path, first: str, recognised: bool
) -> None:
    assert OFSI_CSV.sniff([_write(tmp_path, first, ROW)]) is recognised
