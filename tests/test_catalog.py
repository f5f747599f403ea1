"""The catalogs built from the real MAL sources in ../shared/data."""

import json
import re

from anisim.catalog import build_catalog, load_catalog, save_catalog
from anisim.samples import FRIEREN, SOLO_LEVELING
from anisim.settings import Settings


def test_counts_and_unique_ids(catalogs):
    # anime: 7,100 titles from the seasonal JSON, parquet and CSV, plus ~15,100 from the anime-mapper
    # set (titles whose only text is a placeholder such as "No synopsis has been added for this
    # series yet." are not searchable).
    assert 21_000 <= len(catalogs["anime"].items) <= 22_500
    assert len(catalogs["manga"].items) == 5997
    for catalog in catalogs.values():
        assert catalog.items["id"].is_unique and catalog.items["id"].is_monotonic_increasing
        assert set(catalog.synopses["item_id"]) == set(catalog.items["id"])


def test_search_visible_texts_are_clean(catalogs):
    for catalog in catalogs.values():
        texts = catalog.synopses["text"]
        assert texts.str.len().min() > 0
        assert not texts.str.contains(r"Written by MAL Rewrite|\(Source:|<br|&amp;|&quot;", regex=True).any()
        assert not texts.str.contains(r"\s{2,}", regex=True).any()
        assert not catalog.synopses.duplicated(["item_id", "text"]).any()


def test_distinct_synopses_of_one_title_are_all_kept(catalogs):
    per_item = catalogs["anime"].synopses.groupby("item_id").size()
    assert (per_item >= 2).sum() >= 78  # the 78 JSON/parquet pairs that really differ, at least


def test_frieren(catalogs):
    catalog = catalogs["anime"]
    frieren = catalog.items.loc[catalog.position[FRIEREN]]
    assert frieren["title"] == "Sousou no Frieren"
    assert frieren["title_english"] == "Frieren: Beyond Journey's End"
    assert frieren["type"] == "TV" and frieren["score"] > 9
    assert frieren["genres"] == ["Adventure", "Drama", "Fantasy"]
    assert frieren["url"] == "https://myanimelist.net/anime/52991/Sousou_no_Frieren"


def test_a_manhwa_says_so(catalogs):
    catalog = catalogs["manga"]
    assert catalog.items.loc[catalog.position[SOLO_LEVELING], "type"] == "Manhwa"
    assert catalog.items.loc[catalog.position[SOLO_LEVELING], "url"].startswith("https://myanimelist.net/manga/121496")


def test_parquet_titles_in_english_do_not_replace_romaji(catalogs):
    catalog = catalogs["anime"]
    gintama = catalog.items.loc[catalog.position[28977]]  # Gintama°: parquet (English title) + mapper (romaji)
    assert gintama["title"] == "Gintama°" and gintama["title_english"] == "Gintama Season 4"
    japanese = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff]")  # kana and kanji (not the "・" of romaji)
    assert not any(japanese.search(t) for t in catalog.items["title"])


def test_the_whole_catalog_has_old_films_short_onas_and_their_relations(catalogs):
    items = catalogs["anime"].items.set_index("id")
    bebop = items.loc[1]
    assert bebop["title"] == "Cowboy Bebop" and bebop["type"] == "TV" and bebop["start_year"] == 1998
    assert {"id": 5, "relation": "SIDE_STORY", "title": "Cowboy Bebop: The Movie - Knockin' on Heaven's Door"} \
        in bebop["related"]
    assert {"Bounty Hunter", "Space Travel"} <= set(bebop["tags"]) and "Space" in bebop["themes"]
    assert not {"Bounty Hunter", "Space Travel"} & set(bebop["genres"] + bebop["themes"])
    akira = items.loc[47]  # a pre-1990 film
    assert (akira["title"], akira["type"], akira["start_year"]) == ("AKIRA", "Movie", 1988) and akira["related"]
    azumanga_web = items.loc[1593]  # a one-episode ONA
    assert azumanga_web["type"] == "ONA" and azumanga_web["episodes"] == 1
    assert {(r["id"], r["relation"]) for r in azumanga_web["related"]} >= {(66, "PARENT")}
    assert len(items[(items["type"] == "Movie") & (items["start_year"] < 1990)]) > 500
    assert set(items["type"].dropna()) <= {"TV", "Movie", "OVA", "ONA", "Special", "TV Special", "Music", "CM", "PV"}


def test_building_twice_is_deterministic(tmp_path, catalogs):
    again, _ = build_catalog(Settings.from_env().data_dir, "manga")
    assert again.synopses.equals(catalogs["manga"].synopses)
    assert list(again.items["id"]) == list(catalogs["manga"].items["id"])
    save_catalog(again, tmp_path / "a")
    save_catalog(catalogs["manga"], tmp_path / "b")
    manifests = [json.loads((tmp_path / side / "manga/manifest.json").read_text()) for side in "ab"]
    assert manifests[0]["files"] == manifests[1]["files"]  # the same bytes, by their SHA-256


def test_save_and_load_round_trip_leaves_no_temp_files(tmp_path, catalogs):
    save_catalog(catalogs["anime"], tmp_path)
    loaded = load_catalog(tmp_path, "anime")
    assert loaded.content_hash() == catalogs["anime"].content_hash()
    assert loaded.items.loc[loaded.position[FRIEREN], "title_synonyms"] == ["Frieren at the Funeral", "Frieren The Slayer"]
    generation = json.loads((tmp_path / "anime/manifest.json").read_text())["generation"]
    assert sorted(p.name for p in (tmp_path / "anime").iterdir()) == [f"g-{generation}", "manifest.json"]
    assert sorted(p.name for p in (tmp_path / "anime" / f"g-{generation}").iterdir()) == ["items.parquet", "synopses.parquet"]


def test_manga_cards_are_filled_from_the_metadata_sources(catalogs):
    items = catalogs["manga"].items
    assert len(items) == 5997  # metadata made no title searchable
    for field, at_least in (("score", 0.8), ("status", 0.9), ("members", 0.9), ("start_date", 0.9), ("chapters", 0.55)):
        assert items[field].notna().mean() >= at_least, field
    solo = items[items["id"] == SOLO_LEVELING].iloc[0]
    assert solo["type"] == "Manhwa" and solo["chapters"] == 201 and solo["start_year"] == 2018
