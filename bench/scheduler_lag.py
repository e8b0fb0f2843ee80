"""Scheduler lag with 10,000 active schedules, and the CPU of the idle loop.

    python bench/scheduler_lag.py                       # a new SQLite file
    python bench/scheduler_lag.py --pg                  # a new PostgreSQL database
    python bench/scheduler_lag.py --minutes 3

Half the schedules are cron (`M * * * *` at a random minute, hourly, in a random time zone of five),
half intervals (every 60-600 s from a random start), so about 100 fire a minute at the top of
minutes and about 15 a second in between. The loop runs as `jobdeck serve` runs it, in its thread,
with a launcher that notes when it was handed each run instead of starting a process: the lag is
from a firing's scheduled time to that moment, which is what the scheduler adds (the claim, the
run's first event, the commit). Then the same store with every schedule due only next year: the
loop's CPU while idle, over a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import machine
from jobdeck.recorder import Recorder
from jobdeck.scheduler import book
from jobdeck.scheduler.launch import Launcher
from jobdeck.scheduler.loop import Scheduler
from jobdeck.scheduler.spec import ScheduleSpec
from jobdeck.store import Store

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]


class Noted(Launcher):
    """Notes when each run was handed over; starts nothing."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(recorder.record)
        self.handed: list[tuple[str, float]] = []

    def launch(self, run_id: str, spec: ScheduleSpec) -> None:
        self.handed.append((run_id, time.time()))


@contextlib.contextmanager
def fresh_store(pg: bool) -> Iterator[Store]:
    if not pg:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{Path(tmp) / 'lag.db'}")
            store.migrate()
            yield store
            store.close()
        return
    import psycopg

    name = f"jobdeck_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        store = Store(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
        store.migrate()
        yield store
        store.close()
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def specs(count: int, rnd: random.Random, now: datetime, idle: bool) -> list[ScheduleSpec]:
    made = []
    for i in range(count):
        body: dict[str, object] = {
            "name": f"s{i}",
            "job": f"job{i % 200}",
            "target": {"type": "command", "command": ["true"]},
        }
        if idle:
            body |= {"kind": "cron", "cron": "0 0 1 1 *", "timezone": rnd.choice(ZONES)}
        elif i % 2:
            body |= {"kind": "cron", "cron": f"{rnd.randrange(60)} * * * *", "timezone": rnd.choice(ZONES)}
        else:
            every = rnd.randrange(60, 601)
            start = now + timedelta(seconds=rnd.uniform(0, every))
            body |= {"kind": "interval", "every_s": every, "start_at": start.isoformat()}
        made.append(ScheduleSpec.model_validate(body))
    return made


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def lag_run(store: Store, count: int, minutes: float) -> None:
    rnd = random.Random(13)
    began = time.perf_counter()
    book.create_many(store, specs(count, rnd, datetime.now(UTC), idle=False))
    print(f"  {count} schedules made in {time.perf_counter() - began:.1f} s")
    recorder = Recorder(store)
    launcher = Noted(recorder)
    scheduler = Scheduler(store, recorder, launcher)
    started = datetime.now(UTC)
    scheduler.start_thread()
    time.sleep(minutes * 60)
    scheduler.stop_thread()
    with store.read() as conn:
        from sqlalchemy import select

        from jobdeck.store.schema import firings

        rows = conn.execute(select(firings.c.run_id, firings.c.scheduled_at)).all()
    scheduled = {run_id: at.timestamp() for run_id, at in rows if at >= started}
    lags = [handed - scheduled[run_id] for run_id, handed in launcher.handed if run_id in scheduled]
    print(f"  firings in {minutes:g} min: {len(lags)} ({len(lags) / (minutes * 60):.1f}/s)")
    print(
        f"  lag: p50 {statistics.median(lags) * 1000:.0f} ms, p95 {percentile(lags, 0.95) * 1000:.0f} ms, "
        f"p99 {percentile(lags, 0.99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms"
    )


def idle_run(store: Store, count: int, seconds: float) -> None:
    book.create_many(store, specs(count, random.Random(14), datetime.now(UTC), idle=True))
    recorder = Recorder(store)
    scheduler = Scheduler(store, recorder, Noted(recorder))
    thread_cpu: list[float] = []

    def serve() -> None:
        scheduler.serve()
        thread_cpu.append(time.thread_time())

    cpu0, wall0 = time.process_time(), time.perf_counter()
    thread = threading.Thread(target=serve)
    thread.start()
    time.sleep(seconds)
    scheduler.stop_thread_soon()
    thread.join()
    wall = time.perf_counter() - wall0
    print(
        f"  idle loop over {wall:.0f} s: {thread_cpu[0]:.2f} s CPU in its thread "
        f"({100 * thread_cpu[0] / wall:.2f} % of a core); process {time.process_time() - cpu0:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="a new PostgreSQL database instead of SQLite")
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    print(f"{'PostgreSQL' if args.pg else 'SQLite'}; {machine.describe()}")
    with fresh_store(args.pg) as store:
        lag_run(store, args.schedules, args.minutes)
    with fresh_store(args.pg) as store:
        idle_run(store, args.schedules, args.idle_seconds)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
