"""A local stand-in for the Jikan v4 API, since no Jikan server is reachable here.

It serves the routes `anisim sync` reads (`/anime`, `/manga`, `/seasons/now`, `/seasons/upcoming`)
from real MAL titles (the shared sources' catalog, re-shaped into the v4 schema), with Jikan's
paging, ETags and error body. Every 200 body it sends is validated against the published OpenAPI
document (`../shared/reference/jikan/api-docs.json`) and any violation is recorded, so the
stand-in cannot drift from the spec. Tests queue faults (429 with `Retry-After`, 500, 503, a slow
answer, malformed JSON, a title inserted between two pages) and read the request log.

Run alone: `python tests/jikan_standin.py --port 8765 --anime 200 --manga 100`, then
`ANISIM_JIKAN_URL=http://127.0.0.1:8765/v4 anisim sync --kind all --sources /tmp/jikan-data`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from openapi_schema_validator import OAS30Validator

from anisim.catalog import Catalog, build_catalog
from anisim.settings import Settings

SPEC = Settings().data_dir.parent / "reference" / "jikan" / "api-docs.json"
PREFIX = "/v4"
ANIME_TYPES = {"TV", "OVA", "Movie", "Special", "ONA", "Music"}
ANIME_STATUSES = {"Finished Airing", "Currently Airing", "Not yet aired"}
MANGA_TYPES = {"Manga", "Novel", "Light Novel", "One-shot", "Doujinshi", "Manhua", "Manhwa", "OEL"}
MANGA_STATUSES = {"Finished", "Publishing", "On Hiatus", "Discontinued", "Not yet published"}
RATINGS = {"G - All Ages", "PG - Children", "PG-13 - Teens 13 or older", "R - 17+ (violence & profanity)",
           "R+ - Mild Nudity", "Rx - Hentai"}
ROUTE_SCHEMAS = {"/anime": "anime_search", "/manga": "manga_search", "/seasons/now": "anime_search",
                 "/seasons/upcoming": "anime_search"}
ORDER_BY = {"anime": "anime_search_query_orderby", "manga": "manga_search_query_orderby"}


def _value(value: object) -> object:
    """A catalog cell as JSON: numpy and pandas scalars to Python, missing to None."""
    if value is None:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


class _Ids:
    """Stable made-up MAL ids for genre, studio and author names (the catalog keeps names only)."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}

    def urls(self, kind: str, names: object) -> list[dict]:
        out = []
        for name in names or []:
            number = self.ids.setdefault((kind, name), len(self.ids) + 1)
            out.append({"mal_id": number, "type": kind, "name": name,
                        "url": f"https://myanimelist.net/{kind}/{number}"})
        return out


def _daterange(date: object, year: object) -> dict:
    start = str(date) if date else (f"{year}" if year else None)
    iso = None
    if start:
        parts = [*start.split("-"), "01", "01"][:3]
        iso = f"{parts[0]}-{parts[1]}-{parts[2]}T00:00:00+00:00"
    return {"from": iso, "to": None, "prop": {"from": {"day": None, "month": None, "year": _value(year)},
                                              "to": {"day": None, "month": None, "year": None}},
            "string": start}


