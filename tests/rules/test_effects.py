"""Legal effect on the real bundled lists: Xiaomi, China Mobile, Luokung and the 50 percent rule."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from listwatch.errors import UnknownEntity
from listwatch.rules.effects import EffectReport, legal_effect, legal_effect_timeline
from listwatch.store import Store

D = date.fromisoformat


def _effects(report: EffectReport) -> dict[tuple[str, str], tuple[str, date | None, date | None]]:
    return {(e.list_id, e.kind): (e.state, e.start, e.end) for e in report.effects}


@pytest.mark.parametrize("query", ["isin:KYG9830T1067", "Xiaomi"])
def test_xiaomi_ban_is_pending_before_the_injunction(rules_store: Store, query: str) -> None:
    report = legal_effect(rules_store, query, as_of=D("2021-03-11"))
    assert [e.list_id for e in report.entities] == ["us_dod_1237_ccmc"]
    assert _effects(report)[("us_dod_1237_ccmc", "purchase_ban")] == ("pending", D("2021-03-15"), None)
    assert report.next_change is not None
    assert (report.next_change.on, report.next_change.kind) == (D("2021-03-15"), "purchase_ban")
    assert report.next_change.text == "purchase ban starts 2021-03-15"
    ban = next(e for e in report.effects if e.kind == "purchase_ban")
    assert ban.reason == "listed 2021-01-14 + 60 days"
    assert "85 FR 73185" in ban.citations[0].text


def test_xiaomi_is_listed_but_enjoined_with_no_ban_in_force(rules_store: Store) -> None:
    report = legal_effect(rules_store, "isin:KYG9830T1067", as_of=D("2021-03-16"))
    assert report.effects
    assert {e.state for e in report.effects} == {"suspended"}
    ban = next(e for e in report.effects if e.kind == "purchase_ban")
    assert "suspended from 2021-03-12: enjoined" in ban.reason and "21-cv-280" in ban.reason
    assert report.next_change is None


def test_xiaomi_has_no_effect_after_the_vacatur(rules_store: Store) -> None:
    report = legal_effect(rules_store, "Xiaomi", as_of=D("2021-06-01"))
    assert report.effects == ()
    assert report.next_change is None


def test_china_mobile_is_banned_through_its_listed_parent(rules_store: Store) -> None:
    report = legal_effect(rules_store, "isin:HK0941009539", as_of=D("2021-02-01"))
    ban = next(e for e in report.effects if e.kind == "purchase_ban")
    assert (ban.list_id, ban.state, ban.start) == ("us_dod_1237_ccmc", "in_force", D("2021-01-11"))
    assert ban.entity_id == "us-dod-1237-ccmc-china-mobile-communications-group"
    assert ban.via is not None and "China Mobile Communications Group" in ban.via
    assert "by 2020-11-12" in ban.reason


def test_china_mobile_under_ns_cmic_from_listing_to_divestment(rules_store: Store) -> None:
    effects = _effects(legal_effect(rules_store, "isin:HK0941009539", as_of=D("2021-09-01")))
    assert effects[("us_ofac_cons", "purchase_ban")] == ("in_force", D("2021-08-02"), None)
    assert effects[("us_ofac_cons", "divestment_window")] == ("in_force", D("2021-08-02"), D("2022-06-03"))
    # the CCMC regime ended with the DoD list on 2021-06-03
    assert effects[("us_dod_1237_ccmc", "purchase_ban")] == ("ended", D("2021-01-11"), D("2021-06-02"))


def test_china_mobile_ban_is_pending_between_listing_and_effective_date(rules_store: Store) -> None:
    report = legal_effect(rules_store, "isin:HK0941009539", as_of=D("2021-06-10"))
    cmic = next(e for e in report.effects if e.list_id == "us_ofac_cons" and e.kind == "purchase_ban")
    assert (cmic.state, cmic.start) == ("pending", D("2021-08-02"))
    assert "listed 2021-06-03" in cmic.reason
    assert report.next_change is not None and report.next_change.on == D("2021-08-02")


def test_china_mobile_timeline_shows_both_regimes(rules_store: Store) -> None:
    timeline = legal_effect_timeline(
        rules_store, "isin:HK0941009539", start=D("2021-01-01"), end=D("2021-12-31")
    )
    bans = [(i.list_id, i.state, i.start, i.end) for i in timeline if i.kind == "purchase_ban"]
    assert bans == [
        ("us_dod_1237_ccmc", "in_force", D("2021-01-11"), D("2021-06-02")),
        ("us_ofac_cons", "in_force", D("2021-08-02"), D("2021-12-31")),
    ]


def test_luokung_ban_restarts_from_the_corrected_listing_and_is_enjoined(rules_store: Store) -> None:
    report = legal_effect(rules_store, "Luokung", as_of=D("2021-05-06"))
    ban = next(e for e in report.effects if e.kind == "purchase_ban")
    assert (ban.state, ban.start) == ("suspended", D("2021-05-08"))
    assert ban.reason.startswith("re-determined 2021-03-09 + 60 days")


def test_two_blocked_owners_with_55_percent_block_an_unlisted_company(
    rules_store: Store, ownership_file: Path
) -> None:
    report = legal_effect(
        rules_store, "Example Shipping Holdings Ltd", as_of=D("2021-07-15"), ownership=ownership_file
    )
    (blocked,) = report.effects
    assert (blocked.kind, blocked.state, blocked.list_id) == ("blocked", "in_force", "us_ofac_sdn")
    assert "owned 55% in aggregate" in blocked.reason
    assert "ROSNEFT TRADING S.A. 30% (line 2)" in blocked.reason
    assert "TNK TRADING INTERNATIONAL S.A. (us-ofac-sdn-28603) 25% (line 3)" in blocked.reason
    assert "79 FR 47726" in blocked.citations[0].text


def test_blocking_by_ownership_has_a_timeline(rules_store: Store, ownership_file: Path) -> None:
    timeline = legal_effect_timeline(
        rules_store,
        "Example Shipping Holdings Ltd",
        start=D("2021-01-01"),
        end=D("2021-12-31"),
        ownership=ownership_file,
    )
    # the two owners are in the only stored SDN snapshot, of 2021-07-01
    assert [(i.kind, i.start, i.end) for i in timeline] == [("blocked", D("2021-07-01"), D("2021-12-31"))]


def test_a_company_owned_by_a_blocked_company_is_blocked_in_turn(
    rules_store: Store, ownership_file: Path
) -> None:
    report = legal_effect(
        rules_store, "Example Shipping Agency Ltd", as_of=D("2021-07-15"), ownership=ownership_file
    )
    assert [(e.kind, e.state) for e in report.effects] == [("blocked", "in_force")]


def test_one_blocked_owner_with_30_percent_does_not_block(rules_store: Store, ownership_file: Path) -> None:
    for query in ("Example Tankers Ltd", "Example Tankers Shipping Ltd"):
        report = legal_effect(rules_store, query, as_of=D("2021-07-15"), ownership=ownership_file)
        assert report.effects == ()
    report = legal_effect(rules_store, "Example Tankers Ltd", as_of=D("2021-07-15"), ownership=ownership_file)
    assert any("own 30% of Example Tankers Ltd" in note and "less than 50%" in note for note in report.notes)


def test_an_owner_file_can_name_a_parent_for_the_ccmc_rules(rules_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "parents.csv"
    path.write_text(
        "owner,owned,percent\n"
        "China Mobile Communications Group,Example Telecom Holdings Ltd,60\n"
        "China Mobile Communications Group,Example Telecom Minority Ltd,40\n",
        encoding="utf-8",
    )
    owned = legal_effect(rules_store, "Example Telecom Holdings Ltd", as_of=D("2021-02-01"), ownership=path)
    ban = next(e for e in owned.effects if e.kind == "purchase_ban")
    assert (ban.state, ban.start, ban.list_id) == ("in_force", D("2021-01-11"), "us_dod_1237_ccmc")
    assert ban.via is not None and "owns 60%" in ban.via
    minority = legal_effect(
        rules_store, "Example Telecom Minority Ltd", as_of=D("2021-02-01"), ownership=path
    )
    assert minority.effects == ()


def test_an_unknown_entity_is_an_error_even_with_an_ownership_file(
    rules_store: Store, ownership_file: Path
) -> None:
    with pytest.raises(UnknownEntity):
        legal_effect(rules_store, "Nobody Trading Ltd", as_of=D("2021-07-15"), ownership=ownership_file)
