"""Monitoring: registered files re-screened after every ingest, with alerts for what changed.

A *watch* is a counterparty file (screened like `listwatch screen`, through the `Screener`) or a
portfolio (matched like `listwatch portfolio`, through `screen_portfolio`), with its options.
`evaluate_watches` screens every active watch as of its day, works out each subject's hits and the
legal effects on it (`rules`), compares that with what the previous evaluation found
(`screening.alerts`) and stores the alerts, the new state and, for a watch with a webhook, a
delivery to make (`screening.webhooks`), all in one transaction per watch. A watch that cannot be
evaluated (its file is gone...) is recorded as failed and the others go on.

The day a watch is evaluated for, `WatchOptions.as_of`:

- `today` (the default): the calendar day of the evaluation, for day-to-day monitoring;
- `latest`: the newest publication or event date stored for the watch's lists (never after
  today), so that ingesting an older file answers as of that file;
- a fixed `YYYY-MM-DD`: the same day every time (a backtest; only corrections to the lists move it).

`evaluate_watches(store, as_of=...)` overrides the day for one evaluation (`watch run --as-of`).

    add_watch(store, Path("parties.csv"), name="parties", options=WatchOptions(key_column="id"),
              created_by="ana")
    [a.detail for a in evaluate_watches(store, as_of=date(2021, 1, 15))]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from listwatch.catalog import get_list
from listwatch.errors import InvalidQuery, ListwatchError, ParseError, StoreError, UnknownWatch
from listwatch.registry.provenance import screening_basis
from listwatch.rules.programs import ProgramBook, load_programs
from listwatch.screening.alerts import Alert, diff_findings, file_change_alert, gone_entities
from listwatch.screening.findings import (
    WatchOptions,
    acknowledge_dismissed,
    find_counterparties,
    find_holdings,
    read_watched,
    why_gone,
)
from listwatch.screening.webhooks import check_webhook, mask_url
from listwatch.store import Store
from listwatch.store import monitoring as sql
from listwatch.store.timestamps import as_utc

__all__ = [
    "WATCH_KINDS",
    "Watch",
    "WatchOptions",
    "acknowledge_alerts",
    "add_watch",
    "evaluate_watches",
    "list_alerts",
    "list_watches",
    "remove_watch",
    "resolve_as_of",
]

WATCH_KINDS = ("counterparties", "portfolio")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Watch:
    watch_id: int
    name: str
    kind: str  # one of WATCH_KINDS
    path: Path
    file_sha256: str  # at registration
    options: WatchOptions
    webhook_url: str | None  # never shown: see `webhook`
    created_at: datetime
    created_by: str
    active: bool = True
    last_evaluated_at: datetime | None = None
    last_error: str | None = None
    last_as_of: date | None = None  # the day of the last stored evaluation
    last_delivery: str | None = None  # the newest webhook delivery's status, and why

    @property
    def webhook(self) -> str | None:
        """The webhook URL as shown: secrets masked."""
        return mask_url(self.webhook_url) if self.webhook_url else None

    @classmethod
    def from_row(cls, row: Any, state: Any = None, delivery: Any = None) -> Watch:
        last_delivery = None
        if delivery is not None:
            last_delivery = f"#{delivery.id} {delivery.status}, {delivery.attempts} attempt(s)"
            if delivery.status != "delivered" and delivery.last_error:
                last_delivery += f": {delivery.last_error}"
        return cls(
            watch_id=row.id,
            name=row.name,
            kind=row.kind,
            path=Path(row.path),
            file_sha256=row.file_sha256,
            options=WatchOptions.from_dict(row.options),
            webhook_url=row.webhook_url,
            created_at=as_utc(row.created_at) or datetime.now(UTC),
            created_by=row.created_by,
            active=bool(row.active),
            last_evaluated_at=as_utc(row.last_evaluated_at),
            last_error=row.last_error,
            last_as_of=state.as_of if state is not None else None,
            last_delivery=last_delivery,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "path": str(self.path),
            "file_sha256": self.file_sha256,
            "options": self.options.to_dict(),
            "webhook": self.webhook,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "active": self.active,
            "last_evaluated_at": self.last_evaluated_at.isoformat() if self.last_evaluated_at else None,
            "last_as_of": self.last_as_of.isoformat() if self.last_as_of else None,
            "last_error": self.last_error,
            "last_delivery": self.last_delivery,
        }


# -- registering ----------------------------------------------------------------------------------


def add_watch(
    store: Store,
    path: Path,
    *,
    name: str,
    created_by: str,
    kind: str = "counterparties",
    options: WatchOptions | None = None,
    webhook: str | None = None,
) -> Watch:
    """Register `path` for monitoring under `name`. The file is read now, so a file that cannot be
    screened is refused before anything is stored."""
    options = options or WatchOptions()
    if not _NAME.fullmatch(name):
        raise InvalidQuery(f"watch name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    if kind not in WATCH_KINDS:
        raise InvalidQuery(f"watch kind {kind!r}: use {' or '.join(WATCH_KINDS)}")
    _check_options(options)
    webhook = check_webhook(webhook) if webhook else None
    path = path.expanduser().resolve()
    sha256, rows = read_watched(path, kind, options)
    if not rows:
        raise ParseError(path, None, "no data rows to watch")
    now = datetime.now(UTC)
    values = {
        "name": name,
        "kind": kind,
        "path": str(path),
        "file_sha256": sha256,
        "options": options.to_dict(),
        "webhook_url": webhook,
        "created_at": now,
        "created_by": created_by,
        "active": True,
    }
    try:
        with store.engine.begin() as conn:
            if sql.select_watches(conn, name=name):
                raise InvalidQuery(
                    f"a watch named {name!r} exists already; remove it first or pick another name"
                )
            watch_id = sql.insert_watch(conn, values)
            row = sql.select_watches(conn, name=name)[0]
    except SQLAlchemyError as exc:
        raise StoreError(f"the watch was not stored: {exc}") from None
    assert row.id == watch_id
    return Watch.from_row(row)


def _check_options(options: WatchOptions) -> None:
    for list_id in options.lists or ():
        get_list(list_id)
    if not 0.0 < options.threshold <= 1.0:
        raise InvalidQuery(f"threshold {options.threshold} must be above 0 and at most 1")
    if options.limit < 1:
        raise InvalidQuery(f"hits per row must be at least 1, not {options.limit}")
    if options.as_of not in ("today", "latest"):
        try:
            date.fromisoformat(options.as_of)
        except ValueError:
            raise InvalidQuery(f"--as-of: {options.as_of!r} is not today, latest or YYYY-MM-DD") from None


def list_watches(store: Store, *, include_removed: bool = False) -> list[Watch]:
    """The watches in registration order, each with its last evaluation and webhook delivery."""
    with store.engine.connect() as conn:
        rows = sql.select_watches(conn, active=None if include_removed else True)
        ids = [r.id for r in rows]
        deliveries = sql.last_deliveries(conn, ids) if rows else {}
        states = sql.watch_states(conn, ids)
        return [Watch.from_row(r, states.get(r.id), deliveries.get(r.id)) for r in rows]


def remove_watch(store: Store, name: str) -> Watch:
    """Stop watching: the watch is marked removed (its alerts stay); the name is free again."""
    try:
        with store.engine.begin() as conn:
            found = sql.select_watches(conn, name=name)
            if not found:
                raise UnknownWatch(name)
            sql.deactivate_watch(conn, found[0].id, datetime.now(UTC))
    except SQLAlchemyError as exc:
        raise StoreError(f"the watch was not removed: {exc}") from None
    return replace(Watch.from_row(found[0]), active=False)


def resolve_as_of(store: Store, mode: str, lists: Sequence[str] | None = None) -> date:
    """The day a watch with as-of `mode` is evaluated for (see the module docstring)."""
    today = date.today()
    if mode == "today":
        return today
    if mode == "latest":
        with store.engine.connect() as conn:
            latest = sql.latest_date(conn, lists)
        return min(latest, today) if latest is not None else today
    return date.fromisoformat(mode)


# -- evaluating -----------------------------------------------------------------------------------


def evaluate_watches(
    store: Store,
    *,
    as_of: date | None = None,
    names: Sequence[str] | None = None,
    cache_dir: Path | None = None,
) -> list[Alert]:
    """Screen every active watch (or those named) again, store what changed, and return the new
    alerts, a failed watch's included. One watch failing never stops the others."""
    with store.engine.connect() as conn:
        rows = sql.select_watches(conn)
    watches = [Watch.from_row(r) for r in rows]
    if names is not None:
        missing = sorted(set(names) - {w.name for w in watches})
        if missing:
            raise UnknownWatch(missing[0])
        watches = [w for w in watches if w.name in names]
    book = load_programs()
    raised: list[Alert] = []
    for watch in watches:
        try:
            raised += _evaluate(store, watch, as_of, cache_dir, book)
        except (ListwatchError, SQLAlchemyError, OSError, ValueError) as exc:
            raised += _record_failure(store, watch, as_of, exc)
    return raised


