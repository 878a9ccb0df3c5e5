"""The serving engine's objects are kept out of the collector's full passes, and a replaced engine is still freed."""
from __future__ import annotations

import gc
import time
import weakref

from skillmatch.api import heap, serving
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


def _slow_full_collection() -> list:
    """Enough new long-lived objects that a full collection takes tens of milliseconds."""
    kept = [[i] for i in range(1_500_000)]
    gc.collect()
    return kept


def test_a_slow_full_collection_is_noticed_once():
    slow = SlowCollections(slow_s=0.005)
    slow.install()
    try:
        kept = _slow_full_collection()
        assert slow.take()
        assert not slow.take()
    finally:
        slow.remove()
    assert slow not in gc.callbacks
    del kept


def test_the_server_freezes_again_what_made_full_collections_slow(models_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(heap, "SLOW_COLLECTION_S", 0.01)  # the collection below takes 50-100 ms
    settled = []
    monkeypatch.setattr(serving, "settle_heap", lambda: (settled.append(1), heap.settle_heap()))
    holder = EngineHolder.open(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", None)
    holder.start(0.05)
    try:
        assert len(settled) == 1  # when the model was swapped in
        frozen = gc.get_freeze_count()
        kept = _slow_full_collection()  # as a rebuilt history index would
        deadline = time.monotonic() + 10
        while len(settled) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # collections while `kept` was built may have asked for one more
        after = len(settled)
        assert after >= 2 and gc.get_freeze_count() >= frozen + len(kept) // 2  # the new objects are frozen
        time.sleep(0.5)
        assert len(settled) == after  # its own slow collection is no reason to settle again
    finally:
        holder.close()
        gc.unfreeze()
