"""The Queues page: every queue of every job system (counts now, paused, a sparkline of its size over
the last hour), BullMQ's job schedulers and failed jobs, and one health line per broker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from jobdeck.integrations.queues import BrokerHealth, QueueSources, QueueState
from jobdeck.integrations.reading import QueueReader
from jobdeck.store import Store
from jobdeck.store import queue_samples as samples
from jobdeck.web.pages import formatting
from jobdeck.web.pages.rendering import render

router = APIRouter(include_in_schema=False)
SPARK_S = 3600
SYSTEM_NAMES = {"bullmq": "BullMQ", "rq": "RQ", "celery": "Celery"}
# The buttons beside a failed job, per system (POST /api/v1/queues/{system}/{queue}/jobs/{id}/{action}).
ACTIONS = {"bullmq": ["retry", "remove"], "rq": ["requeue"]}


@dataclass(frozen=True)
class QueueRow:
    state: QueueState
    size: int
    spark: list[int]  # the largest size of each minute of the last hour, oldest first (0 where none)


def broker_line(health: BrokerHealth) -> str:
    """ "Redis: connected, 0.3 ms" / "unreachable since 14:02: connection refused"."""
    kind = health.broker.split("://", 1)[0].capitalize() if "://" in health.broker else "Broker"
    if health.reachable:
        rtt = "" if health.rtt_ms is None else f", {health.rtt_ms:.{2 if health.rtt_ms < 1 else 1}f} ms"
        return f"{kind}: connected{rtt}"
    since = f" since {health.unreachable_since.astimezone(UTC):%H:%M}" if health.unreachable_since else ""
    return f"{kind}: unreachable{since}: {health.error or 'no answer'}"


def iso_when(iso: str | None) -> str:
    """A system's ISO time (a scheduler's next run) as the pages write times."""
    if not iso:
        return "—"
    try:
        return formatting.when(datetime.fromisoformat(iso.replace("Z", "+00:00")))
    except ValueError:
        return iso


def queue_context(request: Request) -> dict[str, Any]:
    sources: QueueSources = request.app.state.queue_sources
    reader: QueueReader = request.app.state.queue_reader
    store: Store = request.app.state.store
    snapshot = reader.read(sources)
    now = int(time.time())
    with store.read() as conn:
        _, found = samples.series(conn, now - SPARK_S, now + 1, step=60)
    sparks = {(k.system, k.broker, k.queue): [int(v or 0) for _, v in points] for k, points in found}
    rows = [
        QueueRow(q, samples.size_of(q.counts), sparks.get((q.system, q.broker, q.name), []))
        for q in snapshot.queues
    ]
    return {
        "rows": rows,
        "brokers": [(health, broker_line(health)) for health in snapshot.brokers],
        "system_names": SYSTEM_NAMES,
        "actions": ACTIONS,
        "iso_when": iso_when,
        "sources": len(sources),
        "now": datetime.now(UTC),
    }


@router.get("/queues", response_class=HTMLResponse, name="queues_page")
def queues_page(request: Request) -> HTMLResponse:
    """Every queue with its counts and a sparkline, and each broker's health."""
    return render(request, "queues.html", queue_context(request))


@router.get("/fragments/queues", response_class=HTMLResponse, name="queues_fragment")
def queues_fragment(request: Request) -> HTMLResponse:
    """The queue list alone, for the periodic refresh."""
    return render(request, "fragments/queue_list.html", queue_context(request))
