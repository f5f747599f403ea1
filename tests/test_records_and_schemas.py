"""Response records (legacy and v1) and request validation, without a server."""

import ast
import json

import numpy as np
import pytest

from anisim.api.records import RecordMaker
from anisim.api.schemas import SearchFilters, SearchRequest, parse_legacy_request
from anisim.errors import RequestError
from anisim.filters import Filters
from anisim.ranking import Page
from anisim.samples import FRIEREN

LEGACY_ANIME_KEYS = {
    "anime_id", "title", "title_english", "title_japanese", "title_synonyms", "main_picture", "url",
    "synopsis", "score", "episodes", "type", "status", "start_year", "start_season", "genres", "themes",
    "demographics", "rank", "similarity", "background", "trailer_url",
}


def _page(catalog, ids):
    positions = np.array([catalog.position[i] for i in ids])
    return Page(positions, np.arange(1, len(ids) + 1), np.linspace(0.9, 0.5, len(ids), dtype=np.float32), 99)


def test_legacy_anime_record_keeps_the_old_shape_as_valid_json(catalogs):
    catalog = catalogs["anime"]
    ids = [FRIEREN, *catalog.items["id"][:30]]  # the first ids come from CSV/parquet only: many nulls
    records = RecordMaker(catalog).legacy(_page(catalog, ids))
    json.dumps(records, allow_nan=False)  # raises on NaN
    frieren = records[0]
    assert set(frieren) == LEGACY_ANIME_KEYS and list(frieren) == sorted(frieren)
    assert frieren["anime_id"] == FRIEREN and isinstance(frieren["anime_id"], int)
    assert frieren["type"] == "tv" and frieren["status"] == "finished_airing"
    assert ast.literal_eval(frieren["genres"]) == ["Adventure", "Drama", "Fantasy"]
    assert frieren["episodes"] == 28 and frieren["start_season"] == "fall"
    assert "[Written by" not in frieren["synopsis"] and frieren["rank"] == 1


def test_legacy_manga_record(catalogs):
    catalog = catalogs["manga"]
    record = RecordMaker(catalog).legacy(_page(catalog, [121496]))[0]
    assert record["manga_id"] == 121496 and record["type"] == "manhwa"
    assert {"chapters", "volumes", "start_date"} <= set(record) and "anime_id" not in record


def test_v1_record(catalogs):
    catalog = catalogs["anime"]
    record = RecordMaker(catalog).v1(_page(catalog, [FRIEREN]))[0]
    assert record["id"] == FRIEREN and record["kind"] == "anime" and record["genres"] == ["Adventure", "Drama", "Fantasy"]
    json.dumps(record, allow_nan=False)


@pytest.mark.parametrize("body, message", [
    (b"{", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b"null", "must be a JSON object"),
    (b'{"model": "m"}', "'description' is required"),
    (b'{"description": "d"}', "'model' is required"),
    (b'{"model": "m", "description": ""}', "must not be empty"),
    (b'{"model": "m", "description": " \\n\\t "}', "must not be empty"),
    (b'{"model": "m", "description": 5}', "'description'"),
    (b'{"model": "m", "description": "d", "page": 0}', "'page'"),
    (b'{"model": "m", "description": "d", "page": "2"}', "'page'"),
    (b'{"model": "m", "description": "d", "page": null}', "'page'"),
    (b'{"model": "m", "description": "d", "resultsPerPage": 101}', "'resultsPerPage'"),
    (b'{"model": "m", "description": "d", "resultsPerPage": 2.5}', "'resultsPerPage'"),
    (('{"model": "m", "description": "%s"}' % ("x" * 2001)).encode(), "too long"),
    (b"[" * 1000 + b"]" * 1000, "nested too deeply"),
    (b'{"model": "m", "description": "d", "page": ' + b"9" * 5000 + b"}", "too large"),
    (b'{"model": "\\ud800", "description": "d"}', "'model'"),
])
def test_legacy_request_errors(body, message):
    with pytest.raises(RequestError, match=message):
        parse_legacy_request(body)


