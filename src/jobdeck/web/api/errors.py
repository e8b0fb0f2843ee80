"""A store that cannot be reached answers 503 (with the reason), not a bare 500."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

RETRY_AFTER_S = "5"
# What SQLite says of a statement it cannot read (its search syntax), rather than of the store:
# the same request would fail again, so it is no 503 that invites a retry.
_STATEMENT_ERRORS = re.compile(r"unterminated string|syntax error|fts5:", re.IGNORECASE)


def is_about_the_statement(exc: Exception) -> bool:
    """True for an SQLite error about the query itself, not about reaching the store."""
    orig = getattr(exc, "orig", None)
    return type(orig).__module__.startswith("sqlite3") and bool(_STATEMENT_ERRORS.search(str(orig)))


async def store_unavailable(request: Request, exc: Exception) -> Response:
    """503 for connection failures, pool timeouts, a locked or unmigrated store: worth trying again."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    if is_about_the_statement(exc):
        # Input the checks before the store let through: a client error, not an outage.
        return JSONResponse({"detail": f"the store cannot run this query: {reason[0]}"}, status_code=400)
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
