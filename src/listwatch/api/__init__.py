"""The HTTP API (`listwatch serve`): yente-compatible matching and listwatch's own routes.

from listwatch.api import create_app
app = create_app(Settings.from_env())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from listwatch.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, **options: Any) -> FastAPI:
    """See `listwatch.api.app.create_app`."""
    from listwatch.api.app import create_app as create

    return create(settings, **options)
