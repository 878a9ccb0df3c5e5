"""Supervisor endpoints: SLA alerts, hand-back plans, time outside the queue; and the alert webhook's lifespan.

With `alert_webhook` set, a background watcher computes the alerts every `alert_interval_s` and a
notifier thread posts the new ones (bounded queue, exponential backoff): routing never waits on it.
"""
from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request

from skillmatch.api.auth import require_token
from skillmatch.api.errors import ApiError
from skillmatch.api.routes import _ERRORS, _answered, _holder, _no_model
from skillmatch.api.schemas import (
    AlertsResponse,
    ErrorResponse,
    HandBackResponse,
    UnavailableListResponse,
    UnavailableRequest,
    UnavailableResponse,
)
from skillmatch.engine import Engine
from skillmatch.records import utc
from skillmatch.supervision import AlertNotifier, AlertWatcher, SupervisionRules, Supervisor

ALERT_BACKOFF_INTERVALS = 3.0
"""A webhook that is down is retried at most every this many alert intervals (at least 1 s, at most 30 s)."""
AgentId = Path(min_length=1, max_length=200)
_UNKNOWN = {404: {"model": ErrorResponse, "description": "Unknown agent."}}


@asynccontextmanager
async def alert_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Watch for alerts and post them to the webhook while the server runs (nothing without `alert_webhook`)."""
    settings = app.state.settings
    watcher = None
    if settings.alert_webhook:
        backoff_max = min(max(ALERT_BACKOFF_INTERVALS * settings.alert_interval_s, 1.0), 30.0)
        notifier = AlertNotifier(settings.alert_webhook, backoff_first_s=min(0.5, backoff_max),
                                 backoff_max_s=backoff_max)
        owner = f"{socket.gethostname()}:{os.getpid()}"
        watcher = AlertWatcher(lambda: _current_alerts(app), notifier, settings.alert_interval_s,
                               claim=lambda keys: app.state.holder.ledger.claim_alerts(keys, owner))
        app.state.alert_watcher = watcher
        watcher.start()
    try:
        yield
    finally:
        if watcher is not None:
            watcher.stop()


def _current_alerts(app: FastAPI) -> list[dict[str, Any]]:
    holder = app.state.holder
    with holder.use() as engine:
        if engine is None:
            return []
        return Supervisor(engine).alerts(datetime.now(timezone.utc))


supervision = APIRouter(prefix="/v1", dependencies=[Depends(require_token)], responses=_ERRORS,
                        lifespan=alert_lifespan)


def _now(value: datetime | None) -> datetime:
    return utc(value) if value is not None else datetime.now(timezone.utc)


def _agents(value: str | None) -> list[str] | None:
    return [a.strip() for a in value.split(",") if a.strip()] if value else None


def _engine_or_503(request: Request, engine: Engine | None) -> Engine:
    if engine is None:
        raise _no_model(_holder(request))
    _answered(request, engine, None)
    return engine


@supervision.get("/alerts", response_model=AlertsResponse, summary="Tickets at risk of missing their target, "
                 "late tickets and overloaded agents", description="Open work (routed, no outcome yet) is replayed "
                 "per agent queue; each alert names the agent, the reason and a suggested action.")
def alerts(request: Request, now: datetime | None = Query(None, description="Default: the server's clock."),
           threshold: float | None = Query(None, gt=0, lt=1, description="Probability of missing the target "
                                           "from which a ticket is at risk (default 0.5)."),
           available: str | None = Query(None, description="Comma-separated agents who may take handed-back work "
                                         "(default: agents active in the last hour).")) -> dict[str, Any]:
    rules = SupervisionRules(risk_threshold=threshold) if threshold is not None else SupervisionRules()
    holder = _holder(request)
    with holder.use() as engine:
        engine = _engine_or_503(request, engine)
        moment = _now(now)
        found = Supervisor(engine, rules).alerts(moment, _agents(available))
    return {"model_version": engine.model_version, "now": moment.isoformat(), "threshold": rules.risk_threshold,
            "alerts": found}


@supervision.get("/agents/{agent_id}/hand-back", response_model=HandBackResponse, responses=_UNKNOWN,
                 summary="Which of an agent's waiting tickets to hand back, to whom")
def hand_back(request: Request, agent_id: str = AgentId, now: datetime | None = Query(None),
              available: str | None = Query(None, description="Comma-separated agents who may take the work.")
              ) -> dict[str, Any]:
    holder = _holder(request)
    with holder.use() as engine:
        engine = _engine_or_503(request, engine)
        supervisor = Supervisor(engine)
        if not supervisor.known(agent_id):
            raise ApiError(404, f"unknown agent {agent_id!r}: not on the roster, no outcome, no routed work")
        return supervisor.hand_back(agent_id, _now(now), _agents(available))


@supervision.post("/agents/{agent_id}/unavailable", response_model=UnavailableResponse, status_code=201,
                  responses=_UNKNOWN, summary="Mark an agent out of the queue for a period",
                  description="Training, campaigns, mentoring: the agent's fair share and growth quota of the window "
                              "are pro-rated by the time left in the queue, and mentors are not suggested meanwhile.")
def mark_unavailable(body: UnavailableRequest, request: Request, agent_id: str = AgentId) -> dict[str, Any]:
    holder = _holder(request)
    with holder.use() as engine:
        engine = _engine_or_503(request, engine)
        try:
            return Supervisor(engine).mark_unavailable(agent_id, body.start, body.end, body.reason)
        except KeyError:
            raise ApiError(404, f"unknown agent {agent_id!r}: not on the roster, no outcome, no routed work") from None


@supervision.get("/agents/{agent_id}/unavailable", response_model=UnavailableListResponse,
                 summary="An agent's periods out of the queue")
def list_unavailable(request: Request, agent_id: str = AgentId,
                     start: datetime | None = Query(None, description="Default: 7 days before now."),
                     end: datetime | None = Query(None, description="Default: 7 days after now.")) -> dict[str, Any]:
    holder = _holder(request)
    now = datetime.now(timezone.utc)
    with holder.use() as engine:
        engine = _engine_or_503(request, engine)
        periods = Supervisor(engine).unavailable(agent_id, start or now - timedelta(days=7),
                                                 end or now + timedelta(days=7))
    return {"model_version": engine.model_version, "agent_id": agent_id, "periods": periods}
