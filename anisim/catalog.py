"""The catalog: one row per title (keyed on the MAL id) plus every distinct synopsis of it.

`build_catalog` reads every source file of a kind (`anisim.sources`), merges their rows by MAL id
with field precedence (seasonal JSON, then the anime-mapper set, then parquet, then CSV, then
metadata-only files; `anisim.sources` says why), cleans the synopses
(`anisim.text`) and keeps each distinct text once. Titles with no synopsis are left out of the
catalog (they cannot be searched) and counted in the report.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from anisim import generations, sources
from anisim.errors import SourceError
from anisim.taxonomy import TAG_FIELDS, is_adult
from anisim.text import clean_synopsis

ITEM_COLUMNS = [
    "id", "title", "title_english", "title_japanese", "title_synonyms", "type", "status",
    "episodes", "chapters", "volumes", "start_year", "start_date", "start_season", "score", "members",
    "popularity", "genres", "themes", "demographics", "tags", "related", "image_url", "url", "background",
    "trailer_url", "adult", "studios", "producers", "source_material", "episode_minutes", "rating", "authors",
    "serialization", "listings", "episode_titles",
]
LIST_COLUMNS = ["title_synonyms", "genres", "themes", "demographics", "tags", "studios", "producers", "authors",
                "serialization", "episode_titles"]
# who made a title, as people name them ("Ghibli", "Oda", "Jump"): studios, authors, magazines
MAKER_FIELDS = ("studios", "authors", "serialization")
INT_COLUMNS = ["id", "episodes", "chapters", "volumes", "start_year", "members", "popularity", "episode_minutes",
               "listings"]
SYNOPSIS_COLUMNS = ["item_id", "source", "text"]
_MERGED_FIELDS = [c for c in sources.SOURCE_COLUMNS if c not in ("id", "synopsis")]


@dataclass
class BuildReport:
    """What a build read, kept and dropped, for a person to check."""

    kind: str
    rows_per_source: dict[str, int] = field(default_factory=dict)
    rows_without_id: int = 0
    rows_without_synopsis: int = 0
    duplicate_synopses: int = 0
    titles_seen: int = 0
    titles_without_synopsis: int = 0
    titles_without_name: int = 0
    items: int = 0
    synopses: int = 0
    filled: dict[str, int] = field(default_factory=dict)  # searchable items that know each field

    def lines(self) -> list[str]:
        out = [f"{self.kind} catalog"]
        out += [f"  read {n:>6,} rows  {name}" for name, n in self.rows_per_source.items()]
        out += [
            f"  {self.titles_seen:,} distinct MAL ids; {self.items:,} searchable items, "
            f"{self.synopses:,} distinct synopses",
            f"  dropped: {self.rows_without_id:,} rows without a valid id, "
            f"{self.rows_without_synopsis:,} rows without a synopsis (empty or placeholder), "
            f"{self.duplicate_synopses:,} repeated synopsis texts, "
            f"{self.titles_without_synopsis:,} titles with no synopsis at all, "
            f"{self.titles_without_name:,} with a synopsis but no title in any source",
        ]
        if self.filled:
            out.append("  fields known: " + ", ".join(f"{name} {n:,}" for name, n in self.filled.items()))
        return out


@dataclass
class Catalog:
    """Items (one row per title, sorted by id) and their synopses (sorted by item id), and its dates:
    `synced_at`, the newest fetch of `anisim sync` among its sources (None without one), and, once
    saved, `built_at`."""

    kind: str
    items: pd.DataFrame
    synopses: pd.DataFrame
    dates: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.items = self.items.reset_index(drop=True)
        self.synopses = self.synopses.reset_index(drop=True)
        self.position = pd.Series(range(len(self.items)), index=self.items["id"].to_numpy())

    def synopsis_ranges(self) -> tuple[np.ndarray, np.ndarray]:
        """Each item's rows of `synopses` (sorted by item id), as their start and end, in catalog order."""
        synopsis_items, ids = self.synopses["item_id"].to_numpy(), self.items["id"].to_numpy()
        return np.searchsorted(synopsis_items, ids), np.searchsorted(synopsis_items, ids, side="right")

    def content_hash(self) -> str:
        """A hash of exactly what gets embedded: which text belongs to which item, in order."""
        digest = hashlib.sha256()
        for item_id, text in zip(self.synopses["item_id"], self.synopses["text"]):
            digest.update(f"{item_id}\t{text}\n".encode())
        return digest.hexdigest()

    def subset(self, ids: list[int]) -> Catalog:
        """A smaller catalog of the given ids (used for tests and quick experiments)."""
        wanted = set(ids)
        return Catalog(
            self.kind,
            self.items[self.items["id"].isin(wanted)],
            self.synopses[self.synopses["item_id"].isin(wanted)],
            self.dates,
        )


