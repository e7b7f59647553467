"""Putting the web UI on the API's app: the page routers, /static, and the web's own state."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from listwatch.settings import Settings
from listwatch.web import monitor, portfolio, screening, search, session
from listwatch.web.config import ChartCache, WebConfig

__all__ = ["STATIC_DIR", "mount_routes"]

STATIC_DIR = Path(__file__).parent / "static"


def mount_routes(app: FastAPI, settings: Settings) -> None:
    app.state.web_config = WebConfig.from_settings(settings)
    app.state.web_charts = ChartCache()
    for module in (session, search, screening, portfolio, monitor):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
