"""The official list formats through ingest: counts, the DPL diff, bundled CSL lists, atomicity."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from listwatch.cli import app
from listwatch.errors import InvalidQuery, ListwatchError
from listwatch.model import name_key
from listwatch.registry.overview import list_diff, stored_lists
from listwatch.registry.snapshots import ingest
from listwatch.store import Store, open_store
from tests.conftest import (
    CCMC_1237,
    CONS_2025_03,
    CONS_2025_04,
    CSL_2019,
    CSL_2025,
    DOD_1260H,
    DPL_2019_06,
    DPL_2022_09,
    EXAMPLES,
    FTM_EU_SAMPLE,
    OFSI_2020_03,
    SDN_2019,
    SDN_2021,
    UN_2018_10,
)
from tests.support import store_state


def _dpl_names(path: Path) -> set[str]:
    """The parties of a DPL file, read with the csv module alone: the reference for the diff."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {name_key(row["Name"]) for row in csv.DictReader(handle, delimiter="\t")}


def test_dpl_2019_06_to_2022_09_diff_gives_the_exact_added_and_removed_parties(store: Store) -> None:
    first = ingest(store, [DPL_2019_06])
    second = ingest(store, [DPL_2022_09])
    assert (first.list_id, first.record_count, first.published, first.published_from) == (
        "us_bis_dpl",
        414,
        date(2019, 6, 1),
        "path",
    )
    assert (second.record_count, second.published) == (458, date(2022, 9, 1))
    old, new = _dpl_names(DPL_2019_06), _dpl_names(DPL_2022_09)
    diff = list_diff(store, "us_bis_dpl", None, None)
    listed = {name_key(row.caption) for row in diff.listed}
    delisted = {name_key(row.caption) for row in diff.delisted}
    assert listed == new - old and len(listed) == 148
    assert delisted == old - new and len(delisted) == 104
    assert len(diff.amended) + diff.unchanged == len(old & new) == 310
    assert "aaron abraham villa" in listed and "aaron robert henderson" in delisted
    assert second.events == {"listed": 148, "delisted": 104, "amended": len(diff.amended)}


def test_un_file_ingests_with_its_own_date(store: Store) -> None:
    result = ingest(store, [UN_2018_10])
    assert (result.list_id, result.record_count, result.published, result.published_from) == (
        "un_sc",
        1093,
        date(2018, 10, 29),
        "content",
    )
    assert result.events == {"listed": 1093}
    assert ingest(store, [UN_2018_10]).created is False


def test_ofsi_excerpt_ingests_dated_by_its_path(store: Store) -> None:
    result = ingest(store, [OFSI_2020_03])
    assert (result.list_id, result.record_count, result.published, result.published_from) == (
        "gb_hmt_ofsi",
        41,
        date(2020, 3, 1),
        "path",
    )


def test_csl_file_becomes_one_snapshot_per_source_list(store: Store) -> None:
    result = ingest(store, [CSL_2019], published=date(2019, 7, 1))
    stored = {result.list_id: result.record_count} | {o.list_id: o.record_count for o in result.others}
    assert stored == {
        "us_csl_cap": 1, "us_csl_dpl": 7, "us_csl_dtc": 10, "us_bis_entity": 18, "us_csl_isn": 3,
        "us_csl_plc": 13, "us_csl_sdn": 28, "us_csl_ssi": 26, "us_csl_uvl": 4,
    }  # fmt: skip
    overview = {item.list_id: item.snapshots for item in stored_lists(store)}
    assert set(overview) == set(stored)
    assert all(
        snaps[0]["published"] == "2019-07-01" and snaps[0]["format"] == "us-csl-csv"
        for snaps in overview.values()
    )
    again = ingest(store, [CSL_2019], published=date(2019, 7, 1))
    assert not again.created and not any(other.created for other in again.others)
    assert len(result.to_dict()["others"]) == 8


def test_csl_list_option_stores_only_that_list(store: Store) -> None:
    result = ingest(store, [CSL_2025], list_id="us_csl_meu", published=date(2025, 4, 1))
    assert (result.list_id, result.record_count, result.others) == ("us_csl_meu", 1, ())
    assert [item.list_id for item in stored_lists(store)] == ["us_csl_meu"]
    with pytest.raises(
        InvalidQuery, match="holds the lists us_bis_entity, us_csl_dpl, .*not us_csl_cap as --list says"
    ):
        ingest(store, [CSL_2025], list_id="us_csl_cap", published=date(2025, 4, 1))


