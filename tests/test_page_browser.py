"""The search page in a real headless Chromium (Debian's package, driven by Playwright) against a
real `bentoml serve` of the small catalogs. A missing Chromium is a failure, never a skip.

Covers are MAL image URLs: offline they cannot load, so image requests to other hosts are aborted
(and must end in the placeholder); any other request that leaves the service fails the test.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from anisim.samples import FRIEREN

pytestmark = pytest.mark.server
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("ANISIM_SCREENSHOTS", Path(__file__).resolve().parents[1] / "build" / "screenshots"))
FRIEREN_QUERY = "an elf mage outlives her hero party"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    assert CHROMIUM.exists(), "Chromium is missing: `apt-get install chromium` (.ci/run installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A browser page on the service that records every request leaving it."""

    def __init__(self, browser, base: str, width: int = 1280) -> None:
        self.base = base
        self.host = urlsplit(base).netloc
        self.offsite: list[tuple[str, str]] = []
        self.page = browser.new_page(viewport={"width": width, "height": 1000})
        self.page.route("**/*", self._route)

    def _route(self, route) -> None:
        request = route.request
        if urlsplit(request.url).netloc == self.host or request.url.startswith("data:"):
            route.continue_()
            return
        self.offsite.append((request.resource_type, request.url))
        route.abort()

    def open(self, path: str = "/") -> Visit:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("#tags .facet-chips button", state="attached")  # facets loaded (filters folded)
        return self

    def search(self, text: str) -> list[str]:
        self.page.fill("#q", text)
        self.page.press("#q", "Enter")  # the keyboard alone searches
        return self.wait_for_results()

    def wait_for_results(self) -> list[str]:
        self.page.wait_for_selector("#cards .card")
        self.until("!document.querySelector('#results').hasAttribute('aria-busy')")
        return self.titles()

    def until(self, expression: str, timeout: float = 30.0) -> None:
        """Poll a JavaScript expression until it is true. `page.evaluate` runs outside the page's
        Content-Security-Policy; `wait_for_function` evaluates a string in it, which the policy
        (no eval) refuses, as it should."""
        deadline = time.monotonic() + timeout
        while not self.page.evaluate(expression):
            assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
            time.sleep(0.05)

    def titles(self) -> list[str]:
        return self.page.locator("#cards .card .title").all_inner_texts()

    def ranks(self) -> list[str]:
        return self.page.locator("#cards .card .rank").all_inner_texts()

    def range_text(self) -> str:
        return self.page.inner_text("#range")

    def total(self) -> int:
        return int(re.search(r"of ([\d,]+)", self.range_text())[1].replace(",", ""))

    def close(self) -> None:
        """Every request that left the service was a cover image (aborted); nothing else."""
        others = [(kind, url) for kind, url in self.offsite if kind != "image"]
        self.page.close()
        assert not others, f"the page asked other hosts for: {others}"


@pytest.fixture()
def visit(browser, server):
    visit = Visit(browser, server)
    yield visit
    visit.close()


def test_a_description_finds_frieren_first_with_cover_chips_and_the_matched_passage(visit, small_catalogs):
    titles = visit.open().search(FRIEREN_QUERY)
    frieren = small_catalogs["anime"].items.set_index("id").loc[FRIEREN]
    assert titles[0] == frieren["title"]
    first = visit.page.locator("#cards .card").first
    assert first.locator(".rank").inner_text() == "#1"
    assert first.locator(".english").inner_text() == frieren["title_english"]
    first.locator(".cover .placeholder").wait_for()  # offline: the MAL cover fails, the placeholder stays
    assert "Frieren" in first.locator(".cover .placeholder").get_attribute("aria-label")
    assert set(first.locator(".chips li").all_inner_texts()) >= {"Adventure", "Drama", "Fantasy"}
    marked = {m.lower() for m in first.locator(".matched blockquote mark").all_inner_texts()}
    assert marked & {"elf", "mage", "hero", "party"}
    assert first.locator("a.mal-link").get_attribute("href") == frieren["url"]
    assert visit.range_text() == f"1-10 of {len(small_catalogs['anime'].items):,}"
    assert re.search(r"\?q=an\+elf\+mage", visit.page.url)
    assert any(kind == "image" for kind, _ in visit.offsite)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=str(SCREENSHOTS / "search-page.png"), full_page=True)


def test_a_genre_filter_narrows_the_results_and_the_total(visit):
    visit.open().search("a hero fights demons to save the kingdom")
    before = visit.total()
    visit.page.click("#filters summary")
    visit.page.click("#tags button[data-name='Fantasy']")
    visit.until(f"!document.querySelector('#range').textContent.endsWith('of {before:,}')")
    visit.wait_for_results()
    assert 0 < visit.total() < before
    for card in visit.page.locator("#cards .card").all():
        assert "Fantasy" in card.locator(".chips li").all_inner_texts()
    assert "genre=Fantasy" in visit.page.url


def test_page_two_shows_ranks_11_to_20_and_a_reload_or_back_restores_the_state(visit):
    first_page = visit.open().search("a boy reborn as a slime in another world")
    visit.page.click("#next")
    visit.page.wait_for_url(re.compile(r"page=2"))
    visit.until("document.querySelector('#cards .rank').textContent === '#11'")
    assert visit.ranks() == [f"#{r}" for r in range(11, 21)]
    assert visit.range_text().startswith("11-20 of ")
    second_page = visit.titles()
    visit.page.go_back()
    visit.until("document.querySelector('#cards .rank').textContent === '#1'")
    assert visit.titles() == first_page
    visit.page.go_forward()
    visit.until("document.querySelector('#cards .rank').textContent === '#11'")
    visit.page.reload()
    assert visit.wait_for_results() == second_page and visit.ranks()[0] == "#11"
    assert visit.page.input_value("#q") == "a boy reborn as a slime in another world"


