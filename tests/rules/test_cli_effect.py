"""`listwatch effect` end to end: JSON shape, the table, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from listwatch.cli import app
from listwatch.store import open_store
from tests.support import store_state

runner = CliRunner()


def run(db_url: str, *args: str) -> object:
    return runner.invoke(app, ["--db", db_url, *args], env={"COLUMNS": "200"})


def test_effect_json_has_a_stable_shape(rules_db_url: str) -> None:
    result = run(rules_db_url, "effect", "isin:KYG9830T1067", "--as-of", "2021-03-11", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert sorted(data) == ["as_of", "effects", "entities", "next_change", "notes", "ownership_file", "query"]
    ban = data["effects"][0]
    assert sorted(ban) == sorted(
        [
            "kind",
            "state",
            "start",
            "end",
            "reason",
            "summary",
            "program",
            "rule",
            "list",
            "entity",
            "via",
            "citations",
        ]
    )
    assert (ban["kind"], ban["state"], ban["start"]) == ("purchase_ban", "pending", "2021-03-15")
    assert data["next_change"] == {
        "date": "2021-03-15",
        "kind": "purchase_ban",
        "change": "starts",
        "list": "us_dod_1237_ccmc",
        "text": "purchase ban starts 2021-03-15",
    }


def test_effect_table_shows_state_dates_reason_and_citation(rules_db_url: str) -> None:
    result = run(rules_db_url, "effect", "isin:HK0941009539", "--as-of", "2021-09-01")
    assert result.exit_code == 0, result.output
    for text in ("purchase ban", "in force", "2021-08-02", "2022-06-03", "86 FR 30145", "next change"):
        assert text in result.output


def test_effect_with_an_ownership_file(rules_db_url: str, ownership_file: Path) -> None:
    args = (
        "effect",
        "Example Shipping Holdings Ltd",
        "--as-of",
        "2021-07-15",
        "--ownership",
        str(ownership_file),
    )
    result = run(rules_db_url, *args, "--json")
    assert result.exit_code == 0, result.output
    (blocked,) = json.loads(result.output)["effects"]
    assert (blocked["kind"], blocked["state"]) == ("blocked", "in_force")


def test_bad_date_is_one_error_line(rules_db_url: str) -> None:
    result = run(rules_db_url, "effect", "Xiaomi", "--as-of", "2021-13-01")
    assert result.exit_code == 1
    assert "error:" in result.output and "--as-of: bad date '2021-13-01'" in result.output
    assert "Traceback" not in result.output


def test_unknown_entity_is_one_error_line(rules_db_url: str) -> None:
    result = run(rules_db_url, "effect", "Nobody Trading Ltd", "--as-of", "2021-03-11")
    assert result.exit_code == 1
    assert "no listed entity matches 'Nobody Trading Ltd'" in result.output


def _bad_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "owners.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_percent_names_file_and_line_and_changes_nothing(rules_db_url: str, tmp_path: Path) -> None:
    path = _bad_file(
        tmp_path,
        "owner,owned,percent\nROSNEFT TRADING S.A.,Example Ltd,30\nus-ofac-sdn-28603,Example Ltd,lots\n",
    )
    store = open_store(rules_db_url)
    before = store_state(store)
    result = run(rules_db_url, "effect", "Example Ltd", "--as-of", "2021-07-15", "--ownership", str(path))
    assert result.exit_code == 1
    assert f"{path}:3: percent 'lots' is not a number above 0 and at most 100" in result.output.replace(
        "\n", ""
    )
    assert store_state(store) == before
    store.close()


def test_missing_column_names_file_and_header_line(rules_db_url: str, tmp_path: Path) -> None:
    path = _bad_file(tmp_path, "owner,owned\nROSNEFT TRADING S.A.,Example Ltd\n")
    result = run(rules_db_url, "effect", "Example Ltd", "--ownership", str(path))
    assert result.exit_code == 1
    assert f"{path}:1: missing column 'percent'" in result.output.replace("\n", "")


def test_shares_over_100_percent_are_refused(rules_db_url: str, tmp_path: Path) -> None:
    path = _bad_file(tmp_path, "owner,owned,percent\nA Ltd,Example Ltd,60\nB Ltd,Example Ltd,50\n")
    result = run(rules_db_url, "effect", "Example Ltd", "--ownership", str(path))
    assert result.exit_code == 1
    assert f"{path}:3: the owners of 'Example Ltd' add up to 110 percent" in result.output.replace("\n", "")


def test_missing_ownership_file(rules_db_url: str, tmp_path: Path) -> None:
    result = run(rules_db_url, "effect", "Xiaomi", "--ownership", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1
    assert "no such ownership file" in result.output
