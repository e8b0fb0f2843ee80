"""The SDK's events: what @track and track.run report for sync, async, failing and cancelled runs."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import jobdeck
from jobdeck.events import EventIn
from jobdeck.sdk import configure, shutdown, track
from jobdeck.sdk.transport import EventDict


class Collector:
    """A transport that keeps what it is sent."""

    def __init__(self) -> None:
        self.events: list[EventDict] = []
        self.lock = threading.Lock()

    def send(self, events: Sequence[EventDict]) -> None:
        with self.lock:
            self.events.extend(events)

    def close(self) -> None:
        pass

    def of(self, run_id: str) -> dict[str, EventDict]:
        return {e["event"]: e for e in self.events if e["run_id"] == run_id}


@pytest.fixture
def sent(tmp_path: Path) -> Iterator[Collector]:
    collector = Collector()
    configure(transport=collector, spool_dir=tmp_path, heartbeat_interval_s=0, progress_interval_s=3600)
    yield collector
    shutdown(timeout=2)


def only_run(sent: Collector) -> dict[str, EventDict]:
    assert jobdeck.flush(5)
    (run_id,) = {e["run_id"] for e in sent.events}
    return sent.of(run_id)


def test_a_decorated_function_reports_start_and_success(sent: Collector) -> None:
    @track(
        "sync_job", queue="default", labels={"team": "data", "n": 3}, capture_args=True, capture_result=True
    )
    def double(x: int, *, y: int = 0) -> int:
        return 2 * x + y

    assert double(3, y=1) == 7
    events = only_run(sent)
    assert set(events) == {"started", "succeeded"}
    started, succeeded = events["started"], events["succeeded"]
    assert started["job"] == "sync_job"
    assert started["queue"] == "default"
    assert started["source"] == "sdk"
    assert started["labels"] == {"team": "data", "n": "3"}
    assert started["pid"] == os.getpid()
    assert started["host"]
    assert started["worker"]
    assert (started["args"], started["kwargs"]) == ([3], {"y": 1})
    assert succeeded["result"] == 7
    assert succeeded["cpu_s"] >= 0
    assert len(started["run_id"]) == 32
    for event in sent.events:
        EventIn.model_validate(event)
        assert event["at"].endswith("+00:00")


def test_a_run_records_args_kwargs_result_cpu_and_peak_memory_by_default(sent: Collector) -> None:
    @track("full")
    def export(region: str, *, customer: str, rows: int = 0) -> dict[str, int]:
        sum(range(200_000))  # some CPU
        return {"rows": rows}

    assert export("eu", customer="acme-kw-777", rows=3) == {"rows": 3}
    events = only_run(sent)
    started, succeeded = events["started"], events["succeeded"]
    assert (started["args"], started["kwargs"]) == (["eu"], {"customer": "acme-kw-777", "rows": 3})
    assert succeeded["result"] == {"rows": 3}
    assert succeeded["cpu_s"] > 0
    assert succeeded["max_rss_mb"] > 1  # this process's peak resident memory
    EventIn.model_validate(succeeded)


def test_big_arguments_and_results_are_clipped(sent: Collector) -> None:
    from jobdeck.sdk.payload import MAX_CAPTURE_CHARS

    @track("big")
    def load(blob: str, *, more: list[int]) -> str:
        return blob * 2

    load("x" * 10_000, more=list(range(5_000)))
    events = only_run(sent)
    args, kwargs = events["started"]["args"], events["started"]["kwargs"]
    result = events["succeeded"]["result"]
    for value in (args, kwargs, result):
        assert isinstance(value, str)
        assert len(value) == MAX_CAPTURE_CHARS
        assert value.endswith("…")
    assert args.startswith('["xxx')
    assert kwargs.startswith('{"more": [0, 1, 2')


def test_arguments_and_results_stay_private_when_asked(sent: Collector) -> None:
    @track("private", capture_args=False, capture_result=False)
    def secret(password: str, *, auth: str) -> str:
        return password + auth

    secret("hunter2", auth="s3cr3t-auth")
    text = repr(sent.events if jobdeck.flush(5) else None)
    assert "hunter2" not in text
    assert "s3cr3t-auth" not in text
    assert len(sent.events) == 2  # the run itself is still reported


def test_a_coroutine_function_is_tracked_across_awaits(sent: Collector) -> None:
    @track("async_job")
    async def fetch() -> str:
        await asyncio.sleep(0.01)
        run = track.current()
        assert run is not None
        run.progress(succeeded=2, skipped=1)
        return "ok"

    assert asyncio.iscoroutinefunction(fetch)
    assert asyncio.run(fetch()) == "ok"
    events = only_run(sent)
    assert events["succeeded"]["job"] == "async_job"
    assert (events["succeeded"]["items_succeeded"], events["succeeded"]["items_skipped"]) == (2, 1)


def test_an_exception_is_reported_and_re_raised(sent: Collector) -> None:
    class QuotaExceeded(RuntimeError):
        pass

    @track("failing")
    def sync_clips() -> None:
        try:
            int("not a number")
        except ValueError as exc:
            raise QuotaExceeded("quota of 100 exceeded") from exc

    with pytest.raises(QuotaExceeded):
        sync_clips()
    failed = only_run(sent)["failed"]
    assert failed["error_type"].startswith("tests.unit.test_sdk_tracking.")
    assert failed["error_type"].endswith(".QuotaExceeded")
    assert failed["error_message"] == "quota of 100 exceeded"
    assert "sync_clips" in failed["traceback"]
    assert "ValueError" in failed["traceback"]
    assert "cpu_s" in failed


def test_async_with_reports_a_failure_with_builtin_error_type(sent: Collector) -> None:
    async def main() -> None:
        async with track.run("async_block", run_id="fixed-id") as run:
            run.progress(failed=1)
            raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        asyncio.run(main())
    events = only_run(sent)
    assert events["failed"]["run_id"] == "fixed-id"
    assert (events["failed"]["error_type"], events["failed"]["items_failed"]) == ("ValueError", 1)


def test_progress_adds_up_and_is_throttled(sent: Collector) -> None:
    with track.run("batch") as run:
        for _ in range(1000):
            run.progress(succeeded=1)
        run.progress(failed=2, skipped=3)
    assert jobdeck.flush(5)
    kinds = [e["event"] for e in sent.events]
    assert kinds.count("progress") == 1  # the first; the rest wait for the interval
    outcome = sent.of(run.run_id)["succeeded"]
    assert (outcome["items_succeeded"], outcome["items_failed"], outcome["items_skipped"]) == (1000, 2, 3)


def test_quiet_runs_send_heartbeats_and_held_back_progress(tmp_path: Path) -> None:
    collector = Collector()
    configure(
        transport=collector,
        spool_dir=tmp_path,
        heartbeat_interval_s=0.05,
        flush_interval_s=0.02,
        progress_interval_s=0.1,
    )
    try:
        with track.run("long") as run:
            run.progress(succeeded=1)
            run.progress(succeeded=1)
            # At least two heartbeats, however slowly a loaded machine runs the sender (at most 10 s).
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if [e["event"] for e in collector.events].count("heartbeat") >= 2:
                    break
                time.sleep(0.05)
        assert jobdeck.flush(5)
    finally:
        shutdown(timeout=2)
    kinds = [e["event"] for e in collector.events]
    assert kinds.count("heartbeat") >= 2
    progress = [e for e in collector.events if e["event"] == "progress"]
    assert progress[-1]["items_succeeded"] == 2


def test_interrupts_cancel_and_clean_exits_succeed(sent: Collector) -> None:
    with pytest.raises(KeyboardInterrupt), track.run("interrupted", run_id="a"):
        raise KeyboardInterrupt
    with pytest.raises(SystemExit), track.run("exits", run_id="b"):
        raise SystemExit(0)
    with pytest.raises(SystemExit), track.run("exits", run_id="c"):
        raise SystemExit(3)
    assert jobdeck.flush(5)
    assert "cancelled" in sent.of("a")
    assert "succeeded" in sent.of("b")
    assert "failed" in sent.of("c")


def test_values_the_server_would_refuse_are_made_acceptable(sent: Collector) -> None:
    nan = float("nan")
    # The run's body is what is tested: it sets a result, then fails.
    with (  # noqa: PT012
        pytest.raises(RuntimeError, match="m"),
        track.run("x" * 200, labels={"k" * 300: "v" * 900}, args=[nan]) as run,
    ):
        run.result = object()
        raise RuntimeError("m" * 20_000)
    events = only_run(sent)
    assert isinstance(events["started"]["args"], str)  # NaN is not JSON: sent as its repr
    assert len(events["failed"]["error_message"]) == 10_000
    for event in sent.events:
        EventIn.model_validate(event)


def test_current_run_follows_nesting(sent: Collector) -> None:
    assert track.current() is None
    with track.run("outer") as outer:
        with track.run("inner") as inner:
            assert track.current() is inner
        assert track.current() is outer
    assert track.current() is None


def test_misuse_is_reported_at_decoration_time() -> None:
    with pytest.raises(ValueError, match="job name"):
        track("")
    with pytest.raises(TypeError, match="generator"):

        @track("gen")
        def numbers() -> Iterator[int]:
            yield 1


def test_a_bare_decorator_names_the_job_after_the_function(sent: Collector) -> None:
    @track
    def nightly_report() -> None:
        pass

    nightly_report()
    job = only_run(sent)["started"]["job"]
    assert job.endswith("test_a_bare_decorator_names_the_job_after_the_function.<locals>.nightly_report")


def test_many_threads_track_at_once(sent: Collector) -> None:
    @track("threaded")
    def work(i: int) -> int:
        return i

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert jobdeck.flush(5)
    outcomes: list[Any] = [e for e in sent.events if e["event"] == "succeeded"]
    assert len({e["run_id"] for e in outcomes}) == 20


def test_text_no_store_can_keep_is_replaced(sent: Collector) -> None:
    """PostgreSQL keeps neither NUL characters nor lone surrogates, in text or in JSON."""
    odd = "a\x00b\ud800c"
    # The run's body is what is tested: it sets a result, then fails.
    with (  # noqa: PT012
        pytest.raises(ValueError, match="a"),
        track.run("nul_job", labels={"k": odd}, args={odd: [odd]}) as run,
    ):
        run.result = odd
        raise ValueError(odd)
    events = only_run(sent)
    clean = "a\ufffdb\ufffdc"
    assert events["started"]["labels"] == {"k": clean}
    assert events["started"]["args"] == {clean: [clean]}
    failed = events["failed"]
    assert failed["error_message"] == clean
    assert clean in failed["traceback"]
    for event in sent.events:
        text = repr(event)
        assert "\\x00" not in text
        assert "\\ud800" not in text
