"""Readers for the raw catalog sources: one small function per file format.

Every reader returns a DataFrame in one shape, `SOURCE_COLUMNS`: one row per title in that file,
with `None` where the file does not know a field, and the raw synopsis (cleaning happens in
`anisim.catalog`). To support a new dump, write a reader that returns that shape and register its
file suffix in `READERS`; the merge needs no change.

Two columns are hints rather than facts: `title_fallback` (a title whose language is unknown, such
as the parquet's "English title when one exists") and `type_hint` (a type guessed from a file name
such as `..._manhwa.csv`). They fill `title` / `type` only where no source states them.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from anisim.errors import SourceError
from anisim.taxonomy import normal_type, split_foreign_tags, split_tags

SOURCE_COLUMNS = [
    "id", "title", "title_fallback", "title_english", "title_japanese", "title_synonyms",
    "type", "type_hint", "status", "episodes", "chapters", "volumes", "start_year", "start_date",
    "start_season", "score", "members", "popularity", "genres", "themes", "demographics", "tags",
    "related", "image_url", "url", "background", "trailer_url", "adult", "synopsis",
    # what people remember about who made it: anime studios, producers, source material (Manga,
    # Original, ...), minutes per episode and content rating; manga authors and magazines
    "studios", "producers", "source_material", "episode_minutes", "rating", "authors", "serialization",
    "listings",  # how many other databases list the title (anime-mapper): a popularity hint where MAL's is missing
    "episode_titles",  # English episode titles in episode order (anime-mapper's episode lists)
    "fetched_at",  # when `anisim sync` fetched the title from the Jikan API (ISO 8601, UTC)
]
# Lower wins when two sources give the same field of the same title. What `anisim sync` fetched
# from the Jikan API is MAL's own record and the freshest, so it comes first; the seasonal Jikan
# JSON is the richest dump and MAL's record too; the anime-mapper set is MAL's data too (fetched mid-2026, with
# explicit romaji/English/native titles, episodes, dates and relations), so it comes next, above
# the parquet (whose `title` may be English or romaji and whose scores are older) and the CSV dumps
# (few fields). Metadata-only files come last: they fill gaps and never override.
JIKAN_SYNC, JIKAN_JSON, ANIME_MAPPER, JIKAN_PARQUET, MAL_CSV, METADATA_PRECEDENCE = range(6)

# Files in a source folder that describe the folder rather than hold titles.
IGNORED_FILE_NAMES = frozenset({"manifest.json", "README.md", "sync-state.json"})
# File-name words that say what type every title in a CSV is (e.g. `mal_borboranabil_manhwa.csv`).
_TYPE_WORDS = {"manga": "Manga", "manhwa": "Manhwa", "manhua": "Manhua", "novel": "Novel"}


def _frame(records: list[dict]) -> pd.DataFrame:
    """Build a DataFrame with exactly SOURCE_COLUMNS (missing fields become None)."""
    frame = pd.DataFrame.from_records(records, columns=SOURCE_COLUMNS)
    return frame.astype(object).where(frame.notna(), None)


def _none_if_missing(value: object) -> object:
    """Map NaN/NA/empty strings to None; keep everything else."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, (list, tuple)):
        return value
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value


def _int_or_none(value: object) -> int | None:
    value = _none_if_missing(value)
    try:
        return None if value is None else int(float(value))
    except (TypeError, ValueError):
        return None


def _float_or_none(value: object) -> float | None:
    value = _none_if_missing(value)
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _str_list(value: object) -> list[str] | None:
    """A list of non-empty strings from a list/array, or None when the field is absent."""
    value = _none_if_missing(value)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if isinstance(v, str) and v.strip()]


def _titles(title: object, english: object, japanese: object, synonyms: object) -> dict[str, object]:
    """The four title fields of a record, from a JSON source's values (missing -> None)."""
    return {"title": _none_if_missing(title), "title_english": _none_if_missing(english),
            "title_japanese": _none_if_missing(japanese), "title_synonyms": _str_list(synonyms)}


def _require(path: Path, present: set[str], required: list[str]) -> None:
    missing = [c for c in required if c not in present]
    if missing:
        raise SourceError(f"{path}: missing required column(s) {', '.join(missing)}")


