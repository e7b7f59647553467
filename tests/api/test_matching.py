"""The yente-compatible routes against the bundled DoD and UN lists: shapes, answers, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.api.support import (
    CCMC,
    XIAOMI,
    TestClient,
    assert_error,
    bearer,
    client_for,
    example,
)


@pytest.fixture(scope="module")
def client(lists_db: tuple[str, dict[str, str], Path]) -> Iterator[TestClient]:
    url, _, tmp = lists_db
    with client_for(url, tmp, rate_per_minute=0) as client:
        yield client


@pytest.fixture(scope="module")
def viewer(lists_db: tuple[str, dict[str, str], Path]) -> dict[str, str]:
    return bearer(lists_db[1]["viewer"])


def match(client: TestClient, headers: dict[str, str], queries: dict[str, Any], **params: Any) -> Any:
    return client.post("/match/default", headers=headers, params=params, json={"queries": queries})


def test_match_answers_in_yentes_shape(client: TestClient, viewer: dict[str, str]) -> None:
    response = match(client, viewer, {"q1": example("Xiaomi Corp", country=["cn"])}, as_of="2021-02-01")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"responses", "matcher", "limit"}
    answer = body["responses"]["q1"]
    assert answer["status"] == 200
    assert answer["total"]["relation"] == "eq" and answer["total"]["value"] >= 1
    assert answer["query"] == {
        "id": None,
        "schema": "Company",
        "properties": {"name": ["Xiaomi Corp"], "country": ["cn"]},
    }
    top = answer["results"][0]
    assert set(top) >= {
        "id",
        "caption",
        "schema",
        "properties",
        "datasets",
        "score",
        "match",
        "features",
        "explanations",
    }
    assert (top["id"], top["caption"], top["schema"]) == (XIAOMI, "Xiaomi Corporation", "Company")
    assert top["match"] is True and 0.9 < top["score"] <= 1.0
    assert top["datasets"] == [CCMC]
    assert "小米集团" in top["properties"]["alias"]
    assert top["explanations"]["name"]["candidate"] == "Xiaomi Corporation"
    assert top["features"]["name"] == top["explanations"]["name"]["score"]
    assert response.headers["x-batch-size"] == "1"


def test_match_is_as_of_a_day(client: TestClient, viewer: dict[str, str]) -> None:
    # Listed 2021-01-14, vacated by court order 2021-05-25.
    queries = {"x": example("小米集团")}
    before = match(client, viewer, queries, as_of="2021-02-01").json()["responses"]["x"]["results"]
    after = match(client, viewer, queries, as_of="2021-06-01").json()["responses"]["x"]["results"]
    assert before[0]["id"] == XIAOMI and before[0]["match"]
    assert all(r["id"] != XIAOMI for r in after)


def test_match_takes_identifiers_and_several_queries(client: TestClient, viewer: dict[str, str]) -> None:
    queries = {
        "by_isin": {
            "schema": "Company",
            "properties": {"name": "Some Holding", "isinCode": ["KYG9830T1067"]},
        },
        "nobody": example("Rosewood Garden Supplies"),
    }
    body = match(client, viewer, queries, as_of="2021-02-01", limit=3).json()
    assert body["responses"]["by_isin"]["results"][0]["id"] == XIAOMI
    assert not any(r["match"] for r in body["responses"]["nobody"]["results"])
    assert all(len(r["results"]) <= 3 for r in body["responses"].values())


def test_match_threshold_decides_match_not_ranking(client: TestClient, viewer: dict[str, str]) -> None:
    queries = {"q": example("Xiaomi Corp")}
    low = match(client, viewer, queries, as_of="2021-02-01", threshold=0.1).json()["responses"]["q"][
        "results"
    ]
    high = match(client, viewer, queries, as_of="2021-02-01", threshold=0.99).json()["responses"]["q"][
        "results"
    ]
    assert [r["id"] for r in low] == [r["id"] for r in high]
    assert low[1]["match"] is True and high[0]["match"] is False


def test_match_filters_datasets_entities_and_schemas(client: TestClient, viewer: dict[str, str]) -> None:
    queries = {"q": example("Xiaomi Corp")}
    only_un = match(client, viewer, queries, as_of="2021-02-01", include_dataset="un_sc").json()
    assert all(r["datasets"] == ["un_sc"] for r in only_un["responses"]["q"]["results"])
    without = match(client, viewer, queries, as_of="2021-02-01", exclude_dataset=CCMC).json()
    assert all(CCMC not in r["datasets"] for r in without["responses"]["q"]["results"])
    skipped = match(client, viewer, queries, as_of="2021-02-01", exclude_entity_ids=XIAOMI).json()
    assert all(r["id"] != XIAOMI for r in skipped["responses"]["q"]["results"])
    people = match(client, viewer, queries, as_of="2021-02-01", exclude_schema="Company").json()
    assert all(r["schema"] != "Company" for r in people["responses"]["q"]["results"])
    nothing = client.post(
        f"/match/{CCMC}", headers=viewer, params={"exclude_dataset": CCMC}, json={"queries": queries}
    )
    assert nothing.json()["responses"]["q"]["results"] == []


def test_match_changed_since_keeps_entities_with_later_events(
    client: TestClient, viewer: dict[str, str]
) -> None:
    queries = {"q": example("Xiaomi Corp")}
    recent = match(client, viewer, queries, as_of="2021-02-01", changed_since="2021-05-01").json()
    assert [r["id"] for r in recent["responses"]["q"]["results"]][:1] == [XIAOMI]  # vacated 2021-05-25
    late = match(client, viewer, queries, as_of="2021-02-01", changed_since="2030-01-01").json()
    assert late["responses"]["q"]["results"] == []


def test_one_list_as_dataset(client: TestClient, viewer: dict[str, str]) -> None:
    response = client.post(
        f"/match/{CCMC}",
        headers=viewer,
        params={"as_of": "2021-02-01"},
        json={"queries": {"q": example("Xiaomi")}},
    )
    assert {d for r in response.json()["responses"]["q"]["results"] for d in r["datasets"]} == {CCMC}


def test_search_ranks_by_name(client: TestClient, viewer: dict[str, str]) -> None:
    response = client.get(
        "/search/default", headers=viewer, params={"q": "xiaomi", "as_of": "2021-02-01", "limit": 2}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["results"][0]["id"] == XIAOMI
    assert body["limit"] == 2 and len(body["results"]) <= 2 and body["total"]["value"] >= 1
    assert body["facets"]["datasets"]["values"][0]["name"] in (CCMC, "us_dod_1260h", "un_sc")


def test_entity_in_followthemoney_form(client: TestClient, viewer: dict[str, str]) -> None:
    body = client.get(f"/entities/{XIAOMI}", headers=viewer).json()
    assert body["schema"] == "Company" and body["caption"] == "Xiaomi Corporation"
    assert "KYG9830T1067" in body["properties"]["isinCode"]
    assert body["first_seen"] == "2021-01-14" and body["last_change"] == "2021-05-25"
    assert body["listing"]["state"] == "not_listed"
    listed = client.get(f"/entities/{XIAOMI}", headers=viewer, params={"as_of": "2021-02-01"}).json()
    assert listed["listing"] == {"state": "listed", "since": "2021-01-14"}


def test_algorithms_and_catalog(client: TestClient, viewer: dict[str, str]) -> None:
    algorithms = client.get("/algorithms", headers=viewer).json()
    assert algorithms["default"] == algorithms["best"] == "listwatch-v1"
    assert "name" in algorithms["algorithms"][0]["features"]
    catalog = client.get("/catalog", headers=viewer).json()
    names = {d["name"]: d for d in catalog["datasets"]}
    assert names["default"]["load"] and set(names["default"]["children"]) == {CCMC, "us_dod_1260h", "un_sc"}
    assert names[CCMC]["load"] and not names["eu_fsf"]["load"]
    assert set(catalog["current"]) >= {"default", "us", "un", CCMC}


def test_health_needs_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code in (200, 503)
    assert_error(client.get("/catalog"), 401, "API key")


# -- bad input: each answered with its JSON error ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "body", "status", "words"),
    [
        ("/match/nowhere", {}, {"queries": {"q": example("x")}}, 404, ["unknown list 'nowhere'", "default"]),
        (
            "/match/default",
            {"as_of": "2021-13-01"},
            {"queries": {"q": example("x")}},
            400,
            ["as_of", "bad date"],
        ),
        (
            "/match/default",
            {"as_of": "2021-02-01junk"},  # trailing text after the date was once cut off and accepted
            {"queries": {"q": example("x")}},
            400,
            ["as_of", "bad date"],
        ),
        (
            "/match/default",
            {"changed_since": "yesterday"},
            {"queries": {"q": example("x")}},
            400,
            ["changed_since"],
        ),
        (
            "/match/default",
            {"algorithm": "logic-v9"},
            {"queries": {"q": example("x")}},
            400,
            ["unknown algorithm"],
        ),
        ("/match/default", {"threshold": "2"}, {"queries": {"q": example("x")}}, 422, ["threshold"]),
        ("/match/default", {"limit": "0"}, {"queries": {"q": example("x")}}, 422, ["limit"]),
        ("/match/default", {}, {"queries": {}}, 400, ["no queries"]),
        (
            "/match/default",
            {},
            {"queries": {"q": example("x", schema="Planet")}},
            400,
            ["unknown schema 'Planet'"],
        ),
        ("/match/default", {}, {"queries": {"q": example("!!!")}}, 400, ["no letters or digits"]),
        (
            "/match/default",
            {},
            {"queries": {"q": {"schema": "Company", "properties": {"country": ["cn"]}}}},
            400,
            ["needs a name or an identifier"],
        ),
        (
            "/match/default",
            {},
            {"queries": {"q": example("Xiaomi", isinCode=["KYG9830T1068"])}},
            400,
            ["not a valid ISIN"],
        ),
        (
            "/match/default",
            {},
            {"queries": {"q": example("Xiaomi", country=["Atlantis"])}},
            400,
            ["unknown country"],
        ),
        (
            "/match/default",
            {},
            {"queries": {"q": {"properties": {"name": ["x"]}}}},
            422,
            ["schema", "Field required"],
        ),
        ("/match/default", {}, {"nothing": 1}, 422, ["queries"]),
    ],
)
def test_bad_match_requests_get_json_errors(
    client: TestClient,
    viewer: dict[str, str],
    path: str,
    params: dict[str, str],
    body: Any,
    status: int,
    words: list[str],
) -> None:
    assert_error(client.post(path, headers=viewer, params=params, json=body), status, *words)


def test_bad_json_gets_a_json_error(client: TestClient, viewer: dict[str, str]) -> None:
    response = client.post(
        "/match/default", headers={**viewer, "content-type": "application/json"}, content=b'{"queries": '
    )
    body = assert_error(response, 422, "JSON")
    assert body["errors"][0]["loc"].startswith("body")


def test_too_many_queries_is_refused(lists_db: tuple[str, dict[str, str], Path]) -> None:
    url, keys, tmp = lists_db
    with client_for(url, tmp, max_batch_queries=2) as small:
        queries = {f"q{i}": example("Xiaomi") for i in range(3)}
        assert_error(match(small, bearer(keys["viewer"]), queries), 400, "too many queries", "limit 2")


def test_oversize_body_is_refused_before_reading(lists_db: tuple[str, dict[str, str], Path]) -> None:
    url, keys, tmp = lists_db
    with client_for(url, tmp, max_body_bytes=1000) as small:
        queries = {"q": example("Xiaomi " * 200)}
        assert_error(match(small, bearer(keys["viewer"]), queries), 413, "exceeds the limit of 1000")


def test_unknown_entity_and_search_errors(client: TestClient, viewer: dict[str, str]) -> None:
    assert_error(client.get("/entities/no-such-entity", headers=viewer), 404, "no-such-entity")
    assert_error(client.get("/search/default", headers=viewer), 422, "q")
    assert_error(
        client.get("/search/default", headers=viewer, params={"q": "x", "schema": "Planet"}), 400, "Planet"
    )
    assert_error(client.get("/search/elsewhere", headers=viewer, params={"q": "x"}), 404, "elsewhere")
    assert_error(client.get("/nothing-here", headers=viewer), 404)


def test_match_query_parameters_as_fastapi_reads_them(client: TestClient, viewer: dict[str, str]) -> None:
    """/match reads its query string as one model (api.query_params): a repeated list parameter
    gives every value, a repeated scalar the last, unknown parameters are ignored, and a bad value
    is a 422 located at `query.<name>`."""
    queries = {"q": example("Xiaomi Corp")}
    both = match(client, viewer, queries, as_of="2021-02-01", include_dataset=[CCMC, "un_sc"]).json()
    datasets = {d for r in both["responses"]["q"]["results"] for d in r["datasets"]}
    assert CCMC in datasets and datasets <= {CCMC, "un_sc"}
    only_un = match(client, viewer, queries, as_of="2021-02-01", include_dataset="un_sc").json()
    assert CCMC not in {d for r in only_un["responses"]["q"]["results"] for d in r["datasets"]}
    last = client.post(
        "/match/default?limit=9&limit=2&as_of=2021-02-01&colour=blue",
        headers=viewer,
        json={"queries": queries},
    )
    assert last.status_code == 200, last.text
    assert last.json()["limit"] == 2 and len(last.json()["responses"]["q"]["results"]) == 2
    bad = assert_error(match(client, viewer, queries, limit="many", threshold="0"), 422, "query.limit")
    assert {e["loc"] for e in bad["errors"]} == {"query.limit", "query.threshold"}
    too_many = match(client, viewer, queries, exclude_entity_ids=[f"e{i}" for i in range(51)])
    assert_error(too_many, 422, "query.exclude_entity_ids")


def test_match_documents_its_query_parameters(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/match/{dataset}"]["post"]
    found = {p["name"]: p for p in operation["parameters"]}
    assert [p["in"] for p in operation["parameters"]] == ["path"] + ["query"] * (len(found) - 1)
    assert set(found) == {
        "dataset", "limit", "threshold", "cutoff", "algorithm", "include_dataset", "exclude_dataset",
        "exclude_schema", "changed_since", "exclude_entity_ids", "as_of",
    }  # fmt: skip
    assert found["limit"]["schema"] | {"minimum": 1, "maximum": 500, "default": 5} == found["limit"]["schema"]
    assert found["limit"]["description"] == "Results per query" and not found["limit"]["required"]
    assert found["cutoff"]["deprecated"] is True
    assert found["include_dataset"]["schema"]["type"] == "array"
    assert found["threshold"]["schema"]["exclusiveMinimum"] == 0.0


def test_unknown_include_or_exclude_dataset_is_a_404_naming_the_known_ones(
    client: TestClient, viewer: dict[str, str]
) -> None:
    queries = {"q": example("Xiaomi Corp")}
    for param in ("include_dataset", "exclude_dataset"):
        response = match(client, viewer, queries, **{param: "us_ofac_sdm"})
        body = assert_error(response, 404, "us_ofac_sdm", "us_ofac_sdn", "default")
        assert "results" not in body
        search = client.get("/search/default", headers=viewer, params={"q": "Xiaomi", param: "nowhere"})
        assert_error(search, 404, "nowhere")


def test_search_offset_past_the_end_is_an_empty_page(client: TestClient, viewer: dict[str, str]) -> None:
    params = {"q": "Xiaomi", "as_of": "2021-02-01", "limit": 10}
    first = client.get("/search/default", headers=viewer, params=params).json()
    total = first["total"]["value"]
    assert 0 < total < 500
    past = client.get("/search/default", headers=viewer, params={**params, "offset": 500})
    assert past.status_code == 200, past.text
    body = past.json()
    assert body["results"] == [] and body["offset"] == 500 and body["total"]["value"] == total
    too_far = client.get("/search/default", headers=viewer, params={**params, "offset": 501})
    assert_error(too_far, 422, "offset")


def test_match_accepts_yentes_weights_and_config_and_ignores_them(
    client: TestClient, viewer: dict[str, str]
) -> None:
    queries = {"q1": example("Xiaomi Corp", country=["cn"])}
    plain = client.post(
        "/match/default", headers=viewer, params={"as_of": "2021-02-01"}, json={"queries": queries}
    )
    weighted = client.post(
        "/match/default",
        headers=viewer,
        params={"as_of": "2021-02-01"},
        json={
            "queries": queries,
            "weights": {"name_literal_match": 2.0, "nonsense": 0.0},
            "config": {"x": 1},
        },
    )
    assert plain.status_code == weighted.status_code == 200, weighted.text
    assert weighted.json() == plain.json()
    bad = client.post(
        "/match/default", headers=viewer, json={"queries": queries, "weights": {"name_literal_match": "high"}}
    )
    assert_error(bad, 422, "weights.name_literal_match")


def test_match_reads_the_database_off_the_event_loop_and_once_for_changed_since(
    lists_db: tuple[str, dict[str, str], Path],
) -> None:
    url, keys, tmp = lists_db
    statements: list[tuple[str, bool]] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        statements.append((statement, on_loop))

    queries = {f"q{i}": example(name) for i, name in enumerate(("Xiaomi Corp", "Huawei", "COMAC", "Acme"))}
    with client_for(url, tmp / "reads", rate_per_minute=0, reload_every_s=3600, key_cache_s=0) as client:
        engine = client.app.state.store.engine  # type: ignore[attr-defined]
        requests = (
            {"as_of": "2021-02-01", "changed_since": "2021-01-01"},
            {"as_of": "2021-02-01", "include_dataset": CCMC, "exclude_dataset": "un_sc"},
            {"as_of": "2021-02-01"},
        )
        for warm in (False, True):  # the second time, the indexes are built: what requests cost
            if warm:
                event.listen(engine, "before_cursor_execute", record)
            try:
                for params in requests:
                    response = client.post("/match/default", headers=bearer(keys["viewer"]), params=params,
                                           json={"queries": queries})  # fmt: skip
                    assert response.status_code == 200, response.text
                for _ in range(3):
                    assert client.get("/catalog", headers=bearer(keys["viewer"])).status_code == 200
            finally:
                if warm:
                    event.remove(engine, "before_cursor_execute", record)
    assert statements and not [sql for sql, on_loop in statements if on_loop]
    events = [sql for sql, _ in statements if "FROM events" in sql]
    assert len(events) == 1  # changed_since: one query for the hits of all four queries
    snapshots = [sql for sql, _ in statements if "FROM snapshots" in sql and "snapshot_records" not in sql]
    assert snapshots == []  # read for the reload check (hourly here), then from memory
    assert len([sql for sql, _ in statements if "api_keys" in sql]) == 3 + 3  # key_cache_s=0: each request