def _evaluate(
    store: Store, watch: Watch, as_of: date | None, cache_dir: Path | None, book: ProgramBook
) -> list[Alert]:
    day = as_of or resolve_as_of(store, watch.options.as_of, watch.options.lists)
    basis = screening_basis(store, as_of=day, lists=watch.options.lists)
    find = find_counterparties if watch.kind == "counterparties" else find_holdings
    findings = find(store, watch.path, watch.options, day=day, book=book, cache_dir=cache_dir)
    if screening_basis(store, as_of=day, lists=watch.options.lists).digest != basis.digest:
        raise StoreError("the lists changed while evaluating (an ingest ran); nothing was stored")
    with store.engine.connect() as conn:
        previous = sql.watch_state(conn, watch.watch_id)
    before = dict(previous.findings) if previous is not None else None
    why = why_gone(store, gone_entities(before, findings), day)
    alerts = diff_findings(before, findings, watch=watch.name, as_of=day, why_gone=why)
    changed = file_change_alert(before, findings, watch=watch.name, as_of=day) if before else None
    if changed is not None:
        alerts.insert(0, changed)
    now = datetime.now(UTC)
    if watch.kind == "counterparties":
        alerts = acknowledge_dismissed(store, alerts, before, findings, now)
    state = {
        "watch_id": watch.watch_id,
        "evaluated_at": now,
        "as_of": day,
        "basis_sha256": basis.digest,
        "snapshot_ids": [s.snapshot_id for s in basis.snapshots],
        "file_sha256": findings["file_sha256"],
        "findings": findings,
    }
    try:
        with store.engine.begin() as conn:
            if not sql.save_watch_state(conn, state, read_sequence=previous.sequence if previous else 0):
                raise StoreError("another evaluation of this watch ran at the same time; nothing was stored")
            stored = _store_alerts(conn, watch, alerts, now)
            sql.record_watch_outcome(conn, watch.watch_id, now, None)
    except SQLAlchemyError as exc:
        raise StoreError(f"the evaluation was not stored: {exc}") from None
    return stored


