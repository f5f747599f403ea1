"""Catalog rows -> JSON-safe dicts: the legacy shape (old front end) and the v1 shape.

Legacy records keep the old key names and value conventions the AniSearch front end parses
(`anime_id`/`manga_id`, lower-case `type`/`status` with underscores, tag lists as Python-list
strings such as "['Action', 'Fantasy']", keys sorted), but are valid JSON: `null`, never `NaN`,
and ids and counts are integers. The synopsis is readable prose, not the old lemmatised text.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from anisim.catalog import Catalog
from anisim.columns import Columns
from anisim.errors import NotFound
from anisim.ranking import Match, Page

_LEGACY_STATUS = {"publishing": "currently_publishing"}
LIST_FIELDS = ("genres", "themes", "demographics", "title_synonyms")
V1_FIELDS = (
    "id", "title", "title_english", "title_japanese", "title_synonyms", "type", "status",
    "episodes", "chapters", "volumes", "start_year", "start_date", "start_season", "score", "members",
    "popularity", "genres", "themes", "demographics", "tags", "image_url", "url", "adult",
    "studios", "producers", "source_material", "episode_minutes", "rating", "authors", "serialization",
)


def json_safe(value: Any) -> Any:
    """None for missing or non-finite numbers; plain Python types otherwise."""
    if value is None:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return json_safe(value.item())
    return value


def _snake(value: str | None) -> str | None:
    """'Finished Airing' -> 'finished_airing', 'One-shot' -> 'one_shot'."""
    if value is None:
        return None
    snake = value.strip().lower().replace("-", "_").replace(" ", "_")
    return _LEGACY_STATUS.get(snake, snake)


def _python_list_string(values: list[str] | None) -> str:
    return repr(list(values or []))


class RecordMaker:
    """Turns pages of one catalog into response records."""

    def __init__(self, catalog: Catalog, columns: Columns | None = None) -> None:
        """`columns`: the catalog's, as its searcher built them at load (made here when not given)."""
        self.kind = catalog.kind
        self.position = catalog.position
        self.columns = columns or Columns(catalog)
        self.items = self.columns.rows
        self.titles = self.columns.titles
        self.synopsis_texts = catalog.synopses["text"].tolist()
        self.synopsis_sources = catalog.synopses["source"].tolist()

    def _matches(self, page: Page) -> list[Match]:
        """What matched each result; a title's first synopsis where the page does not say."""
        if page.matches:
            return list(page.matches)
        firsts = self.columns.synopsis_starts[page.positions]
        return [Match(self.synopsis_texts[s], int(s)) for s in firsts]

    def legacy(self, page: Page) -> list[dict[str, Any]]:
        """The old records; `synopsis` is the whole synopsis whose text matched best (as the old API did)."""
        return [self._legacy_one(int(p), int(r), float(s), self.synopsis_texts[m.synopsis_row])
                for p, r, s, m in zip(page.positions, page.ranks, page.scores, self._matches(page))]

    def v1(self, page: Page) -> list[dict[str, Any]]:
        """v1 records: the metadata, the best-matching synopsis, and `matched`, the very text (a
        synopsis or a passage of one) that matched, with the source it came from and the term it
        earned (`matched_by`: "meaning" for the dense cosine, "words" for BM25)."""
        out = []
        for position, rank, score, match in zip(page.positions, page.ranks, page.scores, self._matches(page)):
            item = self.items[int(position)]
            record = {field: json_safe(item[field]) for field in V1_FIELDS}
            record.update(kind=self.kind, synopsis=self.synopsis_texts[match.synopsis_row], matched=match.text,
                          matched_source=self.synopsis_sources[match.synopsis_row], matched_by=match.by,
                          related=self._related(item),
                          rank=int(rank), similarity=round(float(score), 6))
            out.append(record)
        return out

    def one(self, item_id: int) -> dict[str, Any]:
        """One title's v1 record (its first synopsis as `synopsis` and `matched`) with its English
        episode titles in episode order (too long for a page of results), or NotFound."""
        position = self.position.get(item_id)
        if position is None:
            raise NotFound(f"no {self.kind} with MAL id {item_id} in the catalog")
        position = int(position)
        record = self.v1(Page(np.array([position]), np.array([1]), np.array([np.nan]), 1))[0]
        episodes = self.items[position].get("episode_titles")
        return {**{key: value for key, value in record.items() if key not in ("rank", "similarity")},
                "episode_titles": list(episodes) if episodes is not None else []}

    def _related(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """Related titles (sequel, prequel, ...): their title (this catalog's, else the one the
        source gave), their MAL page, and whether this catalog can show them."""
        return [{"id": r["id"], "relation": r["relation"], "title": self.titles.get(r["id"]) or r.get("title"),
                 "url": f"https://myanimelist.net/{self.kind}/{r['id']}", "in_catalog": r["id"] in self.titles}
                for r in item["related"] or []]

    def _legacy_one(self, position: int, rank: int, score: float, synopsis: str) -> dict[str, Any]:
        item = self.items[position]
        record: dict[str, Any] = {
            f"{self.kind}_id": int(item["id"]),
            "title": item["title"], "title_english": item["title_english"],
            "title_japanese": item["title_japanese"],
            "type": _snake(item["type"]), "status": _snake(item["status"]),
            "score": json_safe(item["score"]),
            "synopsis": synopsis, "background": item["background"],
            "main_picture": item["image_url"], "url": item["url"],
            "rank": rank, "similarity": score,
            **{field: _python_list_string(item[field]) for field in LIST_FIELDS},
        }
        if self.kind == "anime":
            record.update(episodes=json_safe(item["episodes"]), start_year=json_safe(item["start_year"]),
                          start_season=item["start_season"], trailer_url=item["trailer_url"])
        else:
            record.update(chapters=json_safe(item["chapters"]), volumes=json_safe(item["volumes"]),
                          start_date=item["start_date"])
        return {key: json_safe(record[key]) for key in sorted(record)}
