"""Stored screening runs: what a run records, that it is all or nothing, and that it repeats exactly.

Real bundled DoD 1237 list, a real SQLite file, a small real CSV of parties.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from listwatch.registry.snapshots import ingest
from listwatch.screening.batches import rerun, screen_file
from listwatch.screening.runs import RunParameters, load_run
from listwatch.settings import Settings
from listwatch.store import Store
from listwatch.store.tables import records, snapshots
from tests.conftest import CCMC_1237
from tests.screening.support import CCMC, CHINA_MOBILE_GROUP, PARTIES, XIAOMI, cli
from tests.support import store_state


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "COLUMNS": "200",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "LISTWATCH_KEY_DIR": str(tmp_path / "keys"),
        "LISTWATCH_ANALYST": "env-analyst",
    }


@pytest.fixture
def loaded(store: Store) -> Store:
    ingest(store, [CCMC_1237], list_id=CCMC)
    return store


@pytest.fixture
def parties(tmp_path: Path) -> Path:
    path = tmp_path / "parties.csv"
    path.write_text(PARTIES, encoding="utf-8")
    return path


def screen(db_url: str, env: dict[str, str], parties: Path, *extra: str) -> str:
    """Screen `parties` as of 2021-02-01 against the DoD 1237 list; the new run's label."""
    result = cli(db_url, env, "screen", str(parties), "--as-of", "2021-02-01", "-l", CCMC, "--key-column", "id", *extra)  # fmt: skip
    assert result.exit_code == 0, result.output
    found = re.search(r"(run-\d{4}): screened", result.output)
    assert found, result.output
    return found.group(1)


def test_screen_stores_the_run_with_its_snapshots_and_input_hash(
    loaded: Store, db_url: str, env: dict[str, str], parties: Path
) -> None:
    label = screen(db_url, env, parties, "--analyst", "ana")
    run = load_run(loaded, label)
    assert run.label == "run-0001" and run.analyst == "ana"
    assert run.input.name == "parties.csv"
    assert run.input.sha256 == hashlib.sha256(parties.read_bytes()).hexdigest()
    assert run.started_at <= run.finished_at and run.started_at.tzinfo is not None
    with loaded.engine.connect() as conn:
        (snap,) = conn.execute(select(snapshots)).all()
        versions = dict(conn.execute(select(records.c.id, records.c.fingerprint)).all())
    assert [(s.list_id, s.snapshot_id, s.sha256) for s in run.snapshots] == [(CCMC, snap.id, snap.sha256)]
    assert run.parameters.as_of == date(2021, 2, 1) and run.parameters.lists == (CCMC,)
    assert run.parameters.key_column == "id" and run.parameters.algorithm == "listwatch-v1"
    assert [r.key for r in run.rows] == ["A1", "A2", "A3", "A4", "A5"]
    assert run.rows[4].error and "no letters" in run.rows[4].error
    assert [h.entity_id for h in run.rows[0].hits] == [XIAOMI]
    assert [h.entity_id for h in run.rows[1].hits] == [CHINA_MOBILE_GROUP]
    assert not run.rows[2].hits and not run.rows[3].hits
    for hit in run.hits:
        assert versions[hit.record_id] == hit.fingerprint and hit.summary.startswith(f"{hit.score:.3f}")


def test_the_analyst_comes_from_the_flag_then_the_environment(
    loaded: Store, db_url: str, env: dict[str, str], parties: Path
) -> None:
    assert load_run(loaded, screen(db_url, env, parties)).analyst == "env-analyst"
    assert load_run(loaded, screen(db_url, env, parties, "--analyst", "bo")).analyst == "bo"


def test_without_flag_or_environment_the_analyst_is_the_os_user() -> None:
    assert Settings(db_url="sqlite://").who() == getpass.getuser()
    assert Settings(db_url="sqlite://", analyst="env").who("  ") == "env"


class _Interrupted(Exception):
    pass


def test_a_screening_that_fails_midway_stores_nothing(loaded: Store, parties: Path, tmp_path: Path) -> None:
    before = store_state(loaded)

    def stop_at_row_three(done: int) -> None:
        if done == 3:
            raise _Interrupted

    with pytest.raises(_Interrupted):
        screen_file(
            loaded,
            parties,
            parameters=RunParameters(as_of=date(2021, 2, 1), lists=(CCMC,)),
            analyst="ana",
            cache_dir=tmp_path / "cache",
            progress=stop_at_row_three,
        )
    assert store_state(loaded) == before


def test_a_refused_screening_stores_nothing(
    loaded: Store, db_url: str, env: dict[str, str], parties: Path
) -> None:
    before = store_state(loaded)
    result = cli(db_url, env, "screen", str(parties), "--id-columns", "passport")
    assert (
        result.exit_code == 1
        and result.output.startswith("error:")
        and "no column 'passport'" in result.output
    )
    assert store_state(loaded) == before


