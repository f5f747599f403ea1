"""The MCP door, with the SDK's own client, over both transports against a real `bentoml serve` of
the small catalogs: Streamable HTTP at `/mcp`, and stdio (`anisim mcp --url ...`)."""

from __future__ import annotations

import asyncio
import json
import random
import sys

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from anisim.samples import FRIEREN

pytestmark = pytest.mark.server
TOOLS = {"search_anime", "search_manga", "similar_titles", "get_title", "list_filters"}
FRIEREN_DESCRIPTION = "an elf mage outlives her hero party"


def _transports(url: str) -> dict[str, object]:
    return {"http": f"{url}/mcp",
            "stdio": StdioServerParameters(command=sys.executable, args=["-m", "anisim.cli", "mcp", "--url", url])}


async def _session(target, calls):
    async with Client(target, read_timeout_seconds=60) as client:
        return await calls(client)


@pytest.fixture(params=["http", "stdio"])
def run(request, server):
    """Run `calls(client)` with an MCP client over one transport."""
    target = _transports(server)[request.param]
    return lambda calls: asyncio.run(_session(target, calls))


def test_the_tools_are_listed_with_descriptions_that_say_how_to_use_them(run):
    tools = run(lambda client: client.list_tools()).tools
    assert {tool.name for tool in tools} == TOOLS
    search = next(tool for tool in tools if tool.name == "search_anime")
    assert "remembers" in search.input_schema["properties"]["description"]["description"]
    assert {"types", "year_min", "year_max", "genres", "exclude_genres", "min_score", "hide_adult"} <= \
        set(search.input_schema["properties"])


def test_a_known_description_finds_its_title_first_with_text_and_structured_content(run):
    result = run(lambda client: client.call_tool("search_anime", {"description": FRIEREN_DESCRIPTION,
                                                                    "page_size": 3}))
    assert not result.is_error
    first = result.structured_content["results"][0]
    assert first["id"] == FRIEREN and first["rank"] == 1 and first["url"].startswith("https://myanimelist.net/anime/")
    text = result.content[0].text
    assert "1. Sousou no Frieren" in text and "myanimelist.net" in text and len(text) < 3000


def test_filters_narrow_the_results(run):
    async def calls(client):
        every = await client.call_tool("search_anime", {"description": "a story about a journey"})
        films = await client.call_tool("search_anime", {"description": "a story about a journey", "types": ["Movie"],
                                                        "year_min": 1990})
        return every, films
    every, films = run(calls)
    assert 0 < films.structured_content["total"] < every.structured_content["total"]
    assert all(r["type"] == "Movie" and r["start_year"] >= 1990 for r in films.structured_content["results"])


def test_similar_title_and_filter_tools(run):
    async def calls(client):
        return (await client.call_tool("similar_titles", {"kind": "anime", "id": FRIEREN, "page_size": 5}),
                await client.call_tool("get_title", {"kind": "anime", "id": FRIEREN}),
                await client.call_tool("list_filters", {"kind": "manga"}),
                await client.call_tool("search_manga", {"description": "a hunter who levels up alone"}))
    similar, title, filters, manga = run(calls)
    assert FRIEREN not in [r["id"] for r in similar.structured_content["results"]]
    assert title.structured_content["id"] == FRIEREN and title.structured_content["synopsis"]
    assert "Madhouse" in title.structured_content["studios"] and title.structured_content["related"]
    assert "Manhwa" in [t["name"] for t in filters.structured_content["types"]]
    assert manga.structured_content["results"][0]["id"] == 121496  # Solo Leveling


MISTAKES = [
    ("search_anime", {"description": "   "}, "'description' must not be empty"),
    ("search_anime", {"description": "<br>\u200b"}, "blank"),
    ("get_title", {"kind": "anime", "id": 999999999}, "no anime with MAL id"),
    ("similar_titles", {"kind": "manga", "id": 999999999}, "no manga with MAL id"),
    ("search_anime", {"description": "a ninja", "types": ["Movee"]}, "unknown anime type"),
    ("search_anime", {"description": "a ninja", "page": "two"}, "'page'"),
    ("get_title", {"kind": "novel", "id": 1}, "'kind'"),
    ("no_such_tool", {}, "no_such_tool"),
]


def test_a_mistake_is_a_tool_error_and_the_server_keeps_serving(run):
    async def calls(client):
        answers = [await client.call_tool(tool, arguments) for tool, arguments, _ in MISTAKES]
        return answers, await client.call_tool("list_filters", {"kind": "anime"})
    answers, good = run(calls)
    for (tool, arguments, message), bad in zip(MISTAKES, answers):
        text = bad.content[0].text
        assert bad.is_error and message in text and len(text.splitlines()) == 1, (tool, arguments, text)
        assert "input_value" not in text and "ninja" not in text
    assert not good.is_error


