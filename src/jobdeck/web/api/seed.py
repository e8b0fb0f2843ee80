"""The seed dashboard's endpoints, kept for the scripts that call them, answered from the store.

POST /api/jobs {"hours", "jobType"}, POST /api/overlaps {"hours"}, POST /api/stats {"hours"};
GET /api/health lives in health.py. The seed's vocabulary is kept: `job_type`, `completed`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from jobdeck.analytics import timeline as timeline_data
from jobdeck.analytics.overlaps import sweep
from jobdeck.store import reports, timeline
from jobdeck.store import runs as run_rows
from jobdeck.web.api.models import SeedJobs, SeedOverlaps, SeedStats
from jobdeck.web.deps import MAX_WINDOW_HOURS, StoreDep, Window

router = APIRouter(prefix="/api", tags=["seed compatibility"])

MAX_JOBS = 10_000
MAX_OVERLAPS = 1_000
SEED_STATUS = {"succeeded": "completed"}


class WindowBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hours: float = Field(default=24, gt=0, le=MAX_WINDOW_HOURS)


class JobsBody(WindowBody):
    job_type: str = Field(default="all", alias="jobType")


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _seed_job(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": run["run_id"],
        "job_type": run["job"],
        "status": SEED_STATUS.get(run["status"], run["status"]),
        "created_at": _iso(run["created_at"]),
        "started_at": _iso(run["started_at"]),
        "completed_at": _iso(run["finished_at"]),
        "duration_seconds": run["duration_s"],
        "error_message": run["error_message"],
    }


@router.post(
    "/jobs", response_model=SeedJobs, summary="Seed: the runs of the last `hours`, of one job type or all"
)
def seed_jobs(store: StoreDep, body: JobsBody) -> JSONResponse:
    """Runs newest first (at most 10,000) and every job type seen in the window."""
    window = Window.last(body.hours)
    job = None if body.job_type in ("", "all") else body.job_type
    with store.read() as conn:
        found, more = run_rows.list_runs(
            conn, since=window.since, until=window.until, job=job, limit=MAX_JOBS
        )
        types = [s["job"] for s in reports.job_summaries(conn, window.since, window.until)]
    # Up to 10,000 runs: written directly, as validating them against SeedJobs took six times as long
    # as writing them (the model documents the answer; the schema tests check real answers fit it).
    return JSONResponse(
        {
            "jobs": [_seed_job(run) for run in found],
            "job_types": types,
            "count": len(found),
            "truncated": more is not None,
        }
    )


@router.post(
    "/overlaps",
    response_model=SeedOverlaps,
    summary="Seed: runs that ran at the same time in the last `hours`",
)
def seed_overlaps(store: StoreDep, body: WindowBody) -> dict[str, Any]:
    """Overlapping pairs, longest first (at most 1,000), found by a sweep over start and end points."""
    window = Window.last(body.hours)
    with store.read() as conn:
        rows, _ = timeline.runs_overlapping(conn, window.since, window.until)
    job_of = {row["run_id"]: row for row in rows}
    found = sweep(timeline_data.intervals_of(rows, datetime.now(UTC)), max_pairs=MAX_OVERLAPS)

    def side(run_id: str) -> dict[str, Any]:
        row = job_of[run_id]
        return {
            "id": run_id,
            "job_type": row["job"],
            "status": SEED_STATUS.get(row["status"], row["status"]),
            "started_at": _iso(row["started_at"]),
            "completed_at": _iso(row["finished_at"]),
        }

    pairs = sorted(found.overlaps, key=lambda o: (-o.seconds, o.start))
    return {
        "overlaps": [
            {
                "job1": side(o.a),
                "job2": side(o.b),
                "overlap_start": datetime.fromtimestamp(o.start, UTC).isoformat(),
                "overlap_end": datetime.fromtimestamp(o.end, UTC).isoformat(),
                "overlap_seconds": round(o.seconds, 3),
            }
            for o in pairs
        ],
        "count": len(pairs),
        "max_concurrency": found.max_concurrency,
        "truncated": found.truncated,
    }


@router.post("/stats", response_model=SeedStats, summary="Seed: totals per job type over the last `hours`")
def seed_stats(store: StoreDep, body: WindowBody) -> dict[str, Any]:
    """Per job type: total, completed, failed, running, success rate and average duration."""
    window = Window.last(body.hours)
    with store.read() as conn:
        summaries = reports.job_summaries(conn, window.since, window.until)
        totals = reports.stats(conn, window.since, window.until)
    return {
        "stats": [
            {
                "job_type": s["job"],
                "total": s["runs"],
                "completed": s["succeeded"],
                "failed": s["failed"],
                "running": s["running"],
                "pending": s["pending"],
                "success_rate": s["success_rate"],
                "avg_duration_seconds": s["avg_duration_s"],
                "last_run": _iso(s["last_run_at"]),
            }
            for s in summaries
        ],
        "totals": {
            "total": totals["total"],
            "completed": totals["succeeded"],
            "failed": totals["failed"],
            "running": totals["running"],
            "success_rate": totals["success_rate"],
            "avg_duration_seconds": totals["avg_duration_s"],
        },
    }
