"""The HTTP API: yente-compatible matching plus listwatch's own questions, behind API keys.

    app = create_app(Settings.from_env(), open_read=False)   # then: uvicorn.run(app)

`create_app(settings, **options)` takes `ApiOptions` fields as keyword arguments. The web UI
(`listwatch.web.mount(app, settings)`, called last when that package exists) finds the shared
objects on `app.state`:

- `app.state.settings`: the `Settings` the app was built with;
- `app.state.options`: the `ApiOptions` (access, limits, reloading);
- `app.state.store`: the open `Store` (one engine shared by all requests);
- `app.state.screeners`: the `ScreenerPool`; `screeners.get(as_of=..., lists=..., algorithm=...)`
  gives a `SharedScreener` (`.match(query, limit=5)`, `.as_of`; `.screener` is the `Screener`)
  for the newest snapshots, reloaded in the background after an ingest. Call its `match`, not the
  inner screener's: scoring on one index is serialised (see `api.index`);
- `app.state.batcher`: the `MatchBatcher` that scores concurrent /match queries together;
- `app.state.jobs`: the `JobRunner` of batch screening and portfolio jobs;
- `app.state.rate_limiter`, `app.state.key_touches`, `app.state.key_cache`: used by
  `auth.current_principal` (a key revoked here must be `key_cache.forget(name)`-ed).

Routes needing a role use `Depends(auth.require("analyst"))`; errors are `{"detail", "status"}`.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from listwatch import __version__
from listwatch.api.auth import RateLimiter, new_touches
from listwatch.api.batcher import MatchBatcher
from listwatch.api.errors import install_error_handlers
from listwatch.api.index import ScreenerPool
from listwatch.api.jobs import JobRunner
from listwatch.api.keys import KeyCache
from listwatch.api.middleware import AuditLog, BodyLimit
from listwatch.api.options import ApiOptions
from listwatch.settings import Settings
from listwatch.store import open_store

__all__ = ["create_app"]

log = logging.getLogger("listwatch.api")

_DESCRIPTION = """\
Restricted-party lists with full history. `/match/{dataset}`, `/search/{dataset}`,
`/entities/{id}`, `/algorithms` and `/catalog` answer like OpenSanctions' yente, so its clients
work unchanged; every other route is under `/api/v1`. Send a key as `Authorization: Bearer KEY`
(create one with `listwatch keys create NAME --role analyst`).
"""


def create_app(settings: Settings, **options: Any) -> FastAPI:
    """The API over the store at `settings.db_url`; `options` are `ApiOptions` fields."""
    opts = ApiOptions.from_kwargs(options)
    store = open_store(settings.db_url)
    own_work_dir = opts.work_dir is None  # a temporary folder of this app's, removed at shutdown
    work_dir = opts.work_dir or Path(tempfile.mkdtemp(prefix="listwatch-api-"))
    pool = ScreenerPool(
        store, cache_dir=opts.cache_dir, reload_every_s=opts.reload_every_s, max_screeners=opts.max_screeners
    )
    jobs = JobRunner(settings, store, work_dir=work_dir)
    batcher = MatchBatcher(window_s=opts.batch_window_s, max_wait_s=opts.batch_max_wait_s)
    touches = new_touches()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool.warm_in_background()
        try:
            yield
        finally:
            jobs.shutdown()
            pool.shutdown()
            touches.flush()
            if own_work_dir:
                shutil.rmtree(work_dir, ignore_errors=True)

    app = FastAPI(
        title="listwatch",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.options = opts
    app.state.store = store
    app.state.screeners = pool
    app.state.jobs = jobs
    app.state.batcher = batcher
    app.state.key_cache = KeyCache(opts.key_cache_s)
    app.state.key_lookups = {}  # digest -> the database lookup in flight (auth._look_up)
    app.state.work_dir = work_dir
    app.state.rate_limiter = RateLimiter(opts.rate_per_minute)
    app.state.key_touches = touches
    install_error_handlers(app)
    # Added last, runs first: an oversize body is refused before anything else reads it.
    app.add_middleware(AuditLog, store=store)
    app.add_middleware(BodyLimit, max_body=opts.max_body_bytes, max_upload=opts.max_upload_bytes)

    from listwatch.api.routes import admin, health, impact, matching, monitoring, registry, screening

    for module in (health, matching, registry, screening, monitoring, impact, admin):
        app.include_router(module.router)
    if importlib.util.find_spec("listwatch.web") is not None:
        from listwatch import web

        web.mount(app, settings)
    return app
