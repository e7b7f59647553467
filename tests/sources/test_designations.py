from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import EventKind, Identifier, Name, ParsedList
from listwatch.sources import detect_format, get_format
from listwatch.sources.designations import DESIGNATIONS_CSV
from tests.conftest import CCMC_1237, DOD_1260H
from tests.sources.support import events_of, find_record

HEADER = "date,action,entity,aliases,country,identifiers,authority,legal_basis,citation,note\n"
LISTED = "2021-01-14,listed,Acme Corp.,Acme,cn,isin:KYG9830T1067,US DoD,FY1999 NDAA s.1237,DoD release,\n"


@pytest.fixture(scope="module")
def ccmc() -> ParsedList:
    return DESIGNATIONS_CSV.parse([CCMC_1237])


def _write(tmp_path: Path, text: str, name: str = "designations.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_1237_file_parses_44_listings_the_court_actions_and_the_end_of_the_list(ccmc: ParsedList) -> None:
    assert ccmc.format == "designations-csv"
    assert len(ccmc.records) == 44
    assert Counter(event.kind for event in ccmc.events or ()) == {
        EventKind.LISTED: 44,
        EventKind.AMENDED: 1,
        EventKind.ENJOINED: 2,
        EventKind.VACATED: 1,
        EventKind.DELISTED: 43,  # every entity but Xiaomi, whose listing was vacated
    }
    assert ccmc.published == date(2021, 6, 3)
    assert ccmc.list_id is None
    assert ccmc.warnings == ()


def test_format_is_registered_dated_and_detected_from_the_header() -> None:
    assert get_format("designations-csv") is DESIGNATIONS_CSV
    assert DESIGNATIONS_CSV.dated is True
    assert detect_format([CCMC_1237]) is DESIGNATIONS_CSV


def test_sniff_accepts_one_designations_file_only(tmp_path: Path) -> None:
    assert DESIGNATIONS_CSV.sniff([CCMC_1237])
    assert not DESIGNATIONS_CSV.sniff([DOD_1260H])
    assert not DESIGNATIONS_CSV.sniff([CCMC_1237, CCMC_1237])
    assert not DESIGNATIONS_CSV.sniff([tmp_path / "missing.csv"])
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + CCMC_1237.read_bytes())
    assert DESIGNATIONS_CSV.sniff([bom])


def test_xiaomi_is_listed_then_enjoined_then_vacated(ccmc: ParsedList) -> None:
    events = events_of(ccmc, "xiaomi corporation")
    assert [(event.kind, event.effective_on) for event in events] == [
        (EventKind.LISTED, date(2021, 1, 14)),
        (EventKind.ENJOINED, date(2021, 3, 12)),
        (EventKind.VACATED, date(2021, 5, 25)),
    ]
    enjoined = events[1]
    assert enjoined.authority == "US District Court for the District of Columbia"
    assert enjoined.citation and "No. 21-cv-280" in enjoined.citation
    assert enjoined.note and "enjoined" in enjoined.note
    assert enjoined.line == 47


def test_xiaomi_record_keeps_its_chinese_alias_isin_and_hong_kong_ticker(ccmc: ParsedList) -> None:
    xiaomi = find_record(ccmc, "xiaomi corporation")
    assert xiaomi.names == (
        Name("Xiaomi Corporation"),
        Name("Xiaomi", kind="alias"),
        Name("小米集团", kind="alias"),
    )
    assert xiaomi.identifiers == (
        Identifier("ticker", "1810", exchange="HK"),
        Identifier("isin", "KYG9830T1067"),
    )
    assert xiaomi.countries == ("cn",)
    assert xiaomi.schema == "Company"
    assert xiaomi.listed_on == date(2021, 1, 14)
    assert xiaomi.line == 37


def test_luokung_is_amended_enjoined_and_delisted_with_its_nasdaq_ticker(ccmc: ParsedList) -> None:
    events = events_of(ccmc, "luokung technology corp")
    assert [(event.kind, event.effective_on) for event in events] == [
        (EventKind.LISTED, date(2021, 1, 14)),
        (EventKind.AMENDED, date(2021, 3, 9)),
        (EventKind.ENJOINED, date(2021, 5, 5)),
        (EventKind.DELISTED, date(2021, 6, 3)),
    ]
    assert events[1].note and "prohibition from 2021-05-08" in events[1].note
    assert events[3].legal_basis and events[3].legal_basis.startswith("EO 14032")
    luokung = find_record(ccmc, "luokung technology corp")
    assert luokung.identifiers == (Identifier("ticker", "LKCO", exchange="NASDAQ"),)


