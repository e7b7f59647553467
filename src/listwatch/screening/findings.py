"""What a watched file finds on a day: per subject, its hits and the legal effects on it.

A subject is a row of a counterparty file or a holding of a portfolio, named by its own key when
the file has a key column (`--key-column` for counterparties, an `id` or `key` column for
holdings), else by its normalised name (counterparties) or its ticker, ISIN or name (holdings), so
that it keeps its identity when rows are added or reordered. The findings are plain JSON, stored
as the watch's state and compared by `screening.alerts.diff_findings`:

    {"file_sha256": "...", "rows": 5, "subjects": {"A1": {
        "row": 1, "label": "A1 (Xiaomi Corporation)", "error": null,
        "hits": {"us-dod-1237-ccmc-xiaomi-corporation": {"caption", "list", "how", "score",
                 "state", "since", "last_event", "fingerprint"}},
        "effects": {"ENTITY|RULE|VIA": {"entity_id", "caption", "list", "program", "kind",
                    "state", "start", "end", "reason", "via"}}}}}

Counterparties are screened by the `Screener` (the hits `listwatch screen` keeps: matches above
the threshold, up to `limit` per row); the effects are those of the entities hit and of the
parents their entries name (`rules.effects.listing_effects`, as `listwatch effect` answers).
Holdings go through `screening.portfolio.screen_portfolio`; an entry it matches is a hit while it
is on its list that day (an ISIN finds an entry before its listing and after its delisting too),
and a listed subsidiary it reports is not a hit, since it does not restrict the holding.

    findings = find_counterparties(store, Path("parties.csv"), WatchOptions(key_column="id"),
                                   day=date(2021, 1, 15), book=load_programs())
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from listwatch.errors import ParseError
from listwatch.matching.score import DEFAULT_THRESHOLD
from listwatch.registry.provenance import standings
from listwatch.registry.replay import ENDING_KINDS, LIVE_STATES
from listwatch.rules.effects import listing_effects
from listwatch.rules.engine import Effect
from listwatch.rules.parents import linked_parents, listings_of, parent_links
from listwatch.rules.programs import ProgramBook
from listwatch.screening.alerts import Alert
from listwatch.screening.inputs import read_parties
from listwatch.screening.portfolio import read_holdings, screen_portfolio
from listwatch.screening.reviews import HitSubject, review_statuses, subject_name
from listwatch.screening.screener import Screener
from listwatch.store import Store

__all__ = [
    "WatchOptions",
    "acknowledge_dismissed",
    "find_counterparties",
    "find_holdings",
    "read_watched",
    "why_gone",
]

_ON_LIST = LIVE_STATES | {"unknown"}  # unknown: in the earliest snapshot, date not known


@dataclass(frozen=True)
class WatchOptions:
    """How a watch screens its file; the column options apply to counterparty files only
    (a portfolio's columns are recognised by name, see `screening.holdings`)."""

    as_of: str = "today"  # today | latest | YYYY-MM-DD
    lists: tuple[str, ...] | None = None  # None: every list
    threshold: float = DEFAULT_THRESHOLD
    limit: int = 3  # hits kept per row
    name_column: str | None = None
    id_columns: tuple[str, ...] = ()
    key_column: str | None = None
    country_column: str | None = None
    schema: str = "LegalEntity"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lists"] = list(self.lists) if self.lists is not None else None
        data["id_columns"] = list(self.id_columns)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WatchOptions:
        values = dict(data)
        values["lists"] = tuple(values["lists"]) if values.get("lists") is not None else None
        values["id_columns"] = tuple(values.get("id_columns") or ())
        return cls(**values)


def read_watched(path: Path, kind: str, options: WatchOptions) -> tuple[str, list[Any]]:
    """The file's SHA-256 and its rows: `InputRow`s (counterparties) or `Holding`s (portfolio)."""
    try:
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ParseError(path, None, f"cannot read the watched file: {exc.strerror}") from None
    if kind == "portfolio":
        return sha256, read_holdings(path)
    rows = read_parties(
        path,
        name_column=options.name_column,
        id_columns=options.id_columns,
        key_column=options.key_column,
        country_column=options.country_column,
        schema=options.schema,
    )
    return sha256, list(rows)


def find_counterparties(
    store: Store,
    path: Path,
    options: WatchOptions,
    *,
    day: date,
    book: ProgramBook,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """The findings for a counterparty file on `day` (see the module docstring)."""
    sha256, rows = read_watched(path, "counterparties", options)
    screener = Screener(
        store, as_of=day, lists=options.lists, threshold=options.threshold, cache_dir=cache_dir
    )
    results = screener.screen_all(rows, limit=options.limit, only_matches=True)
    hit_ids = sorted({h.entity.entity_id or "" for r in results for h in r.hits} - {""})
    standing = _standing(store, hit_ids, day)
    listings = {listing.entity_id: listing for listing in listings_of(store, hit_ids)}
    links = parent_links(store, listings.values(), book=book)  # every row's, in two queries
    subjects: dict[str, Any] = {}
    for result in results:
        query = result.query
        names = [n for n in (query.names if query else ()) if n.strip()]
        idents = sorted(f"{s}:{v}" for s, vs in (query.identifiers if query else {}).items() for v in vs)
        own_key = result.key if options.key_column else None
        party = subject_name(query)
        label = "; ".join(names) or "; ".join(idents) or f"row {result.row_number}"
        found = [listings[h.entity.entity_id] for h in result.hits if h.entity.entity_id in listings]
        hits = {
            h.entity.entity_id: {
                "caption": h.caption,
                "list": h.entity.listing.list_id if h.entity.listing else "",
                "how": f"score {h.score:.3f}",
                "score": round(h.score, 4),
                **standing.get(h.entity.entity_id, {}),
            }
            for h in result.hits
            if h.entity.entity_id
        }
        effects: list[Effect] = []
        if found:
            parents = linked_parents(store, found, book=book, exclude=set(hits), links=links)
            effects, _ = listing_effects(found, parents, as_of=day, book=book)
        key = own_key or party or f"row {result.row_number}"
        subjects[_unique(key, subjects)] = {
            "row": result.row_number,
            "label": f"{own_key} ({label})" if own_key else label,
            "own_key": own_key,
            "name_key": party,
            "error": result.error,
            "hits": hits,
            "effects": _effects(effects),
        }
    return {"file_sha256": sha256, "rows": len(results), "subjects": subjects}


def find_holdings(
    store: Store,
    path: Path,
    options: WatchOptions,
    *,
    day: date,
    book: ProgramBook,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """The findings for a portfolio on `day` (see the module docstring)."""
    sha256, holdings = read_watched(path, "portfolio", options)
    result = screen_portfolio(
        store,
        holdings,
        as_of=day,
        lists=options.lists,
        threshold=options.threshold,
        cache_dir=cache_dir,
        book=book,
    )
    matched = [m for r in result.holdings for m in r.matches if m.how != "subsidiary"]
    standing = _standing(store, sorted({m.entity_id for m in matched}), day)
    subjects: dict[str, Any] = {}
    for item in result.holdings:
        holding = item.holding
        key = holding.key if holding.keyed else holding.label
        hits = {
            m.entity_id: {
                "caption": m.caption,
                "list": m.list_id,
                "how": f"{m.how}: {m.detail}",
                "score": round(m.score, 4) if m.score is not None else None,
                **standing.get(m.entity_id, {}),
            }
            for m in item.matches
            if _is_hit(m.how, standing.get(m.entity_id, {}))
        }
        subjects[_unique(key, subjects)] = {
            "row": holding.row_number,
            "label": f"{key} ({holding.label})" if holding.keyed else holding.label,
            "error": holding.error,
            "hits": hits,
            "effects": _effects(item.effects),
        }
    return {"file_sha256": sha256, "rows": len(holdings), "subjects": subjects}


def _is_hit(how: str, standing: dict[str, Any]) -> bool:
    """Whether a holding's match counts as a hit: an entry on its list that day (an identifier
    finds entries whatever the day), and not a listed subsidiary (shown by `listwatch portfolio`,
    but it does not restrict the holding)."""
    return how != "subsidiary" and standing.get("state") in _ON_LIST


def _unique(key: str, taken: dict[str, Any]) -> str:
    """The subject's key, numbered when the file repeats it (`ACME #2`)."""
    if key not in taken:
        return key
    number = 2
    while f"{key} #{number}" in taken:
        number += 1
    return f"{key} #{number}"


def _effects(effects: Iterable[Effect]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for e in effects:
        key = f"{e.entity_id}|{e.rule_id}|{e.via or ''}"
        found.setdefault(
            key,
            {
                "entity_id": e.entity_id,
                "caption": e.caption,
                "list": e.list_id,
                "program": e.program_id,
                "kind": e.kind,
                "state": e.state,
                "start": e.start.isoformat() if e.start else None,
                "end": e.end.isoformat() if e.end else None,
                "reason": e.reason,
                "via": e.via,
            },
        )
    return found


def _standing(store: Store, entity_ids: Sequence[str], day: date) -> dict[str, dict[str, Any]]:
    """Where each entity stood on its list on `day`, and the record version then in force."""
    found = {}
    for eid, standing in standings(store, entity_ids, as_of=day).items():
        r = standing.replay
        found[eid] = {
            "state": r.state,
            "since": r.since.isoformat() if r.since else None,
            "last_event": f"{r.last.kind} {r.last.effective_on}" if r.last is not None else None,
            "fingerprint": standing.version.fingerprint if standing.version is not None else None,
        }
    return found


def why_gone(store: Store, entity_ids: Iterable[str], day: date) -> dict[str, str]:
    """For entities whose listing ended by `day`: how ("vacated 2021-05-25")."""
    replays = {eid: s.replay for eid, s in standings(store, sorted(entity_ids), as_of=day).items()}
    return {
        eid: f"{r.last.kind} {r.last.effective_on}"
        for eid, r in replays.items()
        if not r.live and r.last is not None and r.last.kind in ENDING_KINDS
    }


def acknowledge_dismissed(
    store: Store, alerts: list[Alert], before: dict[str, Any] | None, after: dict[str, Any], now: datetime
) -> list[Alert]:
    """Acknowledge, on raising them, the alerts about a hit an analyst dismissed as a false positive
    on the same record version (`screening.reviews`): kept, but not shown or posted by default."""
    about: list[HitSubject | None] = []
    for alert in alerts:
        found = _hit_of(alert, before, after)
        if found is None:
            about.append(None)
            continue
        subject, hit = found
        own_key, key = subject.get("own_key"), subject.get("name_key")
        about.append(HitSubject(own_key, key, alert.entity_id or "", hit["fingerprint"]))
    statuses = iter(review_statuses(store, [s for s in about if s is not None]))
    kept = []
    for alert, hit_subject in zip(alerts, about, strict=True):
        status = next(statuses) if hit_subject is not None else None
        if status is not None and status.state == "dismissed" and status.review is not None:
            by = f"review #{status.review.review_id} (false positive, {status.review.analyst})"
            payload = {**alert.payload, "review": status.to_dict()}
            alert = replace(
                alert, acknowledged=True, acknowledged_at=now, acknowledged_by=by, payload=payload
            )
        kept.append(alert)
    return kept


def _hit_of(
    alert: Alert, before: dict[str, Any] | None, after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The subject and the hit an alert is about, with the record version it was matched on."""
    if alert.entity_id is None:
        return None
    for findings in (after, before or {}):
        subject = findings.get("subjects", {}).get(alert.subject)
        hit = subject.get("hits", {}).get(alert.entity_id) if subject else None
        if subject is not None and hit is not None and hit.get("fingerprint"):
            return subject, hit
    return None
