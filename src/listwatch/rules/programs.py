"""The programs (regimes) behind the lists and the rules of their legal effect, read from programs.yaml.

Every rule carries at least one citation; `load_programs` refuses a file where one does not, so the
engine can always say which law an effect comes from.

    book = load_programs()
    [p.id for p in book.for_entry("us_ofac_cons", ("CMIC-EO13959",))]  # ['us-ns-cmic-eo14032']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

import yaml

from listwatch.errors import ParseError

__all__ = [
    "Citation",
    "DateRule",
    "OwnershipRule",
    "ParentLink",
    "Program",
    "ProgramBook",
    "Rule",
    "SubsidiaryRule",
    "load_programs",
]


@dataclass(frozen=True, slots=True)
class Citation:
    text: str
    url: str

    def to_dict(self) -> dict[str, str]:
        return {"text": self.text, "url": self.url}


@dataclass(frozen=True, slots=True)
class DateRule:
    """One way to date the start or end of an effect; a rule lists them, the first that applies wins."""

    fixed: date | None = None  # a fixed date (`date:` in the file)...
    if_listed_by: date | None = None  # ...for entries listed on or before this day only
    record: str | None = None  # a date the entry states itself (a `Record.properties` key)
    days_after_listing: int | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str  # "program-id/rule-id"
    kind: str  # purchase_ban, divestment_window, blocked, asset_freeze...
    summary: str
    starts: tuple[DateRule, ...]  # empty: with the listing
    ends: tuple[DateRule, ...]  # empty: with the listing
    schemas: tuple[str, ...] | None  # only entries of these schemas (Person...), None: all
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class SubsidiaryRule:
    """The program reaches the subsidiaries of a listed company (through a parent link)."""

    owned_more_than: float  # percent, for parents given in a user ownership file
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class OwnershipRule:
    """Entities owned by blocked persons are blocked too (OFAC's 50 percent rule)."""

    threshold_percent: float  # blocked at this aggregate share or more
    aggregate: bool  # add up the shares of several blocked owners
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class Program:
    id: str
    title: str
    authority: str
    lists: tuple[str, ...]
    programs: tuple[str, ...] | None  # program codes an entry must carry; None: any entry
    enacted: date  # the rules have no effect, not even a pending one, before this day
    redetermined_by: tuple[str, ...]  # event kinds that restart the listing clock
    covers_subsidiaries: SubsidiaryRule | None
    ownership: OwnershipRule | None
    citations: tuple[Citation, ...]
    rules: tuple[Rule, ...]

    def applies_to(self, list_id: str, programs: tuple[str, ...]) -> bool:
        if list_id not in self.lists:
            return False
        return self.programs is None or bool(set(self.programs) & set(programs))


@dataclass(frozen=True, slots=True)
class ParentLink:
    """A published link that names a parent company: its relation, and where it counts."""

    relation: str
    list_id: str | None = None
    program: str | None = None

    def matches(self, relation: str, list_id: str, programs: tuple[str, ...]) -> bool:
        return (
            relation == self.relation
            and (self.list_id is None or self.list_id == list_id)
            and (self.program is None or self.program in programs)
        )


@dataclass(frozen=True, slots=True)
class ProgramBook:
    programs: tuple[Program, ...]
    parent_links: tuple[ParentLink, ...]
    source: str
    not_modelled: dict[str, str] = field(default_factory=dict)  # list id -> why no rules yet

    def for_entry(self, list_id: str, programs: tuple[str, ...]) -> list[Program]:
        """The programs that apply to an entry of `list_id` carrying `programs`."""
        return [p for p in self.programs if p.applies_to(list_id, programs)]

    def names_parent(self, relation: str, list_id: str, programs: tuple[str, ...]) -> bool:
        return any(link.matches(relation, list_id, programs) for link in self.parent_links)

    @property
    def list_ids(self) -> list[str]:
        return sorted({list_id for program in self.programs for list_id in program.lists})


_DEFAULT = "programs.yaml"


def load_programs(path: Path | None = None) -> ProgramBook:
    """Read and check a programs file; the bundled one when `path` is None (read once, then cached)."""
    if path is None:
        return _bundled()
    return _load(path.read_text(encoding="utf-8"), str(path))


@lru_cache(maxsize=1)
def _bundled() -> ProgramBook:
    text = resources.files("listwatch.rules").joinpath(_DEFAULT).read_text(encoding="utf-8")
    return _load(text, f"listwatch/rules/{_DEFAULT}")


def _load(text: str, source: str) -> ProgramBook:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ParseError(source, mark.line + 1 if mark else None, f"not valid YAML: {exc}") from None
    reader = _Reader(source)
    root = reader.mapping(data, "the file")
    if root.get("version") != 1:
        reader.fail("the file", "needs `version: 1`")
    programs = tuple(reader.program(item) for item in reader.sequence(root.get("programs"), "programs"))
    ids = [p.id for p in programs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        reader.fail("programs", f"duplicate ids {', '.join(duplicates)}")
    links = tuple(
        ParentLink(
            relation=reader.text(link, "relation", "parent_links"),
            list_id=reader.optional_text(link, "list"),
            program=reader.optional_text(link, "program"),
        )
        for link in (
            reader.mapping(item, "parent_links")
            for item in reader.sequence(root.get("parent_links", []), "parent_links")
        )
    )
    not_modelled = {
        str(list_id): str(reason)
        for list_id, reason in reader.mapping(root.get("not_modelled", {}), "not_modelled").items()
    }
    return ProgramBook(programs=programs, parent_links=links, source=source, not_modelled=not_modelled)


class _Reader:
    """Typed access to the parsed YAML; every problem becomes a `ParseError` naming where it is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, reason: str) -> NoReturn:
        raise ParseError(self.source, None, f"{where}: {reason}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, "expected a mapping")
        return dict(value)

    def sequence(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list) or not value:
            self.fail(where, "expected a non-empty list")
        return list(value)

    def text(self, data: dict[str, Any], key: str, where: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"`{key}` must be a non-empty string")
        return str(value).strip()

    def optional_text(self, data: dict[str, Any], key: str) -> str | None:
        value = data.get(key)
        return str(value) if value is not None else None

    def day(self, value: Any, where: str) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(where, f"bad date {value!r}, expected YYYY-MM-DD")

    def citations(self, data: dict[str, Any], where: str) -> tuple[Citation, ...]:
        items = data.get("citations")
        if not isinstance(items, list) or not items:
            self.fail(where, "needs at least one citation")
        found = []
        for item in items:
            cited = self.mapping(item, f"{where}: citation")
            url = self.text(cited, "url", f"{where}: citation")
            if not url.startswith("https://"):
                self.fail(where, f"citation url {url!r} must start with https://")
            found.append(Citation(text=self.text(cited, "text", f"{where}: citation"), url=url))
        return tuple(found)

    def dates(self, data: dict[str, Any], key: str, where: str) -> tuple[DateRule, ...]:
        items = data.get(key)
        if items is None:
            return ()
        found = []
        for item in self.sequence(items, f"{where}: {key}"):
            alt = self.mapping(item, f"{where}: {key}")
            unknown = set(alt) - {"date", "if_listed_by", "record", "days_after_listing"}
            ways = [k for k in ("date", "record", "days_after_listing") if k in alt]
            if unknown or len(ways) != 1 or ("if_listed_by" in alt and "date" not in alt):
                self.fail(
                    f"{where}: {key}",
                    f"each alternative is one of {{date[, if_listed_by]}}, {{record}}, "
                    f"{{days_after_listing}}; got {sorted(alt)}",
                )
            days = alt.get("days_after_listing")
            if days is not None and (not isinstance(days, int) or days < 0):
                self.fail(f"{where}: {key}", f"days_after_listing must be a whole number, got {days!r}")
            found.append(
                DateRule(
                    fixed=self.day(alt["date"], where) if "date" in alt else None,
                    if_listed_by=self.day(alt["if_listed_by"], where) if "if_listed_by" in alt else None,
                    record=str(alt["record"]) if "record" in alt else None,
                    days_after_listing=days,
                )
            )
        return tuple(found)

    def rule(self, data: dict[str, Any], program_id: str) -> Rule:
        rule_id = self.text(data, "id", f"program {program_id}: rule")
        where = f"program {program_id}, rule {rule_id}"
        schemas = data.get("schemas")
        return Rule(
            id=f"{program_id}/{rule_id}",
            kind=self.text(data, "kind", where),
            summary=self.text(data, "summary", where),
            starts=self.dates(data, "starts", where),
            ends=self.dates(data, "ends", where),
            schemas=tuple(str(s) for s in schemas) if schemas else None,
            citations=self.citations(data, where),
        )

    def program(self, item: Any) -> Program:
        data = self.mapping(item, "programs")
        program_id = self.text(data, "id", "programs")
        where = f"program {program_id}"
        subsidiaries = data.get("covers_subsidiaries")
        ownership = data.get("ownership")
        codes = data.get("programs")
        return Program(
            id=program_id,
            title=self.text(data, "title", where),
            authority=self.text(data, "authority", where),
            lists=tuple(str(x) for x in self.sequence(data.get("lists"), f"{where}: lists")),
            programs=tuple(str(x) for x in codes) if codes else None,
            enacted=self.day(data.get("enacted"), f"{where}: enacted"),
            redetermined_by=tuple(str(x) for x in data.get("redetermined_by") or ()),
            covers_subsidiaries=(
                SubsidiaryRule(
                    owned_more_than=float(self.mapping(subsidiaries, where).get("owned_more_than", 50)),
                    citations=self.citations(subsidiaries, f"{where}: covers_subsidiaries"),
                )
                if subsidiaries
                else None
            ),
            ownership=(
                OwnershipRule(
                    threshold_percent=float(self.mapping(ownership, where).get("threshold_percent", 50)),
                    aggregate=bool(ownership.get("aggregate", True)),
                    citations=self.citations(ownership, f"{where}: ownership"),
                )
                if ownership
                else None
            ),
            citations=self.citations(data, where),
            rules=tuple(
                self.rule(self.mapping(r, where), program_id)
                for r in self.sequence(data.get("rules"), f"{where}: rules")
            ),
        )
