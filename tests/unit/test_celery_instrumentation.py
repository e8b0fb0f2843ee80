"""Instrumented mode's per-task path, driven by Celery's own signals as a worker sends them: each
start is a copy of its task's shape (made and checked once a process) with the run's own values."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from celery import Celery, signals

from jobdeck.events import EventIn
from jobdeck.integrations.celery.instrumentation import Instrumentation
from jobdeck.sdk import configure, flush, shutdown, track
from jobdeck.sdk.transport import EventDict


class Collector:
    def __init__(self) -> None:
        self.events: list[EventDict] = []
        self.lock = threading.Lock()

    def send(self, events: Sequence[EventDict]) -> None:
        with self.lock:
            self.events.extend(events)

    def close(self) -> None:
        pass

    def of(self, run_id: str) -> dict[str, EventDict]:
        assert flush(5)
        return {e["event"]: e for e in self.events if e["run_id"] == run_id}


class Request:
    def __init__(self, task_id: str, queue: str, hostname: str = "celery@unit") -> None:
        self.id = task_id
        self.hostname = hostname
        self.delivery_info = {"routing_key": queue, "exchange": ""}


class Task:
    def __init__(self, app: Celery, name: str = "unit.add") -> None:
        self.name = name
        self.app = app
        self.request: Request | None = None


@pytest.fixture
def sent(tmp_path: Path) -> Iterator[Collector]:
    collector = Collector()
    configure(transport=collector, spool_dir=tmp_path, heartbeat_interval_s=0, progress_interval_s=0)
    yield collector
    shutdown(timeout=2)


_installed_here: list[Instrumentation] = []


@pytest.fixture
def app() -> Iterator[Celery]:
    app = Celery("unit_instrumented", broker="memory://")
    instrumentation = Instrumentation(app).connect()
    _installed_here.append(instrumentation)
    yield app
    instrumentation.disconnect()
    _installed_here.remove(instrumentation)


def run_task(
    task: Task, task_id: str, args: Any, kwargs: Any, body: Any = None, queue: str = "q1", host: str = ""
) -> None:
    """Celery's trace for one task: prerun, the task (`body`, may raise), failure, postrun."""
    task.request = Request(task_id, queue, host or "celery@unit")
    signals.task_prerun.send(sender=task, task_id=task_id, task=task, args=args, kwargs=kwargs)
    state, retval = "SUCCESS", None
    try:
        retval = body() if body else sum(args)
    except Exception as exc:
        state, retval = "FAILURE", exc
        signals.task_failure.send(sender=task, task_id=task_id, exception=exc, args=args, kwargs=kwargs)
    signals.task_postrun.send(
        sender=task, task_id=task_id, task=task, args=args, kwargs=kwargs, retval=retval, state=state
    )


def test_a_task_sends_its_start_and_success_as_the_server_takes_them(app: Celery, sent: Collector) -> None:
    task = Task(app)
    run_task(task, "t-1", (2, 3), {"scale": 2})
    run_task(task, "t-2", [4], {}, queue="q2")
    first, second = sent.of("t-1"), sent.of("t-2")
    started, succeeded = first["started"], first["succeeded"]
    assert started["job"] == "unit.add"
    assert started["source"] == "celery"
    assert started["queue"] == "q1"
    assert second["started"]["queue"] == "q2"
    assert started["worker"] == "celery@unit"
    assert started["pid"] == os.getpid()
    assert started["host"]
    assert started["args"] == [2, 3]
    assert started["kwargs"] == {"scale": 2}
    assert succeeded["result"] == 5
    assert second["succeeded"]["result"] == 4
    assert succeeded["items_succeeded"] == 0
    assert succeeded["cpu_s"] >= 0
    for event in [*first.values(), *second.values()]:
        EventIn.model_validate_json(EventIn.model_validate(event).model_dump_json())


def test_values_the_server_would_refuse_still_take_the_full_check(app: Celery, sent: Collector) -> None:
    # A run id too long for the server and text no store keeps: not trusted, so checked and made storable.
    long_id = "x" * 300
    run_task(Task(app), long_id, ("a\x00b",), {"k": "\ud800"}, body=lambda: "ok")
    assert flush(5)
    (start,) = [e for e in sent.events if e["event"] == "started"]
    assert len(start["run_id"]) <= 200
    assert [e["event"] for e in sent.events if e["run_id"] == start["run_id"]] == ["started", "succeeded"]
    assert "\x00" not in str(start["args"])
    assert "\ud800" not in str(start["kwargs"])
    EventIn.model_validate(start)
    # A worker name the server refuses (a control character): its shape is not trusted, so each
    # start takes the full check, which leaves the bad field out and keeps the run.
    run_task(Task(app), "t-6", (1,), {}, host="celery@\x01bad")
    events = sent.of("t-6")
    assert "worker" not in events["started"]
    assert events["started"]["job"] == "unit.add"
    assert events["succeeded"]["result"] == 1


def test_a_failure_and_progress_from_inside_the_task(app: Celery, sent: Collector) -> None:
    def body() -> None:
        run = track.current()
        assert run is not None
        assert run.run_id == "t-3"
        run.progress(succeeded=7)
        raise ValueError("kaputt")

    run_task(Task(app), "t-3", (), {}, body=body)
    failed = sent.of("t-3")["failed"]
    assert failed["error_type"] == "ValueError"
    assert failed["error_message"] == "kaputt"
    assert failed["items_succeeded"] == 7
    assert track.current() is None


def test_another_apps_tasks_are_not_recorded(app: Celery, sent: Collector) -> None:
    other = Celery("unit_other", broker="memory://")
    run_task(Task(other), "t-4", (1,), {})
    assert sent.of("t-4") == {}


def test_a_forked_process_makes_its_own_shapes(app: Celery, sent: Collector) -> None:
    run_task(Task(app), "t-5", (1,), {})
    assert sent.of("t-5")["started"]["pid"] == os.getpid()
    (instrumentation,) = [i for i in _installed_here if i.app is app]
    assert instrumentation._shapes, "the parent keeps the shape it made"
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child answers through the pipe
        try:
            os.write(write, b"\x00" if instrumentation._shapes == {} else b"\x01")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(child, 0)
    assert answer == b"\x00", "the forked process kept its parent's shapes (and their pid)"
