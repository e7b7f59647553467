"""Datasets as yente names them: a listwatch list, or a collection of lists.

`default` is every list; `us`, `eu`, `gb` and `un` collect the lists of one publisher country. A
list id names that list alone (`us_ofac_sdn`, `os_eu_fsf`).

    resolve_datasets("default", include=["us_dod_1237_ccmc"])   # ("us_dod_1237_ccmc",)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from listwatch.catalog import LISTS, get_list
from listwatch.errors import UnknownList

__all__ = ["COLLECTIONS", "DatasetInfo", "catalog", "resolve_datasets"]

DEFAULT = "default"

_COUNTRY_TITLES = {
    "us": "United States lists",
    "eu": "European Union lists",
    "gb": "United Kingdom lists",
    "un": "United Nations lists",
}

#: Collection name -> its lists (None: every list, including OpenSanctions datasets ingested).
COLLECTIONS: dict[str, tuple[str, ...] | None] = {
    DEFAULT: None,
    **{
        country: tuple(sorted(i.id for i in LISTS.values() if i.country == country))
        for country in _COUNTRY_TITLES
    },
}


def _known() -> list[str]:
    return [*COLLECTIONS, *LISTS]


def lists_of(dataset: str) -> tuple[str, ...] | None:
    """The list ids a dataset covers (None: every list); an unknown name is `UnknownList` (404)."""
    if dataset in COLLECTIONS:
        return COLLECTIONS[dataset]
    try:
        get_list(dataset)
    except UnknownList:
        raise UnknownList(dataset, _known()) from None
    return (dataset,)


def resolve_datasets(
    dataset: str,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    stored: Sequence[str] = (),
) -> tuple[str, ...] | None:
    """The lists to search: `dataset`'s, narrowed to `include` (datasets too) and without `exclude`.

    None means every list. `stored` (the lists in the store) is needed only to subtract from
    `default`.
    """
    chosen = lists_of(dataset)
    if include:
        wanted: set[str] = set()
        for name in include:
            covered = lists_of(name)
            wanted |= set(covered if covered is not None else stored)
        chosen = tuple(sorted(wanted & set(chosen))) if chosen is not None else tuple(sorted(wanted))
    if exclude:
        dropped: set[str] = set()
        for name in exclude:
            covered = lists_of(name)
            dropped |= set(covered if covered is not None else stored)
        base = chosen if chosen is not None else tuple(stored)
        chosen = tuple(sorted(set(base) - dropped))
    return chosen


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    summary: str | None
    url: str | None
    load: bool  # holds data in this store
    version: str  # the newest snapshot's publication date and id, or "empty"
    children: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "url": self.url,
            "load": self.load,
            "entities_url": None,
            "version": self.version,
            "index_version": self.version,
            "index_current": True,
            "children": list(self.children),
        }


def catalog(snaps: Iterable[Any]) -> list[DatasetInfo]:
    """Every collection, and every known or stored list, with the newest stored version of each.

    `snaps` are the stored snapshot rows (`store.queries.list_snapshots`; the API passes the ones
    its screener pool read at its last reload check)."""
    newest: dict[str, Any] = {}
    for snap in snaps:
        if snap.list_id not in newest or snap.id > newest[snap.list_id].id:
            newest[snap.list_id] = snap
    stored = sorted(newest)

    def version(list_ids: Sequence[str]) -> str:
        present = [newest[i] for i in list_ids if i in newest]
        if not present:
            return "empty"
        last = max(present, key=lambda s: s.id)
        return f"{last.published.isoformat()}-{last.id}"

    found = []
    for name, lists in COLLECTIONS.items():
        members = tuple(stored) if lists is None else lists
        title = "Every list" if lists is None else _COUNTRY_TITLES[name]
        found.append(
            DatasetInfo(name, title, None, None, any(m in newest for m in members), version(members), members)
        )
    for list_id in sorted({*LISTS, *stored}):
        info = get_list(list_id)
        found.append(
            DatasetInfo(
                list_id, info.title, info.authority, info.url, list_id in newest, version([list_id]), ()
            )
        )
    return found
