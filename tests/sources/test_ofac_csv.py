from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, Identifier, Link, Name, ParsedList
from listwatch.sources import detect_format
from listwatch.sources.ofac_csv import OFAC_CSV
from tests.conftest import CCMC_1237, CONS_2025_03, CONS_2025_04, SDN_2019, SDN_2021
from tests.sources.support import find_record


def _files(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


@pytest.fixture(scope="module")
def sdn_2021() -> ParsedList:
    return OFAC_CSV.parse(_files(SDN_2021))


@pytest.fixture(scope="module")
def cons_2025_04() -> ParsedList:
    return OFAC_CSV.parse(_files(CONS_2025_04))


def _main_row(ent_num: str, name: str, *, sdn_type: str = "-0- ", remarks: str = "-0- ") -> str:
    sdn_type = sdn_type if sdn_type == "-0- " else f'"{sdn_type}"'
    remarks = remarks if remarks == "-0- " else f'"{remarks}"'
    return f'{ent_num},"{name}",{sdn_type},"SDGT",' + "-0- ," * 7 + remarks


def _write(path: Path, rows: list[str], *, encoding: str = "latin-1", bom: bool = False) -> Path:
    data = "".join(row + "\r\n" for row in rows).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}: " if line is not None else f"{path}: "


# --- the real files --------------------------------------------------------------------------------


def test_2021_sdn_set_gives_one_record_per_entry(sdn_2021: ParsedList) -> None:
    keys = [record.key for record in sdn_2021.records]
    assert len(keys) == len(set(keys)) == 8976
    assert sdn_2021.format == "ofac-csv"
    assert sdn_2021.list_id == "us_ofac_sdn"
    assert sdn_2021.published is None and sdn_2021.events is None
    assert sdn_2021.warnings == ()


def test_2019_sdn_set_without_crlf_or_end_marker_gives_one_record_per_entry() -> None:
    parsed = OFAC_CSV.parse(_files(SDN_2019))
    assert len({record.key for record in parsed.records}) == len(parsed.records) == 7379
    assert parsed.list_id == "us_ofac_sdn"


def test_addresses_and_aliases_join_their_entry(sdn_2021: ParsedList) -> None:
    record = find_record(sdn_2021, "36")
    assert record.names == (Name("AEROCARIBBEAN AIRLINES"), Name("AERO-CARIBBEAN", "alias"))
    assert record.addresses == (Address(street=None, city="Havana", country="Cuba"),)
    assert record.countries == ("Cuba",)
    assert record.programs == ("CUBA",)
    assert record.remarks is None and record.properties == {}
    assert record.line == 1


def test_all_null_address_rows_are_not_addresses(sdn_2021: ParsedList) -> None:
    assert all(address.full for record in sdn_2021.records for address in record.addresses)


def test_remarks_cut_at_1000_characters_continue_from_sdn_comments(sdn_2021: ParsedList) -> None:
    record = find_record(sdn_2021, "12300")
    assert record.remarks is not None and len(record.remarks) > 1000
    # sdn.csv stops at "PROMO RAI"; sdn_comments.csv goes on with "Z S.A.S.; Linked To: ..."
    assert "Linked To: PROMO RAIZ S.A.S.; Linked To: RED MUNDIAL" in record.remarks
    assert record.remarks.endswith("Linked To: R D I S.A.")
    targets = [link.target_name for link in record.links]
    assert "PROMO RAIZ S.A.S." in targets
    assert targets[-1] == "R D I S.A."  # the final period belongs to the name here
    # the weak alias cut in two by the 1000-character limit comes back whole
    assert Name("snowsjohn", "weak_alias") in find_record(sdn_2021, "28263").names


def test_remarks_facts_join_the_record_and_the_full_text_stays(sdn_2021: ParsedList) -> None:
    record = find_record(sdn_2021, "6905")  # ABU ZUBAYDAH; the facts are tested in test_ofac_remarks.py
    assert record.schema == "Person"
    assert record.birth_dates == ("1971-03-12",)
    assert record.properties == {"birth_place": ("Riyadh, Saudi Arabia",), "nationality": ("Palestinian",)}
    assert record.countries == ("Palestinian",)
    assert record.identifiers == (Identifier("passport", "484824", "Egypt", note="issued 18 Jan 1984"),)
    assert record.names[-1] == Name("TARIQ", "weak_alias")
    assert record.remarks is not None and record.remarks.startswith("DOB 12 Mar 1971; POB Riyadh")
    # alt.csv's aliases come before the remarks' weak aliases
    assert find_record(sdn_2021, "306").names == (
        Name("BANCO NACIONAL DE CUBA"),
        Name("NATIONAL BANK OF CUBA", "alias"),
        Name("BNC", "weak_alias"),
    )
    unparsed = find_record(sdn_2021, "7849")
    assert unparsed.properties["unparsed"] == ("#2 in Special Security Organization",)
    assert unparsed.remarks is not None and "#2 in Special Security Organization" in unparsed.remarks


