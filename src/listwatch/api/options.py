"""How the API server behaves: access, limits and index reloading, one frozen dataclass.

`listwatch serve` builds it from flags; tests pass keyword arguments to `create_app`:

    create_app(settings, open_read=True, rate_per_minute=0)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from listwatch.errors import InvalidQuery

__all__ = ["ApiOptions"]


@dataclass(frozen=True)
class ApiOptions:
    #: Anonymous requests may read (as a viewer); a key is still needed to screen or change things.
    open_read: bool = False
    #: Requests a minute per key (per client address when anonymous); 0 turns the limit off.
    rate_per_minute: int = 600
    #: Largest JSON body accepted, in bytes (a /match batch of 100 queries fits easily).
    max_body_bytes: int = 1 << 20
    #: Largest uploaded file (batch screening, portfolios, certificates), in bytes.
    max_upload_bytes: int = 20 << 20
    #: Most queries in one /match request (yente's MAX_BATCH).
    max_batch_queries: int = 100
    #: Most rows screened from one uploaded file.
    max_batch_rows: int = 50_000
    #: Most results a /match or /search answer holds per query (yente's MAX_MATCHES / MAX_PAGE).
    max_results: int = 500
    #: How often (seconds) the newest snapshot is looked up to reload the match index; 0: every request.
    reload_every_s: float = 2.0
    #: Seconds a key found active is trusted without a database read. A key revoked through this
    #: server is refused at once; one revoked by the CLI or another worker within this delay.
    key_cache_s: float = 5.0
    #: /match scores the queries of concurrent requests in one batch once none has arrived for
    #: this many seconds, or the first has waited `batch_max_wait_s`. With 0 (measured best: see
    #: docs/api.md, Load bench), a batch is what arrived while the previous one was scored.
    batch_window_s: float = 0.0
    batch_max_wait_s: float = 0.01
    #: Screeners (one index per date and dataset) kept in memory.
    max_screeners: int = 8
    #: The match index cache folder (None: the user cache directory, shared with the CLI).
    cache_dir: Path | None = None
    #: Where uploaded files and job outputs are kept (None: a temporary folder for this process).
    work_dir: Path | None = None

    @classmethod
    def from_kwargs(cls, options: dict[str, Any]) -> ApiOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidQuery(
                f"unknown API options: {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**options)
