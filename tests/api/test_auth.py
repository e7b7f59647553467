"""API keys: roles, revocation, where a key is read from, open read access, rate limits, audit."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, text
from typer.testing import CliRunner

import listwatch.store as store_module
from listwatch.api.keys import authenticate, create_key, list_keys, revoke_key
from listwatch.cli import app as cli_app
from listwatch.store import Store
from listwatch.store.concurrency import lock_ingests
from listwatch.store.tables import api_audit, api_keys
from listwatch.store.timestamps import as_utc
from tests.api.support import assert_error, bearer, client_for, example, make_keys
from tests.support import store_state

runner = CliRunner()


def test_keys_are_stored_hashed_and_shown_once(store: Store) -> None:
    created = create_key(store, "screening-bot", role="analyst", created_by="alice")
    assert created.secret.startswith("lw_") and len(created.secret) > 40
    with store.engine.connect() as conn:
        row = conn.execute(select(api_keys)).one()
    assert created.secret not in json.dumps([str(v) for v in row])
    assert row.secret_sha256 != created.secret and len(row.secret_sha256) == 64
    assert "secret" not in list_keys(store)[0].to_dict()
    assert authenticate(store, created.secret) is not None
    assert authenticate(store, created.secret + "x") is None


def test_bad_key_names_roles_and_duplicates_are_refused(store: Store) -> None:
    create_key(store, "bot", role="viewer", created_by="alice")
    before = store_state(store)
    for name, role, words in (
        ("bot", "viewer", "exists"),
        ("two words", "viewer", "key name"),
        ("ok", "root", "unknown role 'root'"),
    ):
        try:
            create_key(store, name, role=role, created_by="alice")
        except Exception as exc:  # noqa: BLE001 - the type and message are what is tested
            assert type(exc).__name__ == "InvalidQuery" and words in str(exc)
        else:
            raise AssertionError(f"{name}/{role} was accepted")
    assert store_state(store) == before


def test_cli_creates_lists_and_revokes_keys(db_url: str, tmp_path: Path) -> None:
    created = runner.invoke(cli_app, ["--db", db_url, "keys", "create", "ci", "--role", "admin", "--json"])
    assert created.exit_code == 0, created.output
    secret = json.loads(created.output)["secret"]
    listed = runner.invoke(cli_app, ["--db", db_url, "keys", "list", "--json"])
    assert [k["name"] for k in json.loads(listed.output)] == ["ci"] and secret not in listed.output
    bad = runner.invoke(cli_app, ["--db", db_url, "keys", "create", "x", "--role", "god"])
    assert bad.exit_code == 1 and "unknown role 'god'" in bad.output
    assert runner.invoke(cli_app, ["--db", db_url, "keys", "revoke", "ci"]).exit_code == 0
    again = runner.invoke(cli_app, ["--db", db_url, "keys", "revoke", "ci"])
    assert again.exit_code == 1 and "no active API key named 'ci'" in again.output
    with client_for(db_url, tmp_path) as client:
        assert_error(client.get("/catalog", headers=bearer(secret)), 401, "revoked")


def test_key_from_header_x_api_key_or_cookie(store: Store, tmp_path: Path, db_url: str) -> None:
    keys = make_keys(store)
    with client_for(db_url, tmp_path) as client:
        assert client.get("/algorithms", headers=bearer(keys["viewer"])).status_code == 200
        assert client.get("/algorithms", headers={"X-API-Key": keys["viewer"]}).status_code == 200
        assert (
            client.get("/algorithms", headers={"Authorization": f"ApiKey {keys['viewer']}"}).status_code
            == 200
        )
        client.cookies.set("listwatch_key", keys["viewer"])
        assert client.get("/algorithms").status_code == 200
        client.cookies.clear()
        response = assert_error(client.get("/algorithms"), 401, "API key is required")
        assert response is not None
        assert_error(client.get("/algorithms", headers=bearer("lw_not-a-key")), 401, "unknown or revoked")
        assert_error(client.get("/algorithms", headers={"Authorization": "Basic dXNlcjpwdw=="}), 401)


def test_key_revoked_through_the_api_is_refused_at_once(store: Store, tmp_path: Path, db_url: str) -> None:
    keys = make_keys(store)
    with client_for(db_url, tmp_path, key_cache_s=3600) as client:
        assert client.get("/catalog", headers=bearer(keys["analyst"])).status_code == 200  # now cached
        assert client.delete("/api/v1/keys/analyst-key", headers=bearer(keys["admin"])).status_code == 200
        assert_error(client.get("/catalog", headers=bearer(keys["analyst"])), 401, "unknown or revoked")


def test_key_revoked_elsewhere_is_refused_once_the_cache_expires(
    store: Store, tmp_path: Path, db_url: str
) -> None:
    keys = make_keys(store)
    # 2 s: the second request must come while the key is cached even on a loaded CI machine (0.3 s
    # did not, once)
    with client_for(db_url, tmp_path, key_cache_s=2.0) as client:
        assert client.get("/catalog", headers=bearer(keys["analyst"])).status_code == 200
        revoke_key(store, "analyst-key")  # as `listwatch keys revoke` or another worker would
        assert client.get("/catalog", headers=bearer(keys["analyst"])).status_code == 200  # cached
        time.sleep(2.1)
        assert_error(client.get("/catalog", headers=bearer(keys["analyst"])), 401, "unknown or revoked")
    with client_for(db_url, tmp_path, key_cache_s=0) as client:  # no cache: refused at once
        assert client.get("/catalog", headers=bearer(keys["viewer"])).status_code == 200
        revoke_key(store, "viewer-key")
        assert_error(client.get("/catalog", headers=bearer(keys["viewer"])), 401, "unknown or revoked")


def test_cached_key_costs_no_database_read(store: Store, tmp_path: Path, db_url: str) -> None:
    keys = make_keys(store)
    with client_for(db_url, tmp_path) as client:
        assert client.get("/algorithms", headers=bearer(keys["viewer"])).status_code == 200
        engine = client.app.state.store.engine  # type: ignore[attr-defined]
        reads: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            reads.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            for _ in range(3):
                assert client.get("/algorithms", headers=bearer(keys["viewer"])).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert [sql for sql in reads if "api_keys" in sql] == []


def test_a_key_records_when_it_was_last_used(store: Store, tmp_path: Path, db_url: str) -> None:
    keys = make_keys(store)
    before = datetime.now(UTC)
    with client_for(db_url, tmp_path) as client:
        assert client.get("/algorithms", headers=bearer(keys["viewer"])).status_code == 200
    used = {k.name: k.last_used_at for k in list_keys(store)}
    assert set(used) == {f"{role}-key" for role in keys}
    viewer_used = used.pop("viewer-key")
    assert viewer_used is not None and before <= as_utc(viewer_used) <= datetime.now(UTC)
    assert set(used.values()) == {None}  # the keys that sent nothing


@pytest.fixture
def keys_on_busy_sqlite(store: Store, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """SQLite only (PostgreSQL has no single writer): one key per role, and a busy timeout of
    0.2 s for the stores opened from here on (the app's, the CLI's), so that a write lock another
    connection holds is felt at once."""
    if not store.is_sqlite:
        pytest.skip("PostgreSQL has no single writer")
    keys = make_keys(store)
    monkeypatch.setattr(store_module, "_BUSY_TIMEOUT_S", 0.2)
    return keys


def test_a_request_does_not_wait_for_its_key_use_to_be_written(
    store: Store,
    tmp_path: Path,
    db_url: str,
    keys_on_busy_sqlite: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On SQLite an ingest holds the only write lock while it writes: a request whose key's last use
    is due is answered anyway, and the write that could not wait is logged and dropped."""
    keys = keys_on_busy_sqlite
    with client_for(db_url, tmp_path) as client, store.engine.begin() as conn:
        lock_ingests(conn)  # an ingest in progress
        assert client.get("/algorithms", headers=bearer(keys["viewer"])).status_code == 200
        client.app.state.key_touches.flush()  # type: ignore[attr-defined]
    assert "the last use of API key" in caplog.text and "was not recorded" in caplog.text
    assert keys["viewer"] not in caplog.text
    assert {k.name: k.last_used_at for k in list_keys(store)}["viewer-key"] is None


