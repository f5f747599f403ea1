"""`anisim.heap.settle`: what is loaded once leaves the collector's passes, and can still go."""

import gc
import weakref

from anisim.heap import settle


class _Node:
    """An object in a reference cycle: only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.me = self


def test_settled_objects_leave_the_collectors_passes_and_can_still_be_collected():
    try:
        loaded = _Node()
        settle()
        assert gc.get_freeze_count() > 0
        assert not any(obj is loaded for obj in gc.get_objects())  # a frozen object is walked by no pass
        gone = weakref.ref(loaded)
        del loaded
        gc.collect()
        assert gone() is not None  # frozen: a full pass does not free its cycle
        settle()  # what a live swap does afterwards
        assert gone() is None
    finally:
        gc.unfreeze()