def test_program_and_authority_come_from_the_listing_not_from_the_delisting(ccmc: ParsedList) -> None:
    avic = find_record(ccmc, "aviation industry corporation of china")
    assert avic.programs == ("FY1999 NDAA s.1237",)
    assert avic.properties["legal_basis"] == ("FY1999 NDAA s.1237; EO 13959 (as amended by EO 14007)",)
    assert avic.properties["authority"] == ("US Department of Defense",)
    xiaomi = find_record(ccmc, "xiaomi corporation")
    assert xiaomi.properties["authority"] == ("US Department of Defense",)


def test_a_url_in_the_citation_becomes_the_events_source_url(ccmc: ParsedList) -> None:
    smic = events_of(ccmc, "semiconductor manufacturing international corporation")[0]
    assert smic.source_url == "https://www.defense.gov/News/Releases/Release/Article/2434513/"
    assert events_of(ccmc, "xiaomi corporation")[0].source_url is None


def test_file_with_byte_order_mark_parses_like_the_original(tmp_path: Path, ccmc: ParsedList) -> None:
    bom = tmp_path / "designations.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + CCMC_1237.read_bytes())
    parsed = DESIGNATIONS_CSV.parse([bom])
    assert parsed.records == ccmc.records
    assert parsed.events == ccmc.events


def test_rows_out_of_date_order_are_sorted_by_date_then_file_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER
        + "2021-06-03,delisted,Acme Corp.,,,,,,,\n"
        + LISTED
        + "2021-03-01,enjoined,ACME Corp,,,,Court,,,\n"
        + "2021-03-01,reinstated,Acme Corp.,,,,Court,,,\n",
    )
    parsed = DESIGNATIONS_CSV.parse([path])
    assert [(event.kind, event.line) for event in parsed.events or ()] == [
        (EventKind.LISTED, 3),
        (EventKind.ENJOINED, 4),
        (EventKind.REINSTATED, 5),
        (EventKind.DELISTED, 2),
    ]
    assert {event.record_key for event in parsed.events or ()} == {"acme corp"}
    assert len(parsed.records) == 1
    assert parsed.records[0].caption == "Acme Corp."
    assert parsed.published == date(2021, 6, 3)


def test_rows_of_one_entity_merge_names_identifiers_and_countries_in_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER
        + LISTED
        + "2021-02-01,amended,Acme Corp.,Acme; 阿克米,cn; hk,ticker:ACME (NASDAQ); isin:KYG9830T1067,,,,\n",
    )
    (acme,) = DESIGNATIONS_CSV.parse([path]).records
    assert [name.value for name in acme.names] == ["Acme Corp.", "Acme", "阿克米"]
    assert acme.identifiers == (
        Identifier("isin", "KYG9830T1067"),
        Identifier("ticker", "ACME", exchange="NASDAQ"),
    )
    assert acme.countries == ("cn", "hk")


def test_ticker_exchange_is_read_from_parentheses_suffix_or_space(tmp_path: Path) -> None:
    row = "2021-01-14,listed,Acme Corp.,,us,ticker:BRK.B (NYSE); ticker:941 HK; ticker:ACME,,,,\n"
    (acme,) = DESIGNATIONS_CSV.parse([_write(tmp_path, HEADER + row)]).records
    assert acme.identifiers == (
        Identifier("ticker", "BRK.B", exchange="NYSE"),  # the parenthesised form keeps the dot
        Identifier("ticker", "941", exchange="HK"),
        Identifier("ticker", "ACME"),
    )


def test_optional_columns_set_list_schema_program_and_source_url(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "date,action,entity,list,schema,program,source_url,legal_basis\n"
        "2021-01-14,listed,Jane Roe,us_dod_1237_ccmc,Person,CCMC_1237,https://example.org/a,FY1999 NDAA s.1237\n"
        "2021-06-03,delisted,Jane Roe,us_dod_1237_ccmc,,,,EO 14032\n",
    )
    parsed = DESIGNATIONS_CSV.parse([path])
    assert parsed.list_id == "us_dod_1237_ccmc"
    (jane,) = parsed.records
    assert jane.schema == "Person"
    assert jane.programs == ("CCMC_1237",)
    assert (parsed.events or ())[0].source_url == "https://example.org/a"


