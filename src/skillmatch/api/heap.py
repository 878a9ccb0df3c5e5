"""Keep a server's long-lived objects (models, live history and its index) out of the garbage collector's way.

A full collection walks every object the models and the history hold (58 ms with a 30-day model, 115 ms
with one trained on 1M interactions, about 200 ms in a worker that has served for a while) inside
whichever request triggers it. `settle_heap` collects once and freezes what is alive: a frozen object is
never visited again.

Objects keep arriving after that: remembered tickets and pair scores, a rebuilt history index. Left
alone they made a full collection of 25 ms about half a minute into a claim stream, and settling anew
then (the earlier design) walked the whole heap again: a 200 ms stall. `FrozenHeap.keep_up`, called
every second or so between requests, instead freezes what survived since its last call
(`freeze_survivors`), at the cost of a young collection. A frozen object that later becomes part of an
unreachable cycle is freed only by a settle, so the heap is settled anew when the process's peak memory
has grown by half since the last settle (the bound on what such objects can hold).

A model swapped in is taken in by `FrozenHeap.take_in`: a full collection of the objects not frozen
yet (the new version and what its loading left), not of the frozen heap. The version it replaced is
freed by reference counting when its last request ends, as an engine holds no reference cycle
(tested); settling instead walked the whole heap, 0.1-0.2 s in which the worker answered nothing.
"""
from __future__ import annotations

import gc

try:
    import resource
except ImportError:  # Windows: no peak-memory reading, settled only when a model is swapped in
    resource = None  # type: ignore[assignment]

SETTLE_GROWTH = 1.5
"""Settle anew once the process's peak memory is this many times what it was at the last settle."""


def settle_heap() -> None:
    """Collect everything once, then freeze what is alive; unfreezing first lets objects no longer used be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def freeze_unfrozen() -> None:
    """Collect the objects not frozen yet, all generations of them, then freeze what is left: the frozen heap is
    not walked, and cycles that became garbage after surviving young collections are freed, not frozen."""
    gc.collect()
    gc.freeze()


def freeze_survivors() -> None:
    """Collect the young generations, then freeze what is left: this costs a young collection.

    Why not a full collection: it too would walk only the objects not frozen yet, but it makes CPython stop
    tracking every large cache dict that holds only numbers, strings and tuples (see `gc.is_tracked`); the
    next insert tracks that dict again as a new object, and each young collection then walks all its entries.
    Cycles that became garbage after reaching the old generation are frozen too; a serving worker makes
    none (measured), and the growth bound of `FrozenHeap` settles them if that changes.
    """
    gc.collect(1)
    gc.freeze()


def peak_memory() -> int:
    """The process's peak resident memory so far, in the platform's unit (0 where it cannot be read)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if resource is not None else 0


class FrozenHeap:
    """A server's frozen heap: settled when a model is swapped in, kept up between requests."""

    def __init__(self, growth: float | None = None) -> None:
        self.growth = growth if growth is not None else SETTLE_GROWTH
        self.settled_peak: int | None = None

    def settle(self) -> None:
        """Settle the whole heap (`settle_heap`): a walk of every object, for when a model was swapped in."""
        settle_heap()
        self.settled_peak = peak_memory()

    def take_in(self) -> None:
        """Freeze what arrived since the last call, collecting it fully first (`freeze_unfrozen`): for a model
        version just swapped in, whose loading made cycles of its own. Settles instead when never settled."""
        if self.settled_peak is None:
            self.settle()
        else:
            freeze_unfrozen()

    def keep_up(self) -> str:
        """Freeze what arrived since the last call, or settle anew once peak memory grew past the bound (or when
        never settled); says which, "froze" or "settled". Call it while no request is being served."""
        if self.settled_peak is None or peak_memory() > self.growth * self.settled_peak:
            self.settle()
            return "settled"
        freeze_survivors()
        return "froze"


__all__ = ["SETTLE_GROWTH", "FrozenHeap", "freeze_survivors", "freeze_unfrozen", "peak_memory", "settle_heap"]
