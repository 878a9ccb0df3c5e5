"""Alerts to a webhook, never in the way of routing: a bounded queue drained by a background thread.

`AlertNotifier.submit` only enqueues (it never waits); the delivery thread POSTs one alert at a time as
JSON and, while the receiver is down, retries the same alert with exponential backoff. Delivered alert
keys are remembered, so an alert goes out once and the backlog is delivered when the receiver is back.
`AlertWatcher` computes the current alerts every interval in its own thread and submits the new ones.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger("skillmatch.alerts")

PostFn = Callable[[str, bytes, float], int]


def post_json(url: str, body: bytes, timeout_s: float) -> int:
    """POST `body` as application/json; the HTTP status (urllib raises on connection errors and >= 400)."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "skillmatch-alerts"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - the operator's own URL
        return int(response.status)


class AlertNotifier:
    """Delivers alerts (dicts with a unique `key`) to `url` from a background thread, each key once."""

    def __init__(self, url: str, *, max_queue: int = 1000, timeout_s: float = 2.0, backoff_first_s: float = 0.5,
                 backoff_max_s: float = 30.0, remember: int = 100_000, post: PostFn = post_json) -> None:
        if max_queue < 1 or remember < 1:
            raise ValueError("max_queue and remember >= 1")
        if not 0 < backoff_first_s <= backoff_max_s or timeout_s <= 0:
            raise ValueError("0 < backoff_first_s <= backoff_max_s and timeout_s > 0")
        self.url = url
        self.timeout_s = timeout_s
        self.backoff_first_s = backoff_first_s
        self.backoff_max_s = backoff_max_s
        self._post = post
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_queue)
        self._remember = remember
        self._delivered: OrderedDict[str, None] = OrderedDict()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counts = {"submitted": 0, "dropped": 0, "attempts": 0, "failures": 0, "delivered": 0}

    def start(self) -> AlertNotifier:
        """Start the delivery thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="skillmatch-alert-webhook", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop delivering (what is still queued stays undelivered)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def known(self, key: str) -> bool:
        """Delivered already, or waiting to be."""
        with self._lock:
            return key in self._delivered or key in self._pending

    @property
    def room(self) -> int:
        """How many more alerts fit in the queue now."""
        return max(self._queue.maxsize - self._queue.qsize(), 0)

    def submit(self, alerts: Sequence[dict[str, Any]]) -> int:
        """Queue the alerts whose key is neither delivered nor queued; never blocks. Returns how many were queued."""
        queued = 0
        for alert in alerts:
            key = str(alert["key"])
            with self._lock:
                if key in self._delivered or key in self._pending:
                    continue
                try:
                    self._queue.put_nowait(alert)
                except queue.Full:
                    self._counts["dropped"] += 1
                    continue
                self._pending.add(key)
                self._counts["submitted"] += 1
            queued += 1
        return queued

    def stats(self) -> dict[str, int]:
        """Counters: submitted, dropped (queue full), attempts, failures, delivered, pending."""
        with self._lock:
            return {**self._counts, "pending": len(self._pending)}

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                alert = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self._deliver(alert)

    def _deliver(self, alert: dict[str, Any]) -> None:
        """POST one alert until it is accepted (2xx) or the notifier stops; back off exponentially in between."""
        key = str(alert["key"])
        body = json.dumps(alert, default=str).encode()
        delay = self.backoff_first_s
        while not self._stop.is_set():
            with self._lock:
                self._counts["attempts"] += 1
            try:
                status = self._post(self.url, body, self.timeout_s)
                ok = 200 <= status < 300
            except Exception as exc:  # noqa: BLE001 - any failure to deliver is retried
                ok, status = False, str(exc)  # type: ignore[assignment]
            if ok:
                with self._lock:
                    self._pending.discard(key)
                    self._delivered[key] = None
                    while len(self._delivered) > self._remember:
                        self._delivered.popitem(last=False)
                    self._counts["delivered"] += 1
                return
            with self._lock:
                self._counts["failures"] += 1
            log.warning("alert webhook %s refused or unreachable (%s); retrying in %.1f s", self.url, status, delay)
            self._stop.wait(delay)
            delay = min(2.0 * delay, self.backoff_max_s)


class AlertWatcher:
    """Computes alerts every `interval_s` (own thread) and submits the new ones; `claim` shares them out between
    processes (only the keys it returns are this process's to deliver)."""

    def __init__(self, compute: Callable[[], list[dict[str, Any]]], notifier: AlertNotifier, interval_s: float,
                 claim: Callable[[list[str]], set[str]] | None = None) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s > 0, got {interval_s}")
        self.compute = compute
        self.notifier = notifier
        self.interval_s = interval_s
        self.claim = claim
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> AlertWatcher:
        """Start the notifier and the watching thread."""
        self.notifier.start()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="skillmatch-alert-watch", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching and delivering."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self.notifier.stop()

    def check(self) -> int:
        """Compute the alerts once and submit the new ones; how many were queued."""
        fresh = [a for a in self.compute() if not self.notifier.known(str(a["key"]))][: self.notifier.room]
        if fresh and self.claim is not None:
            mine = self.claim([str(a["key"]) for a in fresh])
            fresh = [a for a in fresh if str(a["key"]) in mine]
        self.rounds += 1
        return self.notifier.submit(fresh)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - a failed look must not end the watching
                log.exception("computing alerts failed; trying again in %.1f s", self.interval_s)
