"""`anisim sync` against a local Jikan v4 stand-in (`tests/jikan_standin.py`, checked against the
published OpenAPI document): full and incremental crawls, every fault, the rate, kills and a full disk."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import tmpfs
from jikan_standin import Fault, JikanStandIn, busiest, titles_of

from anisim.catalog import build_catalog
from anisim.errors import SyncFailed, WriteFailed
from anisim.jikan import JikanClient, Politeness, RateLimiter, retry_after_s
from anisim.lexical import LexicalScorer
from anisim.models import MINILM
from anisim.query import Query
from anisim.search import Searcher
from anisim.settings import Settings
from anisim.sync import sync
from anisim.syncstore import TITLES, SyncStore
from anisim.text import clean_synopsis

ROOT = Path(__file__).resolve().parents[1]
FAST = Politeness(per_second=500, per_minute=100_000, timeout_s=0.5, attempts=4, backoff_s=0.02)


@pytest.fixture(scope="module")
def served_titles(catalogs) -> dict[str, list[dict]]:
    """Real titles re-shaped into v4 objects: 1,100 anime (every 20th, plus every airing and
    upcoming one) and 450 manga (every 13th): 62 pages, enough to pass a minute's 60 requests."""
    anime = catalogs["anime"]
    airing = anime.items[anime.items["status"].isin(["Currently Airing", "Not yet aired"])]["id"].tolist()
    picked = sorted(set(anime.items["id"].iloc[::20].head(1060)) | set(airing[:40]))
    return {"anime": titles_of(anime.subset(picked), len(picked)),
            "manga": titles_of(catalogs["manga"], 450, 13)}


def small(titles: dict[str, list[dict]], anime: int = 90, manga: int = 30) -> dict[str, list[dict]]:
    return {"anime": titles["anime"][:anime], "manga": titles["manga"][:manga]}


@pytest.fixture()
def standin():
    servers = []

    def start(titles: dict[str, list[dict]], **options) -> tuple[JikanStandIn, str]:
        server = JikanStandIn({k: [dict(t) for t in v] for k, v in titles.items()}, **options)
        servers.append(server)
        return server, server.start()

    yield start
    for server in servers:
        assert server.violations == [], server.violations[:3]
        server.stop()


def stored(out: Path, kind: str) -> list[int]:
    """The MAL ids in a kind's compacted store, in file order (a duplicate would show twice)."""
    lines = (out / kind / "jikan" / TITLES).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["jikan"]["mal_id"] for line in lines]


def with_synopsis(titles: list[dict]) -> dict[int, dict]:
    return {t["mal_id"]: t for t in titles if isinstance(t.get("synopsis"), str) and clean_synopsis(t["synopsis"])}


def known(value: object) -> object:
    """A catalog cell with pandas' missing markers as None."""
    return None if value is None or value is pd.NA or value != value else value


def assert_catalog_matches(out: Path, kind: str, served: list[dict]) -> None:
    """Every served title with a synopsis is in the built catalog with the same text, type, year and members."""
    catalog, _ = build_catalog(out, kind)
    expected = with_synopsis(served)
    items = catalog.items.set_index("id")
    assert set(items.index) == set(expected)
    texts = catalog.synopses.groupby("item_id")["text"].first()
    for mal_id, title in expected.items():
        row = items.loc[mal_id]
        assert texts[mal_id] == clean_synopsis(title["synopsis"])
        assert known(row["start_year"]) == title.get("year", (title.get("published") or {}).get("prop", {}).get("from", {})
                                              .get("year"))
        assert known(row["members"]) == title["members"] and known(row["type"]) == title["type"]


# ---- the whole round trip, at Jikan's real limits -------------------------------------------------

