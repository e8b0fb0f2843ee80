"""The demo workload as a pure function of (profiles, seed, time range): no clock, no I/O.

Every job has slots (every 5 minutes, hourly, …) aligned to the epoch, as cron-like schedules are.
All that happens in one slot — the run, its queue wait, progress, outcome, a Celery retry under the
same task id, new runs retrying a failure — is drawn from a random generator seeded by (seed, job,
slot). So a slot's events never depend on which range asked for them: backfilling a week in one call
and streaming it second by second give the same events, and a restarted demo with the same seed
re-sends events the store already has (which the recorder ignores) instead of inventing new runs.
"""

from __future__ import annotations

import math
import random
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jobdeck.demo.failures import Failure, failure_for, time_limit_exceeded
from jobdeck.demo.profiles import PROFILES, WORKERS, JobProfile, Worker
from jobdeck.domain import EventKind
from jobdeck.events import EventIn

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# In-run signals: a progress event every `duration / PROGRESS_STEPS` (at least PROGRESS_MIN_S apart),
# and a heartbeat a minute for runs longer than HEARTBEAT_AFTER_S.
PROGRESS_STEPS = 8
PROGRESS_MIN_S = 15.0
HEARTBEAT_EVERY_S = 60.0
HEARTBEAT_AFTER_S = 300.0
MAX_HEARTBEATS = 120


@dataclass(frozen=True)
class PlannedRun:
    """One run and all its events, some of which may lie in the future."""

    run_id: str
    job: str
    events: tuple[EventIn, ...]

    @property
    def ends_at(self) -> datetime:
        return self.events[-1].at or _EPOCH


@dataclass
class _Items:
    succeeded: int
    failed: int
    skipped: int

    def part(self, fraction: float) -> dict[str, int]:
        """The counts reported after `fraction` of the work."""
        return {
            "items_succeeded": int(self.succeeded * fraction),
            "items_failed": int(self.failed * fraction),
            "items_skipped": int(self.skipped * fraction),
        }


@dataclass
class _Attempt:
    """What the planner decided for one run, before it becomes events."""

    run_id: str
    events: list[EventIn] = field(default_factory=list)
    failed_at: datetime | None = None

    def add(self, kind: EventKind, at: datetime, **fields: Any) -> None:
        self.events.append(EventIn(run_id=self.run_id, event=kind, at=at, **fields))


def slots(profile: JobProfile, since: datetime, until: datetime) -> Iterator[datetime]:
    """The starts of the job's slots in [since, until), aligned to the epoch."""
    every = profile.every.total_seconds()
    first = math.ceil((since - _EPOCH).total_seconds() / every)
    slot = _EPOCH + timedelta(seconds=first * every)
    while slot < until:
        yield slot
        slot += profile.every


def slot_rng(seed: int, profile: JobProfile, slot: datetime) -> random.Random:
    """The random generator of one slot: the same for the same seed, job and slot."""
    return random.Random(f"{seed}:{profile.name}:{int((slot - _EPOCH).total_seconds())}")


def plan_slot(profile: JobProfile, slot: datetime, seed: int) -> list[PlannedRun]:
    """The runs one slot of the job produces: none, one, or one and the runs retrying it."""
    rng = slot_rng(seed, profile, slot)
    if not profile.scheduled:
        if rng.random() >= profile.chance:
            return []
        enqueued = slot + timedelta(seconds=rng.uniform(0, profile.every.total_seconds()))
    else:
        # Celery beat sends the task a moment after the minute turns.
        enqueued = slot + timedelta(seconds=rng.uniform(0.005, 0.9))
    schedule_id = f"beat:{profile.name}" if profile.scheduled else None
    planned: list[PlannedRun] = []
    parent: str | None = None
    eta: datetime | None = None
    for attempt in range(profile.max_retries + 1):
        run = _plan_run(profile, rng, enqueued, parent=parent, eta=eta, schedule_id=schedule_id)
        planned.append(PlannedRun(run.run_id, profile.name, tuple(run.events)))
        if run.failed_at is None or attempt == profile.max_retries or rng.random() >= profile.retry_rate:
            break
        # Retried from jobdeck as a new run, with a countdown that doubles each time.
        parent = run.run_id
        enqueued = run.failed_at + timedelta(seconds=rng.uniform(0.05, 0.5))
        eta = enqueued + timedelta(seconds=60 * 2**attempt * rng.uniform(0.8, 1.2))
    return planned