def test_csl_layouts_of_one_list_diff_by_entity_number(store: Store) -> None:
    ingest(store, [CSL_2019], published=date(2019, 7, 1))
    ingest(store, [CSL_2025], published=date(2025, 4, 1))
    diff = list_diff(store, "us_csl_sdn", None, None)
    assert len(diff.listed) == 1 and len(diff.delisted) == 28  # the excerpts share no SDN entry


def test_bad_row_in_a_csl_file_stores_none_of_its_lists(store: Store, tmp_path: Path) -> None:
    ingest(store, [DPL_2019_06])
    before = store_state(store)
    bad = tmp_path / "csl.csv"
    lines = CSL_2025.read_text(encoding="utf-8").splitlines()
    lines[-1] = lines[-1].replace('"2025', '"31/12/2025', 1) if '"2025' in lines[-1] else lines[-1][:80]
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ListwatchError, match="csl.csv"):
        ingest(store, [bad], published=date(2025, 4, 1))
    assert store_state(store) == before


def test_hostile_xml_stores_nothing(store: Store, tmp_path: Path) -> None:
    ingest(store, [DPL_2019_06])
    before = store_state(store)
    hostile = tmp_path / "consolidated.xml"
    hostile.write_text(
        '<?xml version="1.0"?><!DOCTYPE CONSOLIDATED_LIST [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        '<CONSOLIDATED_LIST dateGenerated="2020-01-01T00:00:00"><INDIVIDUALS><INDIVIDUAL>'
        "<REFERENCE_NUMBER>QDi.1</REFERENCE_NUMBER><FIRST_NAME>&b;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS>"
        "</CONSOLIDATED_LIST>",
        encoding="utf-8",
    )
    with pytest.raises(ListwatchError, match="declares entity 'a'"):
        ingest(store, [hostile])
    assert store_state(store) == before


