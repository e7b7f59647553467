"""Who owns whom: a user's ownership file, and OFAC's 50 percent rule over it.

The lists say who is blocked; they rarely say who owns what. A user's ownership file does, one
holding per row (CSV, UTF-8, a header row, other columns ignored):

    owner,owned,percent
    us-ofac-sdn-25879,Example Shipping Holdings Ltd,30
    TNK TRADING INTERNATIONAL S.A.,Example Shipping Holdings Ltd,25%

`owner` and `owned` are a listwatch entity id, an identifier (`isin:...`) or a name; `percent` is
the share held, more than 0 and at most 100. `read_ownership` checks the whole file and names the
file and line of the first problem. `blocked_nodes` applies the rule on one day: an entity owned,
in the aggregate, 50 percent or more by blocked persons is blocked, and so in turn are the entities
it owns 50 percent or more of.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from listwatch.errors import ParseError
from listwatch.model import name_key
from listwatch.rules.programs import OwnershipRule

__all__ = [
    "COLUMNS",
    "Holding",
    "OwnershipFile",
    "OwnershipGraph",
    "blocked_nodes",
    "blocked_since",
    "blocked_stretches",
    "build_graph",
    "read_ownership",
]

#: The columns an ownership file must have (in any order, case-insensitive).
COLUMNS = ("owner", "owned", "percent")


@dataclass(frozen=True, slots=True)
class Holding:
    owner: str
    owned: str
    percent: float
    line: int


@dataclass(frozen=True)
class OwnershipFile:
    path: Path
    holdings: tuple[Holding, ...]


def read_ownership(path: Path) -> OwnershipFile:
    """Read and check an ownership file: all of it, before anything uses it."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParseError(path, None, "no such ownership file") from None
    except UnicodeDecodeError:
        raise ParseError(path, None, "not UTF-8 text; save the ownership file as UTF-8 CSV") from None
    except OSError as exc:
        raise ParseError(path, None, f"cannot read the ownership file: {exc.strerror}") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise ParseError(path, 1, f"empty file; expected a header row {','.join(COLUMNS)}")
    columns = [cell.strip().lower() for cell in header]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise ParseError(
            path,
            1,
            f"missing column {', '.join(repr(m) for m in missing)}; the header must name "
            f"{','.join(COLUMNS)} (found {','.join(repr(c) for c in columns)})",
        )
    where = {c: columns.index(c) for c in COLUMNS}
    holdings: list[Holding] = []
    seen: dict[tuple[str, str], int] = {}
    totals: dict[str, float] = defaultdict(float)
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(columns):
            raise ParseError(path, line, f"{len(row)} values, expected {len(columns)} ({','.join(columns)})")
        owner, owned = row[where["owner"]].strip(), row[where["owned"]].strip()
        for column, value in (("owner", owner), ("owned", owned)):
            if not value:
                raise ParseError(path, line, f"{column} is empty")
        if name_key(owner) == name_key(owned):
            raise ParseError(path, line, f"{owner!r} cannot own itself")
        percent = _percent(row[where["percent"]], path, line)
        pair = (name_key(owner), name_key(owned))
        if pair in seen:
            raise ParseError(path, line, f"{owner!r} -> {owned!r} is already given on line {seen[pair]}")
        seen[pair] = line
        totals[pair[1]] += percent
        if totals[pair[1]] > 100 + 1e-9:
            raise ParseError(path, line, f"the owners of {owned!r} add up to {totals[pair[1]]:g} percent")
        holdings.append(Holding(owner, owned, percent, line))
    return OwnershipFile(path, tuple(holdings))


def _percent(cell: str, path: Path, line: int) -> float:
    text = cell.strip().removesuffix("%").strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= 100:
        raise ParseError(path, line, f"percent {cell.strip()!r} is not a number above 0 and at most 100")
    return value


