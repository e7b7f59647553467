"""BIS Denied Persons List: the two real snapshots, and broken files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, Name, ParsedList
from listwatch.sources import detect_format
from listwatch.sources.dpl import DPL_TSV
from tests.conftest import CSL_2019, DPL_2019_06, DPL_2022_09
from tests.sources.support import find_record

HEADER = "\t".join(
    f'"{c}"'
    for c in (
        "Name", "Street_Address", "City", "State", "Country", "Postal_Code", "Effective_Date",
        "Expiration_Date", "Standard_Order", "Last_Update", "Action", "FR_Citation",
    )
)  # fmt: skip
ROW = '"ACME LTD"\t"1 MAIN ST"\t"DUBAI"\t""\t"AE"\t""\t"01/02/2020"\t"01/02/2030"\t"Y"\t"2020-01-10"\t"FR NOTICE ADDED"\t"85 F.R. 1"'


@pytest.fixture(scope="module")
def dpl_2022() -> ParsedList:
    return DPL_TSV.parse([DPL_2022_09])


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "dpl.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_2019_06_rows_group_by_name_into_414_entries() -> None:
    parsed = DPL_TSV.parse([DPL_2019_06])
    assert len(parsed.records) == 414  # 546 rows
    assert parsed.list_id == "us_bis_dpl" and parsed.format == "bis-dpl-tsv" and parsed.published is None
    assert parsed.warnings == (
        "dpl_2019-06.txt:326: Last_Update 3017-08-22 is in the future; kept as published",
    )


def test_2022_09_rows_group_by_name_into_458_entries(dpl_2022: ParsedList) -> None:
    assert len(dpl_2022.records) == 458  # 581 rows
    assert len(dpl_2022.warnings) == 2  # 2922-09-01 and 3017-08-22


def test_files_are_recognised() -> None:
    assert detect_format([DPL_2019_06]) is DPL_TSV
    assert detect_format([DPL_2022_09]) is DPL_TSV


def test_one_party_at_several_addresses_is_one_entry_with_its_dates(dpl_2022: ParsedList) -> None:
    record = find_record(dpl_2022, "i ash")
    assert record.names == (Name("I. ASH"),)
    assert len(record.addresses) == 3
    assert record.addresses[1] == Address(
        street="605 TRAIL LAKE DRIVE", city="RICHARDSON, TX, 75081", country="US"
    )
    assert record.listed_on == date(2002, 3, 4)  # the earliest Effective_Date
    assert record.properties["effective_on"] == ("2003-06-19", "2002-03-04")
    assert record.properties["expires_on"] == ("2056-06-29",)
    assert record.countries == ("us",)


def test_future_last_update_is_kept_as_published(dpl_2022: ParsedList) -> None:
    assert any("3017-08-22" in record.properties.get("last_update", ()) for record in dpl_2022.records)


def test_unknown_column_is_kept_in_the_raw_record(tmp_path: Path) -> None:
    parsed = DPL_TSV.parse([_write(tmp_path, HEADER + '\t"Alias"', ROW + '\t"ACME"')])
    (record,) = parsed.records
    assert record.properties["unknown:alias"] == ("ACME",)
    assert record.schema == "Company" and record.listed_on == date(2020, 1, 2)
    assert parsed.warnings == ("dpl.txt:1: unknown column 'alias' kept in the raw record",)


def test_bad_effective_date_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, ROW, ROW.replace("01/02/2020", "2020-01-02"))
    with pytest.raises(ParseError) as caught:
        DPL_TSV.parse([path])
    assert str(caught.value) == f"{path}:3: bad Effective_Date '2020-01-02': expected MM/DD/YYYY"


def test_bad_last_update_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER, ROW.replace("2020-01-10", "2020-13-10"))
    with pytest.raises(ParseError, match=r":2: bad Last_Update '2020-13-10': expected YYYY-MM-DD"):
        DPL_TSV.parse([path])


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    cut_in_field = _write(tmp_path, HEADER, ROW, ROW[:40])
    with pytest.raises(
        ParseError, match=r":3: malformed CSV \(unexpected end of data\); is the file truncated\?"
    ):
        DPL_TSV.parse([cut_in_field])
    cut_between = _write(tmp_path, HEADER, ROW, ROW[:22])
    with pytest.raises(ParseError, match=r":3: row has 2 fields, the header has 12; is the file truncated\?"):
        DPL_TSV.parse([cut_between])


def test_another_file_is_not_a_dpl() -> None:
    assert not DPL_TSV.sniff([CSL_2019])
    with pytest.raises(FormatMismatch, match="not a Denied Persons List: no 'name', 'effective_date' column"):
        DPL_TSV.parse([CSL_2019])
