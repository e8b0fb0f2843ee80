"""The query parameters of run lists and their exports, turned into a store RunFilter (or a 422)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query

from jobdeck.domain import Status
from jobdeck.store.search import RunFilter
from jobdeck.web.deps import window_of


def run_filter(
    job: Annotated[str | None, Query(max_length=200, description="Only runs of this job")] = None,
    status: Annotated[list[Status] | None, Query(description="Only runs in these statuses")] = None,
    queue: Annotated[str | None, Query(max_length=200, description="Only runs on this queue")] = None,
    q: Annotated[
        str | None, Query(description="Text in the run id, job, error or args (3 to 200 characters)")
    ] = None,
    hours: Annotated[float | None, Query(description="Only runs of the last N hours")] = None,
    since: Annotated[datetime | None, Query(description="Only runs from, ISO 8601 with offset")] = None,
    until: Annotated[datetime | None, Query(description="Only runs until, ISO 8601 with offset")] = None,
) -> RunFilter:
    """Empty parameters mean "any": a form submits them that way."""
    window = None
    if hours is not None or since is not None or until is not None:
        window = window_of(hours, since, until)
    try:
        return RunFilter(
            job=job or None,
            statuses=tuple(s.value for s in status or []),
            queue=queue or None,
            since=window.since if window else None,
            until=window.until if window else None,
            text=q.strip() if q and q.strip() else None,
        )
    except ValueError as exc:
        raise HTTPException(422, f"q: {exc}") from None


RunFilterDep = Annotated[RunFilter, Depends(run_filter)]
