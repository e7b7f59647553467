"""Published parent links, followed in batches: one query per batch of names, whatever the count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from listwatch.rules.parents import linked_parents, linked_subsidiaries, listings_of, parent_links
from listwatch.rules.programs import load_programs
from listwatch.store import Store
from listwatch.store.tables import links, records


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def _linking_ids(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        stmt = select(records.c.entity_id).distinct().join(links, links.c.record_id == records.c.id)
        return sorted(conn.execute(stmt).scalars())


def test_parents_found_together_are_those_found_one_listing_at_a_time(rules_store: Store) -> None:
    book = load_programs()
    listings = listings_of(rules_store, _linking_ids(rules_store))
    assert len(listings) > 5
    together = parent_links(rules_store, listings, book=book)
    found = 0
    for listing in listings:
        alone = linked_parents(rules_store, [listing], book=book)
        assert linked_parents(rules_store, [listing], book=book, links=together) == alone
        found += len(alone)
    assert found > 0


def test_following_many_links_costs_no_more_statements_than_one(rules_store: Store) -> None:
    book = load_programs()
    listings = listings_of(rules_store, _linking_ids(rules_store))
    with statements(rules_store) as many:
        parents = parent_links(rules_store, listings, book=book)
    assert sum(len(found) for found in parents.values()) > 1
    first = next(listing for listing in listings if parents.get(listing.entity_id))
    with statements(rules_store) as one:
        assert parent_links(rules_store, [first], book=book)[first.entity_id] == parents[first.entity_id]
    assert len(many) == len(one)


def test_subsidiaries_are_the_parent_links_read_the_other_way(rules_store: Store) -> None:
    book = load_programs()
    listings = listings_of(rules_store, _linking_ids(rules_store))
    parents = parent_links(rules_store, listings, book=book)
    child, found = next((eid, found) for eid, found in parents.items() if found)
    parent = found[0].listing
    with statements(rules_store) as seen:
        children = linked_subsidiaries(rules_store, [parent], book=book)
    assert child in {c.listing.entity_id for c in children}
    assert all("subsidiary" in c.via for c in children)
    assert len(seen) <= 6  # links, the children's listings (3), their targets' names: not one per link
