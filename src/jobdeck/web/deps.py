"""Dependencies shared by the API and the pages: the store, the recorder, time windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request

from jobdeck.config import Settings
from jobdeck.events import EARLIEST_TIME, LATEST_TIME
from jobdeck.recorder import Recorder
from jobdeck.store import Store

MAX_WINDOW_HOURS = 24 * 366 * 5


# Async, though they wait for nothing: FastAPI calls a plain function dependency in a worker thread,
# a trip there and back for each (as much as a small request's own work).


async def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_recorder(request: Request) -> Recorder:
    recorder: Recorder = request.app.state.recorder
    return recorder


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Store, Depends(get_store)]
RecorderDep = Annotated[Recorder, Depends(get_recorder)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# A stored row's number in a path (a channel, a silence): 422 beyond what the stores can hold.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The row's number")]


@dataclass(frozen=True)
class Window:
    """A time window [since, until]; `hours` is its length."""

    since: datetime
    until: datetime

    @property
    def hours(self) -> float:
        return (self.until - self.since).total_seconds() / 3600

    @classmethod
    def last(cls, hours: float, now: datetime | None = None) -> Window:
        until = now or datetime.now(UTC)
        return cls(until - timedelta(hours=hours), until)


def window_of(hours: float | None, since: datetime | None, until: datetime | None) -> Window:
    """Resolve `hours` or `since`/`until` (default: the last 24 hours); raise 422 when they make no sense."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"'{name}' needs a timezone offset, e.g. 2026-01-01T00:00:00Z")
        if value is not None and not EARLIEST_TIME <= value <= LATEST_TIME:
            # The times events may have; near datetime's own limits, window arithmetic overflows.
            raise HTTPException(422, f"'{name}' must be between {EARLIEST_TIME.year} and {LATEST_TIME.year}")
    if hours is not None and (since is not None):
        raise HTTPException(422, "give either 'hours' or 'since'/'until', not both")
    if hours is not None and not 0 < hours <= MAX_WINDOW_HOURS:
        raise HTTPException(422, f"'hours' must be between 0 and {MAX_WINDOW_HOURS}")
    end = until or datetime.now(UTC)
    if since is None:
        return Window.last(hours if hours is not None else 24, end)
    if since >= end:
        raise HTTPException(422, "'since' must be before 'until'")
    return Window(since, end)


def window(
    hours: Annotated[float | None, Query(description="Window length in hours, ending now")] = None,
    since: Annotated[datetime | None, Query(description="Window start, ISO 8601 with offset")] = None,
    until: Annotated[datetime | None, Query(description="Window end, ISO 8601 with offset")] = None,
) -> Window:
    return window_of(hours, since, until)


WindowDep = Annotated[Window, Depends(window)]
