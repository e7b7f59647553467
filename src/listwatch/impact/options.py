"""The options of one event study, travelling together, and the parsing of window specs.

options = StudyOptions(model="market", windows=parse_windows("[0,0] [-1,1]"), after_close=True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from listwatch.errors import InvalidQuery
from listwatch.impact.calendars import DateRule
from listwatch.impact.stats import Conventions

__all__ = ["DEFAULT_WINDOWS", "StudyOptions", "parse_window", "parse_windows"]

Window = tuple[int, int]
DEFAULT_WINDOWS: tuple[Window, ...] = ((0, 0), (-1, 1), (0, 5), (-10, 10))

_WINDOW = re.compile(r"\[\s*([+-]?\d+)\s*[,;:]\s*([+-]?\d+)\s*\]")


def parse_window(text: str, option: str = "window") -> Window:
    """`[-260,-11]` -> (-260, -11)."""
    match = _WINDOW.fullmatch(text.strip())
    if not match:
        raise InvalidQuery(f"{option}: {text!r} is not a window like [-1,1]")
    start, end = int(match.group(1)), int(match.group(2))
    if end < start:
        raise InvalidQuery(f"{option}: {text!r} ends before it starts")
    return start, end


def parse_windows(text: str, option: str = "--windows") -> tuple[Window, ...]:
    """`"[0,0] [-1,1] [0,5]"` -> ((0, 0), (-1, 1), (0, 5)); windows are event days, both ends included."""
    found = [(int(a), int(b)) for a, b in _WINDOW.findall(text)]
    rest = _WINDOW.sub("", text).replace(",", " ").strip()
    if not found or rest:
        raise InvalidQuery(f'{option}: {text!r}: give windows like "[0,0] [-1,1] [0,5]"')
    for start, end in found:
        if end < start:
            raise InvalidQuery(f"{option}: [{start},{end}] ends before it starts")
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class StudyOptions:
    """Everything that shapes a study. Windows are in trading days of the security, day 0 the event.

    - `estimation`: the estimation window, both ends included (default 250 days ending at -11).
    - `event_window`: the days reported one by one; widened to cover every CAR window.
    - `estimation_end`: the estimation window ends before this date for every event.
    - `same_firm`: "shift" moves an event's estimation window back so it holds no other event window
      of the same security; "keep" leaves it.
    - `min_estimation`: fewer estimation returns than this and the event is left out.
    """

    model: str = "market"
    returns: Literal["simple", "log"] = "simple"
    estimation: Window | None = (-260, -11)
    event_window: Window = (-10, 10)
    windows: tuple[Window, ...] = DEFAULT_WINDOWS
    after_close: bool = False
    date_rule: DateRule = "next"
    max_gap_days: int = 10
    min_estimation: int = 60
    estimation_end: date | None = None
    same_firm: Literal["shift", "keep"] = "shift"
    thin_trading_share: float = 0.2
    conventions: Conventions = field(default_factory=Conventions)
    confidence: float = 0.95

    @property
    def span(self) -> Window:
        """The event window actually built: `event_window` widened to hold every CAR window."""
        starts = [self.event_window[0], *(w[0] for w in self.windows)]
        ends = [self.event_window[1], *(w[1] for w in self.windows)]
        return min(starts), max(ends)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "returns": self.returns,
            "estimation": list(self.estimation) if self.estimation else None,
            "event_window": list(self.span),
            "windows": [list(w) for w in self.windows],
            "after_close": self.after_close,
            "date_rule": self.date_rule,
            "min_estimation": self.min_estimation,
            "estimation_end": self.estimation_end.isoformat() if self.estimation_end else None,
            "same_firm": self.same_firm,
            "bmp_sigma": self.conventions.bmp_sigma,
            "kp_alignment": self.conventions.kp_alignment,
            "confidence": self.confidence,
        }
