"""One call to the Encoder for the queries that wait at the same moment: `Coalescer`.

Each call into another BentoML service is an HTTP request that costs both processes CPU (parsing,
serialising, middleware), and the Encoder's adaptive batching merges calls only after each has paid
its way in: with a call per query, the Encoder spent about 1 ms a query more than encoding it
(docs/performance.md). So the API worker sends the queries that are waiting together, as one call,
with at most `in_flight` calls out at once: a query that comes while the Encoder is busy joins the
next call. A query that is alone goes at once. Where the Encoder's engines batch (a GPU), its
adaptive batching still merges the calls of several API workers or replicas."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import numpy as np

Pairs = list[list[str]]  # [model name, text] pairs: what the Encoder's `encode` takes


def merges_calls(ping: object) -> bool:
    """Whether an Encoder's `ping` answer says to send calls through its batcher: unless it says
    its engines encode each text alone (`{"batches": false}`: ONNX Runtime on a CPU). An older
    Encoder answers a list of its models, which says nothing: through the batcher, as before."""
    return not (isinstance(ping, dict) and ping.get("batches") is False)


class Coalescer:
    """Vectors for [model, text] pairs through `send`, which encodes a list of pairs in one call."""

    def __init__(self, send: Callable[[Pairs, bool], Awaitable[np.ndarray]], timeout_s: float = 5.0,
                 in_flight: int = 2, max_batch: int = 32) -> None:
        """`send(pairs, alone)`: `alone` when the call holds one query and no other call is out.
        A call that takes over `timeout_s` fails its queries and frees its place."""
        self.send = send
        self.timeout_s = timeout_s
        self.in_flight = in_flight
        self.max_batch = max_batch
        self.waiting: list[tuple[list[str], asyncio.Future]] = []
        self.calls: set[asyncio.Task] = set()  # the calls out now (kept: the loop holds tasks weakly)

    async def vector(self, model: str, text: str) -> np.ndarray:
        """This text's vector, sent with whatever else is waiting when a call can go out."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(([model, text], future))
        self._start_calls()
        return await future

    def _start_calls(self) -> None:
        while self.waiting and len(self.calls) < self.in_flight:
            batch, self.waiting = self.waiting[:self.max_batch], self.waiting[self.max_batch:]
            batch = [(pair, future) for pair, future in batch if not future.done()]  # a waiter gave up
            if batch:
                call = asyncio.get_running_loop().create_task(self._call(batch, alone=len(batch) == 1 and not self.calls))
                self.calls.add(call)
                call.add_done_callback(self._done)

    async def _call(self, batch: list[tuple[list[str], asyncio.Future]], alone: bool) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                vectors = np.asarray(await self.send([pair for pair, _ in batch], alone), dtype=np.float32)
        except Exception as problem:  # noqa: BLE001 (every waiter gets the call's failure)
            for _, future in batch:
                if not future.done():
                    future.set_exception(problem)
        else:
            for (_, future), vector in zip(batch, vectors):
                if not future.done():
                    future.set_result(vector)

    def _done(self, call: asyncio.Task) -> None:
        self.calls.discard(call)
        self._start_calls()
