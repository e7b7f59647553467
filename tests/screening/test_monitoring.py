"""Monitoring: watched files re-screened after ingests, alerts for what changed, webhooks.

Real bundled lists (the DoD 1237 designations, OFAC SDN 2019-01 and 2021-07), a real SQLite file,
real HTTP servers on localhost for the webhooks.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Self

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from listwatch.errors import InvalidQuery, ParseError, UnknownWatch
from listwatch.registry.snapshots import ingest
from listwatch.screening.monitoring import (
    WatchOptions,
    add_watch,
    evaluate_watches,
    list_alerts,
    list_watches,
)
from listwatch.screening.webhooks import RetryPolicy, deliver_webhooks, mask_url
from listwatch.store import Store
from listwatch.store.tables import metadata, watch_states, webhook_deliveries
from tests.conftest import CCMC_1237, SDN_2019, SDN_2021
from tests.screening.support import CCMC, CHINA_MOBILE_GROUP, XIAOMI, cli
from tests.support import store_state

D = date.fromisoformat
PARTIES = "id,name\nA1,Xiaomi Corporation\nA2,Acme Bakery Ltd\nA3,Rosewood Garden Supplies\n"
BANCO = "BANCO DE VENEZUELA SA BANCO UNIVERSAL"  # on the SDN list of 2021-07, not on that of 2019-01


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"COLUMNS": "250", "XDG_CACHE_HOME": str(tmp_path / "cache"), "LISTWATCH_ANALYST": "ana"}


@pytest.fixture
def loaded(store: Store) -> Store:
    ingest(store, [CCMC_1237], list_id=CCMC)
    return store


@pytest.fixture
def parties(tmp_path: Path) -> Path:
    path = tmp_path / "parties.csv"
    path.write_text(PARTIES, encoding="utf-8")
    return path


def watch(store: Store, path: Path, name: str = "parties", **options: Any) -> None:
    settings = {"key_column": "id", "lists": (CCMC,), **options}
    add_watch(store, path, name=name, created_by="ana", options=WatchOptions(**settings))


# -- the schema -----------------------------------------------------------------------------------


def test_migrations_create_exactly_the_tables_the_code_declares(store: Store) -> None:
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


# -- alerts from a dated list ---------------------------------------------------------------------


def test_xiaomi_alerts_follow_listing_injunction_and_vacatur(loaded: Store, parties: Path) -> None:
    watch(loaded, parties, as_of="2021-01-10")
    assert evaluate_watches(loaded) == []  # the watch's own day: before the listing

    listed = evaluate_watches(loaded, as_of=D("2021-01-15"))
    assert [a.kind for a in listed] == ["new_hit"] + ["effect_pending"] * 3
    assert {a.subject for a in listed} == {"A1"} and {a.entity_id for a in listed} == {XIAOMI}
    assert "listed since 2021-01-14" in listed[0].detail
    ban = next(a for a in listed if a.payload["after"].get("kind") == "purchase_ban")
    assert ban.payload["after"]["start"] == "2021-03-15" and "due 2021-03-15" in ban.detail
    assert all(a.alert_id is not None and a.as_of == D("2021-01-15") for a in listed)

    enjoined = evaluate_watches(loaded, as_of=D("2021-03-13"))
    assert [a.kind for a in enjoined] == ["hit_changed"] + ["effect_suspended"] * 3
    assert "now suspended (enjoined 2021-03-12), was listed" in enjoined[0].detail
    assert all(a.payload["before"]["state"] == "pending" for a in enjoined[1:])

    vacated = evaluate_watches(loaded, as_of=D("2021-06-01"))
    assert [a.kind for a in vacated] == ["cleared_hit"] + ["effect_ended"] * 3
    assert all("vacated 2021-05-25" in a.detail for a in vacated)

    assert evaluate_watches(loaded, as_of=D("2021-06-01")) == []  # nothing changed: nothing raised
    assert len(list_alerts(loaded)) == 12
    with loaded.engine.connect() as conn:
        state = conn.execute(select(watch_states)).one()
    assert state.as_of == D("2021-06-01") and state.sequence == 5 and state.snapshot_ids == [1]
    assert set(state.findings["subjects"]) == {"A1", "A2", "A3"}


def test_first_evaluation_reports_what_is_already_there(loaded: Store, parties: Path) -> None:
    more = parties.read_text(encoding="utf-8") + "A4,China Mobile Limited\n"
    parties.write_text(more, encoding="utf-8")
    watch(loaded, parties, as_of="2021-01-15")
    found = evaluate_watches(loaded)
    china = [a for a in found if a.subject == "A4"]
    assert [a.kind for a in china] == ["new_hit", "effect_pending", "effect_started", "effect_started"]
    assert {a.entity_id for a in china} == {CHINA_MOBILE_GROUP}


def test_changed_file_raises_a_file_alert_and_alerts_for_new_rows_only(loaded: Store, parties: Path) -> None:
    watch(loaded, parties, as_of="2021-02-01")
    assert evaluate_watches(loaded)[0].kind == "new_hit"
    parties.write_text("id,name\nA1,Xiaomi Corporation\nB7,China Mobile Limited\n", encoding="utf-8")
    found = evaluate_watches(loaded)
    assert found[0].kind == "file_changed" and "1 row(s) added, 2 removed" in found[0].detail
    assert found[0].payload["removed"] == ["A2", "A3"]
    assert {a.subject for a in found[1:]} == {"B7"} and found[1].kind == "new_hit"


def test_portfolio_watch_alerts_per_holding(loaded: Store, tmp_path: Path) -> None:
    holdings = tmp_path / "holdings.csv"
    holdings.write_text(
        "id,ticker,isin,name\nH10,1810.HK,KYG9830T1067,Xiaomi Corporation\nH99,,,Acme Bakery Ltd\n",
        encoding="utf-8",
    )
    add_watch(
        loaded,
        holdings,
        name="book",
        kind="portfolio",
        created_by="ana",
        options=WatchOptions(as_of="2021-01-10"),
    )
    assert evaluate_watches(loaded) == []  # the ISIN finds the entry, but it is not listed yet
    listed = evaluate_watches(loaded, as_of=D("2021-01-15"))
    assert [a.kind for a in listed] == ["new_hit"] + ["effect_pending"] * 3
    assert listed[0].subject == "H10" and listed[0].entity_id == XIAOMI
    assert listed[0].payload["after"]["how"].startswith("isin")
    assert evaluate_watches(loaded, as_of=D("2021-06-01"))[0].kind == "cleared_hit"


# -- alerts from a newer snapshot, raised by the ingest -------------------------------------------


def test_ingesting_a_newer_snapshot_raises_a_new_hit(
    store: Store, db_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    ingest(store, [SDN_2019])
    path = tmp_path / "counterparties.csv"
    path.write_text(f"id,name\nV1,{BANCO}\nV2,Acme Bakery Ltd\n", encoding="utf-8")
    added = cli(db_url, env, "watch", "add", str(path), "--name", "latam", "--key-column", "id", "--as-of", "latest", "-l", "us_ofac_sdn")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "monitoring: 0 new alert(s)" in added.output
    assert list_watches(store)[0].last_as_of == D("2019-01-01")

    result = cli(db_url, env, "ingest", str(SDN_2021))
    assert result.exit_code == 0, result.output
    assert "snapshot #2 of us_ofac_sdn" in result.output
    assert "monitoring: 2 new alert(s) (1 effect_started, 1 new_hit)" in result.output
    new_hit, blocked = list_alerts(store, watch="latam")
    assert (new_hit.kind, new_hit.subject, new_hit.as_of) == ("new_hit", "V1", D("2021-07-01"))
    assert new_hit.payload["entity"]["caption"] == BANCO and new_hit.list_id == "us_ofac_sdn"
    assert blocked.kind == "effect_started" and blocked.payload["after"]["kind"] == "blocked"


def test_a_failing_watch_is_recorded_once_and_does_not_stop_the_others(
    loaded: Store, db_url: str, env: dict[str, str], parties: Path, tmp_path: Path
) -> None:
    doomed = tmp_path / "doomed.csv"
    doomed.write_text(PARTIES, encoding="utf-8")
    watch(loaded, doomed, name="doomed", as_of="2021-01-15")
    watch(loaded, parties, name="parties", as_of="2021-01-15")
    doomed.unlink()
    found = evaluate_watches(loaded)
    failed = [a for a in found if a.watch == "doomed"]
    assert [a.kind for a in failed] == ["watch_failed"] and "cannot read the watched file" in failed[0].detail
    assert next(a.kind for a in found if a.watch == "parties") == "new_hit"
    assert evaluate_watches(loaded) == []  # the same failure again: recorded, not alerted again
    assert "cannot read" in (next(w for w in list_watches(loaded) if w.name == "doomed").last_error or "")

    result = cli(db_url, env, "ingest", str(SDN_2019), "--json")  # succeeds whatever monitoring says
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)  # the summary and warnings go to standard error
    assert "warning: watch doomed not evaluated: " in result.output


def test_hits_dismissed_by_review_are_acknowledged_on_arrival(
    loaded: Store, db_url: str, env: dict[str, str], parties: Path
) -> None:
    parties.write_text("id,name\nA1,Xiaomi Corporation\nA2,China Mobile Limited\n", encoding="utf-8")
    screened = cli(db_url, env, "screen", str(parties), "--as-of", "2021-02-01", "-l", CCMC, "--key-column", "id")  # fmt: skip
    assert screened.exit_code == 0, screened.output
    reviewed = cli(db_url, env, "review", "run-0001", f"2:{CHINA_MOBILE_GROUP}", "--false-positive", "--comment", "subsidiary, not the group")  # fmt: skip
    assert reviewed.exit_code == 0, reviewed.output
    watch(loaded, parties, as_of="2021-02-01")
    found = evaluate_watches(loaded)
    china = [a for a in found if a.subject == "A2"]
    assert china and all(a.acknowledged and "review #1" in (a.acknowledged_by or "") for a in china)
    assert all(not a.acknowledged for a in found if a.subject == "A1")
    assert {a.subject for a in list_alerts(loaded)} == {"A1"}


def test_listed_watches_carry_their_own_last_evaluation(loaded: Store, parties: Path) -> None:
    watch(loaded, parties, name="early", as_of="2021-02-01")
    watch(loaded, parties, name="late", as_of="2021-03-20")
    evaluate_watches(loaded)
    watch(loaded, parties, name="new")  # never evaluated: no state
    found = {w.name: w.last_as_of for w in list_watches(loaded)}
    assert found == {"early": D("2021-02-01"), "late": D("2021-03-20"), "new": None}


def test_dismissal_of_a_row_known_only_by_its_identifiers_is_recognised_by_the_watch(
    loaded: Store, db_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    # no key column and no name: the run and the watch both name the subject by its identifiers
    # (`screening.reviews.subject_name`)
    parties = tmp_path / "isins.csv"
    parties.write_text("name,isin\n,KYG9830T1067\n", encoding="utf-8")
    screened = cli(db_url, env, "screen", str(parties), "--as-of", "2021-02-01", "-l", CCMC, "--id-columns", "isin")  # fmt: skip
    assert screened.exit_code == 0, screened.output
    reviewed = cli(db_url, env, "review", "run-0001", f"1:{XIAOMI}", "--false-positive", "--comment", "not them")  # fmt: skip
    assert reviewed.exit_code == 0, reviewed.output
    watch(loaded, parties, key_column=None, id_columns=("isin",), as_of="2021-02-01")
    found = [a for a in evaluate_watches(loaded) if a.entity_id == XIAOMI]
    assert found and {a.subject for a in found} == {"isin:KYG9830T1067"}
    assert all(a.acknowledged and "review #1" in (a.acknowledged_by or "") for a in found)


# -- the command line -----------------------------------------------------------------------------


def test_watch_and_alerts_commands(loaded: Store, db_url: str, env: dict[str, str], parties: Path) -> None:
    added = cli(db_url, env, "watch", "add", str(parties), "--name", "parties", "--key-column", "id", "--as-of", "2021-01-15", "-l", CCMC)  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "monitoring: 4 new alert(s) (3 effect_pending, 1 new_hit)" in added.output
    listed = cli(db_url, env, "alerts", "--json")
    assert [a["kind"] for a in json.loads(listed.output)] == ["new_hit"] + ["effect_pending"] * 3

    run = cli(db_url, env, "watch", "run", "--as-of", "2021-03-13")
    assert run.exit_code == 0, run.output
    assert (
        "hit_changed" in run.output
        and "monitoring: 4 new alert(s) (3 effect_suspended, 1 hit_changed)" in run.output
    )

    acked = cli(db_url, env, "alerts", "ack", "1", "2")
    assert acked.exit_code == 0 and "acknowledged 2 alert(s) (ana)" in acked.output
    remaining = json.loads(cli(db_url, env, "alerts", "--json", "--watch", "parties").output)
    assert [a["id"] for a in remaining] == [3, 4, 5, 6, 7, 8]
    everything = json.loads(cli(db_url, env, "alerts", "--json", "--all", "--since", "2021-01-01").output)
    assert len(everything) == 8 and everything[0]["acknowledged_by"] == "ana"

    shown = cli(db_url, env, "watch", "list", "--json")
    assert json.loads(shown.output)[0]["last_as_of"] == "2021-03-13"
    removed = cli(db_url, env, "watch", "remove", "parties")
    assert removed.exit_code == 0 and "its alerts are kept" in removed.output
    assert "No watches yet" in cli(db_url, env, "watch", "list").output
    assert len(json.loads(cli(db_url, env, "alerts", "--json", "--watch", "parties").output)) == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["watch", "remove", "nope"], "no watch named 'nope'"),
        (["watch", "run", "nope"], "no watch named 'nope'"),
        (["alerts", "--watch", "nope"], "no watch named 'nope'"),
        (["alerts", "ack", "99"], "no alert #99; nothing was acknowledged"),
        (
            ["watch", "add", "missing.csv", "--name", "x"],
            "missing.csv: cannot read the watched file: No such file",
        ),
        (["watch", "add", "PARTIES", "--name", "parties"], "a watch named 'parties' exists already"),
        (["watch", "add", "PARTIES", "--name", "bad name"], "watch name 'bad name'"),
        (
            ["watch", "add", "PARTIES", "--name", "x", "--as-of", "soon"],
            "'soon' is not today, latest or YYYY-MM-DD",
        ),
        (["watch", "add", "PARTIES", "--name", "x", "-l", "nolist"], "unknown list 'nolist'"),
        (
            ["watch", "add", "PARTIES", "--name", "x", "--webhook", "ftp://u:hunter2@h/x"],
            "is not an http(s) URL",
        ),
    ],
)
def test_bad_input_is_one_error_line_and_changes_nothing(
    loaded: Store, db_url: str, env: dict[str, str], parties: Path, args: list[str], message: str
) -> None:
    watch(loaded, parties, as_of="2021-01-15")
    evaluate_watches(loaded)
    before = store_state(loaded)
    result = cli(db_url, env, *[str(parties) if a == "PARTIES" else a for a in args])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and message in result.output
    assert "hunter2" not in result.output
    assert store_state(loaded) == before


def test_library_errors_name_the_problem(loaded: Store, parties: Path, tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot read the watched file"):
        watch(loaded, tmp_path / "gone.csv")
    with pytest.raises(InvalidQuery, match="threshold"):
        watch(loaded, parties, threshold=1.5)
    with pytest.raises(UnknownWatch):
        evaluate_watches(loaded, names=["nope"])
    assert list_watches(loaded) == []


# -- webhooks -------------------------------------------------------------------------------------


class _Hook:
    """A real HTTP server on localhost answering with the given statuses in turn (the last repeats)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append((dict(self.headers), json.loads(body)))
                status = hook.statuses[min(len(hook.received), len(hook.statuses)) - 1]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def policy(sleeps: list[float]) -> dict[str, Any]:
    fast = RetryPolicy(attempts=3, first_delay_seconds=0.25, factor=2.0, timeout_seconds=5, passes=2)
    return {"policy": fast, "sleep": sleeps.append}


