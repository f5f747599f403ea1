"""anisim for LLM assistants: Model Context Protocol tools (search, similar titles, one title,
filters) over a `Door` to anisim's v1 API, on two transports.

- Streamable HTTP at `/mcp` of a running anisim (`mount_app`): the tools call the server's own
  backend in-process (`LocalDoor`), behind the same rate limit, body limit and private logs.
- stdio for desktop assistants (`anisim mcp --url http://127.0.0.1:3000`): the tools call a running
  anisim's v1 API over HTTP (`HttpDoor`); no model is loaded, so it starts in about a second.

Every answer is a compact text a model reads (rank, titles, type, year, score, MAL link, the
matched passage trimmed, similarity) plus the same data as structured content. A mistake (an
unknown id, a blank description, an unknown type, the encoder down) is a tool error whose one line
is the v1 API's message; the server keeps serving.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import anyio
import httpx
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp_types import CallToolResult, TextContent
from mcp_types.jsonrpc import INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import Field, ValidationError

from anisim.api.guard import forbidden_rpc_id
from anisim.api.schemas import ItemId as MalId
from anisim.api.schemas import PageNumber, QueryText, Tag, Year, one_line
from anisim.api.schemas import PageSize as PageSizeType
from anisim.errors import AnisimError
from anisim.limits import MAX_FILTER_VALUES, MAX_QUERY_CHARS, Kind
from anisim.understanding import CueName

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from anisim.api.backend import AsyncEncode, Backend

PASSAGE_CHARS = 240  # of the matched passage, in the text a model reads
INSTRUCTIONS = (
    "anisim finds anime and manga from a description of the story. Pass what the user remembers "
    "(scenes, characters, the premise) as `description`, in their words; pass what they know about "
    "the title itself as arguments: types (a movie, a TV series), a year range, genres. Those are "
    "filters: leave them out when the user is unsure. Results are ranked best first; show a few "
    "with their MyAnimeList links, and use similar_titles or get_title to dig into one.")


class Door(Protocol):
    """What the tools need of anisim: the v1 API's answers, as its JSON objects."""

    async def search(self, body: dict[str, Any]) -> dict[str, Any]: ...

    async def similar(self, body: dict[str, Any]) -> dict[str, Any]: ...

    async def title(self, kind: str, item_id: int) -> dict[str, Any]: ...

    async def facets(self, kind: str) -> dict[str, Any]: ...


