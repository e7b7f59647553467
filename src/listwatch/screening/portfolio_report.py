"""Writing a portfolio screening: CSV (one row per holding and effect), JSON, or a self-contained
HTML page (inline CSS, and for a timeline one inline SVG chart per holding with effects).

    write_portfolio(portfolio_timeline(store, holdings, start=..., end=...), Path("report.html"),
                    source="holdings.csv")
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidQuery
from listwatch.rules.engine import Effect, EffectInterval
from listwatch.screening.portfolio import (
    EntityMatch,
    HoldingResult,
    HoldingTimeline,
    PortfolioResult,
    PortfolioTimeline,
)

__all__ = [
    "AS_OF_COLUMNS",
    "OUTPUT_SUFFIXES",
    "TIMELINE_COLUMNS",
    "output_format",
    "timeline_chart",
    "write_portfolio",
]

OUTPUT_SUFFIXES = (".csv", ".json", ".html")

_HOLDING_COLUMNS = ("row", "key", "isin", "ticker", "name", "quantity", "error", "warnings", "matches")
_EFFECT_COLUMNS = (
    "effect",
    "state",
    "start",
    "end",
    "list",
    "entity_id",
    "caption",
    "via",
    "reason",
    "citation",
)
#: The CSV columns of a report for one day, and of a timeline.
AS_OF_COLUMNS = ("as_of", *_HOLDING_COLUMNS, "restricted", "next_change", *_EFFECT_COLUMNS)
TIMELINE_COLUMNS = ("from", "to", *_HOLDING_COLUMNS, "restricted", *_EFFECT_COLUMNS)

_COLOURS = {"in_force": "#c0392b", "suspended": "#e6a23c"}
_COURT_COLOUR = "#34495e"


def output_format(path: Path) -> str:
    """The output format `path` asks for by its suffix (`.csv`, `.json`, `.html`); `InvalidQuery`
    for any other, so a caller can refuse before screening."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InvalidQuery(
            f"--out: unsupported output {suffix or path.name!r}; use {', '.join(OUTPUT_SUFFIXES)}"
        )
    return suffix


def write_portfolio(report: PortfolioResult | PortfolioTimeline, path: Path, *, source: str) -> None:
    """Write to `path` by its suffix, atomically (a temp file renamed into place)."""
    suffix = output_format(path)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        if suffix == ".csv":
            columns = AS_OF_COLUMNS if isinstance(report, PortfolioResult) else TIMELINE_COLUMNS
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(_csv_rows(report))
        elif suffix == ".json":
            json.dump({"source": source, **report.to_dict()}, handle, ensure_ascii=False, indent=1)
        elif isinstance(report, PortfolioResult):
            handle.write(_as_of_html(report, source))
        else:
            handle.write(_timeline_html(report, source))
    partial.replace(path)


def _csv_rows(report: PortfolioResult | PortfolioTimeline) -> Iterator[dict[str, Any]]:
    if isinstance(report, PortfolioResult):
        for result in report.holdings:
            base = {
                "as_of": report.as_of.isoformat(),
                **_holding_cells(result),
                "restricted": result.restricted,
                "next_change": result.next_change.text if result.next_change else "",
            }
            yield from _with_effects(base, result.effects)
    else:
        for timeline in report.holdings:
            base = {
                "from": report.start.isoformat(),
                "to": report.end.isoformat(),
                **_holding_cells(timeline),
                "restricted": timeline.restricted,
            }
            yield from _with_effects(base, timeline.intervals)


def _holding_cells(result: HoldingResult | HoldingTimeline) -> dict[str, Any]:
    holding = result.holding
    return {
        "row": holding.row_number,
        "key": holding.key,
        "isin": holding.isin or "",
        "ticker": holding.ticker or "",
        "name": holding.name or "",
        "quantity": "" if holding.quantity is None else f"{holding.quantity:g}",
        "error": holding.error or "",
        "warnings": "; ".join(holding.warnings),
        "matches": "; ".join(_match_text(m) for m in result.matches),
    }


def _match_text(match: EntityMatch) -> str:
    return f"{match.caption} [{match.list_id}, {match.how}]"


def _with_effects(
    base: dict[str, Any], effects: Sequence[Effect] | Sequence[EffectInterval]
) -> Iterator[dict[str, Any]]:
    if not effects:
        yield {**base, **dict.fromkeys(_EFFECT_COLUMNS, "")}
    for effect in effects:
        yield {
            **base,
            "effect": effect.kind,
            "state": effect.state,
            "start": effect.start.isoformat() if effect.start else "",
            "end": effect.end.isoformat() if effect.end else "",
            "list": effect.list_id,
            "entity_id": effect.entity_id or "",
            "caption": effect.caption,
            "via": effect.via or "",
            "reason": effect.reason,
            "citation": effect.citations[0].text if effect.citations else "",
        }