def test_rerun_reproduces_every_hit_and_score_exactly(
    loaded: Store, db_url: str, env: dict[str, str], parties: Path
) -> None:
    label = screen(db_url, env, parties)
    result = cli(db_url, env, "runs", "rerun", label, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["identical"] and report["same_basis"] and report["original"] == label
    original, again = load_run(loaded, label), load_run(loaded, report["run"])
    assert again.rerun_of == original.run_id and again.input == original.input
    assert [s.snapshot_id for s in again.snapshots] == [s.snapshot_id for s in original.snapshots]
    assert [(h.row_number, h.entity_id, h.score, h.fingerprint) for h in again.hits] == [
        (h.row_number, h.entity_id, h.score, h.fingerprint) for h in original.hits
    ]
    assert original.hits and all(isinstance(h.score, float) for h in original.hits)


def test_rerun_after_the_list_changed_names_the_new_snapshot(
    loaded: Store, parties: Path, tmp_path: Path
) -> None:
    params = RunParameters(as_of=date(2021, 2, 1), lists=(CCMC,), key_column="id")
    first = screen_file(loaded, parties, parameters=params, analyst="ana", cache_dir=tmp_path / "cache")
    changed = tmp_path / "designations.csv"
    text = CCMC_1237.read_text(encoding="utf-8")
    changed.write_text(
        text.replace(",Xiaomi Corporation,Xiaomi;", ",Xiaomi Corporation,Xiaomi Inc;"), "utf-8"
    )
    ingest(loaded, [changed], list_id=CCMC)
    result = rerun(loaded, first.label, analyst="ana", cache_dir=tmp_path / "cache")
    assert not result.same_basis
    assert [s.snapshot_id for s in result.snapshots_added] == [2]
    assert [s.snapshot_id for s in result.snapshots_removed] == [1]
    xiaomi_before, xiaomi_now = first.rows[0].hits[0], result.run.rows[0].hits[0]
    assert xiaomi_before.entity_id == xiaomi_now.entity_id == XIAOMI
    assert xiaomi_before.fingerprint != xiaomi_now.fingerprint  # the record version is part of the hit


def test_runs_lists_and_shows_runs(loaded: Store, db_url: str, env: dict[str, str], parties: Path) -> None:
    label = screen(db_url, env, parties)
    listed = cli(db_url, env, "runs", "--json")
    assert listed.exit_code == 0, listed.output
    (summary,) = json.loads(listed.stdout)
    assert summary["run"] == label and summary["rows"] == 5 and summary["hits"] == 2
    shown = cli(db_url, env, "runs", "show", label)
    assert shown.exit_code == 0, shown.output
    assert "parties.csv" in shown.output and "Xiaomi Corporation" in shown.output
    assert "us_dod_1237_ccmc #1" in shown.output and "open" in shown.output
    as_json = json.loads(cli(db_url, env, "runs", "show", label, "--json").stdout)
    assert as_json["input"]["sha256"] == hashlib.sha256(parties.read_bytes()).hexdigest()
    assert as_json["rows"][1]["hits"][0]["review"]["state"] == "open"


def test_no_runs_yet_is_said_plainly(store: Store, db_url: str, env: dict[str, str]) -> None:
    result = cli(db_url, env, "runs")
    assert result.exit_code == 0 and "No screening runs" in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["runs", "show", "run-0042"], "no stored screening run 'run-0042'"),
        (["runs", "show", "yesterday"], "no stored screening run 'yesterday'"),
        (["runs", "rerun", "run-0042"], "no stored screening run"),
        (["certificate", "run-0042"], "no stored screening run"),
        (["review", "run-0042", "1", "--false-positive", "--comment", "x"], "no stored screening run"),
        (["review", "run-0001", "9", "--false-positive", "--comment", "x"], "numbered 1 to 2"),
        (["review", "run-0001", "3:" + XIAOMI, "--false-positive", "--comment", "x"], "row 3 has no hits"),
        (["review", "run-0001", "1:nobody", "--false-positive", "--comment", "x"], f"row 1's hits are {XIAOMI}"),
        (["review", "run-0001", "first", "--false-positive", "--comment", "x"], "ROW:ENTITY_ID"),
        (["review", "run-0001", "1", "--true-match", "--false-positive", "--comment", "x"], "exactly one"),
        (["review", "run-0001", "1", "--comment", "x"], "exactly one"),
        (["review", "run-0001", "1", "--true-match"], "--comment"),
        (["reviews", "export", "--out", "reviews.xlsx"], "unsupported export"),
    ],
)  # fmt: skip
def test_bad_audit_input_is_one_error_line_and_changes_nothing(
    loaded: Store, db_url: str, env: dict[str, str], parties: Path, args: list[str], fragment: str
) -> None:
    screen(db_url, env, parties)
    before = store_state(loaded)
    result = cli(db_url, env, *args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error:") and len(result.output.strip().splitlines()) == 1, result.output
    assert fragment in result.output, result.output
    assert store_state(loaded) == before


def test_a_run_needs_no_input_file_to_be_repeated(loaded: Store, parties: Path, tmp_path: Path) -> None:
    params = RunParameters(as_of=date(2021, 2, 1), lists=(CCMC,))
    first = screen_file(loaded, parties, parameters=params, analyst="ana", cache_dir=tmp_path / "cache")
    parties.unlink()
    again = rerun(loaded, first.label, analyst="bo", cache_dir=tmp_path / "cache")
    assert again.identical and again.run.input.sha256 == first.input.sha256
