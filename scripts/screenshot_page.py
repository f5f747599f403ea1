"""Screenshots of the search page for the README: a real `bentoml serve` of the built catalogs
(ANISIM_HOME), Debian's Chromium, the query "an elf mage outlives her hero party" at desktop and
phone width, and a forum post whose cues show as chips. Prints the first result, the README
example's top 3 and the post's cues.

    python scripts/screenshot_page.py [--out docs]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from anisim.api.server import start_server, stop_server, wait_ready
from anisim.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
QUERY = "an elf mage outlives her hero party"
EXAMPLE = "a boy reborn as a slime in another world"
POST = "[TOMT][MOVIE][90s] anime film: a boy and a girl with a glowing crystal find a castle floating in the sky. Thanks!"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs", help="folder for the PNGs (default: %(default)s)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright
    process, url = start_server("service:AniSearch", {})
    try:
        wait_ready(url, process, timeout=300)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1100, "height": 1500})
            # covers are MAL URLs: offline they cannot load, so anything not from the service is refused
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else route.abort())
            page.goto(f"{url}/")
            page.wait_for_selector("#tags .facet-chips button", state="attached")
            page.fill("#q", QUERY)
            page.press("#q", "Enter")
            page.wait_for_selector("#cards .card")
            page.wait_for_timeout(800)
            print("first:", page.locator("#cards .card .title").first.inner_text(), "|", page.inner_text("#range"))
            page.screenshot(path=str(args.out / "search-page.png"))
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(300)
            page.screenshot(path=str(args.out / "search-page-phone.png"))
            page.goto(f"{url}/?q={EXAMPLE.replace(' ', '+')}")
            page.wait_for_selector("#cards .card")
            page.wait_for_timeout(500)
            print("example top 3:", page.locator("#cards .card .title").all_inner_texts()[:3])
            page.set_viewport_size({"width": 1100, "height": 900})
            page.fill("#q", POST)
            page.press("#q", "Enter")
            page.wait_for_selector("#cues button")
            page.wait_for_timeout(800)
            print("a post, cues:", page.locator("#cues button").all_inner_texts(), "first:",
                  page.locator("#cards .card .title").first.inner_text())
            page.screenshot(path=str(args.out / "search-page-cues.png"))
            browser.close()
    finally:
        stop_server(process)


if __name__ == "__main__":
    main()
