"""Analysts' decisions on screening hits, and how they carry over to later runs.

A review says of one hit of one stored run: a true match, or a false positive, why, who, when.
Reviews are appended, never changed; the latest decision counts. A decision is about a *subject*
(the row's own key when the run had a key column, else its normalised name) against one listed
entity *as it then read* (the fingerprint of the record version the hit was scored against). So a
later run shows a hit on the same subject and entity as `dismissed` (false positive) or
`confirmed` (true match), until the list publishes a changed record for the entity: the review
is then `stale` and the hit counts as open again.

    review = record_review(store, "run-0001", "2:us-dod-1237-ccmc-china-mobile-communications-group",
                           decision="false_positive", comment="subsidiary, not the group", analyst="ana")
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy.exc import SQLAlchemyError

from listwatch.errors import InvalidQuery, StoreError, UnknownHit, UnknownRun
from listwatch.matching.query import MatchQuery
from listwatch.model import name_key
from listwatch.store import Store, audit
from listwatch.store.timestamps import as_utc

__all__ = [
    "DECISIONS",
    "EXPORT_SUFFIXES",
    "REVIEW_STATES",
    "HitSubject",
    "Review",
    "ReviewStatus",
    "export_wants_json",
    "list_reviews",
    "record_review",
    "review_statuses",
    "subject_name",
    "write_reviews",
]

DECISIONS = ("true_match", "false_positive")
#: open: never reviewed; confirmed / dismissed: a true match / false positive on this very record
#: version; stale: reviewed, but the entity's record has changed since (counts as open).
REVIEW_STATES = ("open", "confirmed", "dismissed", "stale")
EXPORT_SUFFIXES = (".csv", ".json")
_EXPORT_COLUMNS = (
    "review", "reviewed_at", "analyst", "run", "row", "key", "query", "entity_id", "caption", "list",
    "decision", "comment", "record", "fingerprint",
)  # fmt: skip


@dataclass(frozen=True)
class Review:
    review_id: int
    run_id: int
    row_number: int
    entity_id: str
    own_key: str | None
    name_key: str | None
    record_id: int
    fingerprint: str
    decision: str
    comment: str
    analyst: str
    reviewed_at: datetime
    caption: str | None = None  # the listed entity's caption in the run (for exports)
    list_id: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Review:
        mapping = row._mapping
        return cls(
            review_id=row.id,
            run_id=row.run_id,
            row_number=row.row_number,
            entity_id=row.entity_id,
            own_key=row.own_key,
            name_key=row.name_key,
            record_id=row.record_id,
            fingerprint=row.fingerprint,
            decision=row.decision,
            comment=row.comment,
            analyst=row.analyst,
            reviewed_at=as_utc(row.reviewed_at),
            caption=mapping.get("caption"),
            list_id=mapping.get("list_id"),
        )

    @property
    def run(self) -> str:
        return audit.run_label(self.run_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "review": self.review_id,
            "reviewed_at": self.reviewed_at.isoformat(),
            "analyst": self.analyst,
            "run": self.run,
            "row": self.row_number,
            "key": self.own_key,
            "query": self.name_key,
            "entity_id": self.entity_id,
            "caption": self.caption,
            "list": self.list_id,
            "decision": self.decision,
            "comment": self.comment,
            "record": self.record_id,
            "fingerprint": self.fingerprint,
        }


def subject_name(query: MatchQuery | None) -> str | None:
    """A row's party when it has no own key: its normalised names, else its identifiers.

    Screening runs store it with their rows and watches compute it for their subjects, so a review
    made on a run is found again by a watch: `subject_name(MatchQuery(names=("!!!",),
    identifiers={"isin": ("KYG9830T1067",)}))` is `"isin:KYG9830T1067"`.
    """
    if query is None:
        return None
    names = [n for n in query.names if n.strip()]
    idents = sorted(
        f"{s}:{v.strip()}" for s, values in query.identifiers.items() for v in values if v.strip()
    )
    return name_key(" ".join(names)) or "; ".join(idents) or None


@dataclass(frozen=True, slots=True)
class HitSubject:
    """What a review is about: a party (own key or normalised name) against an entity's version."""

    own_key: str | None
    name_key: str | None
    entity_id: str
    fingerprint: str

    def same_party(self, review: Review) -> bool:
        if review.entity_id != self.entity_id:
            return False
        if self.own_key is not None and review.own_key is not None:
            return self.own_key == review.own_key
        return self.name_key is not None and self.name_key == review.name_key


@dataclass(frozen=True, slots=True)
class ReviewStatus:
    state: str  # one of REVIEW_STATES
    review: Review | None = None  # the decision in force; for `stale`, the latest one made

    @property
    def open(self) -> bool:
        """Whether the hit still asks for attention: anything but a standing false positive."""
        return self.state != "dismissed"

    def describe(self) -> str:
        """`dismissed (#3 ana 2026-11-25)`: the state and the review it rests on."""
        if self.review is None:
            return self.state
        r = self.review
        return f"{self.state} (#{r.review_id} {r.analyst} {r.reviewed_at.date().isoformat()})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "review": self.review.review_id if self.review else None,
            "decision": self.review.decision if self.review else None,
            "analyst": self.review.analyst if self.review else None,
            "comment": self.review.comment if self.review else None,
            "reviewed_at": self.review.reviewed_at.isoformat() if self.review else None,
        }


