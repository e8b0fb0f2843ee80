"""GET /api/health: is the store reachable and migrated."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

import jobdeck
from jobdeck.auth.principal import principal_of
from jobdeck.integrations.reading import health_json
from jobdeck.web.api.errors import RETRY_AFTER_S
from jobdeck.web.api.models import Health, Unhealthy
from jobdeck.web.deps import StoreDep

router = APIRouter(tags=["health"])
BROKERS_MAX_AGE_S = 10.0


def _check(store: Any) -> dict[str, Any]:
    store.ping()
    return {"backend": store.backend, "migrated": store.is_current()}


async def _brokers(request: Request) -> list[dict[str, Any]] | None:
    """Each queue source's broker health (integrations/reading.py): the queue sampler's last read when
    it is at most BROKERS_MAX_AGE_S old, else a new one (each source in a thread with a time limit).
    None without sources. /api/health is open: a caller who is not signed in (on a server with
    sign-in) learns whether each broker answers, not where it is or what it said."""
    sources = request.app.state.queue_sources
    if not len(sources):
        return None
    snapshot = await run_in_threadpool(request.app.state.queue_reader.recent, sources, BROKERS_MAX_AGE_S)
    brokers = [health_json(broker) for broker in snapshot.brokers]
    if principal_of(request) is None:
        for broker in brokers:
            broker.update(broker=None, error=None)
    return brokers


@router.get(
    "/api/health",
    response_model=Health,
    responses={503: {"model": Health | Unhealthy, "description": "Degraded, or the store cannot be reached"}},
    summary="Health of the server and its store",
)
async def health(request: Request, store: StoreDep) -> JSONResponse:
    """200 with the store's state; 503 when the store cannot be reached."""
    try:
        state = await run_in_threadpool(_check, store)
    except (SQLAlchemyError, OSError) as exc:
        store.reachability.failed(exc)
        since = store.reachability.since
        body = {
            "status": "unhealthy",
            "store": {
                "backend": store.backend,
                "reachable": False,
                "error": str(exc).splitlines()[0],
                "unreachable_since": since.isoformat() if since else None,
                "detail": store.reachability.describe(),
            },
        }
        return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER_S})
    status = "healthy" if state["migrated"] else "degraded"
    answer: dict[str, Any] = {"status": status, "version": jobdeck.__version__, "store": state}
    # Integrations' own lines (the Celery brokers' event consumers): shown, not judged.
    for name, section in getattr(request.app.state, "health_sections", {}).items():
        answer[name] = section()
    brokers = await _brokers(request)
    if brokers is not None:
        answer["brokers"] = brokers
    return JSONResponse(
        answer,
        status_code=200 if state["migrated"] else 503,
    )
