"""The safety sweep: runs that stopped heart-beating, or ran past a threshold, are marked `lost`.

A source that sends heartbeats (the local executor and the SDK, every 60 s unless set otherwise) has
its runs marked when no heartbeat came for its interval times a factor; any run is marked when it has
run longer than the stale threshold (6 h unless set, per job settable). A mark is a `lost` event
through the recorder, with why in the run's labels, and a line on the audit trail; a real outcome
that comes later still wins (the fold ranks `lost` below outcomes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jobdeck.control import audit
from jobdeck.domain import EventKind
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store import safety as rows

# How often each source heart-beats its runs (the local executor's and the SDK's default).
HEARTBEAT_S: dict[str, float] = {"local": 60.0, "sdk": 60.0}
HEARTBEAT_FACTOR = 3.0
STALE_AFTER_S = 6 * 3600.0
REASON_LABEL = "lost_reason"


@dataclass(frozen=True)
class Marked:
    run_id: str
    job: str
    reason: str


@dataclass
class Sweeper:
    """Marks stuck runs lost; `run_once(now)` is one sweep, returning the run ids it marked."""

    store: Store
    recorder: Recorder
    stale_after_s: float = STALE_AFTER_S
    stale_after_by_job: Mapping[str, float] = field(default_factory=dict)
    heartbeat_s: Mapping[str, float] = field(default_factory=lambda: dict(HEARTBEAT_S))
    factor: float = HEARTBEAT_FACTOR
    last_sweep_at: datetime | None = None
    last_marked: list[Marked] = field(default_factory=list)

    def __call__(self, now: datetime) -> list[str]:
        return [m.run_id for m in self.sweep(now)]

    def sweep(self, now: datetime, by: str = "sweeper") -> list[Marked]:
        """Mark every stuck run lost now; what was marked, and why."""
        with self.store.read() as conn:
            candidates = rows.quiet_runs(conn, now - timedelta(seconds=self.shortest_limit()))
        marked = [m for m in (self.judge(run, now) for run in candidates) if m is not None]
        if marked:
            events = [
                make_event(m.run_id, EventKind.LOST, now, {"job": m.job, "labels": {REASON_LABEL: m.reason}})
                for m in marked
            ]
            self.recorder.record(events)
            for m in marked:
                audit.record("mark-lost", m.run_id, by, "marked", m.reason)
        self.last_sweep_at, self.last_marked = now, marked
        return marked

    def stale_after(self, job: str) -> float:
        return self.stale_after_by_job.get(job, self.stale_after_s)

    def shortest_limit(self) -> float:
        """The least quiet time after which some run may be marked (what the store is asked for)."""
        quiet = [interval * self.factor for interval in self.heartbeat_s.values()]
        return min([self.stale_after_s, *self.stale_after_by_job.values(), *quiet])

    def judge(self, run: dict[str, Any], now: datetime) -> Marked | None:
        """The mark a quiet run gets now, or None when it is not stuck."""
        began = run["started_at"] or run["created_at"]
        limit = self.stale_after(run["job"])
        if (now - began).total_seconds() > limit:
            hours = limit / 3600
            reason = f"still running after {hours:g} h (the stale threshold)"
            return Marked(run["run_id"], run["job"], reason)
        interval = self.heartbeat_s.get(run["source"] or "")
        if interval is None:
            return None
        last = run["heartbeat_at"] or began
        quiet = (now - last).total_seconds()
        if quiet > interval * self.factor:
            reason = (
                f"no heartbeat for {quiet:.0f} s (its source {run['source']} sends one every {interval:g} s)"
            )
            return Marked(run["run_id"], run["job"], reason)
        return None
