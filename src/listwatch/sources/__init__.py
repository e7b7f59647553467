"""Parsers for official list formats: files in, `ParsedList` out. No database, no network.

Each format is a small object with a `name`, kept in `FORMATS`; detection asks each in turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from listwatch.errors import UnknownFormat
from listwatch.model import ParsedList

__all__ = ["FORMATS", "SourceFormat", "detect_format", "get_format", "parse_files"]


class SourceFormat(Protocol):
    name: str  # used by --format and in snapshot metadata, e.g. "ofac-csv"
    title: str  # one line for help and docs
    #: whether the source carries its own dated events (notices, listing periods) or is a plain
    #: snapshot whose events come from diffs
    dated: bool

    def sniff(self, files: Sequence[Path]) -> bool:
        """Cheaply decide from names and first lines whether these files are in this format."""
        ...

    def parse(self, files: Sequence[Path]) -> ParsedList:
        """Read the files; raise `ParseError`/`FormatMismatch` naming the file and line."""
        ...


def _formats() -> dict[str, SourceFormat]:
    from listwatch.sources.csl import CSL_CSV, CSL_JSON
    from listwatch.sources.designations import DESIGNATIONS_CSV
    from listwatch.sources.dpl import DPL_TSV
    from listwatch.sources.eu_xml import EU_XML
    from listwatch.sources.ftm import FTM_JSON
    from listwatch.sources.ofac_advanced import OFAC_ADVANCED
    from listwatch.sources.ofac_csv import OFAC_CSV
    from listwatch.sources.ofac_enhanced import OFAC_ENHANCED
    from listwatch.sources.ofac_xml import OFAC_XML
    from listwatch.sources.ofsi_csv import OFSI_CSV
    from listwatch.sources.periods import PERIODS_CSV
    from listwatch.sources.un_xml import UN_XML

    return {
        fmt.name: fmt
        for fmt in (
            OFAC_CSV,
            DESIGNATIONS_CSV,
            PERIODS_CSV,
            UN_XML,
            OFSI_CSV,
            CSL_CSV,
            CSL_JSON,
            DPL_TSV,
            FTM_JSON,
            EU_XML,
            OFAC_XML,
            OFAC_ADVANCED,
            OFAC_ENHANCED,
        )
    }


FORMATS: dict[str, SourceFormat] = _formats()


def get_format(name: str) -> SourceFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormat(f"unknown format {name!r}; known formats: {', '.join(FORMATS)}") from None


def detect_format(files: Sequence[Path]) -> SourceFormat:
    for fmt in FORMATS.values():
        if fmt.sniff(files):
            return fmt
    names = ", ".join(str(f) for f in files)
    raise UnknownFormat(f"cannot tell the format of {names}; name it with --format ({', '.join(FORMATS)})")


def parse_files(files: Sequence[Path], format_name: str | None = None) -> ParsedList:
    fmt = get_format(format_name) if format_name else detect_format(files)
    return fmt.parse(files)