def deliveries(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id)))


def test_webhook_is_retried_after_a_failure_and_then_delivered(
    loaded: Store, parties: Path, sleeps: list[float]
) -> None:
    with _Hook([500, 200]) as hook:
        secret_url = hook.url.replace("http://", "http://bot:s3cret@") + "?token=abc123"
        add_watch(loaded, parties, name="hooked", created_by="ana", webhook=secret_url,
                  options=WatchOptions(key_column="id", as_of="2021-01-15", lists=(CCMC,)))  # fmt: skip
        raised = evaluate_watches(loaded)
        report = deliver_webhooks(loaded, **policy(sleeps))
    assert (report.delivered, report.retrying, report.failed) == (1, 0, 0)
    assert sleeps == [0.25]
    (_, first), (headers, body) = hook.received
    assert first == body and body["watch"] == "hooked" and body["listwatch_alerts"] == 1
    assert [a["id"] for a in body["alerts"]] == [a.alert_id for a in raised]
    assert body["alerts"][0]["kind"] == "new_hit" and headers["X-Listwatch-Delivery"] == str(body["delivery"])
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"bot:s3cret").decode()
    (row,) = deliveries(loaded)
    assert (row.status, row.attempts, row.last_status, row.last_error) == ("delivered", 2, 200, None)
    assert deliver_webhooks(loaded, **policy(sleeps)).delivered == 0  # delivered once only


