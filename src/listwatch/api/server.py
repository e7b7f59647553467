"""`listwatch serve`: uvicorn over `create_app`, one process or several workers.

Workers are separate processes: each builds its app from the environment (`app_from_env`), and
they share the store and the on-disk match index cache (so a worker's index loads in well under
a second once one has built it). On Linux each worker listens on a socket of its own
(SO_REUSEPORT), so that the kernel spreads connections evenly; elsewhere uvicorn's supervisor
shares one socket.

    serve(Settings.from_env(), ApiOptions(open_read=True), host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import logging.config
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from listwatch.api.options import ApiOptions
from listwatch.errors import InvalidQuery, ListwatchError
from listwatch.settings import Settings
from listwatch.store import open_store

__all__ = ["app_from_env", "freeze_after_slow_collections", "options_from_env", "serve"]

_OPTIONS_ENV = "LISTWATCH_API_OPTIONS"  # ApiOptions as JSON, for worker processes


def freeze_after_slow_collections(threshold_s: float = 0.01) -> None:
    """Keep the cyclic garbage collector's full collections short in a server process: after one
    that took longer than `threshold_s`, what survived it is frozen (`gc.freeze`), so the next
    ones walk only newer objects. Installed once per process; `serve` and `app_from_env` call it.
    (Collecting young objects less often as well, `gc.set_threshold(20_000, 50, 50)`, was tried:
    10-20% fewer requests a second at 50 clients, their memory being reused less.)

    A server's long-lived objects grow after it starts (entities unpickled on their first hit,
    name analyses cached): 120,000 of them made every full collection take 60-80 ms, once a
    second under load, each a pause of every request in flight (p99 160 ms at 50 clients). What
    a full collection leaves is reachable, and once the caches are frozen the collections are
    short and nothing more is frozen (measured: the frozen count stays flat under load). Objects
    frozen while a request was in flight that later become cyclic garbage wait for the next
    index change: the screener pool unfreezes and collects everything then."""
    if _freezer in gc.callbacks:
        return
    _freezer.threshold_s = threshold_s
    gc.callbacks.append(_freezer)


class _FreezeAfterSlowCollections:
    threshold_s = 0.01
    started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        elif info["generation"] == 2 and time.perf_counter() - self.started > self.threshold_s:
            gc.freeze()


_freezer = _FreezeAfterSlowCollections()


def options_from_env() -> ApiOptions:
    """The options `serve` hands its worker processes (LISTWATCH_API_OPTIONS, JSON)."""
    raw: dict[str, Any] = json.loads(os.environ.get(_OPTIONS_ENV) or "{}")
    for name in ("cache_dir", "work_dir"):
        if raw.get(name):
            raw[name] = Path(raw[name])
    return ApiOptions(**raw)


def app_from_env() -> FastAPI:
    """The app for a worker process: settings from LISTWATCH_*, options from LISTWATCH_API_OPTIONS."""
    from listwatch.api.app import create_app

    freeze_after_slow_collections()
    return create_app(Settings.from_env(os.environ.get("LISTWATCH_DB")), **asdict(options_from_env()))


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
        freeze_after_slow_collections()
        uvicorn.run(create_app(settings, **asdict(options)), host=host, port=port, log_level=log_level)
        return
    # the database answers and its schema is current before any worker starts: a bad URL is one
    # clear error here, not a worker dying at start again and again
    open_store(settings.db_url).close()
    os.environ["LISTWATCH_DB"] = settings.db_url
    if settings.analyst:
        os.environ["LISTWATCH_ANALYST"] = settings.analyst
    if settings.key_dir:
        os.environ["LISTWATCH_KEY_DIR"] = str(settings.key_dir)
    os.environ[_OPTIONS_ENV] = json.dumps(asdict(options), default=str)
    if port > 0 and sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT"):
        _serve_on_own_sockets(host, port, workers, log_level)
        return
    uvicorn.run(
        "listwatch.api.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) with SO_REUSEPORT: several such sockets share the port."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def _own_socket_worker(host: str, port: int, log_level: str) -> None:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    config = uvicorn.Config("listwatch.api.server:app_from_env", factory=True, log_level=log_level)
    try:
        config.load()
    except ListwatchError as exc:  # the store went away since `serve` checked it, say
        logging.getLogger("uvicorn.error").error("%s", exc)
        sys.exit(STARTUP_FAILURE)  # the supervisor stops rather than start it again and again
    uvicorn.Server(config).run(sockets=[_listening_socket(host, port)])


def _serve_on_own_sockets(host: str, port: int, workers: int, log_level: str) -> None:
    """Linux: each worker process listens on a socket of its own (SO_REUSEPORT), and the kernel
    spreads new connections evenly over them. On uvicorn's one shared socket, whichever worker
    wakes first accepts every connection waiting: 50 keep-alive clients connecting together were
    split 33 to 17, and the busier worker's clients waited twice as long. A worker that dies is
    started again (its socket, and the connections waiting on it, go with it: the kernel sends new
    ones to the others meanwhile); one that fails to start stops the server. SIGINT or SIGTERM
    stop the workers gracefully (uvicorn's shutdown), then the supervisor."""
    import multiprocessing

    from uvicorn.config import STARTUP_FAILURE

    try:  # the address is usable (not taken by another program, nor privileged): fail here if not
        with contextlib.closing(_listening_socket(host, port)):
            pass
    except OSError as exc:
        raise InvalidQuery(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)  # the supervisor logs as its uvicorn workers do
    log = logging.getLogger("uvicorn.error")
    log.setLevel(log_level.upper())
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_own_socket_worker, args=(host, port, log_level))
        process.start()
        return process

    def stop(_signum: int, _frame: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start() for _ in range(workers)]
    log.info("Started %d workers on http://%s:%d, each on its own socket", workers, host, port)
    failed = False
    try:
        while not stopping.wait(0.5):
            for i, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("Worker [%s] failed to start; stopping", process.pid)
                    failed = True
                    stopping.set()
                    break
                log.info("Worker [%s] died (exit code %s); starting another", process.pid, process.exitcode)
                processes[i] = start()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise SystemExit(STARTUP_FAILURE)