class HttpDoor:
    """A running anisim's v1 API over HTTP (the stdio transport's door)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.client = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as problem:
            raise ToolError(f"anisim is not reachable at {self.client.base_url} ({type(problem).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            raise ToolError(body.get("error") if isinstance(body, dict) and body.get("error")
                            else f"anisim answered HTTP {response.status_code}")
        return body

    async def search(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/v1/search", json=body)

    async def similar(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "/v1/similar", json=body)

    async def title(self, kind: str, item_id: int) -> dict[str, Any]:
        return await self._call("GET", "/v1/title", params={"kind": kind, "id": item_id})

    async def facets(self, kind: str) -> dict[str, Any]:
        return await self._call("GET", "/v1/facets", params={"kind": kind})


class LocalDoor:
    """The serving process's own backend (the `/mcp` transport's door): the same validation and
    answers as its v1 routes, without a hop over HTTP."""

    def __init__(self, backend: Callable[[], Backend], encode: Callable[[], AsyncEncode]) -> None:
        self.backend, self.encode = backend, encode  # looked up per call: the service starts after mounting

    async def search(self, body: dict[str, Any]) -> dict[str, Any]:
        from anisim.api.schemas import SearchRequest, validated
        request = validated(SearchRequest, body)
        backend = self.backend()
        answer = await backend.search(request, self.encode())
        return backend.v1_response(request.kind, request.page, request.page_size, answer).model_dump()

    async def similar(self, body: dict[str, Any]) -> dict[str, Any]:
        from anisim.api.schemas import SimilarRequest, validated
        request = validated(SimilarRequest, body)
        backend = self.backend()
        answer = backend.similar(request.kind, request.id, request.model, request.page, request.page_size,
                                 request.filters.to_filters())
        return backend.v1_response(request.kind, request.page, request.page_size, answer).model_dump()

    async def title(self, kind: str, item_id: int) -> dict[str, Any]:
        return self.backend().title(kind, item_id)

    async def facets(self, kind: str) -> dict[str, Any]:
        return self.backend().facets_of(kind)


async def _through(call: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """The door's answer; an anisim error becomes a tool error with the v1 API's one-line message
    (naming the tools' `description` where v1 names its `query`)."""
    try:
        return await call
    except (AnisimError, ToolError) as problem:
        raise ToolError(str(problem).replace("'query'", "'description'")) from None


def _heading(record: dict[str, Any]) -> str:
    """A title's one line: rank (in a result list), titles, facts, MAL link."""
    english = f" ({record['title_english']})" if record.get("title_english") and \
        record["title_english"] != record.get("title") else ""
    facts = [record.get("type"), record.get("start_year"), f"score {record['score']}" if record.get("score") else None,
             f"similarity {record['similarity']:.3f}" if record.get("similarity") is not None else None]
    head = f"{record['rank']}. " if record.get("rank") else ""
    return f"{head}{record.get('title')}{english} [{', '.join(str(f) for f in facts if f)}] {record.get('url')}"


def _line(record: dict[str, Any]) -> str:
    """One result as a model reads it: its heading and the passage that matched, trimmed."""
    passage = (record.get("matched") or record.get("synopsis") or "").strip()
    if len(passage) > PASSAGE_CHARS:
        passage = passage[:PASSAGE_CHARS].rsplit(" ", 1)[0] + " …"
    return f"{_heading(record)}\n   {passage}"


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    keep = ("rank", "id", "title", "title_english", "type", "start_year", "score", "url", "similarity")
    passage = (record.get("matched") or "")[:PASSAGE_CHARS]
    return {**{k: record.get(k) for k in keep}, "matched": passage}


def _page_result(answer: dict[str, Any], heading: str) -> CallToolResult:
    results = [_compact(r) for r in answer["results"]]
    shown = f"{heading}: {len(results)} of {answer['total']:,} titles (page {answer['page']})"
    if answer.get("understood"):
        understood = {k: v for k, v in answer["understood"].items() if k != "text"}
        if understood:
            shown += f"; understood from the description: {understood}"
    text = "\n".join([shown, *(_line(r) for r in answer["results"])]) if results else f"{shown}. No titles match."
    structured = {"kind": answer["kind"], "page": answer["page"], "total": answer["total"],
                  "has_more": answer["has_more"], "results": results}
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


# The v1 request's own types (the one table of limits, `anisim.limits`), described for a model.
Description = Annotated[QueryText, Field(description="what the user remembers of the story, in their own words "
                                                     "(scenes, characters, premise); up to "
                                                     f"{MAX_QUERY_CHARS:,} characters")]
Types = Annotated[list[Tag] | None, Field(description="only these types, e.g. ['Movie'] or ['TV', 'OVA'] (anime), "
                                                      "['Manga', 'Manhwa'] (manga); see list_filters",
                                          max_length=MAX_FILTER_VALUES)]
YearMin = Annotated[Year | None, Field(description="first start year, when the user is sure of it")]
YearMax = Annotated[Year | None, Field(description="last start year")]
Genres = Annotated[list[Tag] | None, Field(description="MAL genres, themes or demographics every result must have",
                                           max_length=MAX_FILTER_VALUES)]
Exclude = Annotated[list[Tag] | None, Field(description="genres, themes or demographics no result may have",
                                            max_length=MAX_FILTER_VALUES)]
MinScore = Annotated[float | None, Field(description="minimum MyAnimeList score (0-10)", ge=0, le=10)]
HideAdult = Annotated[bool, Field(description="leave out titles with adult genres")]
Understand = Annotated[bool, Field(description="false: search the description as typed, without reading "
                                               "its cues (type, era, studio, audience, genres)")]
IgnoreCues = Annotated[list[CueName] | None, Field(description="cues to leave unused, e.g. ['years'] when the "
                                                               "user doubts the era")]
Page = Annotated[PageNumber, Field(description="1-based page number")]
PageSize = Annotated[PageSizeType, Field(description="results per page")]
ItemId = Annotated[MalId, Field(description="a MyAnimeList id, as in a result's `id`")]
KindArg = Annotated[Kind, Field(description="anime or manga")]


def _filters(types: list[str] | None, year_min: int | None, year_max: int | None, genres: list[str] | None,
             exclude: list[str] | None, min_score: float | None, hide_adult: bool) -> dict[str, Any]:
    filters = {"types": types, "year_min": year_min, "year_max": year_max, "genres": genres,
               "exclude_genres": exclude, "min_score": min_score, "exclude_adult": hide_adult or None}
    return {k: v for k, v in filters.items() if v not in (None, [])}


async def _known_types(door: Door, kind: str, types: list[str] | None) -> None:
    """A type the catalog does not have is a mistake worth saying (it would silently match nothing)."""
    if not types:
        return
    known = {t["name"].lower(): t["name"] for t in (await _through(door.facets(kind)))["types"]}
    unknown = [t for t in types if t.lower() not in known]
    if unknown:
        raise ToolError(f"unknown {kind} type; use any of: {', '.join(sorted(known.values()))}")


NAME_PREFIX = 40  # characters of a client's unknown name that an error may quote


def _prefix(name: str) -> str:
    """A client-sent name as an error may quote it: its first characters, escaped (no newline)."""
    return ascii(name[:NAME_PREFIX]) + ("…" if len(name) > NAME_PREFIX else "")


class _OneLineErrors(MCPServer):
    """The SDK's server, with an argument that fails its schema reported as the v1 API reports a
    field: one line naming it, never the value sent (the SDK's own message is pydantic's, several
    lines long, and repeats the input). An unknown prompt or resource is a JSON-RPC "invalid params"
    error that says there are only tools, and an unknown tool a tool error that names the tools and
    quotes at most a short, escaped prefix of the name sent (the SDK echoed a 60 KB name back,
    answered an unknown prompt with code 0, and logged it with its traceback)."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        if self._tool_manager.get_tool(name) is None:
            tools = ", ".join(tool.name for tool in self._tool_manager.list_tools())
            raise ToolError(f"unknown tool {_prefix(name)}; the tools are: {tools}")
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as problem:
            cause = problem.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(one_line(cause)) from cause  # the SDK then logs field names only
            raise

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
        raise MCPError(code=INVALID_PARAMS, message="unknown prompt; this server has no prompts, only tools")

    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        raise MCPError(code=INVALID_PARAMS, message="unknown resource; this server has no resources, only tools")


def build_server(door: Door) -> MCPServer:
    """The MCP server: its tools, each a thin call through `door`."""
    server = _OneLineErrors("anisim", instructions=INSTRUCTIONS)

    async def search(kind: str, description: str, types: list[str] | None, year_min: int | None,
                     year_max: int | None, genres: list[str] | None, exclude_genres: list[str] | None,
                     min_score: float | None, hide_adult: bool, understand: bool, ignore_cues: list[str] | None,
                     page: int, page_size: int) -> CallToolResult:
        await _known_types(door, kind, types)
        body = {"kind": kind, "query": description, "page": page, "page_size": page_size,
                "filters": _filters(types, year_min, year_max, genres, exclude_genres, min_score, hide_adult),
                "understand": understand, "ignore_cues": ignore_cues or []}
        return _page_result(await _through(door.search(body)), f"{kind} matching the description")

    @server.tool()
    async def search_anime(description: Description, types: Types = None, year_min: YearMin = None,
                           year_max: YearMax = None, genres: Genres = None, exclude_genres: Exclude = None,
                           min_score: MinScore = None, hide_adult: HideAdult = False,
                           understand: Understand = True, ignore_cues: IgnoreCues = None, page: Page = 1,
                           page_size: PageSize = 10) -> CallToolResult:
        """Find anime (TV series, films, OVAs, ...) from a description of the story a person half
        remembers. Best first, with MyAnimeList links."""
        return await search("anime", description, types, year_min, year_max, genres, exclude_genres, min_score,
                            hide_adult, understand, ignore_cues, page, page_size)

    @server.tool()
    async def search_manga(description: Description, types: Types = None, year_min: YearMin = None,
                           year_max: YearMax = None, genres: Genres = None, exclude_genres: Exclude = None,
                           min_score: MinScore = None, hide_adult: HideAdult = False,
                           understand: Understand = True, ignore_cues: IgnoreCues = None, page: Page = 1,
                           page_size: PageSize = 10) -> CallToolResult:
        """Find manga, manhwa and manhua from a description of the story. Best first, with
        MyAnimeList links."""
        return await search("manga", description, types, year_min, year_max, genres, exclude_genres, min_score,
                            hide_adult, understand, ignore_cues, page, page_size)

    @server.tool()
    async def similar_titles(kind: KindArg, id: ItemId, page: Page = 1, page_size: PageSize = 10) -> CallToolResult:
        """Titles closest in story to one title (by its MyAnimeList id), never the title itself:
        for "more like this" or "what else is like X"."""
        answer = await _through(door.similar({"kind": kind, "id": id, "page": page, "page_size": page_size}))
        return _page_result(answer, f"{kind} like #{id}")

    @server.tool()
    async def get_title(kind: KindArg, id: ItemId) -> CallToolResult:
        """One title's whole record: titles, type, years, score, studios or authors, genres, its
        synopsis and its related titles (sequels, prequels, side stories)."""
        record = await _through(door.title(kind, id))
        related = ", ".join(f"{r['title'] or '#' + str(r['id'])} ({r['relation'].lower()}, id {r['id']})"
                            for r in record.get("related") or [])
        text = f"{_heading(record)}\n{record.get('synopsis') or ''}" + (f"\nRelated: {related}" if related else "")
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=record)

    @server.tool()
    async def list_filters(kind: KindArg) -> CallToolResult:
        """What the search tools' filters can choose from for one kind: genres, themes,
        demographics and types with their counts, and the year and score ranges."""
        facets = await _through(door.facets(kind))
        top = {field: [f"{t['name']} ({t['count']})" for t in facets[field]]
               for field in ("types", "genres", "themes", "demographics")}
        text = "\n".join([f"{kind}: {facets['total']:,} titles; years {facets['years']['min']}-{facets['years']['max']}",
                          *(f"{field}: {', '.join(values)}" for field, values in top.items())])
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=facets)

    return server


async def run_stdio(server: MCPServer) -> None:
    """Serve `server` on stdin and stdout, answering every line the SDK cannot read (not JSON, a
    half-sent line, a batch, not a JSON-RPC message) with a JSON-RPC error of id null, -32700 or
    -32600: the SDK's stdio transport drops such a line silently, and a client waiting for an
    answer waits for ever."""
    stdin = anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
    async with stdio_server(stdin=_IdChecked(stdin)) as (read_stream, write_stream):  # type: ignore[arg-type]
        relay_send, relay_receive = anyio.create_memory_object_stream(0)

        async def relay() -> None:
            async with relay_send:
                async for item in read_stream:
                    if isinstance(item, Exception):
                        code = PARSE_ERROR if _not_json(item) else INVALID_REQUEST
                        message = "parse error: the line is not JSON" if code == PARSE_ERROR else \
                            "not a valid JSON-RPC message (one request per line; no batches)"
                        await write_stream.send(SessionMessage(JSONRPCError(
                            jsonrpc="2.0", id=None, error=ErrorData(code=code, message=message))))
                        continue
                    await relay_send.send(item)

        lowlevel = server._lowlevel_server
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(relay)
            await lowlevel.run(relay_receive, write_stream, lowlevel.create_initialization_options())
            tasks.cancel_scope.cancel()


NOT_A_MESSAGE = '{"anisim": "a request id must be a string, a number or null"}\n'


class _IdChecked:
    """stdin's lines, where a request whose id JSON-RPC forbids (an object, a list, true) becomes a
    line that is no message, so it is answered with -32600: the SDK read it as a notification and
    answered nothing (over HTTP, a silent 202)."""

    def __init__(self, lines: Any) -> None:
        self.lines = lines

    def __aiter__(self) -> AsyncIterator[str]:
        return self._checked()

    async def _checked(self) -> AsyncIterator[str]:
        async for line in self.lines:
            yield NOT_A_MESSAGE if forbidden_rpc_id(line) else line


def _not_json(problem: Exception) -> bool:
    """Whether the SDK failed to read a line because it is not JSON at all (else: not a message)."""
    return isinstance(problem, ValidationError) and any(e["type"] == "json_invalid" for e in problem.errors())


def mount_app(door: Door) -> Starlette:
    """The Streamable HTTP app to mount at `/mcp` (stateless, JSON answers: any worker can answer
    any request). Its lifespan runs the SDK's session manager; `lifespan` below starts it."""
    return build_server(door).streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True,
        # the service's own CORS and host settings apply; the SDK's localhost-only check would
        # refuse a deployed server's host name
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Run a mounted MCP app's lifespan (a parent app does not run its mounts' own)."""
    async with app.router.lifespan_context(app):
        yield
