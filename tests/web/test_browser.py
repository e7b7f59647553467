"""End to end in Chromium: the real app served by uvicorn, driven by Playwright (sync API).

Playwright launches Debian's /usr/bin/chromium (installed by `make test`); it never downloads a
browser. Screenshots of every page are kept in build/screenshots/ for people to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import HK_HOLDINGS, ROOT, XIAOMI, WebEnv

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "build" / "screenshots"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium: `make test` installs it (apt-get install chromium)"
)

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


def signed_in(browser: Browser, base: str, secret: str, path: str = "/") -> Page:
    """A new page, signed in through the login form on the way to `path`."""
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("API key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(path.split("?")[0]) + r"(\?|$)"))
    return page


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_search_xiaomi_and_read_its_2021_timeline(
    browser: Browser, live_server: str, web_env: WebEnv
) -> None:
    page = signed_in(browser, live_server, web_env.keys["viewer"])
    page.locator("body").click()
    page.keyboard.press("/")  # the search box takes focus
    box = page.get_by_label(re.compile("^Name, identifier"))
    expect(box).to_be_focused()
    box.fill("Xiaomi")
    page.get_by_label("As of").fill("2021-03-13")
    box.press("Enter")
    standings = page.locator("#standings")
    expect(standings).to_contain_text("Xiaomi Corporation")
    expect(standings).to_contain_text("suspended")
    shot(page, "search")

    standings.get_by_role("link", name="Xiaomi Corporation").click()
    expect(page).to_have_url(re.compile(f"/entity/{XIAOMI}"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Xiaomi Corporation")
    timeline = page.locator("#timeline")
    for day, kind, source in (
        ("2021-01-14", "listed", "DoD press release 2021-01-14"),
        ("2021-03-12", "enjoined", "Xiaomi Corp. v. Department of Defense"),
        ("2021-05-25", "vacated", "final order vacating the designation"),
    ):
        item = timeline.locator("li", has=page.locator(f'time[datetime="{day}"]')).filter(has_text=kind)
        expect(item.first).to_be_visible()
        expect(item.first.locator(".src")).to_contain_text(source)
    law = timeline.locator("li.tl-effect", has_text="purchase ban").first.get_by_role("link")
    expect(law).to_have_attribute("href", re.compile(r"^https://www\.federalregister\.gov/"))
    expect(page.locator("#prices-h + figure svg")).to_be_visible()
    shot(page, "entity")


def test_portfolio_upload_shows_the_restricted_holdings(
    browser: Browser, live_server: str, web_env: WebEnv
) -> None:
    page = signed_in(browser, live_server, web_env.keys["analyst"], "/portfolio")
    page.get_by_label("Holdings file").set_input_files(str(HK_HOLDINGS))
    page.get_by_label("As of (one day)").fill("2021-03-01")
    page.get_by_role("button", name="Screen holdings").click()
    report = page.locator("#report")
    expect(report).to_contain_text("8 restricted")
    expect(page.locator('#holdings tr[data-restricted="yes"]')).to_have_count(8)
    expect(page.locator("#holdings tr", has_text="0941.HK")).to_contain_text("restricted")
    shot(page, "portfolio")

    page.get_by_label("Holdings file").set_input_files(str(HK_HOLDINGS))
    page.get_by_label("As of (one day)").fill("")
    page.get_by_label("or from").fill("2020-06-01")
    page.get_by_label("to", exact=True).fill("2021-12-31")
    page.get_by_role("button", name="Screen holdings").click()
    expect(report).to_contain_text("9 restricted")
    expect(page.locator("section.holding figure svg").first).to_be_visible()
    shot(page, "portfolio-timeline")


def test_analyst_screens_with_progress_and_reviews_a_hit(
    browser: Browser, live_server: str, web_env: WebEnv
) -> None:
    page = signed_in(browser, live_server, web_env.keys["analyst"], "/screen")
    page.get_by_label("Parties file").set_input_files(str(web_env.parties()))
    page.get_by_label("As of").fill("2021-01-15")
    page.get_by_label("Your row id column").fill("id")
    page.get_by_role("button", name="Screen", exact=True).click()
    try:  # via the progress page, which polls the job until its run is stored
        page.wait_for_url(re.compile(r"/runs/run-\d+"), timeout=120_000)
    except PlaywrightTimeout:
        pytest.fail(f"the run page did not open: {page.url}: {page.locator('main').inner_text()}")
    hit = page.locator("#results tr.hit", has_text="Xiaomi Corporation").first
    expect(hit).to_contain_text("open")
    shot(page, "run-analyst")

    hit.get_by_label(re.compile("^Why")).fill("same company, same ISIN")
    hit.get_by_role("button", name="True match").click()
    expect(page.locator("p.notice")).to_contain_text("recorded")
    reviewed = page.locator("#results tr.hit", has_text="Xiaomi Corporation").first
    expect(reviewed).to_contain_text("confirmed")
    expect(reviewed).to_contain_text("same company, same ISIN")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.endswith(".csv")


def test_viewer_sees_runs_but_no_review_buttons(browser: Browser, live_server: str, web_env: WebEnv) -> None:
    page = signed_in(browser, live_server, web_env.keys["viewer"], "/screen")
    expect(page.locator("#screen-form")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("needs the analyst role")
    shot(page, "screen-viewer")
    runs = page.locator("#runs a")
    if runs.count() == 0:
        pytest.skip("no run stored yet (the analyst test makes one)")
    runs.first.click()
    expect(page.locator("#results")).to_be_visible()
    expect(page.get_by_role("button", name="True match")).to_have_count(0)
    expect(page.get_by_role("button", name="False positive")).to_have_count(0)
    shot(page, "run-viewer")


def test_alerts_and_impact_pages(browser: Browser, live_server: str, web_env: WebEnv) -> None:
    page = signed_in(browser, live_server, web_env.keys["analyst"], "/alerts")
    expect(page.locator("#alerts")).to_contain_text("Xiaomi")
    shot(page, "alerts")
    page.get_by_role("link", name="Impact").click()
    page.get_by_label("List").select_option("us_dod_1237_ccmc")
    page.get_by_label(re.compile("^Entity")).fill("Xiaomi")
    page.get_by_label(re.compile("^Announced after")).check()
    page.get_by_role("button", name="Run the study").click()
    expect(page.locator("#study svg").first).to_be_visible()
    expect(page.locator("#events")).to_contain_text("2021-01-15")
    shot(page, "impact")