def test_webhook_that_always_fails_is_recorded_retried_later_then_given_up(
    loaded: Store, db_url: str, env: dict[str, str], parties: Path, sleeps: list[float]
) -> None:
    with _Hook([503]) as hook:
        add_watch(loaded, parties, name="hooked", created_by="ana", webhook=hook.url + "/T0123456789abcdefghij",
                  options=WatchOptions(key_column="id", as_of="2021-01-15", lists=(CCMC,)))  # fmt: skip
        evaluate_watches(loaded)
        first = deliver_webhooks(loaded, **policy(sleeps))
        (row,) = deliveries(loaded)
        assert (first.retrying, row.status, row.attempts, row.last_status) == (1, "retrying", 3, 503)
        assert row.last_error == "HTTP 503 Service Unavailable" and row.next_retry_at is not None
        assert sleeps == [0.25, 0.5]
        assert deliver_webhooks(loaded, **policy(sleeps)).retrying == 0  # not due yet
        later = datetime.now(UTC) + timedelta(hours=1)
        second = deliver_webhooks(loaded, now=lambda: later, **policy(sleeps))
        assert len(hook.received) == 6
    (row,) = deliveries(loaded)
    assert (second.failed, row.status, row.attempts, row.next_retry_at) == (1, "failed", 6, None)
    shown = cli(db_url, env, "watch", "list")
    assert "#1 failed, 6 attempt(s): HTTP 503" in shown.output and "T0123456789abcdefghij" not in shown.output


