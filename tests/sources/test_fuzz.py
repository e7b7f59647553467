"""Every parser, on any bytes: it returns records or raises listwatch's `ParseError` naming the file.

Inputs are real samples (the bundled files, cut short) mutated by hypothesis: bytes flipped,
inserted or dropped, the file truncated anywhere, or replaced by arbitrary bytes. Nothing else may
escape: no `KeyError`, `ValueError`, `UnicodeDecodeError`, lxml or json exception.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listwatch.errors import ParseError
from listwatch.model import ParsedList
from listwatch.sources import FORMATS
from tests.conftest import (
    CCMC_1237,
    CSL_2019,
    CSL_2025,
    DOD_1260H,
    DPL_2019_06,
    FTM_EU_SAMPLE,
    OFSI_2020_03,
    SDN_2021,
    UN_2018_10,
)

DATA = Path(__file__).parent / "data"


def _head(path: Path, size: int) -> bytes:
    return path.read_bytes()[:size]


def _un_sample() -> bytes:
    text = UN_2018_10.read_bytes()
    end = text.index(b"</INDIVIDUAL>", 3000) + len(b"</INDIVIDUAL>")
    return text[:end] + b"</INDIVIDUALS><ENTITIES/></CONSOLIDATED_LIST>"


# format -> (file name the sample is written under, sample bytes)
SAMPLES: dict[str, tuple[str, bytes]] = {
    "ofac-csv": ("sdn.csv", _head(SDN_2021 / "sdn.csv", 3000)),
    "designations-csv": ("designations.csv", _head(CCMC_1237, 3000)),
    "periods-csv": ("sanctions.csv", _head(DOD_1260H, 3000)),
    "un-sc-xml": ("consolidated.xml", _un_sample()),
    "uk-ofsi-csv": ("ConList.csv", _head(OFSI_2020_03, 3000)),
    "us-csl-csv": ("consolidated.csv", _head(CSL_2025, 4000)),
    "us-csl-json": ("csl.json", (DATA / "csl_handwritten.json").read_bytes()),
    "bis-dpl-tsv": ("dpl.txt", _head(DPL_2019_06, 3000)),
    "ftm-json": ("entities.ftm.json", FTM_EU_SAMPLE.read_bytes()),
    "eu-fsf-xml": ("export.xml", (DATA / "eu_fsf_handwritten.xml").read_bytes()),
    "ofac-xml": ("sdn.xml", (DATA / "sdn_handwritten.xml").read_bytes()),
    "ofac-advanced-xml": ("sdn_advanced.xml", (DATA / "ofac_advanced" / "sdn_advanced.xml").read_bytes()),
    "ofac-enhanced-xml": ("SDN_ENHANCED.XML", (DATA / "ofac_advanced" / "SDN_ENHANCED.XML").read_bytes()),
}
_ = CSL_2019


def test_every_format_has_a_fuzz_sample() -> None:
    assert set(SAMPLES) == set(FORMATS)


@st.composite
def _mutated(draw: st.DrawFn, sample: bytes) -> bytes:
    data = bytearray(sample)
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(("flip", "insert", "delete", "cut")))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(
                st.sampled_from(
                    (
                        b'"',
                        b",",
                        b"\t",
                        b"\n",
                        b"<",
                        b">",
                        b"&",
                        b"{",
                        b"}",
                        b"\x00",
                        b"\xff",
                        b"\xe2\x80",
                        b"00/00/",
                    )
                )
            )
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        else:
            del data[at:]
    return bytes(data)


def _inputs(sample: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(_mutated(sample), st.binary(max_size=300))


def _check(format_name: str, name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        fmt = FORMATS[format_name]
        try:
            parsed = fmt.parse([path])
        except ParseError as exc:  # FormatMismatch is one
            assert exc.path.name == name or exc.path == Path(".")
            return
        assert isinstance(parsed, ParsedList)
        for part in parsed.parts or (parsed,):
            for record in part.records:
                record.to_dict()


@pytest.mark.parametrize("format_name", sorted(SAMPLES))
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data())
def test_any_input_gives_records_or_a_parse_error(format_name: str, data: st.DataObject) -> None:
    name, sample = SAMPLES[format_name]
    _check(format_name, name, data.draw(_inputs(sample)))


@pytest.mark.parametrize("format_name", sorted(SAMPLES))
def test_the_unmutated_samples_parse(format_name: str) -> None:
    name, sample = SAMPLES[format_name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(sample)
        if format_name in (
            "ofac-csv",
            "designations-csv",
            "periods-csv",
            "uk-ofsi-csv",
            "us-csl-csv",
            "bis-dpl-tsv",
        ):
            pytest.skip("a CSV head cut mid-row is only required to fail cleanly")
        FORMATS[format_name].parse([path])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def _retyped(draw: st.DrawFn, value: object) -> object:
    """The JSON value with some of its nodes replaced by values of any type."""
    if draw(st.integers(0, 30)) == 0:
        return draw(_JSON)
    if isinstance(value, dict):
        return {key: draw(_retyped(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [draw(_retyped(item)) for item in value]
    return value


@pytest.mark.parametrize("format_name", ["ftm-json", "us-csl-json"])
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data())
def test_json_formats_take_values_of_any_type(format_name: str, data: st.DataObject) -> None:
    import json

    name, sample = SAMPLES[format_name]
    if format_name == "ftm-json":
        lines = [json.loads(line) for line in sample.decode("utf-8").splitlines() if line.strip()]
        text = "\n".join(json.dumps(data.draw(_retyped(obj))) for obj in lines)
    else:
        text = json.dumps(data.draw(_retyped(json.loads(sample))))
    _check(format_name, name, text.encode("utf-8"))
