"""programs.yaml: it loads, every program and rule is cited, and a bad file is refused with its place."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from listwatch.catalog import LISTS
from listwatch.errors import ParseError
from listwatch.rules.programs import load_programs

ROOT = Path(__file__).resolve().parents[2]
FUTURE_LISTS = {"us_bis_entity", "us_bis_dpl", "un_sc", "eu_fsf", "gb_hmt_ofsi"}


def test_bundled_programs_load_and_every_rule_is_cited() -> None:
    book = load_programs()
    assert book.programs
    for program in book.programs:
        assert program.citations, program.id
        for rule in program.rules:
            assert rule.citations, rule.id
            assert all(c.text and c.url.startswith("https://") for c in rule.citations), rule.id
        for extra in (program.covers_subsidiaries, program.ownership):
            if extra is not None:
                assert extra.citations, program.id


def test_every_known_list_and_the_announced_ones_have_rules() -> None:
    book = load_programs()
    assert set(LISTS) | FUTURE_LISTS <= set(book.list_ids) | set(book.not_modelled)
    assert not set(book.list_ids) & set(book.not_modelled)
    assert all("not modelled" in why or "added after" in why for why in book.not_modelled.values())


def test_the_data_file_ships_with_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "rules/programs.yaml" in config["tool"]["setuptools"]["package-data"]["listwatch"]
    assert any(dep.lower().startswith("pyyaml") for dep in config["project"]["dependencies"])


def test_ns_cmic_rules_apply_only_to_entries_of_that_program() -> None:
    book = load_programs()
    assert [p.id for p in book.for_entry("us_ofac_cons", ("CMIC-EO13959",))] == ["us-ns-cmic-eo14032"]
    assert book.for_entry("us_ofac_cons", ("SSI-EO13662",)) == []


def _write(tmp_path: Path, rule: str) -> Path:
    path = tmp_path / "programs.yaml"
    path.write_text(
        "version: 1\n"
        "programs:\n"
        "  - id: p\n"
        "    title: T\n"
        "    authority: A\n"
        "    lists: [us_ofac_sdn]\n"
        "    enacted: 2000-01-01\n"
        "    citations: [{text: law, url: 'https://example.org/law'}]\n"
        "    rules:\n" + rule,
        encoding="utf-8",
    )
    return path


def test_a_rule_without_a_citation_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "      - {id: r, kind: blocked, summary: s}\n")
    with pytest.raises(ParseError, match="program p, rule r: needs at least one citation"):
        load_programs(path)


def test_a_date_alternative_of_two_kinds_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "      - id: r\n"
        "        kind: blocked\n"
        "        summary: s\n"
        "        starts: [{date: 2021-01-01, days_after_listing: 3}]\n"
        "        citations: [{text: law, url: 'https://example.org/law'}]\n",
    )
    with pytest.raises(ParseError, match="each alternative is one of"):
        load_programs(path)


def test_a_file_that_is_not_yaml_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "programs.yaml"
    path.write_text("version: 1\nprograms: [\n  - oops: {\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"programs.yaml:\d+: not valid YAML"):
        load_programs(path)


def test_effect_says_when_a_list_has_no_modelled_rules(tmp_path: Path) -> None:
    from datetime import date

    from listwatch.registry.snapshots import ingest
    from listwatch.rules.effects import legal_effect
    from listwatch.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'listwatch.db'}")
    csl = ROOT / "examples" / "lists" / "us_csl" / "consolidated_excerpt_2025.csv"
    ingest(store, [csl], published=date(2025, 6, 1))
    report = legal_effect(store, "Atlas Sanatgaran", as_of=date(2025, 7, 1))
    assert not report.effects
    assert any("no legal effect is modelled for us_csl_uvl" in note for note in report.notes)
    store.close()
