"""`listwatch serve` starts with one command on the embedded store and answers over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from listwatch.api.keys import create_key
from listwatch.store import open_store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_listwatch_serve_answers_with_a_key(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'listwatch.db'}"
    store = open_store(db)
    secret = create_key(store, "ci", role="viewer", created_by="tests").secret
    store.close()
    port = _free_port()
    env = {**os.environ, "LISTWATCH_DB": db, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [
        str(Path(sys.executable).parent / "listwatch"),
        "serve",
        "--port",
        str(port),
    ]  # the console script
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("listwatch serve did not answer within 120 s")
        assert httpx.get(f"{base}/catalog").json()["status"] == 401
        catalog = httpx.get(f"{base}/catalog", headers={"Authorization": f"Bearer {secret}"})
        assert catalog.status_code == 200 and catalog.json()["current"] == []
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_two_workers_each_serve_a_new_snapshot_soon_after_its_ingest(tmp_path: Path) -> None:
    from listwatch.registry.snapshots import ingest
    from tests.api.support import CCMC, XIAOMI
    from tests.conftest import CCMC_1237, UN_2018_10

    db = f"sqlite:///{tmp_path / 'listwatch.db'}"
    store = open_store(db)
    ingest(store, [UN_2018_10])
    secret = create_key(store, "ci", role="viewer", created_by="tests").secret
    port = _free_port()
    env = {**os.environ, "LISTWATCH_DB": db, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [str(Path(sys.executable).parent / "listwatch"), "serve", "--port", str(port), "--workers", "2",
               "--reload-every", "0.5"]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
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
        server.terminate()
        server.wait(timeout=30)
