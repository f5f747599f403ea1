"""ASGI middleware in front of every route: bounded bodies, strict JSON, and only JSON errors.

BentoML and Starlette answer some client mistakes themselves, in shapes the API does not promise
(text/plain 404/405, an empty 307, a JSON *array* for 415, a 500 for a multipart body without a
boundary), and BentoML logs a traceback holding the rejected input for each invalid v1 body. So,
before any route runs, this middleware:
- answers 413 for a body over `max_body_bytes` (from Content-Length at once, else while reading);
- reads the body of a POST (bounded) and, for the v1 routes, requires JSON and validates it with
  the same pydantic model BentoML uses, so an invalid body is a 400 here and never reaches BentoML;
- requires `Content-Type: application/json` on the legacy routes too (415 otherwise): a web page
  can send `text/plain` from any visitor's browser without a CORS preflight, JSON it cannot;
- answers a path no route serves with a 404 at once (random paths were the costliest requests);
- rewrites any error answer that is not `{"error": ...}` JSON into that shape, keeping its status;
- completes the OpenAPI document (`/docs.json`) with the routes BentoML does not declare.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel

from anisim.api.metrics import KNOWN_PATHS, STATIC_FOLDERS
from anisim.api.openapi import complete
from anisim.api.responses import send_error
from anisim.api.schemas import parse_json, validated
from anisim.errors import AnisimError, MethodNotAllowed, NotFound, PayloadTooLarge, RequestError, UnsupportedMediaType
from anisim.settings import Settings

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


LEGACY_PATHS = frozenset({"/anisearchmodel/anime", "/anisearchmodel/manga"})


def forbidden_rpc_id(body: str | bytes) -> bool:
    """Whether a body is a JSON object whose `id` JSON-RPC forbids (an object, a list, true): the
    MCP SDK reads such a request as a notification and answers nothing."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return False
    if not isinstance(message, dict) or "id" not in message:
        return False
    request_id = message["id"]
    return not (request_id is None or isinstance(request_id, str)
                or (isinstance(request_id, int) and not isinstance(request_id, bool)))


def routed(path: str) -> bool:
    """Whether some route may answer `path` (a known route, with a trailing slash that is
    redirected, a static folder, a legacy kind): anything else is a 404 before routing."""
    return path.rstrip("/") in KNOWN_PATHS or path == "/" or path.startswith((*STATIC_FOLDERS, "/anisearchmodel/"))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, or PayloadTooLarge as soon as it passes `limit` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than {limit:,} bytes")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def validate_json_body(body: bytes, model: type[BaseModel]) -> None:
    """Raise RequestError unless `body` is a JSON object that `model` accepts."""
    validated(model, parse_json(body))


