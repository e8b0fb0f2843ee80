"""Firings' targets run for real: a command, a Python callable in a subprocess, an HTTP call (2xx
succeeds, else fails with the status and the body's tail), and every target's timeout_s."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jobdeck.recorder import Recorder
from jobdeck.scheduler import book
from jobdeck.scheduler.loop import Scheduler
from jobdeck.scheduler.spec import ScheduleSpec
from jobdeck.store import Store
from jobdeck.store.runs import get_run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")


@pytest.fixture
def scheduler(sqlite_store: Store) -> Iterator[Scheduler]:
    scheduler = Scheduler(sqlite_store, Recorder(sqlite_store))
    yield scheduler
    scheduler.launcher.close()


def run_of(scheduler: Scheduler, target: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Fire a schedule with this target now and wait for its run to end."""
    spec = ScheduleSpec.model_validate(
        {"name": "t", "kind": "interval", "every_s": 3600, "target": target} | fields
    )
    schedule = book.create(scheduler.store, spec)
    fired = scheduler.fire_now(schedule["id"])
    assert fired is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with scheduler.store.read() as conn:
            run = get_run(conn, fired.run_id)
        if run is not None and run["status"] not in ("pending", "running"):
            assert run["schedule_id"] == schedule["id"]
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {fired.run_id} did not end")


def test_command_target(scheduler: Scheduler) -> None:
    assert run_of(scheduler, {"type": "command", "command": ["true"]})["status"] == "succeeded"
    failed = run_of(scheduler, {"type": "command", "command": ["sh", "-c", "echo broke >&2; exit 3"]})
    assert failed["status"] == "failed"
    assert "exit code 3: broke" in failed["error_message"]


def test_python_target(scheduler: Scheduler) -> None:
    ok = run_of(scheduler, {"type": "python", "callable": "json:dumps", "args": [[1, 2]]})
    assert ok["status"] == "succeeded"
    assert ok["source"] == "local"
    failed = run_of(scheduler, {"type": "python", "callable": "math:sqrt", "args": [-1]})
    assert failed["status"] == "failed"
    assert "ValueError: math domain error" in failed["error_message"]


def test_timeout_stops_the_run(scheduler: Scheduler) -> None:
    started = time.monotonic()
    run = run_of(scheduler, {"type": "command", "command": ["sleep", "30"]}, timeout_s=0.5)
    assert run["status"] == "cancelled"
    assert "timeout_s 0.5" in run["error_message"]
    assert time.monotonic() - started < 15


class Answers(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        code = 200 if self.path == "/ok" else 500
        if self.path == "/slow":
            time.sleep(3)
        body = b"fine" if code == 200 else b"x" * 1000 + b" database is down"
        try:
            self.send_response(code)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except BrokenPipeError:  # the caller timed out and hung up: what the slow test wants
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_target(scheduler: Scheduler, server: str) -> None:
    ok = run_of(scheduler, {"type": "http", "url": f"{server}/ok", "body": {"a": 1}})
    assert ok["status"] == "succeeded"
    assert ok["result"] == {"status": 200}
    assert ok["source"] == "http"
    failed = run_of(scheduler, {"type": "http", "url": f"{server}/fail"})
    assert failed["status"] == "failed"
    assert failed["error_message"].startswith("HTTP 500: ")
    assert failed["error_message"].endswith("database is down")
    assert len(failed["error_message"]) < 600
    slow = run_of(scheduler, {"type": "http", "url": f"{server}/slow"}, timeout_s=0.5)
    assert slow["status"] == "failed"
    assert slow["error_type"] == "ReadTimeout"
