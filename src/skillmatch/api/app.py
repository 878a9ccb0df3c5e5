"""The application factory: `create_app(settings, engine)` for tests and embedding, `app_from_env` for uvicorn workers."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from skillmatch import __version__
from skillmatch.api.access import AccessMiddleware
from skillmatch.api.balance import BalanceMiddleware, ConnectionBalancer
from skillmatch.api.errors import install_error_handlers
from skillmatch.api.metrics import ApiMetrics
from skillmatch.api.routes import BODY_MODELS, api, probes
from skillmatch.api.serving import EngineHolder
from skillmatch.api.settings import ApiSettings
from skillmatch.api.supervision_routes import supervision
from skillmatch.engine import Engine

log = logging.getLogger("skillmatch.api")

DESCRIPTION = """Learned ticket assignment for contact centers (CONTRACT section 3).

Every response carries `model_version`; errors are `{"error": {"code", "message", "details"}}`.
Send `Authorization: Bearer <token>` when the server was given tokens."""


def create_app(settings: ApiSettings, engine: Engine | None = None,
               balancer: ConnectionBalancer | None = None) -> FastAPI:
    """A server for `settings`; with `engine` it serves that engine (and still hot-reloads `settings.models_dir`);
    with `balancer`, one worker of several that keep their connections evenly spread (`skillmatch.api.balance`)."""
    holder_box: dict[str, EngineHolder] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder = _open_holder(settings, engine)
        app.state.holder = holder
        holder_box["holder"] = holder
        holder.start(settings.reload_interval_s)
        log.info("skillmatch API ready: model %s, ledger %s", holder.version, holder.ledger.url)
        try:
            yield
        finally:
            holder.stop()
            if engine is None:
                holder.close()
            if balancer is not None:
                balancer.close()

    app = FastAPI(title="skillmatch", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = ApiMetrics()
    app.state.audit = _read_audit(settings.audit_dir)
    app.state.holder = None
    install_error_handlers(app)
    app.include_router(api)
    app.include_router(supervision)
    app.include_router(probes)
    app.add_middleware(AccessMiddleware, metrics=app.state.metrics, max_body_bytes=settings.max_body_bytes,
                       model_version=lambda: holder_box["holder"].version if holder_box else None)
    if balancer is not None:
        balancer.on_count = app.state.metrics.connections.set
        app.add_middleware(BalanceMiddleware, balancer=balancer)
    _document_bodies(app)
    return app


def _document_bodies(app: FastAPI) -> None:
    """Add the schemas of the bodies routes parse themselves (`BODY_MODELS`) to the OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            _, schemas = models_json_schema([(m, "validation") for m in BODY_MODELS],
                                            ref_template="#/components/schemas/{model}")
            components = spec.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in schemas.get("$defs", {}).items():
                components.setdefault(name, schema)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_env() -> FastAPI:
    """The app a uvicorn worker process builds (`skillmatch serve --workers N` passes settings via SKILLMATCH_*)."""
    return create_app(ApiSettings.from_env(), balancer=ConnectionBalancer.from_env())


def _open_holder(settings: ApiSettings, engine: Engine | None) -> EngineHolder:
    if engine is None:
        return EngineHolder.open(settings.models_dir, settings.database_url, settings.policy_path)
    return EngineHolder(settings.models_dir, engine.ledger, engine.policy, engine=engine)


def _read_audit(audit_dir: Path | None) -> dict[str, dict[str, Any]] | None:
    """Per-agent cherry-pick audit results (from `skillmatch audit --out DIR`), shown in agent profiles."""
    if audit_dir is None:
        return None
    from skillmatch.audit import read_audit

    return read_audit(audit_dir)
