"""Country names as publishers write them ("Korea, North", "Burma") to ISO alpha-2 codes, via rigour."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["country_code"]


@lru_cache(maxsize=4096)
def country_code(value: str) -> str | None:
    """`"Korea, North"` -> `"kp"`; None when rigour does not know the territory."""
    from rigour.territories import lookup_territory

    territory = lookup_territory(value.strip())
    if territory is None:
        return None
    return str(territory.ftm_country or territory.code).lower()
