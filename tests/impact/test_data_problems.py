"""Data problems are reported per event and never turn the sample into NaN."""

from __future__ import annotations

from datetime import date

import numpy as np
from tests.impact.conftest import HSI, PRICES

from listwatch.impact.options import StudyOptions
from listwatch.impact.panel import StudyEvent
from listwatch.impact.prices import load_prices, read_price_file
from listwatch.impact.study import run_study


def study(events: list[StudyEvent], **options: object):  # type: ignore[no-untyped-def]
    book = load_prices([PRICES / "hk"])
    hsi = read_price_file(HSI)[0]
    return run_study(events, book, markets={None: hsi}, options=StudyOptions(after_close=True, **options))  # type: ignore[arg-type]


def codes(result, i: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [issue.code for issue in result.placed[i].issues]


def test_bad_events_are_left_out_and_the_sample_stays_finite() -> None:
    events = [
        StudyEvent("1810.HK", date(2021, 1, 14), "listed"),
        StudyEvent("0941.HK", date(2021, 1, 14), "other"),
        StudyEvent("9999.HK", date(2021, 1, 14), "unknown"),
        StudyEvent("1810.HK", date(2018, 7, 20), "too early"),  # ten days after Xiaomi's IPO
        StudyEvent("1810.HK", date(2031, 1, 1), "after the prices"),
    ]
    result = study(events)
    assert result.valid.tolist() == [True, True, False, False, False]
    assert "unknown_security" in codes(result, 2)
    assert "short_estimation" in codes(result, 3)
    assert "out_of_range" in codes(result, 4)
    for column in result.windows.tests.values():
        assert np.isfinite(column.statistic[0]) or column.reasons[0]
    assert np.isfinite(result.windows.tests["csect_t"].statistic).all()


def test_a_study_where_no_event_has_prices_reports_each_event() -> None:
    result = study(
        [StudyEvent("9999.HK", date(2021, 1, 14), "unknown"), StudyEvent("8888.HK", date(2021, 3, 12), "x")]
    )
    assert result.valid.tolist() == [False, False]
    assert codes(result, 0) == ["unknown_security"] and codes(result, 1) == ["unknown_security"]


def test_same_firm_events_move_the_later_estimation_window_back() -> None:
    events = [
        StudyEvent("1810.HK", date(2021, 1, 14), "listed"),
        StudyEvent("1810.HK", date(2021, 3, 12), "enjoined"),
    ]
    result = study(events)
    assert "same_firm" in codes(result, 1)
    _first, second = result.placed
    assert second.estimation is not None and second.estimation[1] < date(2021, 1, 1)
    kept = study(events, same_firm="keep")
    assert kept.placed[1].estimation is not None and kept.placed[1].estimation[1] > date(2021, 2, 1)


def test_overlapping_event_windows_and_thin_trading_are_flagged() -> None:
    events = [StudyEvent("0317.HK", date(2021, 1, 14), "a"), StudyEvent("0317.HK", date(2021, 1, 20), "b")]
    result = study(events, same_firm="keep")
    assert "overlapping_windows" in codes(result, 0) and "overlapping_windows" in codes(result, 1)
    suspended = study([StudyEvent("0317.HK", date(2012, 6, 1), "x")])  # 0317 traded thinly / was suspended
    assert all(p.day0 is None or p.day0 >= date(2012, 6, 1) for p in suspended.placed)


def _shifted_starts(day0: list[int], first: int, m: int, span: tuple[int, int]) -> list[int]:
    """Each event's first estimation row as `same_firm="shift"` defines it: moved back, one event at
    a time in date order, until no earlier event's window meets it (against every earlier event)."""
    starts = {}
    for i in sorted(range(len(day0)), key=lambda i: day0[i]):
        start = day0[i] + first
        for _ in range(len(day0)):
            clash = [
                j
                for j in range(len(day0))
                if day0[j] < day0[i] and day0[j] + span[0] <= start + m - 1 and day0[j] + span[1] >= start
            ]
            if not clash:
                break
            start = min(day0[j] + span[0] for j in clash) - m
        starts[i] = start
    return [starts[i] for i in range(len(day0))]


def test_many_events_of_one_security_move_back_as_the_definition_says() -> None:
    series = load_prices([PRICES / "hk"]).find("0941.HK")
    assert series is not None
    rng = np.random.default_rng(3)
    rows = (600 + np.cumsum(rng.choice([0, 1, 3, 25, 150], size=160))).tolist()
    rows = [r for r in rows if r < series.dates.size - 15]
    events = [StudyEvent("0941.HK", series.dates[r].astype(date), "e") for r in rows]
    estimation, window = (-60, -11), (-10, 10)
    result = run_study(
        events,
        load_prices([PRICES / "hk"]),
        markets={None: read_price_file(HSI)[0]},
        options=StudyOptions(estimation=estimation, event_window=window, min_estimation=10),
    )
    m = estimation[1] - estimation[0] + 1
    starts = _shifted_starts(rows, estimation[0], m, window)
    moved = 0
    for placed, row, start in zip(result.placed, rows, starts, strict=True):
        assert placed.day0 == series.dates[row].astype(date)
        assert start >= 0
        assert placed.estimation == (
            series.dates[start].astype(date),
            series.dates[start + m - 1].astype(date),
        )
        moved += any(issue.code == "same_firm" for issue in placed.issues)
    assert moved == sum(start != row + estimation[0] for row, start in zip(rows, starts, strict=True)) > 50
