"""listwatch's own routes on the bundled DoD and UN lists: status, history, effect, diffs, screening
jobs, runs, reviews, certificates, portfolios, alerts and event studies, and their bad inputs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from listwatch.store import open_store
from listwatch.store.tables import api_audit
from tests.api.support import (
    CCMC,
    XIAOMI,
    TestClient,
    assert_error,
    bearer,
    client_for,
    load_lists,
    make_keys,
)
from tests.screening.support import PARTIES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HOLDINGS = EXAMPLES / "portfolios" / "hk_ccmc_holdings.csv"
PRICES = EXAMPLES / "prices"

Keys = dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, module_db_url: str
) -> Iterator[tuple[TestClient, Keys, str]]:
    tmp = tmp_path_factory.mktemp("api-listwatch")
    url = module_db_url  # SQLite, then PostgreSQL (tests/conftest.py)
    store = open_store(url)
    load_lists(store)
    keys = {role: bearer(secret) for role, secret in make_keys(store).items()}
    store.close()
    with client_for(url, tmp, rate_per_minute=0, max_batch_rows=100) as client:
        yield client, keys, url


def wait_for(client: TestClient, headers: dict[str, str], job_url: str) -> dict[str, Any]:
    for _ in range(600):
        body: dict[str, Any] = client.get(job_url, headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{job_url} did not finish")


def screen(client: TestClient, headers: dict[str, str], content: str = PARTIES, **form: Any) -> Any:
    files = {"file": ("parties.csv", content.encode(), "text/csv")}
    return client.post(
        "/api/v1/screenings", headers=headers, files=files, data={"as_of": "2021-02-01", **form}
    )


def test_status_history_and_effect_of_xiaomi(env: tuple[TestClient, Keys, str]) -> None:
    client, keys, _ = env
    status = client.get(
        "/api/v1/status", headers=keys["viewer"], params={"q": "Xiaomi", "as_of": "2021-03-13"}
    ).json()
    xiaomi = next(s for s in status["standings"] if s["list"] == CCMC)
    assert xiaomi["state"] == "suspended"
    history = client.get("/api/v1/history", headers=keys["viewer"], params={"q": "isin:KYG9830T1067"}).json()
    kinds = [e["kind"] for e in history["entities"][0]["events"]]
    assert kinds[:3] == ["listed", "enjoined", "vacated"]
    effect = client.get(
        "/api/v1/effect", headers=keys["viewer"], params={"q": "Xiaomi", "as_of": "2021-03-11"}
    ).json()
    assert any(e["state"] == "pending" for e in effect["effects"])


def test_lists_and_diff(env: tuple[TestClient, Keys, str]) -> None:
    client, keys, _ = env
    lists = client.get("/api/v1/lists", headers=keys["viewer"]).json()
    assert {item["id"] for item in lists} == {CCMC, "us_dod_1260h", "un_sc"}
    diff = client.get(
        f"/api/v1/lists/{CCMC}/diff",
        headers=keys["viewer"],
        params={"from": "2021-01-01", "to": "2021-02-01"},
    )
    assert diff.status_code == 200, diff.text
    assert XIAOMI in {row["id"] for row in diff.json()["listed"]}


@pytest.mark.parametrize(
    ("path", "params", "status", "words"),
    [
        ("/api/v1/status", {"q": "Acme Bakery Ltd"}, 404, ["no listed entity matches 'Acme Bakery Ltd'"]),
        ("/api/v1/status", {"q": "Xiaomi", "as_of": "01/02/2021"}, 400, ["as_of", "bad date"]),
        ("/api/v1/status", {}, 422, ["q"]),
        ("/api/v1/effect", {"q": "Xiaomi", "as_of": "2021-02-30"}, 400, ["bad date"]),
        ("/api/v1/lists/nowhere/diff", {}, 404, ["nowhere"]),
        ("/api/v1/runs/run-9999", {}, 404, ["run-9999"]),
        ("/api/v1/runs/banana", {}, 404, ["banana"]),
        ("/api/v1/runs/run-99999999999999999999", {}, 422, ["run", "16 characters"]),
        ("/api/v1/jobs/0000", {}, 404, ["no job"]),
        ("/api/v1/alerts", {"watch": "nobody"}, 404, ["no watch named 'nobody'"]),
        ("/api/v1/impact/none/car.svg", {}, 404, ["no study"]),
    ],
)
def test_bad_questions_get_json_errors(
    env: tuple[TestClient, Keys, str], path: str, params: dict[str, str], status: int, words: list[str]
) -> None:
    client, keys, _ = env
    assert_error(client.get(path, headers=keys["viewer"], params=params), status, *words)


def test_screening_job_stores_a_run_reviewed_and_certified(
    env: tuple[TestClient, Keys, str], tmp_path: Path
) -> None:
    client, keys, url = env
    accepted = screen(client, keys["analyst"], key_column="id")
    assert accepted.status_code == 202, accepted.text
    job = wait_for(client, keys["viewer"], accepted.headers["location"])
    assert job["status"] == "done", job
    assert job["progress"] == {"done": 5, "total": 5, "fraction": 1.0}
    run = job["result"]["run"]
    shown = client.get(f"/api/v1/runs/{run}", headers=keys["viewer"]).json()
    assert shown["analyst"] == "api:analyst-key"
    hits = [(row["row"], hit) for row in shown["rows"] for hit in row["hits"]]
    assert any(hit["id"] == XIAOMI for _, hit in hits)
    number = next(hit["hit"] for _, hit in hits if hit["id"] == XIAOMI)
    csv = client.get(f"/api/v1/runs/{run}/results.csv", headers=keys["viewer"])
    assert csv.status_code == 200 and "Xiaomi" in csv.text
    assert client.get(f"/jobs/{job['job']}/report.html", headers=keys["viewer"]).status_code == 404
    html = client.get(f"/api/v1/jobs/{job['job']}/report.html", headers=keys["viewer"])
    assert html.status_code == 200 and "<html" in html.text.lower()

    reviewed = client.post(
        f"/api/v1/runs/{run}/reviews",
        headers=keys["analyst"],
        json={"hit": str(number), "decision": "true_match", "comment": "same ISIN"},
    )
    assert reviewed.status_code == 201, reviewed.text
    assert reviewed.json()["analyst"] == "api:analyst-key"
    assert any(r["run"] == run for r in client.get("/api/v1/reviews", headers=keys["viewer"]).json())

    certificate = client.get(f"/api/v1/runs/{run}/certificate", headers=keys["analyst"])
    assert certificate.status_code == 200, certificate.text
    verified = client.post(
        "/api/v1/certificates/verify",
        headers=keys["viewer"],
        json=certificate.json(),
        params={"pinned": "true"},
    )
    assert verified.json()["valid"] is True and verified.json()["pinned"] is True
    forged = certificate.json()
    forged["payload"]["outcome"] = "no hits"
    assert_error(
        client.post("/api/v1/certificates/verify", headers=keys["viewer"], json=forged), 422, "not valid"
    )
    assert client.get("/api/v1/certificates/public-key", headers=keys["viewer"]).text.startswith(
        "-----BEGIN PUBLIC KEY"
    )

    rerun = client.post(f"/api/v1/runs/{run}/rerun", headers=keys["analyst"])
    assert rerun.status_code == 202
    again = wait_for(client, keys["viewer"], rerun.headers["location"])
    assert again["status"] == "done" and again["result"]["identical"] is True

    store = open_store(url)
    with store.engine.connect() as conn:
        audited = {(r.key_name, r.path, r.status) for r in conn.execute(select(api_audit))}
    store.close()
    assert ("analyst-key", "/api/v1/screenings", 202) in audited
    assert ("analyst-key", f"/api/v1/runs/{run}/reviews", 201) in audited


def test_viewer_cannot_screen_review_or_sign(env: tuple[TestClient, Keys, str]) -> None:
    client, keys, _ = env
    assert_error(screen(client, keys["viewer"]), 403, "analyst role", "viewer")
    assert_error(
        client.post(
            "/api/v1/runs/run-1/reviews",
            headers=keys["viewer"],
            json={"hit": "1", "decision": "true_match", "comment": "x"},
        ),
        403,
    )
    assert_error(client.get("/api/v1/runs/run-1/certificate", headers=keys["viewer"]), 403)
    assert_error(client.post("/api/v1/alerts/ack", headers=keys["viewer"], json={"ids": [1]}), 403)
    assert_error(client.get("/api/v1/keys", headers=keys["analyst"]), 403, "admin")


@pytest.mark.parametrize(
    ("content", "filename", "form", "status", "words"),
    [
        ("id,name\n", "parties.exe", {}, 415, ["unsupported file type '.exe'"]),
        ("", "parties.csv", {}, 400, ["empty"]),
        ("id,company_code\nA1,X\n", "parties.csv", {}, 422, ["parties.csv:1", "no name column"]),
        (PARTIES, "parties.csv", {"name_column": "nom"}, 422, ["no column 'nom'"]),
        (PARTIES, "parties.csv", {"id_columns": "colour"}, 400, ["names no identifier type"]),
        (PARTIES, "parties.csv", {"as_of": "tomorrow"}, 400, ["as_of", "bad date"]),
        (PARTIES, "parties.csv", {"lists": "nowhere"}, 404, ["unknown list 'nowhere'"]),
        (PARTIES, "parties.csv", {"threshold": "0"}, 422, ["threshold"]),
        (
            "id,name\n" + "".join(f"{i},Name {i}\n" for i in range(101)),
            "parties.csv",
            {},
            400,
            ["101 rows", "at most 100"],
        ),
    ],
)
def test_bad_uploads_get_json_errors(
    env: tuple[TestClient, Keys, str],
    content: str,
    filename: str,
    form: dict[str, str],
    status: int,
    words: list[str],
) -> None:
    client, keys, _ = env
    files = {"file": (filename, content.encode(), "text/csv")}
    response = client.post("/api/v1/screenings", headers=keys["analyst"], files=files, data=form)
    body = assert_error(response, status, *words)
    assert "/tmp" not in body["detail"] and "jobs/" not in body["detail"]


def test_oversize_upload_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'listwatch.db'}"
    store = open_store(url)
    analyst = bearer(make_keys(store)["analyst"])
    store.close()
    with client_for(url, tmp_path, max_upload_bytes=100) as client:
        files = {"file": ("parties.csv", ("id,name\n" + "1,x\n" * 100_000).encode(), "text/csv")}
        assert_error(
            client.post("/api/v1/screenings", headers=analyst, files=files), 413, "exceeds the limit"
        )


def test_review_errors(env: tuple[TestClient, Keys, str]) -> None:
    client, keys, _ = env
    job = wait_for(client, keys["viewer"], screen(client, keys["analyst"]).headers["location"])
    run = job["result"]["run"]
    bad = {"hit": "1", "decision": "maybe", "comment": "x"}
    assert_error(client.post(f"/api/v1/runs/{run}/reviews", headers=keys["analyst"], json=bad), 400, "maybe")
    missing = {"hit": "999", "decision": "false_positive", "comment": "x"}
    assert_error(
        client.post(f"/api/v1/runs/{run}/reviews", headers=keys["analyst"], json=missing), 404, "999"
    )
    assert_error(
        client.post(f"/api/v1/runs/{run}/reviews", headers=keys["analyst"], json={"hit": "1"}),
        422,
        "decision",
    )


def test_portfolio_job_on_a_day_and_over_a_range(env: tuple[TestClient, Keys, str]) -> None:
    client, keys, _ = env
    files = {"file": (HOLDINGS.name, HOLDINGS.read_bytes(), "text/csv")}
    day = client.post(
        "/api/v1/portfolios", headers=keys["analyst"], files=files, data={"as_of": "2021-03-11"}
    )
    assert day.status_code == 202, day.text
    result = wait_for(client, keys["viewer"], day.headers["location"])
    assert result["status"] == "done", result
    assert result["result"]["summary"]["restricted"] >= 1
    files = {"file": (HOLDINGS.name, HOLDINGS.read_bytes(), "text/csv")}
    span = client.post(
        "/api/v1/portfolios",
        headers=keys["analyst"],
        files=files,
        data={"from": "2020-06-01", "to": "2021-12-31"},
    )
    timeline = wait_for(client, keys["viewer"], span.headers["location"])
    assert timeline["status"] == "done", timeline
    report = client.get(f"/api/v1/jobs/{timeline['job']}/report.html", headers=keys["viewer"])
    assert report.status_code == 200 and "<svg" in report.text
    assert_error(client.get(f"/api/v1/jobs/{timeline['job']}/report.pdf", headers=keys["viewer"]), 400, "pdf")
    both = client.post(
        "/api/v1/portfolios",
        headers=keys["analyst"],
        files=files,
        data={"as_of": "2021-01-01", "from": "2021-01-01"},
    )
    assert_error(both, 400, "not both")


def test_alerts_list_and_acknowledge_errors(env: tuple[TestClient, Keys, str]) -> None:
    client, keys, _ = env
    assert client.get("/api/v1/alerts", headers=keys["viewer"]).json() == []
    assert client.get("/api/v1/watches", headers=keys["viewer"]).json() == []
    assert_error(
        client.post("/api/v1/alerts/ack", headers=keys["analyst"], json={"ids": [42]}), 400, "no alert #42"
    )
    assert_error(client.post("/api/v1/alerts/ack", headers=keys["analyst"], json={"ids": []}), 422, "ids")
    huge = {"ids": [10**20]}  # found by the schema fuzzer: was a 500 from the database driver
    assert_error(client.post("/api/v1/alerts/ack", headers=keys["analyst"], json=huge), 422, "ids.0")
    assert_error(
        client.get("/api/v1/alerts", headers=keys["viewer"], params={"since": "last week"}), 400, "since"
    )


def test_event_study_of_xiaomi_with_plots(env: tuple[TestClient, Keys, str]) -> None:
    client, keys, _ = env
    files = [
        ("prices", ("1810.HK.csv", (PRICES / "hk" / "1810.HK.csv").read_bytes(), "text/csv")),
        ("market", ("HSI.csv", (PRICES / "index" / "HSI.csv").read_bytes(), "text/csv")),
    ]
    form = {
        "list_id": CCMC,
        "entity": "Xiaomi",
        "market_code": "HK",
        "after_close": "true",
        "estimation_end": "2021-01-14",
    }
    response = client.post("/api/v1/impact", headers=keys["analyst"], files=files, data=form)
    assert response.status_code == 200, response.text
    study = response.json()
    assert study["valid_events"] >= 2
    day0 = sorted(e["ar_day0"] for e in study["event_results"] if e.get("ar_day0") is not None)
    assert day0[0] == pytest.approx(-0.111, abs=0.005)  # listed 2021-01-14: AR -11.1% (README)
    svg = client.get(f"/api/v1/impact/{study['study']}/car.svg", headers=keys["viewer"])
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    assert (
        "<html"
        in client.get(f"/api/v1/impact/{study['study']}/report.html", headers=keys["viewer"]).text.lower()
    )
    no_events = client.post("/api/v1/impact", headers=keys["analyst"], files=files[:1], data={})
    assert_error(no_events, 400, "list_id")
    bad_model = client.post(
        "/api/v1/impact",
        headers=keys["analyst"],
        files=files[:1],
        data={"list_id": CCMC, "model": "astrology"},
    )
    assert_error(bad_model, bad_model.status_code, "astrology")


def test_portfolio_refuses_a_backward_range_a_half_range_and_too_many_rows(
    env: tuple[TestClient, Keys, str],
) -> None:
    client, keys, _ = env
    before = [job["job"] for job in client.get("/api/v1/jobs", headers=keys["viewer"]).json()]

    def post(content: bytes, **form: str) -> Any:
        files = {"file": (HOLDINGS.name, content, "text/csv")}
        return client.post("/api/v1/portfolios", headers=keys["analyst"], files=files, data=form)

    holdings = HOLDINGS.read_bytes()
    assert_error(
        post(holdings, **{"from": "2021-12-31", "to": "2020-06-01"}),
        400,
        "from 2021-12-31 is after to 2020-06-01",
    )
    assert_error(post(holdings, **{"from": "2021-01-01"}), 400, "from and to go together")
    assert_error(post(holdings, **{"from": "2021-01-01", "to": "soon"}), 400, "to: bad date 'soon'")
    rows = "".join(f"H{i},,,Holding Number {i} Limited,100\n" for i in range(101))  # env: max 100 rows
    too_many = post(f"id,ticker,isin,name,quantity\n{rows}".encode(), as_of="2021-03-11")
    assert_error(too_many, 400, f"{HOLDINGS.name}: 101 holdings; a job takes at most 100")
    after = [job["job"] for job in client.get("/api/v1/jobs", headers=keys["viewer"]).json()]
    assert after == before  # no job was started for any of them
