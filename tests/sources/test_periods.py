from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import ParseError
from listwatch.model import EventKind, Link, Name, ParsedList
from listwatch.sources import detect_format, get_format
from listwatch.sources.periods import PERIODS_CSV
from tests.conftest import CCMC_1237, DOD_1260H
from tests.sources.support import events_of, find_record

EDITION_2025 = (
    "https://media.defense.gov/2025/Jan/07/2003625471/-1/-1/1/"
    "ENTITIES-IDENTIFIED-AS-CHINESE-MILITARY-COMPANIES-OPERATING-IN-THE-UNITED-STATES.PDF"
)

HEADER = "Name,Clean Name,Alias,Previous Name,Parent Name,Note,Start date,End date,Source Url\n"
ACME = "Acme Corp. (ACME)*,Acme Corp.,ACME,,,,2021-06-03,,\n"


@pytest.fixture(scope="module")
def dod() -> ParsedList:
    return PERIODS_CSV.parse([DOD_1260H])


def _timeline(parsed: ParsedList, key: str) -> list[tuple[EventKind, date]]:
    return [(event.kind, event.effective_on) for event in events_of(parsed, key)]


def _write(tmp_path: Path, text: str, name: str = "sanctions.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_1260h_file_groups_397_periods_into_223_entities(dod: ParsedList) -> None:
    assert dod.format == "periods-csv"
    assert len(dod.records) == 223
    assert len({record.key for record in dod.records}) == 223
    assert Counter(event.kind for event in dod.events or ()) == {
        EventKind.LISTED: 224,
        EventKind.DELISTED: 19,
    }
    assert dod.published == date(2026, 6, 8)
    assert dod.list_id is None


def test_format_is_registered_dated_and_detected_from_the_header() -> None:
    assert get_format("periods-csv") is PERIODS_CSV
    assert PERIODS_CSV.dated is True
    assert detect_format([DOD_1260H]) is PERIODS_CSV


def test_sniff_wants_one_file_with_name_and_start_date_columns(tmp_path: Path) -> None:
    assert PERIODS_CSV.sniff([DOD_1260H])
    assert not PERIODS_CSV.sniff([CCMC_1237])
    assert not PERIODS_CSV.sniff([DOD_1260H, DOD_1260H])
    assert PERIODS_CSV.sniff([_write(tmp_path, "NAME,START DATE\nAcme,2021-06-03\n")])


def test_china_mobile_limited_is_one_interval_from_2021_with_its_parent(dod: ParsedList) -> None:
    assert _timeline(dod, "china mobile limited") == [(EventKind.LISTED, date(2021, 6, 3))]
    listed = events_of(dod, "china mobile limited")[0]
    assert listed.citation == "DoD 1260H list edition 2021-06-03"
    assert listed.authority == "US Department of Defense"
    assert listed.legal_basis == "FY2021 NDAA s.1260H"
    record = find_record(dod, "china mobile limited")
    assert record.caption == "China Mobile Limited"
    assert record.links == (
        Link(
            "parent",
            "China Mobile Communications Group Co., Ltd.",
            target_key="china mobile communications group co ltd",
        ),
    )
    assert record.listed_on == date(2021, 6, 3)
    assert record.properties["editions"] == ("2021-06-03", "2025-01-07", "2026-06-08")
    assert record.programs == ("FY2021 NDAA s.1260H",)
    assert record.schema == "Company"


def test_megvii_closed_period_gives_listed_and_delisted_citing_the_next_edition(dod: ParsedList) -> None:
    key = "beijing megvii technology co ltd"
    assert _timeline(dod, key) == [
        (EventKind.LISTED, date(2024, 1, 31)),
        (EventKind.DELISTED, date(2025, 1, 7)),
    ]
    delisted = events_of(dod, key)[1]
    assert delisted.citation == f"Not in the DoD 1260H list edition of 2025-01-07; {EDITION_2025}"
    assert delisted.source_url == EDITION_2025
    assert delisted.line == 13


def test_changxin_delisted_and_relisted_gets_listed_delisted_listed(dod: ParsedList) -> None:
    events = events_of(dod, "changxin memory technologies inc")
    assert [(event.kind, event.effective_on) for event in events] == [
        (EventKind.LISTED, date(2025, 1, 7)),
        (EventKind.DELISTED, date(2026, 2, 17)),
        (EventKind.LISTED, date(2026, 6, 8)),
    ]
    assert events[0].citation == events[0].source_url == EDITION_2025
    # no edition of 2026-02-17 is in the file, so the delisting has no document to point to
    assert events[1].citation == "Not in the DoD 1260H list edition of 2026-02-17"
    assert events[1].source_url is None


def test_relisting_after_a_gap_gives_listed_delisted_listed(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER
        + "Acme Corp.,Acme Corp.,,,,,2021-06-03,2022-10-05,\n"
        + "Acme Corp.,Acme Corp.,,,,,2024-01-31,,https://example.org/2024.pdf\n",
    )
    parsed = PERIODS_CSV.parse([path])
    assert _timeline(parsed, "acme corp") == [
        (EventKind.LISTED, date(2021, 6, 3)),
        (EventKind.DELISTED, date(2022, 10, 5)),
        (EventKind.LISTED, date(2024, 1, 31)),
    ]
    assert events_of(parsed, "acme corp")[2].citation == "https://example.org/2024.pdf"
    assert parsed.published == date(2024, 1, 31)


def test_touching_and_overlapping_periods_merge_into_one_interval(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER
        + "Acme Corp.,,,,,,2021-06-03,2022-10-05,\n"
        + "Acme Corp.,,,,,,2022-10-05,2024-01-31,\n"
        + "Acme Corp.,,,,,,2023-01-01,2025-01-07,\n",
    )
    parsed = PERIODS_CSV.parse([path])
    assert _timeline(parsed, "acme corp") == [
        (EventKind.LISTED, date(2021, 6, 3)),
        (EventKind.DELISTED, date(2025, 1, 7)),
    ]
    assert [event.line for event in parsed.events or ()] == [2, 4]


def test_closed_period_inside_an_open_one_is_kept_listed_and_warned_about(dod: ParsedList) -> None:
    key = "yangtze memory technologies co ltd"
    assert _timeline(dod, key) == [(EventKind.LISTED, date(2024, 1, 31))]
    assert any(
        warning.startswith(f"{DOD_1260H}:208: 'Yangtze Memory Technologies Co., Ltd.': the period 2025-01-07")
        for warning in dod.warnings
    )


def test_open_period_missing_from_the_latest_edition_is_warned_about(dod: ParsedList) -> None:
    (warning,) = [w for w in dod.warnings if w.startswith(f"{DOD_1260H}:12:")]
    assert "no row in the latest edition (2026-06-08)" in warning
    assert "renamed? 'AVIC Chengdu Aircraft Co., Ltd.', line 224" in warning
    assert _timeline(dod, "china mobile limited") == [(EventKind.LISTED, date(2021, 6, 3))]
    assert not any("'China Mobile Limited'" in w for w in dod.warnings)


def test_names_keep_aliases_published_name_and_previous_names_by_kind(dod: ParsedList) -> None:
    avic = find_record(dod, "aviation industry corporation of china ltd")
    assert Name("AVIC", kind="abbreviation") in avic.names
    assert Name("Aviation Industry Corporation of China Ltd. (AVIC)", kind="alias") in avic.names
    qihoo = find_record(dod, "360 security technology inc")
    assert Name("Qihoo 360", kind="alias") in qihoo.names
    # "(Qihoo 360)*" and "(Qihoo 360)." are one published name
    assert [name.value for name in qihoo.names].count("360 Security Technology Inc. (Qihoo 360)") == 1
    chengdu = find_record(dod, "avic chengdu aircraft co ltd")
    assert (
        Name("Zhonghang Electronic Measuring Instruments Company Limited", kind="previous") in chengdu.names
    )
    assert Name("ZEMIC", kind="previous") in chengdu.names


def test_alias_cell_splits_on_commas_but_not_inside_a_legal_form(dod: ParsedList) -> None:
    knownsec = find_record(dod, "beijing zhidao chuangyu information technology co ltd")
    assert Name("Knownsec", kind="alias") in knownsec.names
    assert Name("Beijing Kownsec", kind="alias") in knownsec.names
    airborne = find_record(dod, "avic airborne systems co ltd")
    assert Name("China Avionics Systems Co., Ltd.", kind="alias") in airborne.names


def test_clean_name_that_kept_its_abbreviation_joins_the_same_entity(dod: ParsedList) -> None:
    ch_uav = find_record(dod, "aerospace ch uav co ltd")
    assert ch_uav.properties["editions"] == ("2021-06-03", "2025-01-07", "2026-06-08")
    assert Name("CH UAV", kind="alias") in ch_uav.names
    assert Name("S-SEA", kind="abbreviation") in ch_uav.names
    assert not any(record.key == "aerospace ch uav co ltd ch uav" for record in dod.records)
    # "(Limited)" is part of the name, not an abbreviation
    assert find_record(dod, "china communications construction group limited").caption == (
        "China Communications Construction Group (Limited)"
    )


def test_spelling_variants_of_a_name_are_one_entity_named_as_in_its_latest_row(dod: ParsedList) -> None:
    jonhon = find_record(dod, "avic jonhon optronic technology co ltd")
    assert _timeline(dod, jonhon.key) == [(EventKind.LISTED, date(2021, 6, 3))]
    assert jonhon.properties["editions"] == ("2021-06-03", "2025-01-07", "2026-06-08")
    assert jonhon.caption == "AVIC JONHON Optronic Technology Co., Ltd."  # line 8 spells it "Jonhon"
    xian = find_record(dod, "avic xi an aircraft industry group company ltd")
    assert xian.properties["editions"] == ("2021-06-03", "2025-01-07", "2026-06-08")


def test_notes_are_kept_on_the_record(dod: ParsedList) -> None:
    smic_hk = find_record(dod, "smic hong kong international company limited")
    assert smic_hk.properties["note"] == ("No longer owned by SMIC",)


def test_name_without_clean_name_loses_its_footnote_star(tmp_path: Path) -> None:
    path = _write(tmp_path, "Name,Start date\nAcme Group (Shenzhen)*,2021-06-03\n")
    (acme,) = PERIODS_CSV.parse([path]).records
    assert acme.names == (Name("Acme Group (Shenzhen)"),)


def test_uncleaned_name_after_a_legal_form_gives_up_its_parenthesised_alias(tmp_path: Path) -> None:
    path = _write(tmp_path, "Name,Start date\nAcme Corp. (ACME)*,2021-06-03\n")
    (acme,) = PERIODS_CSV.parse([path]).records
    assert acme.key == "acme corp"
    assert acme.names == (
        Name("Acme Corp."),
        Name("Acme Corp. (ACME)", kind="alias"),
        Name("ACME", kind="abbreviation"),
    )


BAD_ROWS = [
    ("Acme Corp.,,,,,,2021-02-30,,\n", "bad start date '2021-02-30': expected YYYY-MM-DD"),
    ("Acme Corp.,,,,,,03/06/2021,,\n", "bad start date '03/06/2021': expected YYYY-MM-DD"),
    ("Acme Corp.,,,,,,,,\n", "bad start date '': expected YYYY-MM-DD"),
    ("Acme Corp.,,,,,,2021-06-03,2022,\n", "bad end date '2022': expected YYYY-MM-DD"),
    ("Acme Corp.,,,,,,2022-10-05,2021-06-03,\n", "end date 2021-06-03 is not after start date 2022-10-05"),
    ("*,,,,,,2021-06-03,,\n", "empty entity name"),
    ("Acme Corp.,,,,,,2021-06-03,\n", "row has 8 fields, the header has 9; check quoting"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS)
def test_bad_row_is_refused_naming_file_and_line(tmp_path: Path, row: str, reason: str) -> None:
    path = _write(tmp_path, HEADER + ACME + row)
    with pytest.raises(ParseError) as caught:
        PERIODS_CSV.parse([path])
    assert str(caught.value) == f"{path}:3: {reason}"


def test_file_with_byte_order_mark_parses_like_the_original(tmp_path: Path, dod: ParsedList) -> None:
    bom = tmp_path / "sanctions.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + DOD_1260H.read_bytes())
    parsed = PERIODS_CSV.parse([bom])
    assert parsed.records == dod.records
    assert parsed.events == dod.events
