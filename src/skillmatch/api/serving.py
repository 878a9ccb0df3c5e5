"""The engine a server answers with, and hot reload: a promoted model version replaces it between requests.

A request takes the current engine once and keeps it to the end, so a swap never fails or mixes versions
inside a request; the new engine is loaded completely (in a background thread) before it is swapped in.
All engines share one ledger connection pool.

Loading a version takes about a second of CPU per worker. Run like the requests, it took that second from
them: on 2 cores serving 500 claims a second, every claim during a promote waited up to a second
(`benchmarks/promote_latency.py`). While a version serves, the next one is therefore loaded by a thread of
the lowest CPU priority (Linux gives each thread its own niceness), which gets the CPU the requests leave.
The version it replaces is freed when its last request ends (see `skillmatch.api.heap`).
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from skillmatch.api.heap import FrozenHeap
from skillmatch.config import PolicyConfig, load_policy_config
from skillmatch.engine import Engine
from skillmatch.errors import SkillmatchError
from skillmatch.ledger import Ledger
from skillmatch.models.folder import read_model_folder, resolve

log = logging.getLogger("skillmatch.api")
_T = TypeVar("_T")
LOAD_NICENESS = 19
"""The niceness of the thread that loads a version while another one serves (19: the lowest priority)."""


@dataclass(frozen=True)
class Loaded:
    """An engine with the folder it was loaded from; `lock` serialises calls (the engine's live history mutates)."""

    engine: Engine
    path: Path
    loaded_at: datetime
    lock: threading.Lock


class EngineHolder:
    """Holds the serving engine; `refresh` loads the version `models_dir` points at when it changed."""

    def __init__(self, models_dir: Path, ledger: Ledger, policy: PolicyConfig, engine: Engine | None = None,
                 engine_path: Path | None = None) -> None:
        self.models_dir = Path(models_dir)
        self.ledger = ledger
        self.policy = policy
        self.last_error: str | None = None
        self._current: Loaded | None = None
        self._swap = threading.Lock()
        self._replaced: weakref.ref[Engine] | None = None  # the engine the last swap replaced, until the next watch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._heap = FrozenHeap()
        if engine is not None:
            self._current = Loaded(engine, engine_path or self._target() or self.models_dir,
                                   datetime.now(timezone.utc), threading.Lock())

    @classmethod
    def open(cls, models_dir: Path, database_url: str | None, policy_path: Path | None) -> EngineHolder:
        """Connect the ledger, read the policy and load the promoted model if there is one yet."""
        holder = cls(models_dir, Ledger.connect(database_url), load_policy_config(policy_path))
        holder.refresh()
        return holder

    @property
    def current(self) -> Loaded | None:
        return self._current

    @property
    def version(self) -> str | None:
        loaded = self._current
        return loaded.engine.model_version if loaded is not None else None

    @contextmanager
    def use(self) -> Iterator[Engine | None]:
        """The engine for one request (None while no model is loaded), held for the whole request."""
        loaded = self._current
        if loaded is None:
            yield None
            return
        with loaded.lock:
            yield loaded.engine

    @contextmanager
    def try_use(self) -> Iterator[tuple[Engine | None, bool]]:
        """`use` without waiting: (engine, True) when it was free (or no model is loaded), (None, False) when
        another request holds it."""
        loaded = self._current
        if loaded is None:
            yield None, True
            return
        if not loaded.lock.acquire(blocking=False):
            yield None, False
            return
        try:
            yield loaded.engine, True
        finally:
            loaded.lock.release()

    def _target(self) -> Path | None:
        try:
            path = resolve(self.models_dir)
        except SkillmatchError:
            return None
        return path if path.is_dir() else None

    def refresh(self) -> bool:
        """Load the promoted version if it is not the one serving; True when it swapped. Never raises."""
        target = self._target()
        if target is None or self._serves(target):
            return False
        with self._swap:
            if self._serves(target):
                return False
            # what the serving engine answered last (nothing here may keep that engine: `settle` frees it)
            replay = self._current.engine.last_served() if self._current is not None else None

            def load() -> Engine:
                model, metadata = read_model_folder(target)
                engine = Engine(model, metadata, self.ledger, self.policy)
                engine.warm_up(replay or ())
                return engine

            try:
                engine = load() if replay is None else in_background(load)
            except Exception as exc:  # noqa: BLE001 - whatever a promoted folder does, the serving model stays
                if self.last_error != str(exc):
                    log.error("cannot load the model at %s, still serving %s: %s", target, self.version, exc,
                              exc_info=not isinstance(exc, (SkillmatchError, OSError)))
                self.last_error = str(exc)
                return False
            previous = self.version
            replaced = weakref.ref(self._current.engine) if self._current is not None else None
            self._current = Loaded(engine, target, datetime.now(timezone.utc), threading.Lock())
            self._heap.take_in()
            self._replaced = replaced
            self.last_error = None
            log.info("serving model %s (was %s) from %s", engine.model_version, previous, target)
            return True

    def _serves(self, target: Path) -> bool:
        loaded = self._current
        return loaded is not None and loaded.path == target

    def start(self, interval_s: float) -> None:
        """Watch `models_dir` for a newly promoted version every `interval_s` seconds (and keep the frozen heap
        up in between: see `skillmatch.api.heap`)."""
        if self._thread is not None:
            return
        self._stop.clear()

        def watch() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self._watch_once()
                except Exception:  # noqa: BLE001 - a watcher that died would never load a promoted model again
                    log.exception("model watcher: unexpected error, still serving %s; watching on", self.version)

        self._thread = threading.Thread(target=watch, name="skillmatch-model-watch", daemon=True)
        self._thread.start()

    def _watch_once(self) -> None:
        """One tick of the watcher: swap in a newly promoted version, else keep the frozen heap up (settled once
        more if the engine the last swap replaced is still alive: a request kept it, or a reference cycle)."""
        if not self.refresh():
            with self.use():  # between requests: no request's objects get frozen
                replaced, self._replaced = self._replaced, None
                if replaced is not None and replaced() is not None:
                    self._heap.settle()
                    log.info("settled the heap: the replaced model version was still alive a watch after the swap")
                elif self._heap.keep_up() == "settled":
                    log.info("settled the heap again (first watch, or peak memory grew by half)")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self.ledger.close()


def in_background(work: Callable[[], _T]) -> _T:
    """`work()` run by a thread of the lowest CPU priority (`LOAD_NICENESS`), waited for: what it returns or raises.

    Where threads have no niceness of their own (outside Linux) it runs at the process's priority. The thread
    is a daemon (not a `ThreadPoolExecutor`'s, which the interpreter waits for at exit): a server stopping
    while a version loads on busy cores does not wait for the load.
    """
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        _lowest_priority()
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name="skillmatch-model-load", daemon=True)
    thread.start()
    thread.join()
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


def _lowest_priority() -> None:
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOAD_NICENESS)
        except OSError:  # a sandbox that refuses it: the load runs at the process's priority
            pass
