"""The web UI's fixtures: one real store with the bundled lists, real API keys, the real app.

The store holds the DoD 1237 (CCMC) and 1260H lists and OFAC's consolidated list of 2025-04, a
watch whose alerts followed Xiaomi's listing and injunction, and a key per role. Pages are tested
through `create_app` (TestClient), and in Chromium against the same app served by uvicorn.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from listwatch.api.app import create_app
from listwatch.api.keys import create_key
from listwatch.registry.snapshots import ingest
from listwatch.screening.findings import WatchOptions
from listwatch.screening.monitoring import add_watch, evaluate_watches
from listwatch.settings import Settings
from listwatch.store import open_store
from tests.conftest import CCMC_1237, CONS_2025_04, DOD_1260H

ROOT = Path(__file__).resolve().parents[2]
PRICES = ROOT / "examples" / "prices"
HK_HOLDINGS = ROOT / "examples" / "portfolios" / "hk_ccmc_holdings.csv"
CCMC = "us_dod_1237_ccmc"
XIAOMI = "us-dod-1237-ccmc-xiaomi-corporation"
PARTIES = "id,name\nA1,Xiaomi Corporation\nA2,China Mobile Limited\nA3,Acme Bakery Ltd\nA4,Rosewood Garden Supplies\n"
ROLES = ("viewer", "analyst", "admin")


@dataclass(frozen=True)
class WebEnv:
    db_url: str
    folder: Path
    keys: dict[str, str]  # role -> secret

    def parties(self) -> Path:
        return self.folder / "parties.csv"


@pytest.fixture(scope="session")
def web_env(tmp_path_factory: pytest.TempPathFactory) -> WebEnv:
    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'listwatch.db'}"
    store = open_store(url)
    ingest(store, [CCMC_1237], list_id=CCMC)
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    ingest(store, [CONS_2025_04])
    keys = {role: create_key(store, f"{role}-key", role=role, created_by="tests").secret for role in ROLES}
    (folder / "parties.csv").write_text(PARTIES, encoding="utf-8")
    options = WatchOptions(key_column="id", lists=(CCMC,), as_of="2021-01-10")
    add_watch(store, folder / "parties.csv", name="counterparties", created_by="ana", options=options)
    evaluate_watches(store, as_of=date(2021, 1, 15))
    evaluate_watches(store, as_of=date(2021, 3, 13))
    store.close()
    return WebEnv(url, folder, keys)


def make_app(env: WebEnv) -> FastAPI:
    settings = Settings(
        db_url=env.db_url, prices=(PRICES / "hk",), markets=(f"HK={PRICES / 'index' / 'HSI.csv'}",)
    )
    return create_app(settings, rate_per_minute=0, cache_dir=env.folder / "cache")


@pytest.fixture(scope="session")
def app(web_env: WebEnv) -> FastAPI:
    return make_app(web_env)


@pytest.fixture(scope="session")
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as client:
        yield client


def client_for(app: FastAPI, secret: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    client.cookies.set("listwatch_key", secret)
    return client


@pytest.fixture(scope="session")
def viewer(app: FastAPI, web_env: WebEnv, anonymous: TestClient) -> TestClient:
    return client_for(app, web_env.keys["viewer"])


@pytest.fixture(scope="session")
def analyst(app: FastAPI, web_env: WebEnv, anonymous: TestClient) -> TestClient:
    return client_for(app, web_env.keys["analyst"])


# -- a live server for the browser -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(web_env: WebEnv) -> Iterator[str]:
    """The real app served by uvicorn on a free loopback port, in a thread stopped at the end."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(
        make_app(web_env), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