def test_malformed_json_rpc_never_gets_a_5xx(server):
    """Hostile bodies on /mcp: not JSON, not JSON-RPC, unknown methods, wrong parameter types."""
    rng = random.Random(11)
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    bodies = [b"{", b"[]", b"null", b"42", b'"x"', b'{"jsonrpc": "2.0"}', b'{"jsonrpc": "1.0", "id": 1, "method": "x"}']
    for _ in range(120):
        body = {"jsonrpc": rng.choice(["2.0", "1.0", 2, None]), "id": rng.choice([1, "a", None, [], {}]),
                "method": rng.choice(["tools/call", "tools/list", "initialize", "nope", 5, None]),
                "params": rng.choice([{}, [], None, "x", {"name": "search_anime", "arguments": rng.choice(
                    [{}, [], {"description": rng.choice(["", "x" * 6000, 5, None, "a ninja"])}, "str"])}])}
        bodies.append(json.dumps({k: v for k, v in body.items() if rng.random() > 0.15}).encode())
    bodies.append(json.dumps({"jsonrpc": "1.0", "id": 1, "method": "Quillon-secret"}).encode())
    with httpx.Client(timeout=30) as client:
        for body in bodies:
            response = client.post(f"{server}/mcp", content=body, headers=headers)
            assert response.status_code < 500, (body[:200], response.status_code, response.text[:300])
            if response.status_code >= 400:  # a JSON-RPC error: one line, never the request's text
                error = response.json()["error"]
                assert set(error) == {"code", "message"} and "\n" not in error["message"]
                assert "Quillon" not in response.text and "input_value" not in response.text
        assert client.get(f"{server}/mcp").status_code == 405  # stateless: no event stream to hold open
        assert client.post(f"{server}/mcp", content=b"x" * 70_000, headers=headers).status_code == 413


def test_the_log_holds_no_mcp_query_text(run, served):
    secret = "a lighthouse keeper who befriends a zebra named Quillon"
    run(lambda client: client.call_tool("search_anime", {"description": secret}))
    run(lambda client: client.call_tool("search_anime", {"description": secret, "types": ["Nope"]}))
    assert "Quillon" not in served[2].read_text()


def test_understand_and_ignore_cues_reach_the_search(run):
    """Both arguments were validated, then dropped on the way to the backend: the cues were used
    whatever a client said."""
    description = f"an anime movie from the 90s: {FRIEREN_DESCRIPTION}"

    async def calls(client):
        return [await client.call_tool("search_anime", {"description": description, **extra})
                for extra in ({}, {"ignore_cues": ["years"]}, {"understand": False})]
    default, no_years, as_typed = (answer.content[0].text.splitlines()[0] for answer in run(calls))
    assert "understood from the description" in default and "'years'" in default and "'types'" in default
    assert "'years'" not in no_years and "'types'" in no_years
    assert "understood from the description" not in as_typed


def test_the_same_bad_input_gets_the_same_refusal_at_every_door(run, server):
    """v1, MCP and the legacy routes share one table of limits (`anisim.limits`) and one wording."""
    bad = [("page_size", 101, "resultsPerPage"), ("page", 0, "page"), ("year_min", 1899, None),
           ("year_max", 2101, None)]

    async def calls(client):
        return [await client.call_tool("search_anime", {"description": FRIEREN_DESCRIPTION, field: value})
                for field, value, _ in bad]
    tool_errors = [answer.content[0].text for answer in run(calls)]
    assert all(answer.startswith("'") for answer in tool_errors), tool_errors
    with httpx.Client(base_url=server, timeout=30) as http:
        for (field, value, legacy_field), tool_error in zip(bad, tool_errors):
            filters = field.startswith("year")
            body = {"kind": "anime", "query": FRIEREN_DESCRIPTION,
                    **({"filters": {field: value}} if filters else {field: value})}
            v1 = http.post("/v1/search", json=body)
            assert v1.status_code == 400
            assert v1.json()["error"] == tool_error.replace(f"'{field}'", f"'filters.{field}'" if filters else f"'{field}'")
            if legacy_field:
                legacy = http.post("/anisearchmodel/anime", json={"model": "sentence-transformers/all-MiniLM-L6-v2",
                                                                  "description": "x", legacy_field: value})
                assert legacy.status_code == 400
                assert legacy.json()["error"] == tool_error.replace(f"'{field}'", f"'{legacy_field}'")
        similar = http.post("/v1/similar", json={"kind": "anime", "id": 2**31})
        title = http.get("/v1/title", params={"kind": "anime", "id": 2**31})
        assert similar.status_code == title.status_code == 400
    tool = run(lambda client: client.call_tool("similar_titles", {"kind": "anime", "id": 2**31}))
    assert tool.is_error and tool.content[0].text == similar.json()["error"]