def read_json(path: Path) -> tuple[pd.DataFrame, int]:
    """A `.json` file, by its shape: a Jikan list of titles (or a raw API page), or one anime-mapper
    title (the upstream layout, one file per title: `NNN/<id>.json`). Returns (rows, precedence)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path}: not readable as JSON ({exc})") from None
    if isinstance(data, dict) and "idMal" in data:
        return _frame([_mapper_record(data, str(path))]), ANIME_MAPPER
    return read_jikan_json(path, data), JIKAN_JSON


def read_jikan_json(path: Path, data: object) -> pd.DataFrame:
    """A Jikan v4 JSON file's parsed content: a list of title objects (`mal_id`, `title`, `synopsis`, ...)."""
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]  # a raw Jikan API page
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        raise SourceError(f"{path}: expected a JSON list of title objects (or one anime-mapper title)")
    if data:
        _require(path, set().union(*(o.keys() for o in data)), ["mal_id", "title", "synopsis"])
    records = []
    for o in data:
        genres = _str_list(o.get("genres"))
        records.append({
            "id": _int_or_none(o.get("mal_id")),
            **_titles(o.get("title"), o.get("title_english"), o.get("title_japanese"), o.get("title_synonyms")),
            "type": normal_type(_none_if_missing(o.get("type"))),
            "status": _none_if_missing(o.get("status")),
            "episodes": _int_or_none(o.get("episodes")),
            "chapters": _int_or_none(o.get("chapters")),
            "volumes": _int_or_none(o.get("volumes")),
            "start_year": _int_or_none(o.get("year")),
            "start_season": _none_if_missing(o.get("season")),
            "score": _float_or_none(o.get("score")),
            "members": _int_or_none(o.get("members")),
            "popularity": _int_or_none(o.get("popularity")),
            "genres": genres,
            "themes": _str_list(o.get("themes")),
            "demographics": _str_list(o.get("demographics")),
            "image_url": _none_if_missing(o.get("image_url")),
            "url": _none_if_missing(o.get("url")),
            "background": _none_if_missing(o.get("background")),
            "trailer_url": _none_if_missing(o.get("trailer_url")),
            "adult": True if o.get("is_hentai") else None,
            "synopsis": o.get("synopsis"),
            "studios": _str_list(o.get("studios")),
            "producers": _str_list(o.get("producers")),
            "source_material": _none_if_missing(o.get("source")),
            "episode_minutes": _minutes(o.get("duration")),
            "rating": _none_if_missing(o.get("rating")),
        })
    return _frame(records)


def read_jikan_parquet(path: Path) -> pd.DataFrame:
    """A Jikan-style parquet table (`mal_id`, `title` = English title when one exists, ...)."""
    try:
        table = pq.read_table(path).to_pandas()
    except Exception as exc:  # noqa: BLE001 (pyarrow raises many types for bad files)
        raise SourceError(f"{path}: not readable as parquet ({exc})") from None
    _require(path, set(table.columns), ["mal_id", "title", "synopsis"])
    get = lambda row, col: row.get(col) if col in table.columns else None  # noqa: E731
    records = []
    for row in table.to_dict(orient="records"):
        records.append({
            "id": _int_or_none(row["mal_id"]),
            "title_fallback": _none_if_missing(row["title"]),
            "type": normal_type(_none_if_missing(get(row, "type"))),
            "start_year": _int_or_none(get(row, "year")),
            "score": _float_or_none(get(row, "score")),
            "members": _int_or_none(get(row, "members")),
            "genres": _str_list(get(row, "genres")),
            "themes": _str_list(get(row, "themes")),
            "demographics": _str_list(get(row, "demographics")),
            "studios": _str_list(get(row, "studios")),
            "image_url": _none_if_missing(get(row, "image_url")),
            "synopsis": row["synopsis"],
        })
    return _frame(records)


_CSV_ID_COLUMNS = ("mal_id", "anime_id", "manga_id", "item_id")
_CSV_SYNOPSIS_COLUMNS = ("synopsis", "description")


