"""The query parameters of run lists and their exports, turned into a store RunFilter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query

from jobdeck.domain import Status
from jobdeck.store.search import RunFilter
from jobdeck.web.deps import window_of


@dataclass(frozen=True)
class RunQuery:
    """The parameters as given. Empty values mean "any": a form submits them that way."""

    job: str | None
    statuses: tuple[str, ...]
    queue: str | None
    text: str | None
    hours: float | None
    since: datetime | None
    until: datetime | None

    def to_filter(self, *, with_text: bool = True) -> RunFilter:
        """The filter; raise ValueError for a search text the index cannot use."""
        window = None
        if self.hours is not None or self.since is not None or self.until is not None:
            window = window_of(self.hours, self.since, self.until)
        return RunFilter(
            job=self.job,
            statuses=self.statuses,
            queue=self.queue,
            since=window.since if window else None,
            until=window.until if window else None,
            text=self.text if with_text else None,
        )


def run_query(
    job: Annotated[str | None, Query(max_length=200, description="Only runs of this job")] = None,
    status: Annotated[list[Status] | None, Query(description="Only runs in these statuses")] = None,
    queue: Annotated[str | None, Query(max_length=200, description="Only runs on this queue")] = None,
    q: Annotated[
        str | None,
        Query(description="Text in the run id (its start), error, args or kwargs (3 to 200 characters)"),
    ] = None,
    hours: Annotated[float | None, Query(description="Only runs of the last N hours")] = None,
    since: Annotated[datetime | None, Query(description="Only runs from, ISO 8601 with offset")] = None,
    until: Annotated[datetime | None, Query(description="Only runs until, ISO 8601 with offset")] = None,
) -> RunQuery:
    return RunQuery(
        job=job or None,
        statuses=tuple(s.value for s in status or []),
        queue=queue or None,
        text=q.strip() if q and q.strip() else None,
        hours=hours,
        since=since,
        until=until,
    )


RunQueryDep = Annotated[RunQuery, Depends(run_query)]


def run_filter(query: RunQueryDep) -> RunFilter:
    """For the API: a search text the index cannot use is a 422."""
    try:
        return query.to_filter()
    except ValueError as exc:
        raise HTTPException(422, f"q: {exc}") from None


RunFilterDep = Annotated[RunFilter, Depends(run_filter)]
