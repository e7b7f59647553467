"""Posting a watch's alerts to its webhook: JSON over HTTP, retried with backoff, every try recorded.

An evaluation that raises alerts for a watch with a webhook queues one delivery in the same
transaction as the alerts (`webhook_deliveries`, status `pending`), so a crash cannot lose one.
`deliver_webhooks` then posts every delivery that is due: up to `RetryPolicy.attempts` tries with
exponential backoff between them; a delivery still failing is `retrying` with a `next_retry_at`
for the next pass (the next ingest or `listwatch watch run`), and `failed` after
`RetryPolicy.passes` passes. Nothing here raises: outcomes are recorded and reported.

The standard library's `urllib.request` does the HTTP (no extra dependency). A URL may carry
credentials (`https://user:token@host/...`, `?token=...`); `mask_url` hides them wherever a URL is
shown. `env:NAME` instead of a URL reads it from the environment at delivery time, so the secret
never enters the database.

    report = deliver_webhooks(store, policy=RetryPolicy(attempts=3, first_delay_seconds=0.5))
    report.delivered, report.failed
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.exc import SQLAlchemyError

from listwatch import __version__
from listwatch.errors import InvalidQuery, StoreError
from listwatch.screening.alerts import Alert
from listwatch.store import Store
from listwatch.store import monitoring as sql

__all__ = [
    "DeliveryReport",
    "RetryPolicy",
    "check_webhook",
    "deliver_webhooks",
    "mask_url",
    "webhook_payload",
]

_ENV = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)")
_TOKENISH = re.compile(r"(?=.*\d)[A-Za-z0-9_\-]{16,}|[A-Za-z0-9_\-]{32,}")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Within a pass: `attempts` tries, waiting `first_delay_seconds`, then that
    times `factor`, ... between them; each try times out after `timeout_seconds`. A delivery
    still failing is retried by later passes, `retry_after_seconds` (times `factor` per pass) after
    the last, up to `passes` passes in all; `budget_seconds` bounds one pass over all deliveries."""

    attempts: int = 3
    first_delay_seconds: float = 1.0
    factor: float = 2.0
    timeout_seconds: float = 10.0
    passes: int = 5
    retry_after_seconds: float = 300.0
    budget_seconds: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number `attempt` (1-based) of a pass."""
        return float(self.first_delay_seconds * self.factor ** (attempt - 1))


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0  # given up after every pass
    errors: tuple[str, ...] = ()  # one line per delivery not made in this pass, URLs masked

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
            "errors": list(self.errors),
        }


def check_webhook(url: str) -> str:
    """The URL as given if it is an http(s) URL with a host, or `env:NAME`; else `InvalidQuery`
    (which never repeats the URL: it may hold a secret)."""
    url = url.strip()
    if _ENV.fullmatch(url):
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidQuery(f"--webhook: {mask_url(url)} is not an http(s) URL with a host, nor env:NAME")
    return url


def mask_url(url: str | None) -> str:
    """The URL with its secrets hidden: user and password, query values, and path segments that
    look like tokens (16+ characters with a digit, or 32+) become `***`."""
    if not url:
        return ""
    if _ENV.fullmatch(url.strip()):
        return url.strip()
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"
    netloc = ("***@" if "@" in parts.netloc else "") + host + port
    path = "/".join("***" if _TOKENISH.fullmatch(seg) else seg for seg in parts.path.split("/"))
    query = urlencode([(k, "***") for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def webhook_payload(watch: str, delivery_id: int, alerts: Sequence[Alert]) -> dict[str, Any]:
    """What is posted: a version, the watch, the delivery id (repeated on retries, so a receiver
    can drop duplicates) and the alerts as `listwatch alerts --json` shows them."""
    return {
        "listwatch_alerts": 1,
        "software": f"listwatch {__version__}",
        "watch": watch,
        "delivery": delivery_id,
        "alerts": [a.to_dict() for a in alerts],
    }


def deliver_webhooks(
    store: Store,
    *,
    policy: RetryPolicy | None = None,
    now: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Post every delivery that is due and record each outcome; never raises for a delivery that
    fails (`StoreError` only when the database itself cannot be read or written)."""
    policy = policy or RetryPolicy()
    clock = now or (lambda: datetime.now(UTC))
    started = time.monotonic()
    delivered = retrying = failed = 0
    errors: list[str] = []
    try:
        with store.engine.connect() as conn:
            due = sql.due_deliveries(conn, clock())
        for row in due:
            if time.monotonic() - started > policy.budget_seconds:
                break  # the rest stay due for the next pass
            with store.engine.connect() as conn:
                alerts = [Alert.from_row(r) for r in sql.alerts_by_ids(conn, list(row.alert_ids))]
            body = json.dumps(webhook_payload(row.watch_name, row.id, alerts), ensure_ascii=False)
            outcome = _post_with_retries(row.webhook_url, body.encode("utf-8"), row.id, policy, sleep)
            values = _outcome_values(row, outcome, policy, clock())
            with store.engine.begin() as conn:
                sql.update_delivery(conn, row.id, values)
            if values["status"] == "delivered":
                delivered += 1
                continue
            retrying += values["status"] == "retrying"
            failed += values["status"] == "failed"
            errors.append(f"watch {row.watch_name}: delivery #{row.id} {values['status']}: {outcome.error}")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot record webhook deliveries: {exc}") from None
    return DeliveryReport(delivered, retrying, failed, tuple(errors))