def review_statuses(store: Store, subjects: Sequence[HitSubject]) -> list[ReviewStatus]:
    """The review status of each hit, in the order given (one query for all of them)."""
    if not subjects:
        return []
    with store.engine.connect() as conn:
        found = [Review.from_row(r) for r in audit.reviews_of_entities(conn, [s.entity_id for s in subjects])]
    return [_status(subject, found) for subject in subjects]


def _status(subject: HitSubject, reviews: Sequence[Review]) -> ReviewStatus:
    mine = [r for r in reviews if subject.same_party(r)]  # oldest first
    if not mine:
        return ReviewStatus("open")
    current = [r for r in mine if r.fingerprint == subject.fingerprint]
    if not current:
        return ReviewStatus("stale", mine[-1])
    latest = current[-1]
    return ReviewStatus("dismissed" if latest.decision == "false_positive" else "confirmed", latest)


def record_review(store: Store, run: str, hit: str, *, decision: str, comment: str, analyst: str) -> Review:
    """Append a decision on hit `hit` of run `run`.

    `hit` is the hit's number in the run (`listwatch runs show`) or `ROW:ENTITY_ID`.
    """
    if decision not in DECISIONS:
        raise InvalidQuery(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not comment.strip():
        raise InvalidQuery("--comment: say why (the comment is part of the audit trail)")
    run_id = audit.parse_run_label(run)
    label = audit.run_label(run_id)
    try:
        with store.engine.begin() as conn:
            if audit.run_by_id(conn, run_id) is None:
                raise UnknownRun(run)
            found = _find_hit(audit.run_hits_of(conn, run_id), label, hit)
            row = next(r for r in audit.run_rows_of(conn, run_id) if r.row_number == found.row_number)
            values = {
                "run_id": run_id,
                "row_number": found.row_number,
                "entity_id": found.entity_id,
                "own_key": row.own_key,
                "name_key": row.name_key,
                "record_id": found.record_id,
                "fingerprint": found.fingerprint,
                "decision": decision,
                "comment": comment.strip(),
                "analyst": analyst,
                "reviewed_at": datetime.now(UTC),
            }
            review_id = audit.insert_review(conn, values)
    except SQLAlchemyError as exc:
        raise StoreError(f"the review was not stored: {exc}") from None
    return Review(
        review_id=review_id,
        run_id=run_id,
        row_number=found.row_number,
        entity_id=found.entity_id,
        own_key=row.own_key,
        name_key=row.name_key,
        record_id=found.record_id,
        fingerprint=found.fingerprint,
        decision=decision,
        comment=values["comment"],
        analyst=analyst,
        reviewed_at=values["reviewed_at"],
        caption=found.data.get("caption"),
        list_id=found.list_id,
    )


def _find_hit(hits: Sequence[Any], label: str, ref: str) -> Any:
    text = ref.strip()
    if not hits:
        raise UnknownHit(label, ref, "the run has no hits")
    if text.isdigit():
        number = int(text)
        for hit in hits:
            if hit.number == number:
                return hit
        raise UnknownHit(label, ref, f"its hits are numbered 1 to {len(hits)}")
    row_text, sep, entity_id = text.partition(":")
    if not sep or not row_text.strip().isdigit() or not entity_id.strip():
        raise UnknownHit(label, ref, "name a hit by its number or as ROW:ENTITY_ID")
    row_number = int(row_text)
    in_row = [h for h in hits if h.row_number == row_number]
    for hit in in_row:
        if hit.entity_id == entity_id.strip():
            return hit
    if not in_row:
        raise UnknownHit(label, ref, f"row {row_number} has no hits")
    ids = ", ".join(h.entity_id for h in in_row)
    raise UnknownHit(label, ref, f"row {row_number}'s hits are {ids}")


def list_reviews(store: Store) -> list[Review]:
    """Every review ever made, oldest first (the full history, superseded decisions included)."""
    with store.engine.connect() as conn:
        return [Review.from_row(r) for r in audit.all_reviews(conn)]


def write_reviews(found: Sequence[Review], handle: IO[str], *, as_json: bool = False) -> None:
    """CSV (one line per review) or a JSON array, to an open text handle."""
    rows = [r.to_dict() for r in found]
    if as_json:
        json.dump(rows, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
        return
    writer = csv.DictWriter(handle, fieldnames=_EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)


def export_wants_json(path: Path) -> bool:
    """Whether `path` asks for JSON (else CSV); refuses other suffixes."""
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise InvalidQuery(f"--out: unsupported export {path.name!r}; use {', '.join(EXPORT_SUFFIXES)}")
    return suffix == ".json"