def test_unreachable_webhook_never_fails_the_ingest(
    loaded: Store, db_url: str, env: dict[str, str], parties: Path
) -> None:
    unused = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = unused.server_port
    unused.server_close()  # nothing listens there any more: connection refused
    watch(loaded, parties, as_of="latest")
    add_watch(loaded, parties, name="hooked", created_by="ana", webhook=f"http://127.0.0.1:{port}/x?key=topsecret",
              options=WatchOptions(key_column="id", as_of="2021-01-15", lists=(CCMC,)))  # fmt: skip
    result = cli(db_url, env, "ingest", str(SDN_2019))
    assert result.exit_code == 0, result.output
    assert "to retry" in result.output and "topsecret" not in result.output
    assert deliveries(loaded)[0].status == "retrying"


def test_masked_urls_keep_host_and_hide_credentials() -> None:
    assert mask_url(
        "https://bot:s3cret@hooks.example.com:8443/services/T000/B000/XXXXXXXXXXXXXXXX1234?token=abc&x=1"
    ) == ("https://***@hooks.example.com:8443/services/T000/B000/***?token=***&x=***")
    assert mask_url("env:LISTWATCH_HOOK") == "env:LISTWATCH_HOOK"


def test_webhook_from_the_environment_keeps_the_secret_out_of_the_database(
    loaded: Store, parties: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_watch(loaded, parties, name="hooked", created_by="ana", webhook="env:LW_TEST_HOOK",
              options=WatchOptions(key_column="id", as_of="2021-01-15", lists=(CCMC,)))  # fmt: skip
    evaluate_watches(loaded)
    unset = deliver_webhooks(loaded, **policy(sleeps))
    assert unset.retrying == 1 and "env:LW_TEST_HOOK: environment variable not set" in unset.errors[0]
    assert sleeps == []  # no point in trying again at once
    with _Hook([200]) as hook:
        monkeypatch.setenv("LW_TEST_HOOK", hook.url + "?token=abc123")
        later = datetime.now(UTC) + timedelta(hours=1)
        assert deliver_webhooks(loaded, now=lambda: later, **policy(sleeps)).delivered == 1
    assert len(hook.received) == 1 and "abc123" not in json.dumps(store_state(loaded))
    assert list_watches(loaded)[0].webhook == "env:LW_TEST_HOOK"
