"""GET /api/v1/overlaps and /api/v1/timeline: which runs ran at the same time, by a sweep."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from jobdeck.analytics import timeline as timeline_data
from jobdeck.analytics.overlaps import sweep
from jobdeck.store import timeline
from jobdeck.web.api.models import Overlaps, Timeline
from jobdeck.web.deps import StoreDep, WindowDep

router = APIRouter(prefix="/api/v1", tags=["overlaps"])


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def overlap_report(rows: list[dict[str, Any]], now: datetime, max_pairs: int) -> dict[str, Any]:
    """The overlapping pairs (longest first, at most `max_pairs`), the peak and the concurrency curve."""
    found = sweep(timeline_data.intervals_of(rows, now), max_pairs=max_pairs)
    pairs = sorted(found.overlaps, key=lambda o: (-o.seconds, o.start))
    return {
        "overlaps": [
            {"a": o.a, "b": o.b, "start": _iso(o.start), "end": _iso(o.end), "seconds": round(o.seconds, 3)}
            for o in pairs
        ],
        "max_concurrency": found.max_concurrency,
        "concurrency": [[_iso(t), n] for t, n in found.concurrency],
        "truncated": found.truncated,
    }


@router.get(
    "/overlaps",
    response_model=Overlaps,
    summary="Runs that overlapped in the window, and how many ran at once",
)
def get_overlaps(
    store: StoreDep,
    window: WindowDep,
    job: str | None = None,
    limit: Annotated[int, Query(ge=0, le=100_000, description="Most pairs to list")] = 1000,
) -> JSONResponse:
    """Pairs {a, b, start, end, seconds}, max_concurrency, and concurrency [[t, running from t on], …]."""
    with store.read() as conn:
        rows, truncated = timeline.runs_overlapping(conn, window.since, window.until, job)
    report = overlap_report(rows, datetime.now(UTC), limit)
    report["runs_truncated"] = truncated
    return JSONResponse(report)


@router.get(
    "/timeline",
    response_model=Timeline,
    summary="Runs as bars in per-job lanes, busy lanes in buckets, with overlaps",
)
def get_timeline(
    store: StoreDep,
    window: WindowDep,
    job: str | None = None,
    limit: Annotated[
        int,
        Query(ge=1, le=50_000, description="Most runs drawn as single bars; busier lanes come in buckets"),
    ] = timeline_data.BAR_BUDGET,
    columns: Annotated[
        int,
        Query(
            ge=50,
            le=4000,
            description="Pixel columns of the chart: lanes with more runs come in buckets of 4 px or more",
        ),
    ] = 1000,
) -> JSONResponse:
    """Compact arrays for a canvas chart: bars, per-job overlap regions and, for lanes with more runs
    than fit, per-bucket summaries from the rollups. Nothing in the window is left out."""
    since, until = window.since, window.until
    with store.read() as conn:
        counts = timeline.runs_in_view(conn, since, until, job)
        bar_jobs, bucket_jobs = timeline_data.split_lanes(counts, limit, columns)
        if not bucket_jobs:
            rows, truncated = timeline.runs_overlapping(conn, since, until, job, limit)
            step, cells = None, []
        else:
            step = timeline_data.bucket_step((until - since).total_seconds(), columns // 4)
            cells = timeline.buckets(conn, since, until, step, bucket_jobs)
            rows, truncated = (
                timeline.runs_overlapping(conn, since, until, limit=limit, jobs=bar_jobs)
                if bar_jobs
                else ([], False)
            )
    now = datetime.now(UTC)
    return JSONResponse(
        timeline_data.timeline(rows, since, until, now, truncated, cells=cells, step=step, counts=counts)
    )
