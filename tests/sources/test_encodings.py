"""Encodings: real bytes from the bundled files, re-encoded; each is read the same or refused clearly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from listwatch.errors import ParseError
from listwatch.sources import SourceFormat
from listwatch.sources.csl import CSL_CSV
from listwatch.sources.dpl import DPL_TSV
from listwatch.sources.ftm import FTM_JSON
from listwatch.sources.ofsi_csv import OFSI_CSV
from listwatch.sources.un_xml import UN_XML
from tests.conftest import CSL_2019, DPL_2019_06, FTM_EU_SAMPLE, OFSI_2020_03, UN_2018_10


def _records(fmt: SourceFormat, path: Path) -> list[Any]:
    parsed = fmt.parse([path])
    return [record.to_dict() for part in (parsed.parts or (parsed,)) for record in part.records]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


OFSI_TEXT = OFSI_2020_03.read_bytes().decode("cp1252")  # OFSI's own file is Windows-1252 (’ is 0x92)


@pytest.mark.parametrize(
    ("label", "encode"),
    [
        ("utf-8", lambda text: text.encode("utf-8")),
        ("utf-8 with BOM", lambda text: b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("utf-16 with BOM", lambda text: text.encode("utf-16")),
        ("utf-16-le without BOM", lambda text: text.encode("utf-16-le")),
        ("utf-16-be without BOM", lambda text: text.encode("utf-16-be")),
        ("cp1252 with CRLF", lambda text: text.replace("\n", "\r\n").encode("cp1252")),
    ],
)
def test_ofsi_file_reads_the_same_in_every_encoding(tmp_path: Path, label: str, encode: Any) -> None:
    original = _records(OFSI_CSV, OFSI_2020_03)
    path = _write(tmp_path, "ConList.csv", encode(OFSI_TEXT))
    assert OFSI_CSV.sniff([path]) or label.startswith("utf-16")
    assert _records(OFSI_CSV, path) == original
    assert any("’" in (record["remarks"] or "") for record in original)  # the cp1252 quote, decoded right


def test_latin1_bytes_in_a_utf8_only_format_are_refused_with_their_line(tmp_path: Path) -> None:
    text = CSL_2019.read_text(encoding="utf-8")
    assert "§" in text
    path = _write(tmp_path, "consolidated.csv", text.encode("latin-1"))
    line = text[: text.index("§")].count("\n") + 1
    with pytest.raises(ParseError) as caught:
        CSL_CSV.parse([path])
    assert str(caught.value) == f"{path}:{line}: not valid UTF-8 (byte 0xa7); save the file as UTF-8"


def test_csl_reads_the_same_with_bom_crlf_and_utf16(tmp_path: Path) -> None:
    original = _records(CSL_CSV, CSL_2019)
    text = CSL_2019.read_text(encoding="utf-8")
    for index, data in enumerate(
        (
            b"\xef\xbb\xbf" + text.encode("utf-8"),
            text.replace("\n", "\r\n").encode("utf-8"),
            text.encode("utf-16"),
        )
    ):
        assert _records(CSL_CSV, _write(tmp_path, f"csl{index}.csv", data)) == original


def test_dpl_reads_the_same_as_cp1252_crlf_and_utf16(tmp_path: Path) -> None:
    original = _records(DPL_TSV, DPL_2019_06)
    text = DPL_2019_06.read_text(encoding="utf-8")
    for index, data in enumerate((text.replace("\n", "\r\n").encode("cp1252"), text.encode("utf-16"))):
        assert _records(DPL_TSV, _write(tmp_path, f"dpl{index}.txt", data)) == original


def test_undefined_cp1252_byte_is_refused_not_guessed(tmp_path: Path) -> None:
    lines = DPL_2019_06.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b"HENDERSON", b"HENDERS\x81N")
    assert b"\x81" in lines[4]
    path = _write(tmp_path, "dpl.txt", b"\n".join(lines))
    with pytest.raises(ParseError, match=r"dpl.txt:5: neither UTF-8 nor cp1252 \(byte 0x81\)"):
        DPL_TSV.parse([path])


def test_un_xml_reads_the_same_as_utf16_and_with_bom(tmp_path: Path) -> None:
    original = _records(UN_XML, UN_2018_10)
    text = UN_2018_10.read_text(encoding="utf-8")
    utf16 = text.replace('encoding="UTF-8"', 'encoding="UTF-16"', 1).encode("utf-16")
    assert _records(UN_XML, _write(tmp_path, "un16.xml", utf16)) == original
    bom = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    assert _records(UN_XML, _write(tmp_path, "unbom.xml", bom)) == original


def test_un_xml_in_latin1_while_declaring_utf8_is_refused(tmp_path: Path) -> None:
    text = UN_2018_10.read_text(encoding="utf-8")
    latin = text.encode("latin-1", errors="replace")
    path = _write(tmp_path, "un.xml", latin)
    with pytest.raises(ParseError, match="bytes not in the encoding the file declares"):
        UN_XML.parse([path])


def test_ftm_reads_the_same_with_bom_and_utf16(tmp_path: Path) -> None:
    original = _records(FTM_JSON, FTM_EU_SAMPLE)
    text = FTM_EU_SAMPLE.read_text(encoding="utf-8")
    assert _records(FTM_JSON, _write(tmp_path, "a.json", b"\xef\xbb\xbf" + text.encode("utf-8"))) == original
    assert _records(FTM_JSON, _write(tmp_path, "b.json", text.encode("utf-16"))) == original
