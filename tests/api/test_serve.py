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
