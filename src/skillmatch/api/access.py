"""Around every request: the body size limit (413 before any work), an X-Request-ID, metrics and one JSON access-log line
(with the worker process that answered).

Pure ASGI so that an oversized body is refused while it streams in, never buffered whole.
"""
from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from skillmatch.api.errors import error_body
from skillmatch.api.metrics import ApiMetrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("skillmatch.access")
REQUEST_ID_HEADER = b"x-request-id"
MAX_REQUEST_ID_CHARS = 200


class AccessMiddleware:
    """Enforces `max_body_bytes`, tags the request with an id, times it and logs it as one JSON line."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, max_body_bytes: int,
                 model_version: Callable[[], str | None]) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.model_version = model_version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = headers.get(REQUEST_ID_HEADER, b"").decode("latin-1")[:MAX_REQUEST_ID_CHARS]
        request_id = given or uuid.uuid4().hex
        scope.setdefault("state", {})["http_request_id"] = request_id
        status = {"code": 500}

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, request_id.encode("latin-1"))]
            await send(message)

        try:
            body = await self._read_body(headers, receive)
            if body is None:
                await self._too_large(send_tagged)
            else:
                await self.app(scope, _replay(body, receive), send_tagged)
        finally:
            self._record(scope, request_id, status["code"], time.perf_counter() - started)

    async def _read_body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is over the limit (declared or streamed)."""
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        payload = json.dumps(error_body(413, f"request body over the limit of {self.max_body_bytes} bytes",
                                        [{"path": "body", "message": "too large", "limit": self.max_body_bytes}],
                                        model_version=self.model_version())).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    def _record(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        self.metrics.observe_request(template, method, status, seconds)
        if not access_log.isEnabledFor(logging.INFO):  # `serve --log-level warning`: no line to build
            return
        state = scope.get("state") or {}
        access_log.info(json.dumps({
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "request_id": request_id,
            "body_request_id": state.get("body_request_id"), "method": method, "path": scope.get("path"),
            "route": template, "status": status, "duration_ms": round(seconds * 1000.0, 2),
            "model_version": state.get("model_version") or self.model_version(),
            "client": (scope.get("client") or ("", 0))[0], "worker_pid": os.getpid(),
        }))


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the already-read body once, then waits on the real one (for disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