def title_object(kind: str, row: dict, synopsis: str | None, ids: _Ids) -> dict:
    """One catalog title as the v4 API's anime or manga object."""
    titles = [{"type": "Default", "title": row["title"]}]
    titles += [{"type": "English", "title": row["title_english"]}] if row.get("title_english") else []
    titles += [{"type": "Japanese", "title": row["title_japanese"]}] if row.get("title_japanese") else []
    titles += [{"type": "Synonym", "title": s} for s in row.get("title_synonyms") or []]
    image = row.get("image_url")
    common = {
        "mal_id": int(row["id"]), "url": row.get("url") or f"https://myanimelist.net/{kind}/{row['id']}",
        "images": {"jpg": {"image_url": image, "small_image_url": image, "large_image_url": image}},
        "approved": True, "titles": titles, "title": row["title"], "title_english": row.get("title_english"),
        "title_japanese": row.get("title_japanese"), "score": _value(row.get("score")),
        "scored_by": None, "rank": None, "popularity": _value(row.get("popularity")),
        "members": _value(row.get("members")), "favorites": None, "synopsis": synopsis,
        "background": row.get("background"), "genres": ids.urls("genre", row.get("genres")),
        "explicit_genres": [], "themes": ids.urls("theme", row.get("themes")),
        "demographics": ids.urls("demographic", row.get("demographics")),
    }
    if kind == "manga":
        status = row.get("status") if row.get("status") in MANGA_STATUSES else None
        return {**common, "type": row.get("type") if row.get("type") in MANGA_TYPES else None,
                "chapters": _value(row.get("chapters")), "volumes": _value(row.get("volumes")),
                **({"status": status} if status else {}), "publishing": status == "Publishing",
                "published": _daterange(row.get("start_date"), row.get("start_year")),
                "authors": ids.urls("people", row.get("authors")),
                "serializations": ids.urls("magazine", row.get("serialization"))}
    minutes = row.get("episode_minutes")
    status = row.get("status") if row.get("status") in ANIME_STATUSES else None
    return {**common, "title_synonyms": list(row.get("title_synonyms") or []),
            "trailer": {"youtube_id": None, "url": row.get("trailer_url"), "embed_url": None},
            "type": row.get("type") if row.get("type") in ANIME_TYPES else None,
            "source": row.get("source_material"), "episodes": _value(row.get("episodes")),
            "status": status, "airing": status == "Currently Airing",
            "aired": _daterange(row.get("start_date"), row.get("start_year")),
            "duration": f"{minutes} min per ep" if minutes else None,
            "rating": row.get("rating") if row.get("rating") in RATINGS else None,
            "season": row.get("start_season") if row.get("start_season") in ("winter", "spring", "summer", "fall")
            else None, "year": _value(row.get("start_year")),
            "broadcast": {"day": None, "time": None, "timezone": None, "string": None},
            "producers": ids.urls("producer", row.get("producers")), "licensors": [],
            "studios": ids.urls("producer", row.get("studios"))}


def titles_of(catalog: Catalog, count: int, every: int = 1) -> list[dict]:
    """`count` titles of a catalog, one in `every` by id, as v4 objects (each with its first synopsis)."""
    ids = _Ids()
    first = catalog.synopses.drop_duplicates("item_id").set_index("item_id")["text"]
    rows = catalog.items.iloc[::every].head(count).to_dict(orient="records")
    return [title_object(catalog.kind, row, first.get(row["id"]), ids) for row in rows]


def _null_in_nullable_enums(node: object) -> None:
    """The document marks fields such as `type` and `season` `nullable` beside an `enum` that lacks
    null, and its JSON notes say an unknown value is `null`: a strict OpenAPI 3.0.3 validator reads
    that as "never null", so null joins those enums, and nothing else is loosened."""
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
        for value in node.values():
            _null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _null_in_nullable_enums(value)


class SpecCheck:
    """Validates a route's 200 body against the OpenAPI document's schema for that route."""

    def __init__(self, spec_path: Path = SPEC) -> None:
        self.spec = json.loads(spec_path.read_text(encoding="utf-8"))
        _null_in_nullable_enums(self.spec)
        self.validators = {route: OAS30Validator({"components": self.spec["components"],
                                                  "$ref": f"#/components/schemas/{name}"})
                           for route, name in ROUTE_SCHEMAS.items()}

    def problems(self, route: str, body: dict) -> list[str]:
        return [f"{route}: {e.message[:200]} at {list(e.absolute_path)}"
                for e in self.validators[route].iter_errors(body)]

    def order_by(self, kind: str) -> list[str]:
        return self.spec["components"]["schemas"][ORDER_BY[kind]]["enum"]


@dataclass
class Fault:
    """What to do instead of a normal answer on the `nth` request (1-based) whose path starts with `route`."""

    route: str
    what: str  # "404", "429", "500", "503", "slow", "malformed", "insert"
    nth: int = 1
    title: dict | None = None  # for "insert": the title added to the list after this request's answer
    kind: str = "anime"


def _error(status: int, kind: str, message: str) -> bytes:
    """Jikan's documented error body."""
    return json.dumps({"status": status, "type": kind, "message": message, "error": None}).encode()