def test_linked_to_names_the_target_and_finds_its_key_in_the_list(sdn_2021: ParsedList) -> None:
    record = find_record(sdn_2021, "28264")  # LI, Jiadong
    assert record.links == (Link("linked_to", "LAZARUS GROUP", "27307"),)
    assert find_record(sdn_2021, "27307").caption == "LAZARUS GROUP"


def test_vessel_columns_and_remarks_become_identifiers_and_properties(sdn_2021: ParsedList) -> None:
    record = find_record(sdn_2021, "15036")  # ARTAVIL
    assert record.schema == "Vessel"
    assert Identifier("call_sign", "T2EU4") in record.identifiers
    assert Identifier("imo", "9187629") in record.identifiers
    assert Identifier("mmsi", "572469210") in record.identifiers
    assert record.properties["vessel_flag"] == ("Iran",)
    assert record.properties["vessel_type"] == ("Crude/Oil Products Tanker",)
    assert record.properties["vessel_tonnage"] == ("99,144",)
    assert record.properties["vessel_former_flag"] == ("Malta", "Tuvalu", "None Identified", "Tanzania")
    assert Name("ALPHA", "weak_alias") in record.names
    assert record.links == (Link("linked_to", "NATIONAL IRANIAN TANKER COMPANY", "15117"),)


def test_aircraft_is_an_airplane_with_its_serial_numbers(sdn_2021: ParsedList) -> None:
    record = find_record(sdn_2021, "15431")  # EP-GOM
    assert record.schema == "Airplane"
    assert Identifier("aircraft_serial", "1023409321") in record.identifiers
    assert record.properties["aircraft_model"] == ("IL76-TD",)
    assert record.properties["aircraft_built_on"] == ("1992",)


def test_programs_are_split_into_codes(sdn_2021: ParsedList) -> None:
    assert find_record(sdn_2021, "28264").programs == ("DPRK3", "CYBER2")


def test_entities_with_a_legal_form_are_companies_others_organizations(sdn_2021: ParsedList) -> None:
    assert find_record(sdn_2021, "173").schema == "Company"  # ANGLO-CARIBBEAN CO., LTD.
    assert find_record(sdn_2021, "480").schema == "Company"  # CECOEX, S.A.
    assert find_record(sdn_2021, "36").schema == "Organization"  # AEROCARIBBEAN AIRLINES
    assert find_record(sdn_2021, "27307").schema == "Organization"  # LAZARUS GROUP


def test_ns_cmic_entry_has_its_securities_dates_and_parent(cons_2025_04: ParsedList) -> None:
    record = find_record(cons_2025_04, "30923")
    assert record.caption == "CHINA MOBILE LIMITED"
    assert record.schema == "Company"
    assert record.programs == ("CMIC-EO13959",)
    isins = {i.value for i in record.identifiers if i.scheme == "isin"}
    assert {"HK0941009539", "US16941M1099"} <= isins
    assert Identifier("ticker", "941", exchange="HK") in record.identifiers
    assert Identifier("ticker", "CHL", exchange="US") in record.identifiers
    assert record.listed_on == date(2021, 6, 3)
    assert record.properties["target_type"] == ("Public Company",)
    assert record.links == (Link("linked_to", "CHINA MOBILE COMMUNICATIONS GROUP CO., LTD.", "30944"),)
    assert record.addresses[0].country == "China"


def test_cons_set_is_its_own_list_and_warns_of_remarks_without_their_continuation(
    cons_2025_04: ParsedList,
) -> None:
    assert cons_2025_04.list_id == "us_ofac_cons"
    assert len(cons_2025_04.records) == 443
    # ten entries fill the 1000-character field and the set has no cons_comments.csv
    (warning,) = cons_2025_04.warnings
    assert "cons_prim.csv" in warning and "10 entries" in warning and "cons_comments.csv" in warning


