"""One event study, end to end: events and prices in, abnormal returns and every statistic out.

    result = run_study(events, load_prices([Path("examples/prices")]), markets={None: hsi},
                       options=StudyOptions(model="market", after_close=True))
    result.to_dict()

The sample statistics use only the valid events; each event's placement, problems and own tests are
in `result.events`, so a table can show what was left out and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as scipy_stats  # type: ignore[import-untyped]

from listwatch.errors import ImpactError
from listwatch.impact.factors import FactorTable
from listwatch.impact.models import EventPanel, Fit, FloatArray, model_named
from listwatch.impact.options import StudyOptions
from listwatch.impact.panel import EventIssue, PanelBuild, PlacedEvents, StudyEvent, build_panel
from listwatch.impact.prices import PriceBook, PriceSeries
from listwatch.impact.single import EventStatistics, event_statistics
from listwatch.impact.stats import STATISTICS, SampleStatistics, sample_statistics

__all__ = ["StudyResult", "cumulative_band", "run_study", "significance"]


def significance(p: float | None) -> str:
    """`***` p < 0.01, `**` p < 0.05, `*` p < 0.10."""
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""


def _num(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


@dataclass(frozen=True)
class StudyResult:
    title: str
    options: StudyOptions
    placed: PlacedEvents
    valid: np.ndarray[Any, np.dtype[np.bool_]]
    panel: EventPanel
    fit: Fit
    per_event: EventStatistics
    days: SampleStatistics
    windows: SampleStatistics
    band: tuple[FloatArray, FloatArray, FloatArray]  # mean CAR from the window start, lower, upper
    series: dict[str, PriceSeries] = field(default_factory=dict)
    markets: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_valid(self) -> int:
        return int(self.valid.sum())

    @property
    def day_labels(self) -> list[int]:
        return [int(d) for d in self.panel.evt_days]

    @property
    def window_labels(self) -> list[str]:
        return [f"[{a},{b}]" for a, b in self.options.windows]

    def window_columns(self) -> list[tuple[int, int]]:
        start = self.options.span[0]
        return [(a - start, b - start + 1) for a, b in self.options.windows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "options": self.options.to_dict(),
            "model": model_named(self.options.model).title,
            "events": len(self.placed),
            "valid_events": self.n_valid,
            "r_bar": _num(self.days.r_bar),
            "p_hat": _num(self.days.p_hat),
            "windows": _table(self.windows, self.window_labels),
            "days": _table(self.days, [str(d) for d in self.day_labels]),
            "car_path": [
                {"day": d, "caar": _num(m), "lower": _num(lo), "upper": _num(hi)}
                for d, m, lo, hi in zip(self.day_labels, *self.band, strict=True)
            ],
            "event_results": [self._event_dict(i) for i in range(len(self.placed))],
            "markets": self.markets,
            "notes": list(self.notes),
        }

    def _event_dict(self, i: int) -> dict[str, Any]:
        out = self.placed[i].to_dict()
        if not self.valid[i]:
            return out
        zero = -self.options.span[0]
        pe, fit = self.per_event, self.fit
        out.update(
            {
                "sigma": _num(fit.sigma[i]),
                "df": int(fit.df[i]),
                "estimation_returns": int(fit.n_est[i]),
                "params": {name: _num(v) for name, v in zip(fit.param_names, fit.params[i], strict=True)},
                "ar_day0": _num(pe.ar[i, zero]),
                "ar_t_day0": _num(pe.ar_t[i, zero]),
                "ar_p_day0": _num(pe.ar_p[i, zero]),
                "days": [
                    {"day": d, "ar": _num(pe.ar[i, c]), "t": _num(pe.ar_t[i, c]), "p": _num(pe.ar_p[i, c])}
                    for c, d in enumerate(self.day_labels)
                ],
                "windows": [
                    {
                        "window": label,
                        "car": _num(pe.car[i, w]),
                        "t": _num(pe.car_t[i, w]),
                        "p": _num(pe.car_p[i, w]),
                        "bhar": _num(pe.bhar[i, w]),
                        "bhar_t": _num(pe.bhar_t[i, w]),
                    }
                    for w, label in enumerate(self.window_labels)
                ],
            }
        )
        return out


def _table(sample: SampleStatistics, labels: list[str]) -> list[dict[str, Any]]:
    rows = []
    for j, label in enumerate(labels):
        tests = {}
        for name, column in sample.tests.items():
            p = _num(column.p_value[j])
            tests[name] = {
                "statistic": _num(column.statistic[j]),
                "p": p,
                "mark": significance(p),
                "distribution": column.distribution[j],
                "not_applicable": column.reasons[j],
            }
        rows.append({"label": label, "n": int(sample.n[j]), "caar": _num(sample.caar[j]), "tests": tests})
    return rows


def cumulative_band(
    fit: Fit, valid: np.ndarray[Any, np.dtype[np.bool_]], *, level: float = 0.95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean CAR from the event window's first day, with a `level` interval per day.

    Several events: mean +- t(N-1) sd/sqrt(N) across events. One event: CAR +- t(df) sigma sqrt(k),
    k the days cumulated."""
    car = np.cumsum(fit.ar[valid], axis=1)
    if car.shape[0] == 0:
        empty = np.full(fit.ar.shape[1], np.nan)
        return empty, empty, empty
    if car.shape[0] == 1:
        k = np.arange(1, car.shape[1] + 1)
        df = max(int(fit.df[valid][0]), 1)
        half = scipy_stats.t.ppf((1 + level) / 2, df) * fit.sigma[valid][0] * np.sqrt(k)
        return car[0], car[0] - half, car[0] + half
    n = np.isfinite(car).sum(axis=0)
    mean = np.nanmean(car, axis=0)
    sd = np.nanstd(car, axis=0, ddof=1)
    half = scipy_stats.t.ppf((1 + level) / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(np.maximum(n, 1))
    return mean, mean - half, mean + half


def run_study(
    events: list[StudyEvent],
    book: PriceBook,
    *,
    options: StudyOptions,
    markets: dict[str | None, PriceSeries] | None = None,
    factors: FactorTable | None = None,
    title: str = "event study",
) -> StudyResult:
    model = model_named(options.model)
    if not events:
        raise ImpactError("no events to study")
    build: PanelBuild = build_panel(
        events, book, model=model, options=options, markets=markets, factors=factors
    )
    fit = model.fit(build.panel)
    placed = build.placed
    if options.estimation:
        unfitted = np.flatnonzero(build.valid & ~fit.valid).tolist()
        reasons = {i: fit.reasons[i] for i in unfitted}
        placed = placed.with_model_issues(
            {i: EventIssue("model", reason, "invalid") for i, reason in reasons.items() if reason}
        )
    valid = build.valid & fit.valid if options.estimation else build.valid
    start = options.span[0]
    length = build.panel.evt_y.shape[1]
    day_windows = [(c, c + 1) for c in range(length)]
    car_windows = [(a - start, b - start + 1) for a, b in options.windows]
    per_event = event_statistics(fit, build.panel, windows=car_windows, log_returns=options.returns == "log")
    names = tuple(STATISTICS) if options.estimation else ("csect_t", "sign_z", "wilcoxon_z")
    conventions = options.conventions
    common: dict[str, Any] = {
        "conventions": conventions,
        "panel": build.panel,
        "names": names,
        "events": valid,
    }
    both = sample_statistics(
        fit, windows=day_windows + car_windows, daily=[True] * length + [False] * len(car_windows), **common
    )
    days, windows = both.select(slice(0, length)), both.select(slice(length, None))
    notes = []
    if int(valid.sum()) == 0:
        notes.append("no valid event: see each event's issues")
    return StudyResult(
        title=title,
        options=options,
        placed=placed,
        valid=valid,
        panel=build.panel,
        fit=fit,
        per_event=per_event,
        days=days,
        windows=windows,
        band=cumulative_band(fit, valid, level=options.confidence),
        series=build.series,
        markets=build.markets,
        notes=tuple(notes),
    )