def _store_alerts(conn: Any, watch: Watch, alerts: Sequence[Alert], now: datetime) -> list[Alert]:
    rows = [
        {
            "watch_id": watch.watch_id,
            "created_at": now,
            "as_of": a.as_of,
            "kind": a.kind,
            "subject": a.subject,
            "entity_id": a.entity_id,
            "list_id": a.list_id,
            "detail": a.detail,
            "payload": a.payload,
            "acknowledged": a.acknowledged,
            "acknowledged_at": a.acknowledged_at,
            "acknowledged_by": a.acknowledged_by,
        }
        for a in alerts
    ]
    ids = sql.insert_alerts(conn, rows)
    stored = [replace(a, alert_id=i, created_at=now) for a, i in zip(alerts, ids, strict=True)]
    to_send = [a.alert_id for a in stored if not a.acknowledged]
    if watch.webhook_url and to_send:
        sql.insert_delivery(
            conn,
            {
                "watch_id": watch.watch_id,
                "alert_ids": to_send,
                "created_at": now,
                "status": "pending",
                "attempts": 0,
            },
        )
    return stored


def _record_failure(store: Store, watch: Watch, as_of: date | None, exc: Exception) -> list[Alert]:
    """Record why the watch failed; alert only when the reason is new (not on every ingest)."""
    message = str(exc) if isinstance(exc, ListwatchError) else f"{exc.__class__.__name__}: {exc}"
    now = datetime.now(UTC)
    day = as_of or date.today()
    alerts = []
    if message != watch.last_error:
        alerts.append(Alert(watch.name, "watch_failed", "(watch)", f"not evaluated: {message}", day))
    try:
        with store.engine.begin() as conn:
            stored = _store_alerts(conn, watch, alerts, now)
            sql.record_watch_outcome(conn, watch.watch_id, now, message)
    except SQLAlchemyError as db_exc:
        raise StoreError(f"cannot record that watch {watch.name!r} failed ({message}): {db_exc}") from None
    return stored


# -- reading alerts -------------------------------------------------------------------------------


def list_alerts(
    store: Store, *, watch: str | None = None, since: date | None = None, include_acknowledged: bool = False
) -> list[Alert]:
    """Alerts oldest first: not yet acknowledged (or all), of one watch (by name, removed ones
    included) or all, raised on or after `since` (a UTC day)."""
    with store.engine.connect() as conn:
        watch_ids = None
        if watch is not None:
            watch_ids = [r.id for r in sql.select_watches(conn, name=watch, active=None)]
            if not watch_ids:
                raise UnknownWatch(watch)
        start = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
        rows = sql.select_alerts(
            conn, watch_ids=watch_ids, since=start, include_acknowledged=include_acknowledged
        )
    return [Alert.from_row(r) for r in rows]


def acknowledge_alerts(store: Store, alert_ids: Sequence[int], *, analyst: str) -> list[Alert]:
    """Mark alerts as seen, all or none: an unknown id changes nothing. Already acknowledged ones
    keep their first acknowledgement. The alerts as they now stand."""
    wanted = sorted(set(alert_ids))
    if not wanted:
        raise InvalidQuery("name at least one alert id (see `listwatch alerts`)")
    try:
        with store.engine.begin() as conn:
            found = {r.id for r in sql.alerts_by_ids(conn, wanted)}
            missing = [i for i in wanted if i not in found]
            if missing:
                raise InvalidQuery(
                    f"no alert #{missing[0]}; nothing was acknowledged (see `listwatch alerts --all`)"
                )
            sql.acknowledge_alerts(conn, wanted, at=datetime.now(UTC), by=analyst)
            return [Alert.from_row(r) for r in sql.alerts_by_ids(conn, wanted)]
    except SQLAlchemyError as exc:
        raise StoreError(f"the alerts were not acknowledged: {exc}") from None
