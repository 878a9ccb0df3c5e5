"""Bearer-token authentication: constant-time comparison against the configured tokens."""
from __future__ import annotations

import hmac

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from skillmatch.api.errors import ApiError

bearer = HTTPBearer(auto_error=False, description="A token from SKILLMATCH_API_TOKENS or the tokens file.")


async def require_token(request: Request,
                        credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    """Let the request through when no tokens are configured (loopback-only server) or its token is one of them.

    A coroutine although it does not wait: FastAPI would run a plain function in its thread pool, a thread
    hop on every request for a comparison of a few bytes."""
    tokens: frozenset[str] = request.app.state.settings.tokens
    if not tokens:
        return
    given = credentials.credentials if credentials is not None else ""
    if not given or not any(hmac.compare_digest(given.encode(), t.encode()) for t in tokens):
        raise ApiError(401, "missing or invalid bearer token" if given else "missing bearer token",
                       headers={"WWW-Authenticate": "Bearer"})
