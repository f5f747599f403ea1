"""The one place an error becomes an HTTP answer: `{"error": message}` with the error's own status
(`anisim.errors`), and `Retry-After` for the errors a client should retry."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import JSONResponse

from anisim.errors import AnisimError, Unavailable

Send = Callable[[dict[str, Any]], Awaitable[None]]


def error_headers(problem: AnisimError) -> dict[str, str]:
    return {"Retry-After": str(problem.retry_after)} if isinstance(problem, Unavailable) else {}


def error_response(problem: AnisimError) -> JSONResponse:
    """A Starlette response for an error."""
    return JSONResponse({"error": str(problem)}, status_code=problem.status, headers=error_headers(problem))


async def send_error(send: Send, problem: AnisimError) -> None:
    """The same answer, sent from plain ASGI middleware (before any app has run)."""
    body = json.dumps({"error": str(problem)}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error_headers(problem).items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def answers_errors(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap an async API method so that an AnisimError it raises becomes `error_response` (BentoML
    would answer any exception it does not know with a 500)."""

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except AnisimError as problem:
            return error_response(problem)
    return wrapper
