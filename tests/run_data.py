"""A known set of runs for the list, search, failure and export tests (recorded through the recorder)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jobdeck.events import Event, make_event
from jobdeck.recorder import Recorder

NOW = datetime.now(UTC).replace(microsecond=0)
JOBS = ("clip_sync", "hot_score_refresh", "webhook_retry")
TRACEBACK = 'Traceback (most recent call last):\n  File "sync.py", line 12, in run\nKeyError: {key}'


def history_events(n: int = 150, *, start: datetime | None = None) -> list[Event]:
    """n finished runs a minute apart, oldest first: every 5th failed, with a numbered KeyError."""
    start = start or NOW - timedelta(minutes=n + 5)
    batch: list[Event] = []
    for i in range(n):
        job = JOBS[i % 3]
        at = start + timedelta(minutes=i)
        rid = f"run-{i:05d}"
        batch.append(
            make_event(
                rid,
                "enqueued",
                at - timedelta(seconds=2),
                {"job": job, "queue": "high" if i % 2 else "default", "priority": i % 4, "args": [i]},
            )
        )
        batch.append(make_event(rid, "started", at, {"worker": f"w{i % 2}"}))
        outcome: dict[str, Any] = {"items_succeeded": i}
        if i % 5 == 0:
            outcome = {
                "error_type": "KeyError",
                "error_message": f"order {1000 + i} not found",
                "traceback": TRACEBACK.format(key=1000 + i),
            }
        batch.append(
            make_event(rid, "failed" if i % 5 == 0 else "succeeded", at + timedelta(seconds=3), outcome)
        )
    return batch


def live_events() -> list[Event]:
    """Two running runs and one pending run, now."""
    return [
        make_event("live-0", "started", NOW - timedelta(seconds=90), {"job": "clip_sync", "worker": "w0"}),
        make_event(
            "live-1", "started", NOW - timedelta(seconds=10), {"job": "webhook_retry", "worker": "w1"}
        ),
        make_event(
            "waiting",
            "enqueued",
            NOW - timedelta(seconds=30),
            {"job": "webhook_retry", "priority": 9, "eta": (NOW + timedelta(minutes=5)).isoformat()},
        ),
    ]


def record_history(recorder: Recorder, n: int = 150) -> None:
    recorder.record(history_events(n) + live_events())
