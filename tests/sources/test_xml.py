"""The hardened XML reader: hostile files are refused before a record is read, memory stays flat."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from listwatch.errors import FormatMismatch, ParseError
from listwatch.sources.xml import iter_elements, read_head

RECORD = "<ITEM><NAME>Acme</NAME></ITEM>"


def _write(tmp_path: Path, text: str | bytes, name: str = "list.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def _read(path: Path) -> list[str]:
    return [element.findtext("NAME") for element in iter_elements(path, {"ITEM"}, root="LIST")]


def test_records_are_handed_out_one_by_one(tmp_path: Path) -> None:
    path = _write(tmp_path, f'<?xml version="1.0"?><LIST>{RECORD * 3}<OTHER/></LIST>')
    assert _read(path) == ["Acme", "Acme", "Acme"]


def test_billion_laughs_is_refused_before_any_expansion(tmp_path: Path) -> None:
    lols = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    text = (
        f'<?xml version="1.0"?>\n<!DOCTYPE LIST [<!ENTITY lol0 "lol">{lols}]>\n'
        "<LIST><ITEM><NAME>&lol9;</NAME></ITEM></LIST>"
    )
    path = _write(tmp_path, text)
    with pytest.raises(ParseError) as caught:
        _read(path)
    assert str(caught.value).startswith(f"{path}:2: the DOCTYPE declares entity 'lol0'")
    assert "billion laughs" in str(caught.value)


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = _write(tmp_path, "top secret", "secret.txt")
    text = f'<?xml version="1.0"?><!DOCTYPE LIST [<!ENTITY xxe SYSTEM "file://{secret}">]><LIST><ITEM><NAME>&xxe;</NAME></ITEM></LIST>'
    path = _write(tmp_path, text)
    with pytest.raises(ParseError) as caught:
        _read(path)
    assert f"declares an external entity 'xxe' ('file://{secret}')" in str(caught.value)


def test_external_parameter_entity_is_refused(tmp_path: Path) -> None:
    text = '<?xml version="1.0"?><!DOCTYPE LIST [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]><LIST/>'
    with pytest.raises(ParseError, match="external entity 'remote'"):
        _read(_write(tmp_path, text))


def test_dtd_that_would_be_fetched_is_refused(tmp_path: Path) -> None:
    text = f'<?xml version="1.0"?><!DOCTYPE LIST SYSTEM "http://127.0.0.1:9/list.dtd"><LIST>{RECORD}</LIST>'
    path = _write(tmp_path, text)
    with pytest.raises(ParseError) as caught:
        _read(path)
    assert str(caught.value) == (
        f"{path}:1: the DOCTYPE names an external DTD ('http://127.0.0.1:9/list.dtd'); "
        "list files have none, refused"
    )


def test_plain_doctype_without_entities_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, f'<?xml version="1.0"?><!DOCTYPE LIST><LIST>{RECORD}</LIST>')
    assert _read(path) == ["Acme"]


def test_huge_text_node_is_refused_by_the_parser_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    with path.open("wb") as handle:
        handle.write(b'<?xml version="1.0"?>\n<LIST><ITEM><NAME>')
        chunk = b"a" * 1_000_000
        for _ in range(12):
            handle.write(chunk)
        handle.write(b"</NAME></ITEM></LIST>")
    tracemalloc.start()
    try:
        with pytest.raises(ParseError) as caught:
            _read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(caught.value).startswith(f"{path}:2: XML refused: ")
    assert "safety limit" in str(caught.value)
    assert peak < 50_000_000


def test_truncated_file_names_line_and_says_truncated(tmp_path: Path) -> None:
    path = _write(tmp_path, f'<?xml version="1.0"?>\n<LIST>\n{RECORD}\n<ITEM><NAME>Ac')
    with pytest.raises(ParseError) as caught:
        _read(path)
    assert str(caught.value).startswith(f"{path}:4: XML ends early: ")
    assert str(caught.value).endswith("is the file truncated?")


def test_malformed_xml_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, '<?xml version="1.0"?>\n<LIST>\n<ITEM><NAME>Acme</ITEM>\n</LIST>')
    with pytest.raises(ParseError) as caught:
        _read(path)
    assert str(caught.value).startswith(f"{path}:3: malformed XML (column ")


def test_another_root_is_a_format_mismatch(tmp_path: Path) -> None:
    path = _write(tmp_path, f"<OTHER>{RECORD}</OTHER>")
    with pytest.raises(FormatMismatch, match=r"root element is <OTHER>, expected <LIST>"):
        _read(path)


def test_text_is_not_xml(tmp_path: Path) -> None:
    path = _write(tmp_path, "name,date\nAcme,2020-01-01\n", "list.csv")
    assert read_head(path) is None
    with pytest.raises(ParseError, match="malformed XML"):
        _read(path)


def test_declared_encoding_is_honoured_and_a_wrong_one_refused(tmp_path: Path) -> None:
    latin = _write(
        tmp_path,
        '<?xml version="1.0" encoding="ISO-8859-1"?><LIST><ITEM><NAME>Soci\xe9t\xe9</NAME></ITEM></LIST>'.encode(
            "latin-1"
        ),
    )
    assert _read(latin) == ["Société"]
    wrong = _write(
        tmp_path,
        '<?xml version="1.0" encoding="UTF-8"?>\n<LIST><ITEM><NAME>Soci\xe9t\xe9</NAME></ITEM></LIST>'.encode(
            "latin-1"
        ),
        "wrong.xml",
    )
    with pytest.raises(ParseError, match=rf"^{wrong}:2: bytes not in the encoding the file declares"):
        _read(wrong)


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, f'<?xml version="1.0" encoding="UTF-16"?><LIST>{RECORD}</LIST>'.encode("utf-16"))
    assert _read(path) == ["Acme"]
    assert read_head(path) is not None


def test_memory_stays_flat_over_many_records(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    item = "<ITEM><NAME>Acme Trading Company Limited</NAME><NOTE>" + "x" * 500 + "</NOTE></ITEM>\n"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("<LIST>")
        for _ in range(40_000):  # ~22 MB
            handle.write(item)
        handle.write("</LIST>")
    tracemalloc.start()
    count, widest = 0, 0
    try:
        for element in iter_elements(path, {"ITEM"}, root="LIST"):
            count += 1
            widest = max(widest, len(element.getparent()))  # finished records are dropped from the tree
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 40_000
    assert widest < 500  # what the parser has read ahead of us, not all 40,000
    assert peak < 5_000_000  # Python-side allocations; lxml's tree is cleared as it goes
