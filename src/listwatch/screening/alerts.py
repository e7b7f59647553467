"""Alerts: what changed for a watched file between two evaluations.

An evaluation's *findings* say, for each subject (a row of a counterparty file, a holding of a
portfolio), which listed entities it hits, where each stood on its list that day, and the legal
effects those listings have on the party with their states. `diff_findings` compares two findings
and says what changed, one `Alert` per change:

| kind | when |
|---|---|
| `new_hit` | the subject hits an entity it did not hit before |
| `cleared_hit` | a hit is gone (delisted, vacated, or no longer a match) |
| `hit_changed` | a hit's listing changed state (listed, suspended...) or its record was amended |
| `effect_pending` | an effect is known but starts later ("purchase ban due 2021-03-15") |
| `effect_started` | an effect is in force (newly, or again after a court order) |
| `effect_suspended` | a court order suspends an effect |
| `effect_ended` | an effect ended, or no longer reaches the subject |
| `effect_changed` | an effect's dates moved, its state unchanged |
| `file_changed` | the watched file's content changed since the last evaluation |
| `watch_failed` | the watch could not be evaluated (a new error; the same error is not repeated) |

    alerts = diff_findings(before, after, watch="parties", as_of=date(2021, 3, 13), why_gone={})
    [a.kind for a in alerts]  # ['hit_changed', 'effect_suspended', 'effect_suspended', ...]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from listwatch.store.timestamps import as_utc

__all__ = ["ALERT_KINDS", "Alert", "diff_findings", "file_change_alert", "gone_entities"]

ALERT_KINDS = (
    "new_hit",
    "hit_changed",
    "cleared_hit",
    "effect_pending",
    "effect_started",
    "effect_suspended",
    "effect_changed",
    "effect_ended",
    "file_changed",
    "watch_failed",
)
_BY_STATE = {"pending": "effect_pending", "in_force": "effect_started", "suspended": "effect_suspended"}


@dataclass(frozen=True)
class Alert:
    """One change found for one watch; `alert_id` is None until stored."""

    watch: str
    kind: str  # one of ALERT_KINDS
    subject: str  # the row or holding ("(file)" or "(watch)" for the watch itself)
    detail: str  # one line for people
    as_of: date
    entity_id: str | None = None
    list_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)  # before / after, for machines
    alert_id: int | None = None
    created_at: datetime | None = None
    acknowledged: bool = False
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Alert:
        """From an `alerts` row joined with its watch's name as `watch_name`."""
        return cls(
            watch=row.watch_name,
            kind=row.kind,
            subject=row.subject,
            detail=row.detail,
            as_of=row.as_of,
            entity_id=row.entity_id,
            list_id=row.list_id,
            payload=dict(row.payload or {}),
            alert_id=row.id,
            created_at=as_utc(row.created_at),
            acknowledged=bool(row.acknowledged),
            acknowledged_at=as_utc(row.acknowledged_at),
            acknowledged_by=row.acknowledged_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.alert_id,
            "watch": self.watch,
            "kind": self.kind,
            "subject": self.subject,
            "detail": self.detail,
            "as_of": self.as_of.isoformat(),
            "entity_id": self.entity_id,
            "list": self.list_id,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "acknowledged": self.acknowledged,
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "acknowledged_by": self.acknowledged_by,
            "payload": self.payload,
        }


