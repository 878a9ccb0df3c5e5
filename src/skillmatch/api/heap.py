"""Keep a server's long-lived objects (models, live history and its index) out of the garbage collector's way.

A full collection walks every object the models and the history hold (58 ms with a 30-day model, 115 ms
with one trained on 1M interactions) inside whichever request triggers it: 1,500 assign rounds saw
three, up to 134 ms each. `settle_heap` collects once and freezes what is alive (a frozen object is never
visited again); with the engine warmed up first (`Engine.warm_up`) the same rounds saw seven full
collections of 1.4 ms in all. Objects built later (the history index is rebuilt as outcomes accumulate)
make full collections slow again; `SlowCollections` notices that, and the server settles the heap anew.
"""
from __future__ import annotations

import gc
import threading
import time
from typing import Any

SLOW_COLLECTION_S = 0.02
"""A full collection slower than this means long-lived objects are no longer frozen."""


def settle_heap() -> None:
    """Collect everything once, then freeze what is alive; unfreezing first lets objects no longer used be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class SlowCollections:
    """A `gc.callbacks` entry that remembers a full collection slower than `SLOW_COLLECTION_S`, until `take`n."""

    def __init__(self, slow_s: float | None = None) -> None:
        self.slow_s = slow_s if slow_s is not None else SLOW_COLLECTION_S
        self._started: float | None = None
        self._seen = threading.Event()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None and time.perf_counter() - self._started > self.slow_s:
            self._seen.set()

    def take(self) -> bool:
        """Whether a slow full collection happened since the last call."""
        seen = self._seen.is_set()
        self._seen.clear()
        return seen

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def remove(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)


__all__ = ["SLOW_COLLECTION_S", "SlowCollections", "settle_heap"]
