"""The timeline's buckets over whole hours or days are kept between requests
(store.timeline.ChunkBuckets) and must always equal a fresh read of the cells, whatever writes land
in between — including a write that moves a run between two hours of one day (or two minutes of one
hour) and leaves the coarser cell's sums as they were (both backends)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobdeck.events import Event, make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store, timeline

JOBS = [f"job{i:02d}" for i in range(12)]  # more than FEW_JOBS: the cached path
# (step of the buckets, the window's length): 3-hour buckets from hour cells kept per day, and
# 5-minute buckets from minute cells kept per hour.
SHAPES = {"days": (3 * 3600, timedelta(days=4)), "hours": (300, timedelta(hours=30))}


def _window(length: timedelta) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - length, now


def _cached(store: Store, since: datetime, until: datetime, step: int) -> list[tuple[Any, ...]]:
    with store.read() as conn:
        return sorted(timeline.buckets(conn, since, until, step, JOBS))


def _fresh(store: Store, since: datetime, until: datetime, step: int) -> list[tuple[Any, ...]]:
    timeline.chunk_buckets.cache.clear()
    return _cached(store, since, until, step)


def _run(rng: random.Random, n: int, since: datetime, length: timedelta) -> list[Event]:
    span = length.total_seconds()
    at = since + timedelta(seconds=rng.randrange(int(span * 0.9)))
    job = rng.choice(JOBS)
    events = [make_event(f"r{n}", "enqueued", at, {"job": job})]
    if rng.random() < 0.8:
        start = at + timedelta(seconds=rng.randrange(1, int(span / 40)))
        events.append(make_event(f"r{n}", "started", start, {"job": job}))
        if rng.random() < 0.8:
            outcome = rng.choice(["succeeded", "succeeded", "failed"])
            end = start + timedelta(seconds=rng.randrange(1, int(span / 200)))
            events.append(make_event(f"r{n}", outcome, end, {"job": job}))
    return events


@pytest.mark.parametrize("shape", SHAPES)
def test_cached_buckets_equal_a_fresh_read_after_any_write(store: Store, shape: str) -> None:
    step, length = SHAPES[shape]
    recorder = Recorder(store)
    since, until = _window(length)
    rng = random.Random(7)
    pending: list[Event] = []
    for n in range(400):
        pending += _run(rng, n, since, length)
    rng.shuffle(pending)
    recorder.record(pending[:600])
    fresh = _fresh(store, since, until, step)
    assert fresh, "the window holds buckets"
    assert _cached(store, since, until, step) == fresh  # warm: the same rows from the cache
    # The rest arrives in small batches, out of order, some twice; after each, cache == fresh.
    rest = pending[600:]
    for start in range(0, len(rest), 150):
        recorder.record(rest[start : start + 150] + rng.sample(pending, 20))
        cached = _cached(store, since, until, step)
        assert cached == _fresh(store, since, until, step)
        _cached(store, since, until, step)  # warm again for the next round


@pytest.mark.parametrize(
    ("shape", "first", "earlier"),
    [
        # Enqueued at 08:30, then an enqueue at 01:00 arrives: the same day, another hour.
        ("days", timedelta(hours=8, minutes=30), timedelta(hours=1)),
        # Enqueued at :40, then an enqueue at :05 arrives: the same hour, another minute.
        ("hours", timedelta(minutes=40), timedelta(minutes=5)),
    ],
)
def test_a_run_moved_inside_a_chunk_is_seen(
    store: Store, shape: str, first: timedelta, earlier: timedelta
) -> None:
    step, length = SHAPES[shape]
    chunk = 86_400 if shape == "days" else 3600
    recorder = Recorder(store)
    since, until = _window(length)
    # A whole chunk inside the window: the second one after its start.
    start = datetime.fromtimestamp((int(since.timestamp()) // chunk + 2) * chunk, UTC)
    others = [make_event(f"other-{job}", "enqueued", start + first, {"job": job}) for job in JOBS]
    recorder.record(others)
    recorder.record([make_event("moved", "enqueued", start + first, {"job": "job03"})])
    before = _fresh(store, since, until, step)
    assert _cached(store, since, until, step) == before
    # An earlier enqueue: the run is still pending, the chunk's sums do not change, its cell does.
    recorder.record([make_event("moved", "enqueued", start + earlier, {"job": "job03"})])
    after = _cached(store, since, until, step)
    assert after == _fresh(store, since, until, step)
    assert after != before
    bucket = (int((start + earlier).timestamp()) // step) * step
    moved = [row for row in after if row[0] == "job03" and row[1] == bucket]
    assert moved
    assert moved[0][2] == 1
