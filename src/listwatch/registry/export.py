"""FollowTheMoney interchange: entities plus one `Sanction` entity per listing period.

Built with the followthemoney model itself, so property names and value types are the model's; an
OpenSanctions or yente user can load the output as it is.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from listwatch.catalog import LISTS, get_list
from listwatch.identifiers import FTM_IDENTIFIER_PROPS
from listwatch.store import Store, queries

__all__ = ["ListingPeriod", "entity_proxy", "export_ftm", "listing_periods"]

_NAME_PROPS = {
    "primary": "name",
    "alias": "alias",
    "weak_alias": "weakAlias",
    "previous": "previousName",
    "abbreviation": "abbreviation",
}


@dataclass(frozen=True)
class ListingPeriod:
    """A span during which an entity stood on a list; `end` None means it still stands."""

    entity_id: str
    list_id: str
    start: date
    start_basis: str
    end: date | None
    end_reason: str | None  # delisted | vacated
    citation: str | None
    source_url: str | None
    legal_basis: str | None
    note: str | None


def listing_periods(events: Sequence[Any]) -> list[ListingPeriod]:
    """Fold one entity's events (in date order) into listing periods."""
    periods: list[ListingPeriod] = []
    open_: Any = None
    for ev in events:
        if ev.kind == "listed" and open_ is None:
            open_ = ev
        elif ev.kind in ("delisted", "vacated") and open_ is not None:
            periods.append(_period(open_, ev))
            open_ = None
    if open_ is not None:
        periods.append(_period(open_, None))
    return periods


def _period(start: Any, end: Any) -> ListingPeriod:
    return ListingPeriod(
        entity_id=start.entity_id,
        list_id=start.list_id,
        start=start.effective_on,
        start_basis=start.date_basis,
        end=end.effective_on if end else None,
        end_reason=end.kind if end else None,
        citation=start.citation,
        source_url=start.source_url,
        legal_basis=start.legal_basis,
        note=start.note,
    )


def export_ftm(store: Store, handle: IO[str], *, list_ids: Sequence[str] | None = None) -> int:
    """Write FtM JSON lines to `handle`; returns the number of entities written."""
    from followthemoney import model

    for list_id in list_ids or ():
        get_list(list_id)
    count = 0
    with store.engine.connect() as conn:
        wanted = set(list_ids) if list_ids else None
        for row in queries.all_lists(conn):
            if wanted is not None and row.id not in wanted:
                continue
            entity_rows = queries.entities_of_list(conn, row.id)
            events: dict[str, list[Any]] = defaultdict(list)
            for ev in queries.events_for(conn, [e.id for e in entity_rows]):
                events[ev.entity_id].append(ev)
            latest = {eid: evs[-1].record_id for eid, evs in events.items()}
            data = queries.record_data(conn, list(latest.values()))
            for entity in entity_rows:
                record = data.get(latest.get(entity.id, -1))
                if record is None:
                    continue
                proxy = entity_proxy(model, entity, record)
                handle.write(json.dumps(proxy.to_dict(), ensure_ascii=False) + "\n")
                count += 1
                for period in listing_periods(events[entity.id]):
                    sanction = _sanction_proxy(model, entity, record, period)
                    handle.write(json.dumps(sanction.to_dict(), ensure_ascii=False) + "\n")
                    count += 1
    return count


def entity_proxy(model: Any, entity: Any, record: dict[str, Any]) -> Any:
    proxy = model.make_entity(entity.schema if model.get(entity.schema) else "LegalEntity")
    proxy.id = entity.id
    for name in record.get("names", []):
        prop = _NAME_PROPS.get(name["kind"], "alias")
        proxy.add(prop if prop in proxy.schema.properties else "alias", name["value"], quiet=True)
    for ident in record.get("identifiers", []):
        ident_prop = FTM_IDENTIFIER_PROPS.get(ident["scheme"])
        if ident_prop is None or ident_prop not in proxy.schema.properties:
            ident_prop = "idNumber" if "idNumber" in proxy.schema.properties else "notes"
        value = ident["value"]
        if ident["scheme"] == "ticker" and ident.get("exchange"):
            value = f"{value} {ident['exchange']}"
        proxy.add(ident_prop, value, quiet=True)
    for country in record.get("countries", []):
        proxy.add("country", country, quiet=True)
    for address in record.get("addresses", []):
        full = ", ".join(p for p in (address.get("street"), address.get("city"), address.get("country")) if p)
        proxy.add("address", full, quiet=True)
    for birth in record.get("birth_dates", []):
        proxy.add("birthDate", birth, quiet=True)
    for program in record.get("programs", []):
        proxy.add("program", program, quiet=True)
    if record.get("remarks"):
        proxy.add("notes", record["remarks"], quiet=True)
    proxy.add("topics", "sanction", quiet=True)
    return proxy


def _sanction_proxy(model: Any, entity: Any, record: dict[str, Any], period: ListingPeriod) -> Any:
    sanction = model.make_entity("Sanction")
    sanction.id = f"{entity.id}-sanction-{period.start.isoformat()}"
    info = LISTS.get(entity.list_id)
    sanction.add("entity", entity.id)
    sanction.add("authority", info.authority if info else entity.list_id)
    sanction.add(
        "program", ", ".join(record.get("programs", [])) or (info.title if info else None), quiet=True
    )
    sanction.add("listingDate", record.get("listed_on") or period.start.isoformat(), quiet=True)
    sanction.add("startDate", period.start.isoformat())
    if period.end is not None:
        sanction.add("endDate", period.end.isoformat())
    sanction.add("reason", period.note or period.legal_basis, quiet=True)
    sanction.add("sourceUrl", period.source_url or (info.url if info else None), quiet=True)
    sanction.add("summary", period.citation, quiet=True)
    sanction.add("country", info.country if info else None, quiet=True)
    if period.end_reason == "vacated":
        sanction.add("status", "vacated by court order", quiet=True)
    return sanction
