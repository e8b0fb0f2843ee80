"""The `jobdeck` console script in a subprocess: migrate, serve, a bad store, and the live demo."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from jobdeck.demo.local_jobs import LOCAL_JOBS
from jobdeck.demo.profiles import PROFILES
from jobdeck.demo.workload import Stream
from jobdeck.domain import EventKind
from jobdeck.executors import procfs
from jobdeck.version import __version__
from tests.services import fresh_pg_database

JOBDECK = str(Path(sys.executable).with_name("jobdeck"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env() -> dict[str, str]:
    """The environment without any JOBDECK_* setting of the developer's (but with the tests' control
    key, so no process writes the developer's own)."""
    kept = {"JOBDECK_CONTROL_KEY_FILE"}
    return {k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_") or k in kept}


def jobdeck(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [JOBDECK, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


@contextmanager
def running(*args: str, cwd: Path, port: int, ready_within: float = 60) -> Iterator[subprocess.Popen[str]]:
    """The command running until /api/health answers; stopped with SIGINT on the way out."""
    proc = subprocess.Popen(
        [JOBDECK, *args, "--port", str(port)],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jobdeck {args[0]} exited with {proc.returncode}: {proc.communicate()[1]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jobdeck {args[0]} did not answer within {ready_within} s")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdout, proc.stderr):  # left open when a test fails before `stop`
            if pipe is not None:
                pipe.close()


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Ctrl-C the process; its exit code and what it wrote to stderr."""
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    return proc.returncode, err


def test_version_goes_to_stdout(tmp_path: Path) -> None:
    done = jobdeck("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == f"jobdeck {__version__}\n"
    assert done.stderr == ""


def test_results_go_to_stdout_and_diagnostics_to_stderr(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'jobdeck.db'}"
    migrated = jobdeck("migrate", "--db", db, cwd=tmp_path)
    assert migrated.stdout == ""
    assert "up to date" in migrated.stderr
    history = tmp_path / "history.jsonl"
    history.write_text(
        '{"run_id": "r1", "event": "enqueued", "job": "sync", "at": "2026-11-01T10:00:00Z"}\n'
        '{"run_id": "r1", "event": "succeeded", "at": "2026-11-01T10:00:05Z"}\n'
    )
    imported = jobdeck("import", str(history), "--db", db, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("imported 2 events")
    assert "imported 2" not in imported.stderr
    verified = jobdeck("verify-rollups", "--db", db, cwd=tmp_path)
    assert verified.returncode == 0
    assert "rollups agree" in verified.stdout
    assert verified.stderr == ""
    cleaned = jobdeck("cleanup", "--older-than", "3650d", "--db", db, cwd=tmp_path)
    assert cleaned.stdout.startswith("deleted 0 runs")
    assert cleaned.stderr == ""
    refused = jobdeck("cleanup", "--older-than", "soon", "--db", db, cwd=tmp_path)
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "30d" in refused.stderr
    broken = jobdeck("verify-rollups", "--db", "", cwd=tmp_path)
    assert broken.returncode == 2
    assert broken.stdout == ""
    assert "--db is empty" in broken.stderr


def test_migrate_creates_a_fresh_sqlite_store_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "new" / "jobdeck.db"
    path.parent.mkdir()
    first = jobdeck("migrate", "--db", f"sqlite:///{path}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "up to date" in first.stderr
    assert path.exists()
    again = jobdeck("migrate", "--db", f"sqlite:///{path}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr


@pytest.mark.postgres
def test_migrate_creates_a_fresh_postgres_store(tmp_path: Path) -> None:
    with fresh_pg_database("jobdeck_cli") as url:
        done = jobdeck("migrate", "--db", url, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "up to date" in done.stderr
        assert jobdeck("migrate", "--db", url, cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("command", "url"),
    [
        ("migrate", "sqlite:////nonexistent-dir/sub/jobdeck.db"),
        ("migrate", "mysql+nosuchdriver://localhost/jobdeck"),
        ("migrate", "postgresql://postgres@127.0.0.1:1/jobdeck"),
        ("serve", "sqlite:////nonexistent-dir/sub/jobdeck.db"),
        ("demo", "postgresql://postgres@127.0.0.1:1/jobdeck"),
    ],
)
def test_a_bad_db_is_a_clear_error_and_a_non_zero_exit(tmp_path: Path, command: str, url: str) -> None:
    done = jobdeck(command, "--db", url, cwd=tmp_path, timeout=30)
    assert done.returncode != 0
    assert "cannot open the store" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("migrate", "--db", "sqlite://"), "in-memory SQLite store"),
        (("serve", "--db", "sqlite:///:memory:"), "in-memory SQLite store"),
        (("migrate", "--db", ""), "--db is empty"),
        (("serve", "--port", "70000"), "port = 70000"),
    ],
)
def test_a_store_or_setting_that_cannot_work_is_refused_with_a_message(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    done = jobdeck(*args, cwd=tmp_path, timeout=30)
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_setting_in_the_environment_names_its_variable(tmp_path: Path) -> None:
    done = subprocess.run(
        [JOBDECK, "migrate", "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        cwd=tmp_path,
        env={**_env(), "JOBDECK_PORT": "abc"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "JOBDECK_PORT" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_port_in_use_is_a_clear_error_before_any_work(tmp_path: Path, command: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = tmp_path / "jobdeck.db"
        started = time.monotonic()
        done = jobdeck(command, "--db", f"sqlite:///{db}", "--port", str(port), cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "--port" in done.stderr
    assert "Traceback" not in done.stderr
    assert "serving on" not in done.stderr
    assert not db.exists()  # the demo did not backfill a week first
    assert time.monotonic() - started < 20


def test_serve_answers_health_and_accepts_events(tmp_path: Path) -> None:
    port = free_port()
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    with running("serve", "--db", db, cwd=tmp_path, port=port) as proc:
        base = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{base}/api/health").json()
        assert health["status"] == "healthy"
        assert health["store"]["backend"] == "sqlite"
        now = datetime.now(UTC)
        enqueued, started = now - timedelta(seconds=9), now - timedelta(seconds=8)
        batch = [
            {"run_id": "cli-1", "event": "enqueued", "job": "clip_sync", "at": enqueued.isoformat()},
            {"run_id": "cli-1", "event": "started", "worker": "celery@worker-1", "at": started.isoformat()},
            {"run_id": "cli-1", "event": "succeeded", "items_succeeded": 40, "at": now.isoformat()},
        ]
        posted = httpx.post(f"{base}/api/v1/events", json=batch)
        assert posted.status_code == 202
        assert posted.json() == {"accepted": 3}
        run = httpx.get(f"{base}/api/v1/runs/cli-1").json()
        assert run["status"] == "succeeded"
        assert run["items_succeeded"] == 40
        assert run["duration_s"] == pytest.approx(8.0)
        code, err = stop(proc)
    assert "Traceback" not in err
    assert code == 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in procfs.PROC.glob("[0-9]*"):
        try:
            if procfs.parent_of(int(entry.name)) == pid:
                found.append(int(entry.name))
        except OSError:  # gone meanwhile (ProcessLookupError is one)
            continue
    return found


def test_serve_workers_share_the_port_and_the_store(tmp_path: Path) -> None:
    port = free_port()
    db = f"sqlite:///{tmp_path / 'replicas.db'}"
    with running("serve", "--db", db, "--workers", "2", cwd=tmp_path, port=port) as proc:
        base = f"http://127.0.0.1:{port}"
        now = datetime.now(UTC).isoformat()
        # Many connections: the kernel spreads them over both workers, which write one store.
        for i in range(40):
            with httpx.Client(base_url=base) as client:
                event = {"run_id": f"w-{i}", "event": "started", "job": "sync", "at": now}
                assert client.post("/api/v1/events", json=event).status_code == 202
        assert len(httpx.get(f"{base}/api/v1/runs", params={"limit": 100}).json()["runs"]) == 40
        workers = [p for p in _children(proc.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
        assert len(workers) >= 2, "uvicorn runs a process per worker"
        code, err = stop(proc)
    assert "Traceback" not in err
    assert code == 0


def _check_live_event(base: str, seed: int, after: datetime) -> None:
    """Wait for the next event the workload has due after `after`, and find it recorded."""
    # Replay the day the demo backfilled, so runs still under way count too.
    stream = Stream(after - timedelta(days=1), seed, PROFILES)
    stream.advance(after)
    upcoming = stream.advance(after + timedelta(minutes=2))
    event = next(e for e in upcoming if e.at and e.at > after + timedelta(seconds=1))
    assert event.at is not None
    time.sleep(max(0.0, (event.at - datetime.now(UTC)).total_seconds()))
    deadline = time.monotonic() + 10
    while True:
        reply = httpx.get(f"{base}/api/v1/runs/{event.run_id}")
        run: dict[str, Any] = reply.json() if reply.status_code == 200 else {}
        seen = {
            EventKind.ENQUEUED: bool(run),
            EventKind.SUCCEEDED: run.get("status") == "succeeded",
            EventKind.FAILED: run.get("status") == "failed",
            EventKind.RETRYING: run.get("status") in ("retrying", "running", "succeeded", "failed"),
        }.get(event.event, bool(run.get("heartbeat_at")) and run["heartbeat_at"] >= event.at.isoformat()[:19])
        if seen:
            return
        if time.monotonic() > deadline:
            pytest.fail(
                f"the live {event.event.value} event of {event.job} at {event.at} was not recorded: {run}"
            )
        time.sleep(0.2)


def _check_local_jobs(base: str) -> None:
    """The demo's real local jobs run now: one can be stopped (and becomes cancelled) and retried."""
    job = LOCAL_JOBS[0]
    # A run of the job starts every `job.every` and works at least `job.min_s`: one runs within a period.
    deadline = time.monotonic() + job.every.total_seconds() + 15
    while True:
        local = httpx.get(f"{base}/api/v1/runs", params={"hours": 1, "job": job.name}).json()["runs"]
        running = [run for run in local if run["status"] == "running"]
        if running:
            break
        assert time.monotonic() < deadline, f"no run of {job.name} was running within a period: {local}"
        time.sleep(0.5)
    run_id = running[0]["run_id"]
    assert "Stop</button>" in httpx.get(f"{base}/control").text
    assert httpx.post(f"{base}/api/v1/runs/{run_id}/stop").status_code == 202
    deadline = time.monotonic() + 10
    while httpx.get(f"{base}/api/v1/runs/{run_id}").json()["status"] != "cancelled":
        assert time.monotonic() < deadline, "the stopped local run did not become cancelled"
        time.sleep(0.2)
    retried = httpx.post(f"{base}/api/v1/runs/{run_id}/retry")
    assert retried.status_code == 202
    assert httpx.get(f"{base}/api/v1/runs/{retried.json()['run_id']}").json()["parent_run_id"] == run_id


def test_demo_backfills_then_serves_live_runs_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port, seed = free_port(), 7
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    args = ("demo", "--db", db, "--days", "1", "--seed", str(seed), "--tick", "0.2")
    with running(*args, cwd=tmp_path, port=port) as proc:
        base = f"http://127.0.0.1:{port}"
        jobs = httpx.get(f"{base}/api/v1/jobs", params={"hours": 24}).json()["jobs"]
        local_jobs = {job.name for job in LOCAL_JOBS}
        assert {job["job"] for job in jobs} - local_jobs == {p.name for p in PROFILES}
        runs = httpx.get(f"{base}/api/v1/runs", params={"hours": 24, "limit": 1000}).json()["runs"]
        assert len(runs) == 1000
        statuses = {run["status"] for run in runs}
        assert {"succeeded", "failed"} <= statuses
        workers = {run["worker"] for run in runs if run["worker"] and run["job"] not in local_jobs}
        assert workers <= {"celery@worker-1", "celery@worker-2", "celery@worker-3"}
        assert len(workers) == 3
        failed = httpx.get(f"{base}/api/v1/runs", params={"hours": 24, "status": "failed"}).json()["runs"]
        detail = httpx.get(f"{base}/api/v1/runs/{failed[0]['run_id']}").json()
        assert detail["traceback"].startswith("Traceback (most recent call last):")

        _check_live_event(base, seed, datetime.now(UTC))
        _check_local_jobs(base)
        code, err = stop(proc)
    assert "backfilling" in err
    assert "demo stopped" in err
    assert "audit: " in err
    assert "outcome=accepted" in err
    assert "Traceback" not in err
    assert code == 0


def test_spool_shows_resends_and_clears_what_the_sdk_kept(tmp_path: Path) -> None:
    from jobdeck.sdk.settings import SdkSettings
    from jobdeck.sdk.spool import Spool

    db = f"sqlite:///{tmp_path / 'spooled.db'}"
    assert jobdeck("migrate", "--db", db, cwd=tmp_path).returncode == 0
    spool = Spool(SdkSettings(database_url=db, spool_dir=tmp_path / "spool").spool_path, 10_000_000)
    at = datetime.now(UTC).isoformat()
    spool.append([{"run_id": "s-1", "event": "started", "job": "j", "at": at}])
    spool.hold([{"run_id": "s-2", "event": "started", "job": "j", "at": at}])
    spool.set_aside([{"run_id": "s-3", "event": "started", "job": " ", "at": at}])
    env = {**_env(), "JOBDECK_SPOOL_DIR": str(tmp_path / "spool")}

    def spool_cmd(*args: str) -> subprocess.CompletedProcess[str]:
        command = [JOBDECK, "spool", *args, "--db", db]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

    shown = spool_cmd("show")
    assert shown.returncode == 0, shown.stderr
    assert "spooled: 1 events" in shown.stdout
    assert "held: 1 events" in shown.stdout
    assert "set aside: 1 events" in shown.stdout
    assert "run 's-3'" in shown.stdout
    resent = spool_cmd("resend")
    assert resent.returncode == 0, resent.stderr
    assert "sent 2 events" in resent.stdout
    assert spool.files() == []
    assert spool.held() == []
    assert len(spool.rejected()) == 1
    cleared = spool_cmd("clear", "--only", "set-aside", "--yes")
    assert cleared.returncode == 0
    assert "deleted 1 events" in cleared.stdout
    assert spool.rejected() == []
