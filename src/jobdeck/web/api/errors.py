"""A store that cannot be reached answers 503 (with the reason), not a bare 500."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

RETRY_AFTER_S = "5"


async def store_unavailable(request: Request, exc: Exception) -> Response:
    """503 for connection failures, pool timeouts, a locked or unmigrated store: worth trying again."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    message = f"the store is unavailable: {reason[0] if reason else type(exc).__name__}"
    store = getattr(request.app.state, "store", None)
    since = store.reachability.since_text() if store is not None else None
    if since:
        message = f"{message} ({since})"
    headers = {"Retry-After": RETRY_AFTER_S}
    if "/api/" in request.url.path:
        return JSONResponse({"detail": message}, status_code=503, headers=headers)
    return PlainTextResponse(message, status_code=503, headers=headers)


def install(app: FastAPI) -> None:
    for error in (OperationalError, DisconnectionError, PoolTimeout):
        app.add_exception_handler(error, store_unavailable)
