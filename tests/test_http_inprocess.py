"""The HTTP contract on the in-process ASGI app (no server process): errors, CORS, shapes, filters."""

import json

import pytest
from conftest import BAD_LEGACY_BODIES, LEGACY_MODEL, SERVED

from anisim.models import MINILM, TUNED
from anisim.samples import FRIEREN


def _post(client, path, body):
    if isinstance(body, bytes):
        return client.post(path, content=body, headers={"Content-Type": "application/json"})
    return client.post(path, json=body)


@pytest.mark.parametrize("kind", ["anime", "manga"])
@pytest.mark.parametrize("body, mentions", BAD_LEGACY_BODIES)
def test_bad_legacy_input_is_400_json_on_both_routes(asgi_client, kind, body, mentions):
    response = _post(asgi_client, f"/anisearchmodel/{kind}", body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"error"} and mentions in response.json()["error"]


def test_legacy_response_is_valid_json_with_the_old_keys(asgi_client):
    body = {"model": LEGACY_MODEL, "description": "an elf mage outlives her hero party"}
    response = asgi_client.post("/anisearchmodel/anime", json=body)
    assert response.status_code == 200
    records = json.loads(response.text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert len(records) == 10 and [r["rank"] for r in records] == list(range(1, 11))
    assert all(isinstance(r["anime_id"], int) for r in records)
    similarities = [r["similarity"] for r in records]
    assert similarities == sorted(similarities, reverse=True)
    assert records[0]["anime_id"] == FRIEREN


def test_unknown_kind_and_get_are_rejected_with_json_errors(asgi_client):
    for response, status in ((asgi_client.post("/anisearchmodel/novels", json={}), 404),
                             (asgi_client.get("/anisearchmodel/anime"), 405),
                             (asgi_client.get("/v1/search"), 405),
                             (asgi_client.get("/no/such/route"), 404)):
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/json") and "error" in response.json()


def test_cors_allows_the_configured_origin_only(asgi_client):
    preflight = asgi_client.options("/anisearchmodel/anime", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    other = asgi_client.post("/anisearchmodel/anime", headers={"Origin": "https://elsewhere.example"},
                             json={"model": LEGACY_MODEL, "description": "slime"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("body", [
    {"kind": "anime"}, {"kind": "anime", "query": "  "}, {"kind": "novel", "query": "x"},
    {"kind": "anime", "query": "x", "page": 0}, {"kind": "anime", "query": "x", "page_size": 500},
    {"kind": "anime", "query": "x", "mode": "magic"}, {"kind": "anime", "query": "x", "filters": {"colour": 1}},
    [1, 2], b"{nope",
])
def test_bad_v1_input_is_400_json(asgi_client, body):
    response = _post(asgi_client, "/v1/search", body)
    assert response.status_code == 400 and "error" in response.json()


def test_v1_unknown_model_lists_the_available_ones(asgi_client):
    response = asgi_client.post("/v1/search", json={"kind": "anime", "query": "x", "model": "gtr-t5-xl"})
    assert response.status_code == 400 and "all-MiniLM-L6-v2" in response.json()["error"]


def test_v1_search_modes_and_paging_fields(asgi_client, small_catalogs):
    total = len(small_catalogs["manga"].items)
    for mode in ("hybrid", "dense", "lexical"):
        body = asgi_client.post("/v1/search", json={"kind": "manga", "query": "a hunter who levels up alone",
                                                    "mode": mode, "page_size": 7}).json()
        assert body["mode"] == mode and body["total"] == total and body["has_more"]
        assert len(body["results"]) == 7 and body["results"][0]["kind"] == "manga"


def test_v1_filters_apply_before_ranking_and_pages_stay_full(asgi_client, small_catalogs):
    catalog = small_catalogs["anime"]
    expected = sum(1 for g, t, y in zip(catalog.items["genres"], catalog.items["type"], catalog.items["start_year"])
                   if "Comedy" in (g or []) and t == "TV" and y is not None and y >= 2010)
    assert expected > 6
    body = asgi_client.post("/v1/search", json={"kind": "anime", "query": "funny school friends", "page_size": 5,
                                                "filters": {"genres": ["comedy"], "types": ["TV"], "year_min": 2010}}).json()
    assert body["total"] == expected and len(body["results"]) == 5
    for record in body["results"]:
        assert "Comedy" in record["genres"] and record["type"] == "TV" and record["start_year"] >= 2010


def test_v1_similar_never_returns_the_title_itself(asgi_client, small_catalogs):
    body = asgi_client.post("/v1/similar", json={"kind": "anime", "id": FRIEREN, "page_size": 100}).json()
    ids = [r["id"] for r in body["results"]]
    assert FRIEREN not in ids
    assert body["total"] == len(small_catalogs["anime"].items) - 1 and len(ids) == min(100, body["total"])
    assert asgi_client.post("/v1/similar", json={"kind": "anime", "id": 999999999}).status_code == 404


def test_models_and_health(asgi_client):
    models = {m["name"]: m for m in asgi_client.get("/v1/models").json()}
    assert models["all-MiniLM-L6-v2"]["available"] and models["all-MiniLM-L6-v2"]["served"]
    assert models[TUNED]["available"] and models[TUNED]["served"] and models[TUNED]["default"]
    assert not models["all-mpnet-base-v2"]["available"] and "why" in models["all-mpnet-base-v2"]
    health = asgi_client.get("/v1/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"



@pytest.mark.parametrize("name, canonical", [
    (TUNED, TUNED), ("fine_tuned_sbert_anime_model", TUNED), ("sentence-transformers/fine_tuned_sbert_anime_model", TUNED),
    (MINILM, MINILM), (LEGACY_MODEL, MINILM),
])
def test_both_models_answer_by_name_on_v1_and_legacy(asgi_client, name, canonical):
    v1 = asgi_client.post("/v1/search", json={"kind": "anime", "query": "an elf mage outlives her hero party",
                                              "model": name, "page_size": 3})
    assert v1.status_code == 200 and v1.json()["model"] == canonical
    legacy = asgi_client.post("/anisearchmodel/manga", json={"model": name, "description": "a hunter levels up"})
    assert legacy.status_code == 200 and legacy.headers["x-anisim-model"] == canonical


def test_the_tuned_and_stock_models_rank_differently(asgi_client):
    """Each model searches its own index: the similarity scores of one query differ."""
    bodies = [asgi_client.post("/v1/search", json={"kind": "anime", "query": "a slime in another world", "model": m})
              .json() for m in SERVED]
    assert bodies[0]["results"][0]["similarity"] != bodies[1]["results"][0]["similarity"]


def test_an_old_allow_listed_model_is_answered_by_the_default_on_legacy_routes_only(asgi_client):
    body = {"model": "sentence-transformers/sentence-t5-xl", "description": "an elf mage outlives her hero party"}
    legacy = asgi_client.post("/anisearchmodel/anime", json=body)
    assert legacy.status_code == 200 and legacy.headers["x-anisim-model"] == TUNED
    assert legacy.json()[0]["anime_id"] == FRIEREN
    v1 = asgi_client.post("/v1/search", json={"kind": "anime", "query": "x", "model": "sentence-transformers/sentence-t5-xl"})
    assert v1.status_code == 400 and "not available" in v1.json()["error"]
    never = asgi_client.post("/anisearchmodel/anime", json={**body, "model": "sentence-t5-xl"})
    assert never.status_code == 400


def test_strict_setting_turns_substitution_off(service_env):
    from anisim.api.backend import Backend
    from anisim.errors import ModelUnavailable
    from anisim.settings import Settings
    strict = Backend(Settings.from_env({**service_env, "ANISIM_LEGACY_SUBSTITUTE": "0"}))
    with pytest.raises(ModelUnavailable, match="not available"):
        strict.model_for("sentence-transformers/sentence-t5-xl", legacy=True)
    assert strict.model_for("fine_tuned_sbert_anime_model", legacy=True) == (TUNED, False)


@pytest.mark.parametrize("headers, body, status", [
    ({"Content-Type": "multipart/form-data"}, b'{"kind":"anime","query":"slime"}', 415),
    ({"Content-Type": "text/plain"}, b'{"kind":"anime","query":"slime"}', 415),
    ({"Content-Type": "application/json"}, b"x" * 70_000, 413),
    ({"Content-Type": "application/json"}, b'{"kind": "anime", "query": "\\u200b<br>"}', 400),
    ({"Content-Type": "application/json"}, b'{"kind": "anime", "query": "slime", "page": true}', 400),
])
def test_client_mistakes_on_v1_are_4xx_json(asgi_client, headers, body, status):
    response = asgi_client.post("/v1/search", content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json") and set(response.json()) == {"error"}
    assert len(response.text) < 300


def test_a_huge_legacy_body_is_413_before_it_is_parsed(asgi_client):
    response = asgi_client.post("/anisearchmodel/anime", content=b"[" * 1_000_000,
                                headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "error" in response.json()


def _v1(client, query, **extra):
    response = client.post("/v1/search", json={"kind": "anime", "query": query, **extra})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_every_v1_result_says_what_matched_and_where_it_came_from(asgi_client, small_catalogs):
    sources = set(small_catalogs["anime"].synopses["source"])
    earned = {"hybrid": {"meaning", "words"}, "dense": {"meaning"}, "lexical": {"words"}}
    for mode in ("hybrid", "dense", "lexical"):
        for record in _v1(asgi_client, "an elf mage outlives her hero party", mode=mode):
            assert record["matched"] and record["matched"] in record["synopsis"]
            assert record["matched_source"] in sources and record["matched_by"] in earned[mode]


def test_matched_names_the_term_that_earned_the_score(searchers, encoder, small_catalogs):
    """Hybrid showed the best dense passage even where BM25 put the title there."""
    from anisim.fusion import Fusion
    from anisim.query import Query
    searcher = searchers["anime"]
    item_id, texts = _a_title_with_two_synopses(small_catalogs["anime"])
    words = " ".join(sorted(set(texts[1].split()) - set(texts[0].split())))  # the second synopsis's own words
    query = Query(words[:2000])
    for similarity, by in (({"dense": 1.0, "bm25": 1e-4}, "meaning"), ({"dense": 1e-4, "bm25": 1.0}, "words")):
        page = searcher.with_fusion(Fusion(similarity)).search(query, encoder.encode, 1, 5)
        assert [match.by for match in page.matches] == [by] * 5
    position = int(searcher.catalog.position[item_id])
    assert position in page.positions.tolist()
    assert page.matches[page.positions.tolist().index(position)].text == texts[1]


def _a_title_with_two_synopses(catalog):
    """A title whose first two synopses are really different texts (not one with "..." added)."""
    for item_id, texts in catalog.synopses.groupby("item_id")["text"]:
        first, second = (set(t.lower().split()) for t in list(texts)[:2]) if len(texts) > 1 else (set(), set())
        if first and len(first & second) < 0.5 * len(first | second):
            return int(item_id), list(texts)
    raise AssertionError("no title with two different synopses in the test catalog")


def test_a_second_synopsis_that_matches_is_the_one_returned(asgi_client, small_catalogs):
    item_id, texts = _a_title_with_two_synopses(small_catalogs["anime"])
    second = texts[1]
    for mode in ("hybrid", "lexical"):
        record = next(r for r in _v1(asgi_client, second[:2000], mode=mode) if r["id"] == item_id)
        assert record["synopsis"] == second and record["matched"] in second
    legacy = asgi_client.post("/anisearchmodel/anime", json={"model": LEGACY_MODEL, "description": second[:2000]}).json()
    assert next(r for r in legacy if r["anime_id"] == item_id)["synopsis"] == second


def test_the_opening_passage_that_matches_is_the_passage_returned(asgi_client, small_catalogs):
    from anisim.index import DEFAULT_PASSAGE_WORDS, passages
    catalog = small_catalogs["anime"]
    item_id, text = next((i, t) for i, t in zip(catalog.synopses["item_id"], catalog.synopses["text"])
                         if len(passages(t, DEFAULT_PASSAGE_WORDS)) >= 3)
    opening = passages(text, DEFAULT_PASSAGE_WORDS)[0]
    record = _v1(asgi_client, opening, mode="dense")[0]
    assert record["id"] == item_id and record["matched"] == opening and record["synopsis"] == text


def test_facets_count_the_catalog_tags_and_types(asgi_client, small_catalogs):
    items = small_catalogs["manga"].items
    facets = asgi_client.get("/v1/facets?kind=manga").json()
    assert facets["total"] == len(items)
    genres = {g["name"]: g["count"] for g in facets["genres"]}
    assert genres["Action"] == sum("Action" in (g or []) for g in items["genres"])
    assert {t["name"] for t in facets["types"]} == {t for t in items["type"] if t}
    assert facets["years"]["min"] <= facets["years"]["max"]
    for bad in ("/v1/facets", "/v1/facets?kind=novel"):
        response = asgi_client.get(bad)
        assert response.status_code == 400 and set(response.json()) == {"error"}


def test_the_search_page_is_at_the_root_and_the_openapi_page_at_docs(asgi_client):
    page = asgi_client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="q"' in page.text and "/page/page.js" in page.text and 'href="/docs"' in page.text
    assert asgi_client.get("/page/page.js").status_code == 200
    assert asgi_client.get("/page/page.css").headers["content-type"].startswith("text/css")
    docs = asgi_client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert asgi_client.get("/page/nothing.js").status_code == 404


def test_v1_says_what_it_understood_and_uses_it_softly(asgi_client):
    body = {"kind": "anime", "query": "[TOMT][MOVIE][90s] an anime film about a girl and a flying castle. Thanks in advance!",
            "page_size": 20}
    answer = asgi_client.post("/v1/search", json=body).json()
    understood = answer["understood"]
    assert understood["types"] == ["Movie"] and understood["years"] == [1990, 1999]
    assert "TOMT" not in understood["text"] and "Thanks" not in understood["text"]
    types = [r["type"] for r in answer["results"]]
    assert types.count("Movie") > len(types) // 2 and "TV" in types  # raised, never filtered
    ignored = asgi_client.post("/v1/search", json={**body, "ignore_cues": ["types"]}).json()
    assert "types" not in ignored["understood"] and ignored["understood"]["years"] == [1990, 1999]
    assert [r["type"] for r in ignored["results"]].count("Movie") < types.count("Movie")
    raw = asgi_client.post("/v1/search", json={**body, "understand": False}).json()["understood"]
    assert raw == {"text": body["query"]}


def test_v1_takes_a_whole_post_and_the_legacy_routes_keep_the_old_limit(asgi_client):
    post = ("I remember a show where a boy trains dragons in a floating city. " * 80)[:4990]
    assert asgi_client.post("/v1/search", json={"kind": "anime", "query": post}).status_code == 200
    too_long = asgi_client.post("/v1/search", json={"kind": "anime", "query": post + "x" * 20})
    assert too_long.status_code == 400 and "at most 5000" in too_long.json()["error"]
    legacy = asgi_client.post("/anisearchmodel/anime", json={"model": LEGACY_MODEL, "description": post[:2500]})
    assert legacy.status_code == 400 and "at most 2000" in legacy.json()["error"]


def test_v1_unknown_cue_names_are_400(asgi_client):
    response = asgi_client.post("/v1/search", json={"kind": "anime", "query": "x", "ignore_cues": ["colour"]})
    assert response.status_code == 400 and "ignore_cues" in response.json()["error"]


def test_v1_title_returns_one_whole_record_or_a_clear_error(asgi_client):
    record = asgi_client.get(f"/v1/title?kind=anime&id={FRIEREN}").json()
    assert record["id"] == FRIEREN and record["synopsis"] and "Madhouse" in record["studios"]
    assert record["related"] and "rank" not in record
    assert record["episode_titles"][0] == "The Journey`s End" and all(isinstance(t, str) for t in record["episode_titles"])
    for query, status in (("kind=anime&id=999999999", 404), ("kind=anime&id=abc", 400), ("kind=novel&id=1", 400),
                          ("kind=anime", 400)):
        response = asgi_client.get(f"/v1/title?{query}")
        assert response.status_code == status and set(response.json()) == {"error"}
