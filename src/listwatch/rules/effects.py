"""The legal effect of an entity's listings on a day: the answer behind `listwatch effect`.

`legal_effect` finds the entities a QUERY names (as `listwatch status` does), their parents (from
the links the lists publish, and from the user's ownership file) and the owners the ownership file
names, reads their histories from the store, and lets the engine apply the programs' rules. An
ownership file adds OFAC's 50 percent rule: an entity that no list names can be blocked because
blocked persons own it.

    report = legal_effect(store, "Xiaomi", as_of=date(2021, 3, 11))
    report.next_change.text  # 'purchase ban starts 2021-03-15'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from listwatch.errors import InvalidQuery, UnknownEntity
from listwatch.model import name_key
from listwatch.registry.history import find_entities
from listwatch.rules.engine import (
    STATES,
    Change,
    Effect,
    EffectInterval,
    effect_timeline,
    effects_on,
    listing_windows,
    next_change,
)
from listwatch.rules.listings import Listing
from listwatch.rules.ownership import (
    Holding,
    OwnershipGraph,
    blocked_nodes,
    blocked_since,
    blocked_stretches,
    build_graph,
    read_ownership,
)
from listwatch.rules.parents import Parent, entity_ids_named, linked_parents, listings_of, unique_parents
from listwatch.rules.programs import Program, ProgramBook, load_programs
from listwatch.store import Store

__all__ = ["EffectReport", "legal_effect", "legal_effect_timeline", "listing_effects", "listing_timeline"]

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class EffectReport:
    query: str
    as_of: date
    entities: tuple[Listing, ...]  # the stored entries the query names
    effects: tuple[Effect, ...]
    next_change: Change | None
    notes: tuple[str, ...]
    ownership_file: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "as_of": self.as_of.isoformat(),
            "entities": [{"id": e.entity_id, "list": e.list_id, "caption": e.caption} for e in self.entities],
            "effects": [e.to_dict() for e in self.effects],
            "next_change": self.next_change.to_dict() if self.next_change else None,
            "notes": list(self.notes),
            "ownership_file": self.ownership_file,
        }


@dataclass(frozen=True)
class _Subject:
    listings: tuple[Listing, ...]
    parents: tuple[Parent, ...]
    graph: OwnershipGraph | None
    nodes: frozenset[int]  # the subject's nodes in the ownership graph
    owners: dict[str, list[Listing]]  # entity id -> its listings, for every party of the graph
    notes: tuple[str, ...]


def legal_effect(
    store: Store,
    query: str,
    *,
    as_of: date,
    ownership: Path | None = None,
    book: ProgramBook | None = None,
) -> EffectReport:
    """The effects in force, pending, suspended or ended on `as_of` for the entities `query` names."""
    book = book or load_programs()
    subject = _gather(store, query, ownership, book)
    effects = _direct_effects(subject.listings, subject.parents, book, as_of)
    notes = list(subject.notes)
    for list_id in sorted({listing.list_id for listing in subject.listings}):
        if list_id in book.not_modelled:
            notes.append(f"no legal effect is modelled for {list_id}: {book.not_modelled[list_id]}")
    if subject.graph is not None:
        found, more = _ownership_effects(subject, book, query, as_of, effects)
        effects += found
        notes += more
    effects = _sorted_unique(effects, book)
    return EffectReport(
        query=query,
        as_of=as_of,
        entities=subject.listings,
        effects=tuple(effects),
        next_change=next_change(effects, as_of),
        notes=tuple(notes),
        ownership_file=str(ownership) if ownership else None,
    )


def legal_effect_timeline(
    store: Store,
    query: str,
    *,
    start: date,
    end: date,
    ownership: Path | None = None,
    book: ProgramBook | None = None,
) -> list[EffectInterval]:
    """Every stretch of days in [start, end] over which an effect reached the entities `query`
    names, with hindsight (every stored event), in date order: the basis of portfolio views."""
    if end < start:
        raise InvalidQuery(f"the range ends ({end}) before it starts ({start})")
    book = book or load_programs()
    subject = _gather(store, query, ownership, book)
    found = listing_timeline(subject.listings, subject.parents, start=start, end=end, book=book)
    if subject.graph is not None:
        for program in book.programs:
            if program.ownership is None:
                continue
            blocked_map, points = _ownership_days(subject, program, None)
            blocked_on = _subject_blocked(subject, blocked_map)
            for lo, hi in blocked_stretches(blocked_on, points, start, end):
                for rule in program.rules:
                    found.append(
                        EffectInterval(
                            kind=rule.kind,
                            state="in_force",
                            start=lo,
                            end=hi,
                            reason=f"owned {program.ownership.threshold_percent:g}% or more by blocked persons",
                            program_id=program.id,
                            rule_id=rule.id,
                            list_id=program.lists[0],
                            entity_id=None,
                            caption=query,
                            citations=program.ownership.citations,
                            via="ownership file",
                        )
                    )
    found.sort(key=lambda i: (i.start, i.list_id, i.kind, i.state))
    return found


def listing_effects(
    listings: Sequence[Listing], parents: Sequence[Parent], *, as_of: date, book: ProgramBook
) -> tuple[list[Effect], Change | None]:
    """The effects on `as_of` of known listings and of their parents (`rules.parents`), in report
    order, and the next change: `legal_effect` for callers that have already found the entities."""
    effects = _sorted_unique(_direct_effects(listings, parents, book, as_of), book)
    return effects, next_change(effects, as_of)


def listing_timeline(
    listings: Sequence[Listing], parents: Sequence[Parent], *, start: date, end: date, book: ProgramBook
) -> list[EffectInterval]:
    """Every stretch of days in [start, end] over which an effect of the listings, or one reaching
    them through their parents, was in force or suspended, in date order (hindsight)."""
    found: list[EffectInterval] = []
    for listing in listings:
        found += effect_timeline(listing, book, start=start, end=end)
    for parent in parents:
        for interval in effect_timeline(
            parent.listing, book, start=start, end=end, via=parent.via, subsidiaries_only=True
        ):
            if _reaches(book, interval.program_id, parent.owned_percent):
                found.append(interval)
    found.sort(key=lambda i: (i.start, i.list_id, i.kind, i.state))
    return found


def _direct_effects(
    listings: Sequence[Listing], parents: Sequence[Parent], book: ProgramBook, as_of: date
) -> list[Effect]:
    effects: list[Effect] = []
    for listing in listings:
        effects += effects_on(listing, book, as_of)
    own = {(e.program_id, e.rule_id) for e in effects}
    for parent in parents:
        for effect in effects_on(parent.listing, book, as_of, via=parent.via, subsidiaries_only=True):
            reach = _reaches(book, effect.program_id, parent.owned_percent)
            if reach and (effect.program_id, effect.rule_id) not in own:
                effects.append(effect)
    return effects


def _sorted_unique(effects: list[Effect], book: ProgramBook) -> list[Effect]:
    order = {rule.id: index for index, rule in enumerate(r for p in book.programs for r in p.rules)}
    effects = sorted(
        effects, key=lambda e: (STATES.index(e.state), e.start or date.min, e.list_id, order[e.rule_id])
    )
    return _unique(effects)


def _reaches(book: ProgramBook, program_id: str, owned_percent: float | None) -> bool:
    """Whether a parent's program reaches the subsidiary: always through a published link, through
    the ownership file only above the program's share."""
    program = next(p for p in book.programs if p.id == program_id)
    if program.covers_subsidiaries is None:
        return False
    return owned_percent is None or owned_percent > program.covers_subsidiaries.owned_more_than