def test_a_write_refused_by_a_busy_sqlite_store_is_a_503_and_still_audited(
    store: Store,
    tmp_path: Path,
    db_url: str,
    keys_on_busy_sqlite: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A change that cannot get SQLite's write lock within the busy timeout (an ingest holds it)
    is a 503 with Retry-After, not a 500; its audit row waits for the lock and is written."""
    keys = keys_on_busy_sqlite
    holding = threading.Event()

    def ingest_in_progress() -> None:
        with store.engine.begin() as conn:
            lock_ingests(conn)
            holding.set()
            # until the route has given up (the API logs its 503); the audit row waits meanwhile
            deadline = time.monotonic() + 60
            while "DatabaseBusy" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.02)

    with client_for(db_url, tmp_path) as client:
        holder = threading.Thread(target=ingest_in_progress)
        holder.start()
        assert holding.wait(60)
        response = client.post(
            "/api/v1/keys", headers=bearer(keys["admin"]), json={"name": "late", "role": "viewer"}
        )
        holder.join(60)
    assert_error(response, 503, "the database is busy")
    assert response.headers["Retry-After"] == "5"
    assert "late" not in {k.name for k in list_keys(store)}
    with store.engine.connect() as conn:
        audited = conn.execute(select(api_audit.c.method, api_audit.c.path, api_audit.c.status)).all()
    assert ("POST", "/api/v1/keys", 503) in [tuple(row) for row in audited]


def test_any_other_database_error_is_a_500_that_shows_nothing_of_it(
    store: Store, tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Only a busy SQLite store is a 503 (`DatabaseBusy`); a database fault is a plain 500."""
    keys = make_keys(store)
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE runs RENAME TO runs_gone"))
    with client_for(db_url, tmp_path) as client:
        response = client.get("/api/v1/runs", headers=bearer(keys["viewer"]))
    assert_error(response, 500, "internal error; the server log has the details")
    assert "runs" not in response.json()["detail"] and "Retry-After" not in response.headers
    assert "unexpected error on GET /api/v1/runs" in caplog.text


def test_cli_write_on_a_busy_sqlite_store_is_one_line_and_changes_nothing(
    store: Store, db_url: str, keys_on_busy_sqlite: dict[str, str]
) -> None:
    with store.engine.begin() as conn:
        lock_ingests(conn)  # an ingest in progress
        result = runner.invoke(cli_app, ["--db", db_url, "keys", "create", "late", "--role", "viewer"])
    assert result.exit_code == 1
    assert "error: the database is busy" in result.output and "Traceback" not in result.output
    assert "late" not in {k.name for k in list_keys(store)}


def test_open_read_lets_anonymous_read_but_not_screen(store: Store, tmp_path: Path, db_url: str) -> None:
    keys = make_keys(store)
    with client_for(db_url, tmp_path, open_read=True) as client:
        assert client.get("/catalog").status_code == 200
        assert client.post("/match/default", json={"queries": {"q": example("Xiaomi")}}).status_code == 200
        assert_error(client.get("/catalog", headers=bearer("lw_wrong")), 401)  # a key given must be valid
        assert_error(client.get("/api/v1/keys"), 403, "admin")
        assert client.get("/api/v1/keys", headers=bearer(keys["admin"])).status_code == 200


def test_rate_limit_per_key(store: Store, tmp_path: Path, db_url: str) -> None:
    keys = make_keys(store)
    with client_for(db_url, tmp_path, rate_per_minute=3) as client:
        codes = [client.get("/algorithms", headers=bearer(keys["viewer"])).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        body = assert_error(client.get("/algorithms", headers=bearer(keys["viewer"])), 429, "rate limit of 3")
        assert body is not None
        assert client.get("/algorithms", headers=bearer(keys["analyst"])).status_code == 200  # its own budget


def test_changing_requests_are_audited_with_the_key_name(store: Store, tmp_path: Path, db_url: str) -> None:
    keys = make_keys(store)
    with client_for(db_url, tmp_path) as client:
        client.post("/api/v1/keys", headers=bearer(keys["admin"]), json={"name": "new-bot", "role": "viewer"})
        client.post("/api/v1/keys", headers=bearer(keys["viewer"]), json={"name": "sneaky", "role": "admin"})
        client.post("/match/default", headers=bearer(keys["viewer"]), json={"queries": {"q": example("x")}})
    with store.engine.connect() as conn:
        rows = conn.execute(select(api_audit).order_by(api_audit.c.id)).all()
    assert [(r.key_name, r.method, r.path, r.status) for r in rows] == [
        ("admin-key", "POST", "/api/v1/keys", 201),
        ("viewer-key", "POST", "/api/v1/keys", 403),
    ]
    assert rows[0].detail == {"key": "new-bot", "role": "viewer"}


def test_concurrent_requests_with_an_uncached_key_share_one_lookup(
    store: Store, tmp_path: Path, db_url: str
) -> None:
    keys = make_keys(store)
    with client_for(db_url, tmp_path) as client:
        app: Any = client.app
        reads: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            reads.append(statement)

        async def twenty_at_once() -> list[int]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                responses = await asyncio.gather(
                    *(http.get("/algorithms", headers=bearer(keys["viewer"])) for _ in range(20))
                )
            return [r.status_code for r in responses]

        event.listen(app.state.store.engine, "before_cursor_execute", record)
        try:
            codes = asyncio.run(twenty_at_once())
        finally:
            event.remove(app.state.store.engine, "before_cursor_execute", record)
    assert codes == [200] * 20
    assert len([sql for sql in reads if "FROM api_keys" in sql]) == 1
