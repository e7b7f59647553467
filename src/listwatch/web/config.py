"""Where the web UI's price files are, for charts and event studies: `Settings.prices` and
`Settings.markets`, which `Settings.from_env` reads from the environment:

    LISTWATCH_PRICES=examples/prices/hk:examples/prices/us        (files or folders, os.pathsep)
    LISTWATCH_MARKET=HK=examples/prices/index/HSI.csv              (as `listwatch impact --market`)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request

from listwatch.settings import Settings

__all__ = ["ChartCache", "WebConfig", "web_config"]


@dataclass(frozen=True)
class WebConfig:
    prices: tuple[Path, ...] = ()
    markets: tuple[str, ...] = ()

    def prices_version(self) -> tuple[tuple[str, float], ...]:
        """The configured paths and their modification times: a changed price file (or a file
        added to a folder) draws the charts anew."""
        found = []
        for path in (*self.prices, *(Path(m.partition("=")[2] or m) for m in self.markets)):
            try:
                found.append((str(path), path.stat().st_mtime))
            except OSError:
                found.append((str(path), -1.0))
        return tuple(found)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebConfig:
        return cls(prices=settings.prices, markets=settings.markets)


def web_config(request: Request) -> WebConfig:
    config: WebConfig = getattr(request.app.state, "web_config", None) or WebConfig()
    return config


class ChartCache:
    """The entity pages' price charts, by entity and by what they are drawn from (the stored
    snapshots, the price files): drawing one reads every price file and runs a study."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