def _read_csv_with_id(path: Path) -> tuple[pd.DataFrame, str]:
    """A CSV of strings and the name of its MAL id column, or SourceError."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"{path}: not readable as CSV ({exc})") from None
    id_col = next((c for c in _CSV_ID_COLUMNS if c in table.columns), None)
    if id_col is None:
        raise SourceError(f"{path}: missing required id column (one of {', '.join(_CSV_ID_COLUMNS)})")
    return table, id_col


def _type_from_file_name(path: Path) -> str | None:
    words = re.split(r"[^a-z]+", path.stem.lower())
    return next((_TYPE_WORDS[w] for w in reversed(words) if w in _TYPE_WORDS), None)


def read_mal_csv(path: Path) -> pd.DataFrame:
    """A MAL CSV dump: an id column, `title`, a synopsis column, and optional metadata.

    Covers the layouts seen so far: `item_id,title,genres,description,image_url` (genres are
    pipe-separated and mix in themes and demographics) and
    `manga_id,title,type,status,...,score,scored_by,synopsis`.
    """
    table, id_col = _read_csv_with_id(path)
    columns = set(table.columns)
    syn_col = next((c for c in _CSV_SYNOPSIS_COLUMNS if c in columns), None)
    if syn_col is None:
        raise SourceError(f"{path}: missing required column synopsis (or description)")
    _require(path, columns, ["title"])
    type_hint = _type_from_file_name(path)
    records = []
    for row in table.to_dict(orient="records"):
        tags = [t.strip() for t in row.get("genres", "").split("|") if t.strip()]
        genres, themes, demographics = split_tags(tags) if "genres" in columns else (None,) * 3
        records.append({
            "id": _int_or_none(row[id_col]),
            "title": _none_if_missing(row["title"]),
            "type": normal_type(_none_if_missing(row.get("type"))),
            "type_hint": type_hint,
            "status": _none_if_missing(row.get("status")),
            "score": _float_or_none(row.get("score")),
            "members": _int_or_none(row.get("members")),
            "genres": genres,
            "themes": themes,
            "demographics": demographics,
            "image_url": _none_if_missing(row.get("image_url")),
            "synopsis": row[syn_col],
        })
    return _frame(records)


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_DISPLAY_DATE = re.compile(r"^\s*(?:([A-Za-z]{3})\s+(?:(\d{1,2}),\s*)?)?(\d{4})")
_ENGLISH_SUFFIX = re.compile(r"^(?P<title>.+?) \((?P<english>[^()]+)\)$")


def _display_number(value: object) -> str | None:
    """'725,079' -> '725079'; 'Unknown', 'N/A' and '' -> None."""
    value = _none_if_missing(value)
    if not isinstance(value, str) or value.strip().lower() in ("unknown", "n/a", "?"):
        return None
    return value.replace(",", "").strip()


def _display_date(value: object) -> tuple[int | None, str | None]:
    """'Aug  25, 1989 to ?' -> (1989, '1989-08-25'); 'Jan 2004 to ...' -> (2004, '2004-01');
    '2004' -> (2004, '2004'); anything else -> (None, None)."""
    match = _DISPLAY_DATE.match(value) if isinstance(value, str) else None
    if match is None:
        return None, None
    month, day, year = match.groups()
    number = _MONTHS.get((month or "").lower())
    if number is None:
        return int(year), year
    return int(year), f"{year}-{number:02d}" + (f"-{int(day):02d}" if day else "")


def _python_list(value: object) -> list[str] | None:
    """"['Action', 'Drama']" -> ['Action', 'Drama']; a bare name -> [name]; empty -> None."""
    value = _none_if_missing(value)
    if not isinstance(value, str):
        return None
    if value.startswith("["):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return None
        return [str(v) for v in parsed if isinstance(v, str) and v.strip()] or None
    return [value.strip()]


def read_mal_metadata_csv(path: Path) -> pd.DataFrame:
    """A metadata-only MAL CSV (MAL's top lists as scraped: `manga_id`, `url`, `Title`, `Score`,
    `Members`, `Published`, ... as display strings). No synopses: it fills fields of titles that
    other sources make searchable. `Title` is "Romaji (English)" when MAL shows an English title."""
    table, id_col = _read_csv_with_id(path)
    _require(path, set(table.columns), ["Title"])
    records = []
    for row in table.to_dict(orient="records"):
        title = _none_if_missing(row["Title"])
        split = _ENGLISH_SUFFIX.match(title) if title else None
        year, date = _display_date(row.get("Published"))
        records.append({
            "id": _int_or_none(row[id_col]),
            "title": split["title"] if split else title,
            "title_english": split["english"] if split else None,
            "type": normal_type(_none_if_missing(row.get("Types"))),
            "status": _none_if_missing(row.get("Status")),
            "chapters": _int_or_none(_display_number(row.get("Chapters"))),
            "volumes": _int_or_none(_display_number(row.get("Volumes"))),
            "start_year": year,
            "start_date": date,
            "score": _float_or_none(_display_number(row.get("Score"))),
            "members": _int_or_none(_display_number(row.get("Members"))),
            "popularity": _int_or_none(_display_number(row.get("Popularity"))),
            "genres": _python_list(row.get("Genres")),
            "themes": _python_list(row.get("Themes")),
            "demographics": _python_list(row.get("Demographic")),
            "url": _none_if_missing(row.get("url")),
            "authors": _authors(row.get("Author")),
            "serialization": _known_names(row.get("Serialization")),
            "synopsis": None,
        })
    return _frame(records)


_AUTHOR = re.compile(r"\s*([^,()][^()]*?)\s*\(([^)]*)\)\s*(?:,|$)")
_DURATION = re.compile(r"(?:(\d+)\s*hr)?\s*(?:(\d+)\s*min)?")


def _authors(value: object) -> list[str] | None:
    """'Miura, Kentarou (Story & Art), Studio Gaga (Art)' -> ['Kentarou Miura', 'Studio Gaga']:
    MAL's "Family, Given (role)" list, as names are written in English."""
    value = _none_if_missing(value)
    if not isinstance(value, str):
        return None
    return [_person(name) for name, _role in _AUTHOR.findall(value)] or None


