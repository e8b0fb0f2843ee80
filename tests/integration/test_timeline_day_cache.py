"""The timeline's whole days of buckets are kept between requests (store.timeline.DayBuckets) and must
always equal a fresh read of the cells, whatever writes land in between — including a write that
moves a run between two hours of one day and leaves the day's sums as they were (both backends)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from jobdeck.events import Event, make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, timeline

DAY = timedelta(days=1)
JOBS = [f"job{i:02d}" for i in range(12)]  # more than FEW_JOBS: the cached path
STEP = 3 * 3600


def _window() -> tuple[datetime, datetime]:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - 4 * DAY + timedelta(hours=5), datetime.now(UTC)


def _cached(store: Store, since: datetime, until: datetime) -> list[tuple[Any, ...]]:
    with store.read() as conn:
        return sorted(timeline.buckets(conn, since, until, STEP, JOBS))


def _fresh(store: Store, since: datetime, until: datetime) -> list[tuple[Any, ...]]:
    timeline.day_buckets.cache.clear()
    return _cached(store, since, until)


def _run(rng: random.Random, n: int, since: datetime) -> list[Event]:
    at = since + timedelta(seconds=rng.randrange(int(3.5 * 86400)))
    job = rng.choice(JOBS)
    events = [make_event(f"r{n}", "enqueued", at, {"job": job})]
    if rng.random() < 0.8:
        start = at + timedelta(seconds=rng.randrange(1, 7200))
        events.append(make_event(f"r{n}", "started", start, {"job": job}))
        if rng.random() < 0.8:
            outcome = rng.choice(["succeeded", "succeeded", "failed"])
            events.append(
                make_event(f"r{n}", outcome, start + timedelta(seconds=rng.randrange(1, 900)), {"job": job})
            )
    return events


def test_cached_days_equal_a_fresh_read_after_any_write(store: Store) -> None:
    recorder = Recorder(store)
    since, until = _window()
    rng = random.Random(7)
    pending: list[Event] = []
    for n in range(400):
        pending += _run(rng, n, since)
    rng.shuffle(pending)
    recorder.record(pending[:600])
    fresh = _fresh(store, since, until)
    assert fresh, "the window holds buckets"
    assert _cached(store, since, until) == fresh  # warm: the same rows from the cache
    # The rest arrives in small batches, out of order, some twice; after each, cache == fresh.
    rest = pending[600:]
    for start in range(0, len(rest), 150):
        recorder.record(rest[start : start + 150] + rng.sample(pending, 20))
        cached = _cached(store, since, until)
        assert cached == _fresh(store, since, until)
        _cached(store, since, until)  # warm again for the next round


def test_a_run_moved_between_hours_of_one_day_is_seen(store: Store) -> None:
    recorder = Recorder(store)
    since, until = _window()
    day = since.replace(hour=0) + 2 * DAY  # a whole day inside the window
    recorder.record(
        [make_event(f"other-{job}", "enqueued", day + timedelta(hours=9), {"job": job}) for job in JOBS]
    )
    recorder.record([make_event("moved", "enqueued", day + timedelta(hours=8, minutes=30), {"job": "job03"})])
    before = _fresh(store, since, until)
    assert _cached(store, since, until) == before
    # An earlier enqueue: the run is still pending, the day's sums do not change, its hour does.
    recorder.record([make_event("moved", "enqueued", day + timedelta(hours=1), {"job": "job03"})])
    after = _cached(store, since, until)
    assert after == _fresh(store, since, until)
    assert after != before
    night = int(day.timestamp())  # the 00:00 to 03:00 bucket holds it now
    moved = [row for row in after if row[0] == "job03" and row[1] == night]
    assert moved
    assert moved[0][2] == 1