def gone_entities(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> set[str]:
    """Entities hit, or reached by an effect, before and no longer: those whose end wants a reason."""
    if not before:
        return set()
    gone: set[str] = set()
    now = after.get("subjects", {})
    for subject, old in before.get("subjects", {}).items():
        new = now.get(subject)
        if new is None:
            continue
        gone |= set(old.get("hits", {})) - set(new.get("hits", {}))
        gone |= {
            e["entity_id"] for k, e in old.get("effects", {}).items() if k not in new.get("effects", {})
        } - {None}
    return gone


def diff_findings(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    *,
    watch: str,
    as_of: date,
    why_gone: Mapping[str, str],
) -> list[Alert]:
    """The alerts for what changed from `before` (None: the first evaluation, where everything
    found is new) to `after`, in the file's row order. `why_gone` says, for entities no longer hit,
    why ("vacated 2021-05-25"). Subjects no longer in the file raise no alert of their own (see
    `file_change_alert`)."""
    old_subjects = (before or {}).get("subjects", {})
    found: list[tuple[int, int, Alert]] = []
    for subject, new in after.get("subjects", {}).items():
        old = old_subjects.get(subject, {})
        context = _Context(watch, subject, new.get("label") or subject, as_of, why_gone)
        for alert in [
            *_hit_alerts(context, old.get("hits", {}), new.get("hits", {})),
            *_effect_alerts(context, old.get("effects", {}), new.get("effects", {}), first=before is None),
        ]:
            found.append((int(new.get("row") or 0), ALERT_KINDS.index(alert.kind), alert))
    found.sort(key=lambda item: (item[0], item[1]))
    return [alert for _, _, alert in found]


def file_change_alert(
    before: Mapping[str, Any], after: Mapping[str, Any], *, watch: str, as_of: date
) -> Alert | None:
    """One alert when the watched file's content changed since the last evaluation."""
    old_sha, new_sha = before.get("file_sha256"), after.get("file_sha256")
    if old_sha == new_sha:
        return None
    old_subjects, new_subjects = set(before.get("subjects", {})), set(after.get("subjects", {}))
    added, removed = sorted(new_subjects - old_subjects), sorted(old_subjects - new_subjects)
    detail = (
        f"the watched file changed (sha256 {str(old_sha)[:12]} -> {str(new_sha)[:12]}): "
        f"{len(added)} row(s) added, {len(removed)} removed"
    )
    if removed:
        detail += f" ({', '.join(removed[:5])}{', ...' if len(removed) > 5 else ''}; no alerts for them)"
    payload = {"before": old_sha, "after": new_sha, "added": added, "removed": removed}
    return Alert(watch, "file_changed", "(file)", detail, as_of, payload=payload)


@dataclass(frozen=True)
class _Context:
    watch: str
    subject: str
    label: str
    as_of: date
    why_gone: Mapping[str, str]

    def alert(
        self,
        kind: str,
        detail: str,
        entity: Mapping[str, Any],
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> Alert:
        entity_id = entity.get("entity_id") or entity.get("id")
        payload = {
            "label": self.label,
            "entity": {"id": entity_id, "caption": entity.get("caption")},
            "before": dict(before) if before is not None else None,
            "after": dict(after) if after is not None else None,
        }
        return Alert(
            self.watch,
            kind,
            self.subject,
            f"{self.label}: {detail}",
            self.as_of,
            entity_id=entity_id,
            list_id=entity.get("list"),
            payload=payload,
        )


def _hit_alerts(context: _Context, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Alert]:
    alerts = []
    for entity_id, hit in new.items():
        hit = {**hit, "id": entity_id}
        was = old.get(entity_id)
        name = f"{hit['caption']} on {hit['list']}"
        if was is None:
            detail = f"matches {name} ({hit.get('how') or 'name'}); {_standing(hit)}"
            alerts.append(context.alert("new_hit", detail, hit, None, hit))
            continue
        changes = []
        if was.get("state") != hit.get("state"):
            changes.append(f"now {_standing(hit)}, was {was.get('state')}")
        if was.get("fingerprint") != hit.get("fingerprint"):
            changes.append("the list published a changed record")
        if changes:
            alerts.append(context.alert("hit_changed", f"{name}: {'; '.join(changes)}", hit, was, hit))
    for entity_id, was in old.items():
        if entity_id not in new:
            was = {**was, "id": entity_id}
            why = context.why_gone.get(entity_id) or "no longer a match above the threshold"
            detail = f"no longer hits {was['caption']} on {was['list']}: {why}"
            alerts.append(context.alert("cleared_hit", detail, was, was, None))
    return alerts


def _standing(hit: Mapping[str, Any]) -> str:
    """`listed since 2021-01-14`, `suspended (enjoined 2021-03-12)`."""
    state = str(hit.get("state") or "unknown").replace("_", " ")
    if state == "listed" and hit.get("since"):
        return f"listed since {hit['since']}"
    return f"{state} ({hit['last_event']})" if hit.get("last_event") else state


def _effect_alerts(
    context: _Context, old: Mapping[str, Any], new: Mapping[str, Any], *, first: bool
) -> list[Alert]:
    alerts = []
    for key, effect in new.items():
        was = old.get(key)
        state = effect["state"]
        if was is not None and was["state"] == state:
            if (was.get("start"), was.get("end")) != (effect.get("start"), effect.get("end")):
                detail = (
                    f"{_effect_name(effect)} {state.replace('_', ' ')}: now {_span(effect)}, was {_span(was)}"
                )
                alerts.append(context.alert("effect_changed", detail, effect, was, effect))
            continue
        if state == "ended":
            if was is None:
                continue  # ended before we first looked: nothing changed
            kind, detail = "effect_ended", f"{_effect_name(effect)} ended after {effect.get('end')}"
        elif state in _BY_STATE:
            kind, detail = _BY_STATE[state], _effect_text(effect, was)
        else:
            continue  # unknown: the day is before the list's earliest snapshot
        alerts.append(context.alert(kind, detail, effect, was, effect))
    if not first:
        for key, was in old.items():
            if key in new or was["state"] == "ended":
                continue
            why = (
                context.why_gone.get(was.get("entity_id") or "") or "its listing no longer reaches this party"
            )
            detail = f"{_effect_name(was)} no longer applies: {why}"
            alerts.append(context.alert("effect_ended", detail, was, was, None))
    return alerts


def _effect_name(effect: Mapping[str, Any]) -> str:
    via = f" via {effect['via']}" if effect.get("via") else ""
    return f"{str(effect['kind']).replace('_', ' ')} ({effect['caption']}, {effect['list']}{via})"


def _effect_text(effect: Mapping[str, Any], was: Mapping[str, Any] | None) -> str:
    name, state = _effect_name(effect), effect["state"]
    if state == "pending":
        text = f"{name} pending, due {effect.get('start')}"
    elif state == "in_force":
        again = was is not None and was["state"] == "suspended"
        text = f"{name} in force{' again' if again else ''} from {effect.get('start')}"
    else:
        text = f"{name} suspended"
    return f"{text}: {effect.get('reason')}" if effect.get("reason") else text


def _span(effect: Mapping[str, Any]) -> str:
    return f"{effect.get('start') or '?'} to {effect.get('end') or 'open'}"
