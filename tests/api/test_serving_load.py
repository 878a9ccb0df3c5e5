"""A promoted version is loaded with the CPU the requests leave: by a thread of the lowest priority."""
from __future__ import annotations

import os
import sys
import threading

import pytest

from skillmatch.api import serving
from skillmatch.api.serving import LOAD_NICENESS, EngineHolder, in_background
from skillmatch.models.folder import promote

from .conftest import add_version

LINUX = sys.platform.startswith("linux")


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if LINUX else 0


def test_background_work_runs_in_a_thread_of_the_lowest_priority_and_gives_back_its_result():
    caller = (threading.get_ident(), _niceness())
    where = in_background(lambda: (threading.get_ident(), _niceness()))
    assert where[0] != caller[0]
    assert where[1] == (LOAD_NICENESS if LINUX else caller[1])
    assert _niceness() == caller[1]  # the caller keeps its priority


def test_background_work_raises_what_the_work_raised():
    def fails() -> None:
        raise ValueError("a feature is missing")

    with pytest.raises(ValueError, match="a feature is missing"):
        in_background(fails)


def test_the_background_thread_does_not_hold_up_the_interpreters_exit():
    assert in_background(lambda: threading.current_thread().daemon)


def test_the_first_version_loads_in_the_caller_and_a_promoted_one_in_the_background(models_dir, trained, tmp_path,
                                                                                      monkeypatch):
    loads: list[tuple[int, int]] = []
    read = serving.read_model_folder

    def noting(path):  # noqa: ANN001, ANN202
        loads.append((threading.get_ident(), _niceness()))
        return read(path)

    monkeypatch.setattr(serving, "read_model_folder", noting)
    holder = EngineHolder.open(models_dir, f"sqlite:///{tmp_path / 'ledger.db'}", None)
    try:
        add_version(models_dir, trained[0], "v2")
        promote(models_dir, "v2")
        assert holder.refresh()
    finally:
        holder.close()
    (first_thread, first_niceness), (second_thread, second_niceness) = loads
    assert first_thread == threading.get_ident() and first_niceness == _niceness()  # nothing to serve yet: at once
    assert second_thread != threading.get_ident()
    assert second_niceness == (LOAD_NICENESS if LINUX else _niceness())
