"""Keeping the demo workload running live: history in batches, then each event as the clock passes it.

`LiveLoop.run_once` records what the stream has due now and returns how many events that was; the
loop around it is a thin thread, one of the app's background services.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jobdeck.background.periodic import Periodic
from jobdeck.demo.workload import Stream
from jobdeck.events import EventIn
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store import runs as run_rows

BATCH_EVENTS = 5000
# On a restart, re-plan this far back from the newest run so runs left under way are finished
# (the same seed gives the same events, which the recorder already has and ignores).
RESUME_LOOKBACK = timedelta(hours=4)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StartingPoint:
    """Where the demo's stream starts, and why."""

    start: datetime
    reason: str  # "backfill", "resume" or "live"


def starting_point(store: Store, now: datetime, days: float, backfill: bool = True) -> StartingPoint:
    """A week of history for an empty store; for one with runs, from just before its newest run."""
    if not backfill:
        return StartingPoint(now, "live")
    with store.read() as conn:
        newest, _ = run_rows.list_runs(conn, limit=1, columns=("run_at",))
    earliest = now - timedelta(days=days)
    if not newest:
        return StartingPoint(earliest, "backfill")
    resume = newest[0]["run_at"] - RESUME_LOOKBACK
    return StartingPoint(min(max(resume, earliest), now), "resume")


def record_in_batches(
    recorder: Recorder,
    events: Sequence[EventIn],
    batch_size: int = BATCH_EVENTS,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Record events (in time order) a batch per transaction; returns the new events stored."""
    stored = 0
    for first in range(0, len(events), batch_size):
        chunk = events[first : first + batch_size]
        stored += recorder.record([event.to_event() for event in chunk]).applied_events
        if on_batch is not None:
            on_batch(len(chunk))
    return stored


class LiveLoop(Periodic):
    """Records the stream's due events every `tick_s` seconds in a daemon thread until stopped; a
    locked or busy store does not end the demo, the next tick records what this one could not."""

    def __init__(
        self, recorder: Recorder, stream: Stream, tick_s: float = 1.0, clock: Clock = utc_now
    ) -> None:
        super().__init__("demo live events", self.run_once, tick_s)
        self.recorder, self.stream, self.clock = recorder, stream, clock
        # Events a failed tick could not record; the next tick records them first.
        self._unrecorded: list[EventIn] = []

    def run_once(self, now: datetime | None = None) -> int:
        """Record the events due by `now` (default: the clock); returns how many there were."""
        events = [*self._unrecorded, *self.stream.advance(now or self.clock())]
        self._unrecorded = []
        if events:
            try:
                self.recorder.record([event.to_event() for event in events])
            except Exception:
                self._unrecorded = events
                raise
        return len(events)
