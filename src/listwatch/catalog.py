"""The lists listwatch knows: ids, titles and publishers. Ingest refuses an id not listed here."""

from __future__ import annotations

from dataclasses import dataclass

from listwatch.errors import UnknownList

__all__ = ["LISTS", "ListInfo", "get_list"]


@dataclass(frozen=True, slots=True)
class ListInfo:
    id: str
    title: str
    authority: str
    country: str
    url: str


LISTS: dict[str, ListInfo] = {
    info.id: info
    for info in (
        ListInfo(
            "us_ofac_sdn",
            "OFAC Specially Designated Nationals and Blocked Persons (SDN) List",
            "US Department of the Treasury, Office of Foreign Assets Control",
            "us",
            "https://ofac.treasury.gov/specially-designated-nationals-and-blocked-persons-list-sdn-human-readable-lists",
        ),
        ListInfo(
            "us_ofac_cons",
            "OFAC Consolidated Sanctions List (non-SDN), including the NS-CMIC List",
            "US Department of the Treasury, Office of Foreign Assets Control",
            "us",
            "https://ofac.treasury.gov/consolidated-sanctions-list-non-sdn-lists",
        ),
        ListInfo(
            "us_dod_1237_ccmc",
            "DoD list of Communist Chinese military companies (FY1999 NDAA s.1237)",
            "US Department of Defense",
            "us",
            "https://www.defense.gov/News/Releases/",
        ),
        ListInfo(
            "us_dod_1260h",
            "DoD list of Chinese military companies (FY2021 NDAA s.1260H)",
            "US Department of Defense",
            "us",
            "https://www.defense.gov/News/Releases/",
        ),
    )
}


def get_list(list_id: str) -> ListInfo:
    try:
        return LISTS[list_id]
    except KeyError:
        raise UnknownList(list_id, sorted(LISTS)) from None