def plan(profiles: Iterable[JobProfile], seed: int, since: datetime, until: datetime) -> list[PlannedRun]:
    """Every run of every slot starting in [since, until)."""
    return [
        run
        for profile in profiles
        for slot in slots(profile, since, until)
        for run in plan_slot(profile, slot, seed)
    ]


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(sigma * rng.gauss(0.0, 1.0))


def _worker_for(profile: JobProfile, rng: random.Random) -> Worker:
    return rng.choice([w for w in WORKERS if profile.queue in w.queues])


def _pid(worker: Worker, at: datetime, rng: random.Random) -> int:
    """A prefork child's pid: the pool's base changes when the worker restarts (daily), children vary."""
    base = 1000 + zlib.crc32(f"{worker.name}:{at.date()}".encode()) % 50_000
    return base + rng.randint(1, 8)


def _arguments(profile: JobProfile, rng: random.Random) -> dict[str, Any]:
    if profile.name == "clip_sync":
        return {"args": [rng.randint(0, 15)], "kwargs": {"lookback_minutes": 30}}
    if profile.name == "product_sync":
        return {"args": [], "kwargs": {"supplier_id": rng.choice((3, 7, 12, 19, 24)), "full": False}}
    if profile.name == "embedding_generation":
        first = rng.randint(1_000_000, 9_000_000)
        return {"args": [], "kwargs": {"clip_ids": [first + i for i in range(rng.randint(1, 5))]}}
    if profile.name == "inventory_sync":
        return {"args": [], "kwargs": {"warehouse": rng.choice(("ams-1", "fra-2", "lon-1"))}}
    return {"args": [], "kwargs": {}}


def _items(profile: JobProfile, rng: random.Random) -> _Items:
    total = max(0, round(_lognormal(rng, profile.items_median, 0.4)))
    failed = min(total, round(total * profile.item_failure_rate * rng.uniform(0.2, 1.8)))
    skipped = min(total - failed, round(total * profile.item_skip_rate * rng.uniform(0.5, 1.5)))
    return _Items(total - failed - skipped, failed, skipped)


