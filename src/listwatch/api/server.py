"""`listwatch serve`: uvicorn over `create_app`, one process or several workers.

Workers are separate processes: each builds its app from the environment (`app_from_env`), and
they share the store and the on-disk match index cache (so a worker's index loads in well under
a second once one has built it).

    serve(Settings.from_env(), ApiOptions(open_read=True), host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from listwatch.api.options import ApiOptions
from listwatch.settings import Settings

__all__ = ["app_from_env", "serve"]

_OPTIONS_ENV = "LISTWATCH_API_OPTIONS"  # ApiOptions as JSON, for worker processes


def app_from_env() -> FastAPI:
    """The app for a worker process: settings from LISTWATCH_*, options from LISTWATCH_API_OPTIONS."""
    from listwatch.api.app import create_app

    raw: dict[str, Any] = json.loads(os.environ.get(_OPTIONS_ENV) or "{}")
    for name in ("cache_dir", "work_dir"):
        if raw.get(name):
            raw[name] = Path(raw[name])
    return create_app(Settings.from_env(os.environ.get("LISTWATCH_DB")), **raw)


def serve(
    settings: Settings,
    options: ApiOptions,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    import uvicorn

    from listwatch.api.app import create_app

    if workers <= 1:
        uvicorn.run(create_app(settings, **asdict(options)), host=host, port=port, log_level=log_level)
        return
    os.environ["LISTWATCH_DB"] = settings.db_url
    if settings.analyst:
        os.environ["LISTWATCH_ANALYST"] = settings.analyst
    if settings.key_dir:
        os.environ["LISTWATCH_KEY_DIR"] = str(settings.key_dir)
    os.environ[_OPTIONS_ENV] = json.dumps(asdict(options), default=str)
    uvicorn.run(
        "listwatch.api.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )
