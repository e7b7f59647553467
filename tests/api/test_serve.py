"""`listwatch serve` starts with one command on the embedded store and answers over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from listwatch.api.keys import create_key
from listwatch.store import open_store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_command(port: int, *options: str) -> list[str]:
    """`listwatch serve` on `port`, as the console script a user runs."""
    return [str(Path(sys.executable).parent / "listwatch"), "serve", "--port", str(port), *options]


@contextmanager
def _serving(tmp_path: Path, db: str, port: int, *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """`listwatch serve` on `db`, its output in `tmp_path/serve.log` (a pipe nobody reads would
    fill up and stall it), stopped with SIGTERM afterwards (killed if it does not stop)."""
    env = {**os.environ, "LISTWATCH_DB": db, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            _serve_command(port, *options), env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            yield server
        finally:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


def _serve_to_the_end(db: str, port: int) -> subprocess.CompletedProcess[str]:
    """`listwatch serve --workers 2` run until it exits by itself (the tests of start-up errors)."""
    return subprocess.run(
        _serve_command(port, "--workers", "2"),
        check=False,
        env={**os.environ, "LISTWATCH_DB": db},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _wait_for(port: int, path: str, tmp_path: Path) -> None:
    """Until `GET path` answers 200 (120 s at most)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(
        f"listwatch serve did not answer {path} within 120 s; {_tail(tmp_path / 'serve.log')}"
    )


def _workers(pid: int) -> set[int]:
    """The pids of a server's worker processes: its children (from /proc) but multiprocessing's
    resource tracker."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state
        if parent == pid and b"resource_tracker" not in command:
            found.add(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """Whether a process runs (a zombie, exited but not yet reaped by whoever adopted it, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]


def _worker_id(port: int, secret: str) -> str | None:
    """Which worker answers a /match on a new connection (None if none could, for now)."""
    body = {"queries": {"q": {"schema": "Company", "properties": {"name": ["Acme"]}}}}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            response = client.post("/match/default", json=body, headers={"Authorization": f"Bearer {secret}"})
    except httpx.TransportError:  # a worker killed with a connection just made to it
        return None
    assert response.status_code == 200, response.text
    return response.headers["x-listwatch-worker"]


def test_listwatch_serve_answers_with_a_key(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'listwatch.db'}"
    store = open_store(db)
    secret = create_key(store, "ci", role="viewer", created_by="tests").secret
    store.close()
    port = _free_port()
    with _serving(tmp_path, db, port):
        _wait_for(port, "/healthz", tmp_path)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/catalog").json()["status"] == 401
        catalog = httpx.get(f"{base}/catalog", headers={"Authorization": f"Bearer {secret}"})
        assert catalog.status_code == 200 and catalog.json()["current"] == []


def test_two_workers_each_serve_a_new_snapshot_soon_after_its_ingest(tmp_path: Path) -> None:
    from listwatch.registry.snapshots import ingest
    from tests.api.support import CCMC, XIAOMI
    from tests.conftest import CCMC_1237, UN_2018_10

    db = f"sqlite:///{tmp_path / 'listwatch.db'}"
    store = open_store(db)
    ingest(store, [UN_2018_10])
    secret = create_key(store, "ci", role="viewer", created_by="tests").secret
    port = _free_port()
    body = {"queries": {"q": {"schema": "Company", "properties": {"name": ["Xiaomi Corporation"]}}}}
    headers = {"Authorization": f"Bearer {secret}"}

    def ask() -> tuple[str, bool]:
        """On a fresh connection (so either worker may answer): its id, and whether it found Xiaomi."""
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
            response = client.post("/match/default", params={"as_of": "2021-02-01"}, json=body)
        assert response.status_code == 200, response.text
        found = any(r["id"] == XIAOMI for r in response.json()["responses"]["q"]["results"])
        return response.headers["x-listwatch-worker"], found

    try:
        with _serving(tmp_path, db, port, "--workers", "2", "--reload-every", "0.5"):
            _wait_for(port, "/readyz", tmp_path)
            assert not any(ask()[1] for _ in range(8))
            ingest(store, [CCMC_1237], list_id=CCMC)
            seen: dict[str, bool] = {}  # worker id -> found Xiaomi at its last answer
            deadline = time.monotonic() + 90
            while not (len(seen) == 2 and all(seen.values())) and time.monotonic() < deadline:
                worker, found = ask()
                seen[worker] = found
                time.sleep(0.05)
            assert len(seen) == 2 and all(seen.values()), f"workers and what they answered: {seen}"
    finally:
        store.close()


