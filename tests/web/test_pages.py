"""Every web page through the real app (TestClient): sign-in, roles, escaping, CSRF, bad input,
and what each page shows on the real bundled lists."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from listwatch.api.app import create_app
from listwatch.screening.reviews import list_reviews
from listwatch.screening.runs import list_runs
from listwatch.settings import Settings
from listwatch.store import open_store
from tests.web.conftest import HK_HOLDINGS, PARTIES, PRICES, XIAOMI, WebEnv, client_for

HOSTILE = '<script>alert("x")</script>'
PAGES = (
    "/",
    "/?q=Xiaomi&as_of=2021-03-13",
    f"/entity/{XIAOMI}?as_of=2021-03-13",
    "/screen",
    "/runs",
    "/portfolio",
    "/alerts",
    "/alerts?all=true",
    "/impact",
)


def csrf_of(client: TestClient, path: str = "/") -> str:
    """The CSRF token a page puts in its forms (and in the cookie the client now holds)."""
    body = client.get(path).text
    found = re.search(r'name="csrf" value="([^"]+)"', body)
    assert found, body[:500]
    return found.group(1)


def screen_parties(client: TestClient, env: WebEnv) -> str:
    """Upload the parties file as an analyst and wait for the run; its label."""
    token = csrf_of(client, "/screen")
    with env.parties().open("rb") as handle:
        response = client.post(
            "/screen",
            data={"csrf": token, "as_of": "2021-01-15", "key_column": "id"},
            files={"file": ("parties.csv", handle, "text/csv")},
        )
    assert response.status_code == 303, response.text
    job = response.headers["location"]
    assert job.startswith("/screen/jobs/")
    assert client.get(job).status_code == 200  # while queued or running
    twin = "/api/v1/jobs/" + job.rsplit("/", 1)[1]  # the page's JSON twin, which its script polls
    deadline = time.monotonic() + 120
    while True:
        progress: dict[str, Any] = client.get(twin).json()
        if progress["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert progress["status"] == "done", progress
    assert progress["progress"]["total"] == progress["progress"]["done"] == 4
    assert "Done" in client.get(job).text
    return str(progress["result"]["run"])


# -- signing in ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_page_without_a_key_redirects_to_login(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2F")


def test_a_revoked_or_unknown_key_in_the_cookie_redirects_to_login(app: FastAPI) -> None:
    response = client_for(app, "lw_not-a-real-key").get("/runs")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fruns"


def test_login_sets_an_httponly_samesite_strict_cookie_and_returns(
    anonymous: TestClient, web_env: WebEnv
) -> None:
    client = TestClient(anonymous.app, follow_redirects=False)
    token = csrf_of(client, "/login")
    response = client.post("/login", data={"key": web_env.keys["viewer"], "next": "/runs", "csrf": token})
    assert response.status_code == 303 and response.headers["location"] == "/runs"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("listwatch_key="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/runs").status_code == 200


def test_login_with_a_wrong_key_is_refused_with_a_message(anonymous: TestClient) -> None:
    client = TestClient(anonymous.app, follow_redirects=False)
    token = csrf_of(client, "/login")
    response = client.post("/login", data={"key": "lw_wrong", "next": "/", "csrf": token})
    assert response.status_code == 401
    assert "unknown or revoked" in response.text
    assert "listwatch_key" not in response.headers.get("set-cookie", "")


def test_login_never_sends_you_to_another_site(anonymous: TestClient, web_env: WebEnv) -> None:
    client = TestClient(anonymous.app, follow_redirects=False)
    token = csrf_of(client, "/login")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post("/login", data={"key": web_env.keys["viewer"], "next": target, "csrf": token})
        assert response.headers["location"] == "/"


def test_login_without_the_csrf_token_is_refused(anonymous: TestClient, web_env: WebEnv) -> None:
    client = TestClient(anonymous.app, follow_redirects=False)
    response = client.post("/login", data={"key": web_env.keys["viewer"], "next": "/"})
    assert response.status_code == 403
    assert "listwatch_key" not in response.headers.get("set-cookie", "")


def test_logout_removes_the_cookie(app: FastAPI, web_env: WebEnv) -> None:
    client = client_for(app, web_env.keys["viewer"])
    token = csrf_of(client)
    response = client.post("/logout", data={"csrf": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    cleared = next(h for h in response.headers.get_list("set-cookie") if h.startswith("listwatch_key="))
    assert "Max-Age=0" in cleared


# -- every page ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers_a_viewer_with_security_headers(viewer: TestClient, path: str) -> None:
    response = viewer.get(path)
    assert response.status_code == 200, response.text[:1000]
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert "//cdn" not in response.text and "https://fonts" not in response.text  # works offline


def test_static_files_are_served_by_the_app(anonymous: TestClient) -> None:
    assert anonymous.get("/static/app.css").status_code == 200
    assert "data-search-box" in anonymous.get("/static/app.js").text


def test_a_hostile_query_is_escaped_everywhere(viewer: TestClient) -> None:
    for path in ("/", "/impact"):
        response = viewer.get(path, params={"q": HOSTILE, "entity": HOSTILE, "list": "us_dod_1237_ccmc"})
        assert HOSTILE not in response.text
    body = viewer.get("/", params={"q": HOSTILE}).text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body


def test_a_hostile_entity_id_is_escaped_in_the_404_page(viewer: TestClient) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    response = viewer.get("/entity/" + hostile)
    assert response.status_code == 404
    assert hostile not in response.text and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in response.text


def test_a_bad_date_is_a_clear_error(viewer: TestClient) -> None:
    response = viewer.get("/", params={"q": "Xiaomi", "as_of": "2021-13-45"})
    assert response.status_code == 400
    assert "as of: bad date &#39;2021-13-45&#39;, expected YYYY-MM-DD" in response.text


def test_an_unknown_name_says_so_and_suggests(viewer: TestClient) -> None:
    response = viewer.get("/", params={"q": "Xiaomi Corporatio", "as_of": "2021-03-13"})
    assert response.status_code == 200
    assert "No entry has exactly this name" in response.text
    assert "Xiaomi Corporation" in response.text  # among the similar names


def test_an_unknown_entity_is_a_404_page(viewer: TestClient) -> None:
    response = viewer.get("/entity/us-dod-1237-ccmc-no-such-company")
    assert response.status_code == 404 and "No such entity" in response.text


# -- search and the entity page --------------------------------------------------------------------


def test_search_finds_xiaomi_suspended_on_2021_03_13(viewer: TestClient) -> None:
    body = viewer.get("/", params={"q": "Xiaomi", "as_of": "2021-03-13"}).text
    assert f'href="/entity/{XIAOMI}?as_of=2021-03-13"' in body
    assert "state-suspended" in body and "enjoined on 2021-03-12" in body


def test_search_across_scripts_finds_xiaomi(viewer: TestClient) -> None:
    body = viewer.get("/", params={"q": "小米集团", "as_of": "2021-02-01"}).text
    assert XIAOMI in body


def test_entity_page_shows_the_2021_timeline_with_sources(viewer: TestClient) -> None:
    body = viewer.get(f"/entity/{XIAOMI}", params={"as_of": "2021-03-13"}).text
    timeline = body[body.index('id="timeline"') :]
    listed = timeline.index('datetime="2021-01-14"')
    enjoined = timeline.index('datetime="2021-03-12"')
    vacated = timeline.index('datetime="2021-05-25"')
    assert listed < enjoined < vacated
    assert "kind-listed" in timeline and "kind-enjoined" in timeline and "kind-vacated" in timeline
    assert "Source: DoD press release 2021-01-14" in timeline  # each event with its citation
    assert re.search(r'Law: <a href="https://www.federalregister.gov/[^"]+"', timeline)  # each effect its law
    assert "purchase ban" in body  # the effects, with their law


def test_entity_page_draws_the_price_chart_with_the_events(viewer: TestClient) -> None:
    body = viewer.get(f"/entity/{XIAOMI}").text
    chart = body[body.index('id="prices-h"') :]
    assert "<svg" in chart and "1810.HK" in chart and "listed 2021-01-14" in chart


def test_price_files_come_from_the_environment_through_settings(
    web_env: WebEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LISTWATCH_PRICES", str(PRICES / "hk"))
    monkeypatch.setenv("LISTWATCH_MARKET", f"HK={PRICES / 'index' / 'HSI.csv'}")
    settings = Settings.from_env(web_env.db_url)
    assert settings.prices == (PRICES / "hk",) and settings.markets[0].startswith("HK=")
    viewer = client_for(
        create_app(settings, rate_per_minute=0, cache_dir=web_env.folder / "cache"), web_env.keys["viewer"]
    )
    assert "1810.HK" in viewer.get(f"/entity/{XIAOMI}").text.split('id="prices-h"')[1]

    monkeypatch.delenv("LISTWATCH_PRICES")
    bare = Settings.from_env(web_env.db_url)
    viewer = client_for(
        create_app(bare, rate_per_minute=0, cache_dir=web_env.folder / "cache"), web_env.keys["viewer"]
    )
    assert "No price files are configured (LISTWATCH_PRICES)" in viewer.get(f"/entity/{XIAOMI}").text
    study = viewer.get("/impact", params={"list": "us_dod_1237_ccmc", "entity": "Xiaomi"})
    assert study.status_code == 400 and "no price files are configured" in study.text


# -- screening, reviews, export --------------------------------------------------------------------


def test_viewer_cannot_screen_or_review(viewer: TestClient, analyst: TestClient, web_env: WebEnv) -> None:
    run = screen_parties(analyst, web_env)
    page = viewer.get(f"/runs/{run}").text
    assert "review-form" not in page and "True match" not in page
    assert "needs the analyst role" in page
    token = csrf_of(viewer)
    refused = viewer.post(
        f"/runs/{run}/review", data={"csrf": token, "hit": "1", "decision": "true_match", "comment": "x"}
    )
    assert refused.status_code == 403 and "needs the analyst role" in refused.text
    with web_env.parties().open("rb") as handle:
        upload = viewer.post("/screen", data={"csrf": token}, files={"file": ("p.csv", handle, "text/csv")})
    assert upload.status_code == 403
    assert "Screen" in viewer.get("/screen").text and 'id="screen-form"' not in viewer.get("/screen").text


def test_analyst_screens_a_file_reviews_a_hit_and_exports(analyst: TestClient, web_env: WebEnv) -> None:
    run = screen_parties(analyst, web_env)
    page = analyst.get(f"/runs/{run}").text
    assert "Xiaomi Corporation" in page and "review-form" in page
    hit = re.search(r'id="hit-(\d+)"', page)
    assert hit
    token = csrf_of(analyst, f"/runs/{run}")
    response = analyst.post(
        f"/runs/{run}/review",
        data={"csrf": token, "hit": hit.group(1), "decision": "true_match", "comment": "same LEI"},
    )
    assert response.status_code == 303
    after = analyst.get(response.headers["location"]).text
    assert "review-confirmed" in after and "“same LEI”" in after and "web:analyst-key" in after
    csv_export = analyst.get(f"/runs/{run}/export.csv")
    assert csv_export.status_code == 200 and "Xiaomi Corporation" in csv_export.text
    assert f'filename="{run}.csv"' in csv_export.headers["content-disposition"]
    assert analyst.get(f"/runs/{run}/export.json").json()["run"] == run
    assert "<table" in analyst.get(f"/runs/{run}/export.html").text


def test_a_review_without_a_comment_is_refused_and_nothing_is_stored(
    analyst: TestClient, web_env: WebEnv
) -> None:
    run = screen_parties(analyst, web_env)
    store = open_store(web_env.db_url)
    before = len(list_reviews(store))
    token = csrf_of(analyst, f"/runs/{run}")
    response = analyst.post(
        f"/runs/{run}/review", data={"csrf": token, "hit": "1", "decision": "true_match", "comment": " "}
    )
    assert response.status_code == 400 and "say why" in response.text
    assert len(list_reviews(store)) == before
    store.close()


def test_a_post_without_the_csrf_token_is_refused(analyst: TestClient, web_env: WebEnv) -> None:
    run = screen_parties(analyst, web_env)
    store = open_store(web_env.db_url)
    before = len(list_reviews(store))
    for token in ("", "forged"):
        response = analyst.post(
            f"/runs/{run}/review", data={"csrf": token, "hit": "1", "decision": "true_match", "comment": "x"}
        )
        assert response.status_code == 403
    assert len(list_reviews(store)) == before
    store.close()


def test_an_unsupported_upload_is_refused_and_no_run_is_stored(analyst: TestClient, web_env: WebEnv) -> None:
    store = open_store(web_env.db_url)
    before = len(list_runs(store, limit=1000))
    token = csrf_of(analyst, "/screen")
    response = analyst.post(
        "/screen", data={"csrf": token}, files={"file": ("parties.exe", PARTIES.encode(), "text/csv")}
    )
    assert response.status_code == 415 and "unsupported file type" in response.text
    empty = analyst.post("/screen", data={"csrf": token}, files={"file": ("empty.csv", b"", "text/csv")})
    assert empty.status_code == 400 and "is empty" in empty.text
    assert len(list_runs(store, limit=1000)) == before
    store.close()


def test_a_file_without_a_name_column_is_refused_with_the_reason(analyst: TestClient) -> None:
    token = csrf_of(analyst, "/screen")
    response = analyst.post(
        "/screen", data={"csrf": token}, files={"file": ("bad.csv", b"foo,bar\n1,2\n", "text/csv")}
    )
    assert response.status_code == 422
    assert "bad.csv" in response.text and "name" in response.text
    assert "/tmp" not in response.text  # the client's file name, never the server's folder


def test_an_unknown_run_and_export_format_are_clear_errors(viewer: TestClient) -> None:
    assert viewer.get("/runs/run-9999").status_code == 404
    bad = viewer.get("/runs/run-0001/export.exe")
    assert bad.status_code == 400 and "unsupported export" in bad.text
    assert viewer.get("/screen/jobs/nope").status_code == 404
    assert "No such job" in viewer.get("/screen/jobs/nope").text


# -- portfolio, alerts, impact ---------------------------------------------------------------------


def upload_holdings(client: TestClient, **fields: str) -> Any:
    token = csrf_of(client, "/portfolio")
    return client.post(
        "/portfolio",
        data={"csrf": token, **fields},
        files={"file": ("hk_ccmc_holdings.csv", HK_HOLDINGS.read_bytes(), "text/csv")},
    )


def test_portfolio_on_a_day_shows_the_restricted_holdings(analyst: TestClient) -> None:
    response = upload_holdings(analyst, as_of="2021-03-01")
    assert response.status_code == 200
    body = response.text
    assert "8 restricted" in body
    assert body.count('data-restricted="yes"') == 8
    xiaomi_row = body[body.index("1810.HK") :]
    assert "purchase ban starts 2021-03-15" in xiaomi_row[: xiaomi_row.index("</tr>")]


def test_portfolio_timeline_draws_a_chart_per_holding(analyst: TestClient) -> None:
    body = upload_holdings(analyst, start="2020-06-01", end="2021-12-31").text
    assert "9 restricted" in body and body.count("<svg") >= 9
    assert "enjoined 2021-03-12" in body


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"as_of": "2021-03-01", "start": "2020-01-01", "end": "2021-01-01"}, "not both"),
        ({"start": "2020-01-01"}, "go together"),
        ({"start": "2021-01-01", "end": "2020-01-01"}, "before it starts"),
        ({"as_of": "yesterday"}, "bad date"),
    ],
)
def test_portfolio_bad_dates_are_clear_errors(
    analyst: TestClient, fields: dict[str, str], message: str
) -> None:
    response = upload_holdings(analyst, **fields)
    assert response.status_code == 400 and message in response.text


def test_portfolio_with_more_holdings_than_a_page_takes_is_refused(web_env: WebEnv) -> None:
    app = create_app(
        Settings(db_url=web_env.db_url),
        rate_per_minute=0,
        cache_dir=web_env.folder / "cache",
        max_batch_rows=3,
    )
    response = upload_holdings(client_for(app, web_env.keys["analyst"]), as_of="2021-03-01")
    assert response.status_code == 400
    assert "hk_ccmc_holdings.csv: 11 holdings; a page takes at most 3" in response.text


def test_portfolio_needs_the_analyst_role_like_its_json_twin(viewer: TestClient) -> None:
    assert 'id="portfolio-form"' not in viewer.get("/portfolio").text
    assert upload_holdings(viewer, as_of="2021-03-01").status_code == 403


def test_portfolio_file_without_columns_is_a_clear_error(analyst: TestClient) -> None:
    token = csrf_of(analyst, "/portfolio")
    response = analyst.post(
        "/portfolio", data={"csrf": token}, files={"file": ("h.csv", b"foo,bar\n1,2\n", "text/csv")}
    )
    assert response.status_code == 422 and "no isin, ticker or name column" in response.text


def test_alerts_list_the_xiaomi_changes_and_analysts_acknowledge(
    app: FastAPI, viewer: TestClient, web_env: WebEnv
) -> None:
    body = viewer.get("/alerts").text
    assert "new_hit" in body.replace("new hit", "new_hit") and "Xiaomi" in body
    ids = re.findall(r'value="(\d+)" id="alert-', body)
    assert not ids  # a viewer gets no checkboxes
    analyst = client_for(app, web_env.keys["analyst"])
    page = analyst.get("/alerts").text
    ids = re.findall(r'value="(\d+)" id="alert-', page)
    assert ids
    token = csrf_of(analyst, "/alerts")
    refused = viewer.post("/alerts/ack", data={"csrf": csrf_of(viewer, "/alerts"), "alert": ids[0]})
    assert refused.status_code == 403
    done = analyst.post("/alerts/ack", data={"csrf": token, "alert": ids[0]})
    assert done.status_code == 303
    assert f'value="{ids[0]}" id="alert-' not in analyst.get("/alerts").text
    missing = analyst.post("/alerts/ack", data={"csrf": token, "alert": "999999"})
    assert missing.status_code == 400 and "no alert #999999" in missing.text


def test_impact_page_runs_the_xiaomi_study_with_its_car_chart(viewer: TestClient) -> None:
    params = {"list": "us_dod_1237_ccmc", "entity": "Xiaomi", "after_close": "true"}
    body = viewer.get("/impact", params=params).text
    study = body[body.index('id="study"') :]
    assert "<svg" in study and "2021-01-15" in study  # day 0 of the listing, announced after the close
    assert "CAR [-1,1]" in study


def test_impact_bad_inputs_are_clear_errors(viewer: TestClient) -> None:
    unknown = viewer.get("/impact", params={"list": "no_such_list"})
    assert unknown.status_code >= 400 and "no_such_list" in unknown.text
    bad = viewer.get("/impact", params={"list": "us_dod_1237_ccmc", "model": "astrology"})
    assert bad.status_code == 422 and "unknown model" in bad.text


@pytest.mark.parametrize(
    "path", ["/?q=Xiaomi&as_of=2021-03-13", f"/entity/{XIAOMI}?as_of=2021-03-13", "/runs", "/alerts"]
)
def test_pages_link_their_json_twins(viewer: TestClient, path: str) -> None:
    footer = viewer.get(path).text.split('<footer class="foot">')[1]
    links = re.findall(r'href="(/api/v1/[^"]+)"', footer)
    assert links
    for link in links:
        response = viewer.get(link.replace("&amp;", "&"))
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