def test_more_like_this_lists_similar_titles_and_not_the_title_itself(visit):
    visit.open().search(FRIEREN_QUERY)
    first = visit.page.locator("#cards .card").first
    title = first.locator(".title").inner_text()
    first.locator("button.like").click()
    visit.page.wait_for_url(re.compile(rf"like={FRIEREN}"))
    visit.until("document.querySelector('#summary').textContent.startsWith('Titles like')")
    titles = visit.wait_for_results()
    assert len(titles) == 10 and title not in titles
    assert title in visit.page.inner_text("#summary")


def test_an_empty_query_and_no_results_get_clear_messages(visit):
    visit.open()
    visit.page.press("#q", "Enter")
    assert "Type a description" in visit.page.inner_text("#status")
    visit.page.goto(f"{visit.base}/?q=alchemy&from=2099&to=2099")
    visit.until("document.querySelector('#status').textContent.includes('No titles match')")


def test_the_page_fits_a_phone_screen(browser, server):
    visit = Visit(browser, server, width=390)
    visit.open().search(FRIEREN_QUERY)
    assert visit.page.evaluate("document.documentElement.scrollWidth") <= 390
    visit.page.screenshot(path=str(SCREENSHOTS / "search-page-phone.png"), full_page=False)
    visit.close()


def test_while_an_index_builds_results_say_keywords_only_and_dense_shows_the_503(browser, half_served):
    visit = Visit(browser, half_served)
    visit.page.goto(f"{half_served}/?q=a+hunter+levels+up&kind=manga")
    visit.page.wait_for_selector("#cards li")
    assert "keywords only" in visit.page.inner_text("#status")
    visit.page.goto(f"{half_served}/?q=a+hunter+levels+up&kind=manga&mode=dense")
    visit.until("document.querySelector('#status').classList.contains('error')")
    message = visit.page.inner_text("#status")
    assert "not available right now" in message and "Try again in" in message
    assert visit.page.locator("#results").is_hidden()
    visit.close()


def test_cues_show_as_chips_that_a_click_or_the_keyboard_removes_and_a_reload_keeps_removed(visit):
    visit.open().search("[MOVIE] a 90s anime film about a girl who flies a broom and delivers bread")
    chips = visit.page.locator("#cues button")
    assert visit.page.locator("#cues").is_visible()
    assert chips.all_inner_texts() == ["movies ×", "1990s ×"]
    before = visit.titles()
    chips.first.click()  # "movies": it was not a movie after all
    visit.page.wait_for_url(re.compile(r"ignore=types"))
    visit.until("document.querySelectorAll('#cues button').length === 1")
    visit.wait_for_results()
    assert chips.all_inner_texts() == ["1990s ×"] and visit.titles() != before
    visit.page.reload()
    visit.wait_for_results()
    assert chips.all_inner_texts() == ["1990s ×"]
    chips.first.focus()
    visit.page.keyboard.press("Enter")
    visit.until("document.querySelector('#cues').hidden")
    assert "ignore=years" in visit.page.url and visit.page.locator("#cues").is_hidden()


def test_an_audience_chip_says_who_the_title_is_for(visit):
    visit.open().search("a gory R rated film about a ninja who fights demons")
    assert visit.page.locator("#cues button").all_inner_texts() == ["movies ×", "for adults (rated R) ×", "Supernatural ×"]


def test_cards_name_the_makers_and_related_titles_link_to_mal_by_title(visit):
    visit.open().search(FRIEREN_QUERY)
    assert visit.page.locator("#cues button").all_inner_texts() == ["Fantasy ×"]  # "elf"
    first = visit.page.locator("#cards .card").first
    assert "Madhouse" in first.locator(".makers").inner_text()
    assert "MyAnimeList synopsis" not in first.locator(".matched figcaption").inner_text()
    assert ".parquet" not in visit.page.inner_text("#cards") and ".jsonl" not in visit.page.inner_text("#cards")
    links = visit.page.locator("#cards .related a")
    assert links.count() > 0
    for link in links.all():
        assert link.inner_text() and not link.inner_text().startswith("#")
        assert link.get_attribute("href").startswith("https://myanimelist.net/anime/")
    assert not re.search(r"#\d+ \(", visit.page.inner_text("#cards"))
    visit.search("a boy who dreams of the sea")
    visit.until("document.querySelector('#cues').hidden")  # no cue: no empty row


def test_a_card_lists_the_episode_titles_when_opened(visit, small_catalogs):
    visit.open().search(FRIEREN_QUERY)
    episodes = visit.page.locator("#cards .card").first.locator(".episodes")
    assert episodes.locator("li").count() == 0  # fetched only when opened
    episodes.locator("summary").click()
    episodes.locator("li").first.wait_for()
    expected = small_catalogs["anime"].items.set_index("id").loc[FRIEREN, "episode_titles"]
    assert episodes.locator("li").all_inner_texts() == list(expected)
    assert episodes.locator("summary").inner_text() == f"Episode titles ({len(expected)})"
