"""Reviews: decisions on hits carry over to later runs until the listed entity's record changes.

China Mobile Limited (the Hong Kong-listed company) scores 0.93 against China Mobile Communications
Group on the real DoD 1237 list: a real false positive to dismiss.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from listwatch.matching.query import MatchQuery
from listwatch.registry.snapshots import ingest
from listwatch.screening.batches import screen_file
from listwatch.screening.reports import write_results
from listwatch.screening.reviews import list_reviews, record_review, subject_name
from listwatch.screening.runs import RunParameters, ScreeningRun, load_run
from listwatch.store import Store
from tests.conftest import CCMC_1237
from tests.screening.support import CCMC, CHINA_MOBILE_GROUP, PARTIES, XIAOMI, cli

KEYED = RunParameters(as_of=date(2021, 2, 1), lists=(CCMC,), key_column="id")


@pytest.fixture
def loaded(store: Store) -> Store:
    ingest(store, [CCMC_1237], list_id=CCMC)
    return store


@pytest.fixture
def parties(tmp_path: Path) -> Path:
    path = tmp_path / "parties.csv"
    path.write_text(PARTIES, encoding="utf-8")
    return path


def screened(store: Store, path: Path, tmp_path: Path, parameters: RunParameters = KEYED) -> ScreeningRun:
    return screen_file(store, path, parameters=parameters, analyst="ana", cache_dir=tmp_path / "cache")


def hit_on(run: ScreeningRun, entity_id: str) -> tuple[str, str]:
    """(state, review analyst or "") of the run's hit on `entity_id`."""
    (hit,) = [h for h in run.hits if h.entity_id == entity_id]
    return hit.status.state, hit.status.review.analyst if hit.status.review else ""


def test_a_false_positive_is_dismissed_in_the_next_run(loaded: Store, parties: Path, tmp_path: Path) -> None:
    first = screened(loaded, parties, tmp_path)
    assert hit_on(first, CHINA_MOBILE_GROUP) == ("open", "")
    record_review(
        loaded, first.label, "2", decision="false_positive", comment="the HK subsidiary", analyst="bo"
    )
    second = screened(loaded, parties, tmp_path)
    assert hit_on(second, CHINA_MOBILE_GROUP) == ("dismissed", "bo")
    assert hit_on(second, XIAOMI) == ("open", "")
    summary = second.summary()
    assert summary["hits"] == 2 and summary["open"] == 1 and summary["dismissed"] == 1
    assert summary["rows_with_open_hits"] == 1
    assert (
        hit_on(load_run(loaded, first.label), CHINA_MOBILE_GROUP)[0] == "dismissed"
    )  # shown on the old run too


def test_the_latest_decision_counts_and_history_is_kept(loaded: Store, parties: Path, tmp_path: Path) -> None:
    run = screened(loaded, parties, tmp_path)
    ref = f"1:{XIAOMI}"
    record_review(loaded, run.label, ref, decision="false_positive", comment="misclick", analyst="ana")
    record_review(loaded, run.label, ref, decision="true_match", comment="same ISIN", analyst="bo")
    assert hit_on(screened(loaded, parties, tmp_path), XIAOMI) == ("confirmed", "bo")
    assert [(r.decision, r.analyst) for r in list_reviews(loaded)] == [
        ("false_positive", "ana"),
        ("true_match", "bo"),
    ]


def test_without_a_key_column_reviews_follow_the_normalised_name(
    loaded: Store, parties: Path, tmp_path: Path
) -> None:
    unkeyed = RunParameters(as_of=date(2021, 2, 1), lists=(CCMC,))
    first = screened(loaded, parties, tmp_path, unkeyed)
    record_review(loaded, first.label, "2", decision="false_positive", comment="subsidiary", analyst="ana")
    other = tmp_path / "other.csv"
    other.write_text("name\nAcme\nCHINA MOBILE LIMITED.\n", encoding="utf-8")  # another row, same name
    assert hit_on(screened(loaded, other, tmp_path, unkeyed), CHINA_MOBILE_GROUP)[0] == "dismissed"


def test_a_keyed_review_does_not_dismiss_another_party_of_the_same_name(
    loaded: Store, parties: Path, tmp_path: Path
) -> None:
    first = screened(loaded, parties, tmp_path)
    record_review(loaded, first.label, "2", decision="false_positive", comment="subsidiary", analyst="ana")
    other = tmp_path / "other.csv"
    other.write_text("id,name\nB7,China Mobile Limited\n", encoding="utf-8")
    assert hit_on(screened(loaded, other, tmp_path), CHINA_MOBILE_GROUP)[0] == "open"