def _merge_fields(rows: pd.DataFrame, kind: str) -> pd.DataFrame:
    """One row per id: each field from the highest-precedence source that knows it."""
    merged = rows.groupby("id", sort=True)[_MERGED_FIELDS].first().reset_index()
    merged = merged.astype(object).where(merged.notna(), None)
    # Hints fill only what no source states; a fallback title in another language becomes the
    # English title only when it differs from the chosen title.
    fallback = merged["title_fallback"]
    merged["title"] = merged["title"].where(merged["title"].notna(), fallback)
    english_guess = fallback.where(fallback != merged["title"], None)
    merged["title_english"] = merged["title_english"].where(merged["title_english"].notna(), english_guess)
    merged["type"] = merged["type"].where(merged["type"].notna(), merged["type_hint"])
    merged["url"] = [
        url or f"https://myanimelist.net/{kind}/{item_id}" for url, item_id in zip(merged["url"], merged["id"])
    ]
    merged["adult"] = [
        adult if adult is not None else is_adult(genres)
        for adult, genres in zip(merged["adult"], merged["genres"])
    ]
    return merged[ITEM_COLUMNS].astype({c: "Int64" for c in INT_COLUMNS})


REPORTED_FIELDS = ("type", "status", "score", "members", "popularity", "start_year", "start_date",
                   "episodes", "chapters", "volumes", "title_english", "studios", "source_material", "authors",
                   "serialization", "episode_titles")


def _metadata_rows(data_root: Path, kind: str, known: set[int], report: BuildReport, order: int) -> list[pd.DataFrame]:
    """Rows of the metadata-only files under `<data_root>/<kind>-metadata/` for titles that a
    synopsis source already has (metadata never makes a title searchable)."""
    folder = data_root / f"{kind}-metadata"
    frames = []
    for offset, path in enumerate(sources.discover_metadata(folder), order):
        frame = sources.METADATA_READERS[path.suffix](path)
        source = f"{folder.name}/{path.relative_to(folder).parts[0]}"
        report.rows_per_source[source] = len(frame)
        frame = frame[frame["id"].isin(known)]
        frames.append(frame.assign(_precedence=sources.METADATA_PRECEDENCE, _order=offset, _source=source))
    return frames


def build_catalog(data_root: Path, kind: str) -> tuple[Catalog, BuildReport]:
    """Read every source of `kind` under `data_root/<kind>/` and merge them into a Catalog; the
    metadata-only files of `data_root/<kind>-metadata/` fill fields of those titles last."""
    folder = data_root / kind
    report = BuildReport(kind)
    frames = []
    for order, path in enumerate(sources.discover(folder)):
        frame, precedence = sources.read_source(path)
        source = path.relative_to(folder).parts[0]  # a file, or a folder of files of one dump
        report.rows_per_source[source] = report.rows_per_source.get(source, 0) + len(frame)
        frames.append(frame.assign(_precedence=precedence, _order=order, _source=source))
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.sort_values(["_precedence", "_order"], kind="stable")
    report.rows_without_id = int(rows["id"].isna().sum())
    rows = rows[rows["id"].notna()].astype({"id": "int64"})
    report.titles_seen = rows["id"].nunique()
    metadata = _metadata_rows(data_root, kind, set(rows["id"]), report, len(frames))

    texts = rows["synopsis"].map(clean_synopsis)
    report.rows_without_synopsis = int(texts.isna().sum())
    synopses = pd.DataFrame({"item_id": rows["id"], "source": rows["_source"], "text": texts})
    synopses = synopses[synopses["text"].notna()]
    unique = synopses.drop_duplicates(["item_id", "text"], keep="first")
    report.duplicate_synopses = len(synopses) - len(unique)
    synopses = unique.sort_values("item_id", kind="stable")[SYNOPSIS_COLUMNS]

    if metadata:
        rows = pd.concat([rows, *metadata], ignore_index=True).astype({"id": "int64"})
    items = _merge_fields(rows, kind)
    described = items["id"].isin(set(synopses["item_id"]))
    named = items["title"].notna()
    report.titles_without_synopsis = int((~described).sum())
    report.titles_without_name = int((described & ~named).sum())
    searchable = described & named
    fetched = rows["fetched_at"].dropna()
    catalog = Catalog(kind, items[searchable], synopses[synopses["item_id"].isin(set(items.loc[searchable, "id"]))],
                      {"synced_at": max(fetched) if len(fetched) else None})
    report.items, report.synopses = len(catalog.items), len(catalog.synopses)
    report.filled = {name: int(catalog.items[name].notna().sum()) for name in REPORTED_FIELDS}
    return catalog, report


