"""The R package `eventstudies` (xKDR): event-time mapping with invalid events, and its intervals.

Input and expected output: tests/impact/data/xkdr_eventstudies_inference (see README there). The
package maps an event to the last date at or before it (`date_rule="previous"`), uses log returns
of the prices, sets the first row of the [-1, +1] window to 0 and cumulates, then reports a classic
t interval of the mean and a Wilcoxon interval around the median per event time.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from listwatch.impact.events import read_events_csv
from listwatch.impact.options import StudyOptions
from listwatch.impact.prices import load_prices
from listwatch.impact.ranks import interval_table
from listwatch.impact.study import run_study

DATA = Path(__file__).parent / "data" / "xkdr_eventstudies_inference"


@pytest.fixture(scope="module")
def study():  # type: ignore[no-untyped-def]
    options = StudyOptions(
        model="raw",
        returns="log",
        estimation=None,
        event_window=(-1, 1),
        windows=((0, 0), (0, 1)),
        date_rule="previous",
    )
    return run_study(
        read_events_csv(DATA / "events.csv"), load_prices([DATA / "prices.csv"]), options=options
    )


def expected(strategy: str) -> list[dict[str, str]]:
    with (DATA / "expected_inference.csv").open() as handle:
        return [row for row in csv.DictReader(handle) if row["strategy"] == strategy]


def test_invalid_events_are_reported_and_left_out(study) -> None:  # type: ignore[no-untyped-def]
    codes = [[i.code for i in p.issues if i.severity == "invalid"] for p in study.placed]
    assert codes == [[], [], [], ["out_of_range"], ["no_return_on_event_day"], ["unknown_security"]]
    assert study.n_valid == 3
    assert [str(p.day0) for p in study.placed[:3]] == ["2004-01-02", "2004-01-08", "2004-01-14"]


@pytest.mark.parametrize("strategy", ["classic", "wilcox"])
def test_intervals_match_eventstudies(study, strategy: str) -> None:  # type: ignore[no-untyped-def]
    ar = study.fit.ar[study.valid].T.copy()  # event time x events
    ar[0, :] = 0.0  # remap.cumsum(base = 0): the window's first row is the base
    cumulative = np.cumsum(ar, axis=0)
    rows = interval_table(cumulative, study.day_labels, strategy=strategy)
    for got, want in zip(rows, expected(strategy), strict=True):
        assert got.event_time == int(want["event_time"])
        assert got.center_kind == want["center_kind"]
        for name, column in (("lower", "lower_2.5"), ("center", "center"), ("upper", "upper_97.5")):
            value, reference = getattr(got, name), float(want[column])
            if np.isnan(reference):
                assert np.isnan(value)
            else:
                assert abs(value - reference) < 1e-10
