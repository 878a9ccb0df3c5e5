"""The endpoints of CONTRACT section 3; each takes the serving engine once and answers with its model_version.

Handlers run in FastAPI's thread pool because the engine's work is CPU and database bound, except small
routing requests that record nothing (see `_on_engine`). The two routing calls read their JSON body
themselves and validate it with pydantic's JSON parser, each distinct ticket once (`skillmatch.api.bodies`;
FastAPI would decode the body to Python objects first, then validate those all again on every request);
their OpenAPI request body is declared by `json_body` and the schemas are added by the app (`BODY_MODELS`).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from skillmatch.api.auth import require_token
from skillmatch.api.bodies import parse_routing_body
from skillmatch.api.errors import ApiError
from skillmatch.api.schemas import (
    AgentProfileResponse, AssignRequest, AssignResponse, ErrorResponse, HealthResponse, ModelResponse, NextRequest,
    NextResponse, OutcomeIn, OutcomesResponse,
)
from skillmatch.api.serving import EngineHolder
from skillmatch.api.settings import ApiSettings
from skillmatch.engine import Engine
from skillmatch.errors import SkillmatchError
from skillmatch.supervision import Supervisor, agent_view

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text} for code, text in (
        (401, "Missing or invalid bearer token."), (409, "The request_id was used for a different request."),
        (413, "Over the size limits (tickets, agents, outcomes per request, or body bytes)."),
        (422, "Invalid fields, each with its path."), (503, "No model loaded yet, or the ledger is unavailable."))}

api = APIRouter(prefix="/v1", dependencies=[Depends(require_token)], responses=_ERRORS)
probes = APIRouter()

_Body = TypeVar("_Body", bound=BaseModel)
INLINE_MAX_PAIRS = 5_000
"""A routing request of at most this many (ticket, agent) pairs (a claim on a queue of 200 among 11 agents
is 2,200; a few milliseconds of work) that records nothing is answered on the event loop when the engine
is free."""
INLINE_MAX_BODY_BYTES = 256_000
"""Bodies up to this size are validated on the event loop (about a millisecond per 50 kB)."""
TICKETS_FIELD: dict[type[BaseModel], str] = {AssignRequest: "tickets", NextRequest: "queue"}
"""Request bodies that routes parse themselves, each with its list of tickets (validated once per ticket)."""
BODY_MODELS: tuple[type[BaseModel], ...] = tuple(TICKETS_FIELD)
"""The app adds their schemas to OpenAPI's components."""


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI of a required JSON request body of type `model` (one of `BODY_MODELS`)."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def _parse_body(model: type[_Body], request: Request, raw: bytes) -> _Body:
    """`model` from the raw body, decoded and validated in one pass; refusals as FastAPI's (422 with each path)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not (content_type == "application/json" or
            (content_type.startswith("application/") and content_type.endswith("+json"))):
        raise RequestValidationError([{"loc": ("body",), "type": "model_attributes_type",
                                       "msg": "send the body as JSON (Content-Type: application/json)"}])
    try:
        return parse_routing_body(model, raw, TICKETS_FIELD[model])
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])}
                                      for e in exc.errors(include_url=False, include_input=False)]) from None


def _holder(request: Request) -> EngineHolder:
    return request.app.state.holder


def _settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def _no_model(holder: EngineHolder) -> ApiError:
    why = f" ({holder.last_error})" if holder.last_error else ""
    return ApiError(503, f"no model loaded yet from {holder.models_dir}{why}; train one and promote it",
                    headers={"Retry-After": "5"})


def _limit(what: str, n: int, limit: int) -> None:
    if n > limit:
        raise ApiError(413, f"{n} {what} in one request, over the limit of {limit}",
                       [{"path": what, "message": "too many", "count": n, "limit": limit}])


def _answered(request: Request, engine: Engine, body_request_id: str | None) -> None:
    request.state.model_version = engine.model_version
    request.state.body_request_id = body_request_id


@api.post("/assign", response_model=AssignResponse, summary="One routing round", openapi_extra=json_body(AssignRequest),
          description="Which agent takes which ticket; tickets that cannot be placed now come back with the reason.")
async def assign(request: Request) -> dict[str, Any]:
    body = await _read(request, AssignRequest)
    settings = _settings(request)
    _limit("tickets", len(body.tickets), settings.max_tickets)
    _limit("agents", len(body.agents), settings.max_agents)

    def work(engine: Engine) -> dict[str, Any]:
        _answered(request, engine, body.request_id)
        result = engine.assign(body.tickets, body.agents, now=body.now, weights=body.weights, commit=body.commit,
                               request_id=body.request_id)
        request.app.state.metrics.observe_assignments(result["assignments"], result["unassigned"])
        return result

    return await _on_engine(request, len(body.tickets) * len(body.agents), work, writes=body.commit)


@api.post("/next", response_model=NextResponse, summary="Claim next / push next for one agent",
          openapi_extra=json_body(NextRequest),
          description="The one ticket this agent should take now, never one that a better-suited free agent in "
                      "`others` should take instead.")
async def next_ticket(request: Request) -> dict[str, Any]:
    body = await _read(request, NextRequest)
    settings = _settings(request)
    _limit("queue", len(body.queue), settings.max_tickets)
    _limit("others", len(body.others) + 1, settings.max_agents)

    def work(engine: Engine) -> dict[str, Any]:
        _answered(request, engine, body.request_id)
        result = engine.next(body.agent, body.queue, others=body.others, now=body.now, commit=body.commit,
                             request_id=body.request_id, weights=body.weights)
        request.app.state.metrics.observe_assignments([result["assignment"]] if result["assignment"] else [], [])
        return result

    return await _on_engine(request, len(body.queue) * (len(body.others) + 1), work, writes=body.commit)


async def _read(request: Request, model: type[_Body]) -> _Body:
    """The request's body as `model`: parsed on the event loop when small, in the thread pool otherwise."""
    raw = await request.body()
    if len(raw) <= INLINE_MAX_BODY_BYTES:
        return _parse_body(model, request, raw)
    return await run_in_threadpool(_parse_body, model, request, raw)


