"""UN Security Council Consolidated List XML: the real 2018-10 file, and broken or hostile ones."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, Identifier, Name, ParsedList
from listwatch.sources import detect_format
from listwatch.sources.un_xml import UN_XML
from tests.conftest import UN_2018_10
from tests.sources.support import find_record


@pytest.fixture(scope="module")
def un() -> ParsedList:
    return UN_XML.parse([UN_2018_10])


def _write(tmp_path: Path, body: str, *, generated: str = "2018-10-29T19:09:49.856-04:00") -> Path:
    path = tmp_path / "consolidated.xml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<CONSOLIDATED_LIST dateGenerated="{generated}">\n'
        f"<INDIVIDUALS>\n{body}\n</INDIVIDUALS><ENTITIES/></CONSOLIDATED_LIST>\n",
        encoding="utf-8",
    )
    return path


PERSON = (
    "<INDIVIDUAL><DATAID>1</DATAID><FIRST_NAME>RI</FIRST_NAME><SECOND_NAME>WON HO</SECOND_NAME>"
    "<REFERENCE_NUMBER>KPi.033</REFERENCE_NUMBER><LISTED_ON>2016-11-30</LISTED_ON></INDIVIDUAL>"
)


def test_2018_10_file_has_703_individuals_and_390_entities(un: ParsedList) -> None:
    schemas = Counter(record.schema for record in un.records)
    assert schemas["Person"] == 703
    assert schemas["Organization"] + schemas["Company"] == 390
    assert len({record.key for record in un.records}) == 1093
    assert un.list_id == "un_sc" and un.format == "un-sc-xml"
    assert un.published == date(2018, 10, 29)  # dateGenerated
    assert un.events is None and un.warnings == ()


def test_file_is_recognised_by_its_root_element() -> None:
    assert detect_format([UN_2018_10]) is UN_XML


def test_individual_keeps_names_documents_addresses_and_dates(un: ParsedList) -> None:
    record = find_record(un, "QDi.410")
    assert record.schema == "Person"
    assert record.names[0] == Name("SHANE DOMINIC CRAWFORD")
    assert Name("Asadullah", "weak_alias") in record.names  # quality Low
    assert "Asadullah: Low" in record.properties["alias_quality"]
    assert record.identifiers[0] == Identifier("other", "QDi.410", note="UN reference number")
    assert (
        Identifier(
            "passport",
            "TA959547",
            country="Trinidad and Tobago",
            note="issued 2013-11-19; issued by Immigration Division of Trinidad and Tobago, expiration date 18 Nov. 2018",
        )
        in record.identifiers
    )
    assert Address(street=None, city="Reyhanli, Hatay", country="Turkey",
                   remarks="previous location from Nov. 2013 to May 2014") in record.addresses  # fmt: skip
    assert record.birth_dates == ("1986-02-22",)
    assert record.listed_on == date(2017, 8, 18)
    assert record.programs == ("Al-Qaida",)
    assert record.remarks is not None and record.remarks.startswith("English language propagandist")


def test_alias_qualities_give_alias_kinds(un: ParsedList) -> None:
    assert Name("Jang Chang Ha", "alias") in find_record(un, "KPi.037").names  # Good
    adf = find_record(un, "CDe.001")
    assert Name("ADF/NALU", "previous") in adf.names  # f.k.a.
    assert Name("Al Qaeda", "alias") in find_record(un, "QDe.004").names  # a.k.a.


def test_original_script_name_and_amendment_dates_are_kept(un: ParsedList) -> None:
    record = find_record(un, "QDe.004")
    assert Name("القاعدة", "alias") in record.names
    assert record.properties["amended_on"] == ("2009-03-05", "2012-03-21")
    assert record.schema == "Organization"


def test_birth_year_ranges_give_each_year(un: ParsedList) -> None:
    ranged = [record for record in un.records if "birth_date_range" in record.properties]
    assert len(ranged) == 30
    first = ranged[0]
    start, end = first.properties["birth_date_range"][0].split("/")
    assert set(first.birth_dates) >= {str(year) for year in range(int(start), int(end) + 1)}


def test_listing_date_with_utc_offset_is_read(un: ParsedList) -> None:
    offsets = [record for record in un.records if record.listed_on == date(2015, 4, 14)]
    assert offsets  # published as "2015-04-14-04:00"


def test_unknown_element_is_kept_in_the_raw_record_and_reported(tmp_path: Path) -> None:
    person = PERSON.replace("</INDIVIDUAL>", "<FAVOURITE_COLOUR>blue</FAVOURITE_COLOUR></INDIVIDUAL>")
    parsed = UN_XML.parse([_write(tmp_path, person)])
    (record,) = parsed.records
    assert record.properties["unknown:FAVOURITE_COLOUR"] == ("blue",)
    assert parsed.warnings == (
        "consolidated.xml:4: unknown element <FAVOURITE_COLOUR> kept in the raw record",
    )


def test_bad_listing_date_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, PERSON.replace("2016-11-30", "30/11/2016"))
    with pytest.raises(ParseError) as caught:
        UN_XML.parse([path])
    assert str(caught.value) == f"{path}:4: bad LISTED_ON '30/11/2016': expected YYYY-MM-DD"


def test_impossible_date_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, PERSON.replace("2016-11-30", "2016-02-30"))
    with pytest.raises(ParseError, match="bad LISTED_ON '2016-02-30'"):
        UN_XML.parse([path])


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    data = UN_2018_10.read_bytes()[:200_000]
    path = tmp_path / "consolidated.xml"
    path.write_bytes(data)
    with pytest.raises(ParseError, match="XML ends early: .*is the file truncated"):
        UN_XML.parse([path])


def test_other_xml_is_a_format_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<export><sanctionEntity/></export>", encoding="utf-8")
    assert not UN_XML.sniff([path])
    with pytest.raises(FormatMismatch, match="root element is <export>, expected <CONSOLIDATED_LIST>"):
        UN_XML.parse([path])


def test_reference_twice_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, PERSON + "\n" + PERSON)
    with pytest.raises(ParseError, match=r":5: reference KPi.033 appears twice \(first at line 4\)"):
        UN_XML.parse([path])


def test_billion_laughs_in_a_un_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "consolidated.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE CONSOLIDATED_LIST [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        f"<CONSOLIDATED_LIST><INDIVIDUALS>{PERSON.replace('RI', '&b;')}</INDIVIDUALS></CONSOLIDATED_LIST>",
        encoding="utf-8",
    )
    with pytest.raises(ParseError, match="declares entity 'a'"):
        UN_XML.parse([path])
