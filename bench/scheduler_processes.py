"""Several `jobdeck scheduler` processes on one PostgreSQL store firing an every-second schedule.

    python bench/scheduler_processes.py                 # 2 and 3 processes, a minute each
    python bench/scheduler_processes.py --seconds 120 --processes 3

For each count: a new database, the processes started (and ready), then a schedule firing every
second for the given time. Prints how many seconds fired once, twice or not at all, the lag from
the scheduled second to the firing, and how many of the runs started (a process id recorded).
The suite runs the same for 20 s (tests/acceptance/test_scheduler_processes.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

import machine
from jobdeck.scheduler import book
from jobdeck.scheduler.loop import MAX_SLEEP_S
from jobdeck.scheduler.spec import ScheduleSpec
from jobdeck.store import Store
from jobdeck.store.schema import firings, runs

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
JOBDECK = str(Path(sys.executable).with_name("jobdeck"))


def one(count: int, seconds: int) -> None:
    import psycopg

    name = f"jobdeck_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    store = Store(url)
    store.migrate()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_")}
    processes = [
        subprocess.Popen([JOBDECK, "scheduler", "--db", url], env=env, stderr=subprocess.PIPE)
        for _ in range(count)
    ]
    try:
        for process in processes:
            assert process.stderr is not None
            process.stderr.readline()  # ready
        start = (datetime.now(UTC) + timedelta(seconds=MAX_SLEEP_S + 1)).replace(microsecond=0)
        spec = ScheduleSpec.model_validate(
            {
                "name": "every second",
                "kind": "interval",
                "every_s": 1,
                "start_at": start.isoformat(),
                "end_at": (start + timedelta(seconds=seconds - 1)).isoformat(),
                "misfire": "catch_up",
                "target": {"type": "command", "command": ["true"]},
            }
        )
        schedule_id = book.create(store, spec)["id"]
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + seconds + 5)
        with store.read() as conn:
            fired = conn.execute(
                select(firings.c.scheduled_at, firings.c.fired_at, runs.c.pid)
                .select_from(firings.outerjoin(runs, runs.c.run_id == firings.c.run_id))
                .where(firings.c.schedule_id == schedule_id)
            ).all()
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(20)
        store.close()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    per_second = Counter(row.scheduled_at for row in fired)
    expected = [start + timedelta(seconds=s) for s in range(seconds)]
    missed = [at for at in expected if at not in per_second]
    twice = [at for at, n in per_second.items() if n > 1]
    lags = sorted((row.fired_at - row.scheduled_at).total_seconds() for row in fired)
    print(
        f"  {count} processes, {seconds} s: {len(per_second)} seconds fired, {len(twice)} twice, "
        f"{len(missed)} missed; lag p50 {statistics.median(lags) * 1000:.0f} ms, "
        f"max {lags[-1] * 1000:.0f} ms; {sum(row.pid is not None for row in fired)} runs started"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--processes", type=int, nargs="*", default=[2, 3])
    args = parser.parse_args()
    print(f"PostgreSQL; {machine.describe()}")
    for count in args.processes:
        one(count, args.seconds)


if __name__ == "__main__":
    main()