def test_cons_prim_alone_is_a_whole_set() -> None:
    parsed = OFAC_CSV.parse(_files(CONS_2025_03))
    assert parsed.list_id == "us_ofac_cons"
    assert len(parsed.records) == 443
    assert all(record.addresses == () for record in parsed.records)


def test_detection_takes_ofac_sets_and_leaves_other_formats() -> None:
    assert detect_format(_files(SDN_2021)) is OFAC_CSV
    assert detect_format(_files(CONS_2025_03)) is OFAC_CSV
    assert OFAC_CSV.sniff([CCMC_1237]) is False


# --- encodings, line ends and odd but valid files --------------------------------------------------


def test_identical_duplicate_in_cons_prim_is_kept_once(tmp_path: Path) -> None:
    data = (CONS_2025_04 / "cons_prim.csv").read_bytes().rstrip(b"\x1a")
    first_line = data.split(b"\n", 1)[0] + b"\n"
    (tmp_path / "cons_prim.csv").write_bytes(data + first_line)
    parsed = OFAC_CSV.parse([tmp_path / "cons_prim.csv"])
    assert len(parsed.records) == 443
    assert [r.key for r in parsed.records].count("9639") == 1


def test_duplicate_with_other_content_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "cons_prim.csv", [_main_row("10", "ALPHA"), _main_row("10", "BETA")])
    with pytest.raises(ParseError, match="ent_num 10 appears again with different content") as exc:
        OFAC_CSV.parse([path])
    assert str(exc.value).startswith(_where(path, 2))


def test_ctrl_z_end_marker_and_crlf_are_read(tmp_path: Path) -> None:
    path = tmp_path / "sdn.csv"
    path.write_bytes(f"{_main_row('1', 'ONE')}\r\n{_main_row('2', 'TWO')}\r\n\x1a".encode())
    parsed = OFAC_CSV.parse([path])
    assert [(r.key, r.caption, r.line) for r in parsed.records] == [("1", "ONE", 1), ("2", "TWO", 2)]


@pytest.mark.parametrize("bom", [False, True], ids=["utf-8", "utf-8 with BOM"])
def test_utf8_files_are_read(tmp_path: Path, bom: bool) -> None:
    path = _write(tmp_path / "sdn.csv", [_main_row("7", "MUÑOZ, José")], encoding="utf-8", bom=bom)
    (record,) = OFAC_CSV.parse([path]).records
    assert (record.key, record.caption) == ("7", "MUÑOZ, José")


def test_latin1_accented_names_decode(tmp_path: Path) -> None:
    # the bundled files are plain ASCII; OFAC's older files carry latin-1 accents
    main = _write(tmp_path / "sdn.csv", [_main_row("7", "MUÑOZ, José", sdn_type="individual")])
    _write(tmp_path / "alt.csv", ['7,11,"aka","PEÑA, Andrés",-0- '])
    (record,) = OFAC_CSV.parse([main, tmp_path / "alt.csv"]).records
    assert record.names == (Name("MUÑOZ, José"), Name("PEÑA, Andrés", "alias"))


def test_renamed_main_file_is_recognised_by_content_and_names_no_list(tmp_path: Path) -> None:
    renamed = tmp_path / "ofac-2025-03.csv"
    shutil.copy(CONS_2025_03 / "cons_prim.csv", renamed)
    assert OFAC_CSV.sniff([renamed]) is True
    parsed = OFAC_CSV.parse([renamed])
    assert parsed.list_id is None
    assert len(parsed.records) == 443


def test_rows_for_unknown_entries_are_warned_about_not_fatal(tmp_path: Path) -> None:
    main = _write(tmp_path / "sdn.csv", [_main_row("1", "ONE")])
    add = _write(tmp_path / "add.csv", ['1,5,-0- ,"Havana","Cuba",-0- ', '99,6,-0- ,"Lima","Peru",-0- '])
    alt = _write(tmp_path / "alt.csv", ['98,7,"aka","NOBODY",-0- '])
    parsed = OFAC_CSV.parse([main, add, alt])
    assert parsed.records[0].addresses == (Address(city="Havana", country="Cuba"),)
    assert len(parsed.warnings) == 2
    assert parsed.warnings[0].startswith(f"{add}: 1 rows refer to an ent_num not in sdn.csv")
    assert "lines 2" in parsed.warnings[0]
    assert parsed.warnings[1].startswith(f"{alt}: 1 rows")


