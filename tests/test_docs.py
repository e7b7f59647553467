"""The docs stay true to the code: generated reference current, every command and format documented."""

from __future__ import annotations

from pathlib import Path

from listwatch.catalog import LISTS
from listwatch.docs import cli_reference
from listwatch.sources import FORMATS

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_current() -> None:
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == cli_reference(), "run `make docs`"


def test_every_format_has_a_section_in_formats_md() -> None:
    text = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    missing = [name for name in FORMATS if f"## {name}" not in text]
    assert not missing


def test_every_known_list_is_documented() -> None:
    text = (ROOT / "docs" / "history.md").read_text(encoding="utf-8")
    assert not [list_id for list_id in LISTS if f"`{list_id}`" not in text]


def test_readme_shows_the_two_commands_and_every_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    for command in ("ingest", "lists", "history", "status", "diff", "export"):
        assert f"listwatch {command}" in readme
