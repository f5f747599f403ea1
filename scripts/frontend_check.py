"""Drive the old AniSearch front end, unmodified, against a real anisim in headless Chromium.

    python scripts/frontend_check.py [--out DIR]      (or: make frontend)

1. copies `../shared/reference/anisearch-frontend` to a temporary folder, runs `npm ci` and
   `next build` there (its node_modules never touch this repository);
2. starts anisim (`bentoml serve`, the built indexes under ANISIM_HOME) and `next start`, both on
   loopback;
3. in Debian's Chromium (Playwright for Python, `executable_path`): with the app's default settings
   and the service's endpoint, an anime search shows cards; choosing `fine_tuned_sbert_anime_model`
   works; "Load More" appends distinct titles; a manga search shows a score on most cards and every
   score and chapter count anisim returns for them; the app's genre filter narrows the cards.
Saves screenshots to --out and exits non-zero on the first failure.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from anisim.api.server import free_port, start_server, stop_server, wait_ready
from anisim.settings import PROJECT_ROOT

FRONTEND = PROJECT_ROOT.parent / "shared" / "reference" / "anisearch-frontend"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CARD = "div.rounded-xl.border:has(h2)"  # the app's result Card (shadcn), titled by an h2


def step(message: str) -> None:
    print(f"[frontend-check] {message}", flush=True)


def build_frontend(folder: Path) -> Path:
    """Copy the app (without any node_modules), npm ci, next build; returns the app folder."""
    app = folder / "anisearch-frontend"
    shutil.copytree(FRONTEND, app, ignore=shutil.ignore_patterns("node_modules", ".next"))
    for path in [app, *app.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # the reference copy is read-only
    env = {**os.environ, "NEXT_TELEMETRY_DISABLED": "1"}
    for command in (["npm", "ci", "--no-audit", "--no-fund"], ["npx", "next", "build"]):
        step(" ".join(command))
        subprocess.run(command, cwd=app, env=env, check=True, stdout=subprocess.DEVNULL)
    return app


def start_frontend(app: Path, port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(["npx", "next", "start", "-p", str(port), "-H", "localhost"], cwd=app,
                               env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1"}, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://localhost:{port}/", timeout=3).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    raise TimeoutError("next start did not answer")


def cards(page) -> list[str]:
    """The text of every result card on the page (its first line is the title)."""
    return [c.locator("h2").inner_text() + "\n" + c.inner_text() for c in page.locator(CARD).all()]


def search(page, text: str, at_least: int = 1) -> list[str]:
    page.locator("textarea").fill(text)
    page.get_by_role("button", name="Find").click()
    page.wait_for_function(f"document.querySelectorAll('{CARD}').length >= {at_least}", timeout=60_000)
    page.wait_for_timeout(500)
    return cards(page)


def legacy_records(api: str, query: str, results: int) -> list[dict]:
    """The first `results` manga anisim itself returns for `query` (the cards' data)."""
    body = {"model": "anisim-minilm-l6-v2", "description": query, "page": 1, "resultsPerPage": results}
    return httpx.post(f"{api}/anisearchmodel/manga", json=body, timeout=30).json()


def narrowing_genre(records: list[dict]) -> str:
    """A common MAL genre that some of these titles have and some do not (so filtering by it must
    narrow the cards)."""
    counts = Counter(g for r in records for g in set(ast.literal_eval(r["genres"] or "[]")))
    for genre in ("Action", "Fantasy", "Adventure", "Drama", "Comedy", "Romance", "Sci-Fi", "Supernatural"):
        if 0 < counts[genre] < len(records):
            return genre
    raise AssertionError(f"no common genre splits these results: {dict(counts)}")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)
    step(f"ok: {message}")


def drive(front: str, api: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    settings = {"defaultModel": "sentence-t5-xl", "pageTheme": "light", "resultsPerPage": "6",
                "customResultsPerPage": "", "endpoint": f"{api}/anisearchmodel/"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.add_init_script(f"localStorage.setItem('aniSearchSettings', {json.dumps(json.dumps(settings))})")
        page.goto(front)

        found = search(page, "An elf mage who outlived her hero party travels to understand humans.")
        check(len(found) >= 1 and "An error occurred" not in page.content(),
              f"default settings (sentence-t5-xl): an anime search shows {len(found)} cards")
        page.screenshot(path=str(out / "frontend_anime_default.png"), full_page=True)

        page.get_by_role("combobox").first.click()
        page.get_by_role("option", name="fine_tuned_sbert_anime_model").click()
        found = search(page, "Two brothers try alchemy to bring back their mother and pay a terrible price.")
        check(len(found) >= 1, "fine_tuned_sbert_anime_model: a search shows cards")

        before = [c.splitlines()[0] for c in cards(page)]
        page.get_by_role("button", name="Load More").click()
        page.wait_for_function(f"document.querySelectorAll('{CARD}').length > {len(before)}", timeout=60_000)
        after = [c.splitlines()[0] for c in cards(page)]
        check(len(after) > len(before) and len(set(after)) == len(after),
              f"Load More appends distinct titles ({len(before)} -> {len(after)})")

        page.locator("#search-type").click()
        query = "A high school student finds a notebook that kills anyone whose name is written in it."
        found = search(page, query)
        scored = sum(not re.search(r"Score\W*N/A", c) for c in found)
        counted = sum("N/A ch" not in c for c in found)
        records = legacy_records(api, query, len(found))
        known = {field: sum(r[field] is not None for r in records) for field in ("score", "chapters")}
        check(scored == known["score"] and counted == known["chapters"] and scored > len(found) / 2,
              f"manga cards show every score and chapter count anisim knows: {scored} of {len(found)} "
              f"a score, {counted} chapters (ongoing series have none on MAL)")
        page.screenshot(path=str(out / "frontend_manga.png"), full_page=True)

        total = len(found)
        genre = narrowing_genre(records)
        page.get_by_text("Filter Options").click()
        page.get_by_text("Select genres").click()
        page.get_by_role("option", name=genre, exact=True).click()
        page.keyboard.press("Escape")
        page.wait_for_timeout(1000)
        narrowed = cards(page)
        check(0 < len(narrowed) < total and all(genre in c for c in narrowed),
              f"the app's genre filter narrows the cards ({total} -> {len(narrowed)}, all {genre})")
        page.screenshot(path=str(out / "frontend_manga_filtered.png"), full_page=True)
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "build" / "frontend-check",
                        help="folder for screenshots and logs (default: %(default)s)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    front_port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        app = build_frontend(Path(folder))
        api_process, api = start_server("service:AniSearch", {"ANISIM_CORS_ORIGINS": f"http://localhost:{front_port}"},
                                        args.out / "serve.log")
        front_process = None
        try:
            wait_ready(api, api_process, timeout=300)
            front_process = start_frontend(app, front_port, args.out / "next.log")
            drive(f"http://localhost:{front_port}/", api, args.out)
        except Exception as problem:  # noqa: BLE001 (report any failure as one line, exit 1)
            print(f"[frontend-check] FAILED: {problem}", file=sys.stderr)
            return 1
        finally:
            if front_process is not None:
                stop_server(front_process)
            stop_server(api_process)
    step(f"all checks passed; screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
