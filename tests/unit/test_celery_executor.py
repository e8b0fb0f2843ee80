"""The Celery executor's decisions that need no broker: which broker a run belongs to, and which runs
it refuses to retry, stop or terminate, with why."""

from __future__ import annotations

from jobdeck.domain import Status
from jobdeck.events import Event
from jobdeck.executors import RunInfo, Submission
from jobdeck.integrations.celery.executor import BROKER_LABEL, CeleryExecutor

ONE = "redis://:s3cret@127.0.0.1:1/3"


def executor(*brokers: str) -> CeleryExecutor:
    recorded: list[Event] = []
    return CeleryExecutor(recorded.extend, list(brokers))


def run(status: Status, **fields: object) -> RunInfo:
    return RunInfo(**{"run_id": "t-1", "job": "tasks.add", "status": status, "source": "celery", **fields})  # type: ignore[arg-type]


def test_brokers_are_named_without_credentials_and_found_by_either_name() -> None:
    celery = executor(ONE, "amqp://guest:guest@127.0.0.1:1//")
    assert [b.name for b in celery.brokers] == ["redis://127.0.0.1:1/3", "amqp://127.0.0.1:1//"]
    assert celery.broker_named("redis://127.0.0.1:1/3") is celery.brokers[0]
    assert celery.broker_named(ONE) is celery.brokers[0]
    assert celery.broker_named("redis://elsewhere:6379/0") is None
    assert celery.broker_named(None) is None  # two brokers: a run must say which


def test_only_failed_cancelled_or_lost_tasks_with_known_args_are_retried() -> None:
    celery = executor(ONE)
    for status in (Status.FAILED, Status.CANCELLED, Status.LOST):
        assert celery.why_not_submit(Submission.retrying(run(status, args="(1, 2)", kwargs="{}"))) is None
    running = celery.why_not_submit(Submission.retrying(run(Status.RUNNING, args="(1, 2)")))
    assert running is not None
    assert running.conflict
    assert running.reason == "it is running: only a failed, cancelled or lost Celery task is sent again"
    unparseable = celery.why_not_submit(Submission.retrying(run(Status.FAILED, args="(<Thing>,)")))
    assert unparseable is not None
    assert not unparseable.conflict
    assert "which is not made of Python literals" in unparseable.reason


def test_with_several_brokers_a_run_must_name_its_own() -> None:
    celery = executor(ONE, "redis://127.0.0.1:1/4")
    unnamed = celery.why_not_submit(Submission.retrying(run(Status.FAILED, args=[1])))
    assert unnamed is not None
    assert unnamed.reason == (
        "it does not say which of the 2 configured brokers it came from (no 'celery.broker' label)"
    )
    named = run(Status.FAILED, args=[1], labels={BROKER_LABEL: "redis://127.0.0.1:1/4"})
    assert celery.why_not_submit(Submission.retrying(named)) is None
    stranger = run(Status.FAILED, args=[1], labels={BROKER_LABEL: "redis://other:6379/0"})
    refusal = celery.why_not_submit(Submission.retrying(stranger))
    assert refusal is not None
    assert refusal.reason == "its broker redis://other:6379/0 is not one this server is configured with"


def test_a_running_task_without_a_worker_or_whose_worker_is_unreachable_is_refused() -> None:
    celery = executor(ONE)  # nothing listens on port 1
    nameless = celery.why_not_cancel(run(Status.RUNNING))
    assert nameless is not None
    assert nameless.reason == "it does not say which worker runs it"
    gone = celery.why_not_terminate(run(Status.RUNNING, worker="celery@gone"))
    assert gone is not None
    assert gone.conflict
    assert gone.reason.startswith("its worker celery@gone does not answer")
    # A pending task needs no worker: the revoke is broadcast.
    assert celery.why_not_cancel(run(Status.PENDING)) is None


def test_with_one_broker_a_run_that_names_none_is_its() -> None:
    celery = executor(ONE)
    assert celery.broker_named(None) is celery.brokers[0]