def test_empty_optional_file_adds_nothing(tmp_path: Path) -> None:
    main = _write(tmp_path / "sdn.csv", [_main_row("1", "ONE")])
    (tmp_path / "alt.csv").write_bytes(b"\x1a")
    parsed = OFAC_CSV.parse([main, tmp_path / "alt.csv"])
    assert parsed.records[0].names == (Name("ONE"),)


# --- bad input -------------------------------------------------------------------------------------


def _first_lines(count: int) -> bytes:
    return b"".join((SDN_2021 / "sdn.csv").read_bytes().splitlines(keepends=True)[:count])


def test_sdn_cut_between_fields_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "sdn.csv"
    path.write_bytes(_first_lines(50) + b'9999,"CUT OFF, Name","individual"')
    with pytest.raises(ParseError) as exc:
        OFAC_CSV.parse([path])
    assert str(exc.value) == f"{path}:51: expected 12 fields, found 3; is the file truncated?"


def test_sdn_cut_inside_a_quoted_field_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "sdn.csv"
    path.write_bytes(_first_lines(50) + b'9999,"CUT OFF, Na')
    with pytest.raises(ParseError, match="malformed CSV .*is the file truncated") as exc:
        OFAC_CSV.parse([path])
    assert str(exc.value).startswith(_where(path, 51))


def test_wrong_field_count_in_an_address_file_is_refused(tmp_path: Path) -> None:
    main = _write(tmp_path / "sdn.csv", [_main_row("1", "ONE")])
    add = _write(tmp_path / "add.csv", ['1,5,-0- ,"Havana","Cuba",-0- ', '1,6,"Lima","Peru"'])
    with pytest.raises(ParseError) as exc:
        OFAC_CSV.parse([main, add])
    assert str(exc.value) == f"{add}:2: expected 6 fields, found 4; is the file truncated?"


def test_non_integer_ent_num_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "sdn.csv", [_main_row("1", "ONE"), _main_row("12a", "TWO")])
    with pytest.raises(ParseError) as exc:
        OFAC_CSV.parse([path])
    assert str(exc.value) == f"{path}:2: ent_num '12a' is not an integer"


def test_empty_main_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sdn.csv"
    path.write_bytes(b"\r\n\x1a")
    with pytest.raises(ParseError) as exc:
        OFAC_CSV.parse([path])
    assert str(exc.value) == f"{path}: file is empty"


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sdn.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\nmore")
    with pytest.raises(ParseError, match="binary file") as exc:
        OFAC_CSV.parse([path])
    assert str(exc.value).startswith(_where(path, 1))
    renamed = tmp_path / "renamed.bin"
    shutil.copy(path, renamed)
    assert OFAC_CSV.sniff([renamed]) is False


@pytest.mark.parametrize("name", ["designations.csv", "sdn.csv"])
def test_file_of_another_format_is_a_mismatch(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("date,action,entity\n2021-01-14,listed,Acme Corp.\n", encoding="utf-8")
    # a file named sdn.csv is taken as OFAC's on its name, and parsing then says what is wrong
    assert OFAC_CSV.sniff([path]) is (name == "sdn.csv")
    with pytest.raises(FormatMismatch) as exc:
        OFAC_CSV.parse([path])
    assert str(exc.value).startswith(_where(path, 1) + "not an OFAC sdn.csv/cons_prim.csv")


def test_set_mixing_sdn_and_cons_files_is_a_mismatch_naming_the_stray_file() -> None:
    cons_add = CONS_2025_04 / "cons_add.csv"
    with pytest.raises(FormatMismatch, match="ingest one set at a time") as exc:
        OFAC_CSV.parse([SDN_2021 / "sdn.csv", cons_add])
    assert str(exc.value).startswith(f"{cons_add}: belongs to the consolidated set")


def test_unknown_file_in_a_set_is_a_mismatch_naming_it(tmp_path: Path) -> None:
    stray = _write(tmp_path / "notes.csv", ["hello"])
    with pytest.raises(FormatMismatch, match="not a file of an OFAC CSV set") as exc:
        OFAC_CSV.parse([SDN_2021 / "sdn.csv", stray])
    assert str(exc.value).startswith(f"{stray}: ")


def test_set_without_its_main_file_is_a_mismatch() -> None:
    with pytest.raises(FormatMismatch, match="the set has no sdn.csv") as exc:
        OFAC_CSV.parse([SDN_2021 / "add.csv", SDN_2021 / "alt.csv"])
    assert str(exc.value).startswith(f"{SDN_2021 / 'add.csv'}: ")