@pytest.mark.slow
def test_a_full_then_incremental_sync_fills_a_searchable_catalog_within_the_rate(served_titles, standin, tmp_path):
    server, url = standin(served_titles)
    client = JikanClient(url)  # the defaults: 3 a second, 60 a minute
    out = tmp_path / "sources"
    for kind in ("anime", "manga"):
        report = sync(kind, out, client)
        assert report.mode == "full" and report.stored == len(served_titles[kind])
        assert sorted(stored(out, kind)) == sorted(t["mal_id"] for t in served_titles[kind])

    # a week later: new titles, and the airing ones have more members
    top = max(server.titles["anime"])
    newer = [{**t, "mal_id": top + i + 1} for i, t in enumerate(served_titles["anime"][:30])]
    server.titles["anime"].update({t["mal_id"]: t for t in newer})
    airing = [t for t in server.titles["anime"].values() if t["status"] == "Currently Airing"]
    assert airing
    for title in airing:
        title["members"] = (title["members"] or 0) + 1000
    report = sync("anime", out, client)
    assert report.mode == "incremental" and report.new == 30
    assert any("/seasons/now" in path for _, path in server.log)
    top = max(server.titles["manga"])
    server.titles["manga"].update({top + i: {**t, "mal_id": top + i} for i, t in enumerate(served_titles["manga"][:5], 1)})
    manga = sync("manga", out, client)
    assert manga.mode == "incremental" and manga.new == 5 and manga.pages == 1
    assert sorted(stored(out, "manga")) == sorted(server.titles["manga"])
    served_now = list(server.titles["anime"].values())
    assert sorted(stored(out, "anime")) == sorted(server.titles["anime"])
    assert_catalog_matches(out, "anime", served_now)
    assert_catalog_matches(out, "manga", list(server.titles["manga"].values()))

    # the rate, from the server's own log
    assert len(server.log) > 60
    assert busiest(server.log, 1.0) <= 3 and busiest(server.log, 60.0) <= 60

    # searchable: each of a sample of new titles, searched by its own synopsis, comes back in the first ten
    catalog, _ = build_catalog(out, "anime")
    searcher = Searcher(catalog, None, lexical=LexicalScorer.for_catalog(catalog, tmp_path / "home"))
    for title in newer[:10]:
        page = searcher.search(Query.parse(title["synopsis"][:300], "lexical", searcher.names), None, 1, 10)
        assert title["mal_id"] in set(catalog.items["id"].iloc[page.positions])


# ---- faults ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("what", ["429", "500", "503", "slow", "malformed"])
def test_a_passing_fault_is_retried_and_the_crawl_completes(served_titles, standin, tmp_path, what):
    titles = small(served_titles)
    server, url = standin(titles, slow_s=1.5)
    server.faults = [Fault("/anime", what, nth=2)]
    report = sync("anime", tmp_path, JikanClient(url, FAST))
    assert stored(tmp_path, "anime") == sorted(t["mal_id"] for t in titles["anime"])
    assert report.stored == len(titles["anime"])
    pages = [(t, p) for t, p in server.log if "page=2&" in p or p.endswith("page=2")]
    assert len(pages) == 2  # the fault, then the retry
    if what == "429":  # Retry-After: 1 was honoured
        assert pages[1][0] - pages[0][0] >= 0.95


def test_a_title_inserted_between_two_pages_is_not_missed(served_titles, standin, tmp_path):
    titles = small(served_titles)
    held_back = titles["anime"].pop(20)  # sorts into page 1, which is already read when it appears
    server, url = standin(titles)
    server.faults = [Fault("/anime", "insert", nth=1, title=held_back)]
    report = sync("anime", tmp_path, JikanClient(url, FAST))
    assert report.reread == 1
    ids = stored(tmp_path, "anime")
    assert held_back["mal_id"] in ids and len(ids) == len(set(ids)) == len(titles["anime"]) + 1


def test_bad_records_are_counted_and_skipped(served_titles, standin, tmp_path):
    titles = small(served_titles, anime=30)
    broken = [dict(t) for t in titles["anime"][:4]]
    broken[0]["synopsis"] = None
    broken[1]["synopsis"] = "No synopsis has been added for this series yet."
    for field in ("type", "members", "titles", "aired", "year", "genres"):
        broken[2].pop(field)
    broken[3]["mal_id"] = "not a number"
    titles = {"anime": [*broken, *titles["anime"][4:]], "manga": []}
    server, url = standin(titles)
    report = sync("anime", tmp_path, JikanClient(url, FAST))
    assert report.skipped == {"records without an integer mal_id": 1} and report.without_synopsis == 2
    server.violations.clear()  # the broken record is not v4-shaped, on purpose
    catalog, build = build_catalog(tmp_path, "anime")
    assert build.titles_without_synopsis == 2
    assert broken[2]["mal_id"] in set(catalog.items["id"])


def test_repeated_failures_stop_with_one_line_and_the_next_run_resumes(served_titles, standin, tmp_path):
    titles = small(served_titles)
    server, url = standin(titles)
    server.faults = [Fault("/anime", "503", nth=n) for n in range(3, 3 + FAST.attempts)]
    with pytest.raises(SyncFailed) as failure:
        sync("anime", tmp_path, JikanClient(url, FAST))
    message = str(failure.value)
    assert "\n" not in message and "failed 4 times (last: HTTP 503)" in message and "run the same command" in message
    assert "page=3" in message
    report = sync("anime", tmp_path, JikanClient(url, FAST))
    assert report.mode == "full" and sorted(stored(tmp_path, "anime")) == sorted(t["mal_id"] for t in titles["anime"])
    assert sum("page=1&" in p for _, p in server.log) == 1  # page 1 was not fetched again


