"""GET /api/v1/queues: every queue of every job system, with its broker's health; and the actions on a
queue's jobs that a source offers (retry or remove a failed BullMQ job, requeue a failed RQ job).

Sources are read through the app's QueueReader (integrations/reading.py): each in a thread with a
time limit, so one hung or unreachable broker is reported as such while the others still answer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from jobdeck.config import Settings
from jobdeck.control import audit
from jobdeck.integrations.queues import QueueSource, QueueSources
from jobdeck.integrations.reading import QueueReader, Snapshot, health_json, short_error
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.web.api.control import actor
from jobdeck.web.api.models import Answer, BrokerState

router = APIRouter(prefix="/api/v1", tags=["queues"])

Action = Literal["retry", "remove", "requeue"]


class QueueOut(Answer):
    name: str
    system: str
    broker: str
    counts: dict[str, int]
    paused: bool
    details: dict[str, Any] | None = None


class Queues(Answer):
    """Every queue counted now, and every broker's health."""

    queues: list[QueueOut]
    brokers: list[BrokerState]


class JobActionDone(Answer):
    system: str
    queue: str
    job_id: str
    action: Action
    detail: str


@runtime_checkable
class JobActions(Protocol):
    """A queue source that can act on one job of one of its queues. `act` answers what happened in a
    sentence, or raises LookupError (no such job: 404) or ValueError (not in a state for it: 409)."""

    def act(self, action: str, queue: str, job_id: str) -> str: ...


def get_sources(request: Request) -> QueueSources:
    sources: QueueSources = request.app.state.queue_sources
    return sources


def get_reader(request: Request) -> QueueReader:
    reader: QueueReader = request.app.state.queue_reader
    return reader


SourcesDep = Annotated[QueueSources, Depends(get_sources)]
ReaderDep = Annotated[QueueReader, Depends(get_reader)]


def snapshot_json(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "queues": [state.as_json() for state in snapshot.queues],
        "brokers": [health_json(health) for health in snapshot.brokers],
    }


@router.get("/queues", response_model=Queues, summary="Every queue of every job system, and broker health")
async def list_queues(sources: SourcesDep, reader: ReaderDep) -> JSONResponse:
    """Counts per queue as each system reports them; a broker that cannot be reached (or does not answer
    within a few seconds) is listed under `brokers` as unreachable, with the error and since when."""
    snapshot = await run_in_threadpool(reader.read, sources)
    return JSONResponse(snapshot_json(snapshot))  # `details` only where a system has some


def _source_for(sources: QueueSources, system: str, broker: str | None) -> QueueSource:
    matching = [s for s in sources if s.system == system and (broker is None or s.broker == broker)]
    if not matching:
        known = ", ".join(f"{s.system} {s.broker}" for s in sources) or "none"
        raise HTTPException(404, f"no {system} source{f' at {broker}' if broker else ''} (sources: {known})")
    if len(matching) > 1:
        raise HTTPException(
            422,
            f"{len(matching)} {system} brokers: say which with ?broker= (one of "
            + ", ".join(s.broker for s in matching)
            + ")",
        )
    return matching[0]


@router.post(
    "/queues/{system}/{queue}/jobs/{job_id}/{action}",
    response_model=JobActionDone,
    responses={404: {"description": "No such source or job"}, 409: {"description": "Not in a state for it"}},
    summary="Retry or remove a failed BullMQ job; requeue a failed RQ job",
)
def act_on_job(
    request: Request,
    sources: SourcesDep,
    system: str,
    queue: str,
    job_id: str,
    action: Action,
    broker: Annotated[
        str | None, Query(description="The broker (as listed), when a system has several")
    ] = None,
) -> dict[str, str]:
    """Done the way the job system itself does it (BullMQ's retryJob/removeJob, RQ's requeue)."""
    source = _source_for(sources, system, broker)
    if not isinstance(source, JobActions):
        raise HTTPException(409, f"{system} queues offer no actions on jobs")
    target = f"{system}:{queue}:{job_id}"
    by = actor(request, "api")
    store: Store = request.app.state.store
    try:
        detail = source.act(action, queue, job_id)
    except LookupError as exc:
        audit.record(f"queue-job-{action}", target, by, "refused", str(exc), store=store)
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        audit.record(f"queue-job-{action}", target, by, "refused", str(exc), store=store)
        raise HTTPException(409, str(exc)) from None
    except OSError as exc:
        audit.record(f"queue-job-{action}", target, by, "failed", short_error(exc), store=store)
        raise HTTPException(503, f"{system} broker {source.broker} unreachable: {short_error(exc)}") from None
    audit.record(f"queue-job-{action}", target, by, "done", detail, store=store)
    return {"system": system, "queue": queue, "job_id": job_id, "action": action, "detail": detail}


def install(app: FastAPI, store: Store, settings: Settings, recorder: Recorder) -> None:
    """The app's queue reader, the BullMQ and RQ sources its settings name (with their run pollers),
    and the queue-size sampler; the routes are included by create_app."""
    from jobdeck.background import queue_samples
    from jobdeck.integrations.setup import sources_from_settings

    app.state.queue_reader = reader = QueueReader()
    for source, poller in sources_from_settings(settings, recorder):
        app.state.queue_sources.add(source)
        if poller is not None:
            app.state.services.add(poller)
    app.state.services.add(
        queue_samples.loop(store, app.state.queue_sources, reader, keep_days=settings.queue_sample_days)
    )
