"""Prometheus metrics of a server: requests and latency by route, assignments, unassigned reasons, model version.

With several uvicorn workers, set PROMETHEUS_MULTIPROC_DIR (`skillmatch serve --workers N` does) and
`/metrics` aggregates every worker's samples.
"""
from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    """The metric families of one app (its own registry, so several apps in one process do not collide)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("skillmatch_http_requests", "HTTP requests by route, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("skillmatch_http_request_duration_seconds", "Request latency by route.",
                                 ["route", "method"], buckets=LATENCY_BUCKETS_S, registry=self.registry)
        self.assignments = Counter("skillmatch_assignments", "Tickets assigned, by kind.", ["kind"],
                                   registry=self.registry)
        self.unassigned = Counter("skillmatch_unassigned", "Tickets left unassigned, by reason.", ["reason"],
                                  registry=self.registry)
        self.outcomes = Counter("skillmatch_outcomes", "Outcome rows reported, by result.", ["result"],
                                registry=self.registry)
        self.model = Gauge("skillmatch_model_info", "The model version serving (value 1).", ["version"],
                           registry=self.registry, multiprocess_mode="liveall")
        self.connections = Gauge("skillmatch_worker_connections",
                                 "Connections that sent a request in the last 2 s, per worker process (servers "
                                 "with several workers).", registry=self.registry, multiprocess_mode="liveall")
        self._version: str | None = None

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def observe_assignments(self, assignments: Iterable[dict], unassigned: Iterable[dict]) -> None:
        for a in assignments:
            self.assignments.labels("stretch" if a.get("stretch") else "match").inc()
        for u in unassigned:
            self.unassigned.labels(_reason_kind(u.get("reason", ""))).inc()

    def set_model(self, version: str | None) -> None:
        if version == self._version:
            return
        if self._version is not None:
            self.model.remove(self._version)
        if version is not None:
            self.model.labels(version).set(1)
        self._version = version

    def render(self) -> bytes:
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def _reason_kind(reason: str) -> str:
    """A bounded label for a reason (the language and topic are dropped): keeps cardinality low."""
    if reason.startswith("no free agent speaks"):
        return "no free agent speaks"
    if reason.startswith("no free agent who speaks"):
        return "no free agent certified"
    return reason[:60]