def test_header_is_read_case_insensitively_and_only_date_action_entity_are_required(tmp_path: Path) -> None:
    path = _write(tmp_path, "Date,ACTION,Entity\n2021-01-14,Listed,Acme Corp.\n")
    parsed = DESIGNATIONS_CSV.parse([path])
    assert [event.kind for event in parsed.events or ()] == [EventKind.LISTED]
    assert parsed.records[0].programs == ()


BAD_ROWS = [
    ("2021-02-30,listed,Acme Corp.,,,,,,,\n", "bad date '2021-02-30': expected YYYY-MM-DD"),
    ("21/01/2021,listed,Acme Corp.,,,,,,,\n", "bad date '21/01/2021': expected YYYY-MM-DD"),
    ("20210114,listed,Acme Corp.,,,,,,,\n", "bad date '20210114': expected YYYY-MM-DD"),
    ("2021-01-14,designated,Acme Corp.,,,,,,,\n", "unknown action 'designated'; expected one of listed,"),
    ("2021-01-14,listed, ,,,,,,,\n", "empty entity name"),
    ("2021-01-14,listed,Acme Corp.,,,cusip:123456789,,,,\n", "unknown identifier scheme 'cusip'"),
    (
        "2021-01-14,listed,Acme Corp.,,,KYG9830T1067,,,,\n",
        "bad identifier 'KYG9830T1067': expected scheme:value",
    ),
    ("2021-01-14,listed,Acme Corp.,,China,,,,,\n", "bad country 'China': expected ISO 3166 alpha-2"),
    ("2021-01-14,listed,Acme Corp.,,,,,,\n", "row has 9 fields, the header has 10"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_bad_row_is_refused_naming_file_and_line(tmp_path: Path, row: str, reason: str) -> None:
    path = _write(tmp_path, HEADER + LISTED + row)
    with pytest.raises(ParseError) as caught:
        DESIGNATIONS_CSV.parse([path])
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: {reason}")


def test_action_on_an_entity_that_is_never_listed_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + LISTED + "2021-03-12,enjoined,Other Corp.,,,,Court,,,\n")
    with pytest.raises(ParseError) as caught:
        DESIGNATIONS_CSV.parse([path])
    assert str(caught.value) == (
        f"{path}:3: 'Other Corp.' is enjoined on 2021-03-12 but has no 'listed' row; add the row that lists it"
    )


def test_other_formats_file_is_a_format_mismatch() -> None:
    with pytest.raises(FormatMismatch) as caught:
        DESIGNATIONS_CSV.parse([DOD_1260H])
    assert str(caught.value).startswith(
        f"{DOD_1260H}:1: not a designations-csv file: no 'date', 'action', 'entity' column"
    )


def test_list_column_must_name_one_list_in_every_row(tmp_path: Path) -> None:
    two_lists = _write(
        tmp_path,
        "date,action,entity,list\n2021-01-14,listed,Acme Corp.,list_a\n2021-01-14,listed,Beta Corp.,list_b\n",
    )
    with pytest.raises(ParseError) as caught:
        DESIGNATIONS_CSV.parse([two_lists])
    assert str(caught.value).startswith(f"{two_lists}:3: list 'list_b' differs from 'list_a' on line 2")
    empty = _write(
        tmp_path,
        "date,action,entity,list\n2021-01-14,listed,Acme Corp.,list_a\n2021-01-14,listed,Beta Corp.,\n",
        name="empty.csv",
    )
    with pytest.raises(ParseError, match=r"empty\.csv:3: empty 'list'"):
        DESIGNATIONS_CSV.parse([empty])


def test_conflicting_or_unknown_schema_is_refused(tmp_path: Path) -> None:
    unknown = _write(tmp_path, "date,action,entity,schema\n2021-01-14,listed,Acme Corp.,Ship\n")
    with pytest.raises(ParseError, match=r":2: unknown schema 'Ship'"):
        DESIGNATIONS_CSV.parse([unknown])
    conflicting = _write(
        tmp_path,
        "date,action,entity,schema\n2021-01-14,listed,Acme Corp.,Company\n2021-02-14,amended,Acme Corp.,Person\n",
        name="conflicting.csv",
    )
    with pytest.raises(ParseError, match=r":3: schema 'Person' for 'Acme Corp\.' conflicts with 'Company'"):
        DESIGNATIONS_CSV.parse([conflicting])