# -- HTML

_STYLE = """body{font:14px system-ui,sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
th{background:#f3f3f3;text-align:left}.in_force{color:#c0392b;font-weight:600}.suspended{color:#b7791f}
.pending{color:#b7791f}.ended,.dim{color:#777}.error{color:#c0392b}svg{max-width:100%;height:auto}
section{margin-bottom:2em}"""


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{html.escape(title)}</title>\n'
        f"<style>{_STYLE}</style>\n{body}\n</html>\n"
    )


def _e(value: object) -> str:
    return html.escape(str(value))


def _holding_cell(result: HoldingResult | HoldingTimeline) -> str:
    holding = result.holding
    parts = [f"<b>{_e(holding.label)}</b>"]
    if holding.name and holding.name != holding.label:
        parts.append(_e(holding.name))
    if holding.quantity is not None:
        parts.append(f'<span class="dim">quantity {holding.quantity:,g}</span>')
    parts += [f'<span class="error">{_e(w)}</span>' for w in holding.warnings]
    if holding.error:
        parts.append(f'<span class="error">not screened: {_e(holding.error)}</span>')
    return "<br>".join(parts)


def _matches_cell(matches: Sequence[EntityMatch]) -> str:
    direct = [m for m in matches if m.how != "subsidiary"]
    lines = [f"{_e(m.caption)} <span class=dim>({_e(m.list_id)}, {_e(m.how)})</span>" for m in direct]
    children = len(matches) - len(direct)
    if children:
        lines.append(f'<span class="dim">{children} listed subsidiar{"y" if children == 1 else "ies"}</span>')
    return "<br>".join(lines) or '<span class="dim">no match</span>'


def _as_of_html(report: PortfolioResult, source: str) -> str:
    counts = report.summary()
    rows = []
    for result in report.holdings:
        effects = "<br>".join(
            f'<span class="{e.state}">{_e(e.kind.replace("_", " "))}: {_e(e.state.replace("_", " "))}</span> '
            f"{_e(e.start or '?')} to {_e(e.end or 'open')} <span class=dim>({_e(e.list_id)}"
            f"{', via ' + _e(e.via) if e.via else ''}; {_e(e.citations[0].text if e.citations else '')})</span>"
            for e in result.effects
        )
        rows.append(
            f"<tr><td>{_holding_cell(result)}</td><td>{_matches_cell(result.matches)}</td>"
            f"<td>{effects or '<span class=dim>none</span>'}</td>"
            f"<td>{_e(result.next_change.text) if result.next_change else ''}</td></tr>"
        )
    title = f"Portfolio screening of {source} as of {report.as_of}"
    body = (
        f"<h1>{_e(title)}</h1><p>{counts['holdings']} holdings: {counts['matched']} matched, "
        f"{counts['restricted']} with an effect in force, {counts['not_screened']} not screened. "
        f"Lists: {_e(', '.join(report.lists) if report.lists else 'all stored')}.</p>"
        "<table><tr><th>holding</th><th>matched entities</th><th>effects on the day</th>"
        f"<th>next change</th></tr>{''.join(rows)}</table>"
    )
    return _page(title, body)


def _timeline_html(report: PortfolioTimeline, source: str) -> str:
    counts = report.summary()
    rows = []
    for timeline in report.holdings:
        spans = ", ".join(f"{lo} to {hi}" for lo, hi in timeline.spans("in_force"))
        suspended = ", ".join(f"{lo} to {hi}" for lo, hi in timeline.spans("suspended"))
        rows.append(
            f"<tr><td>{_holding_cell(timeline)}</td><td>{_matches_cell(timeline.matches)}</td>"
            f'<td class="in_force">{_e(spans)}</td><td class="suspended">{_e(suspended)}</td></tr>'
        )
    sections = [
        _timeline_section(timeline, report.start, report.end)
        for timeline in report.holdings
        if timeline.intervals
    ]
    title = f"Portfolio timeline of {source}, {report.start} to {report.end}"
    body = (
        f"<h1>{_e(title)}</h1><p>{counts['holdings']} holdings: {counts['matched']} matched, "
        f"{counts['restricted']} restricted on some day of the range, {counts['with_effects']} with "
        f"effects in force or suspended, {counts['not_screened']} not screened. Lists: "
        f"{_e(', '.join(report.lists) if report.lists else 'all stored')}. Dates are whole days, "
        "last days inclusive, with every stored event known (hindsight).</p>"
        "<table><tr><th>holding</th><th>matched entities</th><th>restricted (an effect in force)</th>"
        f"<th>suspended by a court</th></tr>{''.join(rows)}</table>{''.join(sections)}"
    )
    return _page(title, body)