def test_a_review_goes_stale_when_the_entity_record_changes(
    loaded: Store, parties: Path, tmp_path: Path
) -> None:
    first = screened(loaded, parties, tmp_path)
    record_review(loaded, first.label, "2", decision="false_positive", comment="subsidiary", analyst="ana")
    assert hit_on(screened(loaded, parties, tmp_path), CHINA_MOBILE_GROUP)[0] == "dismissed"
    # A new version of the real list in which the group gains an alias: its record changes.
    amended = tmp_path / "designations.csv"
    text = CCMC_1237.read_text(encoding="utf-8")
    old = ",China Mobile Communications Group,China Mobile,"
    assert text.count(old) == 2
    amended.write_text(text.replace(old, ",China Mobile Communications Group,China Mobile; CMCC,"), "utf-8")
    ingest(loaded, [amended], list_id=CCMC)
    later = screened(loaded, parties, tmp_path)
    (hit,) = [h for h in later.hits if h.entity_id == CHINA_MOBILE_GROUP]
    assert hit.status.state == "stale" and hit.status.open
    assert hit.status.review is not None and hit.status.review.fingerprint != hit.fingerprint
    assert hit_on(later, XIAOMI) == ("open", "")
    # Reviewed again on the new version, it is dismissed again.
    record_review(
        loaded, later.label, str(hit.number), decision="false_positive", comment="still", analyst="bo"
    )
    assert hit_on(screened(loaded, parties, tmp_path), CHINA_MOBILE_GROUP) == ("dismissed", "bo")


def test_review_and_export_through_the_cli(loaded: Store, db_url: str, parties: Path, tmp_path: Path) -> None:
    env = {"COLUMNS": "200", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    run = screened(loaded, parties, tmp_path)
    done = cli(db_url, env, "review", run.label, f"2:{CHINA_MOBILE_GROUP}", "--false-positive",
               "--comment", "HK-listed subsidiary", "--analyst", "ana")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "review #1" in done.output and "false positive" in done.output
    out_csv, out_json = tmp_path / "reviews.csv", tmp_path / "reviews.json"
    for out in (out_csv, out_json):
        result = cli(db_url, env, "reviews", "export", "--out", str(out))
        assert result.exit_code == 0, result.output
    (row,) = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert row["run"] == run.label and row["entity_id"] == CHINA_MOBILE_GROUP and row["key"] == "A2"
    assert row["decision"] == "false_positive" and row["analyst"] == "ana"
    assert row["caption"] == "China Mobile Communications Group" and row["comment"] == "HK-listed subsidiary"
    (item,) = json.loads(out_json.read_text(encoding="utf-8"))
    assert item["review"] == 1 and item["fingerprint"] == run.hits[1].fingerprint
    to_stdout = cli(db_url, env, "reviews", "export")
    assert to_stdout.exit_code == 0 and to_stdout.stdout.startswith("review,reviewed_at,analyst,run")


def test_every_report_format_shows_the_review_status(loaded: Store, parties: Path, tmp_path: Path) -> None:
    first = screened(loaded, parties, tmp_path)
    record_review(loaded, first.label, "2", decision="false_positive", comment="subsidiary", analyst="ana")
    run = screened(loaded, parties, tmp_path)
    for suffix in (".csv", ".json", ".html"):
        write_results(run, tmp_path / f"results{suffix}")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text(encoding="utf-8"))))
    reviews = {r["entity_id"]: r["review"] for r in rows if r["entity_id"]}
    assert reviews[XIAOMI] == "open" and reviews[CHINA_MOBILE_GROUP].startswith("dismissed (#1 ana")
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert data["run"] == run.label and data["summary"]["dismissed"] == 1
    assert data["rows"][1]["hits"][0]["review"]["state"] == "dismissed"
    page = (tmp_path / "results.html").read_text(encoding="utf-8")
    assert 'class="dismissed"' in page and run.label in page


@pytest.mark.parametrize(
    ("names", "identifiers", "expected"),
    [
        (("  Xiaomi Corp. ",), {"isin": ("KYG9830T1067",)}, "xiaomi corp"),
        (("!!!",), {"isin": (" KYG9830T1067 ",), "lei": ("X",)}, "isin:KYG9830T1067; lei:X"),
        ((" ",), {"isin": ("KYG9830T1067",)}, "isin:KYG9830T1067"),
        (("!!!",), {}, None),
        ((), {"isin": ("  ",)}, None),
    ],
)
def test_subject_name_falls_back_to_stripped_identifiers(
    names: tuple[str, ...], identifiers: dict[str, tuple[str, ...]], expected: str | None
) -> None:
    assert subject_name(MatchQuery(names=names, identifiers=identifiers)) == expected
    assert subject_name(None) is None
