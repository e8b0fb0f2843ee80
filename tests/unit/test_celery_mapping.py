"""Celery's events mapped onto jobdeck's, and the Celery settings (no broker needed)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from jobdeck.cli import app as cli
from jobdeck.config import Settings
from jobdeck.domain import EventKind
from jobdeck.integrations.celery import mapping
from jobdeck.integrations.celery.queue_source import redis_keys, split_prefix

T = 1_780_000_000.0


def test_exceptions_split_into_type_and_message() -> None:
    assert mapping.split_exception("ValueError('boom')") == ("ValueError", "boom")
    assert mapping.split_exception("KeyError('a', 2)") == ("KeyError", "a, 2")
    assert mapping.split_exception("Timeout()") == ("Timeout", "")
    assert mapping.split_exception("no call here") == ("Exception", "no call here")


def test_task_events_map_onto_runs() -> None:
    received = mapping.task_event(
        {
            "type": "task-received",
            "uuid": "u1",
            "name": "t",
            "timestamp": T,
            "args": "(1,)",
            "kwargs": "{}",
            "retries": 2,
            "hostname": "w@h",
            "eta": "2026-06-01T00:00:00+00:00",
        },
        None,
    )
    assert received.kind is EventKind.ENQUEUED
    assert received.data["job"] == "t"
    assert received.data["attempt"] == 3
    assert received.data["args"] == "(1,)"
    assert received.data["host"] == "h"
    assert received.data["eta"].year == 2026
    failed = mapping.task_event(
        {
            "type": "task-failed",
            "uuid": "u1",
            "timestamp": T + 1,
            "exception": "ValueError('x')",
            "traceback": "TB",
        },
        "t",
    )
    assert (failed.kind, failed.data["error_type"], failed.data["error_message"]) == (
        EventKind.FAILED,
        "ValueError",
        "x",
    )
    revoked = mapping.task_event(
        {"type": "task-revoked", "uuid": "u1", "timestamp": T, "terminated": True}, "t"
    )
    assert revoked.kind is EventKind.CANCELLED
    assert revoked.data["labels"] == {"celery_revoked": "terminated"}
    requeued = mapping.task_event(
        {"type": "task-rejected", "uuid": "u1", "timestamp": T, "requeue": True}, "t"
    )
    assert requeued.kind is EventKind.ENQUEUED
    started = mapping.task_event(
        {"type": "task-started", "uuid": "u1", "timestamp": T, "pid": 7}, "t", instrumented=True
    )
    assert started.kind is EventKind.HEARTBEAT  # instrumented mode reports the start itself


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"uuid": "x"},
        {"type": "task-started", "uuid": "", "timestamp": T},
        {"type": "task-started", "uuid": "a", "timestamp": "soon"},
    ],
)
def test_malformed_events_raise_malformed(body: object) -> None:
    def read() -> None:
        mapping.event_type(body)
        mapping.task_event(body, "t")  # type: ignore[arg-type]

    with pytest.raises(mapping.Malformed):
        read()


def test_redis_keys_and_prefix() -> None:
    assert redis_keys("q")[:2] == ["q", "q\x06\x161"]
    assert redis_keys("q", "app:")[3] == "app:q\x06\x163"
    assert split_prefix("redis://h:6379/0?global_keyprefix=app:&x=1") == ("redis://h:6379/0?x=1", "app:")


def test_brokers_from_the_environment_and_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBDECK_CELERY_BROKERS", "redis://a:6379/1, amqp://b//")
    assert Settings().celery_brokers == ["redis://a:6379/1", "amqp://b//"]
    monkeypatch.setenv("JOBDECK_CELERY_BROKERS", '["redis://c/2"]')  # as `serve --workers N` passes it
    assert Settings().celery_brokers == ["redis://c/2"]
    result = CliRunner().invoke(cli, ["serve", "--help"], env={"COLUMNS": "200"})
    assert "--celery-broker" in result.output


def test_workflow_links_and_the_broker_are_labels_not_lineage() -> None:
    """A chain's parent is not a retry of it: parent, root and group go to labels the run page links,
    and the broker the task came through to a label the executor acts by; `parent_run_id` stays
    jobdeck's own (a retry from jobdeck)."""
    base = {"type": "task-sent", "name": "t", "timestamp": T, "args": "()", "kwargs": "{}", "queue": "q"}
    child = mapping.task_event(
        {**base, "uuid": "c", "parent_id": "p", "root_id": "r", "group": "g"}, None, broker="redis://h:6379/0"
    )
    assert "parent_run_id" not in child.data
    assert child.data["labels"] == {
        "celery.parent_id": "p",
        "celery.root_id": "r",
        "celery.group_id": "g",
        "celery.broker": "redis://h:6379/0",
    }
    retried = mapping.task_event({**base, "uuid": "c", "parent_id": "c", "root_id": "c"}, None)
    assert "labels" not in retried.data  # Celery names a retried task its own parent and root
    started = mapping.task_event(
        {"type": "task-started", "uuid": "c", "timestamp": T, "hostname": "w@h"}, "t", broker="amqp://h//"
    )
    assert started.data["labels"] == {"celery.broker": "amqp://h//"}
