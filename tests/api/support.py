"""What the API tests share: a real store with real lists, keys of each role, a client.

Nothing here stands in for listwatch code: the app is `create_app` over a real SQLite (or
PostgreSQL) store, the lists are the bundled official files, the keys are made by `create_key`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from listwatch.api.keys import create_key
from listwatch.registry.snapshots import ingest
from listwatch.settings import Settings
from listwatch.store import Store
from tests.conftest import CCMC_1237, DOD_1260H, UN_2018_10

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about httpx, not about listwatch
    from fastapi.testclient import TestClient

XIAOMI = "us-dod-1237-ccmc-xiaomi-corporation"
CCMC = "us_dod_1237_ccmc"


def load_lists(store: Store) -> None:
    """The DoD 1237 and 1260H lists and the UN SC list of October 2018, as published."""
    ingest(store, [CCMC_1237], list_id=CCMC)
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    ingest(store, [UN_2018_10])


def make_keys(store: Store) -> dict[str, str]:
    """One key per role, named after it: {"viewer": secret, ...}."""
    return {
        role: create_key(store, f"{role}-key", role=role, created_by="tests").secret
        for role in ("viewer", "analyst", "admin")
    }


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@contextmanager
def client_for(db_url: str, tmp: Path, **options: Any) -> Iterator[TestClient]:
    from listwatch.api.app import create_app

    options.setdefault("cache_dir", tmp / "index-cache")
    options.setdefault("work_dir", tmp / "work")
    settings = Settings(db_url=db_url, analyst="tests", key_dir=tmp / "signing")
    with TestClient(create_app(settings, **options), raise_server_exceptions=False) as client:
        yield client


def example(name: str, schema: str = "Company", **properties: list[str]) -> dict[str, Any]:
    return {"schema": schema, "properties": {"name": [name], **properties}}


def assert_error(response: Any, status: int, *fragments: str) -> dict[str, Any]:
    """The stable error shape: JSON {"detail": str, "status": int}, the status, the words expected."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert "Traceback" not in response.text
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]
    return body
