"""The demo's real local jobs: started on their schedule, and their command works or fails for real."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from jobdeck.demo.local_jobs import LOCAL_JOBS, LocalSchedule
from jobdeck.executors import Refusal, RunInfo, Submission

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Submissions:
    """An executor that only notes what it was asked to start."""

    source = "local"

    def __init__(self) -> None:
        self.started: list[Submission] = []

    def why_not_submit(self, submission: Submission) -> Refusal | None:
        return None

    def submit(self, submission: Submission) -> str:
        self.started.append(submission)
        return submission.run_id

    def why_not_cancel(self, run: RunInfo) -> Refusal | None:
        return Refusal("not here")

    def why_not_terminate(self, run: RunInfo) -> Refusal | None:
        return Refusal("not here")

    def cancel(self, run: RunInfo) -> str:
        raise NotImplementedError

    def terminate(self, run: RunInfo) -> str:
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_each_job_starts_at_once_then_on_its_interval() -> None:
    executor = Submissions()
    schedule = LocalSchedule(executor)
    assert len(schedule.run_once(T0)) == len(LOCAL_JOBS)
    assert schedule.run_once(T0 + timedelta(seconds=30)) == []
    for job in sorted(LOCAL_JOBS, key=lambda job: job.every):
        before = len(executor.started)
        schedule.run_once(T0 + job.every)
        assert [s.job for s in executor.started[before:]] == [job.name]
    assert all(s.queue == "local" and s.args and s.retry_of is None for s in executor.started)
    # A long pause does not start a burst of catch-up runs.
    before = len(executor.started)
    schedule.run_once(T0 + timedelta(hours=1))
    assert len(executor.started) - before == len(LOCAL_JOBS)


def test_the_command_works_then_succeeds_or_fails_with_a_traceback() -> None:
    quick = replace(LOCAL_JOBS[0], min_s=0.1, max_s=0.2)
    ok = subprocess.run(replace(quick, fail_rate=0).command(), capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0
    assert ok.stdout.startswith("exported ")
    bad = subprocess.run(replace(quick, fail_rate=1).command(), capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1
    assert bad.stderr.startswith("Traceback")
    assert "TimeoutError: warehouse did not answer" in bad.stderr