def _is_error_shape(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return isinstance(payload, dict) and isinstance(payload.get("error"), str)


JSON_RPC_PATH = "/mcp"  # the MCP door answers mistakes as JSON-RPC errors
# JSON-RPC's error codes -> one line (the SDK's own message is pydantic's, and repeats the input)
_RPC_MESSAGES = {-32700: "parse error: the body is not JSON", -32600: "not a valid JSON-RPC request",
                 -32601: "unknown method", -32602: "invalid parameters: not a valid JSON-RPC message",
                 -32603: "internal error"}
_MESSAGES = {
    NotFound.status: "no such route",
    MethodNotAllowed.status: "method not allowed on this route",
    UnsupportedMediaType.status: "send the body as JSON, with Content-Type: application/json",
    AnisimError.status: "internal error",
}


def _message_for(status: int) -> str:
    """A one-line message for an error answer that came without one."""
    if status in (301, 302, 307, 308):
        return "no such route; see Location (routes have no trailing slash)"
    return _MESSAGES.get(status, HTTPStatus(status).phrase.lower())


class BufferedAnswer:
    """Wraps `send`: an answer that `wants` is held back whole, then sent as `rewrite` makes it."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: Message | None = None
        self.body: list[bytes] = []

    def wants(self, status: int) -> bool:
        raise NotImplementedError

    def rewrite(self, status: int, body: bytes) -> bytes:
        raise NotImplementedError

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and self.wants(message["status"]):
            self.start = message
            return
        if self.start is None or message["type"] != "http.response.body":
            await self.send(message)
            return
        self.body.append(message.get("body", b""))
        if not message.get("more_body"):
            body = self.rewrite(self.start["status"], b"".join(self.body))
            drop = (b"content-length", b"content-type")
            headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() not in drop]
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await self.send({**self.start, "headers": headers})
            await self.send({"type": "http.response.body", "body": body})


class JsonErrors(BufferedAnswer):
    """An answer of status >= 300 whose body is not `{"error": ...}` gets that shape."""

    def wants(self, status: int) -> bool:
        return status >= 300 and status != 304

    def rewrite(self, status: int, body: bytes) -> bytes:
        return body if _is_error_shape(body) else json.dumps({"error": _message_for(status)}).encode()


class JsonRpcErrors(BufferedAnswer):
    """Every JSON-RPC error on the MCP route, whatever its HTTP status, keeps JSON-RPC's shape with
    a one-line message for its code and no `data` (where the SDK puts what the request named: an
    unknown method's 40 KB name came back whole); other answers pass unchanged."""

    def wants(self, status: int) -> bool:
        return status != 304

    def rewrite(self, status: int, body: bytes) -> bytes:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if status < 300:
            answers = payload if isinstance(payload, list) else [payload]
            if not any(isinstance(a, dict) and "error" in a for a in answers):
                return body
            cleaned = [_rpc_error(a, status) if isinstance(a, dict) and "error" in a else a for a in answers]
            return json.dumps(cleaned if isinstance(payload, list) else cleaned[0]).encode()
        return json.dumps(_rpc_error(payload, status)).encode()


def _rpc_error(payload: object, status: int) -> dict[str, Any]:
    """A JSON-RPC error answer as sent: its id and code, the code's one-line message, no data."""
    error = payload.get("error") if isinstance(payload, dict) else None
    code = error.get("code") if isinstance(error, dict) and isinstance(error.get("code"), int) else -32600
    request_id = payload.get("id") if isinstance(payload, dict) else None
    message = _RPC_MESSAGES.get(code, _message_for(status) if status >= 300 else "error")
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


class CompleteDocs(BufferedAnswer):
    """For `GET /docs.json`: the OpenAPI document gains what BentoML leaves out."""

    def wants(self, status: int) -> bool:
        return status == 200

    def rewrite(self, status: int, body: bytes) -> bytes:
        return json.dumps(complete(json.loads(body))).encode()


class RequestGuard:
    """See the module docstring. `json_bodies` maps a v1 route to the model of its body."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None,
                 json_bodies: dict[str, type[BaseModel]] | None = None) -> None:
        self.app = app
        self.limit = (settings or Settings.from_env()).max_body_bytes
        self.json_bodies = json_bodies or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == JSON_RPC_PATH:
            send = JsonRpcErrors(send)
        else:
            send = JsonErrors(CompleteDocs(send) if scope["path"] == "/docs.json" else send)
        try:
            if not routed(scope["path"]):
                raise NotFound(_MESSAGES[NotFound.status])  # at once: no router, no exception chain
            receive = await self._checked(scope, receive)
        except AnisimError as problem:
            await send_error(send, problem)
            return
        await self.app(scope, receive, send)

    async def _checked(self, scope: Scope, receive: Receive) -> Receive:
        """Check the request's body; return a `receive` that replays it to the app."""
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > self.limit:
            raise PayloadTooLarge(f"request body is larger than {self.limit:,} bytes")
        if scope["method"] != "POST":
            return receive
        model = self.json_bodies.get(scope["path"])
        json_only = model is not None or scope["path"] in LEGACY_PATHS
        if json_only and _header(scope, b"content-type").split(";")[0].strip().lower() != "application/json":
            raise UnsupportedMediaType(_MESSAGES[UnsupportedMediaType.status])
        body = await read_body(receive, self.limit)
        if model is not None:
            validate_json_body(body, model)
        if scope["path"] == JSON_RPC_PATH and forbidden_rpc_id(body):
            raise RequestError("a request id must be a string, a number or null")  # sent as JSON-RPC -32600
        return _replay(body, receive)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return replay
