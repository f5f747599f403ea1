"""The benchmarks' HTTP client: keep-alive HTTP/1.1 connections on uvloop, each request written as
bytes and each response read by httptools (uvicorn's own parser), and nothing else.

The load generator shares this machine's 2 cores with the server it measures, so each millisecond
it spends is taken from the server: at 32 clients against one server, aiohttp's client spent
0.30-0.37 ms of CPU a request and this one 0.12-0.16 (docs/performance.md). `load_level` runs the clients on
uvloop, as BentoML's workers run theirs.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from urllib.parse import urlsplit

import httptools
import numpy as np
import uvloop

TIMEOUT_S = 30.0


class Connection(asyncio.Protocol):
    """One keep-alive connection that carries one request at a time."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[int] | None = None

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        _, connection = await asyncio.get_running_loop().create_connection(cls, host, port)
        return connection

    async def post(self, head: bytes, body: bytes) -> int:
        """The response's status; its body is read (and dropped) before this returns."""
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return await self.answer

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as problem:
            self._fail(problem)

    def connection_lost(self, problem: Exception | None) -> None:
        self.transport = None
        self._fail(problem or ConnectionResetError("the server closed the connection"))

    # httptools callbacks
    def on_message_complete(self) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(self.parser.get_status_code())

    def _fail(self, problem: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(problem)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def load_level(url: str, texts: list[str], clients: int, duration: float, mode: str = "hybrid") -> dict:
    """`clients` concurrent loops, each on its own connection, posting /v1/search for `duration`
    s: requests/s, latency percentiles (ms) of the answered (200) ones, errors by status or
    exception name."""
    return uvloop.run(_level(url, texts, clients, duration, mode))


async def _level(url: str, texts: list[str], clients: int, duration: float, mode: str) -> dict:
    parts = urlsplit(url)
    head = f"POST /v1/search HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n".encode()
    latencies: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    deadline = time.perf_counter() + duration

    async def client(offset: int) -> None:
        connection, i = None, offset
        while time.perf_counter() < deadline:
            body = json.dumps({"kind": "anime", "query": texts[i % len(texts)], "page_size": 10, "mode": mode})
            started = time.perf_counter()
            try:
                async with asyncio.timeout(TIMEOUT_S):
                    if connection is None or connection.transport is None:  # none yet, or the server closed it
                        connection = await Connection.open(parts.hostname, parts.port)
                    outcome = str(await connection.post(head, body.encode()))
            except (OSError, TimeoutError, httptools.HttpParserError) as problem:
                outcome = type(problem).__name__
                if connection is not None:
                    connection.close()
                connection = None  # a fresh connection for the next request
            if outcome == "200":
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors[outcome] += 1
            i += clients
        if connection is not None:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(c * 7) for c in range(clients)))
    elapsed = time.perf_counter() - started
    return {"qps": len(latencies) / elapsed, "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99), "errors": errors.total(), "error_kinds": dict(errors),
            "requests": len(latencies)}

