"""The HTTP error edge: every failure becomes `{"error": {"code", "message", "details"}}` with a fitting status."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from skillmatch.engine import ConflictError
from skillmatch.errors import InputError, ModelError, SkillmatchError

log = logging.getLogger("skillmatch.api")

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid_request",
          500: "internal_error", 503: "unavailable"}


class ApiError(Exception):
    """An error the routes raise on purpose, already with its status and code."""

    def __init__(self, status: int, message: str, details: Sequence[dict[str, Any]] = (), code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = list(details)
        self.headers = headers


def error_body(status: int, message: str, details: Sequence[dict[str, Any]] = (), code: str | None = None,
               model_version: str | None = None) -> dict[str, Any]:
    """The contract's error envelope."""
    body: dict[str, Any] = {"error": {"code": code or _CODES.get(status, "error"), "message": message,
                                      "details": list(details)}}
    if model_version is not None:
        body["model_version"] = model_version
    return body


def _version(request: Request) -> str | None:
    holder = getattr(request.app.state, "holder", None)
    return holder.version if holder is not None else None


def _respond(request: Request, status: int, message: str, details: Sequence[dict[str, Any]] = (),
             code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, details, code, _version(request)), status_code=status,
                        headers=headers)


def _field_path(loc: Sequence[Any]) -> str:
    parts = list(loc[1:]) if loc and loc[0] == "body" else list(loc)
    return ".".join(str(p) for p in parts) or "body"


def _input_details(exc: InputError) -> list[dict[str, Any]]:
    detail: dict[str, Any] = {"path": exc.column, "message": exc.problem}
    if exc.expected is not None:
        detail["expected"] = exc.expected
    if exc.rows:
        detail["rows"] = exc.rows[:5]
    if exc.got is not None:
        detail["got"] = exc.to_dict()["got"]
    return [detail]


def install_error_handlers(app: FastAPI) -> None:
    """Map each exception kind to one status and the envelope (nothing leaks a traceback to the client)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _respond(request, exc.status, exc.message, exc.details, exc.code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"path": _field_path(e.get("loc", ())), "message": e.get("msg", "invalid"), "type": e.get("type")}
                   for e in exc.errors()]
        problem = "invalid JSON" if any(d["type"] == "json_invalid" for d in details) else "invalid request body"
        return _respond(request, 422, f"{problem}: {len(details)} field(s) to fix", details)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        return _respond(request, 422, str(exc), _input_details(exc))

    @app.exception_handler(ConflictError)
    async def _conflict(request: Request, exc: ConflictError) -> JSONResponse:
        return _respond(request, 409, str(exc))

    @app.exception_handler(ModelError)
    async def _model(request: Request, exc: ModelError) -> JSONResponse:
        return _respond(request, 503, str(exc), headers={"Retry-After": "5"})

    @app.exception_handler(SkillmatchError)
    async def _domain(request: Request, exc: SkillmatchError) -> JSONResponse:
        # The ledger database unreachable, and other domain failures: the request can be retried.
        log.error("request failed: %s", exc)
        return _respond(request, 503, str(exc), headers={"Retry-After": "5"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else _CODES.get(exc.status_code, "error")
        return _respond(request, exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _respond(request, 500, "internal error (logged on the server)")
