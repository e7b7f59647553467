"""OpenSanctions FollowTheMoney JSON lines: the real sample, nested targets, delta feeds, bad files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from listwatch.errors import ParseError
from listwatch.model import Address, Identifier, Link, Name, ParsedList
from listwatch.sources import detect_format
from listwatch.sources.ftm import FTM_JSON
from tests.conftest import CSL_2019, FTM_EU_SAMPLE
from tests.sources.support import find_record

ORG = "NK-2GdmHtZTeNXjNVrBGEXZNj"
PERSON = "NK-2Ka3UvopqbpZmVDFjWd4LA"


def _sample() -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in FTM_EU_SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _lines(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sample() -> ParsedList:
    return FTM_JSON.parse([FTM_EU_SAMPLE])


def test_sample_gives_its_six_targets(sample: ParsedList) -> None:
    assert len(sample.records) == 6  # 7 entities, one of them an address
    assert sample.list_id == "os_eu_fsf" and sample.format == "ftm-json"
    assert sample.published == date(2024, 6, 1)  # the newest last_seen
    assert sample.warnings == ()
    assert detect_format([FTM_EU_SAMPLE]) is FTM_JSON


def test_names_identifiers_and_dates_are_typed(sample: ParsedList) -> None:
    person = find_record(sample, PERSON)
    assert person.schema == "Person"
    assert person.names[:2] == (Name("Vitaly Yurievich KUZMENKO"), Name("Vitalij Kuzmenko", "alias"))
    assert person.identifiers == (Identifier("tax_id", "366510784303"),)
    assert person.birth_dates == ("1971-01-22",) and person.countries == ("ru",)
    assert person.listed_on == date(2024, 2, 23)  # createdAt: no sanction entity in the sample
    org = find_record(sample, ORG)
    assert org.identifiers == (Identifier("registration", "808000714"),)
    assert "last_seen" not in str(org.properties)  # export metadata, not part of the record


def test_nested_targets_bring_their_addresses_and_sanctions(tmp_path: Path) -> None:
    person = next(obj for obj in _sample() if obj["id"] == PERSON)
    person["properties"]["addressEntity"] = [
        {
            "id": "addr-1",
            "schema": "Address",
            "properties": {"full": ["Tula, Russia"], "city": ["Tula"], "country": ["ru"]},
        }
    ]
    person["properties"]["sanctions"] = [
        {
            "id": "sanc-1",
            "schema": "Sanction",
            "properties": {
                "program": ["RUSSIA"],
                "authority": ["Council of the EU"],
                "listingDate": ["2024-02-23"],
            },
        }
    ]
    person["properties"]["ownershipOwner"] = [
        {"id": "own-1", "schema": "Ownership",
         "properties": {"asset": [{"id": "co-1", "schema": "Company", "properties": {"name": ["JSC 163 ARP"]}}]}}
    ]  # fmt: skip
    parsed = FTM_JSON.parse([_lines(tmp_path / "targets.nested.json", [person])])
    (record,) = parsed.records
    assert record.addresses == (Address(street=None, city="Tula", country="ru"),)
    assert record.programs == ("RUSSIA",)
    assert record.properties["sanction_authority"] == ("Council of the EU",)
    assert record.listed_on == date(2024, 2, 23)
    assert record.links == (Link("ownership:asset", "JSC 163 ARP", "co-1"),)


def test_deltas_apply_in_file_name_order(tmp_path: Path) -> None:
    base = _lines(tmp_path / "a-entities.ftm.json", _sample())
    person = next(obj for obj in _sample() if obj["id"] == PERSON)
    person["properties"]["position"] = ["Former General Director"]
    new = {"id": "NK-new", "schema": "Company", "target": True, "datasets": ["eu_fsf"],
           "properties": {"name": ["New Trading LLC"]}}  # fmt: skip
    delta = _lines(
        tmp_path / "b-delta.json",
        [{"op": "MOD", "entity": person}, {"op": "DEL", "entity": {"id": ORG}}, {"op": "ADD", "entity": new}],
    )
    assert detect_format([base, delta]) is FTM_JSON
    parsed = FTM_JSON.parse([delta, base])
    keys = {record.key for record in parsed.records}
    assert ORG not in keys and "NK-new" in keys and len(keys) == 6
    assert find_record(parsed, PERSON).properties["position"] == ("Former General Director",)
    assert find_record(parsed, "NK-new").schema == "Company"


def test_delete_of_an_unknown_entity_is_warned(tmp_path: Path) -> None:
    base = _lines(tmp_path / "a.json", _sample())
    delta = _lines(tmp_path / "b.json", [{"op": "DEL", "entity": {"id": "NK-gone"}}])
    assert FTM_JSON.parse([base, delta]).warnings == (
        "b.json:1: DEL of 'NK-gone', which no earlier file holds",
    )


def test_unknown_op_is_refused(tmp_path: Path) -> None:
    delta = _lines(tmp_path / "delta.json", [{"op": "UPSERT", "entity": {"id": "x", "schema": "Person"}}])
    with pytest.raises(
        ParseError, match=r"delta.json:1: unknown delta op 'UPSERT'; expected ADD, MOD or DEL"
    ):
        FTM_JSON.parse([delta])


def test_unknown_property_is_kept_in_the_raw_record(tmp_path: Path) -> None:
    person = next(obj for obj in _sample() if obj["id"] == PERSON)
    person["properties"]["shoeSize"] = ["44"]
    parsed = FTM_JSON.parse([_lines(tmp_path / "entities.ftm.json", [person])])
    assert parsed.records[0].properties["unknown:shoeSize"] == ("44",)
    assert parsed.warnings == ("entities.ftm.json: unknown property 'shoeSize' kept in the raw record",)


def test_truncated_last_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "entities.ftm.json"
    data = FTM_EU_SAMPLE.read_bytes()
    path.write_bytes(data[: len(data) - 300])
    with pytest.raises(ParseError, match=r"entities.ftm.json:7: JSON ends early .*is the file truncated\?"):
        FTM_JSON.parse([path])


def test_malformed_line_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "entities.ftm.json"
    lines = FTM_EU_SAMPLE.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace('"schema":', '"schema" ', 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(
        ParseError, match=r"entities.ftm.json:3: malformed JSON \(Expecting ':' delimiter, column \d+\)"
    ):
        FTM_JSON.parse([path])


def test_entity_without_schema_is_refused(tmp_path: Path) -> None:
    path = _lines(tmp_path / "entities.ftm.json", [{"id": "x", "properties": {}}])
    with pytest.raises(ParseError, match=r":1: entity without an id or a schema"):
        FTM_JSON.parse([path])


def test_csv_is_not_ftm() -> None:
    assert not FTM_JSON.sniff([CSL_2019])
