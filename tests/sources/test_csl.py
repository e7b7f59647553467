"""US Consolidated Screening List: both real CSV layouts, the hand-written JSON, and broken files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, Identifier, Link, Name, ParsedList
from listwatch.sources import detect_format
from listwatch.sources.csl import CSL_CSV, CSL_JSON, csl_list_id
from tests.conftest import CSL_2019, CSL_2025, DPL_2019_06
from tests.sources.support import find_record

CSL_JSON_FILE = Path(__file__).parent / "data" / "csl_handwritten.json"  # hand-written: see data/README.md


@pytest.fixture(scope="module")
def csl_2019() -> ParsedList:
    return CSL_CSV.parse([CSL_2019])


@pytest.fixture(scope="module")
def csl_2025() -> ParsedList:
    return CSL_CSV.parse([CSL_2025])


def _part(parsed: ParsedList, list_id: str) -> ParsedList:
    return next(part for part in parsed.parts if part.list_id == list_id)


def _counts(parsed: ParsedList) -> dict[str, int]:
    return {str(part.list_id): len(part.records) for part in parsed.parts}


def test_2019_layout_gives_one_list_per_source(csl_2019: ParsedList) -> None:
    assert _counts(csl_2019) == {
        "us_csl_cap": 1, "us_csl_dpl": 7, "us_csl_dtc": 10, "us_bis_entity": 18, "us_csl_isn": 3,
        "us_csl_plc": 13, "us_csl_sdn": 28, "us_csl_ssi": 26, "us_csl_uvl": 4,
    }  # fmt: skip
    assert csl_2019.records == () and csl_2019.list_id is None and csl_2019.format == "us-csl-csv"


def test_current_layout_gives_one_list_per_source(csl_2025: ParsedList) -> None:
    assert _counts(csl_2025) == {
        "us_csl_dpl": 1, "us_csl_dtc": 1, "us_bis_entity": 1, "us_csl_fse": 1, "us_csl_isn": 1,
        "us_csl_meu": 1, "us_csl_plc": 2, "us_csl_ssi": 3, "us_csl_sdn": 1, "us_csl_uvl": 1,
    }  # fmt: skip
    assert all(part.warnings == () for part in csl_2025.parts)


def test_both_layouts_are_recognised() -> None:
    assert detect_format([CSL_2019]) is CSL_CSV
    assert detect_format([CSL_2025]) is CSL_CSV
    assert detect_format([CSL_JSON_FILE]) is CSL_JSON


def test_source_names_map_to_list_ids() -> None:
    assert csl_list_id("Entity List (EL) - Bureau of Industry and Security") == "us_bis_entity"
    assert csl_list_id("Military End User (MEU) List - Bureau of Industry and Security") == "us_csl_meu"
    assert (
        csl_list_id("Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department")
        == "us_csl_cmic"
    )
    assert (
        csl_list_id("Non-SDN Menu-Based Sanctions List (NS-MBS List) - Treasury Department") == "us_csl_mbs"
    )
    assert csl_list_id("Some New List (SNL) - Department of Something") is None


def test_2019_ids_read_country_number_type(csl_2019: ParsedList) -> None:
    record = find_record(_part(csl_2019, "us_csl_sdn"), "20264")
    assert record.identifiers == (Identifier("tax_id", "80-0890696", country="US", note="Tax ID No."),)
    assert record.addresses == (
        Address(street="80 SW 8th Street Suite 2000, Miami, FL, 33130", country="US"),
    )
    assert record.countries == ("us",) and record.schema == "Company"
    vessel = find_record(_part(csl_2019, "us_csl_sdn"), "23156")
    assert vessel.schema == "Vessel"
    assert vessel.identifiers == (Identifier("imo", "8898831"),)
    assert vessel.links == (Link("linked_to", "YUSONG SHIPPING CO"),)


def test_current_ids_read_type_number_country(csl_2025: ParsedList) -> None:
    record = find_record(_part(csl_2025, "us_csl_sdn"), "52291")
    assert record.schema == "Person" and record.names == (Name("RIM, Ryong Nam"),)
    assert record.identifiers == (Identifier("passport", "836238033", country="KP"),)
    assert record.properties["gender"] == ("Male",)
    assert record.properties["secondary_sanctions_risk"] == (
        "North Korea Sanctions Regulations, sections 510.201 and 510.210",
    )
    assert record.birth_dates == ("1978-12-05",)
    assert record.countries == ("cn", "kp")
    assert record.properties["csl_id"] == ("52291",)


def test_lists_without_numbers_are_keyed_by_name_and_dated(csl_2019: ParsedList) -> None:
    el = _part(csl_2019, "us_bis_entity")
    record = find_record(el, "3K Aviation Consulting and Logistics")
    assert record.names[1] == Name("3K Havacilik ve Danismanlik SAN. TIC. LTD. ST.", "alias")
    assert record.listed_on == date(2018, 9, 4)
    assert record.properties["license_policy"] == ("Presumption of denial.",)
    assert len(record.addresses) == 2
    dpl = find_record(_part(csl_2019, "us_csl_dpl"), "ADRIAN MANUEL HERNANDEZ")
    assert dpl.properties["expires_on"] == ("2020-10-13",) and dpl.listed_on == date(2017, 10, 16)


def test_rows_with_the_same_key_in_one_list_are_merged_and_warned(csl_2019: ParsedList) -> None:
    warnings = _part(csl_2019, "us_bis_entity").warnings
    assert len(warnings) == 4
    assert all("merged into one" in warning for warning in warnings)


def test_json_gives_the_same_records_as_csv_would() -> None:
    parsed = CSL_JSON.parse([CSL_JSON_FILE])
    assert _counts(parsed) == {"us_bis_entity": 1, "us_csl_plc": 1, "us_csl_sdn": 1}
    assert parsed.published == date(2025, 4, 1)
    record = find_record(_part(parsed, "us_csl_sdn"), "52291")
    assert record.identifiers == (
        Identifier("passport", "836238033", country="KP", note="issued 2016-06-02 expires 2021-06-02"),
    )
    el = find_record(_part(parsed, "us_bis_entity"), "Academy of Aerospace Solid Propulsion Technology")
    assert el.addresses == (
        Address(street="No. 1 Yuanyuan Road", city="Xi'an, Shaanxi, 710025", country="CN"),
    )
    assert el.listed_on == date(2020, 12, 23)


def test_unknown_json_field_is_kept_in_the_raw_record() -> None:
    parsed = CSL_JSON.parse([CSL_JSON_FILE])
    record = find_record(_part(parsed, "us_csl_plc"), "9673")
    assert record.properties["unknown:last_reviewed"] == ("2024-11-30",)
    assert "csl_handwritten.json:60: unknown column 'last_reviewed' kept in the raw record" in parsed.warnings


def _csv(tmp_path: Path, *rows: str, header: str | None = None) -> Path:
    path = tmp_path / "consolidated.csv"
    first = header or CSL_2025.read_text(encoding="utf-8").splitlines()[0]
    path.write_text("\n".join([first, *rows]) + "\n", encoding="utf-8")
    return path


ROW_2025 = (
    '"x1","Entity List (EL) - Bureau of Industry and Security","","","","Acme Ltd.","","Main St, Tehran, IR","85 FR 1","2020-01-02"'
    + ',""' * 19
)


def test_unknown_source_goes_to_a_catch_all_list(tmp_path: Path) -> None:
    row = ROW_2025.replace(
        "Entity List (EL) - Bureau of Industry and Security", "Brand New List (BNL) - Somebody"
    )
    parsed = CSL_CSV.parse([_csv(tmp_path, row)])
    assert _counts(parsed) == {"us_csl_other": 1}
    assert parsed.parts[0].warnings == (
        "consolidated.csv:2: source list 'Brand New List (BNL) - Somebody' is not known here; its entries go to us_csl_other",
    )


def test_unknown_column_is_kept_in_the_raw_record(tmp_path: Path) -> None:
    header = CSL_2025.read_text(encoding="utf-8").splitlines()[0] + ",risk_score"
    parsed = CSL_CSV.parse([_csv(tmp_path, ROW_2025 + ',"high"', header=header)])
    (record,) = parsed.parts[0].records
    assert record.properties["unknown:risk_score"] == ("high",)
    assert parsed.parts[0].warnings == (
        "consolidated.csv:1: unknown column 'risk_score' kept in the raw record",
    )


def test_bad_start_date_names_the_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, ROW_2025, ROW_2025.replace("2020-01-02", "01/02/2020"))
    with pytest.raises(ParseError) as caught:
        CSL_CSV.parse([path])
    assert str(caught.value) == f"{path}:3: bad start_date '01/02/2020': expected YYYY-MM-DD"


def test_truncated_row_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, ROW_2025, ROW_2025[:60])
    with pytest.raises(ParseError, match=r":3: row has 3 fields, the header has 29; is the file truncated\?"):
        CSL_CSV.parse([path])


def test_truncated_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "csl.json"
    path.write_text(CSL_JSON_FILE.read_text(encoding="utf-8")[:1500], encoding="utf-8")
    with pytest.raises(ParseError, match=r"csl.json:\d+: JSON ends early; is the file truncated\?"):
        CSL_JSON.parse([path])


def test_json_of_another_shape_is_a_format_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"data": []}', encoding="utf-8")
    with pytest.raises(FormatMismatch, match='no "results" list'):
        CSL_JSON.parse([path])


def test_another_tabular_file_is_not_a_csl(tmp_path: Path) -> None:
    assert not CSL_CSV.sniff([DPL_2019_06])
    with pytest.raises(FormatMismatch, match=r":1: not a Consolidated Screening List CSV: malformed CSV"):
        CSL_CSV.parse([DPL_2019_06])
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(
        FormatMismatch, match="not a Consolidated Screening List CSV: no 'source', 'name' column"
    ):
        CSL_CSV.parse([other])