CATALOG_FORMAT = 2
_FILES = ("items.parquet", "synopses.parquet")


def _rebuild_hint(kind: str) -> str:
    return f"run `anisim build-catalog` (or `anisim prepare`): it rebuilds the {kind} catalog from the sources"


def stage_catalog(catalog: Catalog, root: Path) -> generations.Staged:
    """Write the catalog as a new generation of `<root>/<kind>/` (`anisim.generations`), not yet
    switched in: both parquet files will switch together, in one rename."""
    def write(folder: Path) -> None:
        for frame, name in zip((catalog.items, catalog.synopses), _FILES):
            frame.to_parquet(folder / name, index=False)

    built_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return generations.stage(root / catalog.kind, write, {"format": CATALOG_FORMAT, "kind": catalog.kind,
                                                          "items": len(catalog.items),
                                                          "synopses": len(catalog.synopses),
                                                          "built_at": built_at,
                                                          "synced_at": catalog.dates.get("synced_at")}, "catalog")


def save_catalog(catalog: Catalog, root: Path) -> None:
    """Write the catalog and switch to it."""
    stage_catalog(catalog, root).switch()


def load_catalog(root: Path, kind: str) -> Catalog:
    """Read a built catalog, verified: each file against its checksum, then the two against each
    other. A missing, damaged or inconsistent catalog is a SourceError saying how to rebuild it."""
    try:
        manifest = generations.read_manifest(root / kind)
        if manifest.get("format") != CATALOG_FORMAT or set(manifest["files"]) != set(_FILES):
            raise generations.Unreadable(f"{root / kind} holds a catalog of another format")
        folder = generations.verified_files(root / kind, manifest)
        items = pd.read_parquet(folder / "items.parquet")
        synopses = pd.read_parquet(folder / "synopses.parquet")
    except FileNotFoundError:
        raise SourceError(f"no {kind} catalog in {root}: {_rebuild_hint(kind)}") from None
    except generations.Unreadable as problem:
        raise SourceError(f"{problem}: {_rebuild_hint(kind)}") from None
    except Exception as exc:  # noqa: BLE001 (pyarrow raises many types for a bad file)
        raise SourceError(f"the {kind} catalog in {root} cannot be read ({type(exc).__name__}): "
                          f"{_rebuild_hint(kind)}") from None
    items = items.reindex(columns=ITEM_COLUMNS)  # a catalog from before a column existed has it empty
    items = items.astype({c: "Int64" for c in INT_COLUMNS}).astype(object).where(items.notna(), None)
    for column in LIST_COLUMNS:
        items[column] = [list(v) if v is not None else None for v in items[column]]
    items["related"] = [None if v is None else [{"id": int(r["id"]), "relation": r["relation"],
                                                  "title": r.get("title")} for r in v]
                        for v in items["related"]]
    if set(items["id"]) != set(synopses["item_id"]) or len(items) != manifest.get("items"):
        raise SourceError(f"{folder}: its titles and synopses do not match: {_rebuild_hint(kind)}")
    # Arrow's memory pool keeps what the files' columns held once they became Python objects
    # unless told to give it back: 74 MB of the API worker for the anime catalog
    pa.default_memory_pool().release_unused()
    return Catalog(kind, items, synopses, {"built_at": manifest.get("built_at"), "synced_at": manifest.get("synced_at")})


def catalog_generation(root: Path, kind: str) -> str:
    """The generation id of a kind's saved catalog (cheap: the manifest only); OSError or
    ValueError when there is none or it is damaged."""
    try:
        return generations.read_manifest(root / kind)["generation"]
    except generations.Unreadable as problem:
        raise ValueError(str(problem)) from None


def _counted(values: list[object]) -> list[dict[str, Any]]:
    """[{"name", "count"}], most common first, then by name."""
    counts = Counter(v for v in values if v)
    return [{"name": name, "count": n} for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _range(values: list[object]) -> dict[str, Any]:
    known = [v.item() if hasattr(v, "item") else v for v in values if pd.notna(v)]
    return {"min": min(known), "max": max(known)} if known else {"min": None, "max": None}


def facet_counts(catalog: Catalog) -> dict[str, Any]:
    """What a filter UI can offer for a catalog: every tag and type with its number of titles, and
    the range of years and scores (so a page's filters come from the data, not a fixed list)."""
    items = catalog.items
    return {
        "kind": catalog.kind, "total": len(items),
        **{field: _counted([t for tags in items[field] for t in (tags or [])]) for field in TAG_FIELDS},
        "types": _counted(list(items["type"])),
        "years": _range(list(items["start_year"])), "scores": _range(list(items["score"])),
        "adult": int(sum(bool(a) for a in items["adult"])),
    }