def _gather(store: Store, query: str, ownership: Path | None, book: ProgramBook) -> _Subject:
    file = read_ownership(ownership) if ownership is not None else None
    notes: list[str] = []
    with store.engine.connect() as conn:
        try:
            ids = find_entities(conn, query)
        except UnknownEntity:
            owned = {name_key(h.owned) for h in file.holdings} if file else set()
            if name_key(query) not in owned:
                raise
            ids = []
            notes.append(f"{query!r} is on no stored list; its effects come from the ownership file")
        graph = build_graph(file, lambda text: _resolve_party(conn, text)) if file else None
    listings = listings_of(store, ids)
    subject_ids = set(ids)
    parents = linked_parents(store, listings, book=book, exclude=subject_ids)
    nodes: frozenset[int] = frozenset()
    owners: dict[str, list[Listing]] = {}
    if graph is not None:
        nodes = frozenset(graph.nodes_for(ids, query))
        for listing in listings_of(store, sorted(graph.all_entity_ids)):
            owners.setdefault(listing.entity_id, []).append(listing)
        for node in nodes:
            for holding in graph.owners.get(node, []):
                owner_ids = graph.entity_ids[graph.node_of[holding.owner]] - subject_ids
                for listing in (x for eid in sorted(owner_ids) for x in owners.get(eid, [])):
                    via = f"parent {listing.caption} (owns {holding.percent:g}%, ownership file line {holding.line})"
                    parents.append(Parent(listing, via, holding.percent))
    return _Subject(tuple(listings), tuple(unique_parents(parents)), graph, nodes, owners, tuple(notes))


def _resolve_party(conn: Connection, text: str) -> frozenset[str]:
    """The stored entities an ownership file's party names (none for a party on no list)."""
    try:
        return frozenset(find_entities(conn, text))
    except UnknownEntity:
        return frozenset(entity_ids_named(conn, text))
    except InvalidQuery:
        return frozenset()


