"""What instrumented mode costs a Celery process a task, without a broker or a server: by hand.

    python bench/sdk_events.py                 # this checkout
    python bench/sdk_events.py --ref main      # and the same against `main`, with the ratio

The worker's side of a trivial task: Celery's task_prerun, task_success (while something
listens) and task_postrun signals sent as a worker sends them (`bench.add(i, i)` returning an
int), to an app with `instrument(app)`;
the producer's side: before/after_task_publish as `apply_async` sends them. Events go through the
SDK's real sender thread and HTTP transport (its JSON encoding of each batch and httpx's request),
to an httpx mock transport that answers 202, so no server and no network are timed.

Printed a task: the CPU of the signal handlers (the calling thread), of the whole process (the
handlers and the sender thread, once every event is delivered), the same loop with nothing
connected (Celery's own signal sending, to subtract), and the bytes sent. `--ref REV` runs the same
script again on the package as it is at git revision REV (unpacked to a temporary directory) and
prints new ÷ old.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


class FakeRequest:
    def __init__(self, task_id: str) -> None:
        self.id = task_id
        self.hostname = "celery@bench"
        self.delivery_info = {"routing_key": "bench", "exchange": ""}


class FakeTask:
    """What a worker's signal handlers read of a task: its name, app and current request."""

    def __init__(self, app: Any) -> None:
        self.name = "bench.add"
        self.app = app
        self.request = FakeRequest("")


def counting_transport(sent: list[int]) -> Any:
    """The SDK's HTTP transport, answered 202 in process; `sent` gets each body's size in bytes."""
    import httpx2 as httpx

    from jobdeck.sdk.transport import HttpTransport

    def answer(request: Any) -> Any:
        sent.append(len(request.content))
        return httpx.Response(202, json={"accepted": 1})

    return HttpTransport(
        "http://jobdeck.invalid", None, client=httpx.Client(transport=httpx.MockTransport(answer))
    )


def worker_loop(task: FakeTask, tasks: int, ids: list[str] | None = None) -> None:
    from celery import signals

    for i in range(tasks):
        task_id = ids[i] if ids else str(uuid.uuid4())
        task.request = FakeRequest(task_id)
        args, kwargs = (i, i), {}
        signals.task_prerun.send(sender=task, task_id=task_id, task=task, args=args, kwargs=kwargs)
        if signals.task_success.receivers:  # as Celery's tracer: not sent when nothing listens
            signals.task_success.send(sender=task, result=i + i)
        signals.task_postrun.send(
            sender=task, task_id=task_id, task=task, args=args, kwargs=kwargs, retval=i + i, state="SUCCESS"
        )


def publish_loop(tasks: int, ids: list[str] | None = None) -> None:
    from celery import signals

    for i in range(tasks):
        task_id = ids[i] if ids else str(uuid.uuid4())
        headers = {"id": task_id, "task": "bench.add", "retries": 0, "eta": None, "root_id": task_id}
        headers.update(parent_id=None, group=None)
        properties = {"priority": 0}
        body = ((i, i), {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None})
        signals.before_task_publish.send(
            sender="bench.add", body=body, exchange="", routing_key="bench", headers=headers,
            properties=properties, declare=[], retry_policy=None,
        )  # fmt: skip
        signals.after_task_publish.send(
            sender="bench.add", body=body, exchange="", routing_key="bench", headers=headers
        )


def timed(loop: Any, flush: bool) -> tuple[float, float]:
    """(thread CPU s, process CPU s) of `loop()`, the process's including delivery when `flush`."""
    from jobdeck import sdk

    thread0, process0 = time.thread_time(), time.process_time()
    loop()
    thread = time.thread_time() - thread0
    if flush:
        assert sdk.flush(60), "events not delivered"
    return thread, time.process_time() - process0


def measure(tasks: int, repeat: int) -> dict[str, Any]:
    from celery import Celery

    from jobdeck import sdk
    from jobdeck.integrations.celery import instrument
    from jobdeck.integrations.celery.instrumentation import uninstrument

    app = Celery("sdk_events_bench", broker="memory://")
    task = FakeTask(app)
    sent: list[int] = []
    spool = Path(tempfile.mkdtemp(prefix="sdk-events-spool-"))
    sdk.configure(transport=counting_transport(sent), spool_dir=spool, heartbeat_interval_s=0)
    figures: dict[str, list[float]] = {name: [] for name in ("bare", "handlers", "process", "publish")}
    for _ in range(repeat):
        figures["bare"].append(timed(lambda: worker_loop(task, tasks), flush=False)[1])
        instrument(app)
        timed(lambda: worker_loop(task, 200), flush=True)  # warm: imports, the sender thread
        del sent[:]
        thread_s, process_s = timed(lambda: worker_loop(task, tasks), flush=True)
        figures["handlers"].append(thread_s)
        figures["process"].append(process_s)
        figures["publish"].append(timed(lambda: publish_loop(tasks), flush=True)[1])
        uninstrument(app)
    sdk.shutdown(5)
    per_task = {name: statistics.median(values) * 1e6 / tasks for name, values in figures.items()}
    bare = per_task.pop("bare")
    return {
        "tasks": tasks,
        "repeat": repeat,
        "bare_us": round(bare, 2),
        "handlers_us": round(per_task["handlers"] - bare, 2),
        "process_us": round(per_task["process"] - bare, 2),
        "publish_us": round(per_task["publish"], 2),
        "bytes_per_task": round(sum(sent) / (2 * tasks), 1),
    }


def run_at(ref: str, tasks: int, repeat: int) -> dict[str, Any]:
    """This script's figures for the package as it is at git revision `ref`."""
    git = shutil.which("git")
    assert git is not None, "--ref needs git"
    with tempfile.TemporaryDirectory(prefix="sdk-events-ref-") as where:
        archive = subprocess.run(
            [git, "-C", str(REPO), "archive", ref, "src/jobdeck"], check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(where, filter="data")
        env = {**os.environ, "PYTHONPATH": str(Path(where) / "src")}
        out = subprocess.run(
            [sys.executable, __file__, "--tasks", str(tasks), "--repeat", str(repeat), "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return dict(json.loads(out))


def line(name: str, figures: dict[str, Any]) -> str:
    return (
        f"{name:>8}: worker handlers {figures['handlers_us']:6.1f} µs a task, with the sender"
        f" {figures['process_us']:6.1f} µs; publish {figures['publish_us']:6.1f} µs;"
        f" {figures['bytes_per_task']:.0f} bytes an event (Celery alone {figures['bare_us']:.1f} µs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks a repeat")
    parser.add_argument("--repeat", type=int, default=3, help="repeats (the median is printed)")
    parser.add_argument("--ref", help="also measure the package at this git revision, and compare")
    parser.add_argument("--json", action="store_true", help="print this checkout's figures as JSON")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    if args.json:
        print(json.dumps(measure(args.tasks, args.repeat)))
        return
    sys.path.insert(0, str(BENCH_DIR))
    import machine

    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine.describe()}, load {os.getloadavg()}"
    )
    new = measure(args.tasks, args.repeat)
    print(line("this", new))
    if args.ref:
        old = run_at(args.ref, args.tasks, args.repeat)
        print(line(args.ref, old))
        for key in ("handlers_us", "process_us", "publish_us"):
            print(f"{key}: {new[key] / old[key]:.2f} of {args.ref}'s (÷ {old[key] / new[key]:.1f})")


if __name__ == "__main__":
    main()
