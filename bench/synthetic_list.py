"""SYNTHETIC data for the scale bench: a made-up restricted-party list in FtM JSON lines.

    .venv/bin/python bench/synthetic_list.py --entities 1000000 [--seed 8] [--out FILE]

Every entity here is invented by Faker (https://faker.readthedocs.io) from its per-locale name
lists: people and companies named as they are in English, German, French, Spanish, Italian,
Turkish, Russian, Ukrainian, Chinese, Japanese, Korean, Arabic and Persian, with aliases the way
lists carry them (a Latin spelling of a name in another script, family name first, a trading name).
Nobody on it is listed anywhere. Ids start with `synthetic-` and the dataset is
`synthetic_scale`, so the ingested list is `os_synthetic_scale` and can never be mistaken for a
real one. The file is cached under build/bench/scale/ (not committed) and made again only when
missing: the same size and seed always give the same file.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "bench" / "scale"
DATASET = "synthetic_scale"
LIST_ID = f"os_{DATASET}"
PUBLISHED = "2025-01-01T00:00:00"

# Faker locale, share of entities, ISO country. Shares roughly follow who is on the real lists.
LOCALES: tuple[tuple[str, float, str], ...] = (
    ("en_US", 0.16, "us"),
    ("en_GB", 0.05, "gb"),
    ("de_DE", 0.07, "de"),
    ("fr_FR", 0.07, "fr"),
    ("es_ES", 0.07, "es"),
    ("it_IT", 0.04, "it"),
    ("tr_TR", 0.05, "tr"),
    ("ru_RU", 0.12, "ru"),
    ("uk_UA", 0.04, "ua"),
    ("zh_CN", 0.12, "cn"),
    ("ja_JP", 0.05, "jp"),
    ("ko_KR", 0.04, "kr"),
    ("ar_AA", 0.08, "sy"),
    ("fa_IR", 0.04, "ir"),
)
PERSON_SHARE = 0.55
ORGANIZATION_SHARE = 0.10  # of the rest: Organization; others are Company


def default_path(entities: int, seed: int) -> Path:
    return WORK / f"synthetic-{entities}-seed{seed}.ftm.json"


def _fakers(seed: int) -> dict[str, Any]:
    from faker import Faker

    fakers = {}
    for n, (locale, _share, _country) in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + n)
        fakers[locale] = fake
    return fakers


def _latin(fake: Any, locale: str, person: bool) -> str | None:
    """A Latin spelling of a name in another script, where Faker has one (ja, zh: romanized)."""
    if person and locale in ("ja_JP", "zh_CN") and hasattr(fake, "romanized_name"):
        return str(fake.romanized_name())
    return None


def _entity(n: int, fake: Any, locale: str, country: str, rng: random.Random) -> dict[str, Any]:
    person = rng.random() < PERSON_SHARE
    props: dict[str, list[str]] = {"country": [country], "createdAt": ["2024-01-01"]}
    if person:
        schema = "Person"
        first, last = fake.first_name(), fake.last_name()
        joined = "" if locale in ("zh_CN", "ja_JP", "ko_KR") else " "
        name = f"{last}{first}" if not joined else f"{first} {last}"
        props["name"] = [name]
        aliases = []
        if joined and rng.random() < 0.3:
            aliases.append(f"{last.upper()}, {first}")  # as OFAC writes people
        latin = _latin(fake, locale, person)
        if latin and rng.random() < 0.6:
            aliases.append(latin)
        if rng.random() < 0.5:
            props["birthDate"] = [fake.date_of_birth(minimum_age=20, maximum_age=85).isoformat()]
        if aliases:
            props["alias"] = aliases
    else:
        schema = "Organization" if rng.random() < ORGANIZATION_SHARE else "Company"
        props["name"] = [fake.company()]
        if rng.random() < 0.25:
            props["alias"] = [fake.company()]  # a trading or former name
    return {
        "id": f"synthetic-{n:07d}",
        "schema": schema,
        "properties": props,
        "datasets": [DATASET],
        "target": True,
        "first_seen": PUBLISHED,
        "last_seen": PUBLISHED,
    }


def generate(entities: int, *, seed: int = 8, out: Path | None = None) -> Path:
    """Write the synthetic list (or keep the cached one); returns its path."""
    path = out or default_path(entities, seed)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    fakers = _fakers(seed)
    locales = [locale for locale, _, _ in LOCALES]
    weights = [share for _, share, _ in LOCALES]
    countries = {locale: country for locale, _, country in LOCALES}
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        for n in range(entities):
            locale = rng.choices(locales, weights)[0]
            entity = _entity(n, fakers[locale], locale, countries[locale], rng)
            handle.write(json.dumps(entity, ensure_ascii=False) + "\n")
    partial.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the scale bench's SYNTHETIC list (FtM JSON lines).")
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    path = generate(args.entities, seed=args.seed, out=args.out)
    print(f"{path} ({args.entities:,} synthetic entities, {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