@dataclass
class OwnershipGraph:
    """The parties of an ownership file as nodes: the texts that name the same party share one.

    Two texts are the same party when their names are equal after `name_key`, or when they resolve
    to a common listed entity (an id in one row, the name in another).
    """

    holdings: tuple[Holding, ...]
    node_of: dict[str, int]  # party text -> node
    entity_ids: dict[int, frozenset[str]]  # node -> the listed entities it resolves to
    labels: dict[int, str]  # node -> the first text naming it
    owners: dict[int, list[Holding]] = field(default_factory=dict)  # owned node -> its holdings

    def nodes_for(self, entity_ids: Iterable[str], name: str) -> set[int]:
        """The nodes naming an entity known by these ids, or by this name."""
        ids, key = set(entity_ids), name_key(name)
        return {
            node
            for text, node in self.node_of.items()
            if (ids & self.entity_ids[node]) or (key and name_key(text) == key)
        }

    @property
    def all_entity_ids(self) -> set[str]:
        return {eid for ids in self.entity_ids.values() for eid in ids}


def build_graph(file: OwnershipFile, resolve: Callable[[str], frozenset[str]]) -> OwnershipGraph:
    """Nodes for the file's parties; `resolve` gives the listed entity ids a party text names."""
    texts = list(dict.fromkeys(t for h in file.holdings for t in (h.owner, h.owned)))
    resolved = {text: resolve(text) for text in texts}
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_by_key: dict[str, int] = {}
    first_by_id: dict[str, int] = {}
    for index, text in enumerate(texts):
        links = [first_by_key.setdefault(name_key(text), index)]
        links += [first_by_id.setdefault(eid, index) for eid in resolved[text]]
        for other in links:
            parent[root(index)] = root(other)
    node_of = {text: root(index) for index, text in enumerate(texts)}
    entity_ids: dict[int, frozenset[str]] = defaultdict(frozenset)
    labels: dict[int, str] = {}
    for text, node in node_of.items():
        entity_ids[node] = entity_ids[node] | resolved[text]
        labels.setdefault(node, text)
    owners: dict[int, list[Holding]] = defaultdict(list)
    for holding in file.holdings:
        owners[node_of[holding.owned]].append(holding)
    return OwnershipGraph(file.holdings, node_of, dict(entity_ids), labels, dict(owners))


def blocked_nodes(graph: OwnershipGraph, seed: set[int], rule: OwnershipRule) -> dict[int, list[Holding]]:
    """Every node blocked on one day: the `seed` (blocked by their own listing) and, repeatedly,
    every node whose blocked owners hold `rule.threshold_percent` or more of it (added up when the
    rule aggregates). Maps each node to the holdings that block it (empty for the seed)."""
    blocked: dict[int, list[Holding]] = {node: [] for node in seed}
    changed = True
    while changed:
        changed = False
        for owned, holdings in graph.owners.items():
            if owned in blocked:
                continue
            counted = [h for h in holdings if graph.node_of[h.owner] in blocked]
            shares = [h.percent for h in counted]
            share = sum(shares) if rule.aggregate else max(shares, default=0.0)
            if counted and share >= rule.threshold_percent - 1e-9:
                blocked[owned] = counted
                changed = True
    return blocked


def blocked_since(blocked_on: Callable[[date], bool], day: date, change_points: Sequence[date]) -> date:
    """The first day of the unbroken run of blocked days that ends on `day` (blocked on `day`).

    Blocking by ownership changes only when an owner's own blocking starts or ends, so it is
    enough to look at those days (`change_points`) before `day`.
    """
    points = sorted({p for p in change_points if p <= day})
    since = day
    for point in reversed(points):
        if not blocked_on(point):
            break
        since = point
        if not blocked_on(point - timedelta(days=1)):
            break
    return since


def blocked_stretches(
    blocked_on: Callable[[date], bool], change_points: Sequence[date], start: date, end: date
) -> list[tuple[date, date]]:
    """The stretches of days in [start, end] on which `blocked_on` holds."""
    points = sorted({start} | {p for p in change_points if start < p <= end})
    stretches: list[tuple[date, date]] = []
    for index, point in enumerate(points):
        if not blocked_on(point):
            continue
        last = points[index + 1] - timedelta(days=1) if index + 1 < len(points) else end
        if stretches and stretches[-1][1] == point - timedelta(days=1):
            stretches[-1] = (stretches[-1][0], last)
        else:
            stretches.append((point, last))
    return stretches
