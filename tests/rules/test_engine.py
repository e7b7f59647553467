"""The engine on plain events: periods, court orders, rule dates, states and timelines."""

from __future__ import annotations

from datetime import date

from listwatch.rules.engine import effect_timeline, effects_on, next_change
from listwatch.rules.listings import Listing, ListingEvent, listing_periods
from listwatch.rules.programs import load_programs

D = date.fromisoformat


def _listing(list_id: str, *events: tuple[str, str], basis: str = "record") -> Listing:
    return Listing(
        entity_id=f"{list_id}-x",
        list_id=list_id,
        caption="X",
        schema="Company",
        programs=(),
        events=tuple(ListingEvent(kind, D(day), basis, f"notice of {day}") for kind, day in events),
    )


def _states(listing: Listing, day: str) -> dict[str, tuple[str, date | None, date | None]]:
    return {e.kind: (e.state, e.start, e.end) for e in effects_on(listing, load_programs(), D(day))}


def test_an_injunction_suspends_and_a_reinstatement_restarts_the_effect() -> None:
    sdn = _listing(
        "us_ofac_sdn", ("listed", "2021-01-01"), ("enjoined", "2021-03-01"), ("reinstated", "2021-04-01")
    )
    assert _states(sdn, "2021-03-15")["blocked"][0] == "suspended"
    assert _states(sdn, "2021-04-01")["blocked"] == ("in_force", D("2021-01-01"), None)
    stretches = [
        (i.state, i.start, i.end)
        for i in effect_timeline(sdn, load_programs(), start=D("2021-01-01"), end=D("2021-12-31"))
    ]
    assert stretches == [
        ("in_force", D("2021-01-01"), D("2021-02-28")),
        ("suspended", D("2021-03-01"), D("2021-03-31")),
        ("in_force", D("2021-04-01"), D("2021-12-31")),
    ]


def test_a_vacated_listing_ends_its_effects_the_day_before() -> None:
    sdn = _listing("us_ofac_sdn", ("listed", "2021-01-01"), ("vacated", "2021-05-25"))
    (period,) = listing_periods(sdn.events)
    assert period.end == D("2021-05-24") and period.ended_by is not None
    state, _, end = _states(sdn, "2021-06-01")["blocked"]
    assert (state, end) == ("ended", D("2021-05-24"))


def test_a_ban_enjoined_before_it_starts_leaves_no_effect_once_vacated() -> None:
    ccmc = _listing(
        "us_dod_1237_ccmc", ("listed", "2021-01-14"), ("enjoined", "2021-03-12"), ("vacated", "2021-05-25")
    )
    assert _states(ccmc, "2021-06-01") == {}
    timeline = effect_timeline(ccmc, load_programs(), start=D("2021-01-01"), end=D("2021-12-31"))
    assert {i.state for i in timeline} == {"suspended"}


def test_an_answer_uses_only_the_events_known_that_day() -> None:
    ccmc = _listing("us_dod_1237_ccmc", ("listed", "2021-01-14"), ("enjoined", "2021-03-12"))
    book = load_programs()
    effects = effects_on(ccmc, book, D("2021-03-11"))
    assert _states(ccmc, "2021-03-11")["purchase_ban"] == ("pending", D("2021-03-15"), None)
    change = next_change(effects, D("2021-03-11"))
    assert change is not None and change.text == "purchase ban starts 2021-03-15"


def test_listings_by_the_order_date_share_one_fixed_start() -> None:
    ccmc = _listing("us_dod_1237_ccmc", ("listed", "2020-06-24"))
    states = _states(ccmc, "2021-02-01")
    assert states["purchase_ban"] == ("in_force", D("2021-01-11"), None)
    assert states["divestment_window"] == ("in_force", D("2021-01-11"), D("2021-11-11"))
    assert states["possession_ban"] == ("pending", D("2021-11-12"), None)


def test_an_amended_notice_restarts_the_ccmc_clock() -> None:
    luokung = _listing("us_dod_1237_ccmc", ("listed", "2021-01-14"), ("amended", "2021-03-09"))
    assert _states(luokung, "2021-03-08")["purchase_ban"][1] == D("2021-03-15")
    assert _states(luokung, "2021-04-01")["purchase_ban"] == ("pending", D("2021-05-08"), None)


def test_a_rule_has_no_effect_before_its_law_exists() -> None:
    dod = _listing("us_dod_1260h", ("listed", "2021-06-03"))
    assert _states(dod, "2022-01-01") == {}
    assert _states(dod, "2024-01-01") == {
        "contracting_ban_direct": ("pending", D("2026-06-30"), None),
        "contracting_ban_indirect": ("pending", D("2027-06-30"), None),
    }


def test_a_listing_first_seen_in_the_earliest_snapshot_is_unknown_before_it() -> None:
    sdn = _listing("us_ofac_sdn", ("listed", "2021-07-01"), basis="first_snapshot")
    assert _states(sdn, "2021-06-30")["blocked"] == ("unknown", None, None)
    (effect,) = effects_on(sdn, load_programs(), D("2021-07-02"))
    assert "earliest snapshot" in effect.reason