def test_connections_are_handed_to_the_workers_in_turn_and_a_dead_one_is_started_again(
    tmp_path: Path,
) -> None:
    from listwatch.registry.snapshots import ingest
    from tests.conftest import CCMC_1237

    db = f"sqlite:///{tmp_path / 'listwatch.db'}"
    store = open_store(db)
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    secret = create_key(store, "ci", role="viewer", created_by="tests").secret
    store.close()
    port = _free_port()
    with _serving(tmp_path, db, port, "--workers", "2") as server:
        seen: set[str] = set()
        deadline = time.monotonic() + 120
        while len(seen) < 2 and time.monotonic() < deadline:
            worker = _worker_id(port, secret)  # None while the workers start
            if worker is not None:
                seen.add(worker)
            time.sleep(0.05)
        assert len(seen) == 2, f"workers seen: {seen}; {_tail(tmp_path / 'serve.log')}"
        in_turn = [_worker_id(port, secret) for _ in range(6)]  # six new connections
        answered = sorted(worker for worker in in_turn if worker is not None)
        assert answered == sorted([*seen] * 3), in_turn  # three each, not left to chance
        workers = _workers(server.pid)
        assert len(workers) == 2  # the supervisor runs the two workers itself
        os.kill(min(workers), signal.SIGKILL)
        deadline = time.monotonic() + 120
        while len(seen) < 3 and time.monotonic() < deadline:
            worker = _worker_id(port, secret)
            if worker is not None:
                seen.add(worker)
            time.sleep(0.05)
        assert len(seen) == 3, f"no new worker answered: {seen}"
        assert server.poll() is None and len(_workers(server.pid)) == 2
    assert server.returncode == 0  # stopped gracefully by SIGTERM


def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'listwatch.db'}"
    open_store(db).close()
    port = _free_port()
    with _serving(tmp_path, db, port, "--workers", "2") as server:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = _workers(server.pid)
            time.sleep(0.1)
        assert len(workers) == 2, _tail(tmp_path / "serve.log")
        _wait_for(port, "/healthz", tmp_path)  # a worker has started serving
        os.kill(server.pid, signal.SIGKILL)  # no chance to stop its workers itself
        server.wait(timeout=30)
        deadline = time.monotonic() + 60
        while any(map(_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        # the end of their channel tells the workers: they shut down rather than linger
        assert not [pid for pid in workers if _running(pid)], _tail(tmp_path / "serve.log")


def test_serve_on_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'listwatch.db'}"
    open_store(db).close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve_to_the_end(db, port)
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_a_slow_full_collection_freezes_what_survived_it() -> None:
    code = (
        "import gc\n"
        "from listwatch.api.server import freeze_after_slow_collections\n"
        "freeze_after_slow_collections(0.0)\n"
        "freeze_after_slow_collections(0.0)\n"  # installed once
        "assert sum(c.__class__.__name__ == '_FreezeAfterSlowCollections' for c in gc.callbacks) == 1\n"
        "gc.disable()\n"  # no automatic collection: the two below are the only ones
        "kept = [[i] for i in range(10_000)]\n"
        "before = gc.get_freeze_count()\n"
        "gc.collect(1)\n"
        "assert gc.get_freeze_count() == before, 'a young collection froze something'\n"
        "gc.collect()\n"
        "assert gc.get_freeze_count() >= before + 10_000, gc.get_freeze_count()\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_serve_with_workers_on_an_unreachable_database_is_one_clear_error() -> None:
    result = _serve_to_the_end("postgresql+psycopg://nobody@127.0.0.1:1/x", _free_port())
    assert result.returncode != 0
    assert "cannot connect to postgresql+psycopg://nobody@127.0.0.1:1/x" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout  # no worker started, nor started again


def test_a_worker_whose_app_cannot_be_built_exits_with_the_start_up_failure_code() -> None:
    # the supervisor stops on this code rather than start the worker again and again
    from uvicorn.config import STARTUP_FAILURE

    code = (
        "import socket\n"
        "from listwatch.api.server import _handed_connections_worker\n"
        "_handed_connections_worker(socket.socketpair()[1], 'info')\n"
    )
    environment = {**os.environ, "LISTWATCH_DB": "postgresql+psycopg://nobody@127.0.0.1:1/x"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == STARTUP_FAILURE, result.stderr
    assert "cannot connect to postgresql+psycopg://nobody@127.0.0.1:1/x" in result.stderr
    assert "Traceback" not in result.stderr
