"""GET /api/v1/timeseries and /api/v1/heatmap: charts over any window, read from rollups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from jobdeck.store import queue_samples, timeseries
from jobdeck.web.api.models import Heatmap, Metric, Timeseries
from jobdeck.web.deps import StoreDep, WindowDep

router = APIRouter(prefix="/api/v1", tags=["charts"])


@router.get("/timeseries", response_model=Timeseries, summary="One metric per job over the window, in steps")
def get_timeseries(
    store: StoreDep,
    window: WindowDep,
    metric: Metric = "runs",
    job: str | None = None,
    step: Annotated[int | None, Query(ge=60, description="Smallest step (s); widened as needed")] = None,
    queue: Annotated[str | None, Query(description="queue_size: one queue (as `job` does)")] = None,
) -> JSONResponse:
    """Points [t, value] per job; the step adapts so a series has at most ~1,000 points. For
    `queue_size`, one series per queue (its name in `job`, with `system` and `broker`)."""
    if metric == "queue_size":
        return _queue_sizes(store, window, queue or job, step)
    with store.read() as conn:
        step_s, by_job = timeseries.series(
            conn, metric, int(window.since.timestamp()), int(window.until.timestamp()) + 1, job, step
        )
    # Tens of thousands of points: serialised directly, not walked by FastAPI's encoder.
    return JSONResponse(
        {
            "metric": metric,
            "step_s": step_s,
            "series": [{"job": name, "points": points} for name, points in by_job.items()],
        }
    )


def _queue_sizes(store: StoreDep, window: WindowDep, queue: str | None, step: int | None) -> JSONResponse:
    with store.read() as conn:
        step_s, found = queue_samples.series(
            conn, int(window.since.timestamp()), int(window.until.timestamp()) + 1, queue, step
        )
    series = [
        {"job": key.queue, "system": key.system, "broker": key.broker, "points": points}
        for key, points in found
    ]
    return JSONResponse({"metric": "queue_size", "step_s": step_s, "series": series})


@router.get("/heatmap", response_model=Heatmap, summary="Duration distribution per time step")
def get_heatmap(
    store: StoreDep,
    window: WindowDep,
    job: str | None = None,
    step: Annotated[
        int | None, Query(ge=60, description="Smallest column width (s); widened to at most 240 columns")
    ] = None,
) -> dict[str, Any]:
    """Rows of duration ranges [low, high] in seconds and cells [t, row, runs] (all jobs when no job)."""
    with store.read() as conn:
        result = timeseries.heatmap(
            conn, int(window.since.timestamp()), int(window.until.timestamp()) + 1, job, step
        )
    return {"job": job, **result}
