"""GET /api/health: is the store reachable and migrated."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

import jobdeck
from jobdeck.web.api.errors import RETRY_AFTER_S
from jobdeck.web.api.models import Health, Unhealthy
from jobdeck.web.deps import StoreDep

router = APIRouter(tags=["health"])


def _check(store: Any) -> dict[str, Any]:
    store.ping()
    return {"backend": store.backend, "migrated": store.is_current()}


@router.get(
    "/api/health",
    response_model=Health,
    responses={503: {"model": Health | Unhealthy, "description": "Degraded, or the store cannot be reached"}},
    summary="Health of the server and its store",
)
async def health(store: StoreDep, request: Request) -> JSONResponse:
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
    # Integrations' own lines (the Celery brokers' event consumers): shown, not judged.
    sections = {
        name: section() for name, section in getattr(request.app.state, "health_sections", {}).items()
    }
    return JSONResponse(
        {"status": status, "version": jobdeck.__version__, "store": state, **sections},
        status_code=200 if state["migrated"] else 503,
    )
