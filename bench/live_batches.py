"""What `jobdeck serve` spends a task on the batches an instrumented Celery worker sends: by hand.

    python bench/live_batches.py                   # a fresh SQLite store in a temporary folder
    python bench/live_batches.py --profile 25      # and the 25 functions that took the most time

The batches are the SDK's own: `bench/sdk_events.py`'s loop (Celery's publish signals, then the
worker's prerun/success/postrun of `bench.add`, through `instrument(app)` and the SDK's sender)
collected as the sender hands them to its transport (up to 500 events, a run's start and outcome
mostly in the same batch). The publish batches (one `enqueued` event a task) are recorded first, as
a server has them before any worker starts; then the worker's batches are timed through the steps
of POST /api/v1/events (the HTTP layer left out): decoding and validating the JSON body, masking,
the seal check, and recording. Printed: µs a task for each step, and events and bytes a task.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent


class Batches:
    """A transport that keeps each batch's body as the HTTP transport would send it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def send(self, events: Sequence[dict[str, Any]]) -> None:
        self.bodies.append(json.dumps(list(events), separators=(",", ":")).encode())

    def close(self) -> None:
        pass


def sdk_batches(tasks: int) -> tuple[list[bytes], list[bytes]]:
    """(publish batches, worker batches) of `tasks` tasks, as the SDK sends them."""
    sys.path.insert(0, str(BENCH_DIR))
    from celery import Celery

    import sdk_events
    from jobdeck import sdk
    from jobdeck.integrations.celery import instrument
    from jobdeck.integrations.celery.instrumentation import uninstrument

    app = Celery("live_batches", broker="memory://")
    published, worked = Batches(), Batches()
    spool = tempfile.mkdtemp(prefix="live-batches-spool-")
    instrument(app)
    sdk.configure(transport=published, spool_dir=spool, heartbeat_interval_s=0)
    sdk_events.publish_loop(tasks, ids=[f"task-{i}" for i in range(tasks)])
    assert sdk.flush(60)
    sdk.configure(transport=worked, spool_dir=spool, heartbeat_interval_s=0)
    sdk_events.worker_loop(sdk_events.FakeTask(app), tasks, ids=[f"task-{i}" for i in range(tasks)])
    assert sdk.flush(60)
    sdk.shutdown(5)
    uninstrument(app)
    return published.bodies, worked.bodies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--db", help="a store URL (default: a new SQLite file in a temporary folder)")
    parser.add_argument("--profile", type=int, default=0, help="print this many functions of a profile")
    args = parser.parse_args()

    import machine
    from jobdeck.auth import sealed
    from jobdeck.auth.masking import mask_events
    from jobdeck.recorder import Recorder
    from jobdeck.store import Store
    from jobdeck.web.api.ingest import decode_events

    published, worked = sdk_batches(args.tasks)
    store = Store(args.db or f"sqlite:///{tempfile.mkdtemp(prefix='live-batches-')}/jobdeck.db")
    store.migrate()
    recorder = Recorder(store)
    for body in published:
        recorder.record(decode_events(body, 50_000).events)
    steps = {"decode": 0.0, "mask": 0.0, "seal check": 0.0, "record": 0.0}
    profile = cProfile.Profile() if args.profile else None
    cpu = time.process_time()
    for body in worked:
        if profile is not None:
            profile.enable()
        began = time.perf_counter()
        events = decode_events(body, 50_000).events
        decoded = time.perf_counter()
        events = mask_events(events, recorder.mask_keys)
        masked = time.perf_counter()
        sealed.check(store, events)
        checked = time.perf_counter()
        recorder.record(events)
        done = time.perf_counter()
        if profile is not None:
            profile.disable()
        times = (decoded - began, masked - decoded, checked - masked, done - checked)
        for name, seconds in zip(steps, times, strict=True):
            steps[name] += seconds
    cpu = time.process_time() - cpu
    events_sent = sum(len(json.loads(body)) for body in worked)
    sizes = [len(json.loads(body)) for body in worked]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {store.backend}, {machine.describe()}")
    print(
        f"{args.tasks:,} tasks: {len(worked)} worker batches (median {statistics.median(sizes):.0f} events),"
        f" {events_sent / args.tasks:.2f} events and {sum(map(len, worked)) / args.tasks:.0f} bytes a task"
    )
    for name, seconds in steps.items():
        print(f"  {name:10s} {seconds * 1e6 / args.tasks:7.1f} µs a task")
    total = sum(steps.values()) * 1e6 / args.tasks
    print(f"  {'all':10s} {total:7.1f} µs a task ({cpu * 1e6 / args.tasks:.1f} µs of CPU)")
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)
    store.close()


if __name__ == "__main__":
    main()
