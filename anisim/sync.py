"""`anisim sync`: crawl the Jikan v4 API into a data folder, in full or since the last run, resumable after a kill.

- **Full** (the first run, or `--full`): `/anime` (or `/manga`) in `mal_id` order, 25 a page, until
  `has_next_page` is false. The checkpoint names the next page, so a killed or budgeted run goes on
  where it stopped.
- **Incremental** (once a full crawl has ended): the newest ids first, until ids known when the
  crawl began are reached; for anime, then `/seasons/now` and `/seasons/upcoming`, whose titles'
  status, score and members change week by week.

Pages shift while a crawl runs (a title added or removed before the current page): when a page's
total differs from the last one's, the page before it is read again, and every record is keyed by
MAL id, so a title read twice is stored once. A record that is not a title object is counted and
skipped; a title with no synopsis (`null`, MAL's "No synopsis" text) is stored for its metadata and
left out of the catalog by `anisim build-catalog`, which counts it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from tqdm import tqdm

from anisim.errors import SyncFailed
from anisim.jikan import JikanClient, Refused
from anisim.syncstore import SyncStore
from anisim.text import clean_synopsis

PAGE_SIZE = 25  # the largest `limit` Jikan allows
SEASON_ROUTES = ("/seasons/now", "/seasons/upcoming")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SyncReport:
    """What one run of one kind did, for a person to read."""

    kind: str
    mode: str
    pages: int = 0
    not_modified: int = 0
    reread: int = 0
    new: int = 0
    updated: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    without_synopsis: int = 0
    stored: int = 0
    stopped: str | None = None  # why the run ended before its crawl did (then it resumes)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1

    def lines(self) -> list[str]:
        skipped = ", ".join(f"{n:,} {why}" for why, n in self.skipped.items()) or "none"
        out = [f"{self.kind} sync ({self.mode}): {self.pages:,} pages ({self.not_modified:,} not modified, "
               f"{self.reread:,} read again after the list shifted)",
               f"  {self.new:,} new titles, {self.updated:,} updated, {self.without_synopsis:,} without a synopsis "
               f"(kept for metadata); skipped: {skipped}",
               f"  {self.stored:,} {self.kind} titles stored"]
        if self.stopped:
            out.append(f"  stopped early: {self.stopped}; run the same command again to go on from the checkpoint")
        return out


class _Crawl:
    """One run over one kind: fetch, check, journal, checkpoint, in that order for every page."""

    def __init__(self, store: SyncStore, state: dict, known: set[int], client: JikanClient, report: SyncReport,
                 deadline: float | None, bar: tqdm) -> None:
        self.store, self.state, self.known = store, state, known
        self.client, self.report, self.deadline, self.bar = client, report, deadline, bar

    def out_of_time(self, where: str) -> bool:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.report.stopped = f"--max-minutes reached before {where}"
            return True
        return False

    def fetch(self, path: str, params: dict[str, object]) -> tuple[list[dict], dict, bool]:
        """(checked records, the page's pagination, whether it was unchanged: a 304 for our ETag)."""
        key = f"{path}?{urlencode(sorted(params.items()))}"
        etags = self.state.setdefault("etags", {})
        stored = etags.get(key)
        reply = self.client.get(path, params, stored["etag"] if stored else None)
        self.report.pages += 1
        self.bar.update(1)
        if reply.not_modified:
            self.report.not_modified += 1
            return [], stored["pagination"], True
        pagination = reply.body.get("pagination") if isinstance(reply.body.get("pagination"), dict) else {}
        data = reply.body.get("data")
        if not isinstance(data, list):
            self.report.skip("pages without a data list")
            data = []
        if reply.etag:  # saved with the state, after the page is journalled
            etags[key] = {"etag": reply.etag, "pagination": pagination}
        return self.keep(data), pagination, False

    def keep(self, data: list[object]) -> list[dict]:
        """The title objects of a page, each stamped with the fetch date; the rest counted and skipped."""
        fetched_at = now_iso()
        records = []
        for title in data:
            mal_id = title.get("mal_id") if isinstance(title, dict) else None
            if not isinstance(mal_id, int) or isinstance(mal_id, bool) or mal_id <= 0:
                self.report.skip("records without an integer mal_id")
                continue
            synopsis = title.get("synopsis")
            if not isinstance(synopsis, str) or clean_synopsis(synopsis) is None:
                self.report.without_synopsis += 1
            if mal_id in self.known:
                self.report.updated += 1
            else:
                self.report.new += 1
                self.known.add(mal_id)
            records.append({"fetched_at": fetched_at, "jikan": title})
        return records

    def commit(self, records: list[dict]) -> None:
        """Journal a page, then move the checkpoint past it (a kill between repeats one page, loses none)."""
        if records:
            self.store.append(records)
        self.store.save_state(self.state)

    def full(self) -> None:
        """Every title in `mal_id` order, from the checkpoint's page on."""
        progress = self.state.get("full") or {"next_page": 1, "total": None}
        page = progress["next_page"]
        while not self.out_of_time(f"page {page}"):
            params = {"order_by": "mal_id", "sort": "asc", "page": page, "limit": PAGE_SIZE}
            records, pagination, _ = self.fetch(f"/{self.store.kind}", params)
            total = (pagination.get("items") or {}).get("total")
            if page > 1 and None not in (total, progress["total"]) and total != progress["total"]:
                self.report.reread += 1  # the list shifted under us: the page before may hide a title now
                again, _, _ = self.fetch(f"/{self.store.kind}", {**params, "page": page - 1})
                records += again
            self.bar.total = pagination.get("last_visible_page") or self.bar.total
            more = bool(pagination.get("has_next_page"))
            progress = {"next_page": page + 1, "total": total}
            self.state["full"] = progress
            if not more:
                del self.state["full"]
                self.state["full_done"] = now_iso()
            self.commit(records)
            if not more:
                return
            page += 1

    def newest(self) -> None:
        """New ids, newest first, until the ids known when this crawl began (its floor) are reached."""
        progress = self.state.get("newest") or {"next_page": 1, "floor": max(self.known, default=0)}
        page = progress["next_page"]
        while not self.out_of_time(f"page {page} of the newest titles"):
            params = {"order_by": "mal_id", "sort": "desc", "page": page, "limit": PAGE_SIZE}
            records, pagination, unchanged = self.fetch(f"/{self.store.kind}", params)
            reached = unchanged or any(r["jikan"]["mal_id"] <= progress["floor"] for r in records)
            done = reached or not pagination.get("has_next_page")
            self.state["newest"] = {**progress, "next_page": page + 1}
            if done:
                del self.state["newest"]
            self.commit(records)
            if done:
                return
            page += 1

    def seasons(self) -> None:
        """This season's and the next season's anime, page by page (short: redone whole after a
        kill). A server that refuses a season route (a mirror without it) costs only that refresh."""
        for route in SEASON_ROUTES:
            page = 1
            while not self.out_of_time(f"{route} page {page}"):
                try:
                    records, pagination, _ = self.fetch(route, {"page": page, "limit": PAGE_SIZE})
                except Refused:
                    self.report.skip(f"pages of {route} refused by the server")
                    break
                self.commit(records)
                if not pagination.get("has_next_page"):
                    break
                page += 1


def sync(kind: str, sources: Path, client: JikanClient, full: bool = False,
         max_minutes: float | None = None) -> SyncReport:
    """Crawl one kind into `<sources>/<kind>/jikan/` (`anisim.syncstore`) and compact it; returns the report."""
    store = SyncStore(sources, kind)
    known = store.compact()  # what a killed run journalled, first
    state = store.state()
    if full and "full" not in state and state.get("full_done"):
        state.pop("full_done")  # a forced full crawl starts again at page 1
        store.save_state(state)
    mode = "incremental" if state.get("full_done") else "full"
    report = SyncReport(kind, mode)
    deadline = time.monotonic() + max_minutes * 60 if max_minutes else None
    with tqdm(desc=f"{kind} sync ({mode})", unit="page", smoothing=0.1) as bar:
        crawl = _Crawl(store, state, known, client, report, deadline, bar)
        try:
            if mode == "full":
                crawl.full()
            else:
                crawl.newest()
                if kind == "anime" and not report.stopped:
                    crawl.seasons()
        except SyncFailed as failure:
            raise SyncFailed(f"{kind} sync stopped: {failure}; the {report.new + report.updated:,} titles fetched are "
                             "kept: run the same command again to go on from the checkpoint") from None
    report.stored = len(store.compact())
    return report
