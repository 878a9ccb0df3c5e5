"""The serving engine's objects are kept out of the collector's full passes, and a replaced engine is still freed."""
from __future__ import annotations

import gc
import time
import weakref

from skillmatch.api import heap
from skillmatch.api.heap import SlowCollections
from skillmatch.api.serving import EngineHolder
from skillmatch.models.folder import promote

from .conftest import add_version


def test_a_swapped_in_engine_is_frozen_and_the_one_it_replaced_is_freed(models_dir, trained, tmp_path):
    holder = EngineHolder.open(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", None)
    try:
        first = holder.current
        assert first is not None and gc.get_freeze_count() > 0
        assert "_index" in first.engine.model.__dict__  # warmed up before it was frozen
        gone = weakref.ref(first.engine)
        first.engine.itself = first.engine  # a reference cycle: only a collection frees it, never refcounts
        add_version(models_dir, trained[0], "v2")
        promote(models_dir, "v2")
        del first
        assert holder.refresh()
        assert gone() is None  # unfrozen and collected, not kept in the permanent generation forever
    finally:
        holder.close()
        gc.unfreeze()


def _long_lived_objects() -> list:
    """Enough objects that a full collection walking them takes tens of milliseconds."""
    return [[i] for i in range(1_500_000)]


def test_a_slow_full_collection_is_noticed_once():
    slow = SlowCollections(slow_s=0.005)
    kept = _long_lived_objects()
    slow.install()
    try:
        gc.collect()
        assert slow.take()
        assert not slow.take()
    finally:
        slow.remove()
    assert slow not in gc.callbacks
    del kept


def test_the_server_freezes_again_what_made_full_collections_slow(models_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(heap, "SLOW_COLLECTION_S", 0.01)  # walking the objects below takes 50-100 ms
    holder = EngineHolder.open(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", None)
    settled = []
    settle = holder._settle_heap
    holder._settle_heap = lambda: (settle(), settled.append(gc.get_freeze_count()))  # this holder's settling
    kept = _long_lived_objects()  # as a rebuilt history index would be
    holder.start(0.05)
    try:
        gc.collect()  # slow: `kept` is not frozen
        deadline = time.monotonic() + 20
        while not settled and time.monotonic() < deadline:
            time.sleep(0.05)
        assert settled and settled[0] >= len(kept)  # frozen now
        time.sleep(0.5)
        assert len(settled) == 1  # its own slow collection is no reason to settle again
    finally:
        holder.close()
        gc.unfreeze()
