"""Where `anisim sync` keeps one kind's titles: a compacted file, a journal of pages since, and a checkpoint.

Layout under `<sources>/<kind>/jikan/`:
- `titles.jsonl`      one line per MAL id, `{"fetched_at": ISO date, "jikan": <the API's object, whole>}`,
                      sorted by id: what `anisim build-catalog` reads (`anisim.sources`);
- `journal/N.page`    the pages fetched since the last compaction, each written atomically, in order;
- `sync-state.json`   the checkpoint: where a crawl is, the stored ETags, when a full crawl ended.

A page is journalled before the checkpoint moves past it, so a run killed anywhere loses nothing:
the next run re-reads at most the one page it had not checkpointed, and duplicates vanish when
the journal is compacted into `titles.jsonl` (the newest record of an id wins). A failed write (a
full disk) leaves the previous files whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from anisim.atomic import write_text_atomic
from anisim.faults import checkpoint

FOLDER = "jikan"
TITLES = "titles.jsonl"
STATE = "sync-state.json"
JOURNAL = "journal"
PAGE_SUFFIX = ".page"  # not a source suffix: build-catalog never reads a half-compacted journal


def _lines(path: Path) -> Iterator[dict]:
    """The JSON objects of a JSON Lines file we wrote (each line is a whole object)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


class SyncStore:
    """One kind's synced titles and crawl checkpoint, in `<sources>/<kind>/jikan/`."""

    def __init__(self, sources: Path, kind: str) -> None:
        self.kind = kind
        self.folder = sources / kind / FOLDER
        self.journal = self.folder / JOURNAL

    def pages(self) -> list[Path]:
        """The journal's pages, oldest first."""
        if not self.journal.is_dir():
            return []
        return sorted(self.journal.glob(f"*{PAGE_SUFFIX}"), key=lambda p: int(p.stem))

    def records(self) -> dict[int, dict]:
        """Every stored title by MAL id: the compacted file, then the journal; the newest record wins."""
        merged: dict[int, dict] = {}
        titles = self.folder / TITLES
        for path in ([titles] if titles.is_file() else []) + self.pages():
            for record in _lines(path):
                merged[record["jikan"]["mal_id"]] = record
        return merged

    def append(self, records: list[dict]) -> None:
        """Journal one fetched page (already checked: each has an integer `mal_id`)."""
        pages = self.pages()
        number = int(pages[-1].stem) + 1 if pages else 1
        write_text_atomic(self.journal / f"{number:07d}{PAGE_SUFFIX}",
                          "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        checkpoint("sync-page-written")

    def compact(self) -> set[int]:
        """Fold the journal into `titles.jsonl` (one atomic write), then drop the journal; the MAL
        ids stored."""
        pages = self.pages()
        merged = self.records()
        if pages:
            write_text_atomic(self.folder / TITLES, "".join(
                json.dumps(merged[i], ensure_ascii=False) + "\n" for i in sorted(merged)))
            checkpoint("sync-compacted")
            for page in pages:
                page.unlink()
        return set(merged)

    def state(self) -> dict:
        """The checkpoint ({} before the first run)."""
        try:
            return json.loads((self.folder / STATE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def save_state(self, state: dict) -> None:
        write_text_atomic(self.folder / STATE, json.dumps(state, indent=1, sort_keys=True))
