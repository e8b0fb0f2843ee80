"""Concurrent writers on one PostgreSQL store: two `jobdeck serve` processes, overlapping runs.

    python bench/concurrent_writers.py --runs 3000 --writers 4

Makes a fresh database (dropped at the end), starts two servers on it, and has several writer
threads post the events of the same runs — each writer its own shuffled order, batches going to
the two servers in turn — so both servers create and change the same runs at once. Prints the
batches a second, the batch latency's median and p99, and the errors; then checks the stored runs
against the fold of everything sent and runs `verify-rollups`. The test
tests/acceptance/test_concurrent_serve.py drives the same load, smaller.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx

JOBDECK = str(Path(sys.executable).with_name("jobdeck"))
ADMIN_URL = os.environ.get("JOBDECK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

Wire = dict[str, Any]


def workload(runs: int, seed: int) -> dict[str, list[Wire]]:
    """The wire events of `runs` runs by run id: enqueued, started, progress and an outcome each."""
    rnd = random.Random(seed)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    out: dict[str, list[Wire]] = {}
    for i in range(runs):
        run_id, job = f"load-{i}", f"job{i % 7}"
        at = base + timedelta(seconds=i % 3600)
        outcome = rnd.choice(["succeeded", "succeeded", "failed"])
        out[run_id] = [
            {"run_id": run_id, "event": "enqueued", "job": job, "at": at.isoformat()},
            {"run_id": run_id, "event": "started", "job": job, "worker": f"w{i % 3}",
             "at": (at + timedelta(seconds=1)).isoformat()},
            {"run_id": run_id, "event": "progress", "job": job, "items_succeeded": i % 50,
             "at": (at + timedelta(seconds=2)).isoformat()},
            {"run_id": run_id, "event": outcome, "job": job,
             "at": (at + timedelta(seconds=3 + i % 40)).isoformat()},
        ]  # fmt: skip
        if outcome == "failed":
            out[run_id][-1]["error_type"] = "E"
    return out


def streams(per_run: dict[str, list[Wire]], writers: int, seed: int) -> list[list[Wire]]:
    """Each writer's order of events: every event of every run, shuffled its own way, so the
    writers send events of the same runs at the same time and in different orders."""
    rnd = random.Random(seed)
    everything = [event for events in per_run.values() for event in events]
    out = []
    for _ in range(writers):
        stream = list(everything)
        rnd.shuffle(stream)
        out.append(stream)
    return out


@dataclass
class Outcome:
    """What the writers saw."""

    batches: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def drive(bases: Sequence[str], plans: Sequence[list[Wire]], batch: int) -> Outcome:
    """Post each plan from its own thread in batches of `batch`, to the servers in turn."""
    outcome = Outcome()
    guard = threading.Lock()

    def write(number: int, plan: list[Wire]) -> None:
        clients = [httpx.Client(base_url=base, timeout=60) for base in bases]
        try:
            for i, start in enumerate(range(0, len(plan), batch)):
                client = clients[(i + number) % len(clients)]
                began = time.perf_counter()
                try:
                    answer = client.post("/api/v1/events", json=plan[start : start + batch])
                    problem = (
                        None if answer.status_code == 202 else f"{answer.status_code} {answer.text[:200]}"
                    )
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                took = time.perf_counter() - began
                with guard:
                    outcome.batches += 1
                    outcome.latencies.append(took)
                    if problem:
                        outcome.errors.append(problem)
        finally:
            for client in clients:
                client.close()

    threads = [threading.Thread(target=write, args=(n, plan)) for n, plan in enumerate(plans)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.elapsed_s = time.perf_counter() - began
    return outcome


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def fresh_database(admin_url: str = ADMIN_URL) -> Iterator[str]:
    """A new PostgreSQL database for the block (dropped after); yields its URL."""
    import psycopg

    name = f"jobdeck_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clean_env() -> dict[str, str]:
    kept = {"JOBDECK_CONTROL_KEY_FILE"}
    return {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_") or k in kept}


@contextmanager
def server(db: str, cwd: Path, ready_within: float = 60) -> Iterator[str]:
    """`jobdeck serve` on a free port until /api/health answers; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [JOBDECK, "serve", "--db", db, "--port", str(port)],
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jobdeck serve exited with {proc.returncode}: {proc.communicate()[1]}")
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jobdeck serve did not answer within {ready_within} s")
            time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def migrate(db: str, cwd: Path) -> None:
    """Migrate once before the servers start, so they do not race to create the schema."""
    subprocess.run(
        [JOBDECK, "migrate", "--db", db], cwd=cwd, env=clean_env(), check=True, capture_output=True
    )


def main() -> None:
    import tempfile

    import machine

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    per_run = workload(args.runs, args.seed)
    plans = streams(per_run, args.writers, args.seed)
    print(machine.describe())
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.admin_url) as db, ExitStack() as stack:
        cwd = Path(tmp)
        migrate(db, cwd)
        bases = [stack.enter_context(server(db, cwd)) for _ in range(2)]
        outcome = drive(bases, plans, args.batch)
        events = sum(len(plan) for plan in plans)
        print(
            f"{args.writers} writers, 2 servers, {args.runs} runs, {events} events in {outcome.batches} "
            f"batches of {args.batch}: {outcome.batches / outcome.elapsed_s:.0f} batches/s "
            f"({events / outcome.elapsed_s:.0f} events/s), "
            f"latency median {statistics.median(outcome.latencies) * 1000:.0f} ms, "
            f"p99 {outcome.p(0.99) * 1000:.0f} ms, errors {len(outcome.errors)}"
        )
        for problem in sorted(set(outcome.errors))[:5]:
            print("  error:", problem)
        check = subprocess.run(
            [JOBDECK, "verify-rollups", "--db", db], cwd=cwd, env=clean_env(), capture_output=True, text=True
        )
        print(f"verify-rollups: exit {check.returncode} {check.stdout.strip()[-200:]}")


if __name__ == "__main__":
    main()