def _ownership_days(
    subject: _Subject, program: Program, as_of: date | None
) -> tuple[Callable[[date], dict[int, list[Holding]]], list[date]]:
    """Who is blocked under `program` on a day, through ownership included (node -> the holdings
    that block it), and the days on which that can change: the owners' own blocking starts and
    ends. From the events known on `as_of` (every event when None)."""
    assert subject.graph is not None and program.ownership is not None
    graph, rule = subject.graph, program.ownership
    stretches: dict[str, list[tuple[date, date | None]]] = {}
    for entity_id, listings in subject.owners.items():
        for listing in listings:
            if not program.applies_to(listing.list_id, listing.programs):
                continue
            if as_of is not None:
                listing = replace(listing, events=tuple(e for e in listing.events if e.effective_on <= as_of))
            for window in listing_windows(listing, [program]):
                stretches.setdefault(entity_id, []).extend(window.in_force())
    spans = [span for found in stretches.values() for span in found]
    points = sorted({lo for lo, _ in spans} | {hi + _DAY for _, hi in spans if hi is not None})

    def blocked_on(day: date) -> dict[int, list[Holding]]:
        live = {
            eid
            for eid, found in stretches.items()
            if any(lo <= day and (hi is None or day <= hi) for lo, hi in found)
        }
        seed = {node for node, ids in graph.entity_ids.items() if ids & live}
        return blocked_nodes(graph, seed, rule)

    return blocked_on, points


def _subject_blocked(
    subject: _Subject, blocked_map: Callable[[date], dict[int, list[Holding]]]
) -> Callable[[date], bool]:
    def blocked_on(day: date) -> bool:
        return bool(subject.nodes & set(blocked_map(day)))

    return blocked_on


def _ownership_effects(
    subject: _Subject, book: ProgramBook, query: str, as_of: date, effects: list[Effect]
) -> tuple[list[Effect], list[str]]:
    """Effects of the 50 percent rule on `as_of`, and notes on owners that do not reach it."""
    assert subject.graph is not None
    graph = subject.graph
    entity_id = subject.listings[0].entity_id if subject.listings else None
    caption = subject.listings[0].caption if subject.listings else query
    found: list[Effect] = []
    notes: list[str] = []
    for program in book.programs:
        rule = program.ownership
        if rule is None or program.enacted > as_of:
            continue
        if any(e.program_id == program.id and e.state == "in_force" and e.via is None for e in effects):
            continue  # blocked by its own listing
        blocked_map, points = _ownership_days(subject, program, as_of)
        today = blocked_map(as_of)
        blocking = [h for node in subject.nodes if node in today for h in today[node]]
        if not blocking:
            held = [
                h
                for node in subject.nodes
                for h in graph.owners.get(node, [])
                if graph.node_of[h.owner] in today
            ]
            if held:
                share = sum(h.percent for h in held)
                notes.append(
                    f"{program.id}: blocked persons own {share:g}% of {caption} ({_holders(held, subject)}), less than "
                    f"{rule.threshold_percent:g}%: not blocked by ownership (OFAC advises caution)"
                )
            continue
        since = blocked_since(_subject_blocked(subject, blocked_map), as_of, points)
        share = sum(h.percent for h in blocking)
        reason = (
            f"owned {share:g}% {'in aggregate ' if len(blocking) > 1 else ''}by blocked persons "
            f"({_holders(blocking, subject)}); blocked since {since} as far as the lists show"
        )
        for listed_rule in program.rules:
            found.append(
                Effect(
                    kind=listed_rule.kind,
                    state="in_force",
                    start=since,
                    end=None,
                    reason=reason,
                    summary=listed_rule.summary,
                    program_id=program.id,
                    rule_id=listed_rule.id,
                    list_id=program.lists[0],
                    entity_id=entity_id,
                    caption=caption,
                    citations=rule.citations + listed_rule.citations,
                    via="owned by blocked persons (ownership file)",
                )
            )
    return found, notes


def _holders(holdings: list[Holding], subject: _Subject) -> str:
    """ "TNK TRADING INTERNATIONAL S.A. (us-ofac-sdn-28603) 25% (line 3), ..." for a reason."""
    assert subject.graph is not None
    parts = []
    for h in holdings:
        ids = sorted(subject.graph.entity_ids[subject.graph.node_of[h.owner]])
        captions = [x.caption for eid in ids for x in subject.owners.get(eid, [])]
        name = h.owner
        if captions and name_key(captions[0]) != name_key(h.owner):
            name = f"{captions[0]} ({h.owner})"
        parts.append(f"{name} {h.percent:g}% (line {h.line})")
    return ", ".join(parts)


def _unique(effects: list[Effect]) -> list[Effect]:
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for effect in effects:
        key = (effect.rule_id, effect.entity_id, effect.start, effect.state)
        if key not in seen:
            seen.add(key)
            kept.append(effect)
    return kept
