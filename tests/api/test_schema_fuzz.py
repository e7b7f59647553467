"""Property-based fuzzing of every route from the OpenAPI schema (schemathesis): no 5xx, every
status, content type and body as the schema documents them. Bounded to run in well under a minute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from listwatch.api.app import create_app
from listwatch.settings import Settings
from listwatch.store import open_store
from tests.api.support import bearer, load_lists, make_keys

_state: dict[str, Any] = {}
#: Examples per operation: enough to find shape errors, few enough to stay well under a minute.
EXAMPLES = 8
#: No 5xx, and status codes, content types, headers and bodies as documented. Not "valid data is
#: accepted": the schema cannot say that 2021-02-30 is no date or that an ISIN's check digit is
#: wrong, and those are answered 400 on purpose.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def _app(tmp: Path) -> Any:
    url = f"sqlite:///{tmp / 'listwatch.db'}"
    store = open_store(url)
    load_lists(store)
    _state["admin"] = bearer(make_keys(store)["admin"])
    store.close()
    app = create_app(
        Settings(db_url=url, analyst="fuzz", key_dir=tmp / "signing"),
        cache_dir=tmp / "index-cache",
        work_dir=tmp / "work",
        rate_per_minute=0,
        max_batch_rows=200,
        max_upload_bytes=200_000,
    )
    pool = app.state.screeners
    pool.warm_in_background()
    pool.ready.wait(120)
    return app


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    app = _app(tmp_path_factory.mktemp("fuzz"))
    _state["app"] = app
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_routes_conform_to_their_schema(api_schema: Any) -> None:
    """Every operation, a few bounded examples each; failures are collected and reported together."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=_state["admin"], checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, then all reported
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
