"""The local executor on real subprocesses: outcomes, exit codes, the stderr tail, CPU and memory,
stopping (SIGTERM, then SIGKILL after the grace period), heartbeats, and the command's seal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from jobdeck.domain import EventKind, Status
from jobdeck.events import Event, RunState, fold
from jobdeck.executors import Refused, RunInfo, Submission
from jobdeck.executors.local import RUN_ID_ENV, LocalExecutor
from jobdeck.executors.local_process import STDERR_TAIL_BYTES

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")


class Events:
    """A sink that keeps what the executor records."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, batch: Sequence[Event]) -> None:
        self.events.extend(batch)

    def of(self, run_id: str) -> list[Event]:
        return [e for e in self.events if e.run_id == run_id]

    def kinds(self, run_id: str) -> list[EventKind]:
        return [e.kind for e in self.of(run_id)]

    def run(self, run_id: str) -> RunState:
        return fold(run_id, self.of(run_id))


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def executor(events: Events, tmp_path: Path) -> Iterator[LocalExecutor]:
    executor = LocalExecutor(events, grace_s=0.5, heartbeat_s=0.2, key_file=tmp_path / "key")
    yield executor
    executor.close()


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def started(executor: LocalExecutor, command: list[str], **fields: Any) -> Any:
    return executor.start(Submission(job="unit", args=command, **fields))


def test_a_command_that_exits_0_succeeds_with_its_cpu_and_memory(
    executor: LocalExecutor, events: Events
) -> None:
    # 150 MB is more than the test process: the child's own peak, not what it inherited from us.
    process = started(
        executor,
        python("""
            import time
            block = b"x" * (150 << 20)
            end = time.process_time() + 0.3
            while time.process_time() < end:
                pass
        """),
        queue="nightly",
    )
    outcome = process.wait(30)
    assert outcome is not None
    assert outcome.status is Status.SUCCEEDED
    assert outcome.exit_status == 0
    kinds = [k for k in events.kinds(process.run_id) if k is not EventKind.HEARTBEAT]
    assert kinds == [EventKind.ENQUEUED, EventKind.STARTED, EventKind.SUCCEEDED]
    enqueued, start, *_, end = events.of(process.run_id)
    assert enqueued.data["source"] == "local"
    assert enqueued.data["queue"] == "nightly"
    assert enqueued.data["args"][0] == sys.executable
    assert start.data["pid"] == process.pid
    assert start.data["host"] == executor.host
    assert start.data["worker"] == f"local@{executor.host}"
    assert end.data["result"] == {"exit_code": 0}
    assert "error_type" not in end.data
    assert end.data["cpu_s"] >= 0.25
    assert 150 <= end.data["max_rss_mb"] < 400
    run = events.run(process.run_id)
    assert run.status is Status.SUCCEEDED
    assert run.duration_s is not None
    assert run.duration_s >= 0.25


def test_a_failing_command_records_its_exit_code_and_the_end_of_its_stderr(
    executor: LocalExecutor, events: Events
) -> None:
    process = started(
        executor,
        python("""
            import sys
            sys.stderr.write("noise\\n" * 20000)  # more than the tail keeps
            raise ValueError("order 42 not found")
        """),
    )
    outcome = process.wait(30)
    assert outcome is not None
    assert outcome.status is Status.FAILED
    assert outcome.exit_status == 1
    end = events.of(process.run_id)[-1]
    assert end.kind is EventKind.FAILED
    assert end.data["result"] == {"exit_code": 1}
    assert end.data["error_type"] == "NonZeroExit"
    assert end.data["error_message"] == "exit code 1: ValueError: order 42 not found"
    traceback = end.data["traceback"]
    assert traceback.startswith("…noise\n")
    assert len(traceback.encode()) <= STDERR_TAIL_BYTES + 3
    assert traceback.endswith("in <module>\nValueError: order 42 not found\n")
    assert end.data["cpu_s"] > 0


def test_exit_codes_and_signals_pass_through(executor: LocalExecutor, events: Events) -> None:
    three = started(executor, python("import sys; sys.exit(3)"))
    killed = started(executor, python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))
    missing = started(executor, ["/no/such/command", "--flag"])
    assert (three.wait(30) or pytest.fail("no outcome within 30 s")).exit_status == 3
    outcome = killed.wait(30)
    assert outcome is not None
    assert outcome.exit_code == -9
    assert outcome.exit_status == 137
    last = events.of(killed.run_id)[-1]
    assert last.data["error_type"] == "KilledBySignal"
    assert last.data["error_message"] == "killed by SIGKILL"
    assert (missing.wait(1) or pytest.fail("no outcome within 1 s")).exit_status == 127
    assert events.kinds(missing.run_id) == [EventKind.ENQUEUED, EventKind.FAILED]
    assert "cannot run '/no/such/command'" in events.of(missing.run_id)[-1].data["error_message"]
    assert missing.start_error is not None


def test_the_command_runs_in_its_directory_and_knows_its_run(
    executor: LocalExecutor, events: Events, tmp_path: Path
) -> None:
    process = started(
        executor,
        python(
            f"import os, sys; open('seen', 'w').write(os.environ['{RUN_ID_ENV}'] + ' ' + str(os.getpid()))"
        ),
        kwargs={"cwd": str(tmp_path)},
    )
    assert process.wait(30) is not None
    assert (tmp_path / "seen").read_text() == f"{process.run_id} {process.pid}"


