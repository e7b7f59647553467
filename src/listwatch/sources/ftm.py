"""OpenSanctions exports in FollowTheMoney JSON lines, flat or nested, and their delta feeds.

Reads `entities.ftm.json` (every entity on its own line, linked by id), `targets.nested.json` (each
target with its addresses, sanctions and relations nested inside) and delta files, whose lines are
`{"op": "ADD"|"MOD"|"DEL", "entity": {...}}`. Several files are applied in name order, so
`entities.ftm.json` followed by the deltas of later versions gives the newest state.

    >>> FTM_JSON.parse([Path("examples/lists/opensanctions/eu_fsf_sample.ftm.json")]).list_id
    'os_eu_fsf'

Choices worth knowing:
- The records are the targets (`"target": true`), or, in a file that does not say, every legal
  entity, vessel and aircraft. Addresses, sanctions, identification documents and relations
  (ownership, directorship, family...) enrich the records they refer to.
- The caption is the primary name; other `name` values and `alias` are aliases, `weakAlias`,
  `previousName` and `abbreviation` keep their kinds. FtM identifier properties map to listwatch
  schemes (`isinCode` -> `isin`, `imoNumber` -> `imo`, `taxNumber` -> `tax_id`...).
- A sanction's `listingDate` or `startDate` (else the entity's `createdAt`) is the listing date.
- `last_seen` changes with every export and is left out of the record, so unchanged entities stay
  unchanged; its newest value is the publication date.
- The list is `os_DATASET` when every record belongs to one dataset; otherwise name it with --list.
- A property the FtM schema does not have is kept as `unknown:PROPERTY` and reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from listwatch.errors import FormatMismatch, ParseError
from listwatch.model import Address, ParsedList
from listwatch.sources.entry import Entry, clean
from listwatch.sources.text import read_text

__all__ = ["FTM_JSON", "FtmJsonFormat"]

_IDENTIFIERS = {
    "isinCode": "isin", "leiCode": "lei", "ticker": "ticker", "imoNumber": "imo", "mmsi": "mmsi",
    "passportNumber": "passport", "idNumber": "national_id", "taxNumber": "tax_id", "innCode": "tax_id",
    "vatCode": "tax_id", "registrationNumber": "registration", "ogrnCode": "registration",
    "okpoCode": "registration", "uscCode": "uscc", "swiftBic": "swift", "dunsCode": "duns",
    "cageCode": "cage", "email": "email", "website": "website", "phone": "phone", "callSign": "call_sign",
    "serialNumber": "aircraft_serial",
}  # fmt: skip
_NAMES = {
    "alias": "alias",
    "weakAlias": "weak_alias",
    "previousName": "previous",
    "abbreviation": "abbreviation",
}
_COUNTRIES = ("country", "nationality", "citizenship", "jurisdiction", "mainCountry", "flag")
_REMARKS = ("notes", "description", "summary")
_META = ("first_seen", "last_change", "referents", "datasets")  # kept; last_seen is not (see above)
_RECORD_SCHEMAS = ("LegalEntity", "Vessel", "Airplane")
_OPS = ("ADD", "MOD", "DEL")


class FtmJsonFormat:
    """The `SourceFormat` for FollowTheMoney JSON lines (OpenSanctions exports and delta feeds)."""

    name: str = "ftm-json"
    title: str = "OpenSanctions / FollowTheMoney JSON lines (entities.ftm.json, targets.nested.json, deltas)"
    dated: bool = False

    def sniff(self, files: Sequence[Path]) -> bool:
        return bool(files) and all(_first_line_is_ftm(path) for path in files)

    def parse(self, files: Sequence[Path]) -> ParsedList:
        if not files:
            raise FormatMismatch(Path("."), None, "no files given")
        state = _State()
        for path in sorted(files, key=lambda p: p.name):
            for line, obj in _json_lines(path):
                if "op" in obj and "entity" in obj:
                    state.apply(path, line, obj)
                else:
                    state.put(path, line, obj)
        return state.parsed(self.name)


FTM_JSON = FtmJsonFormat()


def _model() -> Any:
    """FollowTheMoney's schema model, imported on first use: it costs 70 MB and most runs read
    no FtM file."""
    from followthemoney import model

    return model


def _first_line_is_ftm(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            first = handle.readline(1 << 20)
    except OSError:
        return False
    try:
        obj = json.loads(first.removeprefix(b"\xef\xbb\xbf"))
    except ValueError:
        return False
    return isinstance(obj, dict) and (
        ("schema" in obj and "properties" in obj) or ("op" in obj and "entity" in obj)
    )


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    lines = read_text(path).text.split("\n")
    last = max((index for index, text in enumerate(lines) if text.strip()), default=-1)
    for index, text in enumerate(lines):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            if index == last:
                raise ParseError(
                    path, index + 1, f"JSON ends early ({exc.msg}); is the file truncated?"
                ) from None
            raise ParseError(path, index + 1, f"malformed JSON ({exc.msg}, column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise ParseError(path, index + 1, "expected one JSON object per line")
        yield index + 1, obj


class _State:
    """The entities read so far, by id, with where each came from."""

    def __init__(self) -> None:
        self.entities: dict[str, dict[str, Any]] = {}
        self.lines: dict[str, tuple[Path, int]] = {}
        self.nested_in: dict[str, set[str]] = {}  # id -> ids of entities it was nested in or nests
        self.warnings: list[str] = []
        self.unknown: set[tuple[str, str]] = set()

    def apply(self, path: Path, line: int, obj: dict[str, Any]) -> None:
        op = str(obj.get("op", "")).upper()
        entity = obj.get("entity")
        if op not in _OPS:
            raise ParseError(path, line, f"unknown delta op {obj.get('op')!r}; expected ADD, MOD or DEL")
        if not isinstance(entity, dict):
            raise ParseError(path, line, "delta without an entity object")
        if op == "DEL":
            entity_id = entity.get("id")
            if self.entities.pop(str(entity_id), None) is None:
                self.warnings.append(f"{path.name}:{line}: DEL of {entity_id!r}, which no earlier file holds")
            return
        if op == "MOD" and str(entity.get("id")) not in self.entities:
            self.warnings.append(
                f"{path.name}:{line}: MOD of {entity.get('id')!r}, which no earlier file holds; added"
            )
        self.put(path, line, entity)

    def put(self, path: Path, line: int, entity: dict[str, Any], parent: str | None = None) -> str:
        entity_id, schema = entity.get("id"), entity.get("schema")
        if not isinstance(entity_id, str) or not entity_id or not isinstance(schema, str):
            raise ParseError(path, line, "entity without an id or a schema")
        properties = entity.get("properties", {})
        if not isinstance(properties, dict):
            raise ParseError(path, line, f"entity {entity_id}: properties should be an object")
        flat: dict[str, list[str]] = {}
        for prop, values in properties.items():
            if not isinstance(values, list):
                values = [values]
            for value in values:
                if isinstance(value, dict):  # a nested entity (targets.nested.json)
                    child = self.put(path, line, value, parent=entity_id)
                    flat.setdefault(prop, []).append(child)
                elif value is not None:
                    flat.setdefault(prop, []).append(str(value))
        self.entities[entity_id] = {
            **_metadata(entity),
            "id": entity_id,
            "schema": schema,
            "properties": flat,
        }
        self.lines[entity_id] = (path, line)
        if parent is not None:
            self.nested_in.setdefault(entity_id, set()).add(parent)
            self.nested_in.setdefault(parent, set()).add(entity_id)
        return entity_id

    def parsed(self, format_name: str) -> ParsedList:
        if not self.entities:
            raise ParseError(
                next(iter(self.lines.values()))[0] if self.lines else Path("."), None, "no entities"
            )
        related = self._related()
        stated = any("target" in entity for entity in self.entities.values())
        records = []
        datasets: set[str] = set()
        seen: list[str] = []
        for entity_id, entity in self.entities.items():
            schema = _model().get(entity["schema"])
            if stated:
                is_record = entity.get("target") is True
            else:
                is_record = schema is not None and any(schema.is_a(name) for name in _RECORD_SCHEMAS)
            if not is_record:
                continue
            records.append(self._record(entity_id, entity, related.get(entity_id, set())))
            datasets.update(entity.get("datasets") or ())
            if isinstance(entity.get("last_seen"), str):
                seen.append(entity["last_seen"])
        for path_name, prop in sorted(self.unknown):
            self.warnings.append(f"{path_name}: unknown property {prop!r} kept in the raw record")
        list_id = f"os_{next(iter(datasets))}" if len(datasets) == 1 else None
        published = _day(max(seen)) if seen else None
        return ParsedList(format_name, tuple(records), list_id, published, None, tuple(self.warnings))

    def _related(self) -> dict[str, set[str]]:
        """For each entity, the entities that refer to it by id, it refers to, or nest with it."""
        related: dict[str, set[str]] = {key: set(value) for key, value in self.nested_in.items()}
        for entity_id, entity in self.entities.items():
            schema = _model().get(entity["schema"])
            if schema is None:
                continue
            for prop_name, values in entity["properties"].items():
                prop = schema.get(prop_name)
                if prop is None or prop.type.name != "entity":
                    continue
                for value in values:
                    if value in self.entities:
                        related.setdefault(value, set()).add(entity_id)
                        related.setdefault(entity_id, set()).add(value)
        return related

    def _record(self, entity_id: str, entity: dict[str, Any], related: set[str]) -> Any:
        path, line = self.lines[entity_id]
        schema_name = entity["schema"]
        schema = _model().get(schema_name)
        props: dict[str, list[str]] = entity["properties"]
        out = Entry(entity_id, line=line)
        names = props.get("name") or []
        out.name(entity.get("caption") or (names[0] if names else None))
        for value in props.get("name", ()):
            out.name(value, "alias")
        for prop, kind in _NAMES.items():
            for value in props.get(prop, ()):
                out.name(value, kind)
        for prop, values in props.items():
            known = schema.get(prop) if schema is not None else None
            if prop in _NAMES or prop == "name":
                continue
            if known is None:
                self.unknown.add((path.name, prop))
                for value in values:
                    out.unknown(prop, value)
            elif prop in _IDENTIFIERS:
                for value in values:
                    out.identifier(_IDENTIFIERS[prop], value)
            elif known.type.name == "identifier":
                for value in values:
                    out.identifier("other", value, note=prop)
            elif prop == "birthDate":
                for value in values:
                    out.birth_date(value)
            elif prop in _REMARKS:
                for value in values:
                    out.remark(value)
            elif known.type.name == "entity":
                continue  # addresses and relations: below
            else:
                for value in values:
                    out.add(prop, value)
            if prop in _COUNTRIES:
                for value in values:
                    out.country(value)
        for key in _META:
            found = entity.get(key)
            for item in found if isinstance(found, list) else [found]:
                out.add(f"os_{key}", item if isinstance(item, str) else None)
        for other_id in sorted(related):
            self._enrich(out, entity_id, self.entities.get(other_id))
        if out.listed_on is None:
            for value in props.get("createdAt", ()):
                out.listed(_day(value))
        return out.record(schema_name if schema is not None else "LegalEntity")

    def _enrich(self, out: Entry, entity_id: str, other: dict[str, Any] | None) -> None:
        if other is None:
            return
        schema = _model().get(other["schema"])
        props: dict[str, list[str]] = other["properties"]
        first = {key: values[0] for key, values in props.items() if values}
        if schema is None:
            return
        if schema.is_a("Address"):
            street = first.get("street") or (None if first.get("city") else first.get("full"))
            city = ", ".join(filter(None, (first.get("city"), first.get("region"), first.get("postalCode"))))
            out.address(Address(street=clean(street), city=city or None, country=first.get("country")))
        elif schema.is_a("Sanction"):
            for program in props.get("program", ()) or props.get("programId", ()):
                out.program(program)
            for key in ("authority", "reason", "sourceUrl", "endDate"):
                for value in props.get(key, ()):
                    out.add(f"sanction_{key}", value)
            for key in ("listingDate", "startDate"):
                for value in props.get(key, ()):
                    out.listed(_day(value))
        elif schema.is_a("Identification"):
            scheme = (
                "passport"
                if schema.is_a("Passport") or "passport" in (first.get("type") or "").lower()
                else "national_id"
            )
            for number in props.get("number", ()):
                out.identifier(scheme, number, country=first.get("country"), note=first.get("type"))
        elif schema.edge:
            for prop_name, values in props.items():
                prop = schema.get(prop_name)
                if prop is None or prop.type.name != "entity":
                    continue
                for value in values:
                    if value != entity_id and value in self.entities:
                        target = self.entities[value]
                        caption = target.get("caption") or (target["properties"].get("name") or [value])[0]
                        out.link(f"{schema.name.lower()}:{prop_name}", caption, value)
        elif schema.is_a("Thing"):
            out.link("related", other.get("caption") or first.get("name") or other["id"], other["id"])


def _metadata(entity: dict[str, Any]) -> dict[str, Any]:
    """The entity's own fields, each of the JSON type the format gives it; anything else dropped."""
    out: dict[str, Any] = {}
    for key in ("caption", "first_seen", "last_seen", "last_change"):
        if isinstance(entity.get(key), str):
            out[key] = entity[key]
    for key in ("datasets", "referents"):
        values = entity.get(key)
        if isinstance(values, list):
            out[key] = [value for value in values if isinstance(value, str)]
    if "target" in entity:
        out["target"] = entity["target"] is True
    return out


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
