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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from listwatch.model import name_key
from listwatch.registry.history import entity_histories
from listwatch.rules.listings import Listing
from listwatch.rules.programs import ProgramBook
from listwatch.store import Store, queries

__all__ = [
    "Parent",
    "entity_ids_by_names",
    "entity_ids_named",
    "linked_parents",
    "linked_subsidiaries",
    "listings_of",
    "name_variants",
    "parent_links",
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
    return entity_ids_by_names(conn, [name])[name]


def entity_ids_by_names(conn: Connection, names: Iterable[str]) -> dict[str, set[str]]:
    """`entity_ids_named` for each of `names`, in one query for all their variants."""
    variants = {name: name_variants(name) for name in names}
    by_key = queries.entity_ids_by_names(conn, {key for keys in variants.values() for key in keys})
    return {name: set().union(*(by_key.get(key, set()) for key in keys)) for name, keys in variants.items()}


def parent_links(store: Store, listings: Iterable[Listing], *, book: ProgramBook) -> dict[str, list[Parent]]:
    """For each listing (by entity id), the stored entities its published parent links name, in
    the order of its links: one query for the names of all links, one for the parents' listings.
    `linked_parents` filters them; callers asking for many subjects compute them once."""
    listings = list(listings)
    named = [
        (listing, relation, target)
        for listing in listings
        for relation, target in listing.links
        if book.names_parent(relation, listing.list_id, listing.programs)
    ]
    if not named:
        return {}
    with store.engine.connect() as conn:
        ids_of = entity_ids_by_names(conn, {target for _, _, target in named})
    parents = {p.entity_id: p for p in listings_of(store, sorted(set().union(*ids_of.values())))}
    found: dict[str, list[Parent]] = {}
    for listing, relation, target in named:
        # as `listings_of` orders them: by list, then by id
        for parent in sorted((parents[i] for i in ids_of[target] if i in parents), key=_by_list):
            via = f"parent {parent.caption}, named by the {listing.list_id} entry ({relation})"
            found.setdefault(listing.entity_id, []).append(Parent(parent, via, None))
    return found


def _by_list(listing: Listing) -> tuple[str, str]:
    return listing.list_id, listing.entity_id


def linked_parents(
    store: Store,
    listings: Iterable[Listing],
    *,
    book: ProgramBook,
    exclude: Iterable[str] = (),
    links: Mapping[str, Sequence[Parent]] | None = None,
) -> list[Parent]:
    """The stored entities the listings' published parent links name (not those in `exclude`),
    each once, in the order the links give them. `links` is `parent_links` of (at least) these
    listings, when the caller has it already."""
    listings = list(listings)
    skip = set(exclude) | {listing.entity_id for listing in listings}
    named = links if links is not None else parent_links(store, listings, book=book)
    return unique_parents(
        parent
        for listing in listings
        for parent in named.get(listing.entity_id, ())
        if parent.listing.entity_id not in skip
    )


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
    children = listings_of(store, candidates)
    named = [
        (child, relation, target)
        for child in children
        for relation, target in child.links
        if book.names_parent(relation, child.list_id, child.programs)
    ]
    if not named:
        return []
    with store.engine.connect() as conn:
        ids_of = entity_ids_by_names(conn, {target for _, _, target in named})
    found: list[Parent] = []
    done: set[str] = set()
    for child, relation, target in named:
        if child.entity_id in done:
            continue
        parent = next((x for x in listings if x.entity_id in ids_of[target]), None)
        if parent is not None:
            via = f"subsidiary {child.caption}: its {child.list_id} entry names {parent.caption} ({relation})"
            found.append(Parent(child, via, None))
            done.add(child.entity_id)
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
