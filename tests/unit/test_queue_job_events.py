"""What a foreign job hash can hold does not stop its source: odd BullMQ and RQ jobs become runs or
raise only what the pollers skip one job for (ValueError, TypeError, ArithmeticError)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobdeck.integrations.bullmq.runs import job_events as bullmq_events
from jobdeck.integrations.rq.jobs import error_of, exc_text, job_name, rq_time
from jobdeck.integrations.rq.runs import job_events as rq_events

FIELDS = ["timestamp", "processedOn", "finishedOn", "delay", "priority", "atm", "opts", "data", "name"]
TEXT = st.one_of(st.text(max_size=40), st.integers(-(10**20), 10**20).map(str), st.just("{}"), st.just("[1,"))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from([*FIELDS, "stacktrace", "failedReason", "returnvalue"]), TEXT),
    st.booleans(),
)
def test_any_bullmq_hash_gives_events_or_a_skippable_error(fields: dict[str, str], failed: bool) -> None:
    try:
        events = bullmq_events("q", "1", fields, failed, delayed=not failed)
    except (ValueError, TypeError, ArithmeticError):
        return
    assert all(event.run_id == "bullmq:q:1" for event in events)


def test_a_failed_bullmq_job_carries_reason_trace_and_attempts() -> None:
    fields = {
        "name": "send",
        "timestamp": "1700000000000",
        "processedOn": "1700000001000",
        "finishedOn": "1700000002000",
        "failedReason": "boom",
        "stacktrace": '["TypeError: boom\\n    at x.js:1", "TypeError: boom\\n    at x.js:2"]',
        "atm": "2",
        "opts": '{"attempts": 3}',
        "data": '{"to": "a@b"}',
    }
    events = bullmq_events("mail", "7", fields, failed=True, delayed=False)
    assert [e.kind for e in events] == ["enqueued", "started", "failed"]
    failed: Any = events[-1].data
    assert failed["error_type"] == "TypeError"
    assert failed["error_message"] == "boom"
    assert failed["attempt"] == 2
    assert failed["max_retries"] == 2
    assert "x.js:2" in failed["traceback"]
    assert events[0].data["kwargs"] == {"to": "a@b"}


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["created_at", "enqueued_at", "started_at", "ended_at", "status", "description", "exc_info"]
        ),
        st.one_of(
            st.text(max_size=30), st.sampled_from(["2026-12-05T07:05:34.123456Z", "failed", "finished"])
        ),
    )
)
def test_any_rq_hash_gives_events_or_a_skippable_error(fields: dict[str, str]) -> None:
    try:
        events = rq_events("abc", fields, None)
    except (ValueError, TypeError, ArithmeticError):
        return
    assert all(event.run_id == "rq:abc" for event in events)


def test_rq_reading_helpers() -> None:
    assert job_name("tasks.add(1, 2)") == "tasks.add"
    assert job_name(None) == "(unnamed)"
    assert rq_time("2026-12-05T07:05:34.123456Z") is not None
    assert rq_time("yesterday") is None
    assert error_of("Traceback …\nZeroDivisionError: division by zero") == (
        "ZeroDivisionError",
        "division by zero",
    )
    assert error_of("something went wrong") == (None, "something went wrong")
    assert exc_text("not compressed", False) == "not compressed"


@pytest.mark.parametrize("status", ["stopped", "canceled"])
def test_a_stopped_or_canceled_rq_job_is_cancelled(status: str) -> None:
    fields = {"created_at": "2026-12-05T07:05:34Z", "ended_at": "2026-12-05T07:05:35Z", "status": status}
    assert [e.kind for e in rq_events("x", fields, None)][-1] == "cancelled"


def test_bullmq_data_too_big_or_too_deep_is_left_out_not_a_failure() -> None:
    base = {"name": "n", "timestamp": "1700000000000", "finishedOn": "1700000001000"}
    deep = "[" * 100_000 + "]" * 100_000
    huge = '{"blob": "' + "x" * 100_000 + '"}'
    for data in (deep, huge):
        fields = {**base, "data": data, "returnvalue": data}
        [enqueued, succeeded] = bullmq_events("q", "1", fields, failed=False, delayed=False)
        assert "kwargs" not in enqueued.data
        assert "args" not in enqueued.data
        assert "result" not in succeeded.data
