"""The API worker's coalescer: queries that wait together go to the Encoder as one call, each gets
its own vector back, and a failed or hung call frees its place."""

import asyncio

import numpy as np
import pytest
from conftest import SERVED

from anisim.api.coalescer import Coalescer, merges_calls
from anisim.encoder import encode_pairs

QUERIES = ["two brothers use alchemy", "an elf mage outlives her hero party", "a giant robot war",
           "a girl joins a volleyball team", "a detective shrunk into a child", "ghosts in a haunted school"]


class Recorded:
    """The real models behind `send`, with every call's pairs and `alone` flag kept."""

    def __init__(self, embedders) -> None:
        self.embedders = embedders
        self.calls: list[tuple[list[list[str]], bool]] = []

    async def send(self, pairs: list[list[str]], alone: bool) -> np.ndarray:
        self.calls.append((pairs, alone))
        return await asyncio.to_thread(encode_pairs, self.embedders, pairs)


def test_queries_waiting_together_share_one_call_and_each_gets_its_own_vector(embedders):
    pairs = [[SERVED[i % 2], text] for i, text in enumerate(QUERIES * 2)]
    recorded = Recorded(embedders)

    async def together() -> list[np.ndarray]:
        coalescer = Coalescer(recorded.send, in_flight=1)
        return await asyncio.gather(*(coalescer.vector(model, text) for model, text in pairs))

    vectors = asyncio.run(together())
    assert [len(pairs) for pairs, _ in recorded.calls] == [1, len(pairs) - 1]  # the first went alone
    assert [alone for _, alone in recorded.calls] == [True, False]
    expected = encode_pairs(embedders, pairs)
    assert np.allclose(np.stack(vectors), expected, atol=1e-5)


def test_a_call_holds_at_most_max_batch_queries_and_at_most_in_flight_calls_are_out(embedders):
    recorded = Recorded(embedders)
    out, most_out = 0, 0

    async def send(pairs, alone):
        nonlocal out, most_out
        out += 1
        most_out = max(most_out, out)
        try:
            return await recorded.send(pairs, alone)
        finally:
            out -= 1

    async def together() -> None:
        coalescer = Coalescer(send, in_flight=2, max_batch=4)
        await asyncio.gather(*(coalescer.vector(SERVED[0], text) for text in QUERIES * 3))

    asyncio.run(together())
    sizes = [len(pairs) for pairs, _ in recorded.calls]
    assert sum(sizes) == len(QUERIES) * 3 and max(sizes) == 4 and most_out == 2


def test_a_failed_call_fails_its_queries_and_the_next_call_goes_out(embedders):
    recorded = Recorded(embedders)
    failures = iter([ConnectionError("the encoder went away")])

    async def send(pairs, alone):
        if (problem := next(failures, None)) is not None:
            raise problem
        return await recorded.send(pairs, alone)

    async def run() -> tuple[list, np.ndarray]:
        coalescer = Coalescer(send, in_flight=1)
        first = await asyncio.gather(*(coalescer.vector(SERVED[0], q) for q in QUERIES[:1]), return_exceptions=True)
        return first, await coalescer.vector(SERVED[0], QUERIES[1])

    first, later = asyncio.run(run())
    assert isinstance(first[0], ConnectionError)
    assert np.allclose(later, encode_pairs(embedders, [[SERVED[0], QUERIES[1]]])[0], atol=1e-5)


def test_a_hung_call_times_out_and_frees_its_place(embedders):
    recorded = Recorded(embedders)
    hang = asyncio.Event()

    async def send(pairs, alone):
        if not recorded.calls:
            recorded.calls.append((pairs, alone))
            await hang.wait()  # never set: the Encoder stopped answering
        return await recorded.send(pairs, alone)

    async def run() -> tuple[BaseException | None, np.ndarray]:
        coalescer = Coalescer(send, timeout_s=0.2, in_flight=1)
        hung = await asyncio.gather(coalescer.vector(SERVED[0], QUERIES[0]), return_exceptions=True)
        return hung[0], await coalescer.vector(SERVED[0], QUERIES[1])

    hung, later = asyncio.run(run())
    assert isinstance(hung, TimeoutError)
    assert later.shape == (embedders[SERVED[0]].spec.dim,)


def test_a_query_whose_client_gave_up_is_not_sent(embedders):
    recorded = Recorded(embedders)

    async def run() -> None:
        coalescer = Coalescer(recorded.send, in_flight=1)
        first = asyncio.ensure_future(coalescer.vector(SERVED[0], QUERIES[0]))
        await asyncio.sleep(0)  # the first call is out; the next two wait for it
        gave_up = asyncio.ensure_future(coalescer.vector(SERVED[0], QUERIES[1]))
        kept = asyncio.ensure_future(coalescer.vector(SERVED[0], QUERIES[2]))
        await asyncio.sleep(0)
        gave_up.cancel()
        await asyncio.gather(first, kept)
        with pytest.raises(asyncio.CancelledError):
            await gave_up

    asyncio.run(run())
    assert [[text for _, text in pairs] for pairs, _ in recorded.calls] == [QUERIES[:1], QUERIES[2:3]]


def test_only_an_encoder_that_says_it_encodes_texts_alone_is_called_past_its_batcher():
    assert merges_calls({"models": SERVED, "batches": True})
    assert not merges_calls({"models": SERVED, "batches": False})
    assert merges_calls(list(SERVED))  # an older Encoder's ping: its models only
    assert merges_calls({"models": SERVED})