def _plan_run(
    profile: JobProfile,
    rng: random.Random,
    enqueued: datetime,
    *,
    parent: str | None,
    eta: datetime | None,
    schedule_id: str | None,
) -> _Attempt:
    run = _Attempt(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    fields: dict[str, Any] = {
        "job": profile.name,
        "queue": profile.queue,
        "priority": profile.priority,
        "source": "celery",
        "max_retries": profile.max_retries,
        "labels": {"app": profile.app, "env": "demo"},
        **_arguments(profile, rng),
    }
    if parent is not None:
        fields["parent_run_id"] = parent
    if schedule_id is not None:
        fields["schedule_id"] = schedule_id
    if eta is not None:
        fields["eta"] = eta
    run.add(EventKind.ENQUEUED, enqueued, **fields)

    # Queue wait; now and then the queue is backed up and the wait is ten times longer.
    wait = _lognormal(rng, profile.wait_median_s, 0.9) * (10 if rng.random() < 0.02 else 1)
    started = max(enqueued, eta or enqueued) + timedelta(seconds=wait)
    worker = _worker_for(profile, rng)
    where = {"worker": worker.name, "host": worker.host, "pid": _pid(worker, started, rng)}
    items = _items(profile, rng)

    if rng.random() < profile.inline_retry_rate:
        # A transient error: the task calls self.retry() and runs again under the same id.
        transient = failure_for(profile.name, rng)
        run.add(EventKind.STARTED, started, attempt=1, **where)
        hit = started + timedelta(
            seconds=_lognormal(rng, profile.median_s, profile.sigma) * rng.uniform(0.1, 0.6)
        )
        countdown = timedelta(seconds=rng.uniform(30, 120))
        reason = f"{transient.error_type}: {transient.message.splitlines()[0]}"[:500]
        run.add(EventKind.RETRYING, hit, eta=hit + countdown, labels={"retry_reason": reason})
        started = hit + countdown + timedelta(seconds=_lognormal(rng, profile.wait_median_s, 0.9))
        worker = _worker_for(profile, rng)
        where = {"worker": worker.name, "host": worker.host, "pid": _pid(worker, started, rng)}
        run.add(EventKind.STARTED, started, attempt=2, **where)
    else:
        run.add(EventKind.STARTED, started, attempt=1, **where)

    duration = _lognormal(rng, profile.median_s, profile.sigma)
    stuck = rng.random() < profile.stuck_rate
    failure: Failure | None = None
    if stuck:
        # Hung on a dead connection: signals stop a few minutes in; the hard time limit kills it.
        duration = profile.time_limit_s + rng.uniform(0.1, 2.0)
        alive = rng.uniform(60, 300)
        failure = time_limit_exceeded(profile.time_limit_s)
    else:
        alive = duration
        if rng.random() < profile.failure_rate:
            failure = failure_for(profile.name, rng)
            duration *= rng.uniform(0.05, 1.0)
            alive = duration
    finished = started + timedelta(seconds=duration)
    done = 1.0 if failure is None else rng.uniform(0.0, 0.9)

    step = max(PROGRESS_MIN_S, duration / PROGRESS_STEPS)
    at = step
    while at < alive:
        run.add(EventKind.PROGRESS, started + timedelta(seconds=at), **items.part(done * at / duration))
        at += step
    if duration > HEARTBEAT_AFTER_S:
        beat = HEARTBEAT_EVERY_S
        while beat < alive and beat <= HEARTBEAT_EVERY_S * MAX_HEARTBEATS:
            run.add(EventKind.HEARTBEAT, started + timedelta(seconds=beat))
            beat += HEARTBEAT_EVERY_S

    resources = {
        "cpu_s": round(duration * rng.uniform(0.2, 0.9), 3),
        "max_rss_mb": round(rng.uniform(120, 900), 1),
    }
    if failure is None:
        result = {"processed": items.succeeded + items.failed + items.skipped}
        run.add(EventKind.SUCCEEDED, finished, result=result, **items.part(1.0), **resources)
    else:
        run.add(
            EventKind.FAILED,
            finished,
            error_type=failure.error_type,
            error_message=failure.message,
            traceback=failure.traceback,
            **items.part(done),
            **resources,
        )
        run.failed_at = finished
    run.events.sort(key=lambda e: e.at or _EPOCH)
    return run


class Stream:
    """The workload's events in time order, handed out as a moving `now` passes them.

    `advance(now)` plans the slots that began since the last call and returns the events (of those
    and of runs still under way) whose time is in [last now, now). Backfilling is one call with `now`
    a week after `start`; streaming live is a call every second or so.
    """

    def __init__(self, start: datetime, seed: int, profiles: Iterable[JobProfile] = PROFILES) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.profiles = tuple(profiles)
        self.seed = seed
        self.until = start
        self._open: list[PlannedRun] = []

    @property
    def open_runs(self) -> int:
        """Runs with events still to come."""
        return len(self._open)

    def advance(self, now: datetime) -> list[EventIn]:
        """The events in [the previous now, now), in time order."""
        if now <= self.until:
            return []
        since, self.until = self.until, now
        self._open += plan(self.profiles, self.seed, since, now)
        due = [e for run in self._open for e in run.events if since <= (e.at or _EPOCH) < now]
        self._open = [run for run in self._open if run.ends_at >= now]
        due.sort(key=lambda e: e.at or _EPOCH)
        return due