def _known_names(value: object) -> list[str] | None:
    """A scraped list field ("Young Animal", "['A', 'B']"); "Unknown" and "None" -> None."""
    names = _python_list(value)
    return [n for n in names if n not in ("Unknown", "None")] or None if names else None


def _minutes(value: object) -> int | None:
    """Jikan's '23 min per ep' or '1 hr 30 min' -> minutes; unknown -> None."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        return None
    hours, minutes = match.groups()
    return int(hours or 0) * 60 + int(minutes or 0)


def _related_title(title: object) -> str | None:
    """An anime-mapper relation's title object -> its English title, else its romaji."""
    if not isinstance(title, dict):
        return None
    return _none_if_missing(title.get("english")) or _none_if_missing(title.get("romaji"))


def discover_metadata(folder: Path) -> list[Path]:
    """Metadata-only files (`<data>/<kind>-metadata/*.csv`, `*.jsonl`); none is fine."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in METADATA_READERS)


def _mapper_record(o: dict, where: str) -> dict:
    """One anime-mapper title object -> a source row (`where` names the file and line for errors).

    Its `genres` mix MAL's genres, themes and demographics with AniList-style tags: MAL's go to
    their own fields, the rest to `tags`. `sequence` becomes `related`, (MAL id, relation) pairs."""
    title = o.get("title")
    item_id = _int_or_none(o.get("idMal") or o.get("id"))
    if item_id is None or not isinstance(title, dict) or "synopsis" not in o:
        raise SourceError(f"{where}: each title needs an integer id/idMal, a title object and a synopsis key")
    genres, themes, demographics, tags = split_foreign_tags(_str_list(o.get("genres")) or [])
    aired = o.get("aired") if isinstance(o.get("aired"), dict) else {}
    start = aired.get("from") if isinstance(aired.get("from"), str) else None
    score = o.get("score") if isinstance(o.get("score"), dict) else {}
    images = o.get("images") if isinstance(o.get("images"), dict) else {}
    related = [{"id": _int_or_none(r.get("malId")), "relation": str(r.get("relationType") or "OTHER"),
                "title": _related_title(r.get("title"))}
               for r in o.get("sequence") or [] if isinstance(r, dict) and _int_or_none(r.get("malId"))]
    mappings = o.get("mappings") if isinstance(o.get("mappings"), dict) else {}
    rating = o.get("rating") if isinstance(o.get("rating"), str) else ""
    return {
        "id": item_id,
        **_titles(title.get("romaji"), title.get("english"), title.get("native"), title.get("synonyms")),
        "type": normal_type(_none_if_missing(o.get("type"))),
        "status": _none_if_missing(o.get("status")),
        "episodes": _int_or_none(o.get("episodeCount")),
        "start_year": _int_or_none(o.get("year")) or (_int_or_none(start[:4]) if start else None),
        "start_date": start[:10] if start else None,
        "start_season": _none_if_missing(o.get("season")),
        "score": _float_or_none(score.get("malScore")),
        "genres": genres or None, "themes": themes or None, "demographics": demographics or None,
        "tags": tags or None, "related": related or None,
        "image_url": _none_if_missing(images.get("poster")),
        "url": f"https://myanimelist.net/anime/{item_id}",
        "adult": True if rating.startswith("Rx") else None,
        "synopsis": o.get("synopsis"),
        "studios": _str_list(o.get("studios")) or None,
        "producers": _str_list(o.get("producers")) or None,
        "source_material": _none_if_missing(o.get("source")),
        "episode_minutes": _int_or_none(o.get("episodeLength")),
        "rating": rating or None,
        "listings": sum(1 for key, value in mappings.items() if value and not key.endswith("Type")),
    }


def _json_lines(path: Path) -> list[tuple[dict, str]]:
    """Each line of a JSON Lines file as (object, "file:line"); a malformed line is a one-line error
    naming the file and the line number."""
    objects = []
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SourceError(f"{path}:{number}: not a JSON object ({exc.msg})") from None
                if not isinstance(value, dict):
                    raise SourceError(f"{path}:{number}: not a JSON object")
                objects.append((value, f"{path}:{number}"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not readable as JSON Lines ({exc.__class__.__name__})") from None
    return objects


def read_anime_mapper_jsonl(path: Path) -> pd.DataFrame:
    """The anime-mapper set as JSON Lines: one title object per line (see `_mapper_record`)."""
    return _frame([_mapper_record(title, where) for title, where in _json_lines(path)])


def _names(value: object) -> list[str] | None:
    """Jikan's list of `{mal_id, type, name, url}` objects (genres, studios, ...) -> the names."""
    if not isinstance(value, list):
        return None
    return [v["name"] for v in value if isinstance(v, dict) and isinstance(v.get("name"), str) and v["name"].strip()] \
        or None