def test_truncated_un_file_stores_nothing(store: Store, tmp_path: Path) -> None:
    cut = tmp_path / "2018-10"
    cut.mkdir()
    shutil.copy(UN_2018_10, cut / "consolidated.xml")
    data = (cut / "consolidated.xml").read_bytes()
    (cut / "consolidated.xml").write_bytes(data[: len(data) // 2])
    with pytest.raises(ListwatchError, match="is the file truncated"):
        ingest(store, [cut])
    assert stored_lists(store) == []


# --- through the command line ------------------------------------------------------------------------

runner = CliRunner()


def _cli(db_url: str, *args: str) -> Any:
    return runner.invoke(app, ["--db", db_url, *args], env={"COLUMNS": "200"})


def test_cli_ingest_of_a_csl_file_reports_every_list(db_url: str) -> None:
    result = _cli(db_url, "ingest", str(CSL_2025), "--published", "2025-04-01")
    assert result.exit_code == 0, result.output
    assert result.output.count("snapshot #") == 10
    assert "of us_csl_meu: 1 records, published 2025-04-01, format us-csl-csv; 1 listed" in result.output
    listed = _cli(db_url, "lists", "--json")
    assert len(json.loads(listed.output)) == 10


# Every bundled list file as shipped, with only the options its content cannot give (the CSL
# files carry no date; the DoD files do not say which of the DoD lists they are).
BUNDLED: list[tuple[Path, tuple[str, ...]]] = [
    (SDN_2019, ()),
    (SDN_2021, ()),
    (CONS_2025_03, ()),
    (CONS_2025_04, ()),
    (UN_2018_10, ()),
    (OFSI_2020_03, ()),
    (DPL_2019_06, ()),
    (DPL_2022_09, ()),
    (FTM_EU_SAMPLE, ()),
    (CSL_2019, ("--published", "2019-07-01")),
    (CSL_2025, ("--published", "2025-04-01")),
    (CCMC_1237, ("--list", "us_dod_1237_ccmc")),
    (DOD_1260H, ("--list", "us_dod_1260h")),
]

# list -> its snapshots (publication date, records), as `listwatch lists --json` gives them
BUNDLED_LISTS = {
    "gb_hmt_ofsi": [("2020-03-01", 41)],
    "os_eu_fsf": [("2024-06-01", 6)],
    "un_sc": [("2018-10-29", 1093)],
    "us_bis_dpl": [("2019-06-01", 414), ("2022-09-01", 458)],
    "us_bis_entity": [("2019-07-01", 18), ("2025-04-01", 1)],
    "us_csl_cap": [("2019-07-01", 1)],
    "us_csl_dpl": [("2019-07-01", 7), ("2025-04-01", 1)],
    "us_csl_dtc": [("2019-07-01", 10), ("2025-04-01", 1)],
    "us_csl_fse": [("2025-04-01", 1)],
    "us_csl_isn": [("2019-07-01", 3), ("2025-04-01", 1)],
    "us_csl_meu": [("2025-04-01", 1)],
    "us_csl_plc": [("2019-07-01", 13), ("2025-04-01", 2)],
    "us_csl_sdn": [("2019-07-01", 28), ("2025-04-01", 1)],
    "us_csl_ssi": [("2019-07-01", 26), ("2025-04-01", 3)],
    "us_csl_uvl": [("2019-07-01", 4), ("2025-04-01", 1)],
    "us_dod_1237_ccmc": [("2021-06-03", 44)],
    "us_dod_1260h": [("2026-06-08", 223)],
    "us_ofac_cons": [("2025-03-01", 443), ("2025-04-01", 443)],
    "us_ofac_sdn": [("2019-01-01", 7379), ("2021-07-01", 8976)],
}


def test_the_bundled_table_covers_every_list_file_in_examples() -> None:
    files = {path for path in EXAMPLES.rglob("*") if path.is_file() and path.name != "README.md"}
    covered = {f for path, _ in BUNDLED for f in ([path] if path.is_file() else path.iterdir())}
    assert files == covered


def test_every_bundled_file_ingests_as_shipped_and_lists_shows_each_snapshot(db_url: str) -> None:
    for path, options in BUNDLED:
        result = _cli(db_url, "ingest", str(path), *options)
        assert result.exit_code == 0, f"{path.name}: {result.output}"
    listed = json.loads(_cli(db_url, "lists", "--json").output)
    snapshots = {item["id"]: [(s["published"], s["records"]) for s in item["snapshots"]] for item in listed}
    assert snapshots == BUNDLED_LISTS
    table = _cli(db_url, "lists").output
    for list_id, versions in BUNDLED_LISTS.items():
        assert list_id in table and all(published in table for published, _ in versions)


def test_cli_show_prints_the_raw_record_with_unknown_fields(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "dpl.txt"
    lines = DPL_2019_06.read_text(encoding="utf-8").splitlines()[:3]
    path.write_text(
        "\n".join([lines[0] + '\t"Remark"', *(line + '\t"seen in Phoenix"' for line in lines[1:])]) + "\n"
    )
    ingested = _cli(db_url, "ingest", str(path), "--published", "2019-06-01")
    assert ingested.exit_code == 0, ingested.output
    assert "unknown column 'remark' kept in the raw record" in ingested.output
    shown = _cli(db_url, "show", "ADRIAN MANUEL HERNANDEZ")
    assert shown.exit_code == 0, shown.output
    assert "unknown:remark" in shown.output and "seen in Phoenix" in shown.output
    as_json = json.loads(_cli(db_url, "show", "ADRIAN MANUEL HERNANDEZ", "--json").output)
    assert as_json[0]["record"]["properties"]["unknown:remark"] == ["seen in Phoenix"]


def test_cli_refuses_a_hostile_file_with_one_line_and_stores_nothing(db_url: str, tmp_path: Path) -> None:
    hostile = tmp_path / "consolidated.xml"
    hostile.write_text(
        '<?xml version="1.0"?><!DOCTYPE CONSOLIDATED_LIST [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>&xxe;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS>"
        "</CONSOLIDATED_LIST>",
        encoding="utf-8",
    )
    result = _cli(db_url, "ingest", str(hostile))
    assert result.exit_code == 1
    assert "declares an external entity 'xxe' ('file:///etc/passwd'); refused" in result.output
    assert "root:" not in result.output
    store = open_store(db_url)
    try:
        assert stored_lists(store) == []
    finally:
        store.close()
