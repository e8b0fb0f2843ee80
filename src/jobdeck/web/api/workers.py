"""GET /api/v1/workers: every Celery worker of every configured broker, live (events and inspect)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

router = APIRouter(prefix="/api/v1", tags=["workers"])


class Worker(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    broker: str
    online: bool
    pool: str | None = None
    concurrency: int | None = None
    processed: int | None = None
    load: list[float] = Field(default_factory=list)
    last_heartbeat: datetime | None = None
    queues: list[str] = Field(default_factory=list)
    active: int | None = None
    active_tasks: list[dict[str, Any]] = Field(default_factory=list, description="Running now (inspect)")
    reserved_tasks: list[dict[str, Any]] = Field(default_factory=list, description="Taken, not started")
    scheduled_tasks: list[dict[str, Any]] = Field(default_factory=list, description="Waiting for their ETA")
    registered: list[str] = Field(default_factory=list)


class Broker(BaseModel):
    model_config = ConfigDict(extra="allow")

    broker: str
    connected: bool
    error: str | None = None


class WorkerList(BaseModel):
    workers: list[Worker]
    brokers: list[Broker]


def workers_of(request: Request) -> dict[str, Any]:
    celery = request.app.state.celery
    return {"workers": celery.workers(), "brokers": celery.health()}


@router.get("/workers", response_model=WorkerList, summary="Celery workers, live")
async def list_workers(request: Request) -> dict[str, Any]:
    """Every worker of every broker set with --celery-broker: online or not, pool and concurrency,
    processed count, load, last heartbeat, queues, the tasks it holds. One broadcast (cached a few
    seconds) serves every caller."""
    return await run_in_threadpool(workers_of, request)