def _jikan_titles(o: dict) -> dict[str, object]:
    """The title fields from Jikan's `titles` list ({type, title}), falling back to its older flat fields."""
    by_type: dict[str, list[str]] = {}
    for entry in o.get("titles") or []:
        if isinstance(entry, dict) and isinstance(entry.get("title"), str):
            by_type.setdefault(str(entry.get("type")), []).append(entry["title"])
    first = lambda kind, flat: (by_type.get(kind) or [o.get(flat)])[0]  # noqa: E731
    return _titles(first("Default", "title"), first("English", "title_english"), first("Japanese", "title_japanese"),
                   by_type.get("Synonym") or o.get("title_synonyms"))


def _person(name: str) -> str:
    """MAL's "Family, Given" -> "Given Family", as names are written in English."""
    family, _, given = name.partition(", ")
    return f"{given} {family}" if given else family


def _jikan_record(o: dict) -> dict:
    """One title object of the Jikan v4 API (anime or manga, as `/anime` and `/manga` list them)."""
    dates = o.get("aired") if isinstance(o.get("aired"), dict) else o.get("published")
    dates = dates if isinstance(dates, dict) else {}
    start = dates.get("from") if isinstance(dates.get("from"), str) else None
    prop = dates.get("prop") if isinstance(dates.get("prop"), dict) else {}
    prop_year = (prop.get("from") or {}).get("year") if isinstance(prop.get("from"), dict) else None
    images = (o.get("images") or {}).get("jpg") if isinstance(o.get("images"), dict) else None
    trailer = o.get("trailer") if isinstance(o.get("trailer"), dict) else {}
    rating = o.get("rating") if isinstance(o.get("rating"), str) else ""
    authors = _names(o.get("authors"))
    return {
        "id": o["mal_id"],
        **_jikan_titles(o),
        "type": normal_type(_none_if_missing(o.get("type"))),
        "status": _none_if_missing(o.get("status")),
        "episodes": _int_or_none(o.get("episodes")),
        "chapters": _int_or_none(o.get("chapters")),
        "volumes": _int_or_none(o.get("volumes")),
        "start_year": _int_or_none(o.get("year")) or (_int_or_none(start[:4]) if start else _int_or_none(prop_year)),
        "start_date": start[:10] if start else None,
        "start_season": _none_if_missing(o.get("season")),
        "score": _float_or_none(o.get("score")) or None,  # Jikan says 0 for "no score yet"
        "members": _int_or_none(o.get("members")) or None,
        "popularity": _int_or_none(o.get("popularity")) or None,
        "genres": _names(o.get("genres")),
        "themes": _names(o.get("themes")),
        "demographics": _names(o.get("demographics")),
        "image_url": _none_if_missing(images.get("image_url")) if isinstance(images, dict) else None,
        "url": _none_if_missing(o.get("url")),
        "background": _none_if_missing(o.get("background")),
        "trailer_url": _none_if_missing(trailer.get("url")),
        "adult": True if rating.startswith("Rx") or _names(o.get("explicit_genres")) else None,
        "synopsis": o.get("synopsis"),
        "studios": _names(o.get("studios")),
        "producers": _names(o.get("producers")),
        "source_material": _none_if_missing(o.get("source")),
        "episode_minutes": _minutes(o.get("duration")),
        "rating": rating or None,
        "authors": [_person(name) for name in authors] if authors else None,
        "serialization": _names(o.get("serializations")),
    }


