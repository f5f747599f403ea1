"""Catalog rows -> JSON-safe dicts: the legacy shape (old front end) and the v1 shape.

Legacy records keep the old key names and value conventions the AniSearch front end parses
(`anime_id`/`manga_id`, lower-case `type`/`status` with underscores, tag lists as Python-list
strings such as "['Action', 'Fantasy']", keys sorted), but are valid JSON: `null`, never `NaN`,
and ids and counts are integers. The synopsis is readable prose, not the old lemmatised text.
"""

from __future__ import annotations

import math
from typing import Any

from anisim.catalog import Catalog
from anisim.ranking import Page

_LEGACY_STATUS = {"publishing": "currently_publishing"}
LIST_FIELDS = ("genres", "themes", "demographics", "title_synonyms")
V1_FIELDS = (
    "id", "title", "title_english", "title_japanese", "title_synonyms", "type", "status",
    "episodes", "chapters", "volumes", "start_year", "start_date", "start_season", "score", "members",
    "popularity", "genres", "themes", "demographics", "image_url", "url", "adult",
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

    def __init__(self, catalog: Catalog) -> None:
        self.kind = catalog.kind
        self.items = catalog.items.to_dict(orient="records")
        primary = catalog.synopses.drop_duplicates("item_id", keep="first")
        self.synopsis = dict(zip(primary["item_id"], primary["text"]))

    def legacy(self, page: Page) -> list[dict[str, Any]]:
        return [self._legacy_one(int(p), int(r), float(s))
                for p, r, s in zip(page.positions, page.ranks, page.scores)]

    def v1(self, page: Page) -> list[dict[str, Any]]:
        out = []
        for position, rank, score in zip(page.positions, page.ranks, page.scores):
            item = self.items[int(position)]
            record = {field: json_safe(item[field]) for field in V1_FIELDS}
            record.update(kind=self.kind, synopsis=self.synopsis[item["id"]], rank=int(rank),
                          similarity=round(float(score), 6))
            out.append(record)
        return out

    def _legacy_one(self, position: int, rank: int, score: float) -> dict[str, Any]:
        item = self.items[position]
        record: dict[str, Any] = {
            f"{self.kind}_id": int(item["id"]),
            "title": item["title"], "title_english": item["title_english"],
            "title_japanese": item["title_japanese"],
            "type": _snake(item["type"]), "status": _snake(item["status"]),
            "score": json_safe(item["score"]),
            "synopsis": self.synopsis[item["id"]], "background": item["background"],
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
