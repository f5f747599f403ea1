"""Keeping what a worker loads once out of the garbage collector's full passes (`settle`)."""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what loading left behind, then freeze every object alive now (`gc.freeze`).

    CPython's full collection walks every container object a process holds. The API worker holds
    ~290k after loading its catalogs and indexes, and a full pass over them took 91-104 ms, which came
    about once every 1,000 requests under load and stalled every request of the worker meanwhile
    (the Encoder: 90k objects, 32 ms). Frozen objects are never walked again; they are still freed
    when their last reference goes. Called again after a catalog is swapped live, it first thaws
    them, so an old catalog's reference cycles can be collected (one full pass, once a swap)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