def read_jikan_sync(path: Path) -> pd.DataFrame:
    """What `anisim sync` stored (`anisim.syncstore`): per line `{"fetched_at", "jikan": <API object>}`."""
    records = []
    for line, where in _json_lines(path):
        title = line.get("jikan")
        if not isinstance(title, dict) or not isinstance(title.get("mal_id"), int):
            raise SourceError(f"{where}: expected {{\"fetched_at\", \"jikan\": a title with an integer mal_id}}")
        records.append({**_jikan_record(title), "fetched_at": _none_if_missing(line.get("fetched_at"))})
    return _frame(records)


def read_jsonl(path: Path) -> tuple[pd.DataFrame, int]:
    """A `.jsonl` file, by the shape of its first line: `anisim sync`'s store, or the anime-mapper set."""
    try:
        with path.open(encoding="utf-8") as lines:
            first = next((line for line in lines if line.strip()), "")
        synced = first.lstrip().startswith("{") and '"jikan"' in first and '"fetched_at"' in first
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not readable as JSON Lines ({exc.__class__.__name__})") from None
    if synced:
        return read_jikan_sync(path), JIKAN_SYNC
    return read_anime_mapper_jsonl(path), ANIME_MAPPER


def read_metadata_jsonl(path: Path) -> pd.DataFrame:
    """A metadata-only JSON Lines file, by its fields: MAL's rankings (`mal_id`, `members`,
    `popularity`, `mean`, `rank`) or English episode titles (`mal_id`, `episode_titles`)."""
    records = []
    for line, where in _json_lines(path):
        item_id = _int_or_none(line.get("mal_id"))
        if item_id is None:
            raise SourceError(f"{where}: each line needs an integer mal_id")
        titles = line.get("episode_titles")
        records.append({
            "id": item_id,
            "score": _float_or_none(line.get("mean")),
            "members": _int_or_none(line.get("members")),
            "popularity": _int_or_none(line.get("popularity")),
            "episode_titles": [t for t in titles if isinstance(t, str) and t.strip()] or None
            if isinstance(titles, list) else None,
            "synopsis": None,
        })
    return _frame(records)


# How to read each file suffix: (rows, precedence). A `.json` file says by its shape which it is.
READERS: dict[str, Callable[[Path], tuple[pd.DataFrame, int]]] = {
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".parquet": lambda path: (read_jikan_parquet(path), JIKAN_PARQUET),
    ".csv": lambda path: (read_mal_csv(path), MAL_CSV),
}


# How to read each metadata-only file suffix (`<data>/<kind>-metadata/`): rows, no synopses.
METADATA_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    ".csv": read_mal_metadata_csv,
    ".jsonl": read_metadata_jsonl,
}


def discover(folder: Path) -> list[Path]:
    """Every readable source file under `folder`, in a stable order."""
    if not folder.is_dir():
        raise SourceError(f"{folder}: source folder not found")
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix in READERS and p.name not in IGNORED_FILE_NAMES
    )
    if not files:
        raise SourceError(f"{folder}: no source files ({', '.join(READERS)}) found")
    return files


def read_source(path: Path) -> tuple[pd.DataFrame, int]:
    """Read one source file with the reader for its suffix: (rows in SOURCE_COLUMNS, precedence)."""
    return READERS[path.suffix](path)
