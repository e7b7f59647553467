"""The `listwatch` command end to end: real files, a real SQLite file, exit codes and messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listwatch.cli import app
from listwatch.store import open_store
from tests.conftest import CCMC_1237, CONS_2025_04, DOD_1260H, SDN_2019, SDN_2021
from tests.support import store_state

runner = CliRunner()


def run(db_url: str, *args: str) -> object:
    return runner.invoke(app, ["--db", db_url, *args], env={"COLUMNS": "200"})


@pytest.fixture
def loaded(db_url: str) -> str:
    for args in (
        ["ingest", str(CCMC_1237), "--list", "us_dod_1237_ccmc"],
        ["ingest", str(DOD_1260H), "--list", "us_dod_1260h"],
        ["ingest", str(CONS_2025_04)],
    ):
        result = run(db_url, *args)
        assert result.exit_code == 0, result.output
    return db_url


def test_ingest_reports_the_snapshot_and_its_changes(db_url: str) -> None:
    result = run(db_url, "ingest", str(CCMC_1237), "--list", "us_dod_1237_ccmc")
    assert result.exit_code == 0, result.output
    assert "snapshot #1" in result.output
    assert "44 listed" in result.output


def test_ingest_twice_says_nothing_was_written(db_url: str) -> None:
    run(db_url, "ingest", str(CCMC_1237), "--list", "us_dod_1237_ccmc")
    result = run(db_url, "ingest", str(CCMC_1237), "--list", "us_dod_1237_ccmc")
    assert result.exit_code == 0
    assert "nothing was written" in result.output


def test_history_json_lists_xiaomi_events(loaded: str) -> None:
    result = run(loaded, "history", "Xiaomi", "--json")
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.output)
    assert [(e["kind"], e["date"]) for e in item["events"]] == [
        ("listed", "2021-01-14"),
        ("enjoined", "2021-03-12"),
        ("vacated", "2021-05-25"),
    ]


def test_history_table_shows_sources(loaded: str) -> None:
    result = run(loaded, "history", "Xiaomi")
    assert result.exit_code == 0
    assert "enjoined" in result.output and "21-cv-280" in result.output


@pytest.mark.parametrize(
    ("day", "state"), [("2021-02-01", "listed"), ("2021-03-13", "suspended"), ("2021-06-01", "not_listed")]
)
def test_status_json(loaded: str, day: str, state: str) -> None:
    result = run(loaded, "status", "Xiaomi", "--as-of", day, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["state"] == state


def test_status_table_for_china_mobile_shows_both_lists(loaded: str) -> None:
    result = run(loaded, "status", "China Mobile Limited", "--as-of", "2021-09-01")
    assert result.exit_code == 0, result.output
    assert "us_dod_1260h" in result.output and "us_ofac_cons" in result.output
    assert "CMIC-EO13959" in result.output


def test_lists_json_and_table(loaded: str) -> None:
    data = json.loads(run(loaded, "lists", "--json").output)
    assert {item["id"] for item in data} == {"us_dod_1237_ccmc", "us_dod_1260h", "us_ofac_cons"}
    assert "us_dod_1260h" in run(loaded, "lists").output
    assert "us_ofac_sdn" in run(loaded, "lists", "--known").output


def test_diff_of_sdn_snapshots(db_url: str) -> None:
    run(db_url, "ingest", str(SDN_2019))
    run(db_url, "ingest", str(SDN_2021))
    result = run(db_url, "diff", "us_ofac_sdn", "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)["counts"]
    assert (counts["listed"], counts["delisted"]) == (1858, 261)
    table = run(db_url, "diff", "us_ofac_sdn", "--limit", "3")
    assert "1,858 listed" in table.output and "261 delisted" in table.output


def test_diff_of_a_dated_list_shows_its_court_actions(loaded: str) -> None:
    result = run(loaded, "diff", "us_dod_1237_ccmc", "--from", "2021-03-01", "--to", "2021-05-31", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {r["caption"] for r in data["other"]} >= {"Xiaomi Corporation"}
    assert data["counts"]["listed"] == 0


def test_export_ftm_is_valid_followthemoney(loaded: str, tmp_path: Path) -> None:
    from followthemoney import model

    out = tmp_path / "export.ftm.json"
    result = run(loaded, "export", "--format", "ftm", "--list", "us_dod_1237_ccmc", "--out", str(out))
    assert result.exit_code == 0, result.output
    proxies = [model.get_proxy(json.loads(line)) for line in out.read_text().splitlines()]
    sanctions = [p for p in proxies if p.schema.name == "Sanction"]
    companies = {p.id: p for p in proxies if p.schema.name != "Sanction"}
    assert len(companies) == 44
    xiaomi = next(p for p in companies.values() if "Xiaomi Corporation" in p.get("name"))
    assert "KYG9830T1067" in xiaomi.get("isinCode")
    (period,) = [s for s in sanctions if s.first("entity") == xiaomi.id]
    assert (period.first("startDate"), period.first("endDate")) == ("2021-01-14", "2021-05-25")
    for proxy in proxies:
        assert proxy.schema.validate(proxy.to_dict()) is None


# -- bad input: one line naming the file and line, non-zero exit, the store as before ----------


def _assert_refused(db_url: str, args: list[str], *fragments: str) -> None:
    before = store_state(open_store(db_url))
    result = run(db_url, *args)
    assert result.exit_code != 0
    message = result.output.strip()
    assert message.startswith("error:"), message
    assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment in message, message
    assert store_state(open_store(db_url)) == before


@pytest.fixture
def seeded(db_url: str) -> str:
    assert run(db_url, "ingest", str(CCMC_1237), "--list", "us_dod_1237_ccmc").exit_code == 0
    return db_url


def test_missing_file(seeded: str, tmp_path: Path) -> None:
    _assert_refused(seeded, ["ingest", str(tmp_path / "nope.csv")], "nope.csv", "no such file")


def test_empty_file(seeded: str, tmp_path: Path) -> None:
    empty = tmp_path / "designations.csv"
    empty.write_text("")
    _assert_refused(
        seeded,
        ["ingest", str(empty), "--format", "designations-csv", "--list", "us_dod_1237_ccmc"],
        "designations.csv",
        "empty",
    )


def test_truncated_sdn_file(seeded: str, tmp_path: Path) -> None:
    folder = tmp_path / "2021-07"
    shutil.copytree(SDN_2021, folder)
    data = (folder / "sdn.csv").read_bytes()
    cut = data.index(b'"', len(data) // 3) + 5  # inside a quoted name
    (folder / "sdn.csv").write_bytes(data[:cut])
    _assert_refused(seeded, ["ingest", str(folder)], "sdn.csv:")


def test_mis_encoded_designations_file(seeded: str, tmp_path: Path) -> None:
    bad = tmp_path / "designations.csv"
    bad.write_bytes(CCMC_1237.read_bytes().replace("小米集团".encode(), "Soci\xe9t\xe9".encode("latin-1")))
    _assert_refused(
        seeded, ["ingest", str(bad), "--list", "us_dod_1237_ccmc"], "designations.csv:37", "UTF-8"
    )


def test_binary_file(seeded: str, tmp_path: Path) -> None:
    blob = tmp_path / "sdn.csv"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    _assert_refused(seeded, ["ingest", str(blob)], "sdn.csv", "binary")


def test_file_of_another_format_than_format_says(seeded: str) -> None:
    _assert_refused(
        seeded,
        ["ingest", str(SDN_2019), "--format", "designations-csv", "--list", "us_dod_1237_ccmc"],
        "sdn.csv",
    )


def test_bad_published_date(seeded: str) -> None:
    _assert_refused(
        seeded, ["ingest", str(SDN_2019), "--published", "2019-02-30"], "--published", "2019-02-30"
    )


def test_bad_date_inside_a_file(seeded: str, tmp_path: Path) -> None:
    bad = tmp_path / "designations.csv"
    bad.write_text(
        CCMC_1237.read_text(encoding="utf-8").replace("2021-01-14,listed,Xiaomi", "2021-01-41,listed,Xiaomi"),
        encoding="utf-8",
    )
    _assert_refused(
        seeded, ["ingest", str(bad), "--list", "us_dod_1237_ccmc"], "designations.csv:37", "2021-01-41"
    )


def test_unknown_list(seeded: str) -> None:
    _assert_refused(seeded, ["ingest", str(CCMC_1237), "--list", "us_dod_9999"], "us_dod_9999")


def test_unknown_format(seeded: str) -> None:
    _assert_refused(seeded, ["ingest", str(CCMC_1237), "--format", "pdf"], "pdf")


def test_unknown_column(seeded: str, tmp_path: Path) -> None:
    bad = tmp_path / "designations.csv"
    text = CCMC_1237.read_text(encoding="utf-8").splitlines()
    bad.write_text(
        "\n".join([text[0] + ",colour"] + [line + "," for line in text[1:]]) + "\n", encoding="utf-8"
    )
    _assert_refused(
        seeded, ["ingest", str(bad), "--list", "us_dod_1237_ccmc"], "designations.csv:1", "colour"
    )


def test_bad_as_of_date(seeded: str) -> None:
    result = run(seeded, "status", "Xiaomi", "--as-of", "13/03/2021")
    assert result.exit_code != 0
    assert "--as-of" in result.output and "YYYY-MM-DD" in result.output


def test_unknown_entity(seeded: str) -> None:
    result = run(seeded, "status", "Nobody Corp", "--as-of", "2021-01-01")
    assert result.exit_code != 0
    assert "Nobody Corp" in result.output