def test_cancel_sends_sigterm_and_records_a_cancelled_run(executor: LocalExecutor, events: Events) -> None:
    process = started(executor, python("import time; print('working', flush=True); time.sleep(60)"))
    wait_for(lambda: EventKind.STARTED in events.kinds(process.run_id))
    info = RunInfo(
        process.run_id, "unit", Status.RUNNING, source="local", host=executor.host, pid=process.pid
    )
    assert executor.why_not_cancel(info) is None
    began = time.monotonic()
    assert "SIGTERM sent to process" in executor.cancel(info)
    outcome = process.wait(10)
    assert outcome is not None
    assert outcome.status is Status.CANCELLED
    assert outcome.exit_code == -15
    assert time.monotonic() - began < 0.5  # it did not need the grace period
    end = events.of(process.run_id)[-1]
    assert end.kind is EventKind.CANCELLED
    assert end.data["error_message"] == "stopped with SIGTERM (asked for in jobdeck)"
    assert events.run(process.run_id).status is Status.CANCELLED
    # Ended, it cannot be stopped again.
    with pytest.raises(Refused):
        executor.cancel(info)


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace_period(
    executor: LocalExecutor, events: Events
) -> None:
    process = started(
        executor,
        python("""
            import signal, sys, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print("ignoring SIGTERM", file=sys.stderr, flush=True)
            time.sleep(60)
        """),
    )
    wait_for(lambda: "ignoring" in process.stderr_tail())
    began = time.monotonic()
    assert process.stop(signal.SIGTERM)
    outcome = process.wait(10)
    took = time.monotonic() - began
    assert outcome is not None
    assert outcome.status is Status.CANCELLED
    assert outcome.exit_code == -9
    assert 0.5 <= took < 3, took  # the grace period is 0.5 s
    end = events.of(process.run_id)[-1]
    assert end.data["error_message"] == "stopped with SIGTERM, then SIGKILL after 0.5 s"
    assert end.data["traceback"] == "ignoring SIGTERM\n"


def test_stopping_reaches_the_commands_children(executor: LocalExecutor, tmp_path: Path) -> None:
    process = started(executor, ["sh", "-c", f"sleep 60 & echo $! > {tmp_path / 'child'}; wait"])
    wait_for(lambda: (tmp_path / "child").exists() and (tmp_path / "child").read_text().strip() != "")
    child = int((tmp_path / "child").read_text())
    assert process.stop()
    assert process.wait(10) is not None
    wait_for(lambda: not alive(child))


def test_running_commands_send_heartbeats(executor: LocalExecutor, events: Events) -> None:
    process = started(executor, python("import time; time.sleep(0.9)"))
    assert process.wait(30) is not None
    assert events.kinds(process.run_id).count(EventKind.HEARTBEAT) >= 2


def test_close_stops_what_still_runs_and_records_it(events: Events, tmp_path: Path) -> None:
    executor = LocalExecutor(events, grace_s=2, key_file=tmp_path / "key")
    process = started(executor, python("import time; time.sleep(60)"))
    executor.close()
    assert process.outcome is not None
    assert process.outcome.status is Status.CANCELLED
    assert events.of(process.run_id)[-1].data["error_message"] == "stopped with SIGTERM (jobdeck shut down)"
    with pytest.raises(Refused, match="shutting down"):
        started(executor, python("pass"))


def test_a_retry_runs_only_a_sealed_command_of_this_host(executor: LocalExecutor, events: Events) -> None:
    first = started(executor, python("import sys; sys.exit(2)"))
    assert first.wait(30) is not None
    run = events.run(first.run_id)
    info = RunInfo(
        first.run_id,
        "unit",
        run.status,
        source="local",
        host=run.fields["host"],
        args=run.fields["args"],
        labels=run.fields["labels"],
    )
    assert executor.why_not_submit(Submission.retrying(info)) is None
    retry = executor.start(Submission.retrying(info))
    assert retry.wait(30) is not None
    assert events.of(retry.run_id)[0].data["parent_run_id"] == first.run_id
    # The same run, told differently: another command, another host, or no seal at all.
    forged = RunInfo(**{**info.__dict__, "args": ["sh", "-c", "echo pwned"]})
    elsewhere = RunInfo(**{**info.__dict__, "host": "other-box"})
    unsealed = RunInfo(**{**info.__dict__, "labels": {}})
    for run_info, says in ((forged, "valid seal"), (elsewhere, "other-box"), (unsealed, "valid seal")):
        refusal = executor.why_not_submit(Submission.retrying(run_info))
        assert refusal is not None
        assert says in refusal.reason
        assert not refusal.conflict
        with pytest.raises(Refused):
            executor.submit(Submission.retrying(run_info))
    not_a_command = executor.why_not_submit(Submission(job="unit", args={"x": 1}))
    assert not_a_command is not None
    assert "no command" in not_a_command.reason


def test_a_recorded_pid_is_checked_before_anything_is_signalled(executor: LocalExecutor) -> None:
    def refusal(**fields: Any) -> str:
        info = RunInfo("r-1", "unit", Status.RUNNING, **{"source": "local", "host": executor.host, **fields})
        found = executor.why_not_cancel(info)
        assert found is not None
        return found.reason

    assert "another-host" in refusal(pid=os.getpid(), host="another-host")
    assert "reported no process id" in refusal()
    # A live process that is not this run's (this test process): never signalled.
    assert "no longer this run's" in refusal(pid=os.getpid())
    assert "has ended" in refusal(pid=dead_pid())


def wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def test_processes_making_the_key_at_once_all_read_one_whole_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "control.key"
    script = "import sys; from jobdeck.executors.seal import load_key; print(load_key().hex())"
    env = {**os.environ, "JOBDECK_CONTROL_KEY_FILE": str(path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    keys = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(keys) == 1
    assert len(keys.pop()) == 64
    assert [p.name for p in path.parent.iterdir()] == ["control.key"]  # no draft left behind
    assert path.stat().st_mode & 0o777 == 0o600
