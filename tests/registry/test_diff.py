"""Fingerprints: the fast canonical form is the JSON encoder's, item for item, on real records."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from listwatch.registry.diff import _UNORDERED, _canon_item, diff_fields, fingerprint
from listwatch.registry.snapshots import _slug_entity_id, entity_id_for
from listwatch.sources import detect_format
from listwatch.sources.text import expand_paths
from tests.conftest import (
    CCMC_1237,
    CONS_2025_04,
    DPL_2022_09,
    FTM_EU_SAMPLE,
    OFSI_2020_03,
    SDN_2021,
    UN_2018_10,
)

_FILES = [SDN_2021, CONS_2025_04, UN_2018_10, OFSI_2020_03, DPL_2022_09, FTM_EU_SAMPLE, CCMC_1237]


def _reference(data: dict[str, Any]) -> str:
    """The fingerprint as first defined: json.dumps of the record, unordered fields as sorted sets
    of their items' JSON. Stored fingerprints were made this way; a new scheme would show every
    unchanged record as amended between an old and a new snapshot."""

    def canon(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    canonical = {
        name: sorted({canon(v) for v in value})
        if name in _UNORDERED and isinstance(value, (list, tuple))
        else value
        for name, value in data.items()
    }
    return hashlib.sha256(canon(canonical).encode()).hexdigest()


def _records() -> list[dict[str, Any]]:
    found = []
    for path in _FILES:
        files = expand_paths([path])
        parsed = detect_format(files).parse(files)
        for part in parsed.parts or (parsed,):
            found.extend(record.to_dict() for record in part.records)
    return found


def test_fingerprints_of_every_bundled_record_match_the_json_encoders() -> None:
    records = _records()
    assert len(records) > 10_000
    items = 0
    for data in records:
        assert fingerprint(data) == _reference(data)
        for name in _UNORDERED:
            for item in data.get(name) or ():
                assert _canon_item(item) == json.dumps(item, sort_keys=True, ensure_ascii=False)
                items += 1
    assert items > 50_000


@pytest.mark.parametrize(
    "item",
    [
        "",
        'quote " and back\\slash',
        "tab\tnew\nline\r\x00\x1f\u2028",
        "小米集团 Société",
        {"value": "x", "kind": "alias"},
        {"b": None, "a": "é", "c": ""},
        {"value": 'a "b"', "kind": None},
        {"n": 1, "f": 2.5, "t": True},  # not strings: the encoder's answer
        {"nested": {"z": "1", "a": ["x", None]}},
        {1: "int key"},
        {},
        ["a", "b"],
        7,
        None,
    ],
)
def test_canon_item_writes_what_the_json_encoder_writes(item: Any) -> None:
    assert _canon_item(item) == json.dumps(item, sort_keys=True, ensure_ascii=False)


def test_key_layouts_of_the_same_keys_in_another_order_give_the_same_text() -> None:
    first = _canon_item({"value": "x", "kind": "alias", "script": None})
    assert first == _canon_item({"script": None, "kind": "alias", "value": "x"})
    assert first == '{"kind": "alias", "script": null, "value": "x"}'


def test_reordering_an_unordered_field_changes_no_fingerprint_but_a_changed_item_does() -> None:
    data = {"key": "1", "names": [{"value": "A", "kind": "primary"}, {"value": "B", "kind": "alias"}]}
    reordered = {"key": "1", "names": list(reversed(data["names"]))}
    changed = {"key": "1", "names": [{"value": "A", "kind": "primary"}, {"value": "C", "kind": "alias"}]}
    assert fingerprint(data) == fingerprint(reordered) != fingerprint(changed)
    assert diff_fields(data, reordered) == {}
    assert diff_fields(data, changed) == {
        "names": {"removed": [{"value": "B", "kind": "alias"}], "added": [{"value": "C", "kind": "alias"}]}
    }


@pytest.mark.parametrize(
    ("list_id", "key"),
    [
        ("us_ofac_sdn", "36"),
        ("us_ofac_sdn", "0036"),
        ("x" * 64, "9" * 85),
        ("x" * 64, "9" * 86),
        ("un_sc", "QDi.410"),
    ],
)
def test_the_shortcut_for_numeric_keys_gives_the_general_rules_id(list_id: str, key: str) -> None:
    assert entity_id_for(list_id, key) == _slug_entity_id(list_id, key)
    assert len(entity_id_for(list_id, key)) <= 150


def test_an_entity_id_of_an_ofac_entry_is_the_list_and_the_number() -> None:
    assert entity_id_for("us_ofac_sdn", "36") == "us-ofac-sdn-36"
