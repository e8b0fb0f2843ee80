"""`jobdeck run -- CMD` in a subprocess: recorded into a store (--db) or sent to a server (JOBDECK_URL),
the command's exit code and output passed through, its signals forwarded, and its runs stopped and
retried from the server's API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy.exc import OperationalError

from jobdeck.store import Store
from jobdeck.store.runs import get_run, list_runs
from tests.acceptance.test_cli import JOBDECK, _env, free_port

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="stopping another process's run needs /proc")

SLEEPER = "import time; print('working', flush=True); time.sleep(60)"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment with its own spool and control key (shared by the server and the wrapper)."""
    return {
        **_env(),
        "JOBDECK_SPOOL_DIR": str(tmp_path / "spool"),
        "JOBDECK_CONTROL_KEY_FILE": str(tmp_path / "control.key"),
    }


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store file of the test's own, for `jobdeck run --db`."""
    return f"sqlite:///{tmp_path / 'runs.db'}"


def run(*args: str, env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    command = [JOBDECK, "run", *args]
    options: dict[str, Any] = {"capture_output": True, "text": True, "timeout": timeout, "check": False}
    return subprocess.run(command, env=env, cwd=cwd, **options)


def stored(url: str, job: str, timeout: float = 15, status: str | None = None) -> dict[str, Any]:
    """The one run of `job` in the store at `url`, once it is there (with `status`, if given)."""
    store = Store(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with store.read() as conn:
                    newest, _ = list_runs(conn, job=job, limit=1)
                    run = get_run(conn, newest[0]["run_id"]) if newest else None
            except OperationalError:  # not migrated yet: the first event has not arrived
                run = None
            if run is not None and (status is None or run["status"] == status):
                return run
            if time.monotonic() > deadline:
                pytest.fail(f"no {status or ''} run of {job} in the store: {run}")
            time.sleep(0.1)
    finally:
        store.close()


def test_a_failing_command_is_recorded_into_the_store_and_exits_as_it_did(
    tmp_path: Path, env: dict[str, str], db: str
) -> None:
    code = "import sys; print('rows: 12', flush=True); print('disk full', file=sys.stderr); sys.exit(3)"
    args = ("--db", db, "--job", "nightly_backup", "--queue", "ops", "--", sys.executable, "-c", code)
    done = run(*args, env=env, cwd=tmp_path)
    assert done.returncode == 3
    assert done.stdout == "rows: 12\n"
    assert done.stderr == "disk full\n"
    found = stored(db, "nightly_backup", status="failed")
    assert found["source"] == "local"
    assert found["queue"] == "ops"
    assert found["host"]
    assert found["args"] == [sys.executable, "-c", code]
    assert found["kwargs"] == {"cwd": str(tmp_path)}
    assert found["result"] == {"exit_code": 3}
    assert found["error_type"] == "NonZeroExit"
    assert found["error_message"] == "exit code 3: disk full"
    # stdout and stderr, as they were read (two pipes: their order is the order the reads came in)
    assert sorted(found["traceback"].splitlines()) == ["disk full", "rows: 12"]
    assert found["cpu_s"] > 0
    assert found["duration_s"] > 0
    assert found["worker"].startswith("local@")
    assert found["labels"]["jobdeck.seal"]  # so a server on this host can run it again


def test_a_command_that_succeeds_exits_0_and_options_after_it_are_its_own(
    tmp_path: Path, env: dict[str, str], db: str
) -> None:
    done = run("--db", db, "--job", "echo", "echo", "--job", "-x", env=env, cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == "--job -x\n"
    assert stored(db, "echo", status="succeeded")["result"] == {"exit_code": 0}
    missing = run("--db", db, "--job", "missing", "no-such-command-here", env=env, cwd=tmp_path)
    assert missing.returncode == 127
    assert "cannot run 'no-such-command-here'" in missing.stderr
    assert stored(db, "missing", status="failed")["error_type"] == "FileNotFoundError"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--job", "x"), "Missing argument"),
        (("--db", "", "--job", "x", "true"), "--db is empty"),
        (("--db", "sqlite://", "--job", "x", "true"), "in-memory SQLite store"),
        (("--job", "", "true"), "--job must be 1 to 200 characters"),
        (("--job", "x", "--timeout", "soon", "true"), "--timeout must be a duration such as 30s"),
        (("--job", "x", "--timeout", "0s", "true"), "--timeout must be longer than 0 s"),
        (
            ("--job", "x", "--schedule", "61 * * * *", "true"),
            "--schedule: 'schedule' is not a cron expression",
        ),
        (("--job", "x", "--timezone", "UTC", "true"), "--timezone and --expect-grace go with --schedule"),
        (("--job", "x", "--schedule", "@daily", "--timezone", "Nowhere/Land", "true"), "unknown timezone"),
    ],
)
def test_what_cannot_work_is_refused_before_the_command_runs(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], says: str
) -> None:
    done = run(*args, env=env, cwd=tmp_path, timeout=30)
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_jobdeck_run_stops_the_command_as_a_cancelled_run(
    tmp_path: Path, env: dict[str, str], db: str, sig: signal.Signals, status: int
) -> None:
    with wrapped(env, tmp_path, "--db", db, "--job", "sleeper", "--", sys.executable, "-c", SLEEPER) as proc:
        stored(db, "sleeper", status="running")
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == status
    found = stored(db, "sleeper", status="cancelled")
    assert found["error_message"] == f"stopped with {sig.name} (jobdeck run received {sig.name})"


