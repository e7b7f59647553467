"""The lists listwatch knows: ids, titles and publishers. Ingest refuses an id not listed here.

Each source list inside the US Consolidated Screening List is a list of its own (`us_csl_meu`,
`us_csl_sdn`...; the Entity List, published machine-readable only there, is `us_bis_entity`);
`os_DATASET` names any OpenSanctions dataset.
"""

from __future__ import annotations

import re
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


_CSL_URL = "https://www.trade.gov/consolidated-screening-list"
_BIS = "US Department of Commerce, Bureau of Industry and Security"
_STATE = "US Department of State"
_OFAC = "US Department of the Treasury, Office of Foreign Assets Control"

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
        ListInfo(
            "un_sc",
            "UN Security Council Consolidated List",
            "United Nations Security Council",
            "un",
            "https://main.un.org/securitycouncil/en/content/un-sc-consolidated-list",
        ),
        ListInfo(
            "gb_hmt_ofsi",
            "UK Consolidated List of Financial Sanctions Targets (OFSI)",
            "HM Treasury, Office of Financial Sanctions Implementation",
            "gb",
            "https://www.gov.uk/government/publications/financial-sanctions-consolidated-list-of-targets",
        ),
        ListInfo(
            "us_bis_dpl",
            "BIS Denied Persons List",
            "US Department of Commerce, Bureau of Industry and Security",
            "us",
            "https://www.bis.gov/licensing/guidance-on-end-user-and-end-use-controls-and-us-person-controls/denied-persons-list",
        ),
        ListInfo(
            "us_bis_entity",
            "BIS Entity List (as published in the US Consolidated Screening List)",
            _BIS,
            "us",
            "https://www.bis.gov/entity-list",
        ),
        ListInfo(
            "eu_fsf",
            "EU Consolidated Financial Sanctions List (Financial Sanctions Files)",
            "European Commission, DG FISMA",
            "eu",
            "https://webgate.ec.europa.eu/fsd/fsf",
        ),
        *(
            ListInfo(
                f"us_csl_{code}",
                f"{title} (from the US Consolidated Screening List)",
                authority,
                "us",
                _CSL_URL,
            )
            for code, title, authority in (
                ("meu", "BIS Military End User List", _BIS),
                ("dpl", "BIS Denied Persons List", _BIS),
                ("uvl", "BIS Unverified List", _BIS),
                ("isn", "State Department Nonproliferation Sanctions", _STATE),
                ("dtc", "State Department ITAR Debarred List", _STATE),
                ("sdn", "OFAC Specially Designated Nationals List", _OFAC),
                ("ssi", "OFAC Sectoral Sanctions Identifications List", _OFAC),
                ("fse", "OFAC Foreign Sanctions Evaders List", _OFAC),
                ("plc", "OFAC Palestinian Legislative Council List", _OFAC),
                (
                    "cap",
                    "OFAC Correspondent Account or Payable-Through Account Sanctions (CAPTA) List",
                    _OFAC,
                ),
                ("cmic", "OFAC Non-SDN Chinese Military-Industrial Complex Companies (NS-CMIC) List", _OFAC),
                ("mbs", "OFAC Non-SDN Menu-Based Sanctions (NS-MBS) List", _OFAC),
                (
                    "other",
                    "Source lists the Consolidated Screening List added after this listwatch",
                    "various",
                ),
            )
        ),
    )
}

# OpenSanctions datasets (`os_eu_fsf`, `os_us_ofac_sdn`...): any dataset a user is licensed for.
_OPENSANCTIONS = re.compile(r"os_[a-z0-9_]{2,56}")


def get_list(list_id: str) -> ListInfo:
    """The list with this id; `os_DATASET` names an OpenSanctions dataset (`os_eu_fsf`)."""
    try:
        return LISTS[list_id]
    except KeyError:
        if _OPENSANCTIONS.fullmatch(list_id):
            dataset = list_id.removeprefix("os_")
            return ListInfo(
                list_id,
                f"OpenSanctions dataset {dataset}",
                "OpenSanctions (as collected from the dataset's publisher)",
                "zz",
                f"https://www.opensanctions.org/datasets/{dataset}/",
            )
        raise UnknownList(list_id, sorted(LISTS)) from None
