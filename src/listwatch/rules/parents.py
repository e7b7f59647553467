"""Parents and subsidiaries as the lists publish them: who a listed entry names as its parent.

Some programs reach the subsidiaries of a listed company (`covers_subsidiaries` in programs.yaml).
The lists name parents in links (`parent_links`): a DoD 1260H `Parent Name`, the `Linked To:` of an
OFAC NS-CMIC entry. A link names its target by name only, so it is matched to stored entities by
name, also with trailing legal forms left out: "China Mobile Communications Group Co., Ltd." on
OFAC's list finds "China Mobile Communications Group" on the DoD's.

    [p.listing.caption for p in linked_parents(store, china_mobile_limited, book=load_programs())]
    # ['China Mobile Communications Group', 'CHINA MOBILE COMMUNICATIONS GROUP CO., LTD.', ...]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from listwatch.model import name_key
from listwatch.registry.history import entity_histories
from listwatch.rules.listings import Listing
from listwatch.rules.programs import ProgramBook
from listwatch.store import Store, queries

__all__ = [
    "Parent",
    "entity_ids_named",
    "linked_parents",
    "linked_subsidiaries",
    "listings_of",
    "name_variants",
    "unique_parents",
]

# Legal forms a parent link may add or leave out ("China Mobile Communications Group Co., Ltd." on
# OFAC's list is "China Mobile Communications Group" on the DoD's): stripped from the end of a name.
_LEGAL_FORMS = frozenset(
    {"co", "company", "ltd", "limited", "corp", "corporation", "inc", "incorporated", "llc", "plc"}
    | {"sa", "ag", "gmbh", "jsc", "pjsc", "pte", "bhd"}
)


@dataclass(frozen=True)
class Parent:
    """A listed entity related to the one asked about: its parent (or, for `linked_subsidiaries`,
    its subsidiary), with how the relation is known."""

    listing: Listing
    via: str
    owned_percent: float | None  # from an ownership file; None: a published link


def listings_of(store: Store, entity_ids: Sequence[str]) -> list[Listing]:
    return [Listing.from_history(h) for h in entity_histories(store, entity_ids)]


def name_variants(name: str) -> list[str]:
    """`name_key(name)`, then less one trailing legal form at a time: the keys a link may use."""
    words = name_key(name).split()
    keys = []
    while words:
        keys.append(" ".join(words))
        if words[-1] not in _LEGAL_FORMS:
            break
        words = words[:-1]
    return keys


def entity_ids_named(conn: Connection, name: str) -> set[str]:
    """Entities bearing `name`, or `name` less trailing legal forms (Co., Ltd.)."""
    found: set[str] = set()
    for key in name_variants(name):
        found |= set(queries.entity_ids_by_name(conn, key))
    return found


def linked_parents(
    store: Store, listings: Iterable[Listing], *, book: ProgramBook, exclude: Iterable[str] = ()
) -> list[Parent]:
    """The stored entities the listings' published parent links name (not those in `exclude`),
    each once, in the order the links give them."""
    listings = list(listings)
    skip = set(exclude) | {listing.entity_id for listing in listings}
    found: list[Parent] = []
    with store.engine.connect() as conn:
        named = [
            (listing, relation, sorted(entity_ids_named(conn, target) - skip))
            for listing in listings
            for relation, target in listing.links
            if book.names_parent(relation, listing.list_id, listing.programs)
        ]
    for listing, relation, parent_ids in named:
        for parent in listings_of(store, parent_ids):
            via = f"parent {parent.caption}, named by the {listing.list_id} entry ({relation})"
            found.append(Parent(parent, via, None))
    return unique_parents(found)


def linked_subsidiaries(store: Store, listings: Iterable[Listing], *, book: ProgramBook) -> list[Parent]:
    """The stored entities whose published parent link names one of the listings: the same
    links `linked_parents` follows, read the other way. Each once, by entity id."""
    listings = list(listings)
    ids = {listing.entity_id for listing in listings}
    keys = sorted({name_key(listing.caption) for listing in listings} - {""})
    if not keys:
        return []
    with store.engine.connect() as conn:
        candidates = sorted(set(queries.entity_ids_linking_to(conn, keys)) - ids)
    found: list[Parent] = []
    children = listings_of(store, candidates)
    with store.engine.connect() as conn:
        for child in children:
            for relation, target in child.links:
                if not book.names_parent(relation, child.list_id, child.programs):
                    continue
                parent = next((x for x in listings if x.entity_id in entity_ids_named(conn, target)), None)
                if parent is not None:
                    via = f"subsidiary {child.caption}: its {child.list_id} entry names {parent.caption} ({relation})"
                    found.append(Parent(child, via, None))
                    break
    return found


def unique_parents(parents: Iterable[Parent]) -> list[Parent]:
    """The first of each entity."""
    seen: set[str] = set()
    kept = []
    for parent in parents:
        if parent.listing.entity_id not in seen:
            seen.add(parent.listing.entity_id)
            kept.append(parent)
    return kept
