"""OFAC's advanced (`sdn_advanced.xml`) and enhanced (`SDN_ENHANCED.XML`) XML, on hand-written files
holding real entries of the bundled CSV sets (no real file of either format was at hand)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listwatch.cli import app
from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Identifier, Link, Name, ParsedList, Record
from listwatch.sources import FORMATS, SourceFormat, detect_format
from listwatch.sources.ofac_advanced import OFAC_ADVANCED
from listwatch.sources.ofac_csv import OFAC_CSV
from listwatch.sources.ofac_enhanced import OFAC_ENHANCED
from listwatch.sources.ofac_facts import Period
from listwatch.store import open_store
from tests.conftest import CONS_2025_04, SDN_2021, UN_2018_10
from tests.sources.support import find_record
from tests.support import store_state

DATA = Path(__file__).parent / "data" / "ofac_advanced"  # written by hand, see its README.md
ADVANCED = DATA / "sdn_advanced.xml"
CONS_ADVANCED = DATA / "cons_advanced.xml"
ENHANCED = DATA / "SDN_ENHANCED.XML"
SDN_KEYS = ["36", "15002", "15037", "15117"]


@pytest.fixture(scope="module")
def advanced() -> ParsedList:
    return OFAC_ADVANCED.parse([ADVANCED])


@pytest.fixture(scope="module")
def enhanced() -> ParsedList:
    return OFAC_ENHANCED.parse([ENHANCED])


@pytest.fixture(scope="module")
def sdn_csv() -> ParsedList:
    return OFAC_CSV.parse(sorted(SDN_2021.iterdir()))


def _same_facts(ours: Record, theirs: Record) -> None:
    """The facts both formats state: names, programs, identifiers, countries, addresses, births."""
    assert ours.schema == theirs.schema
    assert ours.names == theirs.names
    assert ours.programs == theirs.programs
    assert set(ours.identifiers) == set(theirs.identifiers)  # the formats order them differently
    assert ours.countries == theirs.countries
    assert ours.addresses == theirs.addresses
    assert ours.birth_dates == theirs.birth_dates


# --- what the files give ---------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "path"), [(OFAC_ADVANCED, ADVANCED), (OFAC_ENHANCED, ENHANCED)])
def test_entries_list_date_and_detection(fmt: SourceFormat, path: Path) -> None:
    parsed = fmt.parse([path])
    assert [record.key for record in parsed.records] == SDN_KEYS
    assert parsed.list_id == "us_ofac_sdn"
    assert parsed.published == date(2021, 7, 1)
    assert detect_format([path]) is fmt
    assert fmt.name in FORMATS


@pytest.mark.parametrize("key", ["36", "15002", "15037"])
def test_advanced_entry_gives_what_the_csv_gives(advanced: ParsedList, sdn_csv: ParsedList, key: str) -> None:
    ours, theirs = find_record(advanced, key), find_record(sdn_csv, key)
    _same_facts(ours, theirs)
    assert ours.links == theirs.links
    for name, values in theirs.properties.items():  # every typed CSV fact, the same
        assert ours.properties[name] == values, name


def test_enhanced_file_gives_what_the_advanced_file_gives(advanced: ParsedList, enhanced: ParsedList) -> None:
    for key in SDN_KEYS:
        ours, theirs = find_record(enhanced, key), find_record(advanced, key)
        _same_facts(ours, theirs)
        assert (ours.links, ours.listed_on) == (theirs.links, theirs.listed_on)


def test_person_names_documents_and_birth(advanced: ParsedList) -> None:
    record = find_record(advanced, "15002")
    assert record.names == (
        Name("FLORES APODACA, Agustin"), Name("EL NINO", "weak_alias"), Name("EL BARBON", "weak_alias"),
        Name("EL INGENIERO", "weak_alias"),
    )  # fmt: skip
    assert record.identifiers[0] == Identifier("passport", "040070827", country="Mexico")
    assert record.birth_dates == ("1964-06-09",)
    assert record.properties["gender"] == ("Male",) and record.properties["nationality"] == ("Mexico",)


def test_vessel_link_and_listing_date_from_entry_events(advanced: ParsedList) -> None:
    record = find_record(advanced, "15037")
    assert record.schema == "Vessel"
    assert [name.kind for name in record.names] == ["primary", "previous", "previous", "previous"]
    assert record.links == (Link("linked_to", "NATIONAL IRANIAN TANKER COMPANY", "15117"),)
    assert record.properties["relationship"] == (
        "Property in the interest of: NATIONAL IRANIAN TANKER COMPANY",
    )
    assert record.listed_on == date(2018, 11, 5)
    assert record.properties["legal_basis"] == ("Executive Order 13846 (Iran)",)
    assert record.properties["entry_event"] == ("Created 2018-11-05 (Executive Order 13846 (Iran))",)
    assert "legal_basis" not in find_record(advanced, "36").properties  # OFAC's "Unknown" is no basis


def test_ns_cmic_entries_give_what_the_consolidated_csv_gives() -> None:
    parsed = OFAC_ADVANCED.parse([CONS_ADVANCED])
    assert (parsed.list_id, parsed.published) == ("us_ofac_cons", date(2025, 4, 1))
    csv = OFAC_CSV.parse(sorted(CONS_2025_04.iterdir()))
    for key in ("30923", "30944"):
        ours, theirs = find_record(parsed, key), find_record(csv, key)
        _same_facts(ours, theirs)
        assert (ours.links, ours.listed_on) == (theirs.links, theirs.listed_on)
        for name, values in theirs.properties.items():
            assert ours.properties[name] == values, name
    mobile = find_record(parsed, "30923")
    assert Identifier("isin", "HK0941009539") in mobile.identifiers
    assert Identifier("ticker", "941", exchange="HK") in mobile.identifiers
    assert mobile.properties["effective_on"] == ("2021-08-02",)


@pytest.mark.parametrize(
    ("fmt", "path", "element", "line"),
    [(OFAC_ADVANCED, ADVANCED, "Profile/RiskScore", 259), (OFAC_ENHANCED, ENHANCED, "entity/riskScore", 133)],
)
def test_unknown_element_is_kept_and_reported(fmt: SourceFormat, path: Path, element: str, line: int) -> None:
    parsed = fmt.parse([path])
    assert find_record(parsed, "15002").properties[f"unknown:{element}"] == ("7",)
    assert parsed.warnings == (f"{path.name}:{line}: unknown element <{element}> kept in the raw record",)


def test_unknown_section_is_reported(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        ADVANCED,
        "<ProfileRelationships>",
        "<Watchers><Watcher/></Watchers>\n  <ProfileRelationships>",
    )
    assert any("unknown section <Watchers> skipped" in w for w in OFAC_ADVANCED.parse([path]).warnings)


@pytest.mark.parametrize(
    ("period", "words"),
    [
        (Period(date(1964, 6, 9), date(1964, 6, 9)), "09 Jun 1964"),
        (Period(date(1938, 9, 1), date(1938, 9, 30)), "Sep 1938"),
        (Period(date(1951, 1, 1), date(1951, 12, 31), approximate=True), "circa 1951"),
        (Period(date(1929, 1, 1), date(1930, 12, 31)), "1929 to 1930"),
        (Period(date(1950, 3, 2), date(1950, 4, 5)), "02 Mar 1950 to 05 Apr 1950"),
    ],
)
def test_periods_are_worded_as_ofac_remarks(period: Period, words: str) -> None:
    assert period.text() == words


def test_a_year_range_of_birth_gives_every_year(tmp_path: Path) -> None:
    text = ADVANCED.read_text(encoding="utf-8")
    start = text.index("<DatePeriod", text.index('FeatureTypeID="8"'))
    end = text.index("</DatePeriod>", start) + len("</DatePeriod>")
    period = (
        '<DatePeriod CalendarTypeID="1"><Start Approximate="true"><From><Year>1929</Year></From></Start>'
        "<End><To><Year>1930</Year></To></End></DatePeriod>"
    )
    path = tmp_path / "sdn_advanced.xml"
    path.write_text(text[:start] + period + text[end:], encoding="utf-8")
    record = find_record(OFAC_ADVANCED.parse([path]), "15002")
    assert record.birth_dates == ("1929", "1930")
    assert record.properties["birth_date_range"] == ("1929/1930",)


# --- bad input -------------------------------------------------------------------------------------


def _edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / source.name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("fmt", "path"), [(OFAC_ADVANCED, ADVANCED), (OFAC_ENHANCED, ENHANCED)])
def test_truncated_file_is_refused(tmp_path: Path, fmt: SourceFormat, path: Path) -> None:
    cut = tmp_path / path.name
    cut.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(ParseError, match=rf"{path.name}:\d+: XML ends early: .* is the file truncated"):
        fmt.parse([cut])


@pytest.mark.parametrize(
    ("fmt", "other", "root"),
    [
        (OFAC_ADVANCED, ENHANCED, "Sanctions"),
        (OFAC_ENHANCED, ADVANCED, "sanctionsData"),
        (OFAC_ADVANCED, UN_2018_10, "Sanctions"),
        (OFAC_ENHANCED, UN_2018_10, "sanctionsData"),
    ],
)
def test_another_root_is_not_this_format(fmt: SourceFormat, other: Path, root: str) -> None:
    assert not fmt.sniff([other])
    with pytest.raises(FormatMismatch, match=f"expected <{root}>"):
        fmt.parse([other])


@pytest.mark.parametrize(("fmt", "path"), [(OFAC_ADVANCED, ADVANCED), (OFAC_ENHANCED, ENHANCED)])
@pytest.mark.parametrize(
    ("doctype", "message"),
    [
        ('<!DOCTYPE x [<!ENTITY lol "lol">]>', "declares entity 'lol'"),
        ('<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>', "declares an external entity 'ext'"),
        ('<!DOCTYPE x SYSTEM "http://example.com/x.dtd">', "names an external DTD"),
    ],
)
def test_hostile_doctype_is_refused(
    tmp_path: Path, fmt: SourceFormat, path: Path, doctype: str, message: str
) -> None:
    hostile = _edited(tmp_path, path, "<!-- Written", f"{doctype}\n<!-- Written")
    with pytest.raises(ParseError, match=rf"{path.name}:2: .*{message}"):
        fmt.parse([hostile])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<Month>7</Month><Day>1</Day></DateOfIssue>", "<Month>13</Month><Day>1</Day></DateOfIssue>",
         r"sdn_advanced.xml:4: bad DateOfIssue: 2021-13-1 is not a calendar date"),
        ("<Year>1964</Year><Month>6</Month><Day>9</Day></From>", "<Year>1964</Year><Month>2</Month><Day>30</Day></From>",
         r"sdn_advanced.xml:\d+: bad Birthdate date: 1964-2-30 is not a calendar date"),
        ("<Year>2018</Year><Month>11</Month>", "<Year>2O18</Year><Month>11</Month>",
         r"sdn_advanced.xml:\d+: bad EntryEvent Date: Year '2O18' is not a number"),
        ('IssuedBy-CountryID="11124" ValidityID="1"', 'IssuedBy-CountryID="99999" ValidityID="1"',
         r"sdn_advanced.xml:\d+: unknown CountryID '99999': not in the file's ReferenceValueSets"),
        ('FeatureTypeID="504"', 'FeatureTypeID="505"', r"unknown FeatureTypeID '505'"),
        ('To-ProfileID="15117"', 'To-ProfileID="15118"', r"To-ProfileID '15118' is not the ID of a Profile"),
        ('<VersionLocation LocationID="2" />', '<VersionLocation LocationID="3" />', r"unknown LocationID '3'"),
        ('NamePartGroupID="15021"', 'NamePartGroupID="15029"', r"unknown NamePartGroupID '15029'"),
        ('<DistinctParty FixedRef="15117">', '<DistinctParty FixedRef="15037">',
         r"sdn_advanced.xml:\d+: DistinctParty 15037 appears twice \(first at line \d+\)"),
        ('<DistinctParty FixedRef="36">', '<DistinctParty FixedRef="A36">', r"without a numeric FixedRef \('A36'\)"),
    ],
)  # fmt: skip
def test_bad_advanced_content_is_refused_with_its_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(ParseError, match=message):
        OFAC_ADVANCED.parse([_edited(tmp_path, ADVANCED, old, new)])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<dataAsOf>2021-07-01T00:00:00-04:00", "<dataAsOf>07/01/2021",
         r"SDN_ENHANCED.XML:5: bad dataAsOf '07/01/2021': expected YYYY-MM-DD"),
        ('datePublished="2012-11-27"', 'datePublished="2012-11-31"', r"SDN_ENHANCED.XML:\d+: bad datePublished"),
        # forms date.fromisoformat takes that xs:date does not
        ('datePublished="2012-11-27"', 'datePublished="20121127"', r"bad datePublished '20121127': expected YYYY-MM-DD"),
        ('datePublished="2012-11-27"', 'datePublished="2012-W48-2"', r"bad datePublished '2012-W48-2'"),
        ("<fromDateBegin>1964-06-09", "<fromDateBegin>1964-06-09junk", r"bad Birthdate fromDateBegin '1964-06-09junk'"),
        ("<dataAsOf>2021-07-01T00:00:00-04:00", "<dataAsOf>2021-07-01 00:00",
         r"SDN_ENHANCED.XML:5: bad dataAsOf '2021-07-01 00:00': expected YYYY-MM-DD"),
        ("<toDateEnd>1964-06-09</toDateEnd>", "<toDateEnd>1964-05-09</toDateEnd>",
         r"bad Birthdate: it ends \(1964-05-09\) before it starts \(1964-06-09\)"),
        ("<valueRefId>91526</valueRefId>", "<valueRefId>4</valueRefId>",
         r"SDN_ENHANCED.XML:\d+: unknown valueRefId '4': not in referenceValues"),
        ('<entity id="15117">', '<entity id="15037">', r"entity 15037 appears twice \(first at line \d+\)"),
        ('<entity id="36">', '<entity id="">', r"entity without a numeric id \(''\)"),
    ],
)  # fmt: skip
def test_bad_enhanced_content_is_refused_with_its_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(ParseError, match=message):
        OFAC_ENHANCED.parse([_edited(tmp_path, ENHANCED, old, new)])


# --- through the CLI: stored, or refused with the store unchanged ----------------------------------

runner = CliRunner()


def test_ingest_detects_the_format_and_stores_the_list(db_url: str) -> None:
    result = runner.invoke(app, ["--db", db_url, "ingest", str(ADVANCED)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "us_ofac_sdn" in result.output and "4 listed" in result.output
    result = runner.invoke(
        app, ["--db", db_url, "ingest", str(CONS_ADVANCED), "--format", "ofac-advanced-xml"]
    )
    assert result.exit_code == 0, result.output
    assert "us_ofac_cons" in result.output and "2 listed" in result.output


@pytest.mark.parametrize(("fmt", "path"), [("ofac-advanced-xml", ADVANCED), ("ofac-enhanced-xml", ENHANCED)])
def test_bad_file_is_refused_and_the_store_unchanged(
    db_url: str, tmp_path: Path, fmt: str, path: Path
) -> None:
    assert runner.invoke(app, ["--db", db_url, "ingest", str(CONS_ADVANCED)]).exit_code == 0
    before = store_state(open_store(db_url))
    cut = tmp_path / path.name
    cut.write_bytes(path.read_bytes()[:3000])
    result = runner.invoke(app, ["--db", db_url, "ingest", str(cut), "--format", fmt])
    assert result.exit_code != 0
    message = result.output.strip()
    assert message.startswith("error:") and f"{path.name}:" in message and "truncated" in message, message
    assert store_state(open_store(db_url)) == before
