"""Screening through the CLI and the Screener: real lists, a real store, real files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listwatch.cli import app
from listwatch.errors import InvalidQuery
from listwatch.matching.query import MatchQuery, build_query
from listwatch.registry.snapshots import ingest
from listwatch.screening.screener import Screener
from listwatch.store import Store, open_store
from tests.conftest import CCMC_1237, CONS_2025_04, DOD_1260H, SDN_2021

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("screening")
    url = module_db_url  # SQLite, then PostgreSQL (tests/conftest.py)
    store = open_store(url)
    ingest(store, [SDN_2021])
    ingest(store, [CONS_2025_04])
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    return url, folder / "cache"


@pytest.fixture(scope="module")
def store(db: tuple[str, Path]) -> Store:
    return open_store(db[0])


def run(db: tuple[str, Path], *args: str) -> object:
    env = {"COLUMNS": "200", "XDG_CACHE_HOME": str(db[1])}
    return runner.invoke(app, ["--db", db[0], *args], env=env)


def _top(db: tuple[str, Path], name: str, day: str, *extra: str) -> list[dict[str, object]]:
    result = run(db, "match", name, "--as-of", day, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["results"]


@pytest.mark.parametrize("name", ["小米集团", "XIAOMI CORP"])
def test_xiaomi_found_while_listed_and_not_after_vacatur(db: tuple[str, Path], name: str) -> None:
    listed = [r for r in _top(db, name, "2021-02-01") if r["match"]]
    assert listed and listed[0]["caption"] == "Xiaomi Corporation"
    assert listed[0]["list"] == "us_dod_1237_ccmc" and listed[0]["listed_since"] == "2021-01-14"
    after = _top(db, name, "2021-06-01")
    assert not [r for r in after if r["match"] and r["caption"] == "Xiaomi Corporation"]


def test_a_person_named_xiaoming_is_not_xiaomi(db: tuple[str, Path]) -> None:
    hits = _top(db, "Xiaoming Zhang", "2021-02-01")
    assert not [r for r in hits if r["match"] and r["caption"] == "Xiaomi Corporation"]


def test_isin_alone_finds_its_entity(db: tuple[str, Path]) -> None:
    result = run(db, "match", "", "--isin", "HK0941009539", "--as-of", "2025-05-01", "--json")
    assert result.exit_code == 0, result.output
    top = json.loads(result.output)["results"][0]
    assert top["caption"] == "CHINA MOBILE LIMITED" and top["match"]


def test_every_hit_is_explained(db: tuple[str, Path]) -> None:
    hits = _top(db, "China Mobile Limited", "2025-05-01")
    assert hits[0]["match"]
    assert all(h["explanations"] for h in hits)


def test_scores_rank_candidates(store: Store, db: tuple[str, Path]) -> None:
    screener = Screener(store, as_of=date(2025, 5, 1), cache_dir=db[1])
    response = screener.match(MatchQuery(names=("China Mobile",), schema="Company"), limit=10)
    scores = [h.score for h in response.hits]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores[:3])) == 3


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_with_threshold_refuses_a_threshold_outside_zero_to_one(
    store: Store, db: tuple[str, Path], threshold: float
) -> None:
    screener = Screener(store, as_of=date(2021, 2, 1), cache_dir=db[1])
    assert screener.with_threshold(0.9).threshold == 0.9 and screener.with_threshold(1.0).threshold == 1.0
    with pytest.raises(InvalidQuery, match="must be above 0 and at most 1"):
        screener.with_threshold(threshold)


def test_match_batch_answers_each_query_as_match_does(store: Store, db: tuple[str, Path]) -> None:
    screener = Screener(store, as_of=date(2021, 2, 1), cache_dir=db[1])
    queries = [
        MatchQuery(names=("Xiaomi Corp",), schema="Company"),
        MatchQuery(names=("小米集团",)),
        MatchQuery(names=("Xiaoming Zhang",), schema="Person"),
        MatchQuery(names=("China Mobile",), schema="Company"),
        MatchQuery(names=("Rosewood Garden Supplies",)),
    ]
    batch = screener.match_batch([build_query(q) for q in queries], limit=4)
    for query, (hits, total) in zip(queries, batch, strict=True):
        alone = screener.match(query, limit=4)
        assert [(h.entity.entity_id, h.score, h.scored.summary()) for h in hits] == [
            (h.entity.entity_id, h.score, h.scored.summary()) for h in alone.hits
        ]
        assert total == alone.total_candidates
    assert batch[0][0][0].caption.startswith("Xiaomi") and batch[1][0][0].caption.startswith("Xiaomi")
    with pytest.raises(InvalidQuery, match="limit must be at least 1"):
        screener.match_batch([build_query(queries[0])], limit=0)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["match", "!!!"], "no letters or digits"),
        (["match", "Acme", "--schema", "Spaceship"], "unknown schema"),
        (["match", "Acme", "--isin", "KYG9830T1068"], "not a valid ISIN"),
        (["match", "Acme", "--lei", "5493001KJTIIGC8Y1R13"], "not a valid LEI"),
        (["match", "Acme", "--birth-date", "1962/01/01"], "birth date"),
        (["match", "Acme", "--as-of", "2021-02-30"], "--as-of"),
        (["match", "Acme", "--threshold", "1.5"], "threshold"),
    ],
)
def test_bad_match_input_is_one_clear_error(db: tuple[str, Path], args: list[str], fragment: str) -> None:
    result = run(db, *args)
    assert result.exit_code != 0
    assert result.output.startswith("error:") and fragment in result.output, result.output


def test_a_very_long_name_is_screened_not_refused(store: Store, db: tuple[str, Path]) -> None:
    screener = Screener(store, as_of=date(2021, 2, 1), cache_dir=db[1])
    response = screener.match(MatchQuery(names=("Xiaomi " * 1500,)))
    assert response.hits  # cut to MAX_NAME_LENGTH and scored


def test_screen_file_reports_bad_rows_and_writes_every_format(db: tuple[str, Path], tmp_path: Path) -> None:
    parties = tmp_path / "parties.csv"
    parties.write_text(
        "id,name,isin\n1,Xiaomi Corporation,\n2,!!!,\n3,Acme Bakery Ltd,\n4,,KYG9830T1067\n", encoding="utf-8"
    )
    for suffix in (".csv", ".json", ".html"):
        out = tmp_path / f"results{suffix}"
        result = run(db, "screen", str(parties), "--as-of", "2021-02-01", "--id-columns", "isin",
                     "--key-column", "id", "--out", str(out))  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "row 2:" in result.output and "4 rows" in result.output
        assert out.exists()
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert rows[0]["hits"][0]["caption"] == "Xiaomi Corporation"
    assert rows[1]["error"] and not rows[2]["hits"]
    assert rows[3]["hits"][0]["caption"] == "Xiaomi Corporation"  # by ISIN alone
    assert "Xiaomi Corporation" in (tmp_path / "results.html").read_text()


def test_screen_file_without_the_named_column(db: tuple[str, Path], tmp_path: Path) -> None:
    parties = tmp_path / "parties.csv"
    parties.write_text("id,company\n1,Xiaomi\n", encoding="utf-8")
    result = run(db, "screen", str(parties), "--name-column", "name")
    assert result.exit_code != 0
    assert "parties.csv:1" in result.output and "no column 'name'" in result.output


def test_score_pairs_csv_and_ftm_json(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "schema,name1,name2\nCompany,Siemens AG,Siemens Aktiengesellschaft\nPerson,Olaf Scholz,Angela Merkel\n"
    )
    out = tmp_path / "scored.csv"
    result = runner.invoke(app, ["score-pairs", str(pairs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("schema,name1,name2,score,match")
    assert lines[1].split(",")[4] == "True" and lines[2].split(",")[4] == "False"
    left = {
        "id": "a",
        "schema": "Company",
        "properties": {"name": ["Xiaomi Corp"], "isinCode": ["KYG9830T1067"]},
    }
    right = {
        "id": "b",
        "schema": "Company",
        "properties": {"name": ["Xiaomi Corporation"], "isinCode": ["KYG9830T1067"]},
    }
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text(json.dumps({"left": left, "right": right}) + "\n")
    out_json = tmp_path / "scored.jsonl"
    assert runner.invoke(app, ["score-pairs", str(jsonl), "--out", str(out_json)]).exit_code == 0
    assert json.loads(out_json.read_text())["match"] is True


def test_score_pairs_bad_line_names_file_and_line(tmp_path: Path) -> None:
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text('{"left": {"schema": "Company", "properties": {}}, "right": {}}\n{not json\n')
    result = runner.invoke(app, ["score-pairs", str(jsonl)])
    assert result.exit_code != 0 and "pairs.jsonl:" in result.output


def test_screener_refuses_unknown_algorithm(store: Store) -> None:
    with pytest.raises(InvalidQuery, match="algorithm"):
        Screener(store, algorithm="nope")


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_screen_reads_parquet_and_excel(db: tuple[str, Path], tmp_path: Path, suffix: str) -> None:
    import pandas as pd

    parties = tmp_path / f"parties{suffix}"
    frame = pd.DataFrame({"company": ["Xiaomi Corporation", "Acme Bakery Ltd"]})
    frame.to_parquet(parties) if suffix == ".parquet" else frame.to_excel(parties, index=False)
    out = tmp_path / "results.json"
    result = run(db, "screen", str(parties), "--as-of", "2021-02-01", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["rows"]
    assert rows[0]["hits"][0]["caption"] == "Xiaomi Corporation" and not rows[1]["hits"]


@pytest.mark.parametrize(
    ("name", "fragment"), [("parties.pdf", "unsupported file type"), ("missing.csv", "no such file")]
)
def test_screen_refuses_unreadable_input(
    db: tuple[str, Path], tmp_path: Path, name: str, fragment: str
) -> None:
    path = tmp_path / name
    if name.endswith(".pdf"):
        path.write_bytes(b"%PDF-1.4")
    result = run(db, "screen", str(path))
    assert result.exit_code != 0 and fragment in result.output, result.output


def test_screen_refuses_an_unknown_output_type(db: tuple[str, Path], tmp_path: Path) -> None:
    parties = tmp_path / "parties.csv"
    parties.write_text("name\nXiaomi\n", encoding="utf-8")
    result = run(db, "screen", str(parties), "--out", str(tmp_path / "out.docx"))
    assert result.exit_code != 0 and "unsupported output" in result.output


def test_a_batch_spares_the_index_from_the_collector_and_thaws_after() -> None:
    import gc

    from listwatch.screening.screener import BATCH_GC_THRESHOLD, gc_spares_the_index

    gc.unfreeze()  # an API test of the same session may have frozen its indexes
    before = gc.get_threshold()
    index_like = [{"n": n} for n in range(1000)]
    with gc_spares_the_index():
        assert gc.get_freeze_count() >= len(index_like)  # the objects alive on entry, frozen
        assert gc.get_threshold() == (max(before[0], BATCH_GC_THRESHOLD), *before[1:])
    assert gc.get_freeze_count() == 0  # thawed: collectable again
    assert gc.get_threshold() == before  # and the young generation collected as before
    with pytest.raises(RuntimeError), gc_spares_the_index():
        raise RuntimeError("a batch that fails")
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
    gc.freeze()  # an application that froze its own (as the API does) keeps them frozen
    try:
        frozen = gc.get_freeze_count()
        with gc_spares_the_index():
            assert gc.get_threshold() == before  # and its own collector settings
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