def test_a_server_without_the_season_routes_costs_only_the_season_refresh(served_titles, standin, tmp_path):
    server, url = standin(small(served_titles))
    client = JikanClient(url, FAST)
    sync("anime", tmp_path, client)
    server.faults = [Fault("/seasons", "404", nth=n) for n in (1, 2)]
    report = sync("anime", tmp_path, client)
    assert report.mode == "incremental" and report.stopped is None
    assert report.skipped == {"pages of /seasons/now refused by the server": 1,
                              "pages of /seasons/upcoming refused by the server": 1}


def test_synced_titles_win_over_every_dump(catalogs, standin, served_titles, tmp_path):
    frieren = 52991
    row = catalogs["anime"].items.set_index("id").loc[frieren]
    title = titles_of(catalogs["anime"].subset([frieren]), 1)[0]
    title["members"] = int(row["members"]) + 12345
    title["synopsis"] = "A synopsis as MAL gives it today. [Written by MAL Rewrite]"
    _, url = standin({"anime": [title], "manga": []})
    sources = tmp_path / "sources"
    shutil.copytree(Settings.from_env().data_dir / "anime" / "mal_seasonal_ate329", sources / "anime" / "seasonal")
    sync("anime", sources, JikanClient(url, FAST))
    catalog, report = build_catalog(sources, "anime")
    assert report.rows_per_source["jikan"] == 1
    assert catalog.items.set_index("id").loc[frieren, "members"] == int(row["members"]) + 12345
    assert "A synopsis as MAL gives it today." in set(catalog.synopses["text"])
    assert catalog.dates["synced_at"]


def test_unchanged_pages_cost_a_304_with_the_stored_etag(served_titles, standin, tmp_path):
    _, url = standin(small(served_titles))
    client = JikanClient(url, FAST)
    first = sync("manga", tmp_path, client)
    again = sync("manga", tmp_path, client, full=True)
    assert first.not_modified == 0 and again.not_modified == again.pages == first.pages
    assert again.stored == first.stored


def test_a_budget_stops_at_a_page_and_the_next_run_goes_on(served_titles, standin, tmp_path):
    titles = small(served_titles)
    _, url = standin(titles)
    client = JikanClient(url, Politeness(per_second=1, per_minute=1000))
    report = sync("anime", tmp_path, client, max_minutes=0.03)  # 1.8 s: pages start at 0, 1.05, 2.1 s
    assert report.stopped and "--max-minutes" in report.stopped
    assert 0 < report.stored < len(titles["anime"])
    sync("anime", tmp_path, JikanClient(url, FAST))
    assert stored(tmp_path, "anime") == sorted(t["mal_id"] for t in titles["anime"])


# ---- kills and a full disk ------------------------------------------------------------------------

