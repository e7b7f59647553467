"""OFAC XML (sdn.xml), on a hand-written file from OFAC's schema (no real one at hand)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, Identifier, Link, Name, ParsedList
from listwatch.sources import detect_format
from listwatch.sources.ofac_csv import OFAC_CSV
from listwatch.sources.ofac_xml import OFAC_XML
from tests.conftest import SDN_2021, UN_2018_10
from tests.sources.support import find_record

SDN_FILE = Path(__file__).parent / "data" / "sdn_handwritten.xml"  # written by hand


@pytest.fixture(scope="module")
def sdn() -> ParsedList:
    return OFAC_XML.parse([SDN_FILE])


def test_entries_list_and_date(sdn: ParsedList) -> None:
    assert [record.key for record in sdn.records] == ["36", "6903", "23156"]
    assert sdn.list_id is None  # the hand-written file's name says no list
    assert sdn.published == date(2021, 7, 1)
    assert detect_format([SDN_FILE]) is OFAC_XML


def test_sdn_xml_file_name_names_the_list(tmp_path: Path) -> None:
    path = tmp_path / "sdn.xml"
    path.write_bytes(SDN_FILE.read_bytes())
    assert OFAC_XML.parse([path]).list_id == "us_ofac_sdn"


def test_entry_matches_what_the_csv_gives(sdn: ParsedList) -> None:
    from_xml = find_record(sdn, "36")
    from_csv = find_record(OFAC_CSV.parse(sorted(SDN_2021.iterdir())), "36")
    assert from_xml.names == from_csv.names
    assert from_xml.addresses == from_csv.addresses == (Address(city="Havana", country="Cuba"),)
    assert from_xml.programs == from_csv.programs and from_xml.schema == from_csv.schema


def test_person_with_typed_ids_akas_and_birth(sdn: ParsedList) -> None:
    record = find_record(sdn, "6903")
    assert record.names == (
        Name("AL-AHDAL, Mohammad Hamdi"), Name("ASIM, Abu", "weak_alias"), Name("AL-AHDAL, Muhammad", "previous"),
    )  # fmt: skip
    assert record.identifiers == (
        Identifier("passport", "541939", country="Yemen", note="issued 31 Jul 1996"),
    )
    assert record.birth_dates == ("1971-11-19",) and record.properties["birth_place"] == (
        "Medina, Saudi Arabia",
    )


def test_vessel_call_sign_imo_and_link(sdn: ParsedList) -> None:
    record = find_record(sdn, "23156")
    assert record.schema == "Vessel"
    assert record.identifiers == (Identifier("call_sign", "HMYM"), Identifier("imo", "8898831"))
    assert record.links == (Link("linked_to", "YUSONG SHIPPING CO."),)
    assert record.properties["vessel_flag"] == ("Korea, North",)


def test_unknown_element_is_kept_and_reported(sdn: ParsedList) -> None:
    assert find_record(sdn, "6903").properties["unknown:riskScore"] == ("7",)
    assert sdn.warnings == ("sdn_handwritten.xml:47: unknown element <riskScore> kept in the raw record",)


def test_fewer_entries_than_record_count_is_warned(tmp_path: Path) -> None:
    path = tmp_path / "sdn.xml"
    path.write_text(
        SDN_FILE.read_text(encoding="utf-8").replace("<Record_Count>3<", "<Record_Count>4<"), encoding="utf-8"
    )
    assert "sdn.xml: Record_Count says 4 entries, the file holds 3" in OFAC_XML.parse([path]).warnings


def test_bad_publish_date_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sdn.xml"
    path.write_text(
        SDN_FILE.read_text(encoding="utf-8").replace("07/01/2021", "2021-07-01"), encoding="utf-8"
    )
    with pytest.raises(ParseError, match=r"sdn.xml:6: bad Publish_Date '2021-07-01': expected MM/DD/YYYY"):
        OFAC_XML.parse([path])


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sdn.xml"
    path.write_bytes(SDN_FILE.read_bytes()[:1500])
    with pytest.raises(ParseError, match="is the file truncated"):
        OFAC_XML.parse([path])


def test_other_xml_is_not_ofac() -> None:
    assert not OFAC_XML.sniff([UN_2018_10])
    with pytest.raises(FormatMismatch, match="expected <sdnList>"):
        OFAC_XML.parse([UN_2018_10])
