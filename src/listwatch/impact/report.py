"""Writing a study: CSV (one row per statistic), JSON (`to_dict`), or a self-contained HTML page
with inline SVG charts (no scripts, no CDN).

    write_study(result, Path("report.html"))
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidQuery
from listwatch.impact.models import model_named
from listwatch.impact.stats import STATISTICS
from listwatch.impact.study import StudyResult

__all__ = ["CSV_COLUMNS", "OUTPUT_SUFFIXES", "output_format", "write_study"]

OUTPUT_SUFFIXES = (".csv", ".json", ".html")
CSV_COLUMNS = (
    "scope",
    "label",
    "n",
    "mean",
    "test",
    "statistic",
    "p_value",
    "mark",
    "distribution",
    "not_applicable",
)


def output_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InvalidQuery(
            f"--out: unsupported output {suffix or path.name!r}; use {', '.join(OUTPUT_SUFFIXES)}"
        )
    return suffix


def write_study(result: StudyResult, path: Path) -> None:
    """Write to `path` by its suffix, atomically (a temp file renamed into place)."""
    suffix = output_format(path)
    data = result.to_dict()
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        if suffix == ".csv":
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(_csv_rows(data))
        elif suffix == ".json":
            json.dump(data, handle, ensure_ascii=False, indent=1)
        else:
            handle.write(study_html(result, data))
    partial.replace(path)


def _csv_rows(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for scope in ("windows", "days"):
        for row in data[scope]:
            for name, test in row["tests"].items():
                yield {
                    "scope": "window" if scope == "windows" else "day",
                    "label": row["label"],
                    "n": row["n"],
                    "mean": row["caar"],
                    "test": name,
                    "statistic": test["statistic"],
                    "p_value": test["p"],
                    "mark": test["mark"],
                    "distribution": test["distribution"],
                    "not_applicable": test["not_applicable"] or "",
                }
    for event in data["event_results"]:
        scope = f"event {event['name'] or event['security']} {event['label']} {event['date']}".strip()
        if not event["valid"]:
            reasons = "; ".join(i["message"] for i in event["issues"] if i["severity"] == "invalid")
            yield {"scope": scope, "label": "", "not_applicable": reasons}
            continue
        for window in event["windows"]:
            yield {
                "scope": scope,
                "label": window["window"],
                "n": 1,
                "mean": window["car"],
                "test": "car_t",
                "statistic": window["t"],
                "p_value": window["p"],
                "distribution": f"t({event['df']})",
            }


# -- HTML

_STYLE = """body{font:14px system-ui,sans-serif;margin:2em;max-width:84em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 7px;vertical-align:top}
th{background:#f3f3f3;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.sig{color:#c0392b;font-weight:600}.dim{color:#777}.invalid{color:#c0392b}svg{max-width:100%;height:auto}
section{margin-bottom:2em}"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:+.2f}%"


def _stat(test: dict[str, Any]) -> str:
    if test["statistic"] is None:
        return f'<td class="n dim" title="{_e(test["not_applicable"] or "")}">n/a</td>'
    cls = "n sig" if test["mark"] else "n"
    return f'<td class="{cls}" title="p = {test["p"]:.4f}, {_e(test["distribution"])}">{test["statistic"]:.2f}{test["mark"]}</td>'


def _stats_table(rows: list[dict[str, Any]], first: str) -> str:
    names = list(rows[0]["tests"]) if rows else []
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    body = "".join(
        f'<tr><td>{_e(r["label"])}</td><td class="n">{r["n"]}</td><td class="n">{_pct(r["caar"])}</td>'
        + "".join(_stat(r["tests"][n]) for n in names)
        + "</tr>"
        for r in rows
    )
    return f"<table><tr><th>{first}</th><th>N</th><th>mean</th>{head}</tr>{body}</table>"


def _events_table(data: dict[str, Any], windows: list[str]) -> str:
    head = "".join(f"<th>CAR {_e(w)}</th>" for w in windows)
    rows = []
    for ev in data["event_results"]:
        issues = "<br>".join(
            f'<span class="{"invalid" if i["severity"] == "invalid" else "dim"}">{_e(i["message"])}</span>'
            for i in ev["issues"]
        )
        if ev["valid"]:
            beta = next((v for k, v in ev["params"].items() if k.startswith("beta")), None)
            cells = (
                f'<td class="n">{ev["day0"]}</td><td class="n">{_pct(ev["ar_day0"])}</td>'
                f'<td class="n">{ev["ar_t_day0"]:.2f}</td><td class="n">{"" if beta is None else f"{beta:.2f}"}</td>'
                + "".join(
                    f'<td class="n">{_pct(w["car"])} ({w["t"]:.2f})</td>'
                    if w["car"] is not None
                    else "<td></td>"
                    for w in ev["windows"]
                )
            )
        else:
            cells = f'<td colspan="{4 + len(windows)}" class="invalid">left out</td>'
        rows.append(
            f"<tr><td>{_e(ev['name'] or ev['security'])}<br><span class=dim>{_e(ev['symbol'] or '')}</span></td>"
            f"<td>{_e(ev['label'])}</td><td>{ev['date']}</td>{cells}<td>{issues}</td></tr>"
        )
    return (
        "<table><tr><th>entity / security</th><th>event</th><th>date</th><th>day 0</th><th>AR day 0</th>"
        f"<th>t</th><th>beta</th>{head}<th>data problems</th></tr>{''.join(rows)}</table>"
    )


def study_html(result: StudyResult, data: dict[str, Any] | None = None) -> str:
    from listwatch.impact.plots import car_chart, price_chart

    data = data or result.to_dict()
    options = result.options
    legend = "".join(
        f"<li><b>{_e(s.name)}</b>: {_e(s.title)}; standardised by {_e(s.sigma)}</li>"
        for s in STATISTICS.values()
    )
    charts = "".join(f"<section>{price_chart(result, symbol)}</section>" for symbol in result.series)
    body = f"""<h1>{_e(result.title)}</h1>
<p>{_e(model_named(options.model).title)}; {_e(options.returns)} returns; estimation window
{_e(options.estimation)}; event window {_e(options.span)}{"; announcements after the market's close" if options.after_close else ""}.
{data["valid_events"]} of {data["events"]} events used. Marks: *** p &lt; 0.01, ** p &lt; 0.05, * p &lt; 0.10 (two-sided).</p>
<section><h2>Cumulative abnormal return</h2>{car_chart(result)}</section>
<section><h2>CAR windows</h2>{_stats_table(data["windows"], "window")}</section>
<section><h2>Events</h2>{_events_table(data, result.window_labels)}</section>
<section><h2>Event days</h2>{_stats_table(data["days"], "day")}</section>
<section><h2>Prices</h2>{charts}</section>
<section><h2>Statistics</h2><ul>{legend}</ul><p class=dim>Kolari-Pynnönen mean cross-correlation
{data["r_bar"]}; generalized sign p-hat {data["p_hat"]}. Formulas: docs/impact.md.</p></section>"""
    return (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{_e(result.title)}</title>\n'
        f"<style>{_STYLE}</style>\n{body}\n</html>\n"
    )
