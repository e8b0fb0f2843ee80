"""The Workers page: every Celery worker of every configured broker (events and a cached inspect),
with its broker's state; the list refreshes as a fragment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from jobdeck.web.pages.rendering import render

router = APIRouter(include_in_schema=False)


def context_of(request: Request) -> dict[str, Any]:
    celery = request.app.state.celery
    return {
        "workers": celery.workers(),
        "brokers": celery.health(),
        "configured": bool(celery.consumers),
        "now": datetime.now(UTC),
    }


@router.get("/workers", response_class=HTMLResponse, name="workers_page")
async def workers_page(request: Request) -> HTMLResponse:
    return render(request, "workers.html", await run_in_threadpool(context_of, request))


@router.get("/fragments/workers", response_class=HTMLResponse, name="workers_fragment")
async def workers_fragment(request: Request) -> HTMLResponse:
    return render(request, "fragments/worker_list.html", await run_in_threadpool(context_of, request))
