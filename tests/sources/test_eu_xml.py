"""EU Financial Sanctions Files XML, on a hand-written file (no real one at hand: see data/README.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, Identifier, Name, ParsedList
from listwatch.sources import detect_format
from listwatch.sources.eu_xml import EU_XML
from tests.conftest import UN_2018_10
from tests.sources.support import find_record

EU_FILE = Path(__file__).parent / "data" / "eu_fsf_handwritten.xml"  # written by hand


@pytest.fixture(scope="module")
def eu() -> ParsedList:
    return EU_XML.parse([EU_FILE])


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "export.xml"
    path.write_text(EU_FILE.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return path


def test_entities_dates_and_list(eu: ParsedList) -> None:
    assert [record.key for record in eu.records] == ["13", "8282"]
    assert eu.list_id == "eu_fsf" and eu.published == date(2024, 6, 3)
    assert detect_format([EU_FILE]) is EU_XML


def test_person_names_in_many_languages(eu: ParsedList) -> None:
    record = find_record(eu, "13")
    assert record.schema == "Person"
    assert record.names == (
        Name("Robert Gabriel Mugabe"), Name("Роберт Габриэл Мугабе", "alias", "RU"), Name("Bob", "weak_alias"),
    )  # fmt: skip
    assert record.identifiers == (
        Identifier("other", "EU.27.28", note="EU reference number"),
        Identifier("passport", "AD001095", country="ZIMBABWE", note="National passport"),
    )
    assert record.birth_dates == ("1924-02-21",) and record.countries == ("zw",)
    assert record.listed_on == date(2002, 2, 21)  # the first regulation
    assert record.properties["amended_on"] == ("2019-11-26",)
    assert record.programs == ("ZWE",)


def test_enterprise_with_designation_date_and_address(eu: ParsedList) -> None:
    record = find_record(eu, "8282")
    assert record.schema == "Company" and record.listed_on == date(2022, 6, 3)
    assert record.addresses == (
        Address(street="Prospekt Pobeditelei 7", city="Minsk, 220004", country="BELARUS"),
    )
    assert (
        Identifier("registration", "808000714", country="BELARUS", note="Registration Number")
        in record.identifiers
    )


def test_unknown_elements_and_attributes_are_kept_and_reported(eu: ParsedList) -> None:
    record = find_record(eu, "8282")
    assert record.properties["unknown:sanctionEntity@riskLevel"] == ("high",)
    assert record.properties["unknown:sanctionMeasure"] == ('type="asset freeze"',)
    assert eu.warnings == (
        "eu_fsf_handwritten.xml:23: unknown attribute sanctionEntity/@riskLevel kept in the raw record",
        "eu_fsf_handwritten.xml:30: unknown element <sanctionMeasure> kept in the raw record",
    )


def test_bad_publication_date_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'publicationDate="2019-11-26"', 'publicationDate="26/11/2019"')
    with pytest.raises(ParseError, match=r"export.xml:10: bad publicationDate '26/11/2019'"):
        EU_XML.parse([path])


@pytest.mark.parametrize("value", ["20190226", "2019-W09-2", "2019-02-30", "2019-02-26x"])
def test_loose_iso_dates_are_refused(tmp_path: Path, value: str) -> None:
    path = _variant(tmp_path, 'publicationDate="2019-11-26"', f'publicationDate="{value}"')
    with pytest.raises(
        ParseError, match=rf"export.xml:10: bad publicationDate '{value}': expected YYYY-MM-DD"
    ):
        EU_XML.parse([path])


def test_timestamp_is_read_for_its_day(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'publicationDate="2019-11-26"', 'publicationDate="2019-11-26+01:00"')
    assert find_record(EU_XML.parse([path]), "13").properties["amended_on"] == ("2019-11-26",)


def test_logical_id_twice_is_refused_naming_both_lines(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'logicalId="8282"', 'logicalId="13"')
    with pytest.raises(
        ParseError, match=r"export.xml:\d+: sanctionEntity logicalId 13 appears twice \(first at line 5\)"
    ):
        EU_XML.parse([path])


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_bytes(EU_FILE.read_bytes()[:3000])
    with pytest.raises(ParseError, match="is the file truncated"):
        EU_XML.parse([path])


def test_other_xml_is_not_eu() -> None:
    assert not EU_XML.sniff([UN_2018_10])
    with pytest.raises(FormatMismatch, match="root element is <CONSOLIDATED_LIST>, expected <export>"):
        EU_XML.parse([UN_2018_10])