def run_sync(url: str, out: Path, kill_at: str | None = None, per_second: int = 50) -> subprocess.Popen:
    env = {**os.environ, "ANISIM_JIKAN_URL": url, "ANISIM_JIKAN_PER_SECOND": str(per_second),
           "ANISIM_JIKAN_PER_MINUTE": "100000"}
    env.pop("ANISIM_KILL_AT", None)
    if kill_at:
        env["ANISIM_KILL_AT"] = kill_at
    return subprocess.Popen([sys.executable, "-m", "anisim.cli", "sync", "--kind", "anime", "--sources", str(out)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("kill_at", ["sync-page-written", "sync-compacted", "timed"])
def test_a_sync_killed_anywhere_resumes_and_loses_or_doubles_nothing(served_titles, standin, tmp_path, kill_at):
    titles = small(served_titles, anime=200)
    server, url = standin(titles)
    if kill_at == "timed":  # SIGKILL from outside, at whatever moment the fourth request arrives
        process = run_sync(url, tmp_path, per_second=4)
        deadline = time.monotonic() + 30
        while len(server.log) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    else:
        process = run_sync(url, tmp_path, kill_at)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    done = run_sync(url, tmp_path)
    _, errors = done.communicate(timeout=120)
    assert done.returncode == 0, errors[-2000:]
    assert stored(tmp_path, "anime") == sorted(t["mal_id"] for t in titles["anime"])
    assert SyncStore(tmp_path, "anime").pages() == []


@pytest.fixture()
def small_disk(tmp_path):
    """A 2 MB tmpfs (`conftest.tmpfs`)."""
    with tmpfs(tmp_path / "disk", "2m") as mount:
        yield mount


def test_a_full_disk_is_one_line_and_the_stored_titles_stay_whole(served_titles, standin, small_disk):
    titles = small(served_titles, anime=60)
    server, url = standin(titles)
    sync("anime", small_disk, JikanClient(url, FAST))
    before = (small_disk / "anime" / "jikan" / TITLES).read_bytes()
    top = max(server.titles["anime"])
    server.titles["anime"].update({top + i: {**t, "mal_id": top + i} for i, t in enumerate(titles["anime"], 1)})
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * max(shutil.disk_usage(small_disk).free - 20_000, 0))
    with pytest.raises(WriteFailed) as failure:
        sync("anime", small_disk, JikanClient(url, FAST))
    assert "no space left on device" in str(failure.value) and "\n" not in str(failure.value)
    assert (small_disk / "anime" / "jikan" / TITLES).read_bytes() == before
    ballast.unlink()
    sync("anime", small_disk, JikanClient(url, FAST))
    assert len(stored(small_disk, "anime")) == 2 * len(titles["anime"])


# ---- the client's own rules -----------------------------------------------------------------------

def test_the_rate_limiter_never_lets_more_than_each_window_allows():
    clock = [0.0]
    limiter = RateLimiter([(3, 1.0), (60, 60.0)], clock=lambda: clock[0],
                          sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    sent = []
    for _ in range(200):
        limiter.wait()
        sent.append((clock[0], ""))
        clock[0] += 0.001
    assert busiest(sent, 1.0) <= 3 and busiest(sent, 60.0) <= 60


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_s("2") == 2.0 and retry_after_s(None) is None and retry_after_s("soon") is None
    assert 0 <= retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") < 1  # a date in the past: go now


# ---- a running server takes the update live ----------------------------------------------------

def index_hashes(home: Path, kind: str) -> set[str]:
    return set(json.loads((home / kind / MINILM / "manifest.json").read_text())["text_hashes"])


@pytest.mark.server
def test_a_running_server_takes_a_sync_live_with_no_failed_request(served_titles, standin, small_home, tmp_path):
    import threading

    import httpx

    from anisim.api.server import start_server, stop_server, wait_ready
    server, url = standin(small(served_titles, anime=120, manga=40))
    sources, home = tmp_path / "sources", tmp_path / "home"
    for kind in ("anime", "manga"):
        sync(kind, sources, JikanClient(url, FAST))
    shutil.copytree(small_home / "onnx", home / "onnx")  # the export, made once for the suite
    env = {**os.environ, "ANISIM_JIKAN_URL": url, "ANISIM_MODELS": MINILM, "ANISIM_HOME": str(home),
           "ANISIM_DATA_DIR": str(sources), "ANISIM_JIKAN_PER_SECOND": "50", "ANISIM_JIKAN_PER_MINUTE": "100000"}
    first = subprocess.run([sys.executable, "-m", "anisim.cli", "prepare"], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    before = index_hashes(home, "anime")

    # a week on MAL: ten new titles, three rewritten synopses
    top = max(server.titles["anime"])
    newer = [{**t, "mal_id": top + i} for i, t in enumerate(served_titles["anime"][200:210], 1)]
    server.titles["anime"].update({t["mal_id"]: t for t in newer})
    for title in list(server.titles["anime"].values())[-13:-10]:
        title["synopsis"] += " A new season was announced in December 2026."
    process, base = start_server("service:AniSearch", {k: env[k] for k in ("ANISIM_MODELS", "ANISIM_HOME")},
                                 tmp_path / "serve.log")
    statuses: list[int] = []
    stop = threading.Event()

    def client(number: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while not stop.is_set():
                body = {"kind": ("anime", "manga")[number % 2], "query": f"a story about friends number {number}"}
                try:
                    statuses.append(http.post("/v1/search", json=body).status_code)
                except httpx.HTTPError as exc:
                    statuses.append(type(exc).__name__)

    try:
        wait_ready(base, process)
        clients = [threading.Thread(target=client, args=(n,)) for n in range(16)]
        for thread in clients:
            thread.start()
        done = subprocess.run([sys.executable, "-m", "anisim.cli", "sync", "--prepare"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if httpx.get(f"{base}/v1/title", params={"kind": "anime", "id": newer[0]["mal_id"]}, timeout=5).status_code \
                    == 200:
                break
            time.sleep(0.5)
        time.sleep(2)
        stop.set()
        for thread in clients:
            thread.join(timeout=60)
        assert len(statuses) > 100 and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
        health = httpx.get(f"{base}/v1/health", timeout=5).json()
        assert health["catalogs"]["anime"]["titles"] == 130 and health["catalogs"]["anime"]["synced_at"]
        found = httpx.post(f"{base}/v1/search", json={"kind": "anime", "query": newer[3]["synopsis"][:300],
                                                       "page_size": 10}, timeout=30).json()
        assert newer[3]["mal_id"] in [r["id"] for r in found["results"]]
    finally:
        stop.set()
        stop_server(process)
    # only the new and changed synopses were encoded (each is a whole text, plus its first passage when long)
    fresh = index_hashes(home, "anime") - before
    assert 10 <= len(fresh) <= 26
    assert f"encoded {len(fresh):,} texts" in done.stdout
    assert "manga index for" in done.stdout and "up to date" in done.stdout
