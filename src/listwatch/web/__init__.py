"""The web UI: server-rendered pages over the same service functions as the CLI and the API.

`listwatch.api.app.create_app` calls `mount(app, settings)`, which adds the page routes and the
static files (no CDN: everything is served by the app and works offline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from listwatch.settings import Settings

__all__ = ["mount"]


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the web pages and /static to `app`: `mount(create_app(settings), settings)`."""
    from listwatch.web.routes import mount_routes

    mount_routes(app, settings)