def test_a_command_that_ignores_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, env: dict[str, str], db: str
) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    args = ("--db", db, "--job", "stubborn", "--grace", "1", "--", sys.executable, "-c", stubborn)
    with wrapped(env, tmp_path, *args) as proc:
        stored(db, "stubborn", status="running")
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 137
        assert 1 <= time.monotonic() - began < 5
    found = stored(db, "stubborn", status="cancelled")
    killed = "stopped with SIGTERM, then SIGKILL after 1 s (jobdeck run received SIGTERM)"
    assert found["error_message"] == killed


def test_through_a_server_its_runs_can_be_stopped_and_retried(tmp_path: Path, env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{tmp_path / 'server.db'}"
    with serving(env, tmp_path, db, port):
        sent = {**env, "JOBDECK_URL": base}
        # Stop: the server finds the command's process, checks it is this run's, and asks `jobdeck run`.
        with wrapped(sent, tmp_path, "--job", "sleeper", "--", sys.executable, "-c", SLEEPER) as proc:
            sleeper = wait_for(base, "sleeper", "running")
            stop = httpx.post(f"{base}/api/v1/runs/{sleeper['run_id']}/stop")
            assert stop.status_code == 202, stop.text
            assert f"its `jobdeck run` (pid {proc.pid})" in stop.json()["detail"]
            assert proc.wait(timeout=15) == 143
        cancelled = wait_for(base, "sleeper", "cancelled")
        assert cancelled["error_message"] == "stopped with SIGTERM (jobdeck run received SIGTERM)"
        # Retry: the server runs the same command again, in the same directory, as a new run.
        retry = httpx.post(f"{base}/api/v1/runs/{sleeper['run_id']}/retry")
        assert retry.status_code == 202, retry.text
        again = httpx.get(f"{base}/api/v1/runs/{retry.json()['run_id']}").json()
        assert again["parent_run_id"] == sleeper["run_id"]
        assert again["args"] == sleeper["args"]
        assert again["status"] == "running"
        assert again["kwargs"] == {"cwd": str(tmp_path)}
        assert httpx.post(f"{base}/api/v1/runs/{again['run_id']}/stop").status_code == 202
        # A failed run, sent over HTTP, retried by the server.
        failing = "import sys; print('upstream 502', file=sys.stderr); sys.exit(5)"
        done = run("--job", "flaky", "--", sys.executable, "-c", failing, env=sent, cwd=tmp_path)
        assert done.returncode == 5
        failed = wait_for(base, "flaky", "failed")
        assert failed["error_message"] == "exit code 5: upstream 502"
        retried = httpx.post(f"{base}/api/v1/runs/{failed['run_id']}/retry")
        assert retried.status_code == 202
        rerun = wait_until(base, retried.json()["run_id"], "failed")
        assert rerun["parent_run_id"] == failed["run_id"]
        assert rerun["result"] == {"exit_code": 5}
        assert httpx.get(f"{base}/api/v1/runs/{failed['run_id']}").json()["retried_by"] == [rerun["run_id"]]


@contextmanager
def wrapped(env: dict[str, str], cwd: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([JOBDECK, "run", *args], env=env, cwd=cwd, stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@contextmanager
def serving(env: dict[str, str], cwd: Path, db: str, port: int) -> Iterator[subprocess.Popen[str]]:
    command = [JOBDECK, "serve", "--db", db, "--port", str(port)]
    proc = subprocess.Popen(command, env=env, cwd=cwd, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jobdeck serve did not start: {proc.communicate()[1]}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert "Traceback" not in err, err


def wait_for(base: str, job: str, status: str, timeout: float = 20) -> dict[str, Any]:
    """The newest run of `job` on the server once it has `status`."""
    deadline = time.monotonic() + timeout
    while True:
        runs = httpx.get(f"{base}/api/v1/runs", params={"job": job, "hours": 1}).json()["runs"]
        if runs and runs[0]["status"] == status:
            return wait_until(base, runs[0]["run_id"], status)
        if time.monotonic() > deadline:
            pytest.fail(f"no {status} run of {job}: {runs}")
        time.sleep(0.1)


def wait_until(base: str, run_id: str, status: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = httpx.get(f"{base}/api/v1/runs/{run_id}").json()
        if found.get("status") == status:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} did not become {status}: {found}")
        time.sleep(0.1)


def test_the_key_is_made_private_on_first_use(tmp_path: Path, env: dict[str, str], db: str) -> None:
    assert run("--db", db, "--job", "j", "true", env=env, cwd=tmp_path).returncode == 0
    key = Path(env["JOBDECK_CONTROL_KEY_FILE"])
    assert key.exists()
    assert os.stat(key).st_mode & 0o077 == 0


def test_stdout_and_stderr_are_both_passed_through_and_their_tail_recorded_as_written(
    tmp_path: Path, env: dict[str, str], db: str
) -> None:
    code = (
        "import os\n"
        "for i in range(3):\n"  # whole lines in one write each: what is recorded is as written
        "    os.write(1, f'out {i}\\n'.encode())\n"
        "    os.write(2, f'err {i}\\n'.encode())\n"
    )
    done = run("--db", db, "--job", "chatty", "--", sys.executable, "-c", code, env=env, cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == "out 0\nout 1\nout 2\n"
    assert done.stderr == "err 0\nerr 1\nerr 2\n"
    found = stored(db, "chatty", status="succeeded")
    lines = found["traceback"].splitlines()
    assert sorted(lines) == sorted(["out 0", "err 0", "out 1", "err 1", "out 2", "err 2"])
    assert lines.index("out 0") < lines.index("out 1") < lines.index("out 2")


@pytest.mark.parametrize(
    ("code", "exit_status", "killed"),
    [
        (SLEEPER, 143, ""),
        (
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
            137,
            ", then SIGKILL after 1 s",
        ),
    ],
)
def test_a_command_that_runs_past_its_timeout_is_stopped_and_recorded_failed(
    tmp_path: Path, env: dict[str, str], db: str, code: str, exit_status: int, killed: str
) -> None:
    began = time.monotonic()
    args = ("--db", db, "--job", "slow", "--timeout", "1s", "--grace", "1", "--", sys.executable, "-c", code)
    done = run(*args, env=env, cwd=tmp_path)
    assert done.returncode == exit_status
    assert 1 <= time.monotonic() - began < 10
    found = stored(db, "slow", status="failed")
    assert found["error_type"] == "Timeout"
    assert found["error_message"].startswith(f"timed out after 1 s: stopped with SIGTERM{killed}")
    assert found["result"] == {"exit_code": 128 - exit_status}


def test_a_command_a_signal_kills_is_failed_with_the_signal_named_and_exits_128_plus_n(
    tmp_path: Path, env: dict[str, str], db: str
) -> None:
    done = run(
        "--db", db, "--job", "doomed", "--", "sh", "-c", "echo bye; kill -KILL $$", env=env, cwd=tmp_path
    )
    assert done.returncode == 137
    assert done.stdout == "bye\n"
    found = stored(db, "doomed", status="failed")
    assert found["error_type"] == "KilledBySignal"
    assert found["error_message"] == "killed by SIGKILL: bye"
    assert found["result"] == {"exit_code": -9}


def test_with_jobdeck_unreachable_it_exits_with_the_commands_code_and_keeps_the_events(
    tmp_path: Path, env: dict[str, str]
) -> None:
    down = {**env, "JOBDECK_URL": f"http://127.0.0.1:{free_port()}"}  # nothing listens there
    code = "import sys; print('done'); sys.exit(4)"
    began = time.monotonic()
    done = run("--job", "offline", "--", sys.executable, "-c", code, env=down, cwd=tmp_path)
    assert done.returncode == 4
    assert done.stdout == "done\n"
    assert "Traceback" not in done.stderr
    assert time.monotonic() - began < 30
    assert any(Path(env["JOBDECK_SPOOL_DIR"]).rglob("*")), "the events wait in the spool"