class JikanStandIn:
    """The server, in a thread: `start()` returns its base URL (`.../v4`)."""

    def __init__(self, titles: dict[str, list[dict]], slow_s: float = 3.0, spec_path: Path = SPEC) -> None:
        self.titles = {kind: {t["mal_id"]: t for t in items} for kind, items in titles.items()}
        self.check = SpecCheck(spec_path)
        self.slow_s = slow_s
        self.faults: list[Fault] = []
        self.log: list[tuple[float, str]] = []  # (arrival time.monotonic(), path and query)
        self.violations: list[str] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # ---- what it serves ----
    def page(self, route: str, query: dict[str, str]) -> tuple[int, dict | bytes]:
        kind = "anime" if route.startswith("/seasons") else route.strip("/")
        try:
            page, limit = int(query.get("page", 1)), int(query.get("limit", 25))
        except ValueError:
            return 400, _error(400, "ValidationException", "The page and limit must be integers.")
        if page < 1 or not 1 <= limit <= 25:
            return 400, _error(400, "ValidationException", "The limit may not be greater than 25.")
        if route.startswith("/seasons"):
            wanted = "Currently Airing" if route.endswith("now") else "Not yet aired"
            items = sorted((t for t in self.titles["anime"].values() if t.get("status") == wanted),
                           key=lambda t: -(t.get("members") or 0))
        else:
            order = query.get("order_by", "mal_id")
            if order not in self.check.order_by(kind) or query.get("sort", "asc") not in ("asc", "desc"):
                return 400, _error(400, "ValidationException", "The selected order by is invalid.")
            items = sorted(self.titles[kind].values(), key=lambda t: t["mal_id"] if isinstance(t["mal_id"], int) else 0,
                           reverse=query.get("sort") == "desc")  # a broken id (a fault test's) sorts first
        chunk = items[(page - 1) * limit: page * limit]
        last = max((len(items) + limit - 1) // limit, 1)
        return 200, {"pagination": {"last_visible_page": last, "has_next_page": page < last, "current_page": page,
                                    "items": {"count": len(chunk), "total": len(items), "per_page": limit}},
                     "data": chunk}

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for one GET."""
        parts = urlsplit(path)
        route = parts.path.removeprefix(PREFIX)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            self.log.append((time.monotonic(), path))
            self.counts[route] = self.counts.get(route, 0) + 1
            fault = next((f for f in self.faults if route.startswith(f.route) and f.nth == self.counts[route]), None)
        if fault is not None and fault.what != "insert":
            return self.misbehave(fault)
        if route not in ROUTE_SCHEMAS:
            return 404, {}, _error(404, "BadResponseException", "Resource does not exist")
        status, body = self.page(route, query)
        if status != 200:
            return status, {}, body
        self.violations += self.check.problems(route, body)
        data = json.dumps(body).encode()
        etag = f'"{hashlib.md5(data).hexdigest()}"'
        if fault is not None:  # "insert": this answer is as it was; the list grows right after it
            self.titles[fault.kind][fault.title["mal_id"]] = fault.title
        if headers.get("if-none-match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, {"ETag": etag, "Content-Type": "application/json"}, data

    def misbehave(self, fault: Fault) -> tuple[int, dict[str, str], bytes]:
        if fault.what == "429":
            return 429, {"Retry-After": "1"}, _error(429, "RateLimitException", "You are being rate limited.")
        if fault.what == "404":
            return 404, {}, _error(404, "BadResponseException", "Resource does not exist")
        if fault.what in ("500", "503"):
            return int(fault.what), {}, _error(int(fault.what), "UpstreamException", "Something went wrong.")
        if fault.what == "slow":
            time.sleep(self.slow_s)
            return 504, {}, _error(504, "TimeoutException", "Too slow.")
        return 200, {"Content-Type": "application/json"}, b'{"pagination": {"has_next_page": tr'  # "malformed"

    # ---- the server ----
    def start(self, port: int = 0) -> str:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, headers, body = standin.answer(self.path, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Content-Type", headers.get("Content-Type", "application/json"))
                self.end_headers()
                if status != 304:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(body)  # unless the client gave up on a slow answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="jikan-standin", daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}{PREFIX}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def busiest(log: list[tuple[float, str]], seconds: float) -> int:
    """The most requests the log shows within any window of `seconds` (each window starts at a request)."""
    times = sorted(t for t, _ in log)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a Jikan v4 stand-in from the shared sources' real titles.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--anime", type=int, default=200, help="how many anime titles to serve")
    parser.add_argument("--manga", type=int, default=100, help="how many manga titles to serve")
    args = parser.parse_args()
    data = Settings.from_env().data_dir
    titles = {"anime": titles_of(build_catalog(data, "anime")[0], args.anime, 50),
              "manga": titles_of(build_catalog(data, "manga")[0], args.manga, 20)}
    standin = JikanStandIn(titles)
    print(f"serving {args.anime} anime and {args.manga} manga at {standin.start(args.port)}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
