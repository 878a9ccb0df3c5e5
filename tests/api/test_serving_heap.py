"""The serving engine's objects are kept out of the collector's full passes, and a replaced engine is still freed."""
from __future__ import annotations

import gc
import time
import types
import weakref
from collections.abc import Callable, Iterator

import pytest

from skillmatch.api import heap
from skillmatch.api.heap import FrozenHeap
from skillmatch.api.serving import EngineHolder
from skillmatch.models.folder import promote

from .conftest import add_version


@pytest.fixture
def thawed() -> Iterator[None]:
    """Whatever a test freezes is unfrozen after it (the other tests of this process collect normally)."""
    yield
    gc.unfreeze()


def _frozen(obj: object) -> bool:
    """Tracked by the collector but in none of its generations: in the permanent one."""
    return gc.is_tracked(obj) and not any(o is obj for o in gc.get_objects())


def _eventually(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def _model_parts(root: object) -> list[weakref.ref]:
    """Weak references to the objects of `root`'s graph that a model holds (its own and LightGBM's, scikit-learn's
    and numba's): they all have to go with it. Modules, classes and functions are shared, not walked."""
    seen, todo, parts = set(), [root], []
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)):
            continue
        seen.add(id(obj))
        if type(obj).__module__.split(".")[0] in {"skillmatch", "lightgbm", "sklearn", "numba"}:
            try:
                parts.append(weakref.ref(obj))
            except TypeError:
                pass
        todo.extend(gc.get_referents(obj))
    return parts


class _Cycle:
    def __init__(self) -> None:
        self.itself = self


def test_a_swapped_in_engine_is_frozen_and_the_one_it_replaced_is_freed_without_walking_the_frozen_heap(
        models_dir, trained, tmp_path, thawed):
    holder = EngineHolder.open(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", None)
    try:
        first = holder.current
        assert first is not None and gc.get_freeze_count() > 0
        assert "_index" in first.engine.model.__dict__  # warmed up before it was frozen
        assert "_pair_caches" in first.engine.model.agent_fit.__dict__  # with the pair scores it keeps
        parts = _model_parts(first.engine.model)
        assert len(parts) > 10
        gone = weakref.ref(first.engine)
        leftover = _Cycle()  # garbage of an earlier request, frozen: only a walk of the frozen heap frees it
        gc.freeze()
        left = weakref.ref(leftover)
        del leftover
        add_version(models_dir, trained[0], "v2")
        promote(models_dir, "v2")
        del first
        assert holder.refresh()
        # frozen objects are never collected: it went by reference counting, as soon as nothing used it
        assert gone() is None
        assert [type(part()).__name__ for part in parts if part() is not None] == []
        assert left() is not None  # the frozen heap was not thawed and walked
        assert _frozen(holder.current.engine.model.__dict__)
    finally:
        holder.close()


def test_a_replaced_engine_that_is_still_alive_is_freed_at_the_next_watch(models_dir, trained, tmp_path, thawed):
    holder = EngineHolder.open(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", None)
    try:
        first = holder.current
        gone = weakref.ref(first.engine)
        first.engine.itself = first.engine  # a reference cycle: only a collection frees it, never refcounts
        add_version(models_dir, trained[0], "v2")
        promote(models_dir, "v2")
        del first
        assert holder.refresh()
        assert gone() is not None  # frozen, so no collection visits it...
        holder.start(0.05)
        assert _eventually(lambda: gone() is None)  # ...until the watch settles the heap
    finally:
        holder.close()


def test_keeping_up_freezes_what_arrived_without_a_full_collection(thawed):
    frozen_heap = FrozenHeap()
    frozen_heap.settle()
    arrived = [[i] for i in range(10_000)]  # as remembered tickets would
    generations: list[int] = []
    record = lambda phase, info: generations.append(info["generation"]) if phase == "start" else None  # noqa: E731
    gc.callbacks.append(record)
    try:
        assert frozen_heap.keep_up() == "froze"
    finally:
        gc.callbacks.remove(record)
    assert _frozen(arrived) and _frozen(arrived[-1])
    assert 2 not in generations  # a full collection would walk every object not frozen yet


def test_a_large_cache_of_plain_values_stays_frozen_when_it_grows(thawed):
    """A full collection would stop tracking such a dict, and its next insert would make it young again, to be
    walked entry by entry by the next young collections."""
    frozen_heap = FrozenHeap()
    frozen_heap.settle()
    cache = {("key", i): (i, float(i)) for i in range(50_000)}
    frozen_heap.keep_up()
    assert _frozen(cache)
    cache[("key", -1)] = (-1, float(len(cache)))
    assert not any(o is cache for o in gc.get_objects(generation=0))


def test_the_heap_is_settled_anew_once_peak_memory_grew_past_the_bound(monkeypatch, thawed):
    peak = [1_000]
    monkeypatch.setattr(heap, "peak_memory", lambda: peak[0])
    frozen_heap = FrozenHeap(growth=1.5)
    assert frozen_heap.keep_up() == "settled"  # never settled before
    assert frozen_heap.settled_peak == 1_000
    garbage = _Cycle()
    gone = weakref.ref(garbage)
    peak[0] = 1_400
    assert frozen_heap.keep_up() == "froze"
    del garbage  # frozen, then unreachable: no collection visits it while it stays frozen
    gc.collect()
    assert gone() is not None
    peak[0] = 1_600
    assert frozen_heap.keep_up() == "settled"
    assert frozen_heap.settled_peak == 1_600
    assert gone() is None


def test_the_server_freezes_new_objects_between_requests_only(models_dir, tmp_path, thawed):
    holder = EngineHolder.open(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", None)
    holder.start(0.05)
    try:
        with holder.use():  # a request is being served: what it builds is not frozen meanwhile
            built = [[i] for i in range(1_000)]
            time.sleep(0.5)
            assert not _frozen(built)
        assert _eventually(lambda: _frozen(built))
    finally:
        holder.close()
