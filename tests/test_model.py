"""`model.parse_day`: the one reading of a day a user gives, shared by the CLI, the API and the web."""

from __future__ import annotations

from datetime import date

import pytest

from listwatch.errors import InvalidQuery
from listwatch.model import parse_day


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2021-02-01", date(2021, 2, 1)),
        (" 2021-02-01 ", date(2021, 2, 1)),  # a form field's stray spaces
        ("2021-02-01T23:59:59Z", date(2021, 2, 1)),  # a timestamp counts for its day
        ("2021-02-01T10", date(2021, 2, 1)),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_days_and_timestamps_are_read_as_their_day(text: str | None, day: date | None) -> None:
    assert parse_day(text, "as_of") == day


@pytest.mark.parametrize(
    "text",
    [
        "20210201",  # date.fromisoformat takes the compact form; a user typing it meant something else
        "2021-W05-1",  # and the week form
        "2021-02-30",
        "2021-13-01",
        "01/02/2021",
        "2021-02-01junk",
        "2021-02-01Tnoon",
        "2021-02-01T1",  # not an hour
        "2021-02-01T25:00",
        "2021-02-01T10:00:00 and more",
        "yesterday",
    ],
)
def test_anything_else_is_one_clear_error_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidQuery, match=r"^--as-of: bad date '.*', expected YYYY-MM-DD$"):
        parse_day(text, "--as-of")


def test_a_long_bad_value_is_cut_in_the_message() -> None:
    with pytest.raises(InvalidQuery) as caught:
        parse_day("9" * 10_000, "as_of")
    assert len(str(caught.value)) < 100