async def _on_engine(request: Request, pairs: int, work: Callable[[Engine], dict[str, Any]],
                     writes: bool) -> dict[str, Any]:
    """`work(engine)` for a request of `pairs` (ticket, agent) pairs that `writes` to the ledger or not.

    A small request that records nothing, when its engine is free, runs right here on the event loop: its
    few milliseconds of CPU cost less than handing it to a worker thread and back (requests take the
    engine one at a time anyway). Larger ones, ones that would wait for the engine, and ones that commit
    (their disk and lock waits should not hold up the loop) go to the thread pool, so that probes and the
    reading of other requests never wait behind them.
    """
    holder = _holder(request)
    if pairs <= INLINE_MAX_PAIRS and not writes:
        with holder.try_use() as (engine, taken):
            if taken:
                if engine is None:
                    raise _no_model(holder)
                return work(engine)
    return await run_in_threadpool(_with_engine, holder, work)


def _with_engine(holder: EngineHolder, work: Callable[[Engine], dict[str, Any]]) -> dict[str, Any]:
    with holder.use() as engine:
        if engine is None:
            raise _no_model(holder)
        return work(engine)


@api.post("/outcomes", response_model=OutcomesResponse, summary="Report what happened",
          description="A JSON array of outcome rows (the interactions columns). Stored durably; reporting a "
                      "ticket twice is idempotent.")
def outcomes(rows: list[OutcomeIn], request: Request) -> dict[str, Any]:
    _limit("outcomes", len(rows), _settings(request).max_tickets)
    holder = _holder(request)
    with holder.use() as engine:
        if engine is None:
            raise _no_model(holder)
        _answered(request, engine, None)
        result = engine.record_outcomes([r.model_dump(exclude_none=True) for r in rows])
    metrics = request.app.state.metrics
    metrics.outcomes.labels("inserted").inc(result["inserted"])
    metrics.outcomes.labels("duplicate").inc(result["duplicates"])
    return result


@api.get("/agents/{agent_id}", response_model=AgentProfileResponse, summary="An agent's profile",
         responses={404: {"model": ErrorResponse, "description": "Unknown agent."}})
def agent_profile(request: Request, agent_id: str = Path(min_length=1, max_length=200)) -> dict[str, Any]:
    holder = _holder(request)
    with holder.use() as engine:
        if engine is None:
            raise _no_model(holder)
        _answered(request, engine, None)
        try:
            profile = agent_view(Supervisor(engine), agent_id)
        except KeyError:
            raise ApiError(404, f"unknown agent {agent_id!r}: not on the roster and no outcome reported") from None
    audit = request.app.state.audit
    profile["audit"] = audit.get(agent_id) if audit is not None else None
    return profile


@api.get("/model", response_model=ModelResponse, summary="The model version serving")
def model(request: Request) -> dict[str, Any]:
    holder = _holder(request)
    loaded = holder.current
    if loaded is None:
        raise _no_model(holder)
    request.state.model_version = loaded.engine.model_version
    return {"model_version": loaded.engine.model_version, "path": str(loaded.path),
            "loaded_at": loaded.loaded_at.isoformat(), "metadata": loaded.engine.metadata}


@probes.get("/healthz", response_model=HealthResponse, summary="Liveness: the process answers")
def healthz(request: Request) -> dict[str, Any]:
    return {"status": "ok", "model_version": _holder(request).version}


@probes.get("/readyz", response_model=HealthResponse, summary="Readiness: a model is loaded and the ledger answers",
            responses={503: {"model": ErrorResponse, "description": "Not ready."}})
def readyz(request: Request) -> dict[str, Any]:
    holder = _holder(request)
    if holder.current is None:
        raise _no_model(holder)
    try:
        holder.ledger.ping()
    except SkillmatchError as exc:
        raise ApiError(503, f"the ledger does not answer: {exc}", headers={"Retry-After": "5"}) from None
    return {"status": "ready", "model_version": holder.version}


@probes.get("/metrics", summary="Prometheus metrics", dependencies=[Depends(require_token)],
            response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request) -> Response:
    m = request.app.state.metrics
    m.set_model(_holder(request).version)
    return Response(m.render(), media_type=m.content_type)
