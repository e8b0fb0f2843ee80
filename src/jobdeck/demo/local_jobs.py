"""Real jobs for the demo: small Python commands the server's local executor starts on a schedule.

They work for 20 to 90 seconds (a little CPU, some memory) and sometimes fail with a traceback, so
the control center always has running runs that Stop really stops and failed ones Retry really reruns.
`LocalSchedule.run_once` starts the jobs that are due and returns their run ids; a thin thread calls it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from jobdeck.executors import Executor, Submission

# A command's whole program: work for a random while, then succeed or (sometimes) fail.
SCRIPT = """\
import random, sys, time
low, high, fail = map(float, sys.argv[1:4])
seconds = random.uniform(low, high)
block = b"x" * (random.randint(16, 64) << 20)
rows, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    rows += sum(range(50_000)) % 97 + 100
    time.sleep(0.5)
if random.random() < fail:
    raise TimeoutError(f"warehouse did not answer after {seconds:.0f} s ({rows} rows sent)")
print(f"exported {rows} rows")
"""


@dataclass(frozen=True)
class LocalJob:
    """A demo job: its name, how often it starts, how long it works and how often it fails."""

    name: str
    every: timedelta
    min_s: float
    max_s: float
    fail_rate: float
    queue: str = "local"

    def command(self) -> list[str]:
        return [sys.executable, "-c", SCRIPT, f"{self.min_s:g}", f"{self.max_s:g}", f"{self.fail_rate:g}"]


LOCAL_JOBS = (
    LocalJob("report_export", timedelta(seconds=60), 30, 90, 0.3),
    LocalJob("cache_warmup", timedelta(seconds=45), 20, 60, 0.2),
)


class LocalSchedule:
    """Starts each job through the executor when it is due: at once, then every `job.every`."""

    def __init__(self, executor: Executor, jobs: Sequence[LocalJob] = LOCAL_JOBS) -> None:
        self.executor, self.jobs = executor, jobs
        self._next: dict[str, datetime] = {}

    def run_once(self, now: datetime) -> list[str]:
        """Start the jobs due at `now`; the run ids started."""
        started = []
        for job in self.jobs:
            due = self._next.get(job.name, now)
            if due > now:
                continue
            self._next[job.name] = max(due + job.every, now)
            submission = Submission(job=job.name, args=job.command(), queue=job.queue)
            started.append(self.executor.submit(submission))
        return started
