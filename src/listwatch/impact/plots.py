"""Charts of an event study (matplotlib, no pyplot): CAR over event time with its confidence band,
and each security's price with the list events marked. PNG or SVG files, or SVG text for HTML.

    car_chart(result, path=Path("car.svg"))
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from listwatch.errors import InvalidQuery
from listwatch.impact.study import StudyResult

__all__ = ["PLOT_SUFFIXES", "car_chart", "plot_format", "price_chart"]

PLOT_SUFFIXES = (".png", ".svg")
_EVENT_COLOURS = {"listed": "#c0392b", "enjoined": "#e6a23c", "vacated": "#27ae60", "delisted": "#2c3e50"}


def plot_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise InvalidQuery(f"--plot: unsupported image {suffix or path.name!r}; use .png or .svg")
    return suffix


def _save(fig: Any, path: Path | None, salt: str) -> str:
    buffer: Any
    if path is not None and plot_format(path) == ".png":
        fig.savefig(path, format="png", dpi=150, metadata={"Software": None})
        return ""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text: str = buffer.getvalue()
    svg = text[text.index("<svg") :]
    if path is not None:
        path.write_text(svg, encoding="utf-8")
    return svg


def car_chart(result: StudyResult, *, path: Path | None = None) -> str:
    """Mean CAR from the window's first day, with its band (across events, or the event's own sigma
    for one event) and the events' own CAR paths; returns SVG text unless writing a PNG."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    days = np.array(result.day_labels)
    mean, lower, upper = result.band
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "listwatch-car", "font.size": 9}):
        fig = Figure(figsize=(8.0, 4.2))
        ax = fig.add_subplot()
        paths = np.cumsum(result.fit.ar[result.valid], axis=1)
        if 1 < paths.shape[0] <= 30:
            for row in paths:
                ax.plot(days, row * 100, color="#bbbbbb", linewidth=0.7)
        level = round(result.options.confidence * 100)
        ax.fill_between(
            days, lower * 100, upper * 100, color="#3b7dd8", alpha=0.18, label=f"{level}% interval"
        )
        label = "CAR" if result.n_valid == 1 else f"mean CAR ({result.n_valid} events)"
        ax.plot(days, mean * 100, color="#1f4e99", linewidth=1.8, marker="o", markersize=3, label=label)
        ax.axhline(0, color="#555555", linewidth=0.8)
        ax.axvline(0, color="#c0392b", linestyle="--", linewidth=1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("event day (trading days of each security)")
        ax.set_ylabel("cumulative abnormal return, %")
        ax.set_title(f"{result.title}: {result.options.model} model", fontsize=10)
        ax.grid(color="#eeeeee")
        ax.legend(frameon=False, fontsize=8)
        fig.tight_layout()
        return _save(fig, path, "car")


def price_chart(result: StudyResult, symbol: str, *, path: Path | None = None, margin_days: int = 120) -> str:
    """One security's closes around its events, each event's day 0 marked and labelled."""
    import matplotlib
    import matplotlib.dates
    from matplotlib.figure import Figure

    mdates: Any = matplotlib.dates
    series = result.series[symbol]
    placed = [p for p in result.placed if p.symbol == symbol and p.day0 is not None]
    if not placed:
        return ""
    first = np.datetime64(min(p.day0 for p in placed if p.day0), "D") - np.timedelta64(margin_days, "D")
    last = np.datetime64(max(p.day0 for p in placed if p.day0), "D") + np.timedelta64(margin_days, "D")
    keep = (series.dates >= first) & (series.dates <= last)
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": f"listwatch-{symbol}", "font.size": 9}
    ):
        fig = Figure(figsize=(8.0, 3.4))
        ax = fig.add_subplot()
        ax.plot(
            series.dates[keep].astype("datetime64[D]").astype(object),
            series.close[keep],
            color="#1f4e99",
            linewidth=1,
        )
        for index, event in enumerate(placed):
            assert event.day0 is not None
            x = mdates.date2num(event.day0)
            colour = _EVENT_COLOURS.get(event.event.label, "#34495e")
            ax.axvline(x, color=colour, linestyle="--", linewidth=1)
            ax.annotate(
                f"{event.event.label or 'event'} {event.event.event_date}",
                (x, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, 2 + 10 * (index % 3)),
                textcoords="offset points",
                fontsize=8,
                color=colour,
            )
        ax.xaxis.set_major_locator(mdates.AutoDateLocator())
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        adjusted = "adjusted close" if series.adjusted else "close"
        ax.set_ylabel(adjusted)
        ax.set_title(symbol, fontsize=10, loc="left")
        ax.grid(color="#eeeeee")
        fig.tight_layout()
        return _save(fig, path, symbol)