def _timeline_section(timeline: HoldingTimeline, start: date, end: date) -> str:
    rows = "".join(
        f'<tr><td>{_e(i.kind.replace("_", " "))}</td><td class="{i.state}">{_e(i.state.replace("_", " "))}</td>'
        f"<td>{i.start}</td><td>{i.end}</td><td>{_e(i.list_id)}</td><td>{_e(i.via or '')}</td>"
        f"<td>{_e(i.reason)}</td><td>{_citation(i)}</td></tr>"
        for i in timeline.intervals
    )
    courts = "".join(
        f"<li>{c.on} {_e(c.kind)}: {_e(c.caption)} ({_e(c.list_id)}): {_e(c.source)}</li>"
        for c in timeline.court_events
    )
    return (
        f'<section class="holding"><h2>{_e(timeline.holding.label)}'
        f"{' ' + _e(timeline.holding.name) if timeline.holding.name else ''}</h2>"
        f'<figure class="chart">{timeline_chart(timeline, start=start, end=end)}</figure>'
        "<table><tr><th>effect</th><th>state</th><th>from</th><th>to</th><th>list</th><th>via</th>"
        f"<th>reason</th><th>law</th></tr>{rows}</table>"
        f"{'<p>Court orders:</p><ul>' + courts + '</ul>' if courts else ''}</section>"
    )


def _citation(interval: EffectInterval) -> str:
    if not interval.citations:
        return ""
    c = interval.citations[0]
    return f'<a href="{_e(c.url)}">{_e(c.text)}</a>'


def timeline_chart(timeline: HoldingTimeline, *, start: date, end: date) -> str:
    """One holding's effects over [start, end] as an inline SVG: a lane per effect and list, bars
    for the days in force (red) or suspended by a court (amber), court orders as dashed lines."""
    import matplotlib
    import matplotlib.dates
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    mdates: Any = matplotlib.dates  # its functions are not annotated
    lanes = list(dict.fromkeys(_lane(i) for i in timeline.intervals))
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": f"listwatch-{timeline.holding.key}", "font.size": 9}
    ):
        stacked = min(len(timeline.court_events), 3)
        fig = Figure(figsize=(9.0, 1.3 + 0.38 * len(lanes) + 0.14 * stacked))
        ax = fig.add_subplot()
        for interval in timeline.intervals:
            lo = mdates.date2num(interval.start)
            width = mdates.date2num(interval.end + timedelta(days=1)) - lo
            ax.broken_barh(
                [(lo, width)],
                (lanes.index(_lane(interval)) - 0.35, 0.7),
                facecolors=_COLOURS.get(interval.state, "#999999"),
                hatch="//" if interval.state == "suspended" else None,
                edgecolor="white",
            )
        for index, event in enumerate(timeline.court_events):
            x = mdates.date2num(event.on)
            ax.axvline(x, color=_COURT_COLOUR, linestyle="--", linewidth=1)
            ax.annotate(
                f"{event.kind} {event.on}",
                (x, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, 2 + 10 * (index % 3)),  # stacked: court orders often follow closely
                textcoords="offset points",
                fontsize=8,
                color=_COURT_COLOUR,
            )
        ax.set_yticks(range(len(lanes)), labels=lanes)
        ax.set_ylim(len(lanes) - 0.5, -0.5)
        ax.set_xlim(mdates.date2num(start), mdates.date2num(end + timedelta(days=1)))
        ax.xaxis.set_major_locator(mdates.AutoDateLocator())
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        ax.set_axisbelow(True)
        ax.grid(axis="x", color="#eeeeee")
        ax.legend(
            handles=[
                Patch(color=_COLOURS["in_force"], label="in force"),
                Patch(facecolor=_COLOURS["suspended"], hatch="//", label="suspended by a court"),
            ],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.18 if lanes else 0.0),
            ncol=2,
            frameon=False,
            fontsize=8,
        )
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _lane(interval: EffectInterval) -> str:
    via = " (via parent)" if interval.via else ""
    return f"{interval.kind.replace('_', ' ')}, {interval.list_id}{via}"