@dataclass(frozen=True)
class _Outcome:
    attempts: int
    ok: bool
    status: int | None
    error: str | None


def _post_with_retries(
    url: str | None, body: bytes, delivery_id: int, policy: RetryPolicy, sleep: Callable[[float], None]
) -> _Outcome:
    if url is None:
        return _Outcome(0, False, None, "no webhook URL (the watch's webhook was removed)")
    resolved = _resolve(url)
    if resolved is None:  # trying again at once cannot help
        return _Outcome(1, False, None, f"{url}: environment variable not set")
    status: int | None = None
    error: str | None = None
    tries = 0
    for attempt in range(1, max(policy.attempts, 1) + 1):
        tries = attempt
        status, error = _post_once(resolved, url, body, delivery_id, policy.timeout_seconds)
        if error is None:
            return _Outcome(attempt, True, status, None)
        if attempt < policy.attempts:
            sleep(policy.delay(attempt))
    return _Outcome(tries, False, status, error)


def _post_once(
    resolved: str, given: str, body: bytes, delivery_id: int, timeout: float
) -> tuple[int | None, str | None]:
    """One POST to `resolved` (the URL `given`, or the one its env:NAME holds): (HTTP status, None)
    on a 2xx answer, else (status or None, why), secrets masked."""
    parts = urlsplit(resolved)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"listwatch/{__version__}",
        "X-Listwatch-Delivery": str(delivery_id),
    }
    if parts.username is not None:  # urllib does not send a URL's user info itself
        secret = f"{parts.username}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(secret).decode("ascii")
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        resolved = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    request = urllib.request.Request(resolved, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, _scrub(f"{exc.__class__.__name__}: {reason}", resolved, given)


def _resolve(url: str) -> str | None:
    found = _ENV.fullmatch(url.strip())
    if found is None:
        return url
    return os.environ.get(found.group(1)) or None


def _scrub(message: str, *urls: str) -> str:
    for url in urls:
        if url:
            message = message.replace(url, mask_url(url))
    return message


def _outcome_values(row: Any, outcome: _Outcome, policy: RetryPolicy, now: datetime) -> dict[str, Any]:
    attempts = int(row.attempts) + outcome.attempts
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_attempt_at": now,
        "last_status": outcome.status,
        "last_error": outcome.error,
    }
    if outcome.ok:
        return {**values, "status": "delivered", "delivered_at": now, "next_retry_at": None}
    passes = -(-attempts // max(policy.attempts, 1))  # passes made so far, rounding up
    if passes >= policy.passes or row.webhook_url is None:
        return {**values, "status": "failed", "next_retry_at": None}
    wait = policy.retry_after_seconds * policy.factor ** (passes - 1)
    return {**values, "status": "retrying", "next_retry_at": now + timedelta(seconds=wait)}
