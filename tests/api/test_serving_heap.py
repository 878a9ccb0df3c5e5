"""The serving engine's objects are kept out of the collector's full passes, and a replaced engine is still freed."""
from __future__ import annotations

import gc
import weakref

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