def test_legacy_request_defaults_and_limits():
    request = parse_legacy_request(('{"model": "m", "description": "%s", "extra": 1}' % ("x" * 2000)).encode())
    assert (request.page, request.resultsPerPage) == (1, 10)


def test_the_v1_filter_schema_has_exactly_the_filter_fields_by_name():
    assert set(SearchFilters.model_fields) == set(Filters.__dataclass_fields__)
    filters = SearchFilters(genres=["Action"], exclude_genres=["Comedy"], types=["TV"], year_min=2000,
                            year_max=2010, min_score=7.5, exclude_adult=True).to_filters()
    assert filters == Filters(genres=("Action",), exclude_genres=("Comedy",), types=("TV",), year_min=2000,
                              year_max=2010, min_score=7.5, exclude_adult=True)


@pytest.mark.parametrize("field, value", [
    ("page", True), ("page_size", "2"), ("kind", "novel"), ("query", 5), ("mode", "magic"),
    ("filters", {"exclude_adult": "yes"}), ("filters", {"year_max": True}), ("filters", {"genres": "Action"}),
    ("extra", 1),
])
def test_v1_search_bodies_are_strict(field, value):
    with pytest.raises(ValueError):
        SearchRequest.model_validate({"kind": "anime", "query": "a slime", field: value})


def test_v1_records_say_who_made_a_title_and_where_it_came_from(catalogs):
    spirited_away, slime = 199, 37430
    anime = RecordMaker(catalogs["anime"]).v1(_page(catalogs["anime"], [spirited_away, slime]))
    assert anime[0]["studios"] == ["Studio Ghibli"] and anime[0]["source_material"] == "Original"
    assert anime[0]["episode_minutes"] > 90 and anime[0]["rating"].startswith("PG")
    assert anime[1]["source_material"] == "Manga"
    berserk, one_piece = 2, 13
    manga = RecordMaker(catalogs["manga"]).v1(_page(catalogs["manga"], [berserk, one_piece]))
    assert "Kentarou Miura" in manga[0]["authors"] and manga[0]["serialization"] == ["Young Animal"]
    assert manga[1]["authors"] == ["Eiichiro Oda"]
    json.dumps(anime + manga, allow_nan=False)


def test_related_titles_have_a_title_and_a_mal_link_even_outside_the_catalog(catalogs):
    catalog = catalogs["anime"]
    small = catalog.subset([37430])  # the Slime series alone: every relation is outside this catalog
    related = RecordMaker(small).v1(_page(small, [37430]))[0]["related"]
    assert related and all(not r["in_catalog"] for r in related)
    assert all(r["title"] for r in related)  # the mapper's sequence names them
    assert all(r["url"] == f"https://myanimelist.net/anime/{r['id']}" for r in related)


def test_maker_and_source_filters_keep_only_matching_titles(catalogs):
    from anisim.columns import Columns
    anime, manga = catalogs["anime"], catalogs["manga"]
    facets = Columns(anime)
    ghibli = Filters(studios=("studio ghibli",)).mask(facets)
    assert 10 < ghibli.sum() < 200 and all("Studio Ghibli" in anime.items["studios"].iloc[i] for i in np.flatnonzero(ghibli))
    original = Filters(source_material=("Original",)).mask(facets)
    assert 0 < original.sum() < len(anime.items) and (ghibli & ~original).sum() < ghibli.sum()
    facets = Columns(manga)
    oda = Filters(authors=("Eiichiro Oda",)).mask(facets)
    jump = Filters(serialization=("Shounen Jump (Weekly)",)).mask(facets)
    one_piece = int(manga.position[13])
    assert oda[one_piece] and jump[one_piece] and 0 < oda.sum() < jump.sum() < len(manga.items)
