"""`listwatch serve`: uvicorn over `create_app`, one process or several workers.

Workers are separate processes: each builds its app from the environment (`app_from_env`), and
they share the store and the on-disk match index cache (so a worker's index loads in well under
a second once one has built it). On Linux a small supervisor accepts the connections and hands
them to the workers in turn, so that they are spread evenly; elsewhere uvicorn's supervisor
shares one socket.

    serve(Settings.from_env(), ApiOptions(open_read=True), host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import asyncio
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

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG, STARTUP_FAILURE

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
    (Collecting young objects less often as well, `gc.set_threshold(...)`, was tried: no
    consistent gain at 50 clients, docs/api.md, Load bench.)

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
    if sys.platform.startswith("linux"):
        _serve_handing_connections(host, port, workers, log_level)
        return
    uvicorn.run(
        "listwatch.api.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


_BACKLOG = 2048  # uvicorn's default


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), listening."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(_BACKLOG)
    return sock


def _handed_connections_worker(channel: socket.socket, log_level: str) -> None:
    """A worker process: uvicorn over `app_from_env`, serving the connections the supervisor
    hands it on `channel` (it listens on no socket itself)."""
    config = uvicorn.Config("listwatch.api.server:app_from_env", factory=True, log_level=log_level)
    try:
        config.load()
    except ListwatchError as exc:  # the store went away since `serve` checked it, say
        logging.getLogger("uvicorn.error").error("%s", exc)
        sys.exit(STARTUP_FAILURE)  # the supervisor stops rather than start it again and again
    _HandedConnections(config, channel).run()


class _HandedConnections(uvicorn.Server):
    """uvicorn's server fed with the connections its supervisor accepted: each arrives as a file
    descriptor on `channel` (SCM_RIGHTS) and gets uvicorn's HTTP protocol, as a connection
    uvicorn accepted itself would; the end of `channel` (the supervisor gone) stops the worker."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel
        self._connecting: set[asyncio.Task[Any]] = set()  # referenced until done, as asyncio asks

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        self.channel.setblocking(False)
        asyncio.get_running_loop().add_reader(self.channel.fileno(), self._take_connections)

    def _take_connections(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                message, fds, _flags, _address = socket.recv_fds(self.channel, 16, 16)
            except BlockingIOError:
                return
            if not message and not fds:  # the supervisor has gone
                loop.remove_reader(self.channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                connection = socket.socket(fileno=fd)
                task = loop.create_task(loop.connect_accepted_socket(self._protocol, connection))
                self._connecting.add(task)
                task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[Any]) -> None:
        self._connecting.discard(task)
        if not task.cancelled() and task.exception() is not None:  # the client went away meanwhile
            logging.getLogger("uvicorn.error").debug("a handed connection failed: %s", task.exception())

    def _protocol(self) -> asyncio.Protocol:
        # what uvicorn's `Server.startup` builds for each connection it accepts (a closure there)
        protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )
        return protocol

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        with contextlib.suppress(ValueError, OSError):  # already removed, or closed
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
        self.channel.close()
        await super().shutdown(sockets=sockets)


def _serve_handing_connections(host: str, port: int, workers: int, log_level: str) -> None:
    """Linux: the supervisor accepts every connection and hands it to the workers in turn (over a
    Unix socket each, SCM_RIGHTS), as Node.js's cluster module does. Keep-alive clients are then
    spread evenly: on uvicorn's one shared socket, whichever worker wakes first accepts every
    connection waiting (the load bench's 50 clients were split 33 to 17), and a socket per worker
    (SO_REUSEPORT) spreads them by a hash of their addresses (21 to 29 and 15 to 35 were seen); in
    both, the busier worker's clients wait longer. A worker that dies is started again (the
    connections it held are lost; new ones go to the others meanwhile); one that fails to start
    stops the server. SIGINT or SIGTERM stop the workers gracefully (uvicorn's shutdown), then
    the supervisor."""
    import multiprocessing

    try:  # the address is usable (not taken by another program, nor privileged): fail here if not
        listener = _listening_socket(host, port)
    except OSError as exc:
        raise InvalidQuery(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    logging.config.dictConfig(LOGGING_CONFIG)  # the supervisor logs as its uvicorn workers do
    log = logging.getLogger("uvicorn.error")
    log.setLevel(log_level.upper())
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()
    lock = threading.Lock()
    channels: list[socket.socket | None] = [None] * workers

    def start(slot: int) -> multiprocessing.process.BaseProcess:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.settimeout(1.0)  # a worker that takes none for a second (stuck): the next one gets it
        process = context.Process(target=_handed_connections_worker, args=(theirs, log_level))
        process.start()
        theirs.close()
        with lock:
            old, channels[slot] = channels[slot], ours
        if old is not None:
            old.close()
        return process

    def stop(_signum: int, _frame: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start(slot) for slot in range(workers)]
    handing = threading.Thread(
        target=_hand_connections, args=(listener, channels, lock, stopping), name="accept", daemon=True
    )
    handing.start()
    log.info("Started %d workers on http://%s:%d", workers, host, listener.getsockname()[1])
    failed = False
    try:
        while not stopping.wait(0.5):
            for slot, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("Worker [%s] failed to start; stopping", process.pid)
                    failed = True
                    stopping.set()
                    break
                log.info("Worker [%s] died (exit code %s); starting another", process.pid, process.exitcode)
                processes[slot] = start(slot)
    finally:
        stopping.set()
        handing.join(timeout=5)
        listener.close()
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        for channel in channels:
            if channel is not None:
                channel.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise SystemExit(STARTUP_FAILURE)


def _hand_connections(
    listener: socket.socket,
    channels: list[socket.socket | None],
    lock: threading.Lock,
    stopping: threading.Event,
) -> None:
    """Accept connections until `stopping`, handing each to the next worker in turn whose channel
    takes it (a dead worker's does not: the next one gets the connection)."""
    listener.settimeout(0.2)
    turn = 0
    while not stopping.is_set():
        try:
            connection, _address = listener.accept()
        except TimeoutError:
            continue
        except OSError:  # the listener closed, or a connection reset before it was accepted
            if stopping.is_set():
                return
            continue
        with connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with lock:
                ready = [channel for channel in channels if channel is not None]
            for attempt in range(len(ready)):
                channel = ready[(turn + attempt) % len(ready)]
                try:
                    socket.send_fds(channel, [b"c"], [connection.fileno()])
                except OSError:  # that worker is gone (being started again) or stuck
                    continue
                turn = (turn + attempt + 1) % len(ready)
                break
            else:  # every worker is gone or stuck: the connection is closed, the client may retry
                logging.getLogger("uvicorn.error").warning("no worker took a connection; closed it")
